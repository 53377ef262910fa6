//! The reporter's own view of a sweep: one [`RunRow`] per stored run, independent of the
//! runner's record format so that every table and plot can be tested on synthetic runs.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use ddpm::Metrics;

use crate::{Error, Result};

/// The axis that names a run's seed. It is never a grouping key: seeds are replicates.
pub const SEED_AXIS: &str = "seed";

/// The names of the sample-quality metrics, in the order of [`ddpm::Metrics::NAMES`].
pub fn metric_names() -> &'static [&'static str] {
    &Metrics::NAMES
}

/// One metric of `metrics` by its name in [`ddpm::Metrics::NAMES`].
pub fn metric_value(metrics: &Metrics, name: &str) -> Option<f64> {
    metrics.get(name)
}

/// The value a run takes on one grid axis, as the experiment file wrote it.
#[derive(Clone, Debug, PartialEq)]
pub enum AxisValue {
    /// A boolean flag, e.g. `schedule.zero_terminal_snr`.
    Bool(bool),
    /// An integer, e.g. `T`.
    Int(i64),
    /// A real number, e.g. `schedule.power`.
    Float(f64),
    /// A string, e.g. `schedule.kind` or `scaling`.
    Text(String),
}

impl AxisValue {
    /// Converts a JSON value from a sweep index; arrays and tables are kept as their JSON
    /// text so that they still group and sort consistently.
    pub fn from_json(value: &serde_json::Value) -> AxisValue {
        match value {
            serde_json::Value::Bool(b) => AxisValue::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => AxisValue::Int(i),
                None => AxisValue::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => AxisValue::Text(s.clone()),
            other => AxisValue::Text(other.to_string()),
        }
    }

    /// The value as a number, when it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            AxisValue::Int(i) => Some(*i as f64),
            AxisValue::Float(x) => Some(*x),
            AxisValue::Bool(_) | AxisValue::Text(_) => None,
        }
    }

    /// Whether a selector's JSON value names this axis value. Integers written as floats
    /// (`T = 10.0`) still match.
    pub fn matches_json(&self, value: &serde_json::Value) -> bool {
        let other = AxisValue::from_json(value);
        match (self.as_f64(), other.as_f64()) {
            (Some(a), Some(b)) => a == b,
            _ => *self == other,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            AxisValue::Bool(_) => 0,
            AxisValue::Int(_) | AxisValue::Float(_) => 1,
            AxisValue::Text(_) => 2,
        }
    }
}

impl Eq for AxisValue {}

impl PartialOrd for AxisValue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Numbers sort numerically (so `T = 10 < 100 < 1000`), across integer and float.
impl Ord for AxisValue {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (AxisValue::Bool(a), AxisValue::Bool(b)) => a.cmp(b),
            (AxisValue::Text(a), AxisValue::Text(b)) => a.cmp(b),
            (AxisValue::Int(a), AxisValue::Int(b)) => a.cmp(b),
            _ => match (self.as_f64(), other.as_f64()) {
                (Some(a), Some(b)) => a.total_cmp(&b),
                _ => self.rank().cmp(&other.rank()),
            },
        }
    }
}

impl fmt::Display for AxisValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AxisValue::Bool(b) => write!(f, "{b}"),
            AxisValue::Int(i) => write!(f, "{i}"),
            AxisValue::Float(x) => write!(f, "{x}"),
            AxisValue::Text(s) => f.write_str(s),
        }
    }
}

/// How a stored run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RunStatus {
    /// Trained, sampled and scored.
    Completed,
    /// The training loss became non-finite; no samples, no metrics.
    Diverged,
    /// Trained, but the samples (and so the metrics) are not finite; counted as failed.
    NonFinite,
    /// An error stopped the run.
    Failed,
}

impl RunStatus {
    /// The status as the runner's record spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Completed => "completed",
            RunStatus::Diverged => "diverged",
            RunStatus::NonFinite => "non_finite",
            RunStatus::Failed => "failed",
        }
    }

    /// Parses the runner's spelling.
    pub fn parse(text: &str) -> Result<RunStatus> {
        match text {
            "completed" => Ok(RunStatus::Completed),
            "diverged" => Ok(RunStatus::Diverged),
            "non_finite" => Ok(RunStatus::NonFinite),
            "failed" => Ok(RunStatus::Failed),
            other => Err(Error::Store(format!(
                "unknown run status `{other}`: expected completed, diverged, non_finite or failed"
            ))),
        }
    }
}

