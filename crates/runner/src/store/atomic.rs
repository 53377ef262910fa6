//! Writes that readers never see half done: a run or model directory written whole
//! (temporary directory, sync, rename), a file replaced whole, and the cleanup of what a
//! process that died part way left behind.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use super::RunStore;
use crate::costs::{self, Phase};
use crate::identity::{EntryId, ModelId, RunId};
use crate::{Error, Result};

/// Held while a run is written into the store: [`hold_writes`] waits for it.
static WRITING: Mutex<()> = Mutex::new(());

/// Waits until no run is being written by this process and keeps any from starting while
/// the guard lives. A process that must exit at once (a Slurm task that is signalled)
/// takes it first, so it leaves every run complete or absent, never between two renames.
pub fn hold_writes() -> MutexGuard<'static, ()> {
    WRITING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Writes the directory `<dir>/<id>` as a whole, under the process's write guard:
/// `fill` writes its files into `<dir>/.tmp-<id>-<pid>/`, which is synced and renamed into
/// place (an older copy is moved aside to `.old-<id>-<pid>` first and then removed). If
/// any write fails (a full disk), the temporary directory is removed at once, freeing its
/// space, and nothing is left; a process that dies part way leaves only temporary or
/// set-aside directories, which [`RunStore::clean_stale`] tidies.
pub(crate) fn write_dir_atomically<T>(
    dir: &Path,
    id: &impl EntryId,
    fill: impl FnOnce(&Path) -> Result<T>,
) -> Result<T> {
    // Whatever of the write is not a file write, fsync or directory operation (each timed
    // in its own phase) is the encoding and hashing `fill` does.
    costs::timed(Phase::Serialise, || write_dir_whole(dir, id, fill))
}

fn write_dir_whole<T>(
    dir: &Path,
    id: &impl EntryId,
    fill: impl FnOnce(&Path) -> Result<T>,
) -> Result<T> {
    let _writing = costs::timed(Phase::Lock, hold_writes);
    let tmp = dir.join(format!(".tmp-{id}-{}", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|err| Error::io("cannot remove", &tmp, err))?;
    }
    let written = costs::timed(Phase::Rename, || fs::create_dir_all(&tmp))
        .map_err(|err| Error::io("cannot create", &tmp, err))
        .and_then(|()| fill(&tmp))
        .and_then(|value| sync_dir(&tmp).map(|()| value));
    let value = match written {
        Ok(value) => value,
        Err(err) => {
            let _ = fs::remove_dir_all(&tmp);
            return Err(err);
        }
    };
    let target = dir.join(id.as_str());
    costs::timed(Phase::Rename, || -> Result<()> {
        if target.exists() {
            let old = dir.join(format!(".old-{id}-{}", std::process::id()));
            fs::rename(&target, &old)
                .map_err(|err| Error::io("cannot move aside", &target, err))?;
            fs::rename(&tmp, &target)
                .map_err(|err| Error::io("cannot rename into", &target, err))?;
            fs::remove_dir_all(&old).map_err(|err| Error::io("cannot remove", &old, err))?;
        } else {
            fs::rename(&tmp, &target)
                .map_err(|err| Error::io("cannot rename into", &target, err))?;
        }
        Ok(())
    })?;
    sync_dir(dir)?;
    Ok(value)
}

/// Writes `bytes` to `path` through a temporary file beside it and a rename, so readers
/// see the old file or the new one, never a part.
pub(crate) fn replace_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".tmp-{name}-{}", std::process::id()));
    write_synced(&tmp, bytes)?;
    costs::timed(Phase::Rename, || fs::rename(&tmp, path))
        .map_err(|err| Error::io("cannot rename into", path, err))
}

pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let file = costs::timed(Phase::Write, || -> Result<File> {
        let mut file = File::create(path).map_err(|err| Error::io("cannot create", path, err))?;
        file.write_all(bytes)
            .map_err(|err| Error::io("cannot write", path, err))?;
        Ok(file)
    })?;
    costs::timed(Phase::Fsync, || file.sync_all())
        .map_err(|err| Error::io("cannot sync", path, err))
}

/// Makes a rename or a new file in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    costs::timed(Phase::Fsync, || File::open(dir).and_then(|d| d.sync_all()))
        .map_err(|err| Error::io("cannot sync", dir, err))
}

impl RunStore {
    /// Removes the temporary directories of runs that no live process is writing, i.e.
    /// whose lock is free, and lock files that no process holds. Returns how many
    /// directories were removed.
    pub fn clean_stale(&self) -> Result<usize> {
        Ok(self.clean_stale_in::<RunId>(self.runs_dir())?
            + self.clean_stale_in::<ModelId>(self.models_dir())?)
    }

    fn clean_stale_in<Id: EntryId>(&self, dir: PathBuf) -> Result<usize> {
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(err) => return Err(Error::io("cannot list", dir, err)),
        };
        let mut removed = 0;
        for entry in entries.filter_map(|entry| entry.ok()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            // A lock file left by a dead process: taking and dropping its lock removes it.
            if let Some(id) = name.strip_suffix(".lock").and_then(Id::parse) {
                drop(self.acquire_in(&dir, &id, false)?);
                continue;
            }
            let Some(rest) = name
                .strip_prefix(".tmp-")
                .or_else(|| name.strip_prefix(".old-"))
            else {
                continue;
            };
            let Some(id) = rest.get(..64).and_then(Id::parse) else {
                continue;
            };
            if let Some(_lock) = self.acquire_in(&dir, &id, false)? {
                // A replacement (`--force`) stopped between its two renames leaves the old
                // copy aside and no run in place: put the old copy back, never lose it.
                let target = dir.join(id.as_str());
                if name.starts_with(".old-") && !target.exists() {
                    fs::rename(entry.path(), &target)
                        .map_err(|err| Error::io("cannot restore", &target, err))?;
                    continue;
                }
                fs::remove_dir_all(entry.path())
                    .map_err(|err| Error::io("cannot remove", entry.path(), err))?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}
