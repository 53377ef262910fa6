//! The executor: trains every cell that is not stored yet, one run per worker thread.
//!
//! Each run is computed by exactly one thread: the pool hands out whole runs, and the
//! matrix products inside a run are kept single-threaded, so a run's result does not
//! depend on `--jobs` and a parallel sweep is bit-identical to a sequential one.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;
use ddpm::{Evaluation, Progress, RunConfig, RunOutcome, TrainedModel};

use crate::experiment::Cell;
use crate::identity::RunId;
use crate::models::ModelRecord;
use crate::quarantine::EntryKind;
use crate::store::{Lookup, Record, RunLock, RunStore, Status};
use crate::{Error, Result};

/// What trains a model and evaluates it: [`ddpm::train_model`] and [`ddpm::evaluate`]
/// unless a test substitutes its own.
pub trait Backend: Send + Sync {
    /// Trains the model of `config`.
    fn train(
        &self,
        config: &RunConfig,
        progress: &mut dyn FnMut(Progress),
    ) -> ddpm::Result<TrainedModel>;
    /// Samples `model` as `config.sampling` says and scores the samples.
    fn evaluate(&self, config: &RunConfig, model: &TrainedModel) -> ddpm::Result<Evaluation>;
}

struct Ddpm;

impl Backend for Ddpm {
    fn train(
        &self,
        config: &RunConfig,
        progress: &mut dyn FnMut(Progress),
    ) -> ddpm::Result<TrainedModel> {
        ddpm::train_model(config, progress)
    }

    fn evaluate(&self, config: &RunConfig, model: &TrainedModel) -> ddpm::Result<Evaluation> {
        ddpm::evaluate(config, model)
    }
}

/// A whole-run function as a backend (for tests that fake `ddpm::run`): training runs it
/// and keeps its evaluation half for the evaluation that follows.
struct WholeRun<F> {
    run: F,
    evaluations: Mutex<HashMap<RunId, Evaluation>>,
}

impl<F> Backend for WholeRun<F>
where
    F: Fn(&RunConfig, &mut dyn FnMut(Progress)) -> ddpm::Result<RunOutcome> + Send + Sync,
{
    fn train(
        &self,
        config: &RunConfig,
        progress: &mut dyn FnMut(Progress),
    ) -> ddpm::Result<TrainedModel> {
        let outcome = (self.run)(config, progress)?;
        self.evaluations
            .lock()
            .expect("no panic while held")
            .insert(
                RunId::of(config),
                Evaluation {
                    metrics: outcome.metrics,
                    noise_floor: outcome.noise_floor,
                    samples: outcome.samples.clone(),
                    kernel_isa: outcome.kernel_isa,
                    sample_seconds: outcome.sample_seconds,
                    metric_seconds: outcome.metric_seconds,
                },
            );
        Ok(TrainedModel {
            status: outcome.status,
            final_loss: outcome.final_loss,
            loss_curve: outcome.loss_curve,
            weights: outcome.weights,
            kernel_isa: outcome.kernel_isa,
            train_seconds: outcome.train_seconds,
        })
    }

    fn evaluate(&self, config: &RunConfig, _model: &TrainedModel) -> ddpm::Result<Evaluation> {
        self.evaluations
            .lock()
            .expect("no panic while held")
            .remove(&RunId::of(config))
            .ok_or_else(|| ddpm::Error::WeightMismatch("the fake run was not trained".into()))
    }
}

/// Progress lines are refreshed at most this often per worker.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// Where a cell stands in a store.
#[derive(Clone, Debug, PartialEq)]
pub enum CellState {
    /// Stored as completed or diverged: it will not be trained again (except with --force).
    Done(Record),
    /// Stored as failed: retrained with --retry-failed.
    Failed(Record),
    /// Stored, but its record does not parse or does not match its checksum: the next
    /// sweep sets it aside and runs the cell again. The reason.
    Corrupt(String),
    /// Not stored.
    Pending,
}

