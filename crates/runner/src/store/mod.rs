//! The run store: runs and the models they sample, on disk under one root, named by
//! content ([`RunId`](crate::RunId), [`ModelId`](crate::ModelId)) and written atomically.
//!
//! ```text
//! <root>/runs/<run id>/config.toml            the canonical config
//! <root>/runs/<run id>/record.json            status, metrics, timings, versions, artifact hashes
//! <root>/runs/<run id>/samples.csv            x,y in data space
//! <root>/runs/<run id>.lock                   held (flock) while a process trains the run
//! <root>/models/<model id>/config.toml        the model part of the config (sampling at defaults)
//! <root>/models/<model id>/model.json         status, final loss, timings, versions, artifact hashes
//! <root>/models/<model id>/loss.csv           epoch,loss
//! <root>/models/<model id>/weights.safetensors  the trained network, f32
//! <root>/models/<model id>.lock               held (flock) while a process trains the model
//! <root>/sweeps/<name>.json                   a sweep's cells and their run ids
//! <root>/quarantine/<time>-<kind>-<id>/       a corrupt run or model set aside: `entry/` as it
//!                                             was, `reason.json` (see `quarantine`)
//! ```
//!
//! A run names the model it sampled; runs whose configs differ only in `sampling` share
//! it, so a sweep over samplers trains each model once. Runs stored before models were
//! split off hold their own `loss.csv` and `weights.safetensors`, and name no model.
//!
//! Every record carries a sha256 of its own content and of each artifact; every read
//! checks them, and a mismatch is a corrupt entry, never a result.
//!
//! An entry is written into `<dir>/.tmp-<id>-<pid>/`, synced, and renamed into place, so
//! a run or model directory is complete or absent. The lock is an OS file lock, released
//! by the kernel when its process dies, so a stale lock needs no recovery; a temporary
//! directory whose entry is not locked belongs to a dead process and is removed.
//!
//! The parts: `paths` (where everything lives, and listing), `records` (what
//! `record.json` and `model.json` hold), `reading` (every file read back: regular, bounded,
//! any failure a corrupt entry), `checksum` (content hashes and their checks),
//! `locks`, `atomic` (whole-directory and whole-file writes, stale cleanup), `formats`
//! (CSV, safetensors, non-finite floats in JSON), `runs`, `models` and `sweeps` (sweep
//! files, whose contents the caller owns). The store knows nothing of experiment files.

use std::path::{Path, PathBuf};

use crate::Result;

mod atomic;
mod checksum;
mod formats;
mod locks;
mod models;
mod paths;
mod reading;
mod records;
mod runs;
mod sweeps;

pub use atomic::hold_writes;
pub(crate) use atomic::{replace_file, sync_dir, write_synced};
pub(crate) use checksum::verify_checksum;
pub use checksum::{content_checksum, sha256_hex};
pub use locks::{EntryLock, ModelLock, RunLock};
pub use records::{Host, Lookup, ModelRecord, Record, Status};
pub use runs::RunView;

/// The bytes of an artifact file of the store (a regular file, bounded), `None` when
/// absent; anything else is [`crate::Error::Corrupt`].
pub(crate) fn read_artifact(path: &Path) -> Result<Option<Vec<u8>>> {
    reading::read_bounded(path, reading::MAX_ARTIFACT_BYTES)
}

/// A run directory tree under one root (`results/` by default).
#[derive(Clone, Debug)]
pub struct RunStore {
    root: PathBuf,
}

impl RunStore {
    /// A store rooted at `root`. Nothing is created until something is written.
    pub fn open(root: impl Into<PathBuf>) -> Result<RunStore> {
        Ok(RunStore { root: root.into() })
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }
}
