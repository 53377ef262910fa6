//! Slurm: `diffsweep sweep --on slurm` (submit, and follow with `--wait`) and `diffsweep
//! slurm-task` (what each array task runs). The runner's `slurm` module does the
//! submitting and the tracking; these files are the command line's side of it.

mod args;
mod follow;
mod state;
mod submit;
mod task;

pub use args::SlurmArgs;
pub use state::{print_failures, statuses};
pub use submit::submit_sweep;
pub use task::{task, TaskArgs};
