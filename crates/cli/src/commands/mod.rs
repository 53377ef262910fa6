//! One module per `diffsweep` subcommand: its clap arguments and its `run`.

pub mod bench;
pub mod fsck;
pub mod gc;
pub mod plan;
pub mod report;
pub mod runs;
pub mod serve;
pub mod show;
pub mod slurm;
pub mod status;
pub mod sweep;
pub mod train;
pub mod verify;
