//! `sweep --on slurm --wait`: follows a submitted sweep, one line per change of its
//! counts, until no cell is queued or running (Ctrl-C stops following, not the jobs),
//! then prints a local sweep's summary.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::ProgressBar;
use runner::slurm::CellStatus;
use runner::{Cell, Experiment, RunStore, Status};

use super::state::{print_failures, statuses};

/// How often `--wait` looks at the store and the queue.
const POLL: Duration = Duration::from_secs(2);

/// Counts of a sweep's cells by state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    stored: usize,
    running: usize,
    queued: usize,
    failed: usize,
    other: usize,
}

impl Counts {
    fn of(statuses: &[CellStatus]) -> Counts {
        let mut counts = Counts::default();
        for status in statuses {
            match status {
                CellStatus::Stored(_) => counts.stored += 1,
                CellStatus::Running(_) => counts.running += 1,
                CellStatus::Queued(..) => counts.queued += 1,
                CellStatus::Failed(..) | CellStatus::Died(..) => counts.failed += 1,
                CellStatus::Unknown(_) | CellStatus::Corrupt(_) | CellStatus::Pending => {
                    counts.other += 1
                }
            }
        }
        counts
    }

    fn line(&self, total: usize) -> String {
        format!(
            "{}/{total} stored, {} running, {} queued, {} failed{}",
            self.stored,
            self.running,
            self.queued,
            self.failed,
            if self.other > 0 {
                format!(", {} not submitted", self.other)
            } else {
                String::new()
            }
        )
    }
}

/// Follows a Slurm sweep until no cell is queued or running; Ctrl-C stops following.
pub(super) fn follow(
    experiment: &Experiment,
    store: &RunStore,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let interrupted = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&interrupted))
        .context("cannot handle Ctrl-C")?;
    let cells = experiment.cells();
    let started = Instant::now();
    let bar =
        (!quiet && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(TerminalLine::new);
    let mut last = None;
    loop {
        let (statuses, tracker) = statuses(store, cells)?;
        if let Some(error) = tracker.queue_error() {
            eprintln!("warning: cannot read the queue ({error}); trying again");
        }
        let counts = Counts::of(&statuses);
        if last != Some(counts) && !quiet {
            let line = format!(
                "[{}] sweep {}: {}",
                runner::plan::format_seconds(started.elapsed().as_secs_f64()),
                experiment.name,
                counts.line(cells.len())
            );
            match &bar {
                Some(bar) => bar.show(&line),
                None => eprintln!("{line}"),
            }
            last = Some(counts);
        }
        if tracker.queue_error().is_none() && counts.running + counts.queued == 0 {
            if let Some(bar) = &bar {
                bar.finish();
            }
            return summarize(experiment, cells, &statuses, started.elapsed());
        }
        let deadline = Instant::now() + POLL;
        while Instant::now() < deadline {
            if interrupted.load(Ordering::Relaxed) {
                if let Some(bar) = &bar {
                    bar.finish();
                }
                let jobs = tracker.active_jobs(&statuses);
                let ids: Vec<String> = jobs.iter().map(u64::to_string).collect();
                eprintln!(
                    "stopped following; the jobs keep running ({}). Follow again with `diffsweep status {} --results {}`; cancel them with `scancel {}`",
                    counts.line(cells.len()),
                    experiment.source.display(),
                    store.root().display(),
                    ids.join(" ")
                );
                return Ok(ExitCode::from(130));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The end of a followed sweep: as a local sweep's summary, with failed tasks' logs.
fn summarize(
    experiment: &Experiment,
    cells: &[Cell],
    statuses: &[CellStatus],
    elapsed: Duration,
) -> anyhow::Result<ExitCode> {
    let counts = Counts::of(statuses);
    let with = |wanted: Status| {
        statuses
            .iter()
            .filter(|s| matches!(s, CellStatus::Stored(r) if r.status == wanted))
            .count()
    };
    outln!(
        "sweep {}: {} followed for {}: {} completed, {} diverged, {} non-finite, {} failed{}",
        experiment.name,
        runner::words::counted(cells.len(), "cell", "cells"),
        runner::plan::format_seconds(elapsed.as_secs_f64()),
        with(Status::Completed),
        with(Status::Diverged),
        with(Status::NonFinite),
        counts.failed,
        if counts.other > 0 {
            format!(", {} not submitted", counts.other)
        } else {
            String::new()
        }
    );
    let failed = print_failures(cells, statuses);
    if failed {
        outln!("  resubmit the failed cells with --retry-failed");
        return Ok(ExitCode::FAILURE);
    }
    Ok(if counts.other > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// A progress line redrawn in place on a terminal.
struct TerminalLine(ProgressBar);

impl TerminalLine {
    fn new() -> TerminalLine {
        let bar = ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        TerminalLine(bar)
    }

    fn show(&self, text: &str) {
        self.0.set_message(text.to_string());
    }

    fn finish(&self) {
        self.0.finish_and_clear();
    }
}
