//! `--set KEY=VALUE` on the command line: an experiment file with some of its values
//! replaced, validated exactly like the file.
//!
//! The overrides are written into the file's own TOML (comments and layout kept): `seeds`
//! and `description` at the top, a path that is a `[grid]` axis replaces that axis (a
//! comma-separated value is its list), any other path is set in `[base]`. The result gets
//! a name of its own, `<name>.set-<8 hex digits of the overrides>`, so its sweep index and
//! report never mix with the plain file's, and its description says what was set.

use std::path::Path;

use sha2::{Digest, Sha256};
use toml_edit::{DocumentMut, Item, Table, TableLike, Value};

use super::{Experiment, Outline};
use crate::{limits, Error, Result};

/// One `KEY=VALUE`.
struct Override<'a> {
    key: &'a str,
    value: &'a str,
    /// As the user wrote it, for messages.
    text: &'a str,
}

impl Experiment {
    /// Reads an experiment file and applies `overrides` (`KEY=VALUE` each). Without
    /// overrides this is [`Experiment::load`].
    pub fn load_with(path: &Path, overrides: &[String]) -> Result<Experiment> {
        if overrides.is_empty() {
            return Experiment::load(path);
        }
        // The file is read, not expanded: its cells are those of the edited file, which
        // is validated whole below.
        let plain = Experiment::outline(path)?;
        let file = path.display().to_string();
        let bad = |message: String| Error::Experiment {
            file: file.clone(),
            location: None,
            message,
        };
        let parsed: Vec<Override<'_>> = overrides
            .iter()
            .map(|text| match text.split_once('=') {
                Some((key, value)) if !key.trim().is_empty() => Ok(Override {
                    key: key.trim(),
                    value: value.trim(),
                    text,
                }),
                _ => Err(bad(format!(
                    "invalid --set `{}`: expected KEY=VALUE, e.g. --set T=10,100 or --set seeds=3",
                    limits::shorten(text)
                ))),
            })
            .collect::<Result<_>>()?;

        let mut doc: DocumentMut = plain
            .text
            .parse()
            .map_err(|err| bad(format!("invalid TOML: {err}")))?;
        for o in &parsed {
            match o.key {
                "name" => {
                    return Err(bad(
                        "--set cannot change `name`: an overridden experiment is named after the file and its overrides".into(),
                    ))
                }
                "seeds" | "description" => {
                    doc[o.key] = Item::Value(scalar(o.value));
                }
                path if is_axis(&plain, path) && grid_has(&doc, path) => {
                    let grid = doc["grid"]
                        .as_table_like_mut()
                        .expect("grid_has found a [grid] table");
                    remove_path(grid, path);
                    grid.insert(path, Item::Value(list(o.value)));
                }
                path => {
                    if !doc.contains_key("base") {
                        doc["base"] = Item::Table(Table::new());
                    }
                    let base = doc["base"].as_table_like_mut().ok_or_else(|| {
                        bad("`base` is not a table, so --set cannot add to it".into())
                    })?;
                    remove_path(base, path);
                    base.insert(path, Item::Value(scalar(o.value)));
                }
            }
        }
        let texts: Vec<&str> = parsed.iter().map(|o| o.text).collect();
        let digest = Sha256::digest(texts.join("\n").as_bytes());
        let tag: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
        doc["name"] = Item::Value(Value::from(format!("{}.set-{tag}", plain.name)));
        let description = format!(
            "{} (with --set {})",
            plain.description.trim(),
            texts.join(" --set ")
        );
        doc["description"] = Item::Value(Value::from(description.trim_start().to_string()));

        let label = format!("{file} (with --set {})", texts.join(" --set "));
        // A mistake of the file itself is reported at its own line (the edited text's
        // lines differ), found by validating the file alone only when the edit fails.
        let edited = doc.to_string();
        let mut experiment = match Experiment::parse(&edited, Path::new(&label)) {
            Ok(experiment) => experiment,
            Err(err) => {
                return Err(Experiment::load(path)
                    .err()
                    .unwrap_or_else(|| at_file_line(err, &edited, &plain.text)))
            }
        };
        experiment.source = path.to_path_buf();
        Ok(experiment)
    }
}

