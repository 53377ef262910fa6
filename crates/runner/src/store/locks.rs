//! One lock per run and per model: an OS file lock on `<dir>/<id>.lock`, released by the
//! kernel when its process dies, so a stale lock needs no recovery.

use crate::costs::{self, Phase};
use std::fs::{self, File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use super::RunStore;
use crate::identity::{EntryId, ModelId, RunId};
use crate::{Error, Result};

/// A held lock on one entry of the store; dropping it releases the lock and removes the
/// lock file.
#[derive(Debug)]
pub struct EntryLock<Id> {
    id: Id,
    path: PathBuf,
    _file: File,
    /// Whether letting go removes the lock file (always, but for a look that must leave
    /// the store as it was).
    remove_file: bool,
}

/// A held lock on one run (`runs/<id>.lock`).
pub type RunLock = EntryLock<RunId>;

/// A held lock on one model (`models/<id>.lock`).
pub type ModelLock = EntryLock<ModelId>;

impl<Id> EntryLock<Id> {
    /// The entry this lock is for.
    pub fn id(&self) -> &Id {
        &self.id
    }

    /// Lets go of the lock and leaves its file in place.
    pub fn release_keeping_file(mut self) {
        self.remove_file = false;
    }
}

impl<Id> Drop for EntryLock<Id> {
    fn drop(&mut self) {
        // Removed while still held: a process that opens the path afterwards makes a new
        // file, takes its lock and then finds the finished run, which it skips.
        if self.remove_file {
            let _ = costs::timed(Phase::Lock, || fs::remove_file(&self.path));
        }
    }
}

impl RunStore {
    /// Takes the lock of run `id`, or `None` while another process (or thread) holds it.
    pub fn try_lock(&self, id: &RunId) -> Result<Option<RunLock>> {
        self.acquire(id, false)
    }

    /// Whether a process holds the lock of run `id` now (it is evaluating the run), seen
    /// without changing the store: no lock file is made, and a stale one is left as is.
    /// The look holds a free lock for an instant; a sweep that meets it then passes the
    /// cell over and comes back to it, as for any other holder.
    pub fn is_locked(&self, id: &RunId) -> Result<bool> {
        self.is_held_in(&self.runs_dir(), id)
    }

    /// [`Self::is_locked`] for `<dir>/<id>.lock`. A lock file this process may not open
    /// for writing (a store it can only read) is taken as free: nothing it could see
    /// half-written, since entries are renamed into place whole.
    pub(crate) fn is_held_in(&self, dir: &Path, id: &impl EntryId) -> Result<bool> {
        let path = dir.join(format!("{id}.lock"));
        let file = match OpenOptions::new().write(true).open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(err) if err.kind() == std::io::ErrorKind::PermissionDenied => return Ok(false),
            Err(err) => return Err(Error::io("cannot open", &path, err)),
        };
        match file.try_lock() {
            // Closing the file lets go of the lock this look took.
            Ok(()) => Ok(false),
            Err(TryLockError::WouldBlock) => Ok(true),
            Err(TryLockError::Error(err)) => Err(Error::io("cannot lock", path, err)),
        }
    }

    /// The runs whose lock a process holds now (see [`Self::is_locked`]), from one listing
    /// of `runs/`: what `plan`, `status` and `serve` show as running.
    pub fn locked_runs(&self) -> Result<std::collections::BTreeSet<RunId>> {
        let dir = self.runs_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Default::default()),
            Err(err) => return Err(Error::io("cannot list", dir, err)),
        };
        let mut locked = std::collections::BTreeSet::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(id) = name
                .to_str()
                .and_then(|n| n.strip_suffix(".lock"))
                .and_then(RunId::parse)
            else {
                continue;
            };
            if self.is_locked(&id)? {
                locked.insert(id);
            }
        }
        Ok(locked)
    }

    /// Takes the lock of run `id`, waiting while another process holds it.
    pub fn lock(&self, id: &RunId) -> Result<RunLock> {
        Ok(self
            .acquire(id, true)?
            .expect("a blocking lock either succeeds or fails"))
    }

    /// Takes the lock of model `id`, waiting while another process holds it (it is
    /// training the model, which this process then loads instead of training again).
    pub fn lock_model(&self, id: &ModelId) -> Result<ModelLock> {
        Ok(self
            .acquire_in(&self.models_dir(), id, true)?
            .expect("a blocking lock either succeeds or fails"))
    }

    /// Locks the file at `runs/<id>.lock`. A holder removes that file when it lets go
    /// (see [`RunLock`]), so a lock taken on a file that was unlinked in the meantime
    /// guards nothing: after locking, check that the path still names the locked file,
    /// and start over if not.
    fn acquire(&self, id: &RunId, wait: bool) -> Result<Option<RunLock>> {
        self.acquire_in(&self.runs_dir(), id, wait)
    }

    /// [`Self::acquire`] for `<dir>/<id>.lock` (runs and models have their own folders).
    pub(crate) fn acquire_in<Id: EntryId>(
        &self,
        dir: &Path,
        id: &Id,
        wait: bool,
    ) -> Result<Option<EntryLock<Id>>> {
        costs::timed(Phase::Lock, || self.acquire_now(dir, id, wait))
    }

    fn acquire_now<Id: EntryId>(
        &self,
        dir: &Path,
        id: &Id,
        wait: bool,
    ) -> Result<Option<EntryLock<Id>>> {
        use std::os::unix::fs::MetadataExt;
        loop {
            let (path, file) = lock_file(dir, id)?;
            if wait {
                file.lock()
                    .map_err(|err| Error::io("cannot lock", &path, err))?;
            } else {
                match file.try_lock() {
                    Ok(()) => {}
                    Err(TryLockError::WouldBlock) => return Ok(None),
                    Err(TryLockError::Error(err)) => {
                        return Err(Error::io("cannot lock", path, err))
                    }
                }
            }
            let held = file
                .metadata()
                .map_err(|err| Error::io("cannot inspect", &path, err))?;
            match fs::metadata(&path) {
                Ok(named) if named.ino() == held.ino() && named.dev() == held.dev() => {
                    return Ok(Some(EntryLock {
                        id: id.clone(),
                        path,
                        _file: file,
                        remove_file: true,
                    }))
                }
                // Unlinked (or replaced) between our open and our lock: try again.
                _ => continue,
            }
        }
    }
}

fn lock_file(dir: &Path, id: &impl EntryId) -> Result<(PathBuf, File)> {
    fs::create_dir_all(dir).map_err(|err| Error::io("cannot create", dir, err))?;
    let path = dir.join(format!("{id}.lock"));
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|err| Error::io("cannot open", &path, err))?;
    Ok((path, file))
}
