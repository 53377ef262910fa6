//! The run store: runs on disk under one root, named by [`RunId`], written atomically.
//!
//! ```text
//! <root>/runs/<id>/config.toml          the canonical config
//! <root>/runs/<id>/record.json          status, metrics, timings, versions, artifact hashes
//! <root>/runs/<id>/samples.csv          x,y in data space
//! <root>/runs/<id>/loss.csv             epoch,loss
//! <root>/runs/<id>/weights.safetensors  the trained network, f32
//! <root>/runs/<id>.lock                 held (flock) while a process trains the run
//! <root>/sweeps/<name>.json             a sweep's cells and their run ids
//! <root>/models/<model id>/             a trained model shared by runs (see `models`)
//! <root>/quarantine/<time>-<kind>-<id>/ a corrupt run or model set aside: `entry/` as it
//!                                       was, `reason.json` (see `quarantine`)
//! ```
//!
//! Every record carries a sha256 of its own content and of each artifact; every read
//! checks them, and a mismatch is a corrupt entry, never a result.
//!
//! A run is written into `runs/.tmp-<id>-<pid>/`, synced, and renamed into place, so a
//! run directory is complete or absent. The lock is an OS file lock, released by the
//! kernel when its process dies, so a stale lock needs no recovery; a temporary directory
//! whose run is not locked belongs to a dead process and is removed.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use ddpm::{Metrics, NamedTensor, RunConfig, RunOutcome, RunStatus};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::experiment::{Compare, Experiment, ReportOptions};
use crate::identity::RunId;
use crate::{Error, Result};

/// How a stored run ended.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Trained, sampled and scored.
    Completed,
    /// The training loss became non-finite; a result, not an error, so it is not retried.
    Diverged,
    /// Trained, but the sampler's output was not finite (an exploded reverse chain), so its
    /// metrics are not either. Deterministic like divergence: counted as failed in the
    /// statistics, never retried by `--retry-failed`. Records written before this status
    /// existed say `completed` with non-finite metrics and are read as this.
    NonFinite,
    /// The run returned an error or panicked; `--retry-failed` runs it again.
    Failed,
}

impl Status {
    /// The status as written in `record.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Completed => "completed",
            Status::Diverged => "diverged",
            Status::NonFinite => "non_finite",
            Status::Failed => "failed",
        }
    }
}

impl Record {
    /// The record with its one definition of the outcome applied: a `completed` run whose
    /// metrics are not all finite is [`Status::NonFinite`] (as records written before that
    /// status existed say `completed`).
    pub fn normalized(mut self) -> Record {
        let finite = |m: &Metrics| {
            [m.chamfer, m.sliced_wasserstein, m.mmd]
                .iter()
                .all(|v| v.is_finite())
        };
        if self.status == Status::Completed && self.metrics.as_ref().is_some_and(|m| !finite(m)) {
            self.status = Status::NonFinite;
        }
        self
    }
}

/// The machine a run was trained on.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Host {
    /// The host name.
    pub hostname: String,
    /// Logical CPUs available to the process.
    pub cpus: usize,
}

impl Host {
    /// This machine.
    pub fn current() -> Host {
        let hostname = fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| fs::read_to_string("/etc/hostname"))
            .map(|name| name.trim().to_string())
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "unknown".to_string());
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Host { hostname, cpus }
    }
}