/// A mistake of the edited text, placed where the file has the same line (an override's
/// own line, which the file does not have, gets no place: the label names the override).
fn at_file_line(err: Error, edited: &str, file: &str) -> Error {
    let Error::Experiment {
        file: label,
        location: Some((line, column)),
        message,
    } = err
    else {
        return err;
    };
    let text = edited.lines().nth(line - 1).unwrap_or_default();
    let mut same = file
        .lines()
        .enumerate()
        .filter(|(_, l)| !text.trim().is_empty() && *l == text);
    let location = match (same.next(), same.next()) {
        (Some((index, _)), None) => Some((index + 1, column)),
        _ => None,
    };
    Error::Experiment {
        file: label,
        location,
        message,
    }
}

/// Whether `path` varies between the plain experiment's cells.
fn is_axis(experiment: &Outline, path: &str) -> bool {
    experiment.axes.iter().any(|a| a == path)
}

/// Whether `[grid]` defines `path` (as a dotted key or nested tables).
fn grid_has(doc: &DocumentMut, path: &str) -> bool {
    fn find(table: &dyn TableLike, path: &str) -> bool {
        if table.contains_key(path) {
            return true;
        }
        match path.split_once('.') {
            Some((head, rest)) => table
                .get(head)
                .and_then(Item::as_table_like)
                .is_some_and(|t| find(t, rest)),
            None => false,
        }
    }
    doc.get("grid")
        .and_then(Item::as_table_like)
        .is_some_and(|grid| find(grid, path))
}

/// Removes `path` from `table`, whether written as one dotted key or as nested tables.
fn remove_path(table: &mut dyn TableLike, path: &str) {
    if table.remove(path).is_some() {
        return;
    }
    if let Some((head, rest)) = path.split_once('.') {
        if let Some(inner) = table.get_mut(head).and_then(Item::as_table_like_mut) {
            remove_path(inner, rest);
        }
    }
}

/// A value as TOML reads it (`10`, `1e-3`, `true`, `"x"`), or else as a bare string
/// (`cosine`).
fn scalar(text: &str) -> Value {
    text.parse::<Value>()
        .ok()
        .filter(|v| !v.is_array() && !v.is_inline_table())
        .unwrap_or_else(|| Value::from(text.to_string()))
}

