//! The executor: trains every cell that is not stored yet, one run per worker thread.
//!
//! Each run is computed by exactly one thread: the pool hands out whole runs, and the
//! matrix products inside a run are kept single-threaded, so a run's result does not
//! depend on `--jobs` and a parallel sweep is bit-identical to a sequential one.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;
use ddpm::{Progress, RunConfig, RunOutcome};

use crate::experiment::Cell;
use crate::store::{Record, RunLock, RunStore, Status};
use crate::{Error, Result};

/// What trains one run; [`ddpm::run`] unless a test substitutes its own.
pub type TrainFn =
    dyn Fn(&RunConfig, &mut dyn FnMut(Progress)) -> ddpm::Result<RunOutcome> + Send + Sync;

/// Progress lines are refreshed at most this often per worker.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// Where a cell stands in a store.
#[derive(Clone, Debug, PartialEq)]
pub enum CellState {
    /// Stored as completed or diverged: it will not be trained again (except with --force).
    Done(Record),
    /// Stored as failed: retrained with --retry-failed.
    Failed(Record),
    /// Not stored.
    Pending,
}

impl CellState {
    /// The state of `cell` in `store`.
    pub fn of(store: &RunStore, cell: &Cell) -> Result<CellState> {
        Ok(match store.record(&cell.id)? {
            Some(record) if record.status == Status::Failed => CellState::Failed(record),
            Some(record) => CellState::Done(record),
            None => CellState::Pending,
        })
    }
}

/// What happens to one run, as the sweep goes.
#[derive(Debug)]
pub enum RunEvent<'a> {
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

/// What became of one cell in a sweep.
#[derive(Clone, Debug, PartialEq)]
pub enum CellOutcome {
    /// Already stored (by an earlier sweep, or by another process while this one waited).
    Cached(Record),
    /// Trained and stored by this sweep.
    Trained(Record),
    /// Trained, but the store could not be written.
    StoreFailed(String),
}

impl CellOutcome {
    /// The run's record, if it was stored.
    pub fn record(&self) -> Option<&Record> {
        match self {
            CellOutcome::Cached(record) | CellOutcome::Trained(record) => Some(record),
            CellOutcome::StoreFailed(_) => None,
        }
    }

    /// Whether the cell has no usable result: a failed run or a failed write.
    pub fn is_failure(&self) -> bool {
        self.record().is_none_or(|r| r.status == Status::Failed)
    }

    /// The error message of a failure.
    pub fn error(&self) -> Option<&str> {
        match self {
            CellOutcome::StoreFailed(message) => Some(message),
            other => other.record().and_then(|r| r.error.as_deref()),
        }
    }
}

/// The result of a sweep, cell by cell in grid order.
#[derive(Clone, Debug)]
pub struct SweepReport {
    /// Every cell with its outcome.
    pub cells: Vec<(Cell, CellOutcome)>,
    /// Wall time of the sweep.
    pub elapsed: Duration,
}

impl SweepReport {
    /// The number of cells trained by this sweep.
    pub fn trained(&self) -> usize {
        self.cells
            .iter()
            .filter(|(_, o)| matches!(o, CellOutcome::Trained(_)))
            .count()
    }

    /// The number of cells found already stored.
    pub fn cached(&self) -> usize {
        self.cells
            .iter()
            .filter(|(_, o)| matches!(o, CellOutcome::Cached(_)))
            .count()
    }

    /// Cells whose run has the given status.
    pub fn with_status(&self, status: Status) -> Vec<&(Cell, CellOutcome)> {
        self.cells
            .iter()
            .filter(|(_, o)| o.record().is_some_and(|r| r.status == status))
            .collect()
    }

    /// Cells without a usable result.
    pub fn failures(&self) -> Vec<&(Cell, CellOutcome)> {
        self.cells.iter().filter(|(_, o)| o.is_failure()).collect()
    }
}

/// Trains the cells of a sweep that need it.
pub struct Executor {
    /// Worker threads, one run each.
    pub jobs: usize,
    /// Train cells whose stored run failed.
    pub retry_failed: bool,
    /// Train every cell, replacing stored runs.
    pub force: bool,
    train: Box<TrainFn>,
}

impl Executor {
    /// An executor with `jobs` workers that trains with [`ddpm::run`].
    pub fn new(jobs: usize) -> Result<Executor> {
        if jobs == 0 {
            return Err(Error::InvalidOption(
                "--jobs must be at least 1".to_string(),
            ));
        }
        Ok(Executor {
            jobs,
            retry_failed: false,
            force: false,
            train: Box::new(ddpm::run),
        })
    }

    /// The same executor, training with `train` instead (for tests).
    pub fn with_trainer(
        mut self,
        train: impl Fn(&RunConfig, &mut dyn FnMut(Progress)) -> ddpm::Result<RunOutcome>
            + Send
            + Sync
            + 'static,
    ) -> Executor {
        self.train = Box::new(train);
        self
    }

    fn needs_run(&self, record: Option<&Record>) -> bool {
        match record {
            None => true,
            Some(record) => self.force || (self.retry_failed && record.status == Status::Failed),
        }
    }

