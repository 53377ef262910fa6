//! How the store names content: the sha256 of every artifact and of every record's own
//! content, and the checks each read makes against them.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// The sha256 of `bytes` in hex: how every artifact and record is named by its content.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The sha256 (hex) of a record's compact JSON with its `checksum` left out: serde
/// writes fields in declaration order and floats round-trip, so parsing a record and
/// serialising it again gives the same bytes.
pub fn content_checksum<T: Serialize>(value: &T) -> String {
    let json = serde_json::to_string(value).expect("a record is plain data");
    sha256_hex(json.as_bytes())
}

/// Checks a record's `checksum` (when it has one) against its content.
pub(crate) fn verify_checksum<T: Serialize + Clone>(
    path: &Path,
    record: &T,
    checksum: fn(&mut T) -> &mut Option<String>,
) -> Result<()> {
    let mut bare = record.clone();
    let Some(expected) = checksum(&mut bare).take() else {
        return Ok(());
    };
    if content_checksum(&bare) == expected {
        Ok(())
    } else {
        Err(Error::corrupt(
            path,
            "its checksum does not match its content (edited or damaged since it was written)",
        ))
    }
}

/// Checks `bytes` of the artifact `name` against the sha256 that `artifacts` lists for it
/// (an artifact a record does not list is not checked).
pub(crate) fn verify_artifact(
    path: &Path,
    name: &str,
    bytes: &[u8],
    artifacts: &BTreeMap<String, String>,
) -> Result<()> {
    match artifacts.get(name) {
        Some(expected) if sha256_hex(bytes) != *expected => Err(Error::corrupt(
            path,
            format!("its sha256 does not match the {expected} its record lists"),
        )),
        _ => Ok(()),
    }
}
