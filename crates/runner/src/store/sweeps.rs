//! Sweep files, `sweeps/<name>.json`: read and written whole, in a shape the caller owns
//! (the experiment's sweep index), so the store knows nothing of experiments.

use std::fs;

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

    /// Writes (or replaces) the sweep file of sweep `name` as pretty JSON, atomically.
    pub fn write_sweep_file<T: Serialize>(&self, name: &str, value: &T) -> Result<()> {
        let dir = self.sweeps_dir();
        fs::create_dir_all(&dir).map_err(|err| Error::io("cannot create", &dir, err))?;
        let path = self.sweep_path(name);
        let json = serde_json::to_string_pretty(value).expect("a sweep index is plain data");
        replace_file(&path, json.as_bytes())
    }
}
