//! Trained models in the store (`models/<model id>/`, see [`super`]), shared by the runs
//! that sample them: reading a model back, checked, and writing one whole, under its lock.
//!
//! A model is named by [`ModelId::of`]: runs whose configs differ only in `sampling`
//! share it, so a sweep over samplers trains each model once.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ddpm::{RunConfig, RunStatus, TrainedModel};

use super::atomic::{write_dir_atomically, write_synced};
use super::checksum::{content_checksum, sha256_hex, verify_artifact};
use super::formats::{
    decode_weights, encode_weights, loss_csv, parse_loss_csv, read_json_if_present,
};
use super::reading::{check_record, read_bounded, MAX_ARTIFACT_BYTES};
use super::records::{Host, ModelRecord, Status};
use super::{ModelLock, RunStore};
use crate::costs::{self, Phase};
use crate::identity::ModelId;
use crate::{Error, Result};

impl RunStore {
    /// The record of a model, or `None` if it is not stored.
    pub fn model_record(&self, id: &ModelId) -> Result<Option<ModelRecord>> {
        costs::timed(Phase::Read, || self.model_record_now(id))
    }

    fn model_record_now(&self, id: &ModelId) -> Result<Option<ModelRecord>> {
        let path = self.model_dir(id).join("model.json");
        let Some(record) = read_json_if_present::<ModelRecord>(&path)? else {
            return Ok(None);
        };
        let ids = (record.id.as_str(), id.as_str());
        check_record(
            &path,
            "model",
            ids,
            (record.started_at, record.finished_at),
            &record,
            |r| &mut r.checksum,
        )?;
        Ok(Some(record))
    }

    /// Reads a stored model back, bit for bit as it was trained.
    pub fn load_model(&self, record: &ModelRecord) -> Result<TrainedModel> {
        costs::timed(Phase::Read, || self.load_model_now(record))
    }

    fn load_model_now(&self, record: &ModelRecord) -> Result<TrainedModel> {
        let dir = self.model_dir(&record.id);
        let read = |file: &str| {
            let path = dir.join(file);
            match read_bounded(&path, MAX_ARTIFACT_BYTES)? {
                Some(bytes) => Ok((path, bytes)),
                None => Err(Error::corrupt(
                    &path,
                    format!("the model's {file} is missing"),
                )),
            }
        };
        // Checked against the record's sha256 before anything is decoded: a damaged
        // model is never sampled.
        let (path, bytes) = read("weights.safetensors")?;
        verify_artifact(&path, "weights.safetensors", &bytes, &record.artifacts)?;
        let weights = decode_weights(&bytes).map_err(|m| Error::corrupt(&path, m))?;
        let (path, bytes) = read("loss.csv")?;
        verify_artifact(&path, "loss.csv", &bytes, &record.artifacts)?;
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
        lock: &ModelLock,
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
                    artifacts.insert(name.to_string(), sha256_hex(bytes));
                }
                Ok(())
            };
            let part = toml::to_string(&config.model_part()).expect("a RunConfig serializes");
            let config_text = format!(
                "# model {id}, training semantics v{} (sampling at its defaults: runs that differ only in sampling share this model)\n{part}",
                ddpm::SEMANTICS_VERSION
            );
            put("config.toml", config_text.as_bytes(), false)?;
            let config_sha256 = sha256_hex(config_text.as_bytes());
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
                checksum: Some(content_checksum(&record)),
                ..record
            };
            let json = serde_json::to_string_pretty(&record).expect("a record is plain data");
            write_synced(&tmp.join("model.json"), json.as_bytes())?;
            Ok(record)
        })
    }
}
