//! Trained models in the store, shared by the runs that sample them:
//!
//! ```text
//! <root>/models/<model id>/config.toml          the model part of the config (sampling at defaults)
//! <root>/models/<model id>/model.json           status, final loss, timings, versions, artifact hashes
//! <root>/models/<model id>/loss.csv             epoch,loss
//! <root>/models/<model id>/weights.safetensors  the trained network, f32
//! <root>/models/<model id>.lock                 held (flock) while a process trains it
//! ```
//!
//! A model is named by [`RunId::of_model`]: runs whose configs differ only in `sampling`
//! share it, so a sweep over samplers trains each model once. Written like runs are
//! ([`crate::store::write_dir_atomically`]), under the model's lock.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use ddpm::{RunConfig, RunStatus, TrainedModel};
use serde::{Deserialize, Serialize};

use crate::identity::RunId;
use crate::store::{
    decode_weights, encode_weights, loss_csv, parse_loss_csv, read_json_if_present,
    write_dir_atomically, write_synced, Host, RunLock, RunStore, Status,
};
use crate::{Error, Result};

/// `model.json`: everything known about a trained model but its bulky artifacts.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ModelRecord {
    /// The model's id (the name of its directory).
    pub id: RunId,
    /// [`ddpm::SEMANTICS_VERSION`] when it was trained.
    pub semantics_version: u32,
    /// `completed` (trained) or `diverged`.
    pub status: Status,
    /// The first epoch with a non-finite loss, for a diverged model.
    pub diverged_epoch: Option<usize>,
    /// The loss of the last epoch (`"NaN"` and `"inf"` as strings).
    #[serde(with = "crate::store::lenient_float")]
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
    /// The sha256 of the record's own content, as [`crate::Record::checksum`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}

impl RunStore {
    /// The directory of a model (which may not exist).
    pub fn model_dir(&self, id: &RunId) -> PathBuf {
        self.models_dir().join(id.as_str())
    }

    /// Every stored model, in id order.
    pub fn model_ids(&self) -> Result<Vec<RunId>> {
        let dir = self.models_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(Error::io("cannot list", dir, err)),
        };
        let mut ids: Vec<RunId> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .filter_map(|e| RunId::parse(&e.file_name().to_string_lossy()))
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// The record of a model, or `None` if it is not stored.
    pub fn model_record(&self, id: &RunId) -> Result<Option<ModelRecord>> {
        let path = self.model_dir(id).join("model.json");
        let record: Option<ModelRecord> = read_json_if_present(&path)?;
        if let Some(record) = &record {
            crate::store::verify_checksum(&path, record, |r| &mut r.checksum)?;
        }
        Ok(record)
    }

    /// Takes the lock of model `id`, waiting while another process holds it (it is
    /// training the model, which this process then loads instead of training again).
    pub fn lock_model(&self, id: &RunId) -> Result<RunLock> {
        Ok(self
            .acquire_in(&self.models_dir(), id, true)?
            .expect("a blocking lock either succeeds or fails"))
    }

    /// Reads a stored model back, bit for bit as it was trained.
    pub fn load_model(&self, record: &ModelRecord) -> Result<TrainedModel> {
        let dir = self.model_dir(&record.id);
        let read = |file: &str| {
            let path = dir.join(file);
            fs::read(&path)
                .map(|bytes| (path.clone(), bytes))
                .map_err(|err| Error::io("cannot read", path, err))
        };
        // Checked against the record's sha256 before anything is decoded: a damaged
        // model is never sampled.
        let (path, bytes) = read("weights.safetensors")?;
        crate::store::verify_artifact(&path, "weights.safetensors", &bytes, &record.artifacts)?;
        let weights = decode_weights(&bytes).map_err(|m| Error::corrupt(&path, m))?;
        let (path, bytes) = read("loss.csv")?;
        crate::store::verify_artifact(&path, "loss.csv", &bytes, &record.artifacts)?;
        let text = String::from_utf8(bytes).map_err(|err| Error::corrupt(&path, err))?;
        let loss_curve = parse_loss_csv(&path, &text)?;
        let status = match (record.status, record.diverged_epoch) {
            (Status::Diverged, Some(epoch)) => RunStatus::Diverged { epoch },
            (Status::Completed, _) => RunStatus::Completed,
            _ => {
                return Err(Error::corrupt(
                    dir.join("model.json"),
                    "a model is completed or diverged at an epoch",
                ))
            }
        };
        let final_loss = record.final_loss.unwrap_or(f64::NAN);
        let kernel_isa = ddpm::fused::Isa::detect();
        Ok(TrainedModel {
            status,
            final_loss,
            loss_curve,
            weights,
            kernel_isa,
            train_seconds: record.train_seconds,
        })
    }

    /// Stores a trained model under its lock: temporary directory, then rename.
    pub fn write_model(
        &self,
        lock: &RunLock,
        config: &RunConfig,
        model: &TrainedModel,
        started_at: DateTime<Utc>,
        finished_at: DateTime<Utc>,
    ) -> Result<ModelRecord> {
        let id = lock.id();
        write_dir_atomically(&self.models_dir(), id, |tmp| {
            let mut artifacts = BTreeMap::new();
            let mut put = |name: &str, bytes: &[u8], listed: bool| -> Result<()> {
                write_synced(&tmp.join(name), bytes)?;
                if listed {
                    artifacts.insert(name.to_string(), crate::store::sha256_hex(bytes));
                }
                Ok(())
            };
            let part = toml::to_string(&config.model_part()).expect("a RunConfig serializes");
            let config_text = format!(
                "# model {id}, training semantics v{} (sampling at its defaults: runs that differ only in sampling share this model)\n{part}",
                ddpm::SEMANTICS_VERSION
            );
            put("config.toml", config_text.as_bytes(), false)?;
            let config_sha256 = crate::store::sha256_hex(config_text.as_bytes());
            put("loss.csv", loss_csv(&model.loss_curve).as_bytes(), true)?;
            put("weights.safetensors", &encode_weights(&model.weights), true)?;
            let (status, diverged_epoch) = match model.status {
                RunStatus::Completed => (Status::Completed, None),
                RunStatus::Diverged { epoch } => (Status::Diverged, Some(epoch)),
                // Only an evaluation's samples can be non-finite; a model is trained or not.
                RunStatus::NonFinite => unreachable!("a trained model is completed or diverged"),
            };
            let record = ModelRecord {
                id: id.clone(),
                semantics_version: ddpm::SEMANTICS_VERSION,
                status,
                diverged_epoch,
                final_loss: Some(model.final_loss),
                train_seconds: model.train_seconds,
                kernel_isa: model.kernel_isa.name().to_string(),
                provenance: crate::Provenance::current().clone(),
                started_at,
                finished_at,
                diffsweep_version: env!("CARGO_PKG_VERSION").to_string(),
                host: Host::current(),
                artifacts,
                config_sha256: Some(config_sha256),
                checksum: None,
            };
            let record = ModelRecord {
                checksum: Some(crate::store::content_checksum(&record)),
                ..record
            };
            let json = serde_json::to_string_pretty(&record).expect("a record is plain data");
            write_synced(&tmp.join("model.json"), json.as_bytes())?;
            Ok(record)
        })
    }
}
