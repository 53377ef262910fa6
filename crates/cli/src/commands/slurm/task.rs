//! `diffsweep slurm-task`: what each array task of a Slurm submission runs: trains its
//! model's cells into the store, logging progress, and on a signal leaves every run
//! stored whole or not at all.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::Context;
use runner::executor::{Observer, RunEvent};
use runner::slurm::{commands, Submission};
use runner::{Executor, RunStore};

use crate::bad_input::{classify, BadInput};

/// Arguments of `diffsweep slurm-task`.
#[derive(clap::Args, Debug)]
pub struct TaskArgs {
    /// The submission's folder in the store (`<results>/slurm/<submission>`).
    submission: PathBuf,
    /// The submission's task at index 0 of this array.
    first: usize,
    /// The index in the array [default: $SLURM_ARRAY_TASK_ID].
    #[arg(long)]
    index: Option<usize>,
}

/// Prints a run's progress into the task's log: start, every tenth of the epochs, end.
#[derive(Default)]
struct LogLines {
    /// Tenths of the epochs printed so far.
    tenths: std::sync::atomic::AtomicUsize,
}

impl Observer for LogLines {
    fn event(&self, event: RunEvent<'_>) {
        match event {
            RunEvent::Waiting { cell, .. } => {
                outln!("waiting: another process trains {}", cell.id.short())
            }
            RunEvent::Started { cell, .. } => outln!("running {}", cell.label),
            RunEvent::Epoch { epoch, epochs, .. } => {
                let tenths = epoch.saturating_mul(10) / epochs.max(1);
                if tenths > self.tenths.swap(tenths, Ordering::Relaxed) {
                    outln!("epoch {epoch}/{epochs}");
                }
            }
            RunEvent::Sampling { .. } => outln!("sampling"),
            RunEvent::SetAside { what, reason, path } => outln!(
                "set aside corrupt {what}: {reason}; moved to {}, running it again",
                path.display()
            ),
            RunEvent::Finished { .. } => {}
        }
    }
}

/// Trains one cell of a submission: what each array task runs.
pub fn task(args: TaskArgs) -> anyhow::Result<ExitCode> {
    let submission = Submission::open(&args.submission).map_err(classify)?;
    let index = match args.index {
        Some(index) => index,
        None => std::env::var("SLURM_ARRAY_TASK_ID")
            .ok()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| {
                anyhow::Error::new(BadInput(
                    "no --index and no SLURM_ARRAY_TASK_ID: this runs inside a Slurm array task"
                        .to_string(),
                ))
            })?,
    };
    let k = args.first.saturating_add(index);
    let manifest = &submission.manifest;
    let task = manifest.tasks.get(k).ok_or_else(|| {
        anyhow::Error::new(BadInput(format!(
            "task {k} is not in {} ({} tasks)",
            args.submission.display(),
            manifest.tasks.len()
        )))
    })?;
    let cells = task.cells().map_err(|m| anyhow::anyhow!(m))?;
    let root = args
        .submission
        .parent()
        .and_then(|p| p.parent())
        .context("the submission folder is not inside a store")?;
    let store = RunStore::open(root).map_err(classify)?;
    handle_signals(manifest.options.requeue())?;

    outln!(
        "diffsweep {} slurm task: job {} (array {} index {index}), task {k} of {}: model {}, {}, on {}",
        env!("CARGO_PKG_VERSION"),
        std::env::var("SLURM_JOB_ID").unwrap_or_else(|_| "-".into()),
        std::env::var("SLURM_ARRAY_JOB_ID").unwrap_or_else(|_| "-".into()),
        manifest.submission,
        cells
            .first()
            .map(|c| runner::ModelId::of(&c.config).short().to_string())
            .unwrap_or_default(),
        runner::words::counted(cells.len(), "cell", "cells"),
        runner::Host::current().hostname
    );
    let mut executor = Executor::new(1).map_err(classify)?;
    executor.retry_failed = manifest.retry_failed;
    executor.force = manifest.force;
    let report = executor
        .execute(&store, &cells, &LogLines::default())
        .context("the store failed")?;
    for (cell, outcome) in &report.cells {
        match outcome.record() {
            Some(record) => outln!(
                "{}: run {} {}{}",
                if matches!(outcome, runner::CellOutcome::Cached(_)) {
                    "already stored"
                } else {
                    "stored"
                },
                cell.id.short(),
                record.status.as_str(),
                record
                    .error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            ),
            None => outln!(
                "not stored: run {}: {}",
                cell.id.short(),
                outcome.error().unwrap_or("the store failed")
            ),
        }
    }
    Ok(if report.failures().is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// On SIGTERM (cancelled, time limit, preemption) or SIGUSR1 (the `--signal` before the
/// time limit): wait until no run is being written, then exit, leaving every run stored
/// whole or not at all. On SIGUSR1 a requeueable task first requeues itself, so its cell is
/// trained again from the start when Slurm restarts it.
fn handle_signals(requeue: bool) -> anyhow::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGUSR1, SIGINT])
        .context("cannot handle signals")?;
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let _writes = runner::store::hold_writes();
            let name = match signal {
                SIGTERM => "SIGTERM",
                SIGUSR1 => "SIGUSR1",
                _ => "SIGINT",
            };
            if signal == SIGUSR1 && requeue {
                match commands::requeue_self() {
                    Ok(()) => outln!(
                        "{name}: the run is abandoned (nothing stored) and the task requeued; it trains the cell again from the start"
                    ),
                    Err(err) => outln!("{name}: the run is abandoned (nothing stored); cannot requeue: {err}"),
                }
            } else {
                outln!("{name}: the run is abandoned; nothing was stored");
            }
            std::process::exit(128 + signal);
        }
    });
    Ok(())
}
