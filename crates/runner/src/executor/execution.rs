//! One cell of a sweep, on one worker: its lock taken, its model loaded from the store or
//! trained and stored, the model evaluated as the cell samples, and the run stored.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use ddpm::{Evaluation, Progress, TrainedModel};

use super::backend::CellJob;
use super::events::{Observer, RunEvent};
use super::guard::{guarded, single};
use super::outcome::CellOutcome;
use super::Executor;
use crate::costs::{self, Phase};
use crate::experiment::Cell;
use crate::identity::ModelId;
use crate::quarantine::EntryKind;
use crate::store::{Lookup, ModelRecord, RunLock, RunStore, RunView};
use crate::Error;

/// Progress lines are refreshed at most this often per worker.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// What a worker needs to run one cell.
#[derive(Clone, Copy)]
pub(super) struct Context<'a> {
    pub(super) store: &'a RunStore,
    pub(super) cell: &'a Cell,
    pub(super) worker: usize,
    pub(super) observer: &'a dyn Observer,
    pub(super) counts: &'a ModelCounts,
}

/// Models trained and loaded by a sweep.
#[derive(Default)]
pub(super) struct ModelCounts {
    pub(super) trained: AtomicUsize,
    pub(super) loaded: AtomicUsize,
}

/// Why a cell has no model: the run failed (recorded as a failed run), or the store did.
enum ModelFailure {
    Run(String),
    Store(String),
}

/// The model of the group of cells a worker is running, once trained or loaded.
#[derive(Default)]
pub(super) struct ModelSlot {
    model: Option<std::result::Result<(ModelRecord, TrainedModel), ModelFailure>>,
}

impl Executor {
    /// Trains (or loads) the model and stores one cell. When another process holds the
    /// cell's lock, `None` unless `wait`, in which case it waits for the lock.
    pub(super) fn run_cell(
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
        let (model, model_record) = match slot.model.as_ref().expect("just set") {
            Err(ModelFailure::Run(message)) => {
                return self.store_run(context, &lock, Err(message), None, started_at)
            }
            Err(ModelFailure::Store(message)) => return CellOutcome::StoreFailed(message.clone()),
            Ok((record, model)) => (model, record),
        };
        if model.status == ddpm::RunStatus::Completed {
            observer.event(RunEvent::Sampling { worker, cell });
        }
        let job = CellJob {
            config: &cell.config,
            model,
        };
        let evaluation: std::result::Result<Evaluation, String> =
            costs::timed(Phase::Evaluate, || {
                single(guarded(|| self.backend.evaluate(&[job])))
            });
        let result = match &evaluation {
            Ok(evaluation) => Ok(RunView::evaluated(model, evaluation)),
            Err(message) => Err(message.as_str()),
        };
        self.store_run(context, &lock, result, Some(model_record), started_at)
    }

    /// Stores the cell's run as it ended.
    fn store_run(
        &self,
        context: &Context<'_>,
        lock: &RunLock,
        result: std::result::Result<RunView<'_>, &str>,
        model: Option<&ModelRecord>,
        started_at: chrono::DateTime<Utc>,
    ) -> CellOutcome {
        let finished_at = Utc::now();
        match context.store.write_run_of(
            lock,
            &context.cell.config,
            result,
            model,
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
        let id = ModelId::of(&cell.config);
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
        let mut progress = |_model: usize, progress: Progress| {
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
        let model = costs::timed(Phase::Train, || {
            single(guarded(|| {
                self.backend.train(&[&cell.config], &mut progress)
            }))
        })
        .map_err(ModelFailure::Run)?;
        let record = store
            .write_model(&lock, &cell.config, &model, started_at, Utc::now())
            .map_err(store_failed)?;
        counts.trained.fetch_add(1, Ordering::SeqCst);
        Ok((record, model))
    }
}
