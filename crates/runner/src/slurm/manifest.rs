//! A submission of a sweep to Slurm, as kept in the store:
//!
//! ```text
//! <root>/slurm/<submission>/manifest.json   the tasks (array index -> run) and the arrays
//! <root>/slurm/<submission>/job.sbatch      the one script every array runs
//! <root>/slurm/<submission>/logs/<job>_<task>.log
//! ```
//!
//! Each task trains one model and evaluates the cells that share it. Task `k` of a
//! submission is index `k - first` of the array that holds it; the script
//! gets `first` as its argument. The manifest is written before the first `sbatch` and
//! again after each, always atomically, so it never names an array that was not
//! submitted, and a task always finds its cell in it.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use ddpm::RunConfig;
use serde::{Deserialize, Serialize};

use super::options::SlurmOptions;
use crate::experiment::Cell;
use crate::identity::{ModelId, RunId};
use crate::store::{replace_file, RunStore};
use crate::{Error, Result};

/// Bytes of a log read for its tail.
const TAIL_BYTES: u64 = 4096;
/// Submissions read from one store; more is a store nobody cleans.
const MAX_SUBMISSIONS: usize = 100_000;

/// One cell of a task: what the task needs without the experiment file, which may have
/// changed since.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskCell {
    /// The run's id.
    pub run_id: RunId,
    /// The cell's axis values as words.
    pub label: String,
    /// The cell's axis values.
    pub axes: BTreeMap<String, serde_json::Value>,
    /// The resolved config (its id is `run_id`).
    pub config: RunConfig,
}

/// One array task: the cells of one model (cells that differ only in how they sample), so
/// the task trains the model once and evaluates each cell, and no task waits idle for
/// another to train a model they share.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// The cells, in grid order.
    pub cells: Vec<TaskCell>,
}

impl Task {
    /// The tasks of `cells`: one per model, in the order the models first appear.
    pub fn group(cells: &[&Cell]) -> Vec<Task> {
        let mut tasks: Vec<Task> = Vec::new();
        let mut of_model: std::collections::HashMap<ModelId, usize> = Default::default();
        for cell in cells {
            let k = *of_model
                .entry(ModelId::of(&cell.config))
                .or_insert_with(|| {
                    tasks.push(Task { cells: Vec::new() });
                    tasks.len() - 1
                });
            tasks[k].cells.push(TaskCell {
                run_id: cell.id.clone(),
                label: cell.label.clone(),
                axes: cell.axes.clone(),
                config: cell.config.clone(),
            });
        }
        tasks
    }

    /// The cells again, checked: each config must still have the id it was submitted
    /// under (a diffsweep of another semantics version gives it another id).
    pub fn cells(&self) -> std::result::Result<Vec<Cell>, String> {
        self.cells
            .iter()
            .map(|c| {
                let id = RunId::of(&c.config);
                if id != c.run_id {
                    return Err(format!(
                        "the config of run {} has id {} for this diffsweep (semantics version {}): it was submitted by another version; submit the sweep again",
                        c.run_id.short(),
                        id.short(),
                        ddpm::SEMANTICS_VERSION
                    ));
                }
                Ok(Cell {
                    axes: c.axes.clone(),
                    label: c.label.clone(),
                    config: c.config.clone(),
                    id,
                })
            })
            .collect()
    }
}

/// One submitted job array.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrayJob {
    /// Slurm's job id of the array.
    pub job_id: u64,
    /// The submission's task at array index 0.
    pub first: usize,
    /// Tasks in the array (indices `0..len`).
    pub len: usize,
}

/// `manifest.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The submission's name (its folder).
    pub submission: String,
    /// The sweep's name.
    pub sweep: String,
    /// When it was submitted.
    pub created_at: DateTime<Utc>,
    /// The diffsweep binary the tasks run.
    pub program: PathBuf,
    /// Whether tasks replace a stored failed run.
    pub retry_failed: bool,
    /// Whether tasks replace any stored run.
    pub force: bool,
    /// The options the arrays were submitted with.
    pub options: SlurmOptions,
    /// The array tasks, one per model, in submission order.
    pub tasks: Vec<Task>,
    /// The arrays submitted so far.
    pub arrays: Vec<ArrayJob>,
}

impl Manifest {
    /// The array and index of task `k`, once its array is submitted.
    pub fn locate(&self, k: usize) -> Option<(u64, usize)> {
        self.arrays
            .iter()
            .find(|a| (a.first..a.first + a.len).contains(&k))
            .map(|a| (a.job_id, k - a.first))
    }

    /// The cells of all its tasks.
    pub fn cell_count(&self) -> usize {
        self.tasks.iter().map(|t| t.cells.len()).sum()
    }

    /// The job ids of its arrays.
    pub fn job_ids(&self) -> Vec<u64> {
        self.arrays.iter().map(|a| a.job_id).collect()
    }
}

/// A submission's folder in the store.
#[derive(Clone, Debug)]
pub struct Submission {
    /// The folder.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
}

/// The folder of all submissions.
pub fn submissions_dir(store: &RunStore) -> PathBuf {
    store.root().join("slurm")
}

