//! The store's experiments and how far each has got: every sweep index, and for each its
//! cells counted as done, non-finite, failed, corrupt or pending.
//!
//! A page polls this every few seconds while a sweep runs, so answers are cached per run
//! by the size and time of its `record.json`: a run directory is renamed into place whole
//! and a rerun replaces it, so an unchanged stamp means an unchanged record, and only new
//! or replaced records are read (through [`RunStore::lookup`], which checks them).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use runner::{Lookup, RunId, RunStore, Status, SweepIndex};
use serde::Serialize;

use crate::error::{HttpError, HttpResult};

/// A file's size and modification time: what tells a changed file from an old one.
pub type Stamp = (u64, SystemTime);

/// The stamp of `path`, or `None` when there is no such file.
pub fn stamp(path: &Path) -> HttpResult<Option<Stamp>> {
    match std::fs::metadata(path) {
        Ok(meta) => Ok(Some((
            meta.len(),
            meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        ))),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(HttpError::Internal(format!(
            "cannot read {}: {err}",
            path.display()
        ))),
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

/// One experiment's progress.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Progress {
    /// The sweep's name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// The experiment file it was swept from.
    pub source: String,
    /// Cells of the grid.
    pub cells: usize,
    /// Cells stored and completed.
    pub done: usize,
    /// Cells stored whose samples are not finite.
    pub non_finite: usize,
    /// Cells stored diverged or failed.
    pub failed: usize,
    /// Cells whose record is corrupt.
    pub corrupt: usize,
    /// Cells with no stored run yet (queued, running or not started).
    pub pending: usize,
}

/// What the server remembers between requests: sweep indexes and cell states by stamp.
#[derive(Default)]
pub struct Cache {
    indexes: Mutex<HashMap<String, (Stamp, Arc<SweepIndex>)>>,
    cells: Mutex<HashMap<String, (Stamp, CellState)>>,
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
            // Temporary files of an index being replaced start with a dot.
            let stem = name.strip_suffix(".json")?;
            (!stem.starts_with('.') && e.path().is_file()).then(|| stem.to_string())
        })
        .collect();
    names.sort();
    Ok(names)
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
        if let Some((seen, index)) = self.lock_indexes().get(name) {
            if *seen == now {
                return Ok(index.clone());
            }
        }
        let index = Arc::new(store.sweep_index(name)?);
        self.lock_indexes()
            .insert(name.to_string(), (now, index.clone()));
        Ok(index)
    }

    fn lock_indexes(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Stamp, Arc<SweepIndex>)>> {
        self.indexes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How the run `id` ended, or `None` when it is not stored.
    pub fn cell_state(&self, store: &RunStore, id: &RunId) -> HttpResult<Option<CellState>> {
        let path = store.run_dir(id).join("record.json");
        let Some(now) = stamp(&path)? else {
            return Ok(None);
        };
        let mut cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
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

    /// The progress of sweep `name`.
    pub fn progress(&self, store: &RunStore, name: &str) -> HttpResult<Progress> {
        let index = self.index(store, name)?;
        let mut progress = Progress {
            name: index.name.clone(),
            description: index.description.clone(),
            source: index.source.clone(),
            cells: index.cells.len(),
            done: 0,
            non_finite: 0,
            failed: 0,
            corrupt: 0,
            pending: 0,
        };
        for cell in &index.cells {
            match self.cell_state(store, &cell.run_id)? {
                Some(CellState::Done) => progress.done += 1,
                Some(CellState::NonFinite) => progress.non_finite += 1,
                Some(CellState::Failed) => progress.failed += 1,
                Some(CellState::Corrupt) => progress.corrupt += 1,
                None => progress.pending += 1,
            }
        }
        Ok(progress)
    }

    /// The progress of every sweep of the store, by name.
    pub fn all(&self, store: &RunStore) -> HttpResult<Vec<Progress>> {
        names(store)?
            .iter()
            .map(|name| self.progress(store, name))
            .collect()
    }

    /// A value that changes whenever a run of sweep `name` is stored or replaced, or its
    /// index is: the key under which its page is kept.
    pub fn fingerprint(&self, store: &RunStore, name: &str) -> HttpResult<u64> {
        use std::hash::{Hash, Hasher};
        let index = self.index(store, name)?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        stamp(&store.root().join("sweeps").join(format!("{name}.json")))?.hash(&mut hasher);
        for cell in &index.cells {
            stamp(&store.run_dir(&cell.run_id).join("record.json"))?.hash(&mut hasher);
        }
        Ok(hasher.finish())
    }
}