/// `record.json`: everything known about a run except its bulky artifacts.
///
/// Non-finite numbers (a diverged loss, metrics of exploded samples) are written as the
/// strings `"NaN"`, `"inf"` and `"-inf"`, which JSON numbers cannot hold.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Record {
    /// The run's id (the name of its directory).
    pub id: RunId,
    /// [`ddpm::SEMANTICS_VERSION`] when the run was trained.
    pub semantics_version: u32,
    /// How the run ended.
    pub status: Status,
    /// The first epoch with a non-finite loss, for a diverged run.
    pub diverged_epoch: Option<usize>,
    /// The error or panic message, for a failed run.
    pub error: Option<String>,
    /// The loss of the last epoch trained.
    #[serde(with = "lenient_float")]
    pub final_loss: Option<f64>,
    /// Sample quality in data space, for a completed run.
    #[serde(with = "lenient_metrics")]
    pub metrics: Option<Metrics>,
    /// The metrics of a perfect model (a fresh draw of the data), for scale.
    #[serde(with = "lenient_metrics")]
    pub noise_floor: Option<Metrics>,
    /// Wall seconds spent training.
    pub train_seconds: f64,
    /// Wall seconds spent sampling.
    pub sample_seconds: f64,
    /// Wall seconds spent on metrics.
    pub metric_seconds: f64,
    /// The instruction-set path of the fused kernels that trained and sampled the run
    /// (`avx512`, `avx2+fma` or `scalar`; every path gives the same bits). Absent in
    /// records written before the fused kernels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_isa: Option<String>,
    /// The commit, compiler, CPU and system that trained the run. Absent in records
    /// written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<crate::Provenance>,
    /// When the run started.
    pub started_at: DateTime<Utc>,
    /// When the run ended.
    pub finished_at: DateTime<Utc>,
    /// The version of diffsweep that trained it.
    pub diffsweep_version: String,
    /// The machine that trained it.
    pub host: Host,
    /// The stored model the run sampled (`models/<id>/`), which holds its loss curve and
    /// weights. Absent in runs stored before models were split off, which hold both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<RunId>,
    /// The sha256 (hex) of every other file of the run, by file name (including its
    /// model's `loss.csv` and `weights.safetensors`).
    pub artifacts: BTreeMap<String, String>,
    /// The sha256 (hex) of the record's own content ([`content_checksum`]), so that an
    /// edit that leaves valid JSON (a digit of a metric) is found on read. Absent in
    /// records written before it existed, which are read unchecked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}

/// The sha256 of `bytes` in hex: how every artifact and record is named by its content.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The sha256 (hex) of a record's compact JSON with its `checksum` left out: serde
/// writes fields in declaration order and floats round-trip, so parsing a record and
/// serialising it again gives the same bytes.
pub fn content_checksum<T: Serialize>(value: &T) -> String {
    let json = serde_json::to_string(value).expect("a record is plain data");
    sha256_hex(json.as_bytes())
}

/// Checks a record's `checksum` (when it has one) against its content.
pub(crate) fn verify_checksum<T: Serialize + Clone>(
    path: &Path,
    record: &T,
    checksum: fn(&mut T) -> &mut Option<String>,
) -> Result<()> {
    let mut bare = record.clone();
    let Some(expected) = checksum(&mut bare).take() else {
        return Ok(());
    };
    if content_checksum(&bare) == expected {
        Ok(())
    } else {
        Err(Error::corrupt(
            path,
            "its checksum does not match its content (edited or damaged since it was written)",
        ))
    }
}

/// Checks `bytes` of the artifact `name` against the sha256 that `artifacts` lists for it
/// (an artifact a record does not list is not checked).
pub(crate) fn verify_artifact(
    path: &Path,
    name: &str,
    bytes: &[u8],
    artifacts: &BTreeMap<String, String>,
) -> Result<()> {
    match artifacts.get(name) {
        Some(expected) if sha256_hex(bytes) != *expected => Err(Error::corrupt(
            path,
            format!("its sha256 does not match the {expected} its record lists"),
        )),
        _ => Ok(()),
    }
}

/// What the store holds under a run id.
#[derive(Clone, Debug, PartialEq)]
pub enum Lookup {
    /// Nothing.
    Absent,
    /// A record that parses and matches its checksum.
    Stored(Box<Record>),
    /// A record that does not parse or does not match its checksum: the reason.
    Corrupt(String),
}

/// One cell of a stored sweep.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SweepCell {
    /// The cell's value on every axis of the sweep.
    pub axes: BTreeMap<String, serde_json::Value>,
    /// The cell's run.
    pub run_id: RunId,
    /// The axis values as `path=value` words, in axis order.
    pub label: String,
}

/// `sweeps/<name>.json`: which runs make up a sweep, and what its report should ask.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SweepIndex {
    /// The sweep's name.
    pub name: String,
    /// The sweep's description.
    pub description: String,
    /// The experiment file, as the user named it.
    pub source: String,
    /// The experiment file's text when the sweep was last started.
    pub experiment: String,
    /// The axis paths, in display order.
    pub axes: Vec<String>,
    /// Every cell with its run id, in grid order.
    pub cells: Vec<SweepCell>,
    /// The comparisons the experiment declares.
    pub compare: Vec<Compare>,
    /// The experiment's report options.
    pub report: ReportOptions,
}

