//! Pass one over an experiment file: its shape, keys and scalar types, into a `Raw`
//! description with every value's place in the file kept for messages.

use super::expand::to_toml;
use super::*;
use crate::slurm::{self, OptionValue, SlurmOptions};

impl Parser<'_> {
    pub(super) fn error(&self, doc: &[Segment], aim: Aim, message: impl Into<String>) -> Error {
        Error::Experiment {
            file: self.file.clone(),
            location: location::locate(self.doc, doc, aim)
                .map(|span| location::line_col(self.text, span.start)),
            message: message.into(),
        }
    }

    pub(super) fn unknown_key(
        &self,
        doc: &[Segment],
        found: &str,
        context: &str,
        allowed: &[&str],
    ) -> Error {
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
    pub(super) fn read(&self) -> Result<Raw> {
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
                            format!(
                                "invalid `name` {value:?}: it names files, so use letters, digits, \
                                 `-`, `_` and `.` only, not starting with `.`"
                            ),
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
                        // A key no config has is named as such, whatever its value.
                        if !matches!(entry.value, toml::Value::Array(_))
                            && !config_path::is_known(&entry.path)
                        {
                            return Err(self.error(
                                &entry.doc,
                                Aim::Key,
                                config_path::unknown(&entry.path),
                            ));
                        }
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
                            "correction" => {
                                let value = self.string(report_item, &report_doc)?;
                                raw.correction = match value.as_str() {
                                    "none" => Correction::None,
                                    "bonferroni" => Correction::Bonferroni,
                                    other => {
                                        return Err(self.error(
                                            &report_doc,
                                            Aim::Value,
                                            format!(
                                                "unknown value \"{other}\" for `correction` in [report]: expected one of {}",
                                                Correction::NAMES.join(", ")
                                            ),
                                        ))
                                    }
                                };
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
                "slurm" => raw.slurm = self.slurm(self.table(item, &doc, "[slurm]")?, &doc)?,
                other => {
                    return Err(self.unknown_key(&doc, other, "at the top level", &TOP_LEVEL_KEYS))
                }
            }
        }
        Ok(raw)
    }

    /// The `[slurm]` table: sbatch options, each checked like its command-line flag.
    fn slurm(&self, table: &dyn TableLike, doc: &DocPath) -> Result<SlurmOptions> {
        let mut options = SlurmOptions::default();
        for (name, item) in table.iter() {
            let item_doc = child(doc, key(name));
            if !slurm::options::KEYS.contains(&name) {
                return Err(self.unknown_key(&item_doc, name, "in [slurm]", &slurm::options::KEYS));
            }
            let value = match item.as_value() {
                Some(EditValue::String(s)) => OptionValue::Text(s.value().clone()),
                Some(EditValue::Integer(n)) => OptionValue::Integer(*n.value()),
                Some(EditValue::Boolean(b)) => OptionValue::Bool(*b.value()),
                Some(EditValue::Array(array)) => {
                    let strings: Option<Vec<String>> = array
                        .iter()
                        .map(|v| v.as_str().map(str::to_string))
                        .collect();
                    match strings {
                        Some(strings) => OptionValue::List(strings),
                        None => {
                            return Err(self.error(
                                &item_doc,
                                Aim::Value,
                                format!("`slurm.{name}` must be an array of strings"),
                            ))
                        }
                    }
                }
                _ => {
                    return Err(self.error(
                        &item_doc,
                        Aim::Value,
                        format!("`slurm.{name}` must be a string, an integer, a boolean or an array of strings"),
                    ))
                }
            };
            options.set(name, value).map_err(|message| {
                self.error(&item_doc, Aim::Value, format!("[slurm]: {message}"))
            })?;
        }
        options
            .check()
            .map_err(|message| self.error(doc, Aim::Key, format!("[slurm]: {message}")))?;
        Ok(options)
    }

    pub(super) fn string(&self, item: &Item, doc: &DocPath) -> Result<String> {
        item.as_str().map(str::to_string).ok_or_else(|| {
            self.error(
                doc,
                Aim::Value,
                format!("`{}` must be a string", location::display(doc)),
            )
        })
    }

    pub(super) fn table<'i>(
        &self,
        item: &'i Item,
        doc: &DocPath,
        what: &str,
    ) -> Result<&'i dyn TableLike> {
        item.as_table_like()
            .ok_or_else(|| self.error(doc, Aim::Value, format!("{what} must be a table")))
    }

    /// The tables of `[[name]]` (or of an inline array of inline tables).
    pub(super) fn tables<'i>(
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
    pub(super) fn flatten(
        &self,
        table: &dyn TableLike,
        doc: &DocPath,
        prefix: &str,
    ) -> Result<Vec<Entry>> {
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
    pub(super) fn list(
        &self,
        entry: &Entry,
        table: &str,
    ) -> Result<(Vec<toml::Value>, Vec<DocPath>)> {
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

    pub(super) fn zip(&self, table: &dyn TableLike, doc: &DocPath) -> Result<Factor> {
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

    pub(super) fn compare(&self, table: &dyn TableLike, doc: DocPath) -> Result<RawCompare> {
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
}
