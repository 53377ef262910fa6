//! Which cells a sweep runs and where: the cells that need a run, grouped by the model
//! they share, handed out one group per worker on a rayon pool; cells another process
//! holds are passed over and come back at the end.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use super::events::{Observer, RunEvent, TimedObserver};
use super::execution::{Context, ModelCounts, ModelSlot};
use super::outcome::{CellOutcome, SweepReport};
use super::Executor;
use crate::costs::{self, Phase};
use crate::experiment::Cell;
use crate::identity::ModelId;
use crate::store::{Lookup, RunStore};
use crate::{Error, Result};

impl Executor {
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
        let observer = &TimedObserver(observer);
        store.clean_stale()?;
        let mut outcomes: Vec<Option<CellOutcome>> = Vec::with_capacity(cells.len());
        // The cells to run, grouped by model in the order their models first appear.
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut group_of: HashMap<ModelId, usize> = HashMap::new();
        let mut to_run = 0;
        for (i, cell) in cells.iter().enumerate() {
            // A corrupt record is set aside under the cell's lock when its worker reaches
            // it, and the cell runs again.
            let looked_up = costs::timed(Phase::Plan, || store.lookup(&cell.id))?;
            let record = match looked_up {
                Lookup::Stored(record) => Some(*record),
                Lookup::Absent | Lookup::Corrupt(_) => None,
            };
            if self.needs_run(record.as_ref()) {
                let k = *group_of
                    .entry(ModelId::of(&cell.config))
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
}
