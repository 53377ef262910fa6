//! Run identity: what must not change an id, and what must.

use ddpm::RunConfig;
use runner::identity::{canonical_json, RunId};
use sha2::{Digest, Sha256};

use crate::parse;

fn ids(text: &str) -> Vec<RunId> {
    parse(text)
        .unwrap()
        .cells()
        .into_iter()
        .map(|c| c.id)
        .collect()
}

#[test]
fn ids_ignore_presentation_and_unused_parameters() {
    let reference = ids(r#"
        name = "a"
        [base]
        dataset = { n = 200, kind = "moons" }
        schedule = { power = 4.0 }
        [grid]
        T = [10, 100]
        scaling = ["minmax"]
    "#);
    let same = [
        // Another name, a description, comments, other key order and formatting.
        r#"
        # comments do not count
        description = "anything"
        name = "b"
        [grid]
        scaling = [ "minmax" ]   # neither does spacing
        T = [10,100]
        [base.dataset]
        kind = "moons"
        n = 200
        [base.schedule]
        power = 4
        "#,
        // Defaults written out are the same as defaults left out.
        r#"
        name = "c"
        [base]
        dataset = { n = 200, noise = 0.05 }
        training = { epochs = 5000, lr = 0.01 }
        [grid]
        T = [10, 100]
        scaling = ["minmax"]
        "#,
    ];
    for text in same {
        assert_eq!(ids(text), reference, "{text}");
    }

    // Parameters the chosen schedule ignores do not change the run.
    let cosine = ids("name = \"a\"\nseeds = 1\n[base]\nschedule.kind = \"cosine\"\n");
    let cosine_with_power = ids("name = \"a\"\nseeds = 1\n[base]\nschedule.kind = \"cosine\"\nschedule.power = 2.0\nschedule.beta_end = 0.5\n");
    assert_eq!(cosine, cosine_with_power);
}

#[test]
fn the_id_hashes_the_semantics_version_and_the_canonical_config() {
    let config = RunConfig::default();
    let mut hasher = Sha256::new();
    hasher.update(format!("diffsweep-run-v{}\n", ddpm::SEMANTICS_VERSION));
    hasher.update(canonical_json(&config));
    assert_eq!(
        RunId::of(&config).to_string(),
        hex::encode(hasher.finalize())
    );
    insta::assert_snapshot!("canonical_default_config", canonical_json(&config));
}

/// A different value for a config path, and the schedule it is relevant under.
fn altered(path: &str, value: &toml::Value) -> (toml::Value, Option<&'static str>) {
    let kind = match path {
        "schedule.power" | "schedule.max_beta" => Some("polynomial"),
        "schedule.beta_start" | "schedule.beta_end" | "schedule.rescale_to_t" => Some("ddpm"),
        "schedule.cosine_s" => Some("cosine"),
        p if p.starts_with("schedule.sigmoid_") => Some("sigmoid"),
        _ => None,
    };
    let new = match value {
        toml::Value::Boolean(b) => toml::Value::Boolean(!b),
        toml::Value::Integer(i) => toml::Value::Integer(i + 1),
        toml::Value::Float(x) => toml::Value::Float(if *x == 0.0 { 0.125 } else { x * 0.75 }),
        toml::Value::String(s) => {
            let other = match s.as_str() {
                "moons" => "circles",
                "minmax" => "standardize",
                "polynomial" => "cosine",
                "one_hot" => "sinusoidal",
                "posterior" => "beta",
                other => panic!("no alternative known for the value `{other}` of `{path}`"),
            };
            toml::Value::String(other.to_string())
        }
        other => panic!("unexpected value {other} at `{path}`"),
    };
    (new, kind)
}

#[test]
fn every_value_that_affects_results_changes_the_id() {
    let defaults = runner::config_path::to_table(&RunConfig::default());
    let paths = runner::config_path::leaf_paths();
    assert!(paths.len() >= 20, "{paths:?}");
    for path in paths {
        let mut table = defaults.clone();
        let root = toml::Value::Table(defaults.clone());
        let current = path
            .split('.')
            .fold(&root, |value, key| &value[key])
            .clone();
        let (new, kind) = altered(&path, &current);
        if let Some(kind) = kind {
            runner::config_path::set(
                &mut table,
                "schedule.kind",
                toml::Value::String(kind.into()),
            )
            .unwrap();
        }
        let before: RunConfig = toml::Value::Table(table.clone()).try_into().unwrap();
        runner::config_path::set(&mut table, &path, new).unwrap();
        let after: RunConfig = toml::Value::Table(table).try_into().unwrap();
        assert_ne!(
            RunId::of(&before),
            RunId::of(&after),
            "changing `{path}` must change the id"
        );
    }
}
