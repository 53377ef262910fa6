//! The bridge from the runner's store to the reporter's model: records become
//! [`RunRow`]s, the experiment's `[[compare]]` entries become [`Question`]s, and the store
//! serves the artifacts the figures need.

use std::collections::BTreeMap;
use std::path::Path;

use ddpm::{NamedTensor, Point, RunConfig};
use runner::{Experiment, RunId, RunStore, Status};

use crate::artifacts::RunArtifacts;
use crate::compare::Question;
use crate::sweep::{AxisValue, RunRow, RunStatus, Selector, Sweep, Timings, SEED_AXIS};
use crate::{render, Error, ReportInput, ReportSummary, Result};

fn store_err(error: runner::Error) -> Error {
    Error::Store(error.to_string())
}

fn run_id(text: &str) -> Result<RunId> {
    RunId::parse(text).ok_or_else(|| Error::Store(format!("`{text}` is not a run id")))
}

impl RunArtifacts for RunStore {
    fn config(&self, run_id_text: &str) -> Result<RunConfig> {
        RunStore::config(self, &run_id(run_id_text)?).map_err(store_err)
    }

    fn samples(&self, run_id_text: &str) -> Result<Vec<Point>> {
        RunStore::samples(self, &run_id(run_id_text)?).map_err(store_err)
    }

    fn loss_curve(&self, run_id_text: &str) -> Result<Vec<(usize, f64)>> {
        RunStore::loss_curve(self, &run_id(run_id_text)?).map_err(store_err)
    }

    fn weights(&self, run_id_text: &str) -> Result<Vec<NamedTensor>> {
        RunStore::weights(self, &run_id(run_id_text)?).map_err(store_err)
    }

    fn record_json(&self, run_id_text: &str) -> Result<Option<serde_json::Value>> {
        let record = RunStore::record(self, &run_id(run_id_text)?).map_err(store_err)?;
        Ok(record.and_then(|r| serde_json::to_value(r).ok()))
    }
}

/// Reads every stored run of `experiment`'s grid. Cells without a record (not run yet)
/// are left out and counted in [`ReportInput::pending_cells`].
/// A corrupt record (it does not parse or does not match its checksum) is left out too,
/// listed in [`ReportInput::corrupt`], and the report carries on with the rest.
pub fn load(store: &RunStore, experiment: &Experiment) -> Result<ReportInput> {
    let mut rows = Vec::new();
    let mut pending = 0;
    let mut corrupt = Vec::new();
    for cell in experiment.cells() {
        let record = match store.lookup(&cell.id).map_err(store_err)? {
            runner::Lookup::Stored(record) => *record,
            runner::Lookup::Absent => {
                pending += 1;
                continue;
            }
            runner::Lookup::Corrupt(reason) => {
                corrupt.push(format!(
                    "{} (run `{}`): {reason}",
                    cell.label,
                    cell.id.short()
                ));
                continue;
            }
        };
        let axes: BTreeMap<String, AxisValue> = cell
            .axes
            .iter()
            .filter(|(axis, _)| axis.as_str() != SEED_AXIS)
            .map(|(axis, value)| (axis.clone(), AxisValue::from_json(value)))
            .collect();
        rows.push(row_of(cell.id.as_str(), axes, cell.config.seed, record));
    }
    let questions = experiment
        .compare
        .iter()
        .map(|c| Question {
            name: c.name.clone(),
            a: Selector(c.a.0.clone()),
            b: Selector(c.b.0.clone()),
            metric: c.metric.clone(),
            margin: c.margin,
            lower_is_better: c.lower_is_better,
        })
        .collect();
    let input = ReportInput {
        sweep: Sweep::new(
            &experiment.name,
            &experiment.description,
            &experiment.axes,
            rows,
        ),
        questions,
        featured: experiment
            .report
            .featured
            .as_ref()
            .map(|s| Selector(s.0.clone())),
        correction: match experiment.report.correction {
            runner::experiment::Correction::None => crate::compare::Correction::None,
            runner::experiment::Correction::Bonferroni => crate::compare::Correction::Bonferroni,
        },
        pending_cells: pending,
        corrupt,
    };
    Ok(input)
}

/// A stored run as the reporter's row, with its values on `axes`.
pub(crate) fn row_of(
    run_id: &str,
    axes: BTreeMap<String, AxisValue>,
    seed: u64,
    record: runner::Record,
) -> RunRow {
    // The runner's one definition of an outcome (a completed run whose metrics are not
    // finite is non-finite), whoever read the record.
    let record = record.normalized();
    let non_finite = record.status == Status::NonFinite;
    RunRow {
        run_id: run_id.to_string(),
        axes,
        seed,
        status: match record.status {
            Status::Completed => RunStatus::Completed,
            Status::NonFinite => RunStatus::NonFinite,
            Status::Diverged => RunStatus::Diverged,
            Status::Failed => RunStatus::Failed,
        },
        metrics: record.metrics,
        noise_floor: record.noise_floor,
        timings: Timings {
            train_seconds: record.train_seconds,
            sample_seconds: record.sample_seconds,
            metric_seconds: record.metric_seconds,
        },
        final_loss: record.final_loss,
        diverged_epoch: record.diverged_epoch,
        model: record.model.as_ref().map(|m| m.to_string()),
        error: if non_finite {
            Some("the sampler produced non-finite points (metrics are not finite)".into())
        } else {
            record.error
        },
        version: Some(match &record.provenance {
            Some(p) => format!(
                "diffsweep {} (semantics {}, commit {})",
                record.diffsweep_version,
                record.semantics_version,
                p.commit_label()
            ),
            None => format!(
                "diffsweep {} (semantics {})",
                record.diffsweep_version, record.semantics_version
            ),
        }),
    }
}

/// Writes the report of `experiment`'s stored runs into `out_dir`. Cells not run yet are
/// left out and named in the report.
pub fn report(store: &RunStore, experiment: &Experiment, out_dir: &Path) -> Result<ReportSummary> {
    let input = load(store, experiment)?;
    if input.sweep.rows.is_empty() && !input.corrupt.is_empty() {
        return Err(Error::AllCorrupt(experiment.name.clone(), input.corrupt));
    }
    if input.sweep.rows.is_empty() {
        return Err(Error::Empty(experiment.name.clone()));
    }
    render(&input, store, out_dir)
}
