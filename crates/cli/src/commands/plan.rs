//! `diffsweep plan`: an experiment's cells as a table, which are stored, and how long the
//! rest would take, timed from the store's runs.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use rayon::prelude::*;
use runner::plan::format_seconds;
use runner::{CellState, CostModel};

use crate::args::{jobs_or_cores, ExperimentArgs};
use crate::bad_input::classify;

/// Arguments of `diffsweep plan`.
#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    #[command(flatten)]
    experiment: ExperimentArgs,
    /// Runs trained at once, for the wall-time estimate, 1 to 1024 [default: all cores].
    #[arg(long, short, value_name = "N", allow_negative_numbers = true)]
    jobs: Option<usize>,
}

/// Prints the cells, which are stored, and how long the rest would take.
pub fn run(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let experiment = args.experiment.load()?;
    let jobs = jobs_or_cores(args.jobs)?;
    let store = args.experiment.store.open()?;
    let cost = CostModel::calibrate(&store).context("cannot read the stored runs' timings")?;

    let mut header: Vec<String> = vec!["#".to_string()];
    header.extend(experiment.axes.iter().cloned());
    header.extend([
        "run".to_string(),
        "state".to_string(),
        "estimate".to_string(),
    ]);
    let mut rows = Vec::with_capacity(experiment.len());
    let (mut pending, mut stored, mut failed, mut seconds) = (0, 0, 0, 0.0);
    // Ids are hashed once or more per cell: foldhash, not SipHash.
    let mut models_counted =
        foldhash::HashSet::with_capacity_and_hasher(experiment.len(), Default::default());
    // The store is listed once (a cell whose run or model is not listed is not stored,
    // without an open per cell); then each cell's state, model id and, for a pending
    // cell, whether its model is stored, in parallel; then the table in the cells' order.
    let listed_runs: foldhash::HashSet<runner::RunId> = store.run_ids()?.into_iter().collect();
    // Cells a process is evaluating now (their run lock is held) show as running.
    let locked = store.locked_runs().unwrap_or_default();
    let listed_models: foldhash::HashSet<runner::ModelId> =
        store.model_ids()?.into_iter().collect();
    // Each cell keeps only what its row needs (not its whole record).
    let looked_up: Vec<(runner::Result<Row>, runner::ModelId, bool)> = experiment
        .cells()
        .par_iter()
        .map(|cell| {
            let state = if listed_runs.contains(&cell.id) {
                CellState::of(&store, cell).map(|state| match state {
                    CellState::Done(record) => Row::Stored(record.status.as_str()),
                    CellState::Failed(_) => Row::Failed,
                    CellState::Pending | CellState::Corrupt(_) => Row::Pending,
                })
            } else {
                Ok(Row::Pending)
            };
            let model = runner::ModelId::of(&cell.config);
            let pending = matches!(state, Ok(Row::Pending));
            let model_stored = pending
                && listed_models.contains(&model)
                && store.model_record(&model).ok().flatten().is_some();
            (state, model, model_stored)
        })
        .collect();
    for (i, (cell, (state, model, model_stored))) in
        experiment.cells().iter().zip(looked_up).enumerate()
    {
        let state = state.map_err(classify)?;
        let (label, estimate) = match state {
            Row::Stored(status) => {
                stored += 1;
                (status.to_string(), "-".to_string())
            }
            Row::Failed => {
                failed += 1;
                ("failed".to_string(), "-".to_string())
            }
            Row::Pending => {
                pending += 1;
                let label = if locked.contains(&cell.id) {
                    "running"
                } else {
                    "pending"
                };
                // A model is trained once for all the cells that share it, and not at all
                // when it is stored.
                let train = if models_counted.insert(model) && !model_stored {
                    cost.training(&cell.config)
                } else {
                    0.0
                };
                let estimate = train + cost.evaluation(&cell.config);
                seconds += estimate;
                (label.to_string(), format_seconds(estimate))
            }
        };
        let mut row = vec![(i + 1).to_string()];
        row.extend(experiment.axes.iter().map(|axis| bare(&cell.axes[axis])));
        row.extend([cell.id.short().to_string(), label, estimate]);
        rows.push(row);
    }
    outln!(
        "experiment {} ({}): {} over {}",
        experiment.name,
        args.experiment.file.display(),
        runner::words::counted(experiment.len(), "cell", "cells"),
        experiment.axes.join(", ")
    );
    print_table(&header, &rows);
    let basis = if cost.calibrated_from > 0 {
        format!("timed from {} stored runs", cost.calibrated_from)
    } else {
        "built-in costs; no stored runs to time yet".to_string()
    };
    outln!(
        "{stored} stored, {failed} failed, {pending} pending: about {} of compute, {} on {jobs} worker(s) ({basis})",
        format_seconds(seconds),
        format_seconds(seconds / jobs.min(pending.max(1)) as f64)
    );
    Ok(ExitCode::SUCCESS)
}

/// What a cell's row says of its state: stored (completed or diverged), failed, or to
/// be run (not stored, or stored corrupt).
enum Row {
    Stored(&'static str),
    Failed,
    Pending,
}

/// A JSON axis value as a table cell: strings without quotes.
fn bare(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `cells` padded to `widths` (as `{cell:<width$}` pads) and joined by two spaces, with
/// no trailing whitespace, into `line`.
fn render(line: &mut String, cells: &[String], widths: &[usize]) {
    line.clear();
    for (i, (cell, &width)) in cells.iter().zip(widths).enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        line.push_str(cell);
        let pad = width.saturating_sub(cell.chars().count());
        line.extend(std::iter::repeat_n(' ', pad));
    }
    line.truncate(line.trim_end().len());
}

fn print_table(header: &[String], rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].len())
                .chain([header[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    // One line buffer for every row: a 100,000-cell plan is 100,000 lines.
    let mut line = String::new();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = std::iter::once(header)
        .chain(rows.iter().map(Vec::as_slice))
        .try_for_each(|cells| {
            render(&mut line, cells, &widths);
            writeln!(out, "{line}")
        })
        .and_then(|()| out.flush());
    // A closed pipe (`plan FILE | head`) ends the process quietly.
    if let Err(err) = written {
        crate::stdout::finish(err);
    }
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn a_row_is_padded_to_its_columns_and_joined_by_two_spaces() {
        let cells: Vec<String> = ["1", "0.25", "é", "pending", ""].map(String::from).to_vec();
        let widths = [2, 4, 3, 9, 3];
        let mut line = String::from("left over");
        render(&mut line, &cells, &widths);
        // What `format!("{cell:<width$}")` joined by two spaces, trailing blanks cut, gives.
        assert_eq!(line, "1   0.25  é    pending");
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        assert_eq!(line, padded.join("  ").trim_end());
    }
}