impl SweepIndex {
    /// The index of an experiment.
    pub fn of(experiment: &Experiment) -> SweepIndex {
        SweepIndex {
            name: experiment.name.clone(),
            description: experiment.description.clone(),
            source: experiment.source.display().to_string(),
            experiment: experiment.text.clone(),
            axes: experiment.axes.clone(),
            cells: experiment
                .cells()
                .into_iter()
                .map(|cell| SweepCell {
                    axes: cell.axes,
                    run_id: cell.id,
                    label: cell.label,
                })
                .collect(),
            compare: experiment.compare.clone(),
            report: experiment.report.clone(),
        }
    }

    /// The experiment again, parsed from the stored text.
    pub fn experiment(&self) -> Result<Experiment> {
        Experiment::parse(&self.experiment, Path::new(&self.source))
    }
}

/// A run directory tree under one root (`results/` by default).
#[derive(Clone, Debug)]
pub struct RunStore {
    root: PathBuf,
}

/// A held lock on one run; dropping it releases the lock and removes the lock file.
#[derive(Debug)]
pub struct RunLock {
    id: RunId,
    path: PathBuf,
    _file: File,
    /// Whether letting go removes the lock file (always, but for a look that must leave
    /// the store as it was).
    remove_file: bool,
}

impl RunLock {
    /// The run this lock is for.
    pub fn id(&self) -> &RunId {
        &self.id
    }

    /// Lets go of the lock and leaves its file in place.
    pub fn release_keeping_file(mut self) {
        self.remove_file = false;
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Removed while still held: a process that opens the path afterwards makes a new
        // file, takes its lock and then finds the finished run, which it skips.
        if self.remove_file {
            let _ = fs::remove_file(&self.path);
        }
    }
}

