//! Comparison verdicts on constructed cells: a clear win, a clear loss, a tie.

use reporter::aggregate::aggregate;
use reporter::compare::{answer, Correction, Question};
use reporter::{AxisValue, Selector, Sweep, Verdict};

use crate::fixture::{diverged, row, text};

/// Cells `a`, `b`, `c` and `d` of one axis `schedule.kind`, three seeds each: `a` is far
/// below `b`, `c` is within noise of `a`; `d` has one completed seed.
fn sweep() -> Sweep {
    let mut rows = Vec::new();
    let cells: [(&str, [f64; 3]); 3] = [
        ("a", [0.10, 0.11, 0.09]),
        ("b", [0.30, 0.31, 0.29]),
        ("c", [0.101, 0.109, 0.092]),
    ];
    for (kind, values) in cells {
        for (seed, value) in values.iter().enumerate() {
            let axes = [("schedule.kind", text(kind)), ("T", AxisValue::Int(10))];
            rows.push(row(
                &format!("{kind}{seed}"),
                &axes,
                seed as u64,
                [*value, 0.0, 0.0],
            ));
        }
    }
    let d = [("schedule.kind", text("d")), ("T", AxisValue::Int(10))];
    rows.push(row("d0", &d, 0, [0.2, 0.0, 0.0]));
    rows.push(diverged("d1", &d, 1, 5));
    let axes = ["schedule.kind", "T", "seed"].map(String::from);
    Sweep::new("compare", "", &axes, rows)
}

fn selector(kind: &str) -> Selector {
    Selector([("schedule.kind".to_string(), serde_json::json!(kind))].into())
}

fn question(a: &str, b: &str, margin: f64) -> Question {
    Question {
        name: format!("{a} vs {b}"),
        a: selector(a),
        b: selector(b),
        metric: "chamfer".into(),
        margin,
        lower_is_better: true,
    }
}

#[test]
fn verdicts_on_clear_win_clear_loss_and_tie() {
    let sweep = sweep();
    let aggregate = aggregate(&sweep).unwrap();
    let questions = [
        question("a", "b", 0.05),
        question("b", "a", 0.05),
        question("a", "c", 0.03),
        question("a", "b", 0.5),
        question("a", "d", 0.01),
    ];
    let answers = answer(&sweep, &aggregate, &questions, Correction::None).unwrap();
    let verdicts: Vec<Verdict> = answers.iter().map(|c| c.verdict).collect();
    assert_eq!(
        verdicts,
        vec![
            Verdict::Better,
            Verdict::Worse,
            Verdict::Equivalent,
            // A real difference of 0.2, but the margin asks for more than 0.5.
            Verdict::Equivalent,
            Verdict::InsufficientSeeds,
        ]
    );
    let win = &answers[0];
    let d = win.difference.unwrap();
    assert!((d.diff + 0.2).abs() < 1e-12);
    assert!(d.lower < d.diff && d.diff < d.upper && d.upper < -0.05);
    assert_eq!((win.a.n, win.b.n), (3, 3));
    assert_eq!(win.cell_a, "schedule.kind=a, T=10");
    assert_eq!(answers[4].failures_b, 1);
}

#[test]
fn selectors_must_pick_exactly_one_cell() {
    let sweep = sweep();
    let aggregate = aggregate(&sweep).unwrap();
    let mut ambiguous = question("a", "b", 0.1);
    ambiguous.a = Selector([("T".to_string(), serde_json::json!(10))].into());
    let error = answer(&sweep, &aggregate, &[ambiguous], Correction::None)
        .unwrap_err()
        .to_string();
    assert!(error.contains("comparison `a vs b`"), "{error}");
    assert!(error.contains("matches 4 cells"), "{error}");

    // A cell with no stored run yet (a sweep under way) is not an error: no seeds.
    let nothing = question("zzz", "b", 0.1);
    let answers = answer(&sweep, &aggregate, &[nothing], Correction::None).unwrap();
    assert_eq!(answers[0].verdict, Verdict::InsufficientSeeds);
    assert_eq!(answers[0].a.n, 0);
    assert!(answers[0].cell_a.contains("no stored run yet"));

    let mut metric = question("a", "b", 0.1);
    metric.metric = "fid".into();
    let error = answer(&sweep, &aggregate, &[metric], Correction::None)
        .unwrap_err()
        .to_string();
    assert!(error.contains("unknown metric `fid`"), "{error}");
}

/// Cells with the same seeds get the paired interval of the per-seed differences, tighter
/// than Welch's when the seeds share most of the spread; a side with a failed seed gets
/// Welch's.
#[test]
fn same_seeds_are_paired_and_a_missing_seed_falls_back_to_welch() {
    let sweep = sweep();
    let aggregate = aggregate(&sweep).unwrap();
    let answers = answer(
        &sweep,
        &aggregate,
        &[question("a", "b", 0.05), question("a", "d", 0.05)],
        Correction::None,
    )
    .unwrap();
    let paired = answers[0].difference.unwrap();
    assert_eq!(paired.method, reporter::stats::Interval::Paired);
    // b - a is exactly 0.2 on every seed: the paired interval is the point -0.2.
    assert!((paired.lower + 0.2).abs() < 1e-12 && (paired.upper + 0.2).abs() < 1e-12);
    let welch = reporter::stats::Difference::welch(&answers[0].a, &answers[0].b).unwrap();
    assert!(welch.upper - welch.lower > 0.01, "{welch:?}");
    // d has one completed seed of two: no pairing, and Welch needs two a side.
    assert!(answers[1].difference.is_none());
}

/// Bonferroni widens each of m intervals to 1 - 0.05/m (here m = 3: 98.33%), the verdicts
/// read the wider intervals, and Holm's adjusted p-values are never below the raw ones.
#[test]
fn bonferroni_widens_every_interval_and_holm_adjusts_the_p_values() {
    let sweep = sweep();
    let aggregate = aggregate(&sweep).unwrap();
    let questions = [
        question("a", "b", 0.05),
        question("a", "c", 0.05),
        question("c", "b", 0.05),
    ];
    let plain = answer(&sweep, &aggregate, &questions, Correction::None).unwrap();
    let wide = answer(&sweep, &aggregate, &questions, Correction::Bonferroni).unwrap();
    for (p, w) in plain.iter().zip(&wide) {
        let (p, w) = (p.difference.unwrap(), w.difference.unwrap());
        assert_eq!(p.level, 0.95);
        assert!((w.level - (1.0 - 0.05 / 3.0)).abs() < 1e-12);
        assert_eq!(p.diff, w.diff);
        if p.se > 0.0 {
            assert!(w.upper - w.lower > p.upper - p.lower, "{p:?} vs {w:?}");
        }
    }
    for c in &wide {
        assert!(c.p_holm >= c.p_value, "{} vs {}", c.p_holm, c.p_value);
        assert!((0.0..=1.0).contains(&c.p_holm));
    }
    // a vs c is within noise: p is large, and stays so.
    assert!(wide[1].p_value > 0.05);
}
