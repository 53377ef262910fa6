//! The arguments several commands share, declared once: the experiment file with its
//! `--set` overrides, the store's `--results` folder, and the `--jobs` check.
//!
//! A command whose help words one of them its own way keeps the flag and says so with
//! `#[command(mut_arg(...))]` on its own arguments.

use std::path::{Path, PathBuf};

use runner::{Experiment, RunStore};

use crate::bad_input::{classify, BadInput};

/// The experiment a command works on: its file, the store and the file's overrides.
#[derive(clap::Args, Debug)]
pub struct ExperimentArgs {
    /// The experiment file (TOML).
    pub file: PathBuf,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Replace a value of the file: a [grid] axis (`--set T=10,100`), `seeds`, or any
    /// config path in [base] (`--set training.epochs=2000`); repeatable. The result is
    /// validated like the file and swept and reported under a name of its own.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

impl ExperimentArgs {
    /// Reads and validates the experiment file with its `--set` overrides.
    pub fn load(&self) -> anyhow::Result<Experiment> {
        load_experiment(&self.file, &self.set)
    }
}

/// The store a command reads or writes.
#[derive(clap::Args, Debug)]
pub struct StoreArgs {
    /// The store's root directory.
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub results: PathBuf,
}

impl StoreArgs {
    /// Opens the store (see [`crate::paths::open_store`]).
    pub fn open(&self) -> anyhow::Result<RunStore> {
        crate::paths::open_store(&self.results)
    }

    /// Opens a store that must exist already: the commands that only read or tidy one
    /// (`runs`, `fsck`, `gc`) take a folder that is not there for a mistyped path, where
    /// answering "0 runs" would hide it.
    pub fn open_existing(&self) -> anyhow::Result<RunStore> {
        if !self.results.exists() {
            return Err(anyhow::Error::new(crate::bad_input::BadInput(format!(
                "--results {}: no such folder, so no store there to read",
                self.results.display()
            ))));
        }
        self.open()
    }
}

/// Reads and validates an experiment file with its `--set` overrides.
pub fn load_experiment(file: &Path, overrides: &[String]) -> anyhow::Result<Experiment> {
    Experiment::load_with(file, overrides).map_err(classify)
}

/// `--jobs`, checked, or every core.
pub fn jobs_or_cores(jobs: Option<usize>) -> anyhow::Result<usize> {
    match jobs {
        Some(jobs) if jobs == 0 || jobs > runner::limits::MAX_JOBS => {
            Err(anyhow::Error::new(BadInput(format!(
                "invalid value {jobs} for `--jobs`: expected an integer from 1 to {}",
                runner::limits::MAX_JOBS
            ))))
        }
        Some(jobs) => Ok(jobs),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}
