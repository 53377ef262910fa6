//! A sweep's index, `sweeps/<name>.json`: which runs make up a sweep and what its report
//! asks, read and written through the store's sweep files.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Compare, Experiment, ReportOptions};
use crate::identity::RunId;
use crate::store::{content_checksum, verify_checksum, RunStore};
use crate::{Error, Result};

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
    /// The sha256 of the index's own content, as a run record's
    /// ([`crate::store::content_checksum`]). Absent in indexes written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
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
            checksum: None,
        }
    }

    /// The experiment again, parsed from the stored text.
    pub fn experiment(&self) -> Result<Experiment> {
        Experiment::parse(&self.experiment, Path::new(&self.source))
    }
}

impl RunStore {
    /// The stored index of sweep `name`.
    /// The stored index of sweep `name`, checked: it must match its checksum, be the
    /// index of the sweep its file names, and list each run once (a damaged or edited
    /// index is [`Error::Corrupt`]).
    pub fn sweep_index(&self, name: &str) -> Result<SweepIndex> {
        let index: SweepIndex = self.read_sweep_file(name)?;
        let path = self.sweep_path(name);
        verify_checksum(&path, &index, |i| &mut i.checksum)?;
        if index.name != name {
            return Err(Error::corrupt(
                &path,
                format!("it is the index of sweep `{}`, not `{name}`", index.name),
            ));
        }
        let mut seen = std::collections::HashSet::with_capacity(index.cells.len());
        if let Some(cell) = index.cells.iter().find(|c| !seen.insert(&c.run_id)) {
            return Err(Error::corrupt(
                &path,
                format!("it lists run {} twice", cell.run_id.short()),
            ));
        }
        Ok(index)
    }

    /// Writes (or replaces) a sweep's index, atomically, with its checksum.
    pub fn write_sweep_index(&self, index: &SweepIndex) -> Result<()> {
        let mut index = SweepIndex {
            checksum: None,
            ..index.clone()
        };
        index.checksum = Some(content_checksum(&index));
        self.write_sweep_file(&index.name, &index)
    }
}
