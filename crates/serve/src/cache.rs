//! What the server remembers between requests, each entry under the stamp (size and
//! time) of the file it was read from: sweep indexes, how each cell ended, and each run as
//! a run query reads it.
//!
//! A run directory is renamed into place whole and a rerun replaces it, so an unchanged
//! `record.json` stamp means an unchanged run; only new or replaced entries are read, and
//! they are read through the store's own reader ([`RunStore::lookup`], which checks
//! them). A page that polls every few seconds, or a run list of 10,000 runs, then costs a
//! `stat` per run; a run list asked again of an unchanged store is answered as before.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use reporter::query::StoredRun;
use runner::{Lookup, RunId, RunStore, Status, SweepIndex};

use crate::error::{HttpError, HttpResult};

/// A file's size and modification time: what tells a changed file from an old one.
pub type Stamp = (u64, SystemTime);

/// The stamp of a file that exists but whose metadata cannot be read (a link to itself):
/// no readable file has it, so the entry is read through the store's reader, which finds
/// it corrupt.
const UNREADABLE: Stamp = (u64::MAX, SystemTime::UNIX_EPOCH);

/// The stamp of `path`, or `None` when there is no such file.
pub fn stamp(path: &Path) -> HttpResult<Option<Stamp>> {
    match std::fs::metadata(path) {
        Ok(meta) => Ok(Some((
            meta.len(),
            meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        ))),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(_) => Ok(Some(UNREADABLE)),
    }
}

/// How a stored cell ended, as `diffsweep status` groups it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellState {
    /// Completed.
    Done,
    /// Completed with non-finite samples.
    NonFinite,
    /// Diverged or failed.
    Failed,
    /// A record that does not parse or match its checksum.
    Corrupt,
}

/// The names of the store's sweep indexes (`sweeps/<name>.json`), sorted.
pub fn names(store: &RunStore) -> HttpResult<Vec<String>> {
    let dir = store.root().join("sweeps");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => {
            return Err(HttpError::Internal(format!(
                "cannot list {}: {err}",
                dir.display()
            )))
        }
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            // Temporary files of an index being replaced start with a dot. Anything else
            // named like an index is listed, so one that cannot be read shows with why.
            let stem = name.strip_suffix(".json")?;
            (!stem.starts_with('.')).then(|| stem.to_string())
        })
        .collect();
    names.sort();
    Ok(names)
}

/// Entries of one kind, by name, each with the stamp (or fingerprint) it was read under.
type Entries<K, T> = Mutex<HashMap<String, (K, T)>>;

/// What the server remembers between requests: sweep indexes, cell states and runs by
/// the stamp of their file, run lists by the fingerprint of the runs they list.
#[derive(Default)]
pub struct Cache {
    indexes: Entries<Stamp, Arc<SweepIndex>>,
    cells: Entries<Stamp, CellState>,
    runs: Entries<Stamp, Option<Arc<StoredRun>>>,
    /// Run lists answered, by query, under the fingerprint of the runs they list.
    answers: Entries<u64, Arc<Vec<u8>>>,
}

/// Run lists kept at once (each up to a few MB for 10,000 runs).
const MAX_ANSWERS: usize = 8;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Cache {
    /// The index of sweep `name`, which must be one of [`names`]: a name the store does
    /// not list is not found, whatever it spells.
    pub fn index(&self, store: &RunStore, name: &str) -> HttpResult<Arc<SweepIndex>> {
        if !names(store)?.iter().any(|n| n == name) {
            return Err(HttpError::NotFound(format!(
                "no experiment `{name}` in this store"
            )));
        }
        let path = store.root().join("sweeps").join(format!("{name}.json"));
        let Some(now) = stamp(&path)? else {
            return Err(HttpError::NotFound(format!("no experiment `{name}`")));
        };
        if let Some((seen, index)) = lock(&self.indexes).get(name) {
            if *seen == now {
                return Ok(index.clone());
            }
        }
        let index = Arc::new(store.sweep_index(name)?);
        lock(&self.indexes).insert(name.to_string(), (now, index.clone()));
        Ok(index)
    }

    /// How the run `id` ended, or `None` when it is not stored.
    pub fn cell_state(&self, store: &RunStore, id: &RunId) -> HttpResult<Option<CellState>> {
        let path = store.run_dir(id).join("record.json");
        let Some(now) = stamp(&path)? else {
            return Ok(None);
        };
        let mut cells = lock(&self.cells);
        if let Some((seen, state)) = cells.get(id.as_str()) {
            if *seen == now {
                return Ok(Some(*state));
            }
        }
        let state = match store.lookup(id)? {
            Lookup::Absent => return Ok(None),
            Lookup::Corrupt(_) => CellState::Corrupt,
            Lookup::Stored(record) => match record.status {
                Status::Completed => CellState::Done,
                Status::NonFinite => CellState::NonFinite,
                Status::Diverged | Status::Failed => CellState::Failed,
            },
        };
        cells.insert(id.as_str().to_string(), (now, state));
        Ok(Some(state))
    }

    /// Run `id` as a run query reads it ([`reporter::query::read`]), `None` when it is
    /// not stored, corrupt or has no readable config; with the stamp of its record.
    pub fn stored_run(
        &self,
        store: &RunStore,
        id: &RunId,
    ) -> HttpResult<(Option<Stamp>, Option<Arc<StoredRun>>)> {
        let path = store.run_dir(id).join("record.json");
        let Some(now) = stamp(&path)? else {
            return Ok((None, None));
        };
        if let Some((seen, run)) = lock(&self.runs).get(id.as_str()) {
            if *seen == now {
                return Ok((Some(now), run.clone()));
            }
        }
        let run = reporter::query::read(store, id)?.map(Arc::new);
        lock(&self.runs).insert(id.as_str().to_string(), (now, run.clone()));
        Ok((Some(now), run))
    }

    /// A list answered before for `key`, if the store is as it was (`fingerprint`).
    pub fn answer(&self, key: &str, fingerprint: u64) -> Option<Arc<Vec<u8>>> {
        lock(&self.answers)
            .get(key)
            .filter(|(seen, _)| *seen == fingerprint)
            .map(|(_, bytes)| bytes.clone())
    }

    /// Keeps the answer for `key` (the last few queries only).
    pub fn keep_answer(&self, key: &str, fingerprint: u64, bytes: Arc<Vec<u8>>) {
        let mut answers = lock(&self.answers);
        if answers.len() >= MAX_ANSWERS {
            answers.clear();
        }
        answers.insert(key.to_string(), (fingerprint, bytes));
    }
}
