//! What a sweep tells whoever watches it: the [`RunEvent`]s of each run and the
//! [`Observer`] that receives them.

use super::outcome::CellOutcome;
use crate::costs::{self, Phase};
use crate::experiment::Cell;

/// What happens to one run, as the sweep goes.
#[derive(Debug)]
pub enum RunEvent<'a> {
    /// A corrupt run or model was moved to the store's quarantine; it is run again.
    SetAside {
        /// `run <id>` or `model <id>`.
        what: String,
        /// What was wrong.
        reason: String,
        /// Where it went.
        path: std::path::PathBuf,
    },
    /// Another process holds the run's lock; this worker waits for it.
    Waiting {
        /// The worker (0-based).
        worker: usize,
        /// The cell.
        cell: &'a Cell,
    },
    /// Training starts.
    Started {
        /// The worker (0-based).
        worker: usize,
        /// The cell.
        cell: &'a Cell,
    },
    /// Training progress (throttled to a few updates a second).
    Epoch {
        /// The worker (0-based).
        worker: usize,
        /// The cell.
        cell: &'a Cell,
        /// Epochs done.
        epoch: usize,
        /// Epochs in all.
        epochs: usize,
    },
    /// Training is over; sampling and metrics run.
    Sampling {
        /// The worker (0-based).
        worker: usize,
        /// The cell.
        cell: &'a Cell,
    },
    /// The run is over: trained and stored here, or found stored by another process.
    Finished {
        /// The worker (0-based).
        worker: usize,
        /// The cell.
        cell: &'a Cell,
        /// What happened.
        outcome: &'a CellOutcome,
    },
}

/// Something that shows a sweep's progress; every method is called from worker threads.
pub trait Observer: Sync {
    /// The sweep starts: `to_run` of `total` cells will be trained on `jobs` workers.
    fn sweep_started(&self, _total: usize, _to_run: usize, _jobs: usize) {}
    /// One run's progress.
    fn event(&self, _event: RunEvent<'_>) {}
    /// Every worker is done.
    fn sweep_finished(&self) {}
}

/// An observer that shows nothing.
pub struct Silent;

impl Observer for Silent {}

/// An observer whose every call is timed as [`Phase::Events`].
pub(super) struct TimedObserver<'a>(pub(super) &'a dyn Observer);

impl Observer for TimedObserver<'_> {
    fn sweep_started(&self, total: usize, to_run: usize, jobs: usize) {
        costs::timed(Phase::Events, || self.0.sweep_started(total, to_run, jobs));
    }

    fn event(&self, event: RunEvent<'_>) {
        costs::timed(Phase::Events, || self.0.event(event));
    }

    fn sweep_finished(&self) {
        costs::timed(Phase::Events, || self.0.sweep_finished());
    }
}
