//! `diffsweep report`: the reporter's command.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::BadInput;

/// Arguments of `diffsweep report`.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// The experiment file (TOML) whose stored runs to report on.
    file: PathBuf,
    /// The store's root directory.
    #[arg(long, value_name = "DIR", default_value = "results")]
    results: PathBuf,
    /// Where to write the report [default: reports/<experiment name>].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Replace a value of the file: a [grid] axis (`--set T=10,100`), `seeds`, or any
    /// config path in [base] (`--set training.epochs=2000`); repeatable. The result is
    /// validated like the file and swept and reported under a name of its own.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
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
    let experiment = crate::sweep_cmd::load(&args.file, &args.set)?;
    let store = crate::paths::open_store(&args.results)?;
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from("reports").join(&experiment.name));
    crate::paths::writable_dir(&out, "the report folder, --out")?;
    let summary = reporter::report(&store, &experiment, &out)
        .map_err(classify)
        .with_context(|| format!("cannot write the report of `{}`", experiment.name))?;

    println!(
        "{}: {} cells, {} runs ({} diverged or failed)",
        summary.report.display(),
        summary.cells,
        summary.runs,
        summary.failures
    );
    for comparison in &summary.comparisons {
        println!(
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