impl CellState {
    /// The state of `cell` in `store`.
    pub fn of(store: &RunStore, cell: &Cell) -> Result<CellState> {
        Ok(match store.lookup(&cell.id)? {
            Lookup::Stored(record) if record.status == Status::Failed => CellState::Failed(*record),
            Lookup::Stored(record) => CellState::Done(*record),
            Lookup::Corrupt(reason) => CellState::Corrupt(reason),
            Lookup::Absent => CellState::Pending,
        })
    }
}

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
    /// Models trained by this sweep.
    pub models_trained: usize,
    /// Stored models this sweep sampled without training them again.
    pub models_loaded: usize,
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
    backend: Box<dyn Backend>,
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
            backend: Box::new(Ddpm),
        })
    }

    /// The same executor, training and evaluating with `backend` instead (for tests).
    pub fn with_backend(mut self, backend: impl Backend + 'static) -> Executor {
        self.backend = Box::new(backend);
        self
    }

    /// The same executor, with a whole-run function standing in for training and
    /// evaluation (for tests; every cell must have its own model).
    pub fn with_trainer(
        self,
        train: impl Fn(&RunConfig, &mut dyn FnMut(Progress)) -> ddpm::Result<RunOutcome>
            + Send
            + Sync
            + 'static,
    ) -> Executor {
        self.with_backend(WholeRun {
            run: train,
            evaluations: Mutex::new(HashMap::new()),
        })
    }

    fn needs_run(&self, record: Option<&Record>) -> bool {
        match record {
            None => true,
            Some(record) => self.force || (self.retry_failed && record.status == Status::Failed),
        }
    }

    /// Trains and stores every cell of `cells` that needs it; a run that fails is recorded
    /// as failed and the others go on. Cells that share a model (they differ only in how
    /// they sample) go to one worker, which trains the model once, or loads it from the
    /// store, and evaluates each. Errors are only those of the store as a whole.
    pub fn execute(
        &self,
        store: &RunStore,
        cells: &[Cell],
        observer: &dyn Observer,
    ) -> Result<SweepReport> {
        let started = Instant::now();
        store.clean_stale()?;
        let mut outcomes: Vec<Option<CellOutcome>> = Vec::with_capacity(cells.len());
        // The cells to run, grouped by model in the order their models first appear.
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut group_of: HashMap<RunId, usize> = HashMap::new();
        let mut to_run = 0;
        for (i, cell) in cells.iter().enumerate() {
            // A corrupt record is set aside under the cell's lock when its worker reaches
            // it, and the cell runs again.
            let record = match store.lookup(&cell.id)? {
                Lookup::Stored(record) => Some(*record),
                Lookup::Absent | Lookup::Corrupt(_) => None,
            };
            if self.needs_run(record.as_ref()) {
                let k = *group_of
                    .entry(RunId::of_model(&cell.config))
                    .or_insert_with(|| {
                        groups.push(Vec::new());
                        groups.len() - 1
                    });
                groups[k].push(i);
                to_run += 1;
                outcomes.push(None);
            } else {
                outcomes.push(record.map(CellOutcome::Cached));
            }
        }
        let workers = self.jobs.min(groups.len()).max(1);
        observer.sweep_started(cells.len(), to_run, workers);
        let counts = ModelCounts::default();

        if !groups.is_empty() {
            // One model at a time per worker; the fused kernels are single-threaded.
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
                    let (next, finished, groups, held_elsewhere, counts) =
                        (&next, &finished, &groups, &held_elsewhere, &counts);
                    scope.spawn(move |_| loop {
                        let k = next.fetch_add(1, Ordering::SeqCst);
                        let (group, wait) = match groups.get(k) {
                            Some(group) => (group.clone(), false),
                            None => {
                                let mut held = held_elsewhere
                                    .lock()
                                    .expect("no worker panics while holding it");
                                match held.pop() {
                                    Some(i) => (vec![i], true),
                                    None => break,
                                }
                            }
                        };
                        let mut model = ModelSlot::default();
                        for i in group {
                            let context = Context {
                                store,
                                cell: &cells[i],
                                worker,
                                observer,
                                counts,
                            };
                            let Some(outcome) = self.run_cell(&context, wait, &mut model) else {
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
                        }
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
            models_trained: counts.trained.load(Ordering::SeqCst),
            models_loaded: counts.loaded.load(Ordering::SeqCst),
        })
    }

    /// Trains (or loads) the model and stores one cell. When another process holds the
    /// cell's lock, `None` unless `wait`, in which case it waits for the lock.
    fn run_cell(
        &self,
        context: &Context<'_>,
        wait: bool,
        model: &mut ModelSlot,
    ) -> Option<CellOutcome> {
        let Context {
            store,
            cell,
            worker,
            observer,
            ..
        } = *context;
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
        Some(self.run_locked(context, lock, model))
    }

    fn run_locked(
        &self,
        context: &Context<'_>,
        lock: RunLock,
        slot: &mut ModelSlot,
    ) -> CellOutcome {
        let Context {
            store,
            cell,
            worker,
            observer,
            ..
        } = *context;
        // Under the lock, look again: another process may have stored it meanwhile.
        match store.lookup(&cell.id) {
            Ok(Lookup::Stored(record)) if !self.needs_run(Some(&record)) => {
                return CellOutcome::Cached(*record)
            }
            Ok(Lookup::Corrupt(reason)) => {
                match store.quarantine(EntryKind::Run, &cell.id, &reason) {
                    Ok(path) => observer.event(RunEvent::SetAside {
                        what: format!("run {}", cell.id.short()),
                        reason,
                        path,
                    }),
                    Err(err) => return CellOutcome::StoreFailed(err.to_string()),
                }
            }
            Ok(_) => {}
            Err(err) => return CellOutcome::StoreFailed(err.to_string()),
        }

        observer.event(RunEvent::Started { worker, cell });
        let started_at = Utc::now();
        if slot.model.is_none() {
            slot.model = Some(self.model(context));
        }
        let (result, model_record) = match slot.model.as_ref().expect("just set") {
            Err(ModelFailure::Run(message)) => (Err(message.clone()), None),
            Err(ModelFailure::Store(message)) => return CellOutcome::StoreFailed(message.clone()),
            Ok((record, model)) => {
                if model.status == ddpm::RunStatus::Completed {
                    observer.event(RunEvent::Sampling { worker, cell });
                }
                let evaluated = catch_unwind(AssertUnwindSafe(|| {
                    self.backend.evaluate(&cell.config, model)
                }));
                let result = match evaluated {
                    Ok(Ok(evaluation)) => Ok(RunOutcome::of(model, evaluation)),
                    Ok(Err(err)) => Err(err.to_string()),
                    Err(payload) => Err(format!("panicked: {}", panic_message(payload.as_ref()))),
                };
                (result, Some(record))
            }
        };
        let finished_at = Utc::now();
        match store.write_run_of(
            &lock,
            &cell.config,
            &result,
            model_record,
            started_at,
            finished_at,
        ) {
            Ok(record) => CellOutcome::Trained(record),
            Err(err) => CellOutcome::StoreFailed(err.to_string()),
        }
    }

    /// The cell's model: loaded from the store, or trained and stored, under its lock.
    fn model(
        &self,
        context: &Context<'_>,
    ) -> std::result::Result<(ModelRecord, TrainedModel), ModelFailure> {
        let Context {
            store,
            cell,
            worker,
            observer,
            counts,
        } = *context;
        let id = RunId::of_model(&cell.config);
        let store_failed = |err: Error| ModelFailure::Store(err.to_string());
        let lock = store.lock_model(&id).map_err(store_failed)?;
        if !self.force {
            // A model whose record or artifacts do not check is set aside and trained
            // again at once; the runs that name it stay, since they list its hashes and
            // the retrained model reproduces them bit for bit.
            let stored = store.model_record(&id).and_then(|record| match record {
                Some(record) => store.load_model(&record).map(|model| Some((record, model))),
                None => Ok(None),
            });
            match stored {
                Ok(Some((record, model))) => {
                    counts.loaded.fetch_add(1, Ordering::SeqCst);
                    return Ok((record, model));
                }
                Ok(None) => {}
                Err(err @ Error::Corrupt { .. }) => {
                    let reason = err.to_string();
                    let path = store
                        .quarantine(EntryKind::Model, &id, &reason)
                        .map_err(store_failed)?;
                    observer.event(RunEvent::SetAside {
                        what: format!("model {}", id.short()),
                        reason,
                        path,
                    });
                }
                Err(err) => return Err(store_failed(err)),
            }
        }
        let started_at = Utc::now();
        let mut last_update: Option<Instant> = None;
        let mut progress = |progress: Progress| {
            if let Progress::Epoch { epoch, epochs, .. } = progress {
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
        };
        let trained = catch_unwind(AssertUnwindSafe(|| {
            self.backend.train(&cell.config, &mut progress)
        }));
        let model = match trained {
            Ok(Ok(model)) => model,
            Ok(Err(err)) => return Err(ModelFailure::Run(err.to_string())),
            Err(payload) => {
                return Err(ModelFailure::Run(format!(
                    "panicked: {}",
                    panic_message(payload.as_ref())
                )))
            }
        };
        let record = store
            .write_model(&lock, &cell.config, &model, started_at, Utc::now())
            .map_err(store_failed)?;
        counts.trained.fetch_add(1, Ordering::SeqCst);
        Ok((record, model))
    }
}

/// What a worker needs to run one cell.
#[derive(Clone, Copy)]
struct Context<'a> {
    store: &'a RunStore,
    cell: &'a Cell,
    worker: usize,
    observer: &'a dyn Observer,
    counts: &'a ModelCounts,
}

/// Models trained and loaded by a sweep.
#[derive(Default)]
struct ModelCounts {
    trained: AtomicUsize,
    loaded: AtomicUsize,
}

/// Why a cell has no model: the run failed (recorded as a failed run), or the store did.
enum ModelFailure {
    Run(String),
    Store(String),
}

/// The model of the group of cells a worker is running, once trained or loaded.
#[derive(Default)]
struct ModelSlot {
    model: Option<std::result::Result<(ModelRecord, TrainedModel), ModelFailure>>,
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
