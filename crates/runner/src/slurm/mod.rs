//! Sweeps on a Slurm cluster: the cells that are not stored go out as job arrays whose
//! tasks each train one model and evaluate its cells into the same store, through the
//! same code as a local sweep
//! (lock, temporary directory, rename). The store stays the source of truth: a cell is
//! done when its record exists, whoever trained it; the queue only says what is still
//! waiting or running. See README.md, "Running on a Slurm cluster".

pub mod commands;
pub mod manifest;
pub mod options;
pub mod state;
pub mod submit;

pub use manifest::{ArrayJob, Manifest, Submission, Task, TaskCell};
pub use options::{OptionValue, SlurmOptions};
pub use state::{CellStatus, TaskRef, Tracker};
