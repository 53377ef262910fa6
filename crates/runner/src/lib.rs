//! The runner turns one TOML experiment file into trained, stored runs.
//!
//! [`experiment`] parses and validates an experiment file and expands its grid into [`Cell`]s,
//! each a fully resolved [`ddpm::RunConfig`], and keeps a started sweep's [`SweepIndex`];
//! [`config_path`] is how a dotted key such as `schedule.kind` reaches into a config, and
//! [`location`] turns a key back into the line and column of the file it came from.
//! [`identity`] names every cell by the sha256 of its canonical config ([`RunId`]), so two
//! sweeps that share a cell share its run, and every trained model by the sha256 of its
//! config's model part ([`ModelId`]), so cells that differ only in sampling share a model.
//! [`store`] keeps runs and models on disk under `results/` ([`RunStore`]): written
//! atomically, one lock per entry, every record and artifact checked against its sha256
//! when read back ([`quarantine`] sets corrupt entries aside, [`fsck`] checks a whole
//! store, [`gc`] removes what no experiment needs). [`executor`] trains the cells that
//! are not stored yet on a rayon pool, one model and its cells per worker, through a
//! [`Backend`] (the CPU one by default), and [`progress`] shows it. [`plan`] estimates how
//! long the pending cells will take; [`slurm`] runs a sweep as a Slurm array job instead.
//!
//! **Nothing is written before the whole experiment file has been validated**, **a run
//! directory is either complete or absent**, **nothing read from the store is used
//! unchecked**, and **the store knows nothing of experiment files**.

pub mod caches;
pub mod canonical;
pub mod config_path;
pub mod costs;
pub mod executor;
pub mod experiment;
pub mod fsck;
pub mod gc;
pub mod identity;
pub mod limits;
pub mod location;
pub mod plan;
pub mod progress;
pub mod provenance;
pub mod quarantine;
pub mod slurm;
pub mod store;
pub mod words;

use std::path::PathBuf;

pub use executor::{
    Backend, CellOutcome, CellState, Executor, Observer, RunEvent, Silent, SweepReport,
};
pub use experiment::{
    parse_run_config, run_config_error, Cell, Compare, Experiment, ReportOptions, Selector, Side,
    SweepCell, SweepIndex,
};
pub use identity::{ModelId, RunId};
pub use plan::CostModel;
pub use progress::{DisplayMode, SweepDisplay};
pub use provenance::Provenance;
pub use store::{Host, Lookup, ModelRecord, Record, RunLock, RunStore, Status};

/// Everything that can go wrong in the runner.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A mistake in an experiment file, found before anything runs.
    #[error("{file}{}: {message}", location.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
    Experiment {
        /// The file as the user named it.
        file: String,
        /// Line and column (1-based) when the mistake has a place in the file.
        location: Option<(usize, usize)>,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A file or directory of the store could not be read or written.
    #[error("{action} {}: {}", path.display(), describe_io(error))]
    Io {
        /// What was being done, e.g. "cannot read".
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error, in the message (not chained, so it is printed once).
        error: std::io::Error,
    },
    /// A stored file that exists but cannot be understood.
    #[error("corrupt file {}: {message}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A run id or prefix that names no stored run (or more than one).
    #[error("{0}")]
    UnknownRun(String),
    /// A sweep that has never been started in this store.
    #[error("no sweep named `{name}` in {}: run `diffsweep sweep` first", root.display())]
    UnknownSweep {
        /// The sweep's name.
        name: String,
        /// The store's root.
        root: PathBuf,
    },
    /// An invalid option, e.g. zero jobs.
    #[error("{0}")]
    InvalidOption(String),
}

impl Error {
    /// Whether the error is the user's input (exit code 2) rather than the machine's.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Error::Experiment { .. }
                | Error::UnknownRun(_)
                | Error::UnknownSweep { .. }
                | Error::InvalidOption(_)
        )
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        error: std::io::Error,
    ) -> Error {
        Error::Io {
            action,
            path: path.into(),
            error,
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, message: impl ToString) -> Error {
        Error::Corrupt {
            path: path.into(),
            message: message.to_string(),
        }
    }
}

/// An IO error in words, with the case a user must act on spelled out.
fn describe_io(error: &std::io::Error) -> String {
    if error.kind() == std::io::ErrorKind::StorageFull {
        format!("the disk is full ({error})")
    } else {
        error.to_string()
    }
}

/// The runner's result type.
pub type Result<T> = std::result::Result<T, Error>;