impl Submission {
    /// Makes the folder of a new submission and writes its manifest.
    pub fn create(store: &RunStore, manifest: Manifest) -> Result<Submission> {
        let dir = submissions_dir(store).join(&manifest.submission);
        let logs = dir.join("logs");
        fs::create_dir_all(&logs).map_err(|err| Error::io("cannot create", &logs, err))?;
        let submission = Submission { dir, manifest };
        submission.save()?;
        Ok(submission)
    }

    /// Opens the submission in `dir`.
    pub fn open(dir: &Path) -> Result<Submission> {
        let path = dir.join("manifest.json");
        let text = fs::read_to_string(&path).map_err(|err| Error::io("cannot read", &path, err))?;
        let manifest = serde_json::from_str(&text).map_err(|err| Error::corrupt(&path, err))?;
        Ok(Submission {
            dir: dir.to_path_buf(),
            manifest,
        })
    }

    /// Writes the manifest (atomically).
    pub fn save(&self) -> Result<()> {
        let json = serde_json::to_string_pretty(&self.manifest).expect("a manifest is plain data");
        replace_file(&self.dir.join("manifest.json"), json.as_bytes())
    }

    /// The script every array of the submission runs.
    pub fn script_path(&self) -> PathBuf {
        self.dir.join("job.sbatch")
    }

    /// The folder of the task logs.
    pub fn logs_dir(&self) -> PathBuf {
        self.dir.join("logs")
    }

    /// The log of index `index` of array `job_id` (Slurm's `%A_%a`).
    pub fn log_path(&self, job_id: u64, index: usize) -> PathBuf {
        self.logs_dir().join(format!("{job_id}_{index}.log"))
    }

    /// Every submission in the store, oldest first.
    pub fn all(store: &RunStore) -> Result<Vec<Submission>> {
        let dir = submissions_dir(store);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(Error::io("cannot list", dir, err)),
        };
        let mut out = Vec::new();
        for entry in entries.filter_map(|e| e.ok()).take(MAX_SUBMISSIONS) {
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.')
                || !path.join("manifest.json").is_file()
            {
                continue;
            }
            out.push(Submission::open(&path)?);
        }
        out.sort_by(|a, b| {
            (a.manifest.created_at, &a.manifest.submission)
                .cmp(&(b.manifest.created_at, &b.manifest.submission))
        });
        Ok(out)
    }
}

/// The last `lines` lines of a log, or `None` when it does not exist.
pub fn log_tail(path: &Path, lines: usize) -> Option<String> {
    let mut file = fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(TAIL_BYTES)))
        .ok()?;
    let mut bytes = Vec::new();
    file.take(TAIL_BYTES).read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    Some(all[all.len().saturating_sub(lines)..].join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_are_found_in_their_array() {
        let manifest = Manifest {
            submission: "s".into(),
            sweep: "quick".into(),
            created_at: Utc::now(),
            program: "/bin/diffsweep".into(),
            retry_failed: false,
            force: false,
            options: SlurmOptions::default(),
            tasks: Vec::new(),
            arrays: vec![
                ArrayJob {
                    job_id: 7,
                    first: 0,
                    len: 10,
                },
                ArrayJob {
                    job_id: 9,
                    first: 10,
                    len: 6,
                },
            ],
        };
        assert_eq!(manifest.locate(0), Some((7, 0)));
        assert_eq!(manifest.locate(9), Some((7, 9)));
        assert_eq!(manifest.locate(10), Some((9, 0)));
        assert_eq!(manifest.locate(15), Some((9, 5)));
        assert_eq!(manifest.locate(16), None);
        assert_eq!(manifest.job_ids(), [7, 9]);
    }

    #[test]
    fn cells_that_share_a_model_share_a_task() {
        let experiment = crate::Experiment::parse(
            "name = \"g\"\nseeds = 2\n[grid]\nT = [10]\n\"sampling.method\" = [\"ancestral\", \"ddim\"]\n",
            Path::new("g.toml"),
        )
        .unwrap();
        let cells = experiment.cells();
        let refs: Vec<&Cell> = cells.iter().collect();
        let tasks = Task::group(&refs);
        assert_eq!(tasks.len(), 2, "one task per seed's model");
        for task in &tasks {
            let cells = task.cells().unwrap();
            assert_eq!(cells.len(), 2);
            assert_eq!(ModelId::of(&cells[0].config), ModelId::of(&cells[1].config));
            assert_ne!(cells[0].id, cells[1].id);
        }
        let mut stale = tasks[0].clone();
        stale.cells[0].config.seed = 99;
        assert!(stale
            .cells()
            .unwrap_err()
            .contains("submitted by another version"));
    }

    #[test]
    fn a_log_tail_is_its_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1_0.log");
        let text: String = (0..2000).map(|i| format!("line {i}\n")).collect();
        fs::write(&path, text).unwrap();
        assert_eq!(
            log_tail(&path, 3).unwrap(),
            "line 1997\nline 1998\nline 1999"
        );
        assert_eq!(log_tail(&dir.path().join("none.log"), 3), None);
    }
}
