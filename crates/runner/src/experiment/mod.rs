//! Experiment files: parsing, validation, the expansion of a grid into cells, and the
//! sweep index a started experiment leaves in the store.
//!
//! A file is read with `toml_edit`, which keeps the position of every key, so that a
//! mistake anywhere (a misspelt key, a value of the wrong type, a value out of range, two
//! cells that are the same run) is reported with its line and column before anything runs.
//! Values are set into a serialized [`RunConfig`] by dotted path and deserialized back, so
//! the core's types decide what a value may be and `RunConfig::validate` decides its range.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ddpm::RunConfig;
use serde::{Deserialize, Serialize};
use toml_edit::{ImDocument, Item, TableLike, Value as EditValue};

use crate::config_path;
use crate::identity::{normalize, RunId};
use crate::location::{self, Aim, DocPath, Segment};
use crate::{limits, Error, Result};

/// The keys an experiment file may have at its top level.
pub const TOP_LEVEL_KEYS: [&str; 11] = [
    "name",
    "description",
    "seeds",
    "base",
    "grid",
    "zip",
    "include",
    "exclude",
    "compare",
    "report",
    "slurm",
];

const COMPARE_KEYS: [&str; 6] = ["name", "a", "b", "metric", "margin", "lower_is_better"];
const REPORT_KEYS: [&str; 2] = ["featured", "correction"];

/// A parsed and fully validated experiment file.
#[derive(Clone, Debug)]
pub struct Experiment {
    /// The sweep's name; its index is stored as `sweeps/<name>.json`.
    pub name: String,
    /// Free text describing the sweep.
    pub description: String,
    /// The file the experiment was read from, as the user named it.
    pub source: PathBuf,
    /// The file's text, kept so that the sweep index can reproduce it.
    pub text: String,
    /// The config paths that vary between cells, in display order (seed last).
    pub axes: Vec<String>,
    /// The questions the report answers.
    pub compare: Vec<Compare>,
    /// Options for the report.
    pub report: ReportOptions,
    /// How `sweep --on slurm` submits the cells (the command line wins); no part of any
    /// run's identity.
    pub slurm: crate::slurm::SlurmOptions,
    cells: Vec<Cell>,
}

/// One cell of a grid: one run.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// The value of every axis of the experiment in this cell, as normalized JSON.
    pub axes: BTreeMap<String, serde_json::Value>,
    /// The axis values as `path=value` words in axis order, for tables and progress lines.
    pub label: String,
    /// The resolved config.
    pub config: RunConfig,
    /// The run's identity.
    pub id: RunId,
}

/// A partial match on axis values: a cell matches when it has every listed value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Selector(pub BTreeMap<String, serde_json::Value>);

impl Selector {
    /// Whether a cell with these axis values is selected.
    pub fn matches(&self, axes: &BTreeMap<String, serde_json::Value>) -> bool {
        self.0
            .iter()
            .all(|(path, value)| axes.get(path) == Some(value))
    }

    /// The selector as `path=value` words.
    pub fn describe(&self) -> String {
        label_of(self.0.iter().map(|(k, v)| (k.as_str(), v)))
    }
}

/// A question the report answers: is group `a` better than group `b` on `metric`?
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Compare {
    /// A short name for the question; the same question may be asked on several metrics,
    /// so `(name, metric)` is unique in the file.
    pub name: String,
    /// The first group of cells (one per seed, usually).
    pub a: Selector,
    /// The second group.
    pub b: Selector,
    /// One of [`ddpm::Metrics::NAMES`].
    pub metric: String,
    /// The difference, in the metric's units, that matters. The reporter calls `a`
    /// better when the whole 95% interval of `mean(a) - mean(b)` lies below `-margin`,
    /// worse when it lies above `margin`, and otherwise finds no detectable difference.
    pub margin: f64,
    /// Whether a smaller metric is better (true for every metric the core computes).
    pub lower_is_better: bool,
}

/// Which side of a comparison a cell is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Selected by `a`.
    A,
    /// Selected by `b`.
    B,
}

impl Compare {
    /// The side a cell with these axis values is on, if any. Validation guarantees that
    /// no cell is on both.
    pub fn matches(&self, axes: &BTreeMap<String, serde_json::Value>) -> Option<Side> {
        if self.a.matches(axes) {
            Some(Side::A)
        } else if self.b.matches(axes) {
            Some(Side::B)
        } else {
            None
        }
    }
}

/// The `[report]` table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportOptions {
    /// The cells whose run is drawn in the vector-field and reverse-process figures; the
    /// one with the lowest seed is used. Without it, the first cell with the lowest seed.
    pub featured: Option<Selector>,
    /// How each comparison's interval accounts for the report's other comparisons.
    #[serde(default, skip_serializing_if = "is_no_correction")]
    pub correction: Correction,
}

fn is_no_correction(correction: &Correction) -> bool {
    *correction == Correction::None
}

/// `[report] correction`: the confidence level of a report's comparison intervals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Correction {
    /// Each interval at 95% on its own.
    #[default]
    None,
    /// Each of the report's `m` intervals at `1 - 0.05 / m` (Bonferroni), so all `m` hold
    /// together with probability at least 95% and the interval-based verdict rule stays
    /// as it is.
    Bonferroni,
}

