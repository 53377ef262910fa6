//! Aggregation against means, deviations and intervals computed by hand.

use reporter::aggregate::aggregate;
use reporter::export::MarkdownExporter;
use reporter::{AxisValue, Sweep};

use crate::fixture::{self, diverged, row, text};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9 * (1.0 + b.abs())
}

/// Two cells of T: chamfer [0.1, 0.2, 0.3] at T=10 and [1, 3] plus a diverged run at T=100.
fn small_sweep() -> Sweep {
    let t10 = [("T", AxisValue::Int(10)), ("scaling", text("minmax"))];
    let t100 = [("T", AxisValue::Int(100)), ("scaling", text("minmax"))];
    let rows = vec![
        row("c", &t10, 2, [0.3, 3.0, 0.0]),
        row("a", &t10, 0, [0.1, 1.0, 0.0]),
        row("b", &t10, 1, [0.2, 2.0, 0.0]),
        row("d", &t100, 0, [1.0, 1.0, 0.0]),
        row("e", &t100, 1, [3.0, 1.0, 0.0]),
        diverged("f", &t100, 2, 17),
    ];
    let axes = ["T", "scaling", "seed"].map(String::from);
    Sweep::new("small", "", &axes, rows)
}

#[test]
fn cell_statistics_match_hand_computation() {
    let aggregate = aggregate(&small_sweep()).unwrap();
    assert_eq!(aggregate.cells.len(), 2);

    // T=10: mean 0.2, s = sqrt((0.01 + 0 + 0.01) / 2) = 0.1,
    // half width = t(0.975, 2) * 0.1 / sqrt(3) = 4.302653 * 0.057735 = 0.248414.
    let t10 = &aggregate.cells[0];
    assert_eq!(t10.key, vec![AxisValue::Int(10), text("minmax")]);
    assert_eq!((t10.runs, t10.failures), (3, 0));
    let chamfer = t10.metrics["chamfer"];
    assert_eq!(chamfer.estimate.n, 3);
    assert!(close(chamfer.estimate.mean, 0.2));
    assert!(close(chamfer.estimate.std, 0.1));
    assert!((chamfer.estimate.half_width - 0.248_414).abs() < 1e-6);
    // Relative to the floor 0.05.
    assert!(close(chamfer.ratio, 4.0));
    // The median of 0.1, 0.2, 0.3; nothing above 1000x its floor.
    assert!(close(chamfer.median, 0.2));
    assert_eq!(t10.exploded, 0);

    // T=100: the diverged run counts as a failure and not in the statistics:
    // mean 2, s = sqrt(2), half width = t(0.975, 1) * sqrt(2) / sqrt(2) = 12.706205.
    let t100 = &aggregate.cells[1];
    assert_eq!((t100.runs, t100.failures), (3, 1));
    let chamfer = t100.metrics["chamfer"];
    assert_eq!(chamfer.estimate.n, 2);
    assert!(close(chamfer.estimate.mean, 2.0));
    assert!(close(chamfer.estimate.std, 2f64.sqrt()));
    assert!((chamfer.estimate.half_width - 12.706_205).abs() < 1e-5);
    assert!(close(chamfer.median, 2.0));
}

/// A completed run whose metric is above 1000x its floor is counted as exploded, stays in
/// the mean, and the median shows what the other seeds did.
#[test]
fn exploded_runs_are_counted_and_the_median_resists_them() {
    let t10 = [("T", AxisValue::Int(10)), ("scaling", text("minmax"))];
    // Chamfer floor 0.05 in the fixture: 100 is 2000x it, 0.3 is 6x.
    let rows = vec![
        row("a", &t10, 0, [0.1, 1.0, 0.0]),
        row("b", &t10, 1, [0.3, 1.0, 0.0]),
        row("c", &t10, 2, [100.0, 1.0, 0.0]),
    ];
    let axes = ["T", "scaling", "seed"].map(String::from);
    let aggregate = aggregate(&Sweep::new("x", "", &axes, rows)).unwrap();
    let cell = &aggregate.cells[0];
    assert_eq!((cell.runs, cell.failures, cell.exploded), (3, 0, 1));
    let chamfer = cell.metrics["chamfer"];
    assert!(close(chamfer.estimate.mean, 100.4 / 3.0));
    assert!(close(chamfer.median, 0.3));
    assert_eq!(reporter::aggregate::EXPLODED_RATIO, 1000.0);
}