impl RunStore {
    /// A store rooted at `root`. Nothing is created until something is written.
    pub fn open(root: impl Into<PathBuf>) -> Result<RunStore> {
        Ok(RunStore { root: root.into() })
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn runs_dir(&self) -> PathBuf {
        self.root.join("runs")
    }

    pub(crate) fn models_dir(&self) -> PathBuf {
        self.root.join("models")
    }

    /// The directory of a run (which may not exist).
    pub fn run_dir(&self, id: &RunId) -> PathBuf {
        self.runs_dir().join(id.as_str())
    }

    fn sweep_path(&self, name: &str) -> PathBuf {
        self.root.join("sweeps").join(format!("{name}.json"))
    }

    /// The record of a run, or `None` if the run is not stored.
    pub fn record(&self, id: &RunId) -> Result<Option<Record>> {
        let path = self.run_dir(id).join("record.json");
        let record: Option<Record> = read_json_if_present(&path)?;
        if let Some(record) = &record {
            verify_checksum(&path, record, |r| &mut r.checksum)?;
        }
        Ok(record.map(Record::normalized))
    }

    /// Like [`RunStore::record`], with a corrupt record as an answer instead of an error,
    /// for callers that set it aside and carry on.
    pub fn lookup(&self, id: &RunId) -> Result<Lookup> {
        match self.record(id) {
            Ok(Some(record)) => Ok(Lookup::Stored(Box::new(record))),
            Ok(None) => Ok(Lookup::Absent),
            Err(err @ Error::Corrupt { .. }) => Ok(Lookup::Corrupt(err.to_string())),
            Err(err) => Err(err),
        }
    }

    /// Reads one artifact of a run, checked against the sha256 its record lists (a
    /// mismatch is [`Error::Corrupt`]: nothing read from the store is used unchecked).
    fn read(&self, id: &RunId, file: &str) -> Result<(PathBuf, Vec<u8>)> {
        let mut path = self.run_dir(id).join(file);
        let record = self.record(id)?;
        if !path.exists() && matches!(file, "loss.csv" | "weights.safetensors") {
            // A run that shares a stored model keeps these in the model's directory.
            if let Some(model) = record.as_ref().and_then(|r| r.model.clone()) {
                path = self.model_dir(&model).join(file);
            }
        }
        match fs::read(&path) {
            Ok(bytes) => {
                if let Some(record) = &record {
                    verify_artifact(&path, file, &bytes, &record.artifacts)?;
                }
                Ok((path, bytes))
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Err(Error::UnknownRun(
                format!("run {id} has no {file} in {}", self.root.display()),
            )),
            Err(err) => Err(Error::io("cannot read", path, err)),
        }
    }

    fn read_text(&self, id: &RunId, file: &str) -> Result<(PathBuf, String)> {
        let (path, bytes) = self.read(id, file)?;
        let text = String::from_utf8(bytes).map_err(|err| Error::corrupt(&path, err))?;
        Ok((path, text))
    }

    /// The canonical config of a stored run.
    pub fn config(&self, id: &RunId) -> Result<RunConfig> {
        let (path, text) = self.read_text(id, "config.toml")?;
        toml::from_str(&text).map_err(|err| Error::corrupt(path, err.message()))
    }

    /// The samples of a stored run, in data space (empty for a diverged run).
    pub fn samples(&self, id: &RunId) -> Result<Vec<[f64; 2]>> {
        let (path, text) = self.read_text(id, "samples.csv")?;
        parse_csv(&path, &text, "x,y", |fields| {
            Ok([parse_f64(fields[0])?, parse_f64(fields[1])?])
        })
    }

    /// The loss curve of a stored run as `(epoch, loss)`.
    pub fn loss_curve(&self, id: &RunId) -> Result<Vec<(usize, f64)>> {
        let (path, text) = self.read_text(id, "loss.csv")?;
        parse_loss_csv(&path, &text)
    }

    /// The trained weights of a stored run, in the order the core listed them.
    pub fn weights(&self, id: &RunId) -> Result<Vec<NamedTensor>> {
        let (path, bytes) = self.read(id, "weights.safetensors")?;
        decode_weights(&bytes).map_err(|message| Error::corrupt(path, message))
    }

    /// The stored index of sweep `name`.
    pub fn sweep_index(&self, name: &str) -> Result<SweepIndex> {
        let path = self.sweep_path(name);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::UnknownSweep {
                    name: name.to_string(),
                    root: self.root.clone(),
                })
            }
            Err(err) => return Err(Error::io("cannot read", path, err)),
        };
        serde_json::from_str(&text).map_err(|err| Error::corrupt(path, err))
    }

    /// Writes (or replaces) a sweep's index, atomically.
    pub fn write_sweep_index(&self, index: &SweepIndex) -> Result<()> {
        let dir = self.root.join("sweeps");
        fs::create_dir_all(&dir).map_err(|err| Error::io("cannot create", &dir, err))?;
        let path = self.sweep_path(&index.name);
        let json = serde_json::to_string_pretty(index).expect("a sweep index is plain data");
        replace_file(&path, json.as_bytes())
    }

    /// Every run stored, in id order.
    pub fn run_ids(&self) -> Result<Vec<RunId>> {
        let dir = self.runs_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(Error::io("cannot list", dir, err)),
        };
        let mut ids: Vec<RunId> = entries
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|entry| RunId::parse(entry.file_name().to_str()?))
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// The stored run whose id is `text` or starts with it (at least 4 digits).
    pub fn resolve(&self, text: &str) -> Result<RunId> {
        if let Some(id) = RunId::parse(text) {
            if self.run_dir(&id).is_dir() {
                return Ok(id);
            }
        }
        let matches: Vec<RunId> = if text.len() >= 4 {
            self.run_ids()?
                .into_iter()
                .filter(|id| id.as_str().starts_with(text))
                .collect()
        } else {
            Vec::new()
        };
        match matches.as_slice() {
            [id] => Ok(id.clone()),
            [] => Err(Error::UnknownRun(format!(
                "no stored run `{text}` in {} (give a run id or a prefix of at least 4 hex digits)",
                self.root.display()
            ))),
            _ => Err(Error::UnknownRun(format!(
                "`{text}` is the prefix of {} runs; give more digits",
                matches.len()
            ))),
        }
    }

    /// Takes the lock of run `id`, or `None` while another process (or thread) holds it.
    pub fn try_lock(&self, id: &RunId) -> Result<Option<RunLock>> {
        self.acquire(id, false)
    }

    /// Takes the lock of run `id`, waiting while another process holds it.
    pub fn lock(&self, id: &RunId) -> Result<RunLock> {
        Ok(self
            .acquire(id, true)?
            .expect("a blocking lock either succeeds or fails"))
    }

    /// Locks the file at `runs/<id>.lock`. A holder removes that file when it lets go
    /// (see [`RunLock`]), so a lock taken on a file that was unlinked in the meantime
    /// guards nothing: after locking, check that the path still names the locked file,
    /// and start over if not.
    fn acquire(&self, id: &RunId, wait: bool) -> Result<Option<RunLock>> {
        self.acquire_in(&self.runs_dir(), id, wait)
    }

    /// [`Self::acquire`] for `<dir>/<id>.lock` (runs and models have their own folders).
    pub(crate) fn acquire_in(&self, dir: &Path, id: &RunId, wait: bool) -> Result<Option<RunLock>> {
        use std::os::unix::fs::MetadataExt;
        loop {
            let (path, file) = lock_file(dir, id)?;
            if wait {
                file.lock()
                    .map_err(|err| Error::io("cannot lock", &path, err))?;
            } else {
                match file.try_lock() {
                    Ok(()) => {}
                    Err(TryLockError::WouldBlock) => return Ok(None),
                    Err(TryLockError::Error(err)) => {
                        return Err(Error::io("cannot lock", path, err))
                    }
                }
            }
            let held = file
                .metadata()
                .map_err(|err| Error::io("cannot inspect", &path, err))?;
            match fs::metadata(&path) {
                Ok(named) if named.ino() == held.ino() && named.dev() == held.dev() => {
                    return Ok(Some(RunLock {
                        id: id.clone(),
                        path,
                        _file: file,
                        remove_file: true,
                    }))
                }
                // Unlinked (or replaced) between our open and our lock: try again.
                _ => continue,
            }
        }
    }

    /// Removes the temporary directories of runs that no live process is writing, i.e.
    /// whose lock is free, and lock files that no process holds. Returns how many
    /// directories were removed.
    pub fn clean_stale(&self) -> Result<usize> {
        Ok(self.clean_stale_in(self.runs_dir())? + self.clean_stale_in(self.models_dir())?)
    }

    fn clean_stale_in(&self, dir: PathBuf) -> Result<usize> {
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(err) => return Err(Error::io("cannot list", dir, err)),
        };
        let mut removed = 0;
        for entry in entries.filter_map(|entry| entry.ok()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            // A lock file left by a dead process: taking and dropping its lock removes it.
            if let Some(id) = name.strip_suffix(".lock").and_then(RunId::parse) {
                drop(self.acquire_in(&dir, &id, false)?);
                continue;
            }
            let Some(rest) = name
                .strip_prefix(".tmp-")
                .or_else(|| name.strip_prefix(".old-"))
            else {
                continue;
            };
            let Some(id) = rest.get(..64).and_then(RunId::parse) else {
                continue;
            };
            if let Some(_lock) = self.acquire_in(&dir, &id, false)? {
                // A replacement (`--force`) stopped between its two renames leaves the old
                // copy aside and no run in place: put the old copy back, never lose it.
                let target = dir.join(id.as_str());
                if name.starts_with(".old-") && !target.exists() {
                    fs::rename(entry.path(), &target)
                        .map_err(|err| Error::io("cannot restore", &target, err))?;
                    continue;
                }
                fs::remove_dir_all(entry.path())
                    .map_err(|err| Error::io("cannot remove", entry.path(), err))?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Stores a finished run: what `ddpm::run` returned, or why it failed. The run is
    /// written into a temporary directory and renamed into place (replacing an older copy).
    pub fn write_run(
        &self,
        lock: &RunLock,
        config: &RunConfig,
        result: &std::result::Result<RunOutcome, String>,
        started_at: DateTime<Utc>,
        finished_at: DateTime<Utc>,
    ) -> Result<Record> {
        self.write_run_of(lock, config, result, None, started_at, finished_at)
    }

    /// Stores a run whose model is stored in `models/` (see [`crate::models`]): its
    /// directory holds the config, record and samples, and its record names the model and
    /// lists the model's loss curve and weights among its artifacts.
    pub fn write_run_of(
        &self,
        lock: &RunLock,
        config: &RunConfig,
        result: &std::result::Result<RunOutcome, String>,
        model: Option<&crate::models::ModelRecord>,
        started_at: DateTime<Utc>,
        finished_at: DateTime<Utc>,
    ) -> Result<Record> {
        let id = lock.id();
        write_dir_atomically(&self.runs_dir(), id, |tmp| {
            let mut artifacts = BTreeMap::new();
            let mut put = |name: &str, bytes: &[u8]| -> Result<()> {
                write_synced(&tmp.join(name), bytes)?;
                artifacts.insert(name.to_string(), sha256_hex(bytes));
                Ok(())
            };
            let canonical =
                toml::to_string(&config.canonical()).expect("a RunConfig always serializes");
            put(
                "config.toml",
                format!(
                    "# run {id}, training semantics v{}\n{canonical}",
                    ddpm::SEMANTICS_VERSION
                )
                .as_bytes(),
            )?;
            if let Ok(outcome) = result {
                put("samples.csv", samples_csv(&outcome.samples).as_bytes())?;
                if model.is_none() {
                    put("loss.csv", loss_csv(&outcome.loss_curve).as_bytes())?;
                    put("weights.safetensors", &encode_weights(&outcome.weights))?;
                }
            }
            if let (Some(model), Ok(_)) = (model, result) {
                artifacts.extend(model.artifacts.clone());
            }

            let mut record = record_of(id, result, started_at, finished_at, artifacts);
            record.model = model.map(|m| m.id.clone());
            record.checksum = Some(content_checksum(&record));
            let json = serde_json::to_string_pretty(&record).expect("a record is plain data");
            write_synced(&tmp.join("record.json"), json.as_bytes())?;
            Ok(record)
        })
    }
}

/// Writes the directory `<dir>/<id>` as a whole, under the process's write guard:
/// `fill` writes its files into `<dir>/.tmp-<id>-<pid>/`, which is synced and renamed into
/// place (an older copy is moved aside to `.old-<id>-<pid>` first and then removed). If
/// any write fails (a full disk), the temporary directory is removed at once, freeing its
/// space, and nothing is left; a process that dies part way leaves only temporary or
/// set-aside directories, which [`RunStore::clean_stale`] tidies.
pub(crate) fn write_dir_atomically<T>(
    dir: &Path,
    id: &RunId,
    fill: impl FnOnce(&Path) -> Result<T>,
) -> Result<T> {
    let _writing = hold_writes();
    let tmp = dir.join(format!(".tmp-{id}-{}", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|err| Error::io("cannot remove", &tmp, err))?;
    }
    let written = fs::create_dir_all(&tmp)
        .map_err(|err| Error::io("cannot create", &tmp, err))
        .and_then(|()| fill(&tmp))
        .and_then(|value| sync_dir(&tmp).map(|()| value));
    let value = match written {
        Ok(value) => value,
        Err(err) => {
            let _ = fs::remove_dir_all(&tmp);
            return Err(err);
        }
    };
    let target = dir.join(id.as_str());
    if target.exists() {
        let old = dir.join(format!(".old-{id}-{}", std::process::id()));
        fs::rename(&target, &old).map_err(|err| Error::io("cannot move aside", &target, err))?;
        fs::rename(&tmp, &target).map_err(|err| Error::io("cannot rename into", &target, err))?;
        fs::remove_dir_all(&old).map_err(|err| Error::io("cannot remove", &old, err))?;
    } else {
        fs::rename(&tmp, &target).map_err(|err| Error::io("cannot rename into", &target, err))?;
    }
    sync_dir(dir)?;
    Ok(value)
}

fn record_of(
    id: &RunId,
    result: &std::result::Result<RunOutcome, String>,
    started_at: DateTime<Utc>,
    finished_at: DateTime<Utc>,
    artifacts: BTreeMap<String, String>,
) -> Record {
    let mut record = Record {
        id: id.clone(),
        semantics_version: ddpm::SEMANTICS_VERSION,
        status: Status::Failed,
        diverged_epoch: None,
        error: None,
        final_loss: None,
        metrics: None,
        noise_floor: None,
        train_seconds: 0.0,
        sample_seconds: 0.0,
        metric_seconds: 0.0,
        kernel_isa: None,
        provenance: Some(crate::Provenance::current().clone()),
        started_at,
        finished_at,
        diffsweep_version: env!("CARGO_PKG_VERSION").to_string(),
        host: Host::current(),
        model: None,
        artifacts,
        checksum: None,
    };
    match result {
        Ok(outcome) => {
            match outcome.status {
                RunStatus::Completed => record.status = Status::Completed,
                RunStatus::NonFinite => record.status = Status::NonFinite,
                RunStatus::Diverged { epoch } => {
                    record.status = Status::Diverged;
                    record.diverged_epoch = Some(epoch);
                }
            }
            record.final_loss = Some(outcome.final_loss);
            record.metrics = outcome.metrics;
            record.noise_floor = Some(outcome.noise_floor);
            record.train_seconds = outcome.train_seconds;
            record.sample_seconds = outcome.sample_seconds;
            record.metric_seconds = outcome.metric_seconds;
            record.kernel_isa = Some(outcome.kernel_isa.name().to_string());
        }
        Err(message) => record.error = Some(message.clone()),
    }
    record
}

/// `loss.csv` (`epoch,loss`) read back exactly as written.
pub(crate) fn parse_loss_csv(path: &Path, text: &str) -> Result<Vec<(usize, f64)>> {
    parse_csv(path, text, "epoch,loss", |fields| {
        let epoch = fields[0].parse::<usize>().map_err(|err| err.to_string())?;
        Ok((epoch, parse_f64(fields[1])?))
    })
}

/// The JSON file at `path`, or `None` when there is none (a run or model not stored).
pub(crate) fn read_json_if_present<T: serde::de::DeserializeOwned>(
    path: &Path,
) -> Result<Option<T>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(Error::io("cannot read", path, err)),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|err| Error::corrupt(path, err))
}

