//! Runs in the store: reading a run's record and artifacts back, checked, and writing a
//! finished run whole.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use ddpm::fused::Isa;
use ddpm::{
    Evaluation, Metrics, NamedTensor, Point, RunConfig, RunOutcome, RunStatus, TrainedModel,
};

use super::atomic::{write_dir_atomically, write_synced};
use super::checksum::{content_checksum, sha256_hex, verify_artifact};
use super::formats::{
    decode_weights, encode_weights, loss_csv, parse_csv, parse_f64, parse_loss_csv,
    read_json_if_present, samples_csv,
};
use super::reading::{check_record, read_bounded, regular_file, MAX_ARTIFACT_BYTES};
use super::records::{Host, Lookup, ModelRecord, Record, Status};
use super::{RunLock, RunStore};
use crate::costs::{self, Phase};
use crate::identity::RunId;
use crate::{Error, Result};

/// How a check treats the loss curve and weights a run shares with its stored model.
#[derive(Clone, Copy)]
enum ModelFiles {
    /// Not at all (`fsck` checks models apart).
    Skip,
    /// Each must be a regular file (they are hashed when read, as sampling reads them).
    Present,
    /// Read and hashed.
    Hashed,
}

/// A finished run as the store writes it, borrowed from what produced it: a whole
/// [`RunOutcome`], or a trained model and one evaluation of it (which the model's other
/// cells share, so nothing is copied to be written).
#[derive(Clone, Debug, PartialEq)]
pub struct RunView<'a> {
    status: RunStatus,
    final_loss: f64,
    loss_curve: &'a [(usize, f64)],
    metrics: Option<Metrics>,
    noise_floor: Metrics,
    samples: &'a [Point],
    weights: &'a [NamedTensor],
    kernel_isa: Isa,
    train_seconds: f64,
    sample_seconds: f64,
    metric_seconds: f64,
}

impl<'a> RunView<'a> {
    /// A whole run, as `ddpm::run` returns it.
    pub fn whole(outcome: &'a RunOutcome) -> RunView<'a> {
        RunView {
            status: outcome.status.clone(),
            final_loss: outcome.final_loss,
            loss_curve: &outcome.loss_curve,
            metrics: outcome.metrics,
            noise_floor: outcome.noise_floor,
            samples: &outcome.samples,
            weights: &outcome.weights,
            kernel_isa: outcome.kernel_isa,
            train_seconds: outcome.train_seconds,
            sample_seconds: outcome.sample_seconds,
            metric_seconds: outcome.metric_seconds,
        }
    }

    /// A run from its model and one evaluation of it, field for field what
    /// [`RunOutcome::of`] makes of them (without copying the loss curve and weights): its
    /// status is the model's, or [`RunStatus::NonFinite`] when a trained model's samples
    /// are not all finite.
    pub fn evaluated(model: &'a TrainedModel, evaluation: &'a Evaluation) -> RunView<'a> {
        let status = match model.status {
            RunStatus::Completed if !evaluation.is_finite() => RunStatus::NonFinite,
            ref status => status.clone(),
        };
        RunView {
            status,
            final_loss: model.final_loss,
            loss_curve: &model.loss_curve,
            metrics: evaluation.metrics,
            noise_floor: evaluation.noise_floor,
            samples: &evaluation.samples,
            weights: &model.weights,
            kernel_isa: model.kernel_isa,
            train_seconds: model.train_seconds,
            sample_seconds: evaluation.sample_seconds,
            metric_seconds: evaluation.metric_seconds,
        }
    }
}

impl RunStore {
    /// The record of a run, or `None` if the run is not stored.
    pub fn record(&self, id: &RunId) -> Result<Option<Record>> {
        costs::timed(Phase::Read, || self.record_now(id))
    }

    fn record_now(&self, id: &RunId) -> Result<Option<Record>> {
        let path = self.run_dir(id).join("record.json");
        let Some(record) = read_json_if_present::<Record>(&path)? else {
            return Ok(None);
        };
        let ids = (record.id.as_str(), id.as_str());
        check_record(
            &path,
            "run",
            ids,
            (record.started_at, record.finished_at),
            &record,
            |r| &mut r.checksum,
        )?;
        Ok(Some(record.normalized()))
    }

