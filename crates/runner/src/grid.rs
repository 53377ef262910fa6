//! Experiment files: parsing, validation, and the expansion of a grid into cells.
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
pub const TOP_LEVEL_KEYS: [&str; 10] = [
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
];

const COMPARE_KEYS: [&str; 6] = ["name", "a", "b", "metric", "margin", "lower_is_better"];
const REPORT_KEYS: [&str; 1] = ["featured"];

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
}

impl Experiment {
    /// Reads and validates an experiment file.
    pub fn load(path: &Path) -> Result<Experiment> {
        let text = limits::read_text_file(path).map_err(|reason| Error::Experiment {
            file: path.display().to_string(),
            location: None,
            message: format!("cannot use it as an experiment file: {reason}"),
        })?;
        Experiment::parse(&text, path)
    }

    /// Validates the text of an experiment file; `source` names it in errors.
    pub fn parse(text: &str, source: &Path) -> Result<Experiment> {
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
        let raw = parser.read()?;
        parser.resolve(raw, source)
    }

    /// Every cell, in grid order (the first axis varies slowest), then the included cells.
    pub fn cells(&self) -> Vec<Cell> {
        self.cells.clone()
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

impl Parser<'_> {
    fn error(&self, doc: &[Segment], aim: Aim, message: impl Into<String>) -> Error {
        Error::Experiment {
            file: self.file.clone(),
            location: location::locate(self.doc, doc, aim)
                .map(|span| location::line_col(self.text, span.start)),
            message: message.into(),
        }
    }

    fn unknown_key(&self, doc: &[Segment], found: &str, context: &str, allowed: &[&str]) -> Error {
        let mut message = format!("unknown key `{}` {context}", limits::shorten(found));
        if found.chars().count() <= limits::MAX_KEY_CHARS {
            if let Some(hint) = config_path::suggest(found, allowed.iter().copied()) {
                let _ = write!(message, " (did you mean `{hint}`?)");
            }
        }
        let _ = write!(message, "; allowed: {}", allowed.join(", "));
        self.error(doc, Aim::Key, message)
    }

    /// Pass one: the document's shape, keys and scalar types.
    fn read(&self) -> Result<Raw> {
        let mut raw = Raw::default();
        for (name, item) in self.doc.as_table().iter() {
            let doc = vec![key(name)];
            match name {
                "name" => {
                    let value = self.string(item, &doc)?;
                    if value.chars().count() > limits::MAX_NAME_CHARS {
                        return Err(self.error(
                            &doc,
                            Aim::Value,
                            format!(
                                "`name` has {} characters, more than the limit of {}: it names files and folders",
                                value.chars().count(),
                                limits::MAX_NAME_CHARS
                            ),
                        ));
                    }
                    let valid = !value.is_empty()
                        && !value.starts_with('.')
                        && value
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
                    if !valid {
                        return Err(self.error(
                            &doc,
                            Aim::Value,
                            format!("invalid `name` {value:?}: it names files, so use letters, digits, `-`, `_` and `.` only"),
                        ));
                    }
                    raw.name = Some(value);
                }
                "description" => raw.description = self.string(item, &doc)?,
                "seeds" => match item.as_integer() {
                    Some(n) if n >= 1 && n as u64 <= limits::MAX_SEEDS => {
                        raw.seeds = Some(n as u64)
                    }
                    other => {
                        let value = other.map_or_else(|| item.to_string(), |n| n.to_string());
                        return Err(self.error(
                            &doc,
                            Aim::Value,
                            format!(
                                "invalid `seeds` {}: expected an integer from 1 to {} (the seeds 0, 1, ..., seeds - 1)",
                                limits::shorten(value.trim()),
                                limits::MAX_SEEDS
                            ),
                        ));
                    }
                },
                "base" => raw.base = self.flatten(self.table(item, &doc, "[base]")?, &doc, "")?,
                "grid" => {
                    let entries = self.flatten(self.table(item, &doc, "[grid]")?, &doc, "")?;
                    for entry in entries {
                        let (values, docs) = self.list(&entry, "[grid]")?;
                        raw.grid.push(Factor {
                            paths: vec![(entry.path.clone(), entry.doc.clone())],
                            rows: values
                                .into_iter()
                                .zip(docs)
                                .map(|(value, doc)| {
                                    vec![Entry {
                                        path: entry.path.clone(),
                                        value,
                                        doc,
                                    }]
                                })
                                .collect(),
                        });
                    }
                }
                "zip" => {
                    for (table_doc, table) in self.tables(item, &doc, "zip")? {
                        raw.zips.push(self.zip(table, &table_doc)?);
                    }
                }
                "include" | "exclude" => {
                    let mut tables = Vec::new();
                    for (table_doc, table) in self.tables(item, &doc, name)? {
                        let entries = self.flatten(table, &table_doc, "")?;
                        if entries.is_empty() {
                            return Err(self.error(
                                &table_doc,
                                Aim::Value,
                                format!("an empty [[{name}]] table: give it `path = value` keys"),
                            ));
                        }
                        tables.push((table_doc, entries));
                    }
                    if name == "include" {
                        raw.include = tables;
                    } else {
                        raw.exclude = tables;
                    }
                }
                "compare" => {
                    for (table_doc, table) in self.tables(item, &doc, "compare")? {
                        raw.compare.push(self.compare(table, table_doc)?);
                    }
                }
                "report" => {
                    let table = self.table(item, &doc, "[report]")?;
                    for (report_key, report_item) in table.iter() {
                        let report_doc = child(&doc, key(report_key));
                        match report_key {
                            "featured" => {
                                let selector =
                                    self.table(report_item, &report_doc, "`featured`")?;
                                raw.featured = Some((
                                    report_doc.clone(),
                                    self.flatten(selector, &report_doc, "")?,
                                ));
                            }
                            other => {
                                return Err(self.unknown_key(
                                    &report_doc,
                                    other,
                                    "in [report]",
                                    &REPORT_KEYS,
                                ))
                            }
                        }
                    }
                }
                other => {
                    return Err(self.unknown_key(&doc, other, "at the top level", &TOP_LEVEL_KEYS))
                }
            }
        }
        Ok(raw)
    }

    fn string(&self, item: &Item, doc: &DocPath) -> Result<String> {
        item.as_str().map(str::to_string).ok_or_else(|| {
            self.error(
                doc,
                Aim::Value,
                format!("`{}` must be a string", location::display(doc)),
            )
        })
    }

    fn table<'i>(&self, item: &'i Item, doc: &DocPath, what: &str) -> Result<&'i dyn TableLike> {
        item.as_table_like()
            .ok_or_else(|| self.error(doc, Aim::Value, format!("{what} must be a table")))
    }

    /// The tables of `[[name]]` (or of an inline array of inline tables).
    fn tables<'i>(
        &self,
        item: &'i Item,
        doc: &DocPath,
        name: &str,
    ) -> Result<Vec<(DocPath, &'i dyn TableLike)>> {
        let not_tables = || {
            self.error(
                doc,
                Aim::Value,
                format!("`{name}` must be an array of tables, written [[{name}]]"),
            )
        };
        match item {
            Item::ArrayOfTables(tables) => Ok(tables
                .iter()
                .enumerate()
                .map(|(i, table)| (child(doc, Segment::Index(i)), table as &dyn TableLike))
                .collect()),
            Item::Value(EditValue::Array(array)) => array
                .iter()
                .enumerate()
                .map(|(i, value)| match value {
                    EditValue::InlineTable(table) => {
                        Ok((child(doc, Segment::Index(i)), table as &dyn TableLike))
                    }
                    _ => Err(not_tables()),
                })
                .collect(),
            _ => Err(not_tables()),
        }
    }

    /// Nested tables become dotted paths, so `schedule.kind = ...`, `"schedule.kind" = ...`
    /// and `schedule = { kind = ... }` mean the same.
    fn flatten(&self, table: &dyn TableLike, doc: &DocPath, prefix: &str) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        for (name, item) in table.iter() {
            let path = if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}.{name}")
            };
            let item_doc = child(doc, key(name));
            match item {
                Item::Value(EditValue::InlineTable(_)) | Item::Table(_) => {
                    let inner = item.as_table_like().expect("a table is table-like");
                    out.extend(self.flatten(inner, &item_doc, &path)?);
                }
                Item::Value(value) => out.push(Entry {
                    path,
                    value: to_toml(value),
                    doc: item_doc,
                }),
                Item::ArrayOfTables(_) | Item::None => {
                    return Err(self.error(
                        &item_doc,
                        Aim::Key,
                        format!("`{path}` cannot be an array of tables"),
                    ))
                }
            }
        }
        Ok(out)
    }

    /// The values of a list-valued entry, each with its own position.
    fn list(&self, entry: &Entry, table: &str) -> Result<(Vec<toml::Value>, Vec<DocPath>)> {
        match &entry.value {
            toml::Value::Array(values) if values.is_empty() => Err(self.error(
                &entry.doc,
                Aim::Value,
                format!(
                    "`{}` in {table} is an empty list: it would leave no cells",
                    entry.path
                ),
            )),
            toml::Value::Array(values) if values.len() > limits::MAX_AXIS_VALUES => Err(self
                .error(
                    &entry.doc,
                    Aim::Value,
                    format!(
                        "`{}` in {table} has {} values, more than the limit of {}",
                        entry.path,
                        values.len(),
                        limits::MAX_AXIS_VALUES
                    ),
                )),
            toml::Value::Array(values) => Ok((
                values.clone(),
                (0..values.len())
                    .map(|i| child(&entry.doc, Segment::Index(i)))
                    .collect(),
            )),
            other => Err(self.error(
                &entry.doc,
                Aim::Value,
                format!(
                    "`{}` in {table} must be a list of values, e.g. `{} = [{}]`",
                    entry.path, entry.path, other
                ),
            )),
        }
    }

    fn zip(&self, table: &dyn TableLike, doc: &DocPath) -> Result<Factor> {
        let entries = self.flatten(table, doc, "")?;
        if entries.is_empty() {
            return Err(self.error(
                doc,
                Aim::Value,
                "an empty [[zip]] table: give it lists of equal length",
            ));
        }
        let mut columns = Vec::new();
        for entry in &entries {
            columns.push(self.list(entry, "[[zip]]")?);
        }
        let length = columns[0].0.len();
        if let Some(i) = columns
            .iter()
            .position(|(values, _)| values.len() != length)
        {
            let lengths: Vec<String> = entries
                .iter()
                .zip(&columns)
                .map(|(e, (values, _))| format!("`{}` has {}", e.path, values.len()))
                .collect();
            return Err(self.error(
                &entries[i].doc,
                Aim::Value,
                format!(
                    "the lists of a [[zip]] vary together and must be equally long: {}",
                    lengths.join(", ")
                ),
            ));
        }
        let rows = (0..length)
            .map(|row| {
                entries
                    .iter()
                    .zip(&columns)
                    .map(|(entry, (values, docs))| Entry {
                        path: entry.path.clone(),
                        value: values[row].clone(),
                        doc: docs[row].clone(),
                    })
                    .collect()
            })
            .collect();
        Ok(Factor {
            paths: entries.into_iter().map(|e| (e.path, e.doc)).collect(),
            rows,
        })
    }

    fn compare(&self, table: &dyn TableLike, doc: DocPath) -> Result<RawCompare> {
        let (mut name, mut a, mut b, mut metric) = (None, None, None, None);
        let (mut margin, mut lower_is_better) = (0.0, true);
        for (field, item) in table.iter() {
            let field_doc = child(&doc, key(field));
            match field {
                "name" => name = Some(self.string(item, &field_doc)?),
                "a" | "b" => {
                    let selector =
                        self.table(item, &field_doc, &format!("`{field}` (a selector)"))?;
                    let entries = (field_doc.clone(), self.flatten(selector, &field_doc, "")?);
                    if field == "a" {
                        a = Some(entries);
                    } else {
                        b = Some(entries);
                    }
                }
                "metric" => {
                    let value = self.string(item, &field_doc)?;
                    if !ddpm::Metrics::NAMES.contains(&value.as_str()) {
                        let mut message = format!("unknown metric `{value}`");
                        if let Some(hint) = config_path::suggest(&value, ddpm::Metrics::NAMES) {
                            let _ = write!(message, " (did you mean `{hint}`?)");
                        }
                        let _ = write!(message, "; allowed: {}", ddpm::Metrics::NAMES.join(", "));
                        return Err(self.error(&field_doc, Aim::Value, message));
                    }
                    metric = Some(value);
                }
                "margin" => {
                    let value = item
                        .as_float()
                        .or_else(|| item.as_integer().map(|i| i as f64))
                        .filter(|m| m.is_finite() && *m >= 0.0);
                    margin = value.ok_or_else(|| {
                        self.error(
                            &field_doc,
                            Aim::Value,
                            "`margin` must be a number >= 0, in the metric's units",
                        )
                    })?;
                }
                "lower_is_better" => {
                    lower_is_better = item.as_bool().ok_or_else(|| {
                        self.error(
                            &field_doc,
                            Aim::Value,
                            "`lower_is_better` must be true or false",
                        )
                    })?;
                }
                other => {
                    return Err(self.unknown_key(
                        &field_doc,
                        other,
                        "in [[compare]]",
                        &COMPARE_KEYS,
                    ))
                }
            }
        }
        let missing = |what: &str| {
            self.error(
                &doc,
                Aim::Value,
                format!("this [[compare]] has no `{what}`; it needs name, a, b and metric (margin and lower_is_better are optional)"),
            )
        };
        Ok(RawCompare {
            name: name.ok_or_else(|| missing("name"))?,
            a: a.ok_or_else(|| missing("a"))?,
            b: b.ok_or_else(|| missing("b"))?,
            metric: metric.ok_or_else(|| missing("metric"))?,
            margin,
            lower_is_better,
            doc,
        })
    }

    /// Sets one entry and checks that the config still deserializes.
    fn apply(&self, table: &mut toml::Table, entry: &Entry) -> Result<RunConfig> {
        config_path::set(table, &entry.path, entry.value.clone())
            .map_err(|message| self.error(&entry.doc, Aim::Key, message))?;
        deserialize(table).map_err(|message| {
            let mut message = format!(
                "invalid value {} for `{}`: {message}",
                limits::shorten(&show(&entry.value)),
                entry.path
            );
            if let Some(allowed) = config_path::choices(&entry.path) {
                message.push_str(&format!("; allowed: {}", allowed.join(", ")));
            }
            self.error(&entry.doc, Aim::Value, message)
        })
    }

    /// Pass two: values against the config types, the expansion, ranges and duplicates.
    fn resolve(&self, raw: Raw, source: &Path) -> Result<Experiment> {
        let name = raw.name.clone().ok_or_else(|| {
            self.error(
                &[],
                Aim::Key,
                "missing `name`: every experiment needs a name, e.g. name = \"quick\"",
            )
        })?;

        let mut base = config_path::to_table(&RunConfig::default());
        for entry in &raw.base {
            self.apply(&mut base, entry)?;
        }

        let mut factors: Vec<Factor> = raw.grid.into_iter().chain(raw.zips).collect();
        if let Some(seeds) = raw.seeds {
            factors.push(Factor {
                paths: vec![("seed".to_string(), vec![key("seeds")])],
                rows: (0..seeds)
                    .map(|seed| {
                        vec![Entry {
                            path: "seed".to_string(),
                            value: toml::Value::Integer(seed as i64),
                            doc: vec![key("seeds")],
                        }]
                    })
                    .collect(),
            });
        }
        let mut axes: Vec<String> = Vec::new();
        let mut axis_docs: HashMap<String, DocPath> = HashMap::new();
        for factor in &factors {
            for (path, doc) in &factor.paths {
                config_path::check(path).map_err(|message| self.error(doc, Aim::Key, message))?;
                if axis_docs.contains_key(path) {
                    let message = if path == "seed" && raw.seeds.is_some() {
                        "`seed` varies twice: `seeds = N` already makes it an axis; drop one of them".to_string()
                    } else {
                        format!("`{path}` varies in more than one place ([grid] or [[zip]]); give each path one place")
                    };
                    return Err(self.error(doc, Aim::Key, message));
                }
                axis_docs.insert(path.clone(), doc.clone());
                axes.push(path.clone());
            }
            for row in &factor.rows {
                for entry in row {
                    self.apply(&mut base.clone(), entry)?;
                }
            }
        }
        for (_, entries) in &raw.include {
            let mut table = base.clone();
            for entry in entries {
                self.apply(&mut table, entry)?;
                if !axes.contains(&entry.path) {
                    let at = if axes.last().map(String::as_str) == Some("seed") {
                        axes.len() - 1
                    } else {
                        axes.len()
                    };
                    axes.insert(at, entry.path.clone());
                }
            }
        }
        let factor_paths: Vec<String> = factors
            .iter()
            .flat_map(|f| f.paths.iter().map(|(p, _)| p.clone()))
            .collect();

        // Count the cells before building any: the product of the factors' sizes, plus
        // each [[include]] cell (times the seeds when it does not set its own).
        let mut count: u64 = if factors.is_empty() { 0 } else { 1 };
        let mut sizes = Vec::new();
        for factor in &factors {
            sizes.push(factor.rows.len().to_string());
            count = count.saturating_mul(factor.rows.len() as u64);
            if count > limits::MAX_CELLS {
                let doc = &factor.paths[0].1;
                return Err(self.error(
                    doc,
                    Aim::Key,
                    format!(
                        "the grid has more than {} cells ({} and more): more than the limit; split the study into several experiment files",
                        limits::MAX_CELLS,
                        sizes.join(" x ")
                    ),
                ));
            }
        }
        let seed_count = raw.seeds.unwrap_or(1);
        for (doc, entries) in &raw.include {
            let per = if entries.iter().any(|e| e.path == "seed") {
                1
            } else {
                seed_count
            };
            count = count.saturating_add(per);
            if count > limits::MAX_CELLS {
                return Err(self.error(
                    doc,
                    Aim::Key,
                    format!("the experiment has more than {} cells with its [[include]] cells: more than the limit", limits::MAX_CELLS),
                ));
            }
        }

        // The product of the factors, the first varying slowest.
        let mut product: Vec<Vec<&Entry>> = if factors.is_empty() {
            Vec::new()
        } else {
            vec![Vec::new()]
        };
        for factor in &factors {
            product = product
                .iter()
                .flat_map(|prefix| {
                    factor
                        .rows
                        .iter()
                        .map(move |row| prefix.iter().copied().chain(row.iter()).collect())
                })
                .collect();
        }
        let mut drafts: Vec<Draft> = product
            .into_iter()
            .map(|entries| Draft {
                entries,
                origin: None,
            })
            .collect();

        let seed_factor = factors
            .iter()
            .find(|f| f.paths.len() == 1 && f.paths[0].0 == "seed");
        for (doc, entries) in &raw.include {
            let sets_seed = entries.iter().any(|e| e.path == "seed");
            match seed_factor {
                Some(seeds) if !sets_seed => {
                    for row in &seeds.rows {
                        drafts.push(Draft {
                            entries: entries.iter().chain(row.iter()).collect(),
                            origin: Some(doc),
                        });
                    }
                }
                _ => drafts.push(Draft {
                    entries: entries.iter().collect(),
                    origin: Some(doc),
                }),
            }
        }

        let mut cells = Vec::new();
        let mut from_product = Vec::new();
        for draft in &drafts {
            // Every entry was checked alone above, so only the config as a whole is left.
            let mut table = base.clone();
            for entry in &draft.entries {
                config_path::set(&mut table, &entry.path, entry.value.clone())
                    .map_err(|message| self.error(&entry.doc, Aim::Key, message))?;
            }
            let config = deserialize(&table).map_err(|message| {
                self.error(draft.origin.map_or(&[][..], |d| d), Aim::Value, message)
            })?;
            let json = serde_json::to_value(&config).expect("a RunConfig always serializes");
            let axis_values: BTreeMap<String, serde_json::Value> = axes
                .iter()
                .map(|path| {
                    let value = config_path::get(&json, path)
                        .cloned()
                        .expect("axes are valid paths");
                    (path.clone(), normalize(value))
                })
                .collect();
            let label = label_of(axes.iter().map(|p| (p.as_str(), &axis_values[p])));
            from_product.push(draft.origin.is_none());
            cells.push(Cell {
                id: RunId::of(&config),
                axes: axis_values,
                label,
                config,
            });
        }

        // Excludes drop cells of the product; included cells are kept as written.
        let mut keep = vec![true; cells.len()];
        for (doc, entries) in &raw.exclude {
            let selector = self.selector(&base, doc, entries, &factor_paths, "[[exclude]]")?;
            let mut matched = false;
            for (i, cell) in cells.iter().enumerate() {
                if from_product[i] && selector.matches(&cell.axes) {
                    keep[i] = false;
                    matched = true;
                }
            }
            if !matched {
                return Err(self.error(
                    doc,
                    Aim::Value,
                    format!(
                        "this [[exclude]] ({}) matches no cell of the grid",
                        selector.describe()
                    ),
                ));
            }
        }
        let mut kept = Vec::new();
        for ((cell, draft), keep) in cells.into_iter().zip(&drafts).zip(keep) {
            if keep {
                kept.push((cell, draft));
            }
        }

        if kept.is_empty() {
            return Err(self.error(
                &[],
                Aim::Key,
                "the experiment has no cells: give it [grid] lists, a [[zip]], `seeds = N` or [[include]] cells",
            ));
        }

        let mut seen: HashMap<&RunId, &str> = HashMap::new();
        for (cell, draft) in &kept {
            if let Err(err) = cell.config.validate() {
                let located = match &err {
                    ddpm::Error::InvalidConfig { key: bad, .. } => draft
                        .entries
                        .iter()
                        .rev()
                        .find(|e| &e.path == bad)
                        .map(|e| e.doc.clone())
                        .or_else(|| {
                            raw.base
                                .iter()
                                .rev()
                                .find(|e| &e.path == bad)
                                .map(|e| e.doc.clone())
                        }),
                    _ => None,
                };
                let doc = located
                    .or_else(|| draft.origin.cloned())
                    .unwrap_or_default();
                return Err(self.error(&doc, Aim::Value, format!("cell `{}`: {err}", cell.label)));
            }
            if let Some(first) = seen.insert(&cell.id, &cell.label) {
                let doc = draft.origin.cloned().unwrap_or_default();
                return Err(self.error(
                    &doc,
                    Aim::Value,
                    format!(
                        "cells `{first}` and `{}` are the same run (they differ at most in parameters their schedule ignores); remove one",
                        cell.label
                    ),
                ));
            }
        }
        let cells: Vec<Cell> = kept.into_iter().map(|(cell, _)| cell).collect();

        let mut compare = Vec::new();
        for raw_compare in &raw.compare {
            // One question may be asked on several metrics, but not twice on one.
            if compare
                .iter()
                .any(|c: &Compare| c.name == raw_compare.name && c.metric == raw_compare.metric)
            {
                return Err(self.error(
                    &child(&raw_compare.doc, key("name")),
                    Aim::Value,
                    format!(
                        "two [[compare]] entries named `{}` use the metric `{}`",
                        raw_compare.name, raw_compare.metric
                    ),
                ));
            }
            let mut sides = Vec::new();
            for (doc, entries) in [&raw_compare.a, &raw_compare.b] {
                let selector = self.selector(&base, doc, entries, &axes, "a selector")?;
                // One cell, whose seeds are the samples: two configurations are never
                // pooled as if they were seeds.
                let matched: std::collections::BTreeSet<String> = cells
                    .iter()
                    .filter(|cell| selector.matches(&cell.axes))
                    .map(|cell| {
                        axes.iter()
                            .filter(|axis| axis.as_str() != "seed")
                            .filter_map(|axis| cell.axes.get(axis))
                            .map(|value| value.to_string())
                            .collect::<Vec<_>>()
                            .join("\u{1f}")
                    })
                    .collect();
                match matched.len() {
                    1 => {}
                    0 => {
                        return Err(self.error(
                            doc,
                            Aim::Value,
                            format!("selector {{ {} }} matches no cell", selector.describe()),
                        ))
                    }
                    n => {
                        return Err(self.error(
                            doc,
                            Aim::Value,
                            format!(
                                "selector {{ {} }} matches {n} cells (seeds aside); name a value for every axis that varies",
                                selector.describe()
                            ),
                        ))
                    }
                }
                sides.push(selector);
            }
            let b = sides.pop().expect("two sides");
            let a = sides.pop().expect("two sides");
            if let Some(cell) = cells
                .iter()
                .find(|cell| a.matches(&cell.axes) && b.matches(&cell.axes))
            {
                return Err(self.error(
                    &raw_compare.doc,
                    Aim::Value,
                    format!(
                        "cell `{}` matches both `a` and `b` of [[compare]] `{}`",
                        cell.label, raw_compare.name
                    ),
                ));
            }
            compare.push(Compare {
                name: raw_compare.name.clone(),
                a,
                b,
                metric: raw_compare.metric.clone(),
                margin: raw_compare.margin,
                lower_is_better: raw_compare.lower_is_better,
            });
        }

        let mut report = ReportOptions::default();
        if let Some((doc, entries)) = &raw.featured {
            let selector = self.selector(&base, doc, entries, &axes, "`featured`")?;
            if !cells.iter().any(|cell| selector.matches(&cell.axes)) {
                return Err(self.error(
                    doc,
                    Aim::Value,
                    format!("`featured` {{ {} }} matches no cell", selector.describe()),
                ));
            }
            report.featured = Some(selector);
        }

        Ok(Experiment {
            name,
            description: raw.description,
            source: source.to_path_buf(),
            text: self.text.to_string(),
            axes,
            compare,
            report,
            cells,
        })
    }

    /// A selector's values, normalized the way cell axes are (so `4` matches `4.0`).
    fn selector(
        &self,
        base: &toml::Table,
        doc: &DocPath,
        entries: &[Entry],
        allowed: &[String],
        what: &str,
    ) -> Result<Selector> {
        let mut selector = BTreeMap::new();
        for entry in entries {
            if !allowed.contains(&entry.path) {
                let mut message = format!("`{}` is not an axis of this experiment", entry.path);
                if let Some(hint) =
                    config_path::suggest(&entry.path, allowed.iter().map(String::as_str))
                {
                    let _ = write!(message, " (did you mean `{hint}`?)");
                }
                let _ = write!(message, "; {what} may use: {}", allowed.join(", "));
                return Err(self.error(&entry.doc, Aim::Key, message));
            }
            let config = self.apply(&mut base.clone(), entry)?;
            let json = serde_json::to_value(&config).expect("a RunConfig always serializes");
            let value = config_path::get(&json, &entry.path)
                .cloned()
                .expect("checked path");
            selector.insert(entry.path.clone(), normalize(value));
        }
        if selector.is_empty() {
            return Err(self.error(
                doc,
                Aim::Value,
                format!("{what} is empty: give it `path = value` keys"),
            ));
        }
        Ok(Selector(selector))
    }
}

