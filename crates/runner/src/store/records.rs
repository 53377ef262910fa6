//! What the store's records hold: `record.json` of a run, `model.json` of a model, and
//! what a look-up finds.

use std::collections::BTreeMap;
use std::fs;

use chrono::{DateTime, Utc};
use ddpm::Metrics;
use serde::{Deserialize, Serialize};

use crate::identity::{ModelId, RunId};

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
    #[serde(with = "crate::store::formats::lenient_float")]
    pub final_loss: Option<f64>,
    /// Sample quality in data space, for a completed run.
    #[serde(with = "crate::store::formats::lenient_metrics")]
    pub metrics: Option<Metrics>,
    /// The metrics of a perfect model (a fresh draw of the data), for scale.
    #[serde(with = "crate::store::formats::lenient_metrics")]
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
    pub model: Option<ModelId>,
    /// The sha256 (hex) of every other file of the run, by file name (including its
    /// model's `loss.csv` and `weights.safetensors`).
    pub artifacts: BTreeMap<String, String>,
    /// The sha256 (hex) of the record's own content ([`content_checksum`](super::content_checksum)), so that an
    /// edit that leaves valid JSON (a digit of a metric) is found on read. Absent in
    /// records written before it existed, which are read unchecked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
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

/// `model.json`: everything known about a trained model but its bulky artifacts.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ModelRecord {
    /// The model's id (the name of its directory).
    pub id: ModelId,
    /// [`ddpm::SEMANTICS_VERSION`] when it was trained.
    pub semantics_version: u32,
    /// `completed` (trained) or `diverged`.
    pub status: Status,
    /// The first epoch with a non-finite loss, for a diverged model.
    pub diverged_epoch: Option<usize>,
    /// The loss of the last epoch (`"NaN"` and `"inf"` as strings).
    #[serde(with = "crate::store::formats::lenient_float")]
    pub final_loss: Option<f64>,
    /// Wall seconds spent training.
    pub train_seconds: f64,
    /// The instruction-set path that trained it.
    pub kernel_isa: String,
    /// The commit, compiler, CPU and system that trained it.
    pub provenance: crate::Provenance,
    /// When training started.
    pub started_at: DateTime<Utc>,
    /// When training ended.
    pub finished_at: DateTime<Utc>,
    /// The version of diffsweep that trained it.
    pub diffsweep_version: String,
    /// The machine that trained it.
    pub host: Host,
    /// The sha256 (hex) of `loss.csv` and `weights.safetensors`.
    pub artifacts: BTreeMap<String, String>,
    /// The sha256 (hex) of the model's `config.toml`, checked by `fsck` (kept apart from
    /// `artifacts`, which runs copy next to their own `config.toml`). Absent in models
    /// stored before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_sha256: Option<String>,
    /// The sha256 of the record's own content, as [`Record::checksum`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
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
