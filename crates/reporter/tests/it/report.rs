//! The whole report on a synthetic sweep: every file is written, nothing is skipped, and
//! regenerating gives the same bytes.

use reporter::compare::Question;
use reporter::{render, ReportInput, Selector, Verdict};

use crate::fixture;
use crate::plots::FEATURED;

fn select(pairs: &[(&str, serde_json::Value)]) -> Selector {
    Selector(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

fn input() -> ReportInput {
    let paper = select(&[
        ("T", serde_json::json!(1000)),
        ("schedule.kind", serde_json::json!("ddpm")),
        ("scaling", serde_json::json!("standardize")),
    ]);
    let fix = select(&[
        ("T", serde_json::json!(10)),
        ("schedule.kind", serde_json::json!("polynomial")),
        ("scaling", serde_json::json!("minmax")),
    ]);
    ReportInput {
        sweep: fixture::sweep(),
        questions: vec![Question {
            name: "post's fix against the paper".into(),
            a: fix.clone(),
            b: paper,
            metric: "chamfer".into(),
            margin: 0.01,
            lower_is_better: true,
        }],
        featured: Some(fix),
        correction: reporter::compare::Correction::None,
        pending_cells: 0,
        corrupt: Vec::new(),
    }
}

#[test]
fn report_writes_every_file_and_is_reproducible() {
    let input = input();
    let artifacts = fixture::artifacts(&input.sweep, FEATURED);
    let first = tempfile::tempdir().unwrap();
    let summary = render(&input, &artifacts, first.path()).unwrap();
    // Set REPORTER_TEST_OUT to a folder to keep a copy of the report for inspection.
    if let Some(out) = std::env::var_os("REPORTER_TEST_OUT") {
        render(&input, &artifacts, std::path::Path::new(&out)).unwrap();
    }
    assert_eq!(summary.warnings, Vec::<String>::new());
    assert_eq!((summary.cells, summary.runs, summary.failures), (8, 24, 1));
    assert_eq!(summary.comparisons[0].verdict, Verdict::Better);

    let names: Vec<String> = summary
        .files
        .iter()
        .map(|p| {
            p.strip_prefix(first.path())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    for expected in [
        "report.md",
        "runs.csv",
        "runs.parquet",
        "summary.csv",
        "summary.parquet",
        "summary.md",
        "comparisons.md",
        "figures/chamfer_vs_T.png",
        "figures/mmd_vs_T.svg",
        "figures/samples.png",
        "figures/loss.png",
        "figures/schedules.png",
        "figures/field.png",
        "figures/reverse.png",
        "figures/reverse.gif",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }

    let report = std::fs::read_to_string(&summary.report).unwrap();
    for section in [
        "## What was run",
        "## Summary",
        "## Comparisons",
        "## Figures",
        "## Diverged, non-finite and failed runs",
    ] {
        assert!(report.contains(section), "{section} missing");
    }
    assert!(report.contains("![Samples](figures/samples.png)"));
    assert!(report.contains("loss not finite at epoch 123"));
    assert!(report.contains("verdict: **a is better**"));

    let second = tempfile::tempdir().unwrap();
    render(&input, &artifacts, second.path()).unwrap();
    for file in [
        "report.md",
        "runs.csv",
        "summary.csv",
        "summary.md",
        "comparisons.csv",
        "runs.parquet",
        "summary.parquet",
    ] {
        let a = std::fs::read(first.path().join(file)).unwrap();
        let b = std::fs::read(second.path().join(file)).unwrap();
        assert!(
            a == b,
            "{file} differs between two reports of the same runs"
        );
    }
}
