//! `diffsweep report`: the reporter's command.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::args::ExperimentArgs;
use crate::bad_input::BadInput;

/// Arguments of `diffsweep report`.
#[derive(clap::Args, Debug)]
// clap orders options as they are declared: `--results` (0) and `--set` (1) from the
// experiment's arguments, then `--out` (2); `--set` moves to 3, so the help lists
// `--results`, `--out`, `--set`, as it always has.
#[command(
    mut_arg("file", |file| file.help("The experiment file (TOML) whose stored runs to report on")),
    mut_arg("set", |set| set.display_order(3)),
)]
pub struct ReportArgs {
    #[command(flatten)]
    experiment: ExperimentArgs,
    /// Where to write the report [default: reports/<experiment name>].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// A reporter error as the CLI reports it: selectors that pick nothing (or too much) and
/// sweeps that were never run are the user's to fix, so they exit with code 2.
fn classify(err: reporter::Error) -> anyhow::Error {
    match err {
        reporter::Error::Selector(_) | reporter::Error::Empty(_) => {
            anyhow::Error::new(BadInput(err.to_string()))
        }
        other => anyhow::Error::new(other),
    }
}

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let experiment = args.experiment.load()?;
    let store = args.experiment.store.open()?;
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from("reports").join(&experiment.name));
    crate::paths::writable_dir(&out, "the report folder, --out")?;
    let summary = reporter::report(&store, &experiment, &out)
        .map_err(classify)
        .with_context(|| format!("cannot write the report of `{}`", experiment.name))?;

    outln!(
        "{}: {}, {} ({} diverged or failed)",
        summary.report.display(),
        runner::words::counted(summary.cells, "cell", "cells"),
        runner::words::counted(summary.runs, "run", "runs"),
        summary.failures
    );
    for comparison in &summary.comparisons {
        outln!(
            "  {}: {}",
            comparison.question.name,
            comparison.verdict.describe(comparison.question.margin)
        );
    }
    for warning in &summary.warnings {
        eprintln!("warning: {warning}");
    }
    Ok(ExitCode::SUCCESS)
}