    /// Trains and stores every cell of `cells` that needs it; a run that fails is recorded
    /// as failed and the others go on. Errors are only those of the store as a whole.
    pub fn execute(
        &self,
        store: &RunStore,
        cells: &[Cell],
        observer: &dyn Observer,
    ) -> Result<SweepReport> {
        let started = Instant::now();
        store.clean_stale()?;
        let mut outcomes: Vec<Option<CellOutcome>> = Vec::with_capacity(cells.len());
        let mut todo = Vec::new();
        for (i, cell) in cells.iter().enumerate() {
            let record = store.record(&cell.id)?;
            if self.needs_run(record.as_ref()) {
                todo.push(i);
                outcomes.push(None);
            } else {
                outcomes.push(record.map(CellOutcome::Cached));
            }
        }
        let workers = self.jobs.min(todo.len()).max(1);
        observer.sweep_started(cells.len(), todo.len(), workers);

        if !todo.is_empty() {
            // One run per worker; the fused kernels are single-threaded.
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(workers)
                .thread_name(|i| format!("diffsweep-worker-{i}"))
                .build()
                .map_err(|err| {
                    Error::InvalidOption(format!("cannot start {workers} worker threads: {err}"))
                })?;
            let next = AtomicUsize::new(0);
            let finished = Mutex::new(Vec::new());
            // Cells another process holds are passed over and come back at the end, so two
            // sweeps of one grid share the work instead of queueing on each other's locks.
            let held_elsewhere = Mutex::new(Vec::new());
            pool.scope(|scope| {
                for worker in 0..workers {
                    let (next, finished, todo, held_elsewhere) =
                        (&next, &finished, &todo, &held_elsewhere);
                    scope.spawn(move |_| loop {
                        let k = next.fetch_add(1, Ordering::SeqCst);
                        let (i, wait) = match todo.get(k) {
                            Some(&i) => (i, false),
                            None => {
                                let mut held = held_elsewhere
                                    .lock()
                                    .expect("no worker panics while holding it");
                                match held.pop() {
                                    Some(i) => (i, true),
                                    None => break,
                                }
                            }
                        };
                        let Some(outcome) = self.run_cell(store, &cells[i], worker, observer, wait)
                        else {
                            held_elsewhere
                                .lock()
                                .expect("no worker panics while holding it")
                                .push(i);
                            continue;
                        };
                        observer.event(RunEvent::Finished {
                            worker,
                            cell: &cells[i],
                            outcome: &outcome,
                        });
                        finished
                            .lock()
                            .expect("no worker panics while holding it")
                            .push((i, outcome));
                    });
                }
            });
            for (i, outcome) in finished.into_inner().expect("workers are done") {
                outcomes[i] = Some(outcome);
            }
        }
        observer.sweep_finished();

        let cells = cells
            .iter()
            .cloned()
            .zip(outcomes)
            .map(|(cell, outcome)| (cell, outcome.expect("every cell was cached or run")))
            .collect();
        Ok(SweepReport {
            cells,
            elapsed: started.elapsed(),
        })
    }

    /// Trains and stores one cell. When another process holds its lock, `None` unless
    /// `wait`, in which case it waits for the lock.
    fn run_cell(
        &self,
        store: &RunStore,
        cell: &Cell,
        worker: usize,
        observer: &dyn Observer,
        wait: bool,
    ) -> Option<CellOutcome> {
        let lock = match store.try_lock(&cell.id) {
            Ok(Some(lock)) => lock,
            Ok(None) if !wait => return None,
            Ok(None) => {
                observer.event(RunEvent::Waiting { worker, cell });
                match store.lock(&cell.id) {
                    Ok(lock) => lock,
                    Err(err) => return Some(CellOutcome::StoreFailed(err.to_string())),
                }
            }
            Err(err) => return Some(CellOutcome::StoreFailed(err.to_string())),
        };
        Some(self.run_locked(store, cell, worker, observer, lock))
    }

    fn run_locked(
        &self,
        store: &RunStore,
        cell: &Cell,
        worker: usize,
        observer: &dyn Observer,
        lock: RunLock,
    ) -> CellOutcome {
        // Under the lock, look again: another process may have stored it meanwhile.
        match store.record(&cell.id) {
            Ok(Some(record)) if !self.needs_run(Some(&record)) => {
                return CellOutcome::Cached(record)
            }
            Ok(_) => {}
            Err(err) => return CellOutcome::StoreFailed(err.to_string()),
        }

        observer.event(RunEvent::Started { worker, cell });
        let started_at = Utc::now();
        let mut last_update: Option<Instant> = None;
        let mut progress = |progress: Progress| match progress {
            Progress::Epoch { epoch, epochs, .. } => {
                if last_update.is_none_or(|t| t.elapsed() >= PROGRESS_INTERVAL) || epoch == epochs {
                    last_update = Some(Instant::now());
                    observer.event(RunEvent::Epoch {
                        worker,
                        cell,
                        epoch,
                        epochs,
                    });
                }
            }
            Progress::Sampling => observer.event(RunEvent::Sampling { worker, cell }),
        };
        let result = match catch_unwind(AssertUnwindSafe(|| {
            (self.train)(&cell.config, &mut progress)
        })) {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(err)) => Err(err.to_string()),
            Err(payload) => Err(format!("panicked: {}", panic_message(payload.as_ref()))),
        };
        let finished_at = Utc::now();
        match store.write_run(&lock, &cell.config, &result, started_at, finished_at) {
            Ok(record) => CellOutcome::Trained(record),
            Err(err) => CellOutcome::StoreFailed(err.to_string()),
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_string()
    }
}