/// Writes `bytes` to `path` through a temporary file beside it and a rename, so readers
/// see the old file or the new one, never a part.
pub(crate) fn replace_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".tmp-{name}-{}", std::process::id()));
    write_synced(&tmp, bytes)?;
    fs::rename(&tmp, path).map_err(|err| Error::io("cannot rename into", path, err))
}

/// Held while a run is written into the store: [`hold_writes`] waits for it.
static WRITING: Mutex<()> = Mutex::new(());

/// Waits until no run is being written by this process and keeps any from starting while
/// the guard lives. A process that must exit at once (a Slurm task that is signalled)
/// takes it first, so it leaves every run complete or absent, never between two renames.
pub fn hold_writes() -> MutexGuard<'static, ()> {
    WRITING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn lock_file(dir: &Path, id: &RunId) -> Result<(PathBuf, File)> {
    fs::create_dir_all(dir).map_err(|err| Error::io("cannot create", dir, err))?;
    let path = dir.join(format!("{id}.lock"));
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|err| Error::io("cannot open", &path, err))?;
    Ok((path, file))
}

pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = File::create(path).map_err(|err| Error::io("cannot create", path, err))?;
    file.write_all(bytes)
        .map_err(|err| Error::io("cannot write", path, err))?;
    file.sync_all()
        .map_err(|err| Error::io("cannot sync", path, err))
}

