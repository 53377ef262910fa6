//! Pass two over an experiment file: values against the config types, the limits, the
//! expansion into cells (counted before it is built), ranges, duplicates and selectors.

use rayon::prelude::*;

use super::*;

/// An entry's identity while the file is resolved (drafts borrow the entries).
fn address(entry: &Entry) -> usize {
    entry as *const Entry as usize
}

/// The value `config` has at the leaf `path`, as a cell's axes hold it (normalised JSON).
fn leaf_of(config: &RunConfig, path: &str) -> serde_json::Value {
    let json = serde_json::to_value(config).expect("a RunConfig always serializes");
    let value = config_path::get(&json, path)
        .cloned()
        .expect("axes are valid paths");
    normalize(value)
}

/// The axes of an experiment in display order: the `[grid]` keys, the `[[zip]]` keys,
/// `seed` when `seeds = N`, and the keys `[[include]]` cells set that nothing else varies
/// (before `seed`).
pub(super) fn axis_order(raw: &Raw) -> Vec<String> {
    let mut axes: Vec<String> = raw
        .grid
        .iter()
        .chain(&raw.zips)
        .flat_map(|factor| factor.paths.iter().map(|(path, _)| path.clone()))
        .collect();
    if raw.seeds.is_some() {
        axes.push("seed".to_string());
    }
    for (_, entries) in &raw.include {
        for entry in entries {
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
    axes
}

impl Parser<'_> {
    /// The experiment's name, which every experiment needs.
    pub(super) fn name_of(&self, raw: &Raw) -> Result<String> {
        raw.name.clone().ok_or_else(|| {
            self.error(
                &[],
                Aim::Key,
                "missing `name`: every experiment needs a name, e.g. name = \"quick\"",
            )
        })
    }

    /// Sets one entry and checks that the config still deserializes.
    pub(super) fn apply(&self, table: &mut toml::Table, entry: &Entry) -> Result<RunConfig> {
        config_path::set(table, &entry.path, entry.value.clone())
            .map_err(|message| self.error(&entry.doc, Aim::Key, message))?;
        config_path::deserialize(table.clone()).map_err(|message| {
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
    pub(super) fn resolve(&self, raw: Raw, source: &Path) -> Result<Experiment> {
        let name = self.name_of(&raw)?;
        let axes = axis_order(&raw);

        let mut base = config_path::to_table(&RunConfig::default());
        for entry in &raw.base {
            if entry.path == "seed" && raw.seeds.is_some() {
                return Err(self.error(
                    &entry.doc,
                    Aim::Key,
                    "`seed` has no effect here: `seeds = N` gives the cells the seeds 0, 1, \
                     ..., N - 1; drop one of them",
                ));
            }
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
        // Each entry's value as the config serializes it (the cells' axis values), from
        // the config it was checked in: a leaf's value depends on its own entry only.
        // Looked up once per axis and cell: foldhash, not SipHash (no untrusted keys here).
        let mut leaves: foldhash::HashMap<usize, serde_json::Value> = Default::default();
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
            }
            for row in &factor.rows {
                for entry in row {
                    let config = self.apply(&mut base.clone(), entry)?;
                    leaves.insert(address(entry), leaf_of(&config, &entry.path));
                }
            }
        }
        for (_, entries) in &raw.include {
            let mut table = base.clone();
            for entry in entries {
                let config = self.apply(&mut table, entry)?;
                leaves.insert(address(entry), leaf_of(&config, &entry.path));
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

        let base_config =
            config_path::deserialize(base.clone()).expect("the base was checked entry by entry");
        let base_leaves: foldhash::HashMap<&String, serde_json::Value> = axes
            .iter()
            .map(|path| (path, leaf_of(&base_config, path)))
            .collect();

        // Every entry was checked alone above, so only the config as a whole is left.
        let config_of = |draft: &Draft| -> Result<RunConfig> {
            let mut table = base.clone();
            for entry in &draft.entries {
                config_path::set(&mut table, &entry.path, entry.value.clone())
                    .map_err(|message| self.error(&entry.doc, Aim::Key, message))?;
            }
            config_path::deserialize(table).map_err(|message| {
                self.error(draft.origin.map_or(&[][..], |d| d), Aim::Value, message)
            })
        };
        let cell_of = |draft: &Draft, config: RunConfig| -> Cell {
            let axis_values: BTreeMap<String, serde_json::Value> = axes
                .iter()
                .map(|path| {
                    let value = match draft.entries.iter().rev().find(|e| &e.path == path) {
                        Some(entry) => &leaves[&address(entry)],
                        None => &base_leaves[path],
                    };
                    (path.clone(), value.clone())
                })
                .collect();
            let label = label_of(axes.iter().map(|p| (p.as_str(), &axis_values[p])));
            Cell {
                id: RunId::of(&config),
                axes: axis_values,
                label,
                config,
            }
        };
        // Cells are built in parallel (each is a pure function of its draft) and kept in
        // the drafts' order; the first draft in that order that fails is the error. Cells
        // of the product that differ only in the seed of `seeds = N` (the innermost
        // factor) share the rest of their config: it is set and deserialised once for a
        // run of them, and each cell's copy takes its own seed, which is all that setting
        // `seed` to that integer does (tested against the same grid with `seed` as an axis).
        let seeded = raw.seeds.is_some();
        let built: Vec<Result<Cell>> = drafts
            .par_chunk_by(|a, b| seeded && differ_in_seed_only(a, b))
            .flat_map_iter(|group| match config_of(&group[0]) {
                // Every draft of the group fails alike; the first one is reported.
                Err(err) => vec![Err(err)],
                Ok(shared) => group
                    .iter()
                    .enumerate()
                    .map(|(i, draft)| {
                        let mut config = shared.clone();
                        // The first draft set its own seed (if it has one) in `shared`.
                        if i > 0 {
                            config.seed = seed_of(draft);
                        }
                        Ok(cell_of(draft, config))
                    })
                    .collect(),
            })
            .collect();
        let cells = built.into_iter().collect::<Result<Vec<Cell>>>()?;
        let from_product: Vec<bool> = drafts.iter().map(|d| d.origin.is_none()).collect();

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
                        "this [[exclude]] ({}) matches no cell of the grid; {}",
                        selector.describe(),
                        values_named(&selector, cells.iter().map(|c| &c.axes))
                    ),
                ));
            }
        }
        // The cells stay where they are (100,000 of them are 30 MB): the excluded ones are
        // dropped in place, and the kept cells' drafts listed beside them.
        let kept_drafts: Vec<&Draft> = drafts
            .iter()
            .zip(&keep)
            .filter_map(|(draft, &keep)| keep.then_some(draft))
            .collect();
        let mut cells = cells;
        let mut flags = keep.iter();
        cells.retain(|_| *flags.next().expect("one flag per cell"));

        if cells.is_empty() {
            return Err(self.error(
                &[],
                Aim::Key,
                "the experiment has no cells: give it [grid] lists, a [[zip]], `seeds = N` or [[include]] cells",
            ));
        }

        let mut seen: foldhash::HashMap<&RunId, (&str, &Draft)> =
            foldhash::HashMap::with_capacity_and_hasher(cells.len(), Default::default());
        for (cell, draft) in cells.iter().zip(kept_drafts) {
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
            if let Some((first, first_draft)) = seen.insert(&cell.id, (&cell.label, draft)) {
                // Point at the value that makes this cell: its last entry the first cell
                // does not share (`T = [10, 10]`: the second 10).
                let doc = draft
                    .entries
                    .iter()
                    .rev()
                    .find(|e| !first_draft.entries.iter().any(|f| address(f) == address(e)))
                    .map(|e| e.doc.clone())
                    .or_else(|| draft.origin.cloned())
                    .unwrap_or_default();
                return Err(self.error(
                    &doc,
                    Aim::Value,
                    if *first == cell.label {
                        format!("two cells are both `{first}`, the same run; remove one")
                    } else {
                        format!(
                            "cells `{first}` and `{}` are the same run (they differ only in \
                             values the run never reads, such as a parameter of another \
                             schedule or sampler); remove one",
                            cell.label
                        )
                    },
                ));
            }
        }

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
                            format!(
                                "selector {{ {} }} matches no cell; {}",
                                selector.describe(),
                                values_named(&selector, cells.iter().map(|c| &c.axes))
                            ),
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

        let mut report = ReportOptions {
            correction: raw.correction,
            ..ReportOptions::default()
        };
        if let Some((doc, entries)) = &raw.featured {
            let selector = self.selector(&base, doc, entries, &axes, "`featured`")?;
            if !cells.iter().any(|cell| selector.matches(&cell.axes)) {
                return Err(self.error(
                    doc,
                    Aim::Value,
                    format!(
                        "`featured` {{ {} }} matches no cell; {}",
                        selector.describe(),
                        values_named(&selector, cells.iter().map(|c| &c.axes))
                    ),
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
            slurm: raw.slurm,
            cells,
        })
    }

    /// A selector's values, normalized the way cell axes are (so `4` matches `4.0`).
    pub(super) fn selector(
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

/// Whether two product drafts have the same entries but the last, the seed of `seeds = N`.
fn differ_in_seed_only(a: &Draft<'_>, b: &Draft<'_>) -> bool {
    let (Some((a_seed, a_rest)), Some((b_seed, b_rest))) =
        (a.entries.split_last(), b.entries.split_last())
    else {
        return false;
    };
    a.origin.is_none()
        && b.origin.is_none()
        && a_seed.path == "seed"
        && b_seed.path == "seed"
        && a_rest.len() == b_rest.len()
        && a_rest.iter().zip(b_rest).all(|(x, y)| std::ptr::eq(*x, *y))
}

/// The seed a draft's last entry (one of `seeds = N`'s, 0 to N - 1) sets.
fn seed_of(draft: &Draft<'_>) -> u64 {
    let entry = draft
        .entries
        .last()
        .expect("a seeded draft has its seed last");
    let seed = entry
        .value
        .as_integer()
        .expect("`seeds = N` makes integer seeds");
    u64::try_from(seed).expect("`seeds = N` makes non-negative seeds")
}

/// A TOML value as the user wrote it (a datetime as a datetime, not as the toml crate's
/// internal table).
pub(super) fn show(value: &toml::Value) -> String {
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

pub(super) fn to_toml(value: &EditValue) -> toml::Value {
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

/// What a selector that matches no cell could have named: the values each of its axes
/// takes among `cells` (at most ten each), e.g. `the grid has T: 10, 20; scaling: minmax`.
fn values_named<'a>(
    selector: &Selector,
    cells: impl Iterator<Item = &'a BTreeMap<String, serde_json::Value>> + Clone,
) -> String {
    const MOST: usize = 10;
    let axes: Vec<String> = selector
        .0
        .keys()
        .map(|axis| {
            let mut seen: Vec<String> = Vec::new();
            let mut more = false;
            for value in cells.clone().filter_map(|axes| axes.get(axis)) {
                let text = match value {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if !seen.contains(&text) {
                    if seen.len() == MOST {
                        more = true;
                        break;
                    }
                    seen.push(text);
                }
            }
            let etc = if more { ", ..." } else { "" };
            format!("{axis}: {}{etc}", seen.join(", "))
        })
        .collect();
    format!("the grid has {}", axes.join("; "))
}

/// `path=value` words; strings are written bare.
pub(super) fn label_of<'a>(
    pairs: impl Iterator<Item = (&'a str, &'a serde_json::Value)>,
) -> String {
    pairs
        .map(|(path, value)| match value {
            serde_json::Value::String(s) => format!("{path}={s}"),
            other => format!("{path}={other}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}
