//! What became of a sweep's cells: where a cell stands in the store before a sweep
//! ([`CellState`]), what the sweep did with it ([`CellOutcome`]), and the whole
//! [`SweepReport`].

use std::time::Duration;

use crate::experiment::Cell;
use crate::store::{Lookup, Record, RunStore, Status};
use crate::Result;

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
