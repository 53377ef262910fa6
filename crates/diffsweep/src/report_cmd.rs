//! `diffsweep report`: the reporter's command.

use std::process::ExitCode;

/// Arguments of `diffsweep report`.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {}

pub fn run(_args: ReportArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
