//! `diffsweep sweep`, `plan`, `status` and `show`: the runner's commands.

use std::process::ExitCode;

/// Arguments of `diffsweep sweep`.
#[derive(clap::Args, Debug)]
pub struct SweepArgs {}
/// Arguments of `diffsweep plan`.
#[derive(clap::Args, Debug)]
pub struct PlanArgs {}
/// Arguments of `diffsweep status`.
#[derive(clap::Args, Debug)]
pub struct StatusArgs {}
/// Arguments of `diffsweep show`.
#[derive(clap::Args, Debug)]
pub struct ShowArgs {}

pub fn sweep(_args: SweepArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
pub fn plan(_args: PlanArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
pub fn status(_args: StatusArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
pub fn show(_args: ShowArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
