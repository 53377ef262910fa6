//! `diffsweep sweep`: trains every cell of an experiment that is not stored yet, on this
//! machine or (with `--on slurm`) as Slurm job arrays, and prints the sweep's summary.

use std::process::ExitCode;

use anyhow::Context;
use runner::executor::CellOutcome;
use runner::plan::format_seconds;
use runner::words::counted;
use runner::{DisplayMode, Executor, Status, SweepDisplay, SweepIndex};

use crate::args::{jobs_or_cores, ExperimentArgs};
use crate::bad_input::{classify, BadInput};
use crate::commands::slurm;

/// Arguments of `diffsweep sweep`.
#[derive(clap::Args, Debug)]
#[command(mut_arg("file", |file| file.help(
    "The experiment file (TOML, a regular file of at most 1 MiB; see experiments/README.md \
     for the format and the limits: at most 100,000 cells, 10,000 seeds)"
)))]
pub struct SweepArgs {
    #[command(flatten)]
    experiment: ExperimentArgs,
    /// Runs trained at once, each on one thread, 1 to 1024 [default: all cores].
    #[arg(long, short, value_name = "N", allow_negative_numbers = true)]
    jobs: Option<usize>,
    /// Print only the final summary.
    #[arg(long, short)]
    quiet: bool,
    /// Train again the cells whose stored run failed.
    #[arg(long)]
    retry_failed: bool,
    /// Train every cell again, replacing stored runs.
    #[arg(long)]
    force: bool,
    /// Where the cells train: on this machine, or as job arrays on a Slurm cluster
    /// (submitted at once; see --wait and README.md, "Running on a Slurm cluster").
    #[arg(long, value_enum, default_value_t = Target::Local)]
    on: Target,
    #[command(flatten)]
    slurm: slurm::SlurmArgs,
}

/// Where a sweep's cells train.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// This machine, --jobs runs at once.
    Local,
    /// A Slurm cluster: one array task per model (its cells evaluated in it), through sbatch.
    Slurm,
}

/// Trains every cell of the experiment that is not stored yet.
pub fn run(args: SweepArgs) -> anyhow::Result<ExitCode> {
    let experiment = args.experiment.load()?;
    let jobs = jobs_or_cores(args.jobs)?;
    if args.on == Target::Local {
        args.slurm.check_local()?;
    } else if args.jobs.is_some() {
        return Err(anyhow::Error::new(BadInput(
            "--jobs is for local sweeps: with --on slurm every cell is an array task of its own (limit how many run at once with --throttle)".to_string(),
        )));
    }
    crate::paths::writable_dir(&args.experiment.store.results, "--results")?;
    let store = args.experiment.store.open()?;
    if args.on == Target::Slurm {
        // It checks its options and the cluster first, and writes the index only then.
        return slurm::submit_sweep(
            &experiment,
            &store,
            &args.slurm,
            args.retry_failed,
            args.force,
            args.quiet,
        );
    }

    let mut executor = Executor::new(jobs).map_err(classify)?;
    store
        .write_sweep_index(&SweepIndex::of(&experiment))
        .with_context(|| format!("cannot write the index of sweep `{}`", experiment.name))?;
    executor.retry_failed = args.retry_failed;
    executor.force = args.force;
    let display = SweepDisplay::new(DisplayMode::detect(args.quiet));
    let report = executor
        .execute(&store, experiment.cells(), &display)
        .with_context(|| format!("sweep `{}` stopped", experiment.name))?;

    let diverged = report.with_status(Status::Diverged);
    let non_finite = report.with_status(Status::NonFinite);
    let completed = report.with_status(Status::Completed);
    let failures = report.failures();
    outln!(
        "sweep {}: {}, {} run, {} already stored, in {} (store: {})",
        experiment.name,
        counted(report.cells.len(), "cell", "cells"),
        report.trained(),
        report.cached(),
        format_seconds(report.elapsed.as_secs_f64()),
        store.root().display()
    );
    outln!(
        "  {} trained and {} loaded from the store for {} (each cell sampled and scored)",
        counted(report.models_trained, "model", "models"),
        report.models_loaded,
        counted(report.trained(), "evaluation", "evaluations")
    );
    outln!(
        "  {} completed, {} diverged, {} non-finite, {} failed",
        completed.len(),
        diverged.len(),
        non_finite.len(),
        failures.len()
    );
    if !non_finite.is_empty() {
        // One line per cell of the grid, its seeds counted: a sampler that explodes
        // usually does so for every seed.
        let mut cells: Vec<(String, usize)> = Vec::new();
        for (cell, _) in &non_finite {
            let label = cell
                .label
                .split(' ')
                .filter(|part| !part.starts_with("seed="))
                .collect::<Vec<_>>()
                .join(" ");
            match cells.iter_mut().find(|(l, _)| *l == label) {
                Some((_, count)) => *count += 1,
                None => cells.push((label, 1)),
            }
        }
        outln!(
            "non-finite samples in {} (kept as results; deterministic, so not retried):",
            counted(cells.len(), "cell", "cells")
        );
        for (label, count) in &cells {
            outln!("  {label}  ({})", counted(*count, "seed", "seeds"));
        }
    }
    if !diverged.is_empty() {
        outln!("diverged (kept as results; a diverged run is not retried):");
        for (cell, outcome) in &diverged {
            let epoch = outcome
                .record()
                .and_then(|r| r.diverged_epoch)
                .map_or("?".to_string(), |e| e.to_string());
            outln!(
                "  {}  at epoch {epoch}  (run {})",
                cell.label,
                cell.id.short()
            );
        }
    }
    if !failures.is_empty() {
        outln!("failed:");
        for (cell, outcome) in &failures {
            let error = outcome.error().unwrap_or("no error recorded");
            outln!("  {}  (run {}): {error}", cell.label, cell.id.short());
        }
        if failures
            .iter()
            .any(|(_, o)| matches!(o, CellOutcome::Cached(_)))
        {
            outln!("  stored failures are kept; rerun them with --retry-failed");
        }
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
