//! Where each cell of a sweep stands when some of it went to Slurm: the store first (a
//! cell is done when its record exists, whoever trained it), then the queue for what was
//! submitted and has no record yet. A task that left the queue without writing a record
//! was killed (cancelled, out of time or memory, node failure) and counts as failed.

use std::collections::HashMap;
use std::path::PathBuf;

use super::commands::{self, Queue, QueueState};
use super::manifest::{log_tail, Submission};
use crate::executor::CellState;
use crate::experiment::Cell;
use crate::identity::RunId;
use crate::store::{Record, RunStore};
use crate::Result;

/// Lines of a task's log shown for a task that died.
pub const TAIL_LINES: usize = 5;

/// Where a submitted task of a cell is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskRef {
    /// The array's job id.
    pub job_id: u64,
    /// The index in the array.
    pub index: usize,
    /// The task's log.
    pub log: PathBuf,
}

impl TaskRef {
    /// Slurm's name of the task, `<job>_<index>`.
    pub fn name(&self) -> String {
        format!("{}_{}", self.job_id, self.index)
    }
}

/// A cell's state, from the store and the queue.
#[derive(Clone, Debug, PartialEq)]
pub enum CellStatus {
    /// Stored as completed or diverged.
    Stored(Record),
    /// Waiting in the queue.
    Queued(TaskRef, String),
    /// Running.
    Running(TaskRef),
    /// Stored as failed.
    Failed(Record, Option<TaskRef>),
    /// Submitted, gone from the queue, no record: killed. The log's tail, if any.
    Died(TaskRef, Option<String>),
    /// Submitted and not stored, but the queue could not be read.
    Unknown(TaskRef),
    /// Stored, but its record is corrupt (the reason): the next sweep sets it aside and
    /// runs the cell again.
    Corrupt(String),
    /// Not stored and not submitted.
    Pending,
}

impl CellStatus {
    /// One word for tables and counts.
    pub fn word(&self) -> &'static str {
        match self {
            CellStatus::Stored(_) => "stored",
            CellStatus::Queued(..) => "queued",
            CellStatus::Running(_) => "running",
            CellStatus::Failed(..) | CellStatus::Died(..) => "failed",
            CellStatus::Unknown(_) => "submitted",
            CellStatus::Corrupt(_) => "corrupt",
            CellStatus::Pending => "pending",
        }
    }

    /// Whether the cell is in the queue (queued or running).
    pub fn is_active(&self) -> bool {
        matches!(self, CellStatus::Queued(..) | CellStatus::Running(_))
    }
}

/// The submissions of a store and, once read, the queue.
pub struct Tracker {
    submissions: Vec<Submission>,
    /// Every submitted task of a run, oldest first: (submission, task).
    tasks: HashMap<RunId, Vec<(usize, usize)>>,
    queue: Option<std::result::Result<Queue, String>>,
}

impl Tracker {
    /// Reads the store's submissions (not the queue yet).
    pub fn load(store: &RunStore) -> Result<Tracker> {
        let submissions = Submission::all(store)?;
        let mut tasks: HashMap<RunId, Vec<(usize, usize)>> = HashMap::new();
        for (s, submission) in submissions.iter().enumerate() {
            for (k, task) in submission.manifest.tasks.iter().enumerate() {
                if submission.manifest.locate(k).is_some() {
                    for cell in &task.cells {
                        tasks.entry(cell.run_id.clone()).or_default().push((s, k));
                    }
                }
            }
        }
        Ok(Tracker {
            submissions,
            tasks,
            queue: None,
        })
    }

    /// Whether any of these cells was ever submitted.
    pub fn any_submitted<'a>(&self, mut cells: impl Iterator<Item = &'a Cell>) -> bool {
        cells.any(|cell| self.tasks.contains_key(&cell.id))
    }

    /// Reads the queue for the arrays of these cells (one `squeue` per 500 arrays).
    pub fn read_queue<'a>(&mut self, cells: impl Iterator<Item = &'a Cell>) {
        let mut ids: Vec<u64> = cells
            .filter_map(|cell| self.tasks.get(&cell.id))
            .flatten()
            .filter_map(|&(s, k)| self.submissions[s].manifest.locate(k).map(|(job, _)| job))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        self.queue = Some(commands::queue(&ids));
    }

    /// Why the queue could not be read, if it could not.
    pub fn queue_error(&self) -> Option<&str> {
        match &self.queue {
            Some(Err(message)) => Some(message),
            _ => None,
        }
    }

    fn task_ref(&self, s: usize, k: usize) -> TaskRef {
        let submission = &self.submissions[s];
        let (job_id, index) = submission
            .manifest
            .locate(k)
            .expect("only submitted tasks are tracked");
        TaskRef {
            job_id,
            index,
            log: submission.log_path(job_id, index),
        }
    }

    /// The cell's state: the store first, then the queue.
    pub fn status(&self, store: &RunStore, cell: &Cell) -> Result<CellStatus> {
        let stored = CellState::of(store, cell)?;
        if let CellState::Done(record) = stored {
            return Ok(CellStatus::Stored(record));
        }
        let tasks = self.tasks.get(&cell.id).map(Vec::as_slice).unwrap_or(&[]);
        let latest = tasks.last().map(|&(s, k)| self.task_ref(s, k));
        if let Some(Ok(queue)) = &self.queue {
            // Newest first: a retry's task says more than the one it replaced.
            for &(s, k) in tasks.iter().rev() {
                let task = self.task_ref(s, k);
                match queue.get(&(task.job_id, task.index)) {
                    Some(QueueState::Running) => return Ok(CellStatus::Running(task)),
                    Some(QueueState::Queued(reason)) => {
                        return Ok(CellStatus::Queued(task, reason.clone()))
                    }
                    None => {}
                }
            }
        }
        Ok(match (stored, latest) {
            (CellState::Failed(record), task) => CellStatus::Failed(record, task),
            (CellState::Corrupt(reason), _) => CellStatus::Corrupt(reason),
            (_, None) => CellStatus::Pending,
            (_, Some(task)) => match &self.queue {
                Some(Ok(_)) => {
                    let tail = log_tail(&task.log, TAIL_LINES);
                    CellStatus::Died(task, tail)
                }
                _ => CellStatus::Unknown(task),
            },
        })
    }

    /// The job ids of arrays that still have a task of these cells in the queue.
    pub fn active_jobs(&self, statuses: &[CellStatus]) -> Vec<u64> {
        let mut ids: Vec<u64> = statuses
            .iter()
            .filter_map(|status| match status {
                CellStatus::Queued(task, _) | CellStatus::Running(task) => Some(task.job_id),
                _ => None,
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}
