//! Corrupt entries set aside: a run or model whose record does not parse or whose
//! artifacts do not match their listed sha256 is moved, whole, to
//! `<root>/quarantine/<time>-<kind>-<id>/entry/` beside a `reason.json` (the reason, the
//! time and the original path), so it is never used and never fatal, and nothing is
//! deleted. `gc --yes` is what removes quarantined entries.
//!
//! Quarantine is not `.old-` (the aside copy of an atomic replace, restored at start) nor
//! `.tmp-`/`.gc-` (leftovers that `gc` deletes): it is a folder of its own.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::identity::EntryId;
use crate::store::{sync_dir, write_synced, RunStore};
use crate::{Error, Result};

/// What kind of entry was set aside.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// `runs/<id>/`.
    Run,
    /// `models/<id>/`.
    Model,
}

impl EntryKind {
    fn name(self) -> &'static str {
        match self {
            EntryKind::Run => "run",
            EntryKind::Model => "model",
        }
    }
}

/// `reason.json` of a quarantined entry.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Quarantined {
    /// Run or model.
    pub kind: EntryKind,
    /// Its id.
    pub id: String,
    /// Where it was, relative to the store's root (`runs/<id>`).
    pub original_path: String,
    /// What was wrong.
    pub reason: String,
    /// When it was set aside (RFC 3339, UTC).
    pub time: String,
}

impl RunStore {
    /// The folder of quarantined entries.
    pub fn quarantine_dir(&self) -> PathBuf {
        self.root().join("quarantine")
    }

    /// Moves `runs/<id>/` or `models/<id>/` aside into the quarantine with `reason`;
    /// returns where it went. The caller holds the entry's lock. Nothing is deleted.
    pub fn quarantine(&self, kind: EntryKind, id: &impl EntryId, reason: &str) -> Result<PathBuf> {
        let (parent, relative) = match kind {
            EntryKind::Run => ("runs", format!("runs/{id}")),
            EntryKind::Model => ("models", format!("models/{id}")),
        };
        let source = self.root().join(parent).join(id.as_str());
        let now = Utc::now();
        let folder = self.quarantine_dir().join(format!(
            "{}-{}-{}-{}",
            now.format("%Y%m%dT%H%M%S%.6fZ"),
            kind.name(),
            id.short(),
            std::process::id()
        ));
        fs::create_dir_all(&folder).map_err(|err| Error::io("cannot create", &folder, err))?;
        let record = Quarantined {
            kind,
            id: id.to_string(),
            original_path: relative,
            reason: reason.to_string(),
            time: now.to_rfc3339(),
        };
        let json = serde_json::to_string_pretty(&record).expect("plain data");
        write_synced(&folder.join("reason.json"), json.as_bytes())?;
        let target = folder.join("entry");
        fs::rename(&source, &target).map_err(|err| Error::io("cannot move aside", &source, err))?;
        sync_dir(&folder)?;
        sync_dir(&self.root().join(parent))?;
        Ok(target)
    }

    /// Every quarantined entry's `reason.json`, oldest first; unreadable ones are named
    /// by their folder.
    pub fn quarantined(&self) -> Result<Vec<(PathBuf, Option<Quarantined>)>> {
        let dir = self.quarantine_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(Error::io("cannot list", &dir, err)),
        };
        let mut out: Vec<(PathBuf, Option<Quarantined>)> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .map(|p| {
                let reason = fs::read_to_string(p.join("reason.json"))
                    .ok()
                    .and_then(|text| serde_json::from_str(&text).ok());
                (p, reason)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}

/// A path relative to the store's root, for messages.
pub fn relative<'a>(store: &RunStore, path: &'a Path) -> std::borrow::Cow<'a, str> {
    path.strip_prefix(store.root())
        .unwrap_or(path)
        .to_string_lossy()
}
