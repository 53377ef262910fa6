//! `diffsweep sweep --on slurm`: submits the cells that are neither stored nor queued as
//! job arrays, prints where to follow them, and with `--wait` follows them.

use std::process::ExitCode;

use anyhow::Context;
use runner::slurm::submit::{self, Request};
use runner::slurm::{commands, CellStatus, Submission, Tracker};
use runner::words::counted;
use runner::{Cell, Experiment, RunStore, SweepIndex};

use super::args::SlurmArgs;
use super::follow::follow;
use crate::bad_input::{classify, BadInput};

/// Submits the cells of `experiment` that are neither stored nor in the queue.
pub fn submit_sweep(
    experiment: &Experiment,
    store: &RunStore,
    slurm: &SlurmArgs,
    retry_failed: bool,
    force: bool,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let (cli_options, _) = slurm
        .options()
        .map_err(|m| anyhow::Error::new(BadInput(m)))?;
    let options = experiment.slurm.overlaid(&cli_options);
    options
        .check()
        .map_err(|m| anyhow::Error::new(BadInput(m)))?;
    commands::check_available().map_err(|m| anyhow::Error::new(BadInput(m)))?;
    let max = commands::max_array_size().map_err(|m| anyhow::anyhow!(m))?;
    // Only once the options and the cluster are known good does the store change.
    store
        .write_sweep_index(&SweepIndex::of(experiment))
        .with_context(|| format!("cannot write the index of sweep `{}`", experiment.name))?;
    let program = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .context("cannot find the diffsweep binary the tasks are to run")?;

    let cells = experiment.cells();
    let mut tracker = Tracker::load(store).map_err(classify)?;
    if tracker.any_submitted(cells.iter()) {
        tracker.read_queue(cells.iter());
        if let Some(error) = tracker.queue_error() {
            anyhow::bail!("cannot read the queue, so nothing was submitted: {error}");
        }
    }
    let mut to_submit: Vec<&Cell> = Vec::new();
    let (mut stored, mut active) = (0, 0);
    for cell in cells {
        match tracker.status(store, cell).map_err(classify)? {
            status if status.is_active() => active += 1,
            CellStatus::Stored(_) if !force => stored += 1,
            CellStatus::Failed(..) if !(retry_failed || force) => {}
            _ => to_submit.push(cell),
        }
    }
    let failed_kept = cells.len() - stored - active - to_submit.len();
    if to_submit.is_empty() {
        outln!(
            "sweep {}: nothing to submit: {stored} stored, {active} queued or running, {failed_kept} failed{}",
            experiment.name,
            if failed_kept > 0 { " (resubmit them with --retry-failed)" } else { "" }
        );
    } else {
        let request = Request {
            sweep: &experiment.name,
            cells: &to_submit,
            options: &options,
            program,
            retry_failed,
            force,
        };
        // An array's indices run from 0 to MaxArraySize - 1.
        match submit::submit(store, &request, max).map_err(classify)? {
            Ok(submission) => print_submitted(experiment, store, &submission, stored, active),
            Err(partial) => {
                print_submitted(experiment, store, &partial.submission, stored, active);
                let manifest = &partial.submission.manifest;
                anyhow::bail!(
                    "sbatch refused an array, so {} of {} tasks were not submitted: {}",
                    manifest.tasks.len() - manifest.arrays.iter().map(|a| a.len).sum::<usize>(),
                    manifest.tasks.len(),
                    partial.error
                );
            }
        }
    }
    if slurm.wait {
        follow(experiment, store, quiet)
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

fn print_submitted(
    experiment: &Experiment,
    store: &RunStore,
    submission: &Submission,
    stored: usize,
    active: usize,
) {
    let manifest = &submission.manifest;
    let arrays: Vec<String> = manifest
        .arrays
        .iter()
        .map(|a| format!("{} ({})", a.job_id, counted(a.len, "task", "tasks")))
        .collect();
    let submitted: usize = manifest
        .arrays
        .iter()
        .flat_map(|a| &manifest.tasks[a.first..a.first + a.len])
        .map(|t| t.cells.len())
        .sum();
    let tasks = manifest.arrays.iter().map(|a| a.len).sum::<usize>();
    outln!(
        "sweep {}: submitted {} as {} (one per model) in {}: {}; {stored} already stored, {active} already queued or running",
        experiment.name,
        counted(submitted, "cell", "cells"),
        counted(tasks, "task", "tasks"),
        counted(manifest.arrays.len(), "Slurm job array", "Slurm job arrays"),
        arrays.join(", ")
    );
    outln!("  manifest and script: {}", submission.dir.display());
    outln!("  task logs:           {}", submission.logs_dir().display());
    let ids: Vec<String> = manifest.job_ids().iter().map(u64::to_string).collect();
    outln!(
        "  follow:  diffsweep status {} --results {}   (or sweep ... --on slurm --wait)",
        experiment.source.display(),
        store.root().display()
    );
    outln!("  cancel:  scancel {}", ids.join(" "));
}