/// A list for an axis: `[10, 100]` as TOML, or comma-separated values.
fn list(text: &str) -> Value {
    if let Ok(value) = text.parse::<Value>() {
        if value.is_array() {
            return value;
        }
    }
    let items: toml_edit::Array = text.split(',').map(|item| scalar(item.trim())).collect();
    Value::Array(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn experiment(text: &str, overrides: &[&str]) -> Result<Experiment> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.toml");
        std::fs::write(&path, text).unwrap();
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        Experiment::load_with(&path, &overrides)
    }

    const FILE: &str = r#"# a comment that stays
name = "q"
seeds = 2
[base]
dataset = { kind = "moons", n = 200 }
training = { epochs = 10 }
[grid]
T = [10, 100]
"schedule.kind" = ["linear", "polynomial"]
"#;

    #[test]
    fn overrides_replace_axes_seeds_and_base_values() {
        let plain = experiment(FILE, &[]).unwrap();
        assert_eq!(plain.len(), 8);
        let e = experiment(
            FILE,
            &[
                "T=10",
                "seeds=3",
                "dataset.n=300",
                "schedule.kind=cosine,ddpm",
            ],
        )
        .unwrap();
        assert_eq!(e.len(), 6);
        assert!(e
            .cells()
            .iter()
            .all(|c| c.config.steps == 10 && c.config.dataset.n == 300));
        assert!(
            e.name.starts_with("q.set-") && e.name.len() == "q.set-".len() + 8,
            "{}",
            e.name
        );
        assert!(
            e.description.contains("--set T=10 --set seeds=3"),
            "{}",
            e.description
        );
        assert!(e.text.contains("# a comment that stays"));
        // The same overrides give the same name; other overrides another.
        assert_eq!(
            e.name,
            experiment(
                FILE,
                &[
                    "T=10",
                    "seeds=3",
                    "dataset.n=300",
                    "schedule.kind=cosine,ddpm"
                ]
            )
            .unwrap()
            .name
        );
        assert_ne!(e.name, experiment(FILE, &["T=10"]).unwrap().name);
        // A new seed only adds cells: the first seeds keep their run ids.
        let more = experiment(FILE, &["seeds=3"]).unwrap();
        let ids: Vec<_> = plain.cells().iter().map(|c| &c.id).collect();
        assert!(ids
            .iter()
            .all(|id| more.cells().iter().any(|c| &c.id == *id)));
    }

    #[test]
    fn overrides_are_validated_like_the_file() {
        let err = experiment(FILE, &["T=0"]).unwrap_err().to_string();
        assert!(
            err.contains("--set T=0") && err.contains("from 1 to 10000"),
            "{err}"
        );
        let err = experiment(FILE, &["schedule.powr=2"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("did you mean `schedule.power`"), "{err}");
        let err = experiment(FILE, &["seeds=0"]).unwrap_err().to_string();
        assert!(err.contains("`seeds`"), "{err}");
        for bad in ["T", "=3", "name=x"] {
            assert!(experiment(FILE, &[bad]).is_err(), "{bad}");
        }
    }

    /// What `--set` reads of a file without expanding it is what expanding it gives, for
    /// every committed experiment.
    #[test]
    fn the_outline_of_each_committed_experiment_matches_the_file() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            let (outline, full) = (
                Experiment::outline(&path).unwrap(),
                Experiment::load(&path).unwrap(),
            );
            assert_eq!(outline.axes, full.axes, "{}", path.display());
            assert_eq!(outline.name, full.name);
            assert_eq!(outline.description, full.description);
            assert_eq!(outline.text, full.text);
        }
    }

    /// The file is not expanded before it is edited: a value an override replaces is never
    /// checked, and a mistake the override leaves is reported at the file's own line.
    #[test]
    fn the_file_is_checked_through_its_edit() {
        let bad_axis = "name = \"b\"\nseeds = 2\n[grid]\nT = [0, 10]\n";
        assert!(experiment(bad_axis, &[]).is_err());
        let fixed = experiment(bad_axis, &["T=5"]).unwrap();
        assert_eq!(fixed.len(), 2);
        assert_eq!(fixed.axes, ["T", "seed"]);
        let bad_base =
            "name = \"b\"\nseeds = 2\n[base]\ntraining = { epochs = -5 }\n[grid]\nT = [5, 10]\n";
        let err = experiment(bad_base, &["T=5"]).unwrap_err().to_string();
        assert!(
            err.contains("e.toml:4:") && !err.contains("with --set"),
            "the file's line, not the edited text's: {err}"
        );
    }

    /// A mistake an override makes has no line (the edited text's lines are not the
    /// file's); one the override exposes in the file is placed at the file's line.
    #[test]
    fn a_mistake_after_an_edit_is_placed_in_the_file_or_nowhere() {
        let file =
            "name = \"b\"\nseeds = 2\n[base]\ntraining = { epochs = 5 }\n[grid]\nT = [5, 10]\n\
                    scaling = [\"minmax\", \"standardize\"]\n[[compare]]\nname = \"c\"\n\
                    a = { T = 10, scaling = \"minmax\" }\nb = { T = 5, scaling = \"minmax\" }\n\
                    metric = \"mmd\"\n";
        assert!(experiment(file, &[]).is_ok());
        let err = experiment(file, &["T=abc"]).unwrap_err().to_string();
        assert!(
            err.contains("e.toml (with --set T=abc): invalid value \"abc\" for `T`"),
            "{err}"
        );
        let err = experiment(file, &["training.epochs=0"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("e.toml (with --set training.epochs=0): ") && err.contains("epochs"),
            "{err}"
        );
        // Without T = 10, the comparison's `a` (line 10 of the file) matches no cell.
        let err = experiment(file, &["T=5"]).unwrap_err().to_string();
        assert!(
            err.contains("e.toml (with --set T=5):10:") && err.contains("matches no cell"),
            "{err}"
        );
    }
}