/// Wall-clock seconds spent on each phase of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timings {
    /// Training.
    pub train_seconds: f64,
    /// Drawing samples.
    pub sample_seconds: f64,
    /// Computing the metrics and the noise floor.
    pub metric_seconds: f64,
}

impl Timings {
    /// All phases together.
    pub fn total(&self) -> f64 {
        self.train_seconds + self.sample_seconds + self.metric_seconds
    }
}

/// One stored run as the reporter sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRow {
    /// The run's id in the store.
    pub run_id: String,
    /// The run's value on every grid axis except the seed.
    pub axes: BTreeMap<String, AxisValue>,
    /// The run's seed.
    pub seed: u64,
    /// How the run ended.
    pub status: RunStatus,
    /// Sample quality; `None` unless completed.
    pub metrics: Option<Metrics>,
    /// The same metrics for a fresh draw of the data set: what a perfect model scores.
    pub noise_floor: Option<Metrics>,
    /// Time spent per phase.
    pub timings: Timings,
    /// The last training loss, when training got that far.
    pub final_loss: Option<f64>,
    /// The epoch at which the loss stopped being finite, for diverged runs.
    pub diverged_epoch: Option<usize>,
    /// The error of a failed run.
    pub error: Option<String>,
    /// The code version that produced the run.
    pub version: Option<String>,
    /// The stored model the run sampled, when it shares one (its training time is then
    /// the model's, counted once per model in totals).
    pub model: Option<String>,
}

impl RunRow {
    /// The cell this run belongs to: its axis values in `axis_names` order.
    pub fn cell_key(&self, axis_names: &[String]) -> Vec<AxisValue> {
        axis_names
            .iter()
            .map(|name| {
                self.axes
                    .get(name)
                    .cloned()
                    .unwrap_or(AxisValue::Text(String::new()))
            })
            .collect()
    }

    /// Whether every axis of `selector` has the selected value in this run. A selector
    /// may name the seed.
    pub fn matches(&self, selector: &Selector) -> bool {
        selector.0.iter().all(|(axis, wanted)| {
            if axis == SEED_AXIS {
                return wanted.as_u64() == Some(self.seed);
            }
            self.axes
                .get(axis)
                .is_some_and(|value| value.matches_json(wanted))
        })
    }
}

/// A partial assignment of axis values that picks cells or runs, as written in the
/// experiment file (`{ T = 10, "schedule.kind" = "polynomial" }`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selector(pub BTreeMap<String, serde_json::Value>);

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// Every run of one sweep, with the grid's axes in the experiment's order.
#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    /// The sweep's name.
    pub name: String,
    /// What the sweep is for.
    pub description: String,
    /// The grouping axes in the experiment's order, without the seed.
    pub axes: Vec<String>,
    /// One row per run, sorted by cell and then seed.
    pub rows: Vec<RunRow>,
}

impl Sweep {
    /// Builds a sweep, dropping the seed from the axes and sorting the rows so that every
    /// output derived from it is deterministic.
    pub fn new(name: &str, description: &str, axes: &[String], mut rows: Vec<RunRow>) -> Sweep {
        let axes: Vec<String> = axes.iter().filter(|a| *a != SEED_AXIS).cloned().collect();
        rows.sort_by(|a, b| {
            a.cell_key(&axes)
                .cmp(&b.cell_key(&axes))
                .then(a.seed.cmp(&b.seed))
                .then(a.run_id.cmp(&b.run_id))
        });
        Sweep {
            name: name.to_string(),
            description: description.to_string(),
            axes,
            rows,
        }
    }

    /// The distinct cells (axis values without the seed), sorted.
    pub fn cells(&self) -> Vec<Vec<AxisValue>> {
        let mut cells: Vec<Vec<AxisValue>> =
            self.rows.iter().map(|r| r.cell_key(&self.axes)).collect();
        cells.dedup();
        cells
    }

    /// The runs of one cell, by seed.
    pub fn runs_of(&self, cell: &[AxisValue]) -> Vec<&RunRow> {
        self.rows
            .iter()
            .filter(|r| r.cell_key(&self.axes) == cell)
            .collect()
    }

    /// The distinct values of one axis, sorted.
    pub fn values_of(&self, axis: &str) -> Vec<AxisValue> {
        let mut values: Vec<AxisValue> = self
            .rows
            .iter()
            .filter_map(|r| r.axes.get(axis).cloned())
            .collect();
        values.sort();
        values.dedup();
        values
    }

