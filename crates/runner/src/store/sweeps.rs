//! Sweep files, `sweeps/<name>.json`: read and written whole, in a shape the caller owns
//! (the experiment's sweep index), so the store knows nothing of experiments.

use std::fs;
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::atomic::replace_file;
use super::reading::{read_text_bounded, MAX_RECORD_BYTES};
use super::RunStore;
use crate::{Error, Result};

impl RunStore {
    /// The sweep file of sweep `name`; [`Error::UnknownSweep`] when there is none.
    pub fn read_sweep_file<T: DeserializeOwned>(&self, name: &str) -> Result<T> {
        let path = self.sweep_path(name);
        let Some(text) = read_text_bounded(&path, MAX_RECORD_BYTES)? else {
            return Err(Error::UnknownSweep {
                name: name.to_string(),
                root: self.root.clone(),
            });
        };
        serde_json::from_str(&text).map_err(|err| Error::corrupt(path, err))
    }

    /// Writes (or replaces) the sweep file of sweep `name` as pretty JSON, atomically. What
    /// stands in its place and is not a regular file (a directory, a pipe, a link) is set
    /// aside first ([`RunStore::set_aside_sweep_file`]).
    pub fn write_sweep_file<T: Serialize>(&self, name: &str, value: &T) -> Result<()> {
        let dir = self.sweeps_dir();
        fs::create_dir_all(&dir).map_err(|err| Error::io("cannot create", &dir, err))?;
        let path = self.sweep_path(name);
        if fs::symlink_metadata(&path).is_ok_and(|meta| !meta.is_file()) {
            self.set_aside_sweep_file(name)?;
        }
        let json = serde_json::to_string_pretty(value).expect("a sweep index is plain data");
        replace_file(&path, json.as_bytes())
    }

    /// Moves the sweep file of sweep `name` aside, to `sweeps/.set-aside-<time>-<name>.json`
    /// (a leading dot: no reader lists it; nothing is deleted), and returns where.
    pub fn set_aside_sweep_file(&self, name: &str) -> Result<PathBuf> {
        let path = self.sweep_path(name);
        let time = chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ");
        let aside = self
            .sweeps_dir()
            .join(format!(".set-aside-{time}-{name}.json"));
        fs::rename(&path, &aside).map_err(|err| Error::io("cannot set aside", &path, err))?;
        Ok(aside)
    }
}