#[test]
fn summary_frame_holds_the_same_numbers_sorted_by_axes() {
    let aggregate = aggregate(&small_sweep()).unwrap();
    let summary = &aggregate.summary;
    assert_eq!(summary.height(), 2);
    let steps: Vec<Option<i64>> = summary
        .column("T")
        .unwrap()
        .i64()
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(steps, vec![Some(10), Some(100)]);
    let mean: Vec<Option<f64>> = summary
        .column("chamfer_mean")
        .unwrap()
        .f64()
        .unwrap()
        .into_iter()
        .collect();
    assert!(close(mean[0].unwrap(), 0.2) && close(mean[1].unwrap(), 2.0));
    let low = summary
        .column("chamfer_ci_low")
        .unwrap()
        .f64()
        .unwrap()
        .get(0)
        .unwrap();
    assert!((low - (0.2 - 0.248_414)).abs() < 1e-6);
    let failures: Vec<Option<u64>> = summary
        .column("failures")
        .unwrap()
        .u64()
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(failures, vec![Some(0), Some(1)]);
}

#[test]
fn runs_frame_has_one_row_per_run_and_nulls_for_diverged_metrics() {
    let aggregate = aggregate(&small_sweep()).unwrap();
    let runs = &aggregate.runs;
    assert_eq!(runs.height(), 6);
    let ids: Vec<&str> = runs
        .column("run_id")
        .unwrap()
        .str()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(
        ids,
        vec!["a", "b", "c", "d", "e", "f"],
        "sorted by cell, then seed"
    );
    let chamfer = runs.column("chamfer").unwrap().f64().unwrap();
    assert_eq!(chamfer.null_count(), 1);
    assert_eq!(chamfer.get(5), None);
    let ratio = runs
        .column("chamfer_ratio")
        .unwrap()
        .f64()
        .unwrap()
        .get(0)
        .unwrap();
    assert!(close(ratio, 0.1 / 0.05));
    let status: Vec<&str> = runs
        .column("status")
        .unwrap()
        .str()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(status[5], "diverged");
}

#[test]
fn summary_markdown_table_snapshot() {
    let sweep = fixture::sweep();
    let aggregate = aggregate(&sweep).unwrap();
    let table = reporter::table::summary_table(&sweep, &aggregate).unwrap();
    insta::assert_snapshot!(MarkdownExporter.render(&table));
}

/// Runs that share a stored model record its training time each; totals count it once.
#[test]
fn a_shared_model_is_counted_once_in_training_time() {
    let axes = [("T", reporter::AxisValue::Int(10))];
    let mut rows = Vec::new();
    for (id, model) in [
        ("a", Some("m1")),
        ("b", Some("m1")),
        ("c", Some("m2")),
        ("d", None),
    ] {
        let mut row = crate::fixture::row(id, &axes, 0, [0.1, 0.2, 0.3]);
        row.model = model.map(str::to_string);
        row.timings.train_seconds = 10.0;
        row.timings.sample_seconds = 1.0;
        row.timings.metric_seconds = 0.5;
        rows.push(row);
    }
    let sweep = reporter::Sweep::new("m", "", &["T".to_string()], rows);
    assert_eq!(sweep.model_count(), 3);
    assert_eq!(sweep.training_seconds(), 30.0);
    assert_eq!(sweep.total_seconds(), 30.0 + 4.0 * 1.5);
}
