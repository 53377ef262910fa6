//! Grid expansion: product, seeds, include, exclude, zip, selectors.

use ddpm::{RunConfig, ScheduleKind};
use runner::Experiment;
use serde_json::json;

use crate::parse;

fn labels(text: &str) -> Vec<String> {
    parse(text)
        .unwrap()
        .cells()
        .iter()
        .map(|c| c.label.clone())
        .collect()
}

#[test]
fn the_grid_is_the_product_with_the_first_axis_slowest() {
    let text = r#"
        name = "g"
        [grid]
        T = [10, 100]
        "schedule.kind" = ["linear", "polynomial"]
        scaling = ["minmax"]
    "#;
    assert_eq!(
        labels(text),
        [
            "T=10 schedule.kind=linear scaling=minmax",
            "T=10 schedule.kind=polynomial scaling=minmax",
            "T=100 schedule.kind=linear scaling=minmax",
            "T=100 schedule.kind=polynomial scaling=minmax",
        ]
    );
    let experiment = parse(text).unwrap();
    assert_eq!(experiment.axes, ["T", "schedule.kind", "scaling"]);
    let cell = &experiment.cells()[3];
    assert_eq!(cell.config.steps, 100);
    assert_eq!(cell.config.schedule.kind, ScheduleKind::Polynomial);
    assert_eq!(cell.axes["T"], json!(100));
}

#[test]
fn dotted_nested_and_quoted_keys_mean_the_same() {
    let quoted = labels("name = \"g\"\n[grid]\n\"schedule.kind\" = [\"linear\", \"cosine\"]\n");
    let dotted = labels("name = \"g\"\n[grid]\nschedule.kind = [\"linear\", \"cosine\"]\n");
    let table = labels("name = \"g\"\n[grid.schedule]\nkind = [\"linear\", \"cosine\"]\n");
    assert_eq!(quoted, dotted);
    assert_eq!(quoted, table);
}

/// `seeds = N` cells share their config but the seed (set once per run of them) and must
/// equal the same grid with `seed` as an ordinary axis, set and checked cell by cell:
/// every config and id, with [base] values, a zip and an exclude.
#[test]
fn seeds_give_the_cells_a_seed_axis_gives() {
    let rest = r#"
[[zip]]
"training.lr" = [0.01, 0.001]
"training.epochs" = [50, 70]
[[exclude]]
T = 100
"schedule.kind" = "linear"
"#;
    let head = "name = \"g\"\n[base]\ndataset = { n = 300 }\n";
    let grid = "[grid]\nT = [10, 100]\n\"schedule.kind\" = [\"linear\", \"cosine\"]\n";
    let with_seeds = parse(&format!("seeds = 4\n{head}{grid}{rest}")).unwrap();
    let with_axis = parse(&format!("{head}{grid}seed = [0, 1, 2, 3]\n{rest}")).unwrap();
    let by_id = |e: &Experiment| -> Vec<(String, RunConfig)> {
        let mut cells: Vec<_> = e
            .cells()
            .iter()
            .map(|c| (c.id.to_string(), c.config.clone()))
            .collect();
        cells.sort_by(|a, b| a.0.cmp(&b.0));
        cells
    };
    assert_eq!(with_seeds.len(), (2 * 2 - 1) * 2 * 4);
    assert_eq!(by_id(&with_seeds), by_id(&with_axis));
    let seeds: Vec<u64> = with_seeds.cells().iter().map(|c| c.config.seed).collect();
    assert_eq!(&seeds[..8], [0, 1, 2, 3, 0, 1, 2, 3]);
}

#[test]
fn seeds_is_a_last_axis_from_zero() {
    let experiment = parse("name = \"g\"\nseeds = 3\n[grid]\nT = [10, 20]\n").unwrap();
    assert_eq!(experiment.axes, ["T", "seed"]);
    let seeds: Vec<u64> = experiment.cells().iter().map(|c| c.config.seed).collect();
    assert_eq!(seeds, [0, 1, 2, 0, 1, 2]);
    // Without a grid, `seeds` alone repeats the base config.
    assert_eq!(parse("name = \"g\"\nseeds = 2\n").unwrap().len(), 2);
}

#[test]
fn base_values_apply_to_every_cell_and_axes_override_them() {
    let experiment = parse(
        "name = \"g\"\n[base]\nT = 7\ntraining.epochs = 12\n[base.dataset]\nkind = \"circles\"\n[grid]\nT = [3, 4]\n",
    )
    .unwrap();
    for cell in experiment.cells() {
        assert_eq!(cell.config.training.epochs, 12);
        assert_eq!(cell.config.dataset.kind, ddpm::DatasetKind::Circles);
        assert_ne!(cell.config.steps, 7);
    }
}

