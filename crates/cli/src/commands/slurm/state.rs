//! Every cell's state as the store and the Slurm queue tell it, and the failed cells
//! listed with their error or the end of their task's log.

use runner::slurm::{CellStatus, Tracker};
use runner::{Cell, RunStore};

use crate::bad_input::classify;

/// Every cell's state, reading the queue once.
pub fn statuses(store: &RunStore, cells: &[Cell]) -> anyhow::Result<(Vec<CellStatus>, Tracker)> {
    let mut tracker = Tracker::load(store).map_err(classify)?;
    if tracker.any_submitted(cells.iter()) {
        tracker.read_queue(cells.iter());
    }
    let statuses = cells
        .iter()
        .map(|cell| tracker.status(store, cell).map_err(classify))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((statuses, tracker))
}

/// Lists failed cells with their error or log tail; whether there were any.
pub fn print_failures(cells: &[Cell], statuses: &[CellStatus]) -> bool {
    let mut any = false;
    for (cell, status) in cells.iter().zip(statuses) {
        match status {
            CellStatus::Failed(record, task) => {
                any = true;
                outln!(
                    "  failed  {}  (run {}): {}{}",
                    cell.label,
                    cell.id.short(),
                    record.error.as_deref().unwrap_or("no error recorded"),
                    task.as_ref()
                        .map(|t| format!("; log {}", t.log.display()))
                        .unwrap_or_default()
                );
            }
            CellStatus::Died(task, tail) => {
                any = true;
                outln!(
                    "  failed  {}  (run {}): task {} ended without storing a run (cancelled, out of time or memory, or its node failed); log {}",
                    cell.label,
                    cell.id.short(),
                    task.name(),
                    task.log.display()
                );
                match tail {
                    Some(tail) if !tail.is_empty() => {
                        for line in tail.lines() {
                            outln!("      | {line}");
                        }
                    }
                    _ => outln!("      | (no log: the task never started)"),
                }
            }
            _ => {}
        }
    }
    any
}
