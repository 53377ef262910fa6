//! Where everything lives under a store's root, and the listing of what is stored.

use std::fs;
use std::path::{Path, PathBuf};

use super::RunStore;
use crate::identity::{ModelId, RunId};
use crate::{Error, Result};

impl RunStore {
    pub(crate) fn runs_dir(&self) -> PathBuf {
        self.root.join("runs")
    }

    pub(crate) fn models_dir(&self) -> PathBuf {
        self.root.join("models")
    }

    pub(crate) fn sweeps_dir(&self) -> PathBuf {
        self.root.join("sweeps")
    }

    /// The directory of a run (which may not exist).
    pub fn run_dir(&self, id: &RunId) -> PathBuf {
        self.runs_dir().join(id.as_str())
    }

    /// The directory of a model (which may not exist).
    pub fn model_dir(&self, id: &ModelId) -> PathBuf {
        self.models_dir().join(id.as_str())
    }

    pub(crate) fn sweep_path(&self, name: &str) -> PathBuf {
        self.sweeps_dir().join(format!("{name}.json"))
    }

    /// Every run stored, in id order.
    pub fn run_ids(&self) -> Result<Vec<RunId>> {
        let entries = entries_of(&self.runs_dir())?;
        let mut ids: Vec<RunId> = entries
            .into_iter()
            // A directory, or a link to one (which a look-up follows too).
            .filter(|entry| entry.path().is_dir())
            .filter_map(|entry| RunId::parse(entry.file_name().to_str()?))
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// The names of the sweep indexes stored (`sweeps/<name>.json`, temporary files
    /// aside), sorted.
    pub fn sweep_names(&self) -> Result<Vec<String>> {
        let entries = entries_of(&self.sweeps_dir())?;
        let mut names: Vec<String> = entries
            .into_iter()
            .filter_map(|e| {
                let name = e.file_name().to_str()?.strip_suffix(".json")?.to_string();
                (!name.starts_with('.')).then_some(name)
            })
            .collect();
        names.sort();
        Ok(names)
    }

    /// Every stored model, in id order.
    pub fn model_ids(&self) -> Result<Vec<ModelId>> {
        let entries = entries_of(&self.models_dir())?;
        let mut ids: Vec<ModelId> = entries
            .into_iter()
            .filter(|e| e.path().is_dir())
            .filter_map(|e| ModelId::parse(&e.file_name().to_string_lossy()))
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// The stored run whose id is `text` or starts with it (at least 4 digits).
    pub fn resolve(&self, text: &str) -> Result<RunId> {
        if let Some(id) = RunId::parse(text) {
            if self.run_dir(&id).is_dir() {
                return Ok(id);
            }
        }
        let matches: Vec<RunId> = if text.len() >= 4 {
            self.run_ids()?
                .into_iter()
                .filter(|id| id.as_str().starts_with(text))
                .collect()
        } else {
            Vec::new()
        };
        match matches.as_slice() {
            [id] => Ok(id.clone()),
            [] => Err(Error::UnknownRun(format!(
                "no stored run `{text}` in {} (give a run id or a prefix of at least 4 hex digits)",
                self.root.display()
            ))),
            _ => Err(Error::UnknownRun(format!(
                "`{text}` is the prefix of {} runs; give more digits",
                matches.len()
            ))),
        }
    }
}

/// The entries of `dir` (none when it does not exist; an entry that cannot be read is
/// left out).
fn entries_of(dir: &Path) -> Result<Vec<fs::DirEntry>> {
    match fs::read_dir(dir) {
        Ok(entries) => Ok(entries.filter_map(|e| e.ok()).collect()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(err) => Err(Error::io("cannot list", dir, err)),
    }
}
