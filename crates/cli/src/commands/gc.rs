//! `diffsweep gc`: lists, and with `--yes` removes, the runs no kept experiment refers to
//! and the leftovers of dead processes.

use runner::words::counted;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::args::{load_experiment, StoreArgs};

/// Arguments of `diffsweep gc`.
#[derive(clap::Args, Debug)]
pub struct GcArgs {
    /// The experiment files whose runs to keep (every other run is garbage).
    #[arg(long, value_name = "FILE", num_args = 1.., required = true)]
    keep: Vec<PathBuf>,
    /// Remove what is listed (without it, nothing is touched).
    #[arg(long)]
    yes: bool,
    #[command(flatten)]
    store: StoreArgs,
}

/// Runs `diffsweep gc`.
pub fn run(args: GcArgs) -> anyhow::Result<ExitCode> {
    let keep = args
        .keep
        .iter()
        .map(|file| load_experiment(file, &[]))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let store = args.store.open_existing()?;
    let garbage = runner::gc::collect(&store, &keep, args.yes)
        .with_context(|| format!("cannot clean {}", args.store.results.display()))?;
    let verb = if args.yes { "removed" } else { "would remove" };
    for id in &garbage.runs {
        let label = store
            .config(id)
            .map(|c| {
                let kind = serde_json::to_value(c.schedule.kind).unwrap_or_default();
                let kind = kind.as_str().unwrap_or("?").to_string();
                format!("T={} schedule.kind={kind} seed={}", c.steps, c.seed)
            })
            .unwrap_or_default();
        outln!("  {verb} run {}  {label}", &id.as_str()[..12]);
    }
    for id in &garbage.models {
        outln!("  {verb} model {}", &id.as_str()[..12]);
    }
    for path in &garbage.stale {
        outln!("  {verb} leftover {}", path.display());
    }
    for path in &garbage.quarantined {
        outln!("  {verb} quarantined {}", path.display());
    }
    for id in &garbage.held {
        outln!(
            "  kept run {} (another process holds its lock)",
            &id.as_str()[..12]
        );
    }
    outln!(
        "{} and {} no kept experiment refers to, {} and {} ({:.1} MB): {}",
        counted(garbage.runs.len(), "run", "runs"),
        counted(garbage.models.len(), "model", "models"),
        counted(garbage.stale.len(), "leftover", "leftovers"),
        counted(
            garbage.quarantined.len(),
            "quarantined entry",
            "quarantined entries"
        ),
        garbage.bytes as f64 / 1e6,
        if args.yes {
            "removed"
        } else if garbage.runs.is_empty()
            && garbage.models.is_empty()
            && garbage.stale.is_empty()
            && garbage.quarantined.is_empty()
        {
            "nothing to do"
        } else {
            "run again with --yes to remove them"
        }
    );
    Ok(ExitCode::SUCCESS)
}