impl Correction {
    /// Every value, as written in a file.
    pub const NAMES: [&'static str; 2] = ["none", "bonferroni"];
}

impl Experiment {
    /// Reads and validates an experiment file.
    pub fn load(path: &Path) -> Result<Experiment> {
        Experiment::parse(&read_experiment_file(path)?, path)
    }

    /// Validates the text of an experiment file; `source` names it in errors.
    pub fn parse(text: &str, source: &Path) -> Result<Experiment> {
        with_raw(text, source, |parser, raw| parser.resolve(raw, source))
    }

    /// What `--set` needs of the file it edits: its text, name, description and axes,
    /// read without building the cells (the edited file is then validated whole).
    fn outline(path: &Path) -> Result<Outline> {
        let text = read_experiment_file(path)?;
        let (name, description, axes) = with_raw(&text, path, |parser, raw| {
            Ok((
                parser.name_of(&raw)?,
                raw.description.clone(),
                axis_order(&raw),
            ))
        })?;
        Ok(Outline {
            text,
            name,
            description,
            axes,
        })
    }

    /// Every cell, in grid order (the first axis varies slowest), then the included cells.
    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }

    /// The number of cells.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether there are no cells (never true for a validated experiment).
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// The cell the report features: the first selected cell with the lowest seed.
    pub fn featured_cell(&self) -> Option<&Cell> {
        self.cells
            .iter()
            .filter(|cell| {
                self.report
                    .featured
                    .as_ref()
                    .is_none_or(|s| s.matches(&cell.axes))
            })
            .min_by_key(|cell| cell.config.seed)
    }
}

/// A `path = value` pair from the file, with where it was written.
#[derive(Clone, Debug)]
struct Entry {
    path: String,
    value: toml::Value,
    doc: DocPath,
}

/// A set of axes that vary together: one `[grid]` key, one `[[zip]]` table or `seeds`.
struct Factor {
    paths: Vec<(String, DocPath)>,
    rows: Vec<Vec<Entry>>,
}

struct RawCompare {
    doc: DocPath,
    name: String,
    a: (DocPath, Vec<Entry>),
    b: (DocPath, Vec<Entry>),
    metric: String,
    margin: f64,
    lower_is_better: bool,
}

#[derive(Default)]
struct Raw {
    name: Option<String>,
    description: String,
    seeds: Option<u64>,
    base: Vec<Entry>,
    grid: Vec<Factor>,
    zips: Vec<Factor>,
    include: Vec<(DocPath, Vec<Entry>)>,
    exclude: Vec<(DocPath, Vec<Entry>)>,
    compare: Vec<RawCompare>,
    featured: Option<(DocPath, Vec<Entry>)>,
    correction: Correction,
    slurm: crate::slurm::SlurmOptions,
}

/// A cell before validation: the entries applied on top of `[base]`.
struct Draft<'e> {
    entries: Vec<&'e Entry>,
    /// The `[[include]]` table the cell comes from, if any.
    origin: Option<&'e DocPath>,
}

struct Parser<'a> {
    file: String,
    text: &'a str,
    doc: &'a ImDocument<String>,
}

fn key(name: &str) -> Segment {
    Segment::Key(name.to_string())
}

fn child(doc: &DocPath, segment: Segment) -> DocPath {
    let mut path = doc.clone();
    path.push(segment);
    path
}

mod expand;
mod index;
mod overrides;
mod parse;
mod run_config_file;

use expand::{axis_order, label_of};

/// What `Experiment::outline` reads of a file.
struct Outline {
    text: String,
    name: String,
    description: String,
    axes: Vec<String>,
}

/// The text of an experiment file, bounded in size.
fn read_experiment_file(path: &Path) -> Result<String> {
    limits::read_text_file(path).map_err(|reason| Error::Experiment {
        file: path.display().to_string(),
        location: None,
        message: format!("cannot use it as an experiment file: {reason}"),
    })
}

/// Parses `text` as TOML and reads its tables (pass one), then hands the parser and what
/// it read to `then`.
fn with_raw<T>(
    text: &str,
    source: &Path,
    then: impl FnOnce(&Parser<'_>, Raw) -> Result<T>,
) -> Result<T> {
    with_parser(text, source, |parser| {
        let raw = parser.read()?;
        then(parser, raw)
    })
}

/// Parses `text` as TOML (a syntax error at its line) and hands a parser over it to
/// `then`.
fn with_parser<T>(
    text: &str,
    source: &Path,
    then: impl FnOnce(&Parser<'_>) -> Result<T>,
) -> Result<T> {
    let file = source.display().to_string();
    let doc = ImDocument::parse(text.to_string()).map_err(|err| Error::Experiment {
        file: file.clone(),
        location: err.span().map(|span| location::line_col(text, span.start)),
        message: format!(
            "invalid TOML: {}",
            err.message().trim_end().replace('\n', "; ")
        ),
    })?;
    let parser = Parser {
        file,
        text,
        doc: &doc,
    };
    then(&parser)
}

pub use index::{SweepCell, SweepIndex};
pub use run_config_file::{parse_run_config, run_config_error};
