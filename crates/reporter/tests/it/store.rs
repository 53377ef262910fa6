//! End to end through the runner: a tiny real sweep is trained into a store, and the
//! report is written from it.

use std::path::Path;

use runner::executor::Silent;
use runner::{Executor, Experiment, RunStore};

const EXPERIMENT: &str = r#"
name = "tiny"
description = "Two schedules at two T on a small two-moons set, trained briefly"
seeds = 2

[base]
dataset = { kind = "moons", n = 200 }
training = { epochs = 60 }

[grid]
T = [5, 10]
"schedule.kind" = ["linear", "polynomial"]

[[compare]]
name = "polynomial against linear at T=10"
a = { "schedule.kind" = "polynomial", T = 10 }
b = { "schedule.kind" = "linear", T = 10 }
metric = "mmd"
margin = 0.0

[report]
featured = { "schedule.kind" = "polynomial", T = 10 }
"#;

#[test]
fn slow_report_from_a_trained_store_names_pending_cells() {
    let experiment = Experiment::parse(EXPERIMENT, Path::new("tiny.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path().join("results")).unwrap();
    let cells = experiment.cells();
    assert_eq!(cells.len(), 8);

    // Train all but the last cell, so one cell is pending.
    Executor::new(2)
        .unwrap()
        .execute(&store, &cells[..7], &Silent)
        .unwrap();
    let out = dir.path().join("report");
    let summary = reporter::report(&store, &experiment, &out).unwrap();
    assert_eq!((summary.cells, summary.runs), (4, 7));
    assert_eq!(summary.comparisons.len(), 1);
    assert!(
        summary
            .warnings
            .iter()
            .any(|w| w.contains("1 cells of the experiment have no stored run")),
        "{:?}",
        summary.warnings
    );
    assert_eq!(summary.warnings.len(), 1, "{:?}", summary.warnings);

    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("# Report: tiny"));
    assert!(report.contains("**1 cells have no stored run yet**"));
    assert!(report.contains("- code version: `diffsweep"));
    for figure in [
        "field.png",
        "reverse.gif",
        "samples.png",
        "schedules.svg",
        "mmd_vs_T.png",
    ] {
        assert!(
            out.join("figures").join(figure).is_file(),
            "{figure} missing"
        );
    }
    let runs = std::fs::read_to_string(out.join("runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 8, "a header and seven runs");
    assert!(runs
        .lines()
        .next()
        .unwrap()
        .starts_with("run_id,T,schedule.kind,seed,status,"));

    // The same store gives the same tables and report.
    let again = dir.path().join("again");
    reporter::report(&store, &experiment, &again).unwrap();
    for file in [
        "report.md",
        "summary.csv",
        "runs.csv",
        "summary.md",
        "comparisons.csv",
    ] {
        let a = std::fs::read(out.join(file)).unwrap();
        let b = std::fs::read(again.join(file)).unwrap();
        assert!(a == b, "{file} differs");
    }
}
