//! `diffsweep status`: counts and lists an experiment's cells by state, from the store
//! and, for cells submitted to Slurm, from the queue.

use std::process::ExitCode;

use runner::progress::describe;
use runner::slurm::CellStatus;
use runner::Status;

use crate::args::ExperimentArgs;
use crate::commands::slurm;

/// Arguments of `diffsweep status`.
#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    experiment: ExperimentArgs,
}

/// Counts and lists the cells that are stored, failed, queued, running and pending:
/// from the store first and, for cells submitted to Slurm, from `squeue`.
pub fn run(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let experiment = args.experiment.load()?;
    let store = args.experiment.store.open()?;
    let cells = experiment.cells();
    let (statuses, tracker) = slurm::statuses(&store, cells)?;
    // A lock that cannot be read is no reason to fail a status: such cells show pending.
    let locked = store.locked_runs().unwrap_or_default();
    let mut groups: Vec<(&str, Vec<String>)> = [
        "done",
        "non-finite",
        "failed",
        "running",
        "queued",
        "submitted",
        "corrupt",
        "pending",
    ]
    .iter()
    .map(|title| (*title, Vec::new()))
    .collect();
    let mut push = |title: &str, line: String| {
        if let Some((_, lines)) = groups.iter_mut().find(|(t, _)| *t == title) {
            lines.push(line);
        }
    };
    for (cell, status) in cells.iter().zip(&statuses) {
        let id = cell.id.short();
        match status {
            // Stored and deterministic, but its samples are not finite: counted apart.
            CellStatus::Stored(record) if record.status == Status::NonFinite => push(
                "non-finite",
                format!("{id}  {}", describe(&cell.label, record)),
            ),
            CellStatus::Stored(record) => {
                push("done", format!("{id}  {}", describe(&cell.label, record)))
            }
            CellStatus::Failed(record, _) => {
                push("failed", format!("{id}  {}", describe(&cell.label, record)))
            }
            CellStatus::Died(task, _) => push(
                "failed",
                format!(
                    "{id}  {}  (Slurm task {} ended without storing a run)",
                    cell.label,
                    task.name()
                ),
            ),
            CellStatus::Running(task) => push(
                "running",
                format!("{id}  {}  (Slurm task {})", cell.label, task.name()),
            ),
            CellStatus::Queued(task, reason) => push(
                "queued",
                format!(
                    "{id}  {}  (Slurm task {}: {reason})",
                    cell.label,
                    task.name()
                ),
            ),
            CellStatus::Unknown(task) => push(
                "submitted",
                format!("{id}  {}  (Slurm task {})", cell.label, task.name()),
            ),
            CellStatus::Corrupt(reason) => push(
                "corrupt",
                format!(
                    "{id}  {}  ({reason}; the next sweep sets it aside and runs it again)",
                    cell.label
                ),
            ),
            // A process holding the run's lock is training or sampling it now.
            CellStatus::Pending if locked.contains(&cell.id) => push(
                "running",
                format!("{id}  {}  (being evaluated: its lock is held)", cell.label),
            ),
            CellStatus::Pending => push("pending", format!("{id}  {}", cell.label)),
        }
    }
    let counts: Vec<String> = groups
        .iter()
        .filter(|(title, lines)| {
            !lines.is_empty() || matches!(*title, "done" | "failed" | "pending")
        })
        .map(|(title, lines)| format!("{} {title}", lines.len()))
        .collect();
    outln!(
        "sweep {}: {}: {}",
        experiment.name,
        runner::words::counted(experiment.len(), "cell", "cells"),
        counts.join(", ")
    );
    if let Some(error) = tracker.queue_error() {
        outln!("warning: cannot read the Slurm queue ({error}): submitted cells without a record are listed as submitted");
    }
    for (title, lines) in &groups {
        if !lines.is_empty() {
            outln!("{title}:");
            for line in lines.iter() {
                outln!("  {line}");
            }
        }
    }
    if statuses.iter().any(|s| matches!(s, CellStatus::Died(..))) {
        outln!("failed Slurm tasks (the end of their logs):");
        slurm::print_failures(
            cells,
            &statuses
                .iter()
                .map(|s| match s {
                    CellStatus::Died(..) => s.clone(),
                    _ => CellStatus::Pending,
                })
                .collect::<Vec<_>>(),
        );
    }
    Ok(ExitCode::SUCCESS)
}
