//! The sweep's progress display: bars on a terminal, plain lines in logs, or nothing.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::executor::{CellOutcome, Observer, RunEvent};
use crate::store::{Record, Status};

/// How a sweep shows its progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisplayMode {
    /// One bar for the sweep and one line per worker (stderr is a terminal).
    Bars,
    /// One line per finished run, no colour and no cursor movement (logs, CI).
    Plain,
    /// Nothing; the caller prints the final summary.
    Quiet,
}

impl DisplayMode {
    /// Bars on a terminal, plain lines otherwise, nothing when `quiet`.
    pub fn detect(quiet: bool) -> DisplayMode {
        if quiet {
            DisplayMode::Quiet
        } else if std::io::stderr().is_terminal() {
            DisplayMode::Bars
        } else {
            DisplayMode::Plain
        }
    }
}

struct Bars {
    multi: MultiProgress,
    sweep: ProgressBar,
    workers: Vec<ProgressBar>,
}

/// Shows a sweep on stderr in one of the [`DisplayMode`]s.
pub struct SweepDisplay {
    mode: DisplayMode,
    bars: Mutex<Option<Bars>>,
    done: AtomicUsize,
    to_run: AtomicUsize,
}

impl SweepDisplay {
    /// A display in `mode`.
    pub fn new(mode: DisplayMode) -> SweepDisplay {
        SweepDisplay {
            mode,
            bars: Mutex::new(None),
            done: AtomicUsize::new(0),
            to_run: AtomicUsize::new(0),
        }
    }

    fn with_bars(&self, f: impl FnOnce(&Bars)) {
        if let Some(bars) = self.bars.lock().expect("display lock").as_ref() {
            f(bars);
        }
    }
}

/// One line about a finished run, e.g. `completed T=10 seed=0 in 2.1s (sliced_wasserstein 0.041)`.
pub fn describe(label: &str, record: &Record) -> String {
    let seconds = record.train_seconds + record.sample_seconds + record.metric_seconds;
    match record.status {
        Status::Completed => {
            let metric = record
                .metrics
                .as_ref()
                .map(|m| {
                    format!(
                        " (sliced_wasserstein {:.4}, mmd {:.4})",
                        m.sliced_wasserstein, m.mmd
                    )
                })
                .unwrap_or_default();
            format!("completed {label} in {seconds:.1}s{metric}")
        }
        Status::Diverged => format!(
            "diverged  {label} at epoch {}",
            record
                .diverged_epoch
                .map_or("?".to_string(), |e| e.to_string())
        ),
        Status::NonFinite => format!("non-finite {label}: the sampler's output is not finite"),
        Status::Failed => format!(
            "failed    {label}: {}",
            record.error.as_deref().unwrap_or("no error recorded")
        ),
    }
}

impl Observer for SweepDisplay {
    fn sweep_started(&self, total: usize, to_run: usize, jobs: usize) {
        self.to_run.store(to_run, Ordering::SeqCst);
        match self.mode {
            DisplayMode::Quiet => {}
            DisplayMode::Plain => {
                eprintln!(
                    "{total} cells: {} stored, training {to_run} on {jobs} worker(s)",
                    total - to_run
                )
            }
            DisplayMode::Bars if to_run > 0 => {
                let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
                let sweep = multi.add(ProgressBar::new(to_run as u64));
                sweep.set_style(
                    ProgressStyle::with_template(
                        "{prefix} [{bar:30}] {pos}/{len} runs, {elapsed_precise} elapsed, eta {eta_precise}",
                    )
                    .expect("a valid template")
                    .progress_chars("=> "),
                );
                sweep.set_prefix(format!("{total} cells, {} stored", total - to_run));
                sweep.enable_steady_tick(Duration::from_millis(500));
                let style = ProgressStyle::with_template(
                    "  worker {prefix}: [{bar:20}] {pos:>5}/{len:5} {wide_msg}",
                )
                .expect("a valid template")
                .progress_chars("=> ");
                let workers = (0..jobs)
                    .map(|worker| {
                        let bar = multi.add(ProgressBar::new(1));
                        bar.set_style(style.clone());
                        bar.set_prefix((worker + 1).to_string());
                        bar.set_message("idle");
                        bar
                    })
                    .collect();
                *self.bars.lock().expect("display lock") = Some(Bars {
                    multi,
                    sweep,
                    workers,
                });
            }
            DisplayMode::Bars => {}
        }
    }

    fn event(&self, event: RunEvent<'_>) {
        if let RunEvent::SetAside { what, reason, path } = &event {
            // In every mode, quiet included: the store changed under the user's feet.
            let line = format!(
                "set aside corrupt {what}: {reason}; moved to {}, running it again",
                path.display()
            );
            match self.bars.lock().expect("display lock").as_ref() {
                Some(bars) => bars.multi.suspend(|| eprintln!("{line}")),
                None => eprintln!("{line}"),
            }
            return;
        }
        match (self.mode, event) {
            (DisplayMode::Quiet, _) => {}
            (DisplayMode::Plain, RunEvent::Finished { cell, outcome, .. }) => {
                let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
                let total = self.to_run.load(Ordering::SeqCst);
                eprintln!("[{done}/{total}] {}", line(&cell.label, outcome));
            }
            (DisplayMode::Plain, RunEvent::Waiting { cell, .. }) => {
                eprintln!("waiting for another process that trains {}", cell.label)
            }
            (DisplayMode::Plain, _) => {}
            (DisplayMode::Bars, event) => self.with_bars(|bars| match event {
                RunEvent::SetAside { .. } => {}
                RunEvent::Waiting { worker, cell } => bars.workers[worker]
                    .set_message(format!("{} (waiting for another process)", cell.label)),
                RunEvent::Started { worker, cell } => {
                    let bar = &bars.workers[worker];
                    bar.set_length(cell.config.training.epochs as u64);
                    bar.set_position(0);
                    bar.set_message(cell.label.clone());
                }
                RunEvent::Epoch {
                    worker,
                    epoch,
                    epochs,
                    ..
                } => {
                    let bar = &bars.workers[worker];
                    bar.set_length(epochs as u64);
                    bar.set_position(epoch as u64);
                }
                RunEvent::Sampling { worker, cell } => {
                    bars.workers[worker].set_message(format!("{} (sampling)", cell.label))
                }
                RunEvent::Finished {
                    worker,
                    cell,
                    outcome,
                } => {
                    bars.sweep.inc(1);
                    let bar = &bars.workers[worker];
                    bar.set_position(0);
                    bar.set_message("idle");
                    if outcome.is_failure()
                        || outcome.record().is_some_and(|r| {
                            matches!(r.status, Status::Diverged | Status::NonFinite)
                        })
                    {
                        bars.multi
                            .suspend(|| eprintln!("{}", line(&cell.label, outcome)));
                    }
                }
            }),
        }
    }

    fn sweep_finished(&self) {
        if let Some(bars) = self.bars.lock().expect("display lock").take() {
            for bar in &bars.workers {
                bar.finish_and_clear();
            }
            bars.sweep.finish_and_clear();
            let _ = bars.multi.clear();
        }
    }
}

fn line(label: &str, outcome: &CellOutcome) -> String {
    match outcome {
        CellOutcome::StoreFailed(message) => {
            format!("failed    {label}: cannot store the run: {message}")
        }
        CellOutcome::Cached(record) => {
            format!("{} (stored by another process)", describe(label, record))
        }
        CellOutcome::Trained(record) => describe(label, record),
    }
}