    /// The one cell `selector` picks. Axes left out of the selector must not vary among
    /// the matching runs, so a comparison can never silently pool different cells.
    pub fn select_cell(&self, selector: &Selector) -> Result<Vec<AxisValue>> {
        let mut cells: Vec<Vec<AxisValue>> = self
            .rows
            .iter()
            .filter(|r| r.matches(selector))
            .map(|r| r.cell_key(&self.axes))
            .collect();
        cells.sort();
        cells.dedup();
        match cells.len() {
            1 => Ok(cells.remove(0)),
            0 => Err(Error::Selector(format!(
                "`{{{selector}}}` matches no run of sweep `{}`",
                self.name
            ))),
            n => Err(Error::Selector(format!(
                "`{{{selector}}}` matches {n} cells of sweep `{}`, e.g. {} and {}: name a value \
                 for every axis that varies ({})",
                self.name,
                self.describe_cell(&cells[0]),
                self.describe_cell(&cells[1]),
                self.axes.join(", ")
            ))),
        }
    }

    /// `axis=value` pairs of a cell, joined by commas.
    pub fn describe_cell(&self, cell: &[AxisValue]) -> String {
        self.axes
            .iter()
            .zip(cell)
            .map(|(a, v)| format!("{a}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A run as the report's header names it: its cell, its seed and its id.
    pub fn describe_run(&self, run: &RunRow) -> String {
        format!(
            "{}, seed {} (run `{}`)",
            self.describe_cell(&run.cell_key(&self.axes)),
            run.seed,
            run.run_id
        )
    }

    /// The run to draw in the figures of one model: the first run matching `featured`,
    /// preferring completed runs and the lowest seed; without a selector, the first cell
    /// with seed 0 (or its lowest seed).
    pub fn featured_run(&self, featured: Option<&Selector>) -> Result<Option<&RunRow>> {
        let completed = |r: &&RunRow| r.status == RunStatus::Completed;
        match featured {
            Some(selector) => {
                let matching: Vec<&RunRow> =
                    self.rows.iter().filter(|r| r.matches(selector)).collect();
                // The runner checked that the selector picks a cell of the grid, so no
                // match means its runs are not stored yet: draw no featured figures.
                if matching.is_empty() {
                    return Ok(None);
                }
                Ok(lowest_seed(matching.iter().copied().filter(completed))
                    .or_else(|| lowest_seed(matching.iter().copied())))
            }
            None => Ok(self
                .rows
                .iter()
                .filter(completed)
                .find(|r| r.seed == 0)
                .or_else(|| lowest_seed(self.rows.iter().filter(completed)))),
        }
    }

    /// Total compute time of every run, in seconds.
    pub fn total_seconds(&self) -> f64 {
        self.training_seconds()
            + self
                .rows
                .iter()
                .map(|r| r.timings.sample_seconds + r.timings.metric_seconds)
                .sum::<f64>()
    }

    /// Seconds spent training, each shared model counted once: runs that differ only in
    /// how they sample record the training time of the one model they share.
    pub fn training_seconds(&self) -> f64 {
        let mut seen = std::collections::HashSet::new();
        self.rows
            .iter()
            .filter(|r| r.model.as_ref().is_none_or(|m| seen.insert(m.clone())))
            .map(|r| r.timings.train_seconds)
            .sum()
    }

    /// Distinct models behind the runs (a run without a shared model is its own).
    pub fn model_count(&self) -> usize {
        let mut seen = std::collections::HashSet::new();
        self.rows
            .iter()
            .filter(|r| r.model.as_ref().is_none_or(|m| seen.insert(m.clone())))
            .count()
    }
}

fn lowest_seed<'a>(runs: impl Iterator<Item = &'a RunRow>) -> Option<&'a RunRow> {
    runs.min_by_key(|r| r.seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_sort_numerically_across_int_and_float() {
        let mut values = vec![
            AxisValue::Int(1000),
            AxisValue::Float(2.5),
            AxisValue::Int(10),
            AxisValue::Text("a".into()),
            AxisValue::Int(100),
        ];
        values.sort();
        assert_eq!(
            values,
            vec![
                AxisValue::Float(2.5),
                AxisValue::Int(10),
                AxisValue::Int(100),
                AxisValue::Int(1000),
                AxisValue::Text("a".into()),
            ]
        );
    }

    #[test]
    fn selector_values_match_across_number_types() {
        assert!(AxisValue::Int(10).matches_json(&serde_json::json!(10.0)));
        assert!(AxisValue::Text("ddpm".into()).matches_json(&serde_json::json!("ddpm")));
        assert!(!AxisValue::Int(10).matches_json(&serde_json::json!("10")));
    }
}