#[test]
fn include_adds_cells_over_the_seeds_unless_it_sets_one() {
    let text = r#"
        name = "g"
        seeds = 2
        [grid]
        T = [10]
        [[include]]
        T = 1000
        schedule = { kind = "ddpm" }
        scaling = "standardize"
        [[include]]
        T = 50
        seed = 7
    "#;
    let experiment = parse(text).unwrap();
    assert_eq!(experiment.axes, ["T", "schedule.kind", "scaling", "seed"]);
    assert_eq!(
        experiment
            .cells()
            .iter()
            .map(|c| c.label.clone())
            .collect::<Vec<_>>(),
        [
            "T=10 schedule.kind=polynomial scaling=minmax seed=0",
            "T=10 schedule.kind=polynomial scaling=minmax seed=1",
            "T=1000 schedule.kind=ddpm scaling=standardize seed=0",
            "T=1000 schedule.kind=ddpm scaling=standardize seed=1",
            "T=50 schedule.kind=polynomial scaling=minmax seed=7",
        ]
    );
}

#[test]
fn exclude_drops_partial_matches() {
    let text = r#"
        name = "g"
        [grid]
        T = [10, 100]
        "schedule.kind" = ["linear", "polynomial"]
        scaling = ["minmax", "standardize"]
        [[exclude]]
        T = 100
        "schedule.kind" = "linear"
    "#;
    let labels = labels(text);
    assert_eq!(labels.len(), 6);
    assert!(labels
        .iter()
        .all(|l| !l.starts_with("T=100 schedule.kind=linear")));
}

#[test]
fn zipped_axes_vary_together() {
    let text = r#"
        name = "g"
        [grid]
        scaling = ["minmax", "standardize"]
        [[zip]]
        T = [10, 1000]
        "schedule.power" = [4, 2.5]
    "#;
    let experiment = parse(text).unwrap();
    assert_eq!(experiment.axes, ["scaling", "T", "schedule.power"]);
    let pairs: Vec<(usize, f64)> = experiment
        .cells()
        .iter()
        .map(|c| (c.config.steps, c.config.schedule.power))
        .collect();
    assert_eq!(pairs, [(10, 4.0), (1000, 2.5), (10, 4.0), (1000, 2.5)]);
    // An integral float is shown (and matched) as an integer.
    assert_eq!(experiment.cells()[0].axes["schedule.power"], json!(4));
}

#[test]
fn compare_and_featured_select_cells() {
    let text = r#"
        name = "g"
        seeds = 2
        [grid]
        T = [10, 100]
        "schedule.power" = [2.0, 4]
        [[compare]]
        name = "short chains"
        a = { T = 10, "schedule.power" = 4.0 }
        b = { T = 100, "schedule.power" = 4 }
        metric = "mmd"
        [report]
        featured = { T = 100 }
    "#;
    let experiment = parse(text).unwrap();
    let compare = &experiment.compare[0];
    assert_eq!(compare.margin, 0.0);
    assert!(compare.lower_is_better);
    let sides: Vec<Option<runner::Side>> = experiment
        .cells()
        .iter()
        .map(|c| compare.matches(&c.axes))
        .collect();
    use runner::Side::{A, B};
    assert_eq!(
        sides,
        [None, None, Some(A), Some(A), None, None, Some(B), Some(B)]
    );
    let featured = experiment.featured_cell().unwrap();
    assert_eq!(featured.label, "T=100 schedule.power=2 seed=0");
    let unfeatured = parse("name = \"g\"\nseeds = 2\n[grid]\nT = [10, 100]\n").unwrap();
    assert_eq!(unfeatured.featured_cell().unwrap().label, "T=10 seed=0");
}

#[test]
fn the_shipped_experiments_are_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let experiment = runner::Experiment::load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert!(!experiment.is_empty());
            checked += 1;
        }
    }
    assert!(checked >= 1);
}

#[test]
fn the_documented_example_is_valid() {
    let readme =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments/README.md");
    let text = std::fs::read_to_string(readme).unwrap();
    let example = text
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the README has a TOML example");
    let experiment = parse(example).unwrap_or_else(|e| panic!("{e}"));
    // (2 T x 2 kinds x 2 scalings - 2 excluded) x 2 zipped x 3 seeds, plus 3 included.
    assert_eq!(experiment.len(), 6 * 2 * 3 + 3);
    assert_eq!(experiment.compare.len(), 2);
    assert!(experiment.report.featured.is_some());
}

/// Every TOML example of the documentation is an experiment file that parses.
#[test]
fn the_documentations_toml_examples_are_valid_experiment_files() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let mut examples = 0;
    for doc in ["README.md", "experiments/README.md"] {
        let text = std::fs::read_to_string(format!("{root}/{doc}")).unwrap();
        for (i, block) in text.split("```toml\n").skip(1).enumerate() {
            let example = block.split("```").next().unwrap();
            if let Err(err) = parse(example) {
                panic!("the TOML example {} of {doc}: {err}", i + 1);
            }
            examples += 1;
        }
    }
    assert!(examples >= 2, "found {examples} examples");
}
