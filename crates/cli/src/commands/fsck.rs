//! `diffsweep fsck`: checks every record, model and artifact of a store against its
//! sha256, finds leftovers of dead processes, and with `--repair` sets bad entries aside
//! as a sweep would.

use runner::words::{agree, counted};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;

use crate::args::StoreArgs;

/// Arguments of `diffsweep fsck`.
#[derive(clap::Args, Debug)]
pub struct FsckArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Move every corrupt run and model to the store's quarantine (nothing is deleted;
    /// the next sweep runs them again).
    #[arg(long)]
    repair: bool,
}

/// Runs `diffsweep fsck`: exit 0 when the store is sound, 1 when something is wrong.
pub fn run(args: FsckArgs) -> anyhow::Result<ExitCode> {
    let store = args.store.open_existing()?;
    let started = Instant::now();
    let report = runner::fsck::check(&store, args.repair)
        .with_context(|| format!("cannot check the store {}", args.store.results.display()))?;
    for problem in &report.problems {
        match &problem.repaired {
            Some(path) => outln!(
                "  set aside {}: {} (now {})",
                problem.entry,
                problem.reason,
                path.display()
            ),
            None => outln!("  {}: {}", problem.entry, problem.reason),
        }
    }
    for entry in &report.busy {
        outln!("  skipped {entry}: another process holds its lock (being written)");
    }
    outln!(
        "fsck {}: {}, {}, {}, {} ({:.1} MB) checked in {:.2}s: {}{}",
        args.store.results.display(),
        counted(report.runs, "run", "runs"),
        counted(report.models, "model", "models"),
        counted(report.sweeps, "sweep index", "sweep indexes"),
        counted(report.artifacts, "artifact", "artifacts"),
        report.bytes as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        if report.problems.is_empty() {
            "no problem found".to_string()
        } else if args.repair {
            format!(
                "{}, corrupt entries set aside",
                counted(report.problems.len(), "problem", "problems")
            )
        } else {
            format!(
                "{} (run again with --repair to set corrupt entries aside)",
                counted(report.problems.len(), "problem", "problems")
            )
        },
        if report.quarantined > 0 {
            format!(
                "; {} in quarantine (`gc --yes` deletes {})",
                counted(report.quarantined, "entry", "entries"),
                agree(report.quarantined, "it", "them")
            )
        } else {
            String::new()
        }
    );
    Ok(if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
