//! Store cleanup: the runs no kept experiment refers to, and what dead processes left
//! behind (temporary directories, lock files). A run another process holds locked is
//! never touched.

use std::collections::HashSet;
use std::fs;
use std::path::PathBuf;

use crate::identity::{EntryId, ModelId};
use crate::{Error, Experiment, Result, RunId, RunStore};

/// What a cleanup would remove, or removed.
#[derive(Debug, Default)]
pub struct Garbage {
    /// Stored runs that no kept experiment has as a cell.
    pub runs: Vec<RunId>,
    /// Unreferenced runs left alone because another process holds their lock.
    pub held: Vec<RunId>,
    /// Stored models (`models/`) that no kept cell samples.
    pub models: Vec<ModelId>,
    /// Temporary or set-aside directories and lock files of processes that are gone.
    pub stale: Vec<PathBuf>,
    /// Corrupt runs and models a sweep set aside (`quarantine/`): only `gc --yes`
    /// deletes them.
    pub quarantined: Vec<PathBuf>,
    /// Bytes of all the above.
    pub bytes: u64,
}

fn size(path: &std::path::Path) -> u64 {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::read_dir(path)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| size(&e.path()))
                    .sum()
            })
            .unwrap_or(0),
        Ok(meta) => meta.len(),
        Err(_) => 0,
    }
}

/// The size of the run or model directory `dir`; with `remove`, it is removed, renamed
/// aside first so that it disappears at once and as a whole. The caller holds its lock.
fn remove_whole(dir: &std::path::Path, id: &impl EntryId, remove: bool) -> Result<u64> {
    let bytes = size(dir);
    if remove {
        let aside = dir.with_file_name(format!(".gc-{id}-{}", std::process::id()));
        fs::rename(dir, &aside).map_err(|err| Error::io("cannot move aside", dir, err))?;
        fs::remove_dir_all(&aside).map_err(|err| Error::io("cannot remove", &aside, err))?;
    }
    Ok(bytes)
}

/// Finds the garbage of `store` given the experiments to keep; removes it when `remove`.
/// Each run is checked and removed under its own lock.
pub fn collect(store: &RunStore, keep: &[Experiment], remove: bool) -> Result<Garbage> {
    let cells: Vec<_> = keep.iter().flat_map(|e| e.cells()).collect();
    let kept: HashSet<&RunId> = cells.iter().map(|c| &c.id).collect();
    let mut garbage = Garbage::default();
    for id in store.run_ids()? {
        if kept.contains(&id) {
            continue;
        }
        let Some(lock) = store.try_lock(&id)? else {
            garbage.held.push(id);
            continue;
        };
        garbage.bytes += remove_whole(&store.run_dir(&id), &id, remove)?;
        drop(lock);
        garbage.runs.push(id);
    }
    // Models: kept while a kept cell, or a run left in place, samples them.
    let mut kept_models: HashSet<ModelId> = cells.iter().map(|c| ModelId::of(&c.config)).collect();
    for id in &garbage.held {
        // A corrupt record names no model it can be trusted for; the kept cells' models
        // are kept anyway.
        if let crate::store::Lookup::Stored(record) = store.lookup(id)? {
            if let Some(model) = record.model {
                kept_models.insert(model);
            }
        }
    }
    let models_dir = store.models_dir();
    for id in store.model_ids()? {
        if kept_models.contains(&id) {
            continue;
        }
        let Some(lock) = store.acquire_in(&models_dir, &id, false)? else {
            continue;
        };
        garbage.bytes += remove_whole(&store.model_dir(&id), &id, remove)?;
        drop(lock);
        garbage.models.push(id);
    }
    stale_in::<RunId>(store, &store.root().join("runs"), remove, &mut garbage)?;
    stale_in::<ModelId>(store, &models_dir, remove, &mut garbage)?;
    for (path, _) in store.quarantined()? {
        garbage.bytes += size(&path);
        if remove {
            fs::remove_dir_all(&path).map_err(|err| Error::io("cannot remove", &path, err))?;
        }
        garbage.quarantined.push(path);
    }
    Ok(garbage)
}

/// Leftovers of dead processes in `dir` (runs/ or models/): temporary and set-aside
/// directories and lock files whose lock is free.
fn stale_in<Id: EntryId>(
    store: &RunStore,
    dir: &std::path::Path,
    remove: bool,
    garbage: &mut Garbage,
) -> Result<()> {
    {
        if let Ok(entries) = fs::read_dir(dir) {
            for entry in entries.filter_map(|e| e.ok()) {
                let name = entry.file_name().to_string_lossy().into_owned();
                let owner = name
                    .strip_suffix(".lock")
                    .or_else(|| name.strip_prefix(".tmp-").and_then(|r| r.get(..64)))
                    .or_else(|| name.strip_prefix(".old-").and_then(|r| r.get(..64)))
                    .or_else(|| name.strip_prefix(".gc-").and_then(|r| r.get(..64)))
                    .and_then(Id::parse);
                let Some(id) = owner else { continue };
                if name.ends_with(".lock") {
                    // A lock file whose lock is free: its process is gone (taking and dropping
                    // the lock removes the file).
                    if let Some(lock) = store.acquire_in(dir, &id, false)? {
                        garbage.stale.push(entry.path());
                        if !remove {
                            lock.release_keeping_file();
                        }
                    }
                    continue;
                }
                if let Some(_lock) = store.acquire_in(dir, &id, false)? {
                    garbage.bytes += size(&entry.path());
                    garbage.stale.push(entry.path());
                    if remove {
                        fs::remove_dir_all(entry.path())
                            .map_err(|err| Error::io("cannot remove", entry.path(), err))?;
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dry_run_lists_a_dead_lock_file_and_leaves_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        let id = RunId::parse(&"ab".repeat(32)).unwrap();
        std::fs::create_dir_all(dir.path().join("runs")).unwrap();
        // A process that died holding the lock leaves its file behind.
        store.try_lock(&id).unwrap().unwrap().release_keeping_file();
        let file = dir.path().join("runs").join(format!("{id}.lock"));
        assert!(file.is_file());
        let listed = collect(&store, &[], false).unwrap();
        assert_eq!(listed.stale, vec![file.clone()]);
        assert!(file.is_file(), "a dry run touches nothing");
        collect(&store, &[], true).unwrap();
        assert!(!file.exists());
    }
}