/// Makes a rename or a new file in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|err| Error::io("cannot sync", dir, err))
}

pub(crate) fn samples_csv(samples: &[[f64; 2]]) -> String {
    let mut out = String::from("x,y\n");
    for [x, y] in samples {
        out.push_str(&format!("{x},{y}\n"));
    }
    out
}

pub(crate) fn loss_csv(curve: &[(usize, f64)]) -> String {
    let mut out = String::from("epoch,loss\n");
    for (epoch, loss) in curve {
        out.push_str(&format!("{epoch},{loss}\n"));
    }
    out
}

pub(crate) fn parse_f64(text: &str) -> std::result::Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .map_err(|err| format!("`{text}`: {err}"))
}

pub(crate) fn parse_csv<T>(
    path: &Path,
    text: &str,
    header: &str,
    row: impl Fn(&[&str]) -> std::result::Result<T, String>,
) -> Result<Vec<T>> {
    let mut lines = text.lines();
    if lines.next() != Some(header) {
        return Err(Error::corrupt(
            path,
            format!("the header is not `{header}`"),
        ));
    }
    lines
        .enumerate()
        .filter(|(_, line)| !line.is_empty())
        .map(|(i, line)| {
            let fields: Vec<&str> = line.split(',').collect();
            if fields.len() != 2 {
                return Err(Error::corrupt(
                    path,
                    format!("line {}: expected 2 fields", i + 2),
                ));
            }
            row(&fields)
                .map_err(|message| Error::corrupt(path, format!("line {}: {message}", i + 2)))
        })
        .collect()
}

