//! Reading a file of the store back: it must be a regular file no larger than its kind
//! allows, and anything else, or any failure to read it, makes its entry corrupt rather
//! than stopping the command. A pipe or a device is refused before it is opened (opening a
//! pipe blocks until something writes to it), and no read takes more than the limit, so a
//! damaged store can neither hang a reader nor exhaust its memory.

use std::fs;
use std::io::Read;
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::{Error, Result};

/// The largest `record.json`, `model.json` or sweep index read (a record is a few KB; a
/// sweep index of the most cells an experiment may have, 100,000, is about 30 MB).
pub(crate) const MAX_RECORD_BYTES: u64 = 64 << 20;

/// The largest artifact read: samples and loss curves of the largest runs the limits allow
/// (a million samples or epochs) are about 50 MB as CSV.
pub(crate) const MAX_ARTIFACT_BYTES: u64 = 1 << 30;

/// The first day every record was written with its checksum: a record finished since then
/// without one has been edited, and is corrupt.
pub(crate) const CHECKSUMS_SINCE: &str = "2026-12-01T00:00:00Z";

/// The bytes of `path`, or `None` when nothing is there. Everything else that is not a
/// readable regular file of at most `limit` bytes is [`Error::Corrupt`], with the reason.
pub(crate) fn read_bounded(path: &Path, limit: u64) -> Result<Option<Vec<u8>>> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        // (A dangling symbolic link is nothing; a link to itself is an error, below.)
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(Error::corrupt(path, format!("cannot read it: {err}"))),
    };
    if !meta.is_file() {
        return Err(Error::corrupt(path, "it is not a regular file"));
    }
    if meta.len() > limit {
        return Err(too_large(path, meta.len(), limit));
    }
    let file = fs::File::open(path).map_err(|err| corrupt_io(path, err))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| corrupt_io(path, err))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(path, bytes.len() as u64, limit));
    }
    Ok(Some(bytes))
}

/// [`read_bounded`] as UTF-8 text.
pub(crate) fn read_text_bounded(path: &Path, limit: u64) -> Result<Option<String>> {
    match read_bounded(path, limit)? {
        Some(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|err| Error::corrupt(path, format!("it is not UTF-8 text ({err})"))),
        None => Ok(None),
    }
}

/// Whether `path` is a regular file (following links), as an answer for a check: `Err` is
/// the reason it is not.
pub(crate) fn regular_file(path: &Path) -> std::result::Result<(), String> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_file() => Ok(()),
        Ok(_) => Err("is not a regular file".into()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Err("is missing".into()),
        Err(err) => Err(format!("cannot be read: {err}")),
    }
}

/// Checks that a record finished at `finished_at` has a checksum when every record written
/// then had one.
pub(crate) fn require_checksum(
    path: &Path,
    has_checksum: bool,
    finished_at: DateTime<Utc>,
) -> Result<()> {
    let since: DateTime<Utc> = CHECKSUMS_SINCE.parse().expect("a valid RFC 3339 time");
    if has_checksum || finished_at < since {
        Ok(())
    } else {
        Err(Error::corrupt(
            path,
            format!(
                "it has no checksum, which every record finished since {} has (edited since \
                 it was written)",
                &CHECKSUMS_SINCE[..10]
            ),
        ))
    }
}

/// The checks every record read back passes: it is the record of the `kind` ("run" or
/// "model") whose directory holds it (`ids`: its own id and the directory's), and
/// it finished after it started, and it has the checksum every record finished then has,
/// and matches it.
pub(crate) fn check_record<T: serde::Serialize + Clone>(
    path: &Path,
    kind: &str,
    ids: (&str, &str),
    (started_at, finished_at): (DateTime<Utc>, DateTime<Utc>),
    record: &T,
    checksum: fn(&mut T) -> &mut Option<String>,
) -> Result<()> {
    let (own, directory) = ids;
    if own != directory {
        let short = |id: &str| id.chars().take(12).collect::<String>();
        let (own, directory) = (short(own), short(directory));
        return Err(Error::corrupt(
            path,
            format!(
                "it is the record of {kind} {own}, not of {kind} {directory} whose directory \
                 holds it"
            ),
        ));
    }
    let has_checksum = checksum(&mut record.clone()).is_some();
    if started_at > finished_at {
        return Err(Error::corrupt(
            path,
            "it says it finished before it started",
        ));
    }
    require_checksum(path, has_checksum, finished_at)?;
    super::checksum::verify_checksum(path, record, checksum)
}

fn too_large(path: &Path, bytes: u64, limit: u64) -> Error {
    Error::corrupt(
        path,
        format!("it is {bytes} bytes, more than the {limit} bytes such a file can be"),
    )
}

fn corrupt_io(path: &Path, err: std::io::Error) -> Error {
    Error::corrupt(path, format!("cannot read it: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_regular_file_within_the_limit_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        assert_eq!(read_bounded(&file, 10).unwrap(), None);
        fs::write(&file, b"hello").unwrap();
        assert_eq!(read_bounded(&file, 5).unwrap().unwrap(), b"hello");
        let err = read_bounded(&file, 4).unwrap_err();
        assert!(
            err.to_string().contains("5 bytes, more than the 4"),
            "{err}"
        );
        let sub = dir.path().join("d");
        fs::create_dir(&sub).unwrap();
        let err = read_bounded(&sub, 10).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        fs::write(&file, [0x66, 0xff]).unwrap();
        let err = read_text_bounded(&file, 10).unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("not UTF-8"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn pipes_and_link_loops_are_corrupt_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let err = read_bounded(&fifo, 10).unwrap_err();
            assert!(err.to_string().contains("not a regular file"), "{err}");
        }
        let link = dir.path().join("loop");
        std::os::unix::fs::symlink(&link, &link).unwrap();
        assert!(matches!(
            read_bounded(&link, 10).unwrap_err(),
            Error::Corrupt { .. }
        ));
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nothing"), &dangling).unwrap();
        assert_eq!(read_bounded(&dangling, 10).unwrap(), None);
        assert_eq!(regular_file(&dangling), Err("is missing".to_string()));
    }

    #[test]
    fn a_record_needs_a_checksum_from_the_day_checksums_were_written() {
        let path = Path::new("record.json");
        let before: DateTime<Utc> = "2026-11-30T23:59:59Z".parse().unwrap();
        let after: DateTime<Utc> = "2026-12-01T00:00:01Z".parse().unwrap();
        assert!(require_checksum(path, false, before).is_ok());
        assert!(require_checksum(path, true, after).is_ok());
        let err = require_checksum(path, false, after).unwrap_err();
        assert!(err.to_string().contains("no checksum"), "{err}");
    }
}
