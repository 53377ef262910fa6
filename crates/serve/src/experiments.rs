//! The store's experiments and how far each has got: every sweep index, and for each its
//! cells counted as done, non-finite, failed, corrupt, running or pending (from [`Cache`], so a
//! page can poll it every few seconds while a sweep runs).

use std::collections::BTreeSet;

use runner::{RunId, RunStore};
use serde::Serialize;

use crate::cache::{names, stamp, Cache, CellState};
use crate::error::HttpResult;

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
    /// Cells with no stored run whose lock a process holds: being trained or sampled.
    pub running: usize,
    /// Cells with no stored run and no process on them (queued or not started).
    pub pending: usize,
}

impl Progress {
    /// A sweep of no cells yet counted.
    fn none(name: &str, description: &str, source: &str) -> Progress {
        Progress {
            name: name.to_string(),
            description: description.to_string(),
            source: source.to_string(),
            cells: 0,
            done: 0,
            non_finite: 0,
            failed: 0,
            corrupt: 0,
            running: 0,
            pending: 0,
        }
    }
}

/// The progress of sweep `name`, whose cells in `locked` (their run lock is held) count as
/// running.
fn progress(
    cache: &Cache,
    store: &RunStore,
    name: &str,
    locked: &BTreeSet<RunId>,
) -> HttpResult<Progress> {
    let index = cache.index(store, name)?;
    let mut progress = Progress::none(&index.name, &index.description, &index.source);
    progress.cells = index.cells.len();
    for cell in &index.cells {
        match cache.cell_state(store, &cell.run_id)? {
            Some(CellState::Done) => progress.done += 1,
            Some(CellState::NonFinite) => progress.non_finite += 1,
            Some(CellState::Failed) => progress.failed += 1,
            Some(CellState::Corrupt) => progress.corrupt += 1,
            None if locked.contains(&cell.run_id) => progress.running += 1,
            None => progress.pending += 1,
        }
    }
    Ok(progress)
}

/// The progress of every sweep of the store, by name.
pub fn all(cache: &Cache, store: &RunStore) -> HttpResult<Vec<Progress>> {
    // One listing of the held locks for every sweep; one that cannot be read shows the
    // cells as pending rather than failing the page.
    let locked = store.locked_runs().unwrap_or_default();
    // A sweep whose index cannot be used is listed with the reason, not the page failed.
    Ok(names(store)?
        .iter()
        .map(|name| {
            progress(cache, store, name, &locked).unwrap_or_else(|err| {
                let why = format!(
                    "its sweep index cannot be used ({err}); `diffsweep fsck` checks the store, \
                     and sweeping the experiment again writes the index anew"
                );
                Progress::none(name, &why, "")
            })
        })
        .collect())
}

/// A value that changes whenever a run of sweep `name` is stored or replaced, or its
/// index is: the key under which its page is kept.
pub fn fingerprint(cache: &Cache, store: &RunStore, name: &str) -> HttpResult<u64> {
    use std::hash::{Hash, Hasher};
    let index = cache.index(store, name)?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    stamp(&store.root().join("sweeps").join(format!("{name}.json")))?.hash(&mut hasher);
    for cell in &index.cells {
        stamp(&store.run_dir(&cell.run_id).join("record.json"))?.hash(&mut hasher);
    }
    Ok(hasher.finish())
}