    /// Like [`RunStore::record`], with a corrupt entry as an answer instead of an error,
    /// for callers that set it aside and carry on. Besides the record, each artifact it
    /// lists must be there as a regular file, and the run's own (its config and samples)
    /// must match the sha256 the record lists: a run is only ever used whole. Its model's
    /// loss curve and weights are checked when they are read, as sampling a model does.
    pub fn lookup(&self, id: &RunId) -> Result<Lookup> {
        self.lookup_with(id, true)
    }

    /// [`RunStore::lookup`] without looking for the model's files (`fsck` judges a run
    /// apart from the model it sets aside).
    pub(crate) fn lookup_own(&self, id: &RunId) -> Result<Lookup> {
        self.lookup_with(id, false)
    }

    fn lookup_with(&self, id: &RunId, model_files: bool) -> Result<Lookup> {
        let checked = self.record(id).and_then(|record| {
            if let Some(record) = &record {
                self.check_artifacts_of(
                    id,
                    record,
                    if model_files {
                        ModelFiles::Present
                    } else {
                        ModelFiles::Skip
                    },
                )?;
            }
            Ok(record)
        });
        match checked {
            Ok(Some(record)) => Ok(Lookup::Stored(Box::new(record))),
            Ok(None) => Ok(Lookup::Absent),
            Err(err @ Error::Corrupt { .. }) => Ok(Lookup::Corrupt(err.to_string())),
            Err(err) => Err(err),
        }
    }

    /// Where the artifact `file` of a run lives: a run that shares a stored model keeps
    /// the model's loss curve and weights in the model's directory, never its own.
    fn artifact_path(&self, id: &RunId, record: Option<&Record>, file: &str) -> PathBuf {
        match record.and_then(|r| r.model.as_ref()) {
            Some(model) if matches!(file, "loss.csv" | "weights.safetensors") => {
                self.model_dir(model).join(file)
            }
            _ => self.run_dir(id).join(file),
        }
    }

    /// The artifacts `record` lists: each a regular file, the run's own matching its sha256,
    /// its model's as `model_files` says.
    fn check_artifacts_of(
        &self,
        id: &RunId,
        record: &Record,
        model_files: ModelFiles,
    ) -> Result<()> {
        for file in record.artifacts.keys() {
            let path = self.artifact_path(id, Some(record), file);
            let of_model = record.model.is_some()
                && matches!(file.as_str(), "loss.csv" | "weights.safetensors");
            match model_files {
                ModelFiles::Skip if of_model => continue,
                ModelFiles::Present if of_model => match regular_file(&path) {
                    Ok(()) => continue,
                    Err(reason) => {
                        return Err(Error::corrupt(
                            &path,
                            format!("its model's {file} {reason}"),
                        ))
                    }
                },
                _ => {}
            }
            match read_bounded(&path, MAX_ARTIFACT_BYTES)? {
                None => return Err(Error::corrupt(&path, format!("{file} is missing"))),
                Some(bytes) => verify_artifact(&path, file, &bytes, &record.artifacts)?,
            }
        }
        Ok(())
    }

    /// Every artifact `record` lists, its model's included, read whole and checked against
    /// its sha256: what `verify` establishes before it compares a stored run's hashes.
    pub fn check_every_artifact(&self, id: &RunId, record: &Record) -> Result<()> {
        self.check_artifacts_of(id, record, ModelFiles::Hashed)
    }

