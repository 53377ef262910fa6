//! A sweep's index, `sweeps/<name>.json`: which runs make up a sweep and what its report
//! asks, read and written through the store's sweep files.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Compare, Experiment, ReportOptions};
use crate::identity::RunId;
use crate::store::RunStore;
use crate::Result;

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
                .iter()
                .map(|cell| SweepCell {
                    axes: cell.axes.clone(),
                    run_id: cell.id.clone(),
                    label: cell.label.clone(),
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

impl RunStore {
    /// The stored index of sweep `name`.
    pub fn sweep_index(&self, name: &str) -> Result<SweepIndex> {
        self.read_sweep_file(name)
    }

    /// Writes (or replaces) a sweep's index, atomically.
    pub fn write_sweep_index(&self, index: &SweepIndex) -> Result<()> {
        self.write_sweep_file(&index.name, index)
    }
}
