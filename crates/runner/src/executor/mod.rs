//! The executor: trains every cell that is not stored yet, one model per worker thread.
//!
//! Each run is computed by exactly one thread: the pool hands out whole models with all
//! of their cells, and the matrix products inside a run are kept single-threaded, so a
//! run's result does not depend on `--jobs` and a parallel sweep is bit-identical to a
//! sequential one.
//!
//! The parts: `backend` (what trains and evaluates: the [`Backend`] trait and the CPU
//! backend [`CpuBackend`]), `events` (what a sweep tells its [`Observer`]), `outcome` (what
//! became of each cell), `scheduling` (which cells run, grouped by model, on which worker),
//! `execution` (one cell under its lock: model, evaluation, store) and `guard` (the one
//! panic guard around backend calls).

use crate::store::{Record, Status};
use crate::{Error, Result};

mod backend;
mod events;
mod execution;
mod guard;
mod outcome;
mod scheduling;

pub use backend::{Backend, CellJob, CpuBackend};
pub use events::{Observer, RunEvent, Silent};
pub use outcome::{CellOutcome, CellState, SweepReport};

/// Trains the cells of a sweep that need it.
pub struct Executor {
    /// Worker threads, one model each.
    pub jobs: usize,
    /// Train cells whose stored run failed.
    pub retry_failed: bool,
    /// Train every cell, replacing stored runs.
    pub force: bool,
    backend: Box<dyn Backend>,
}

impl Executor {
    /// An executor with `jobs` workers that trains with the CPU backend, [`CpuBackend`].
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
            backend: Box::new(CpuBackend),
        })
    }

    /// The same executor, training and evaluating with `backend` instead.
    pub fn with_backend(mut self, backend: impl Backend + 'static) -> Executor {
        self.backend = Box::new(backend);
        self
    }

    fn needs_run(&self, record: Option<&Record>) -> bool {
        match record {
            None => true,
            Some(record) => self.force || (self.retry_failed && record.status == Status::Failed),
        }
    }
}