fn deserialize(table: &toml::Table) -> std::result::Result<RunConfig, String> {
    toml::Value::Table(table.clone())
        .try_into::<RunConfig>()
        .map_err(|err| {
            let message = err
                .message()
                .trim_end()
                .replace("expected usize", "expected a non-negative integer")
                .replace("expected u64", "expected a non-negative integer")
                .replace("expected f64", "expected a number");
            match variant_hint(&message) {
                Some(hint) => format!("{message} (did you mean `{hint}`?)"),
                None => message,
            }
        })
}

/// For serde's "unknown variant `cosin`, expected one of `linear`, ...", the closest variant.
fn variant_hint(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown variant `")?;
    let (found, rest) = rest.split_once('`')?;
    let candidates: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    config_path::suggest(found, candidates).map(str::to_string)
}

/// A TOML value as the user wrote it (a datetime as a datetime, not as the toml crate's
/// internal table).
fn show(value: &toml::Value) -> String {
    match value {
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(show).collect::<Vec<_>>().join(", ")
            )
        }
        other => other.to_string(),
    }
}

fn to_toml(value: &EditValue) -> toml::Value {
    match value {
        EditValue::String(s) => toml::Value::String(s.value().clone()),
        EditValue::Integer(i) => toml::Value::Integer(*i.value()),
        EditValue::Float(f) => toml::Value::Float(*f.value()),
        EditValue::Boolean(b) => toml::Value::Boolean(*b.value()),
        EditValue::Datetime(d) => toml::Value::Datetime(*d.value()),
        EditValue::Array(array) => toml::Value::Array(array.iter().map(to_toml).collect()),
        EditValue::InlineTable(table) => toml::Value::Table(
            table
                .iter()
                .map(|(k, v)| (k.to_string(), to_toml(v)))
                .collect(),
        ),
    }
}

/// `path=value` words; strings are written bare.
fn label_of<'a>(pairs: impl Iterator<Item = (&'a str, &'a serde_json::Value)>) -> String {
    pairs
        .map(|(path, value)| match value {
            serde_json::Value::String(s) => format!("{path}={s}"),
            other => format!("{path}={other}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}