/// The safetensors bytes of `weights` (f32, little-endian), with the core's tensor order
/// kept in the header's metadata as `order`.
pub(crate) fn encode_weights(weights: &[NamedTensor]) -> Vec<u8> {
    use safetensors::tensor::{Dtype, TensorView};
    let bytes: Vec<Vec<u8>> = weights
        .iter()
        .map(|t| t.data.iter().flat_map(|x| x.to_le_bytes()).collect())
        .collect();
    let views: Vec<(String, TensorView)> = weights
        .iter()
        .zip(&bytes)
        .map(|(t, data)| {
            let view = TensorView::new(Dtype::F32, t.shape.clone(), data)
                .expect("a NamedTensor's data has the length its shape implies");
            (t.name.clone(), view)
        })
        .collect();
    let order: Vec<&str> = weights.iter().map(|t| t.name.as_str()).collect();
    let metadata = HashMap::from([(
        "order".to_string(),
        serde_json::to_string(&order).expect("names serialize"),
    )]);
    safetensors::serialize(views, &Some(metadata))
        .expect("in-memory serialization of valid views cannot fail")
}

pub(crate) fn decode_weights(bytes: &[u8]) -> std::result::Result<Vec<NamedTensor>, String> {
    use safetensors::tensor::{Dtype, SafeTensors};
    let tensors = SafeTensors::deserialize(bytes).map_err(|err| format!("{err:?}"))?;
    let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(|err| format!("{err:?}"))?;
    let order: Vec<String> = match metadata.metadata().as_ref().and_then(|m| m.get("order")) {
        Some(order) => serde_json::from_str(order).map_err(|err| err.to_string())?,
        None => {
            let mut names: Vec<String> = tensors.names().into_iter().cloned().collect();
            names.sort();
            names
        }
    };
    order
        .into_iter()
        .map(|name| {
            let view = tensors
                .tensor(&name)
                .map_err(|err| format!("{name}: {err:?}"))?;
            if view.dtype() != Dtype::F32 {
                return Err(format!("{name}: expected F32, found {:?}", view.dtype()));
            }
            let data = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            Ok(NamedTensor {
                name,
                shape: view.shape().to_vec(),
                data,
            })
        })
        .collect()
}