    /// Reads one artifact of a run, checked against the sha256 its record lists (a
    /// mismatch is [`Error::Corrupt`]: nothing read from the store is used unchecked).
    fn read(&self, id: &RunId, file: &str) -> Result<(PathBuf, Vec<u8>)> {
        let record = self.record(id)?;
        let path = self.artifact_path(id, record.as_ref(), file);
        match read_bounded(&path, MAX_ARTIFACT_BYTES)? {
            Some(bytes) => {
                if let Some(record) = &record {
                    verify_artifact(&path, file, &bytes, &record.artifacts)?;
                }
                Ok((path, bytes))
            }
            None => Err(Error::UnknownRun(format!(
                "run {id} has no {file} in {}",
                self.root.display()
            ))),
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
        let result = result.as_ref().map(RunView::whole).map_err(String::as_str);
        self.write_run_of(lock, config, result, None, started_at, finished_at)
    }

    /// Stores a run whose model is stored in `models/` (see [`RunStore::write_model`]): its
    /// directory holds the config, record and samples, and its record names the model and
    /// lists the model's loss curve and weights among its artifacts. `result` is the run,
    /// or why it failed.
    pub fn write_run_of(
        &self,
        lock: &RunLock,
        config: &RunConfig,
        result: std::result::Result<RunView<'_>, &str>,
        model: Option<&ModelRecord>,
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
            if let Ok(run) = &result {
                put("samples.csv", samples_csv(run.samples).as_bytes())?;
                if model.is_none() {
                    put("loss.csv", loss_csv(run.loss_curve).as_bytes())?;
                    put("weights.safetensors", &encode_weights(run.weights))?;
                }
            }
            if let (Some(model), Ok(_)) = (model, &result) {
                artifacts.extend(model.artifacts.clone());
            }

            // Written as it is read back: a completed run whose metrics are not all finite
            // (data so noisy its distances overflow) is non-finite.
            let mut record =
                record_of(id, &result, started_at, finished_at, artifacts).normalized();
            record.model = model.map(|m| m.id.clone());
            record.checksum = Some(content_checksum(&record));
            let json = serde_json::to_string_pretty(&record).expect("a record is plain data");
            write_synced(&tmp.join("record.json"), json.as_bytes())?;
            Ok(record)
        })
    }
}

fn record_of(
    id: &RunId,
    result: &std::result::Result<RunView<'_>, &str>,
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
        Ok(run) => {
            match run.status {
                RunStatus::Completed => record.status = Status::Completed,
                RunStatus::NonFinite => record.status = Status::NonFinite,
                RunStatus::Diverged { epoch } => {
                    record.status = Status::Diverged;
                    record.diverged_epoch = Some(epoch);
                }
            }
            record.final_loss = Some(run.final_loss);
            record.metrics = run.metrics;
            record.noise_floor = Some(run.noise_floor);
            record.train_seconds = run.train_seconds;
            record.sample_seconds = run.sample_seconds;
            record.metric_seconds = run.metric_seconds;
            record.kernel_isa = Some(run.kernel_isa.name().to_string());
        }
        Err(message) => record.error = Some(message.to_string()),
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(status: RunStatus) -> TrainedModel {
        TrainedModel {
            status,
            final_loss: 0.25,
            loss_curve: vec![(1, 1.0), (2, 0.25)],
            weights: vec![NamedTensor {
                name: "w".into(),
                shape: vec![2],
                data: vec![1.0, -1.0],
            }],
            kernel_isa: Isa::Scalar,
            train_seconds: 1.5,
        }
    }

    fn evaluation(samples: Vec<Point>) -> Evaluation {
        let metrics = Metrics {
            chamfer: 0.1,
            sliced_wasserstein: 0.2,
            mmd: 0.3,
        };
        Evaluation {
            metrics: Some(metrics),
            noise_floor: metrics,
            samples,
            kernel_isa: Isa::Scalar,
            sample_seconds: 0.5,
            metric_seconds: 0.25,
        }
    }

    /// What the store writes of a model and its evaluation is what it wrote of the whole
    /// run `RunOutcome::of` made of them, in every way a run can end.
    #[test]
    fn an_evaluated_view_is_the_whole_run() {
        for (status, samples) in [
            (RunStatus::Completed, vec![[0.5, 1.0]]),
            (RunStatus::Completed, vec![[f64::NAN, 1.0]]),
            (RunStatus::Diverged { epoch: 2 }, vec![]),
        ] {
            let model = model(status);
            let evaluation = evaluation(samples);
            let whole = RunOutcome::of(&model, evaluation.clone());
            let (a, b) = (
                RunView::evaluated(&model, &evaluation),
                RunView::whole(&whole),
            );
            // By their text, since a NaN sample is not equal to itself.
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
        }
    }
}
