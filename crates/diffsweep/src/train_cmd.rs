//! `diffsweep train`: one run from flags, printed as JSON.

use std::process::ExitCode;

/// Arguments of `diffsweep train`.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {}

pub fn run(_args: TrainArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