/// An `f64` that may be non-finite, as JSON: a number, or `"NaN"`, `"inf"`, `"-inf"`.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum JsonFloat {
    Number(f64),
    Text(String),
}

impl From<f64> for JsonFloat {
    fn from(x: f64) -> JsonFloat {
        if x.is_finite() {
            JsonFloat::Number(x)
        } else {
            JsonFloat::Text(x.to_string())
        }
    }
}

impl JsonFloat {
    fn value<E: serde::de::Error>(self) -> std::result::Result<f64, E> {
        match self {
            JsonFloat::Number(x) => Ok(x),
            JsonFloat::Text(text) => text
                .parse()
                .map_err(|_| E::custom(format!("`{text}` is not a number"))),
        }
    }
}

pub(crate) mod lenient_float {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::JsonFloat;

    pub fn serialize<S: Serializer>(value: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        value.map(JsonFloat::from).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Option::<JsonFloat>::deserialize(d)?
            .map(JsonFloat::value)
            .transpose()
    }
}

mod lenient_metrics {
    use ddpm::Metrics;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::JsonFloat;

    #[derive(Serialize, Deserialize)]
    struct Stored {
        chamfer: JsonFloat,
        sliced_wasserstein: JsonFloat,
        mmd: JsonFloat,
    }

    pub fn serialize<S: Serializer>(value: &Option<Metrics>, s: S) -> Result<S::Ok, S::Error> {
        value
            .as_ref()
            .map(|m| Stored {
                chamfer: m.chamfer.into(),
                sliced_wasserstein: m.sliced_wasserstein.into(),
                mmd: m.mmd.into(),
            })
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Metrics>, D::Error> {
        Option::<Stored>::deserialize(d)?
            .map(|m| {
                Ok(Metrics {
                    chamfer: m.chamfer.value()?,
                    sliced_wasserstein: m.sliced_wasserstein.value()?,
                    mmd: m.mmd.value()?,
                })
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_round_trip_in_order() {
        let weights = vec![
            NamedTensor {
                name: "z.weight".into(),
                shape: vec![2, 2],
                data: vec![1.0, -2.5, f32::MIN_POSITIVE, 4.0],
            },
            NamedTensor {
                name: "a.bias".into(),
                shape: vec![2],
                data: vec![0.5, 7.0],
            },
        ];
        assert_eq!(decode_weights(&encode_weights(&weights)).unwrap(), weights);
    }

    #[test]
    fn non_finite_numbers_survive_json() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Loss(#[serde(with = "lenient_float")] Option<f64>);
        for x in [1.5, f64::INFINITY, f64::NEG_INFINITY] {
            let json = serde_json::to_string(&Loss(Some(x))).unwrap();
            assert_eq!(serde_json::from_str::<Loss>(&json).unwrap(), Loss(Some(x)));
        }
        let nan: Loss =
            serde_json::from_str(&serde_json::to_string(&Loss(Some(f64::NAN))).unwrap()).unwrap();
        assert!(nan.0.unwrap().is_nan());
    }

    #[test]
    fn csv_round_trips_exactly() {
        let samples = vec![[0.1 + 0.2, -1e-300], [f64::MAX, 3.0]];
        let text = samples_csv(&samples);
        let parsed = parse_csv(Path::new("s.csv"), &text, "x,y", |f| {
            Ok([parse_f64(f[0])?, parse_f64(f[1])?])
        })
        .unwrap();
        assert_eq!(parsed, samples);
    }
}
