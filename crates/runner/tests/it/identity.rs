//! Run identity: what must not change an id, and what must.

use ddpm::RunConfig;
use runner::identity::{canonical_json, RunId};
use sha2::{Digest, Sha256};

use crate::parse;

fn ids(text: &str) -> Vec<RunId> {
    parse(text)
        .unwrap()
        .cells()
        .iter()
        .map(|c| c.id.clone())
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

/// The ids of RunConfig::default() and of every run of the committed studies, as they
/// were before the sampler keys (`sampling.method`, `steps`, `spacing`, `eta`) existed.
#[test]
fn the_committed_studies_keep_their_ids() {
    assert_eq!(
        RunId::of(&RunConfig::default()).as_str(),
        "00806c4a538b342167846699588ec16a9e9edf37392bfb6ded5b2848d8a99c54"
    );
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for study in ["schedules", "schedules-small", "samplers", "fewstep"] {
        let experiment =
            runner::Experiment::load(&root.join(format!("experiments/{study}.toml"))).unwrap();
        let ids: std::collections::BTreeSet<String> = experiment
            .cells()
            .iter()
            .map(|c| c.id.to_string())
            .collect();
        let csv = std::fs::read_to_string(root.join(format!("reports/{study}/runs.csv"))).unwrap();
        let stored: Vec<&str> = csv
            .lines()
            .skip(1)
            .map(|line| line.split(',').next().unwrap())
            .collect();
        assert!(!stored.is_empty());
        for id in stored {
            assert!(ids.contains(id), "{study}: run {id} lost its id");
        }
    }
}

/// A different value for a config path, and the settings under which it is used.
fn altered(path: &str, value: &toml::Value) -> (toml::Value, Vec<(&'static str, toml::Value)>) {
    let string = |s: &str| toml::Value::String(s.to_string());
    let context = match path {
        "schedule.power" | "schedule.max_beta" => vec![("schedule.kind", string("polynomial"))],
        "schedule.beta_start" | "schedule.beta_end" | "schedule.rescale_to_t" => {
            vec![("schedule.kind", string("ddpm"))]
        }
        "schedule.cosine_s" => vec![("schedule.kind", string("cosine"))],
        p if p.starts_with("schedule.sigmoid_") => vec![("schedule.kind", string("sigmoid"))],
        "sampling.eta" => vec![("sampling.method", string("ddim"))],
        "sampling.clip_quantile" => vec![("sampling.clip", string("dynamic"))],
        "schedule.zero_terminal_snr_exact" => vec![
            ("schedule.zero_terminal_snr", toml::Value::Boolean(true)),
            ("model.prediction", string("v")),
        ],
        // The spacing only matters when some steps are skipped.
        "sampling.spacing" => vec![("sampling.steps", toml::Value::Integer(3))],
        _ => vec![],
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
                "ancestral" => "ddim",
                "linspace" => "leading",
                "epsilon" => "v",
                "none" => "static",
                other => panic!("no alternative known for the value `{other}` of `{path}`"),
            };
            toml::Value::String(other.to_string())
        }
        other => panic!("unexpected value {other} at `{path}`"),
    };
    (new, context)
}

#[test]
fn every_value_that_affects_results_changes_the_id() {
    let defaults = runner::config_path::to_table(&RunConfig::default());
    let paths = runner::config_path::leaf_paths();
    assert!(paths.len() >= 20, "{paths:?}");
    for key in runner::config_path::OMITTED_AT_DEFAULT {
        assert!(paths.iter().any(|p| p == key), "{key} is not a path");
    }
    for path in paths {
        let mut table = defaults.clone();
        let root = toml::Value::Table(defaults.clone());
        let current = path
            .split('.')
            .fold(&root, |value, key| &value[key])
            .clone();
        let (new, context) = altered(&path, &current);
        for (at, value) in context {
            runner::config_path::set(&mut table, at, value).unwrap();
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
