//! End to end through the runner: a tiny real sweep is trained into a store, and the
//! report is written from it.

use std::path::Path;

use polars::prelude::{ParquetReader, SerReader};

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
    // A number that a parser without round-trip precision reads one ulp off
    // (0.020366252288517062): the tables must carry the stored f64 exactly.
    let first = std::fs::read_dir(dir.path().join("results/runs"))
        .unwrap()
        .map(|e| e.unwrap().path().join("record.json"))
        .find(|p| p.is_file())
        .unwrap();
    let text = std::fs::read_to_string(&first).unwrap();
    let chamfer = json_number(&text, "chamfer").to_string();
    let edited = text.replacen(&chamfer, "0.020366252288517066", 1);
    // The record's checksum rewritten to match, as the code that wrote it would have.
    let mut record: runner::Record = serde_json::from_str(&edited).unwrap();
    let old_checksum = record.checksum.take().expect("a checksum");
    let new_checksum = runner::store::content_checksum(&record);
    std::fs::write(&first, edited.replacen(&old_checksum, &new_checksum, 1)).unwrap();

    let out = dir.path().join("report");
    let summary = reporter::report(&store, &experiment, &out).unwrap();
    assert_eq!((summary.cells, summary.runs), (4, 7));
    assert_eq!(summary.comparisons.len(), 1);
    assert!(
        summary
            .warnings
            .iter()
            .any(|w| w.contains("1 cell of the experiment has no stored run")),
        "{:?}",
        summary.warnings
    );
    assert_eq!(summary.warnings.len(), 1, "{:?}", summary.warnings);

    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("# Report: tiny"));
    assert!(report.contains("**1 cell has no stored run yet**"));
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

    // Every number of runs.csv and runs.parquet is, as an f64, the one in its record.json
    // (read here with the standard library's exact parser, not serde_json's).
    let columns = ["chamfer", "sliced_wasserstein", "mmd", "final_loss"];
    let header: Vec<&str> = runs.lines().next().unwrap().split(',').collect();
    let parquet = ParquetReader::new(std::fs::File::open(out.join("runs.parquet")).unwrap())
        .finish()
        .unwrap();
    for (row, line) in runs.lines().skip(1).enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        let id = fields[0];
        let record =
            std::fs::read_to_string(dir.path().join("results/runs").join(id).join("record.json"))
                .unwrap();
        for column in columns {
            let at = header.iter().position(|h| *h == column).unwrap();
            let csv: f64 = fields[at].parse().unwrap();
            let stored = json_number(&record, column);
            assert_eq!(
                csv.to_bits(),
                stored.to_bits(),
                "{id} {column}: csv {csv} vs {stored}"
            );
            let parquet = parquet
                .column(column)
                .unwrap()
                .f64()
                .unwrap()
                .get(row)
                .unwrap();
            assert_eq!(
                parquet.to_bits(),
                stored.to_bits(),
                "{id} {column}: parquet"
            );
        }
    }

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

/// The first number written after `"key": ` in a JSON text, parsed exactly.
fn json_number(text: &str, key: &str) -> f64 {
    let start = text.find(&format!("\"{key}\": ")).unwrap() + key.len() + 4;
    let end = start + text[start..].find([',', '\n', '}']).unwrap();
    text[start..end].trim().parse().unwrap()
}
