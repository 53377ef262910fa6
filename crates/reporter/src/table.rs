//! The tables a reader sees: the summary and the comparisons as text columns, ready for
//! the markdown exporter (the numeric frames go to CSV and Parquet as they are).

use polars::prelude::*;

use crate::aggregate::Aggregate;
use crate::compare::{fmt_num, Comparison};
use crate::stats::Estimate;
use crate::sweep::{metric_names, Sweep};
use crate::Result;

/// `mean ± half-width`, the half-width to two significant digits and the mean to the same
/// decimal place; the mean alone (with its n) when there is no interval.
pub fn fmt_estimate(estimate: &Estimate) -> String {
    let (mean, half) = (estimate.mean, estimate.half_width);
    match estimate.n {
        0 => "–".to_string(),
        1 => format!("{} (n=1)", fmt_num(mean)),
        _ if half.is_finite() && half > 0.0 => {
            let magnitude = half.log10().floor() as i32;
            let decimals = 1 - magnitude;
            if (0..=6).contains(&decimals) && mean.abs() < 1e5 {
                let d = decimals as usize;
                format!("{mean:.d$} ± {half:.d$}")
            } else {
                format!("{} ± {}", fmt_num(mean), fmt_num(half))
            }
        }
        _ => format!("{} ± {}", fmt_num(mean), fmt_num(half)),
    }
}

/// One row per cell, sorted by the axes: each axis, `runs`, `failed`, and per metric the
/// mean with its 95% interval and the mean relative to the noise floor.
pub fn summary_table(sweep: &Sweep, aggregate: &Aggregate) -> Result<DataFrame> {
    let cells = &aggregate.cells;
    let mut columns: Vec<Column> = sweep
        .axes
        .iter()
        .enumerate()
        .map(|(i, axis)| {
            let values: Vec<String> = cells.iter().map(|c| c.key[i].to_string()).collect();
            Column::new(axis.as_str().into(), values)
        })
        .collect();
    columns.push(Column::new(
        "runs".into(),
        cells.iter().map(|c| c.runs as u64).collect::<Vec<_>>(),
    ));
    columns.push(Column::new(
        "failed".into(),
        cells.iter().map(|c| c.failures as u64).collect::<Vec<_>>(),
    ));
    columns.push(Column::new(
        "exploded".into(),
        cells.iter().map(|c| c.exploded as u64).collect::<Vec<_>>(),
    ));
    for name in metric_names() {
        let estimates: Vec<String> = cells
            .iter()
            .map(|c| fmt_estimate(&c.metrics[*name].estimate))
            .collect();
        let medians: Vec<String> = cells
            .iter()
            .map(|c| fmt_num(c.metrics[*name].median))
            .collect();
        let ratios: Vec<String> = cells
            .iter()
            .map(|c| fmt_ratio(c.metrics[*name].ratio))
            .collect();
        columns.push(Column::new(format!("{name} (95% CI)").into(), estimates));
        columns.push(Column::new(format!("{name} median").into(), medians));
        columns.push(Column::new(format!("{name} / floor").into(), ratios));
    }
    Ok(DataFrame::new(columns)?)
}

fn fmt_ratio(ratio: f64) -> String {
    if ratio.is_finite() {
        format!("{ratio:.2}")
    } else {
        "–".to_string()
    }
}

/// The level of the comparisons' difference intervals as a percentage (`95`, `99.89`).
pub fn level_text(comparisons: &[Comparison]) -> String {
    let level = comparisons
        .iter()
        .find_map(|c| c.difference.map(|d| d.level))
        .unwrap_or(crate::stats::CONFIDENCE);
    let text = format!("{:.2}", level * 100.0);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// What a comparison lost: `a lost 3 of 10 seeds (non-finite, diverged or failed)`, or
/// empty when both sides kept every seed.
pub fn lost_seeds(c: &Comparison) -> String {
    let side = |name: &str, lost: usize, n: usize| {
        (lost > 0).then(|| format!("{name} lost {lost} of {}", lost + n))
    };
    let parts: Vec<String> = [
        side("a", c.failures_a, c.a.n),
        side("b", c.failures_b, c.b.n),
    ]
    .into_iter()
    .flatten()
    .collect();
    parts.join("; ")
}

/// A p-value for tables: four significant digits, `<1e-6` below that.
pub fn fmt_p(p: f64) -> String {
    if !p.is_finite() {
        "–".into()
    } else if p < 1e-6 {
        "<1e-6".into()
    } else {
        fmt_num(p)
    }
}

/// One row per comparison: the question, both sides with n and interval, the difference
/// with its interval (paired or Welch, at the report's level), its p-value raw and
/// Holm-adjusted, the seeds either side lost, the margin and the verdict.
pub fn comparison_table(comparisons: &[Comparison]) -> Result<DataFrame> {
    let text =
        |f: &dyn Fn(&Comparison) -> String| -> Vec<String> { comparisons.iter().map(f).collect() };
    let level = level_text(comparisons);
    let columns = vec![
        Column::new("comparison".into(), text(&|c| c.question.name.clone())),
        Column::new("metric".into(), text(&|c| c.question.metric.clone())),
        Column::new("a".into(), text(&|c| c.cell_a.clone())),
        Column::new("b".into(), text(&|c| c.cell_b.clone())),
        Column::new("n a/b".into(), text(&|c| format!("{}/{}", c.a.n, c.b.n))),
        Column::new("a (95% CI)".into(), text(&|c| fmt_estimate(&c.a))),
        Column::new("b (95% CI)".into(), text(&|c| fmt_estimate(&c.b))),
        Column::new(
            format!("a − b [{level}% CI]").into(),
            text(&|c| match &c.difference {
                Some(d) => format!(
                    "{} [{}, {}] {}",
                    fmt_num(d.diff),
                    fmt_num(d.lower),
                    fmt_num(d.upper),
                    d.method.as_str()
                ),
                None => fmt_num(c.a.mean - c.b.mean),
            }),
        ),
        Column::new("p".into(), text(&|c| fmt_p(c.p_value))),
        Column::new("p (Holm)".into(), text(&|c| fmt_p(c.p_holm))),
        Column::new("lost seeds".into(), text(&lost_seeds)),
        Column::new("margin".into(), text(&|c| fmt_num(c.question.margin))),
        Column::new("floor".into(), text(&|c| fmt_num(c.floor))),
        Column::new("verdict".into(), text(&|c| c.verdict.to_string())),
    ];
    Ok(DataFrame::new(columns)?)
}

/// One row per comparison with full-precision numbers, for CSV: both sides' n, mean and
/// interval, the difference with its interval (paired or Welch), degrees of freedom and
/// kind, the margin, the
/// floor and the verdict.
pub fn comparison_frame(comparisons: &[Comparison]) -> Result<DataFrame> {
    let text =
        |f: &dyn Fn(&Comparison) -> String| -> Vec<String> { comparisons.iter().map(f).collect() };
    let number = |f: &dyn Fn(&Comparison) -> f64| -> Vec<Option<f64>> {
        comparisons
            .iter()
            .map(|c| Some(f(c)).filter(|v| v.is_finite()))
            .collect()
    };
    let count = |f: &dyn Fn(&Comparison) -> usize| -> Vec<u64> {
        comparisons.iter().map(|c| f(c) as u64).collect()
    };
    let difference = |f: fn(&crate::stats::Difference) -> f64| {
        move |c: &Comparison| c.difference.as_ref().map_or(f64::NAN, f)
    };
    let columns = vec![
        Column::new("comparison".into(), text(&|c| c.question.name.clone())),
        Column::new("metric".into(), text(&|c| c.question.metric.clone())),
        Column::new("a".into(), text(&|c| c.cell_a.clone())),
        Column::new("b".into(), text(&|c| c.cell_b.clone())),
        Column::new("n_a".into(), count(&|c| c.a.n)),
        Column::new("n_b".into(), count(&|c| c.b.n)),
        Column::new("failures_a".into(), count(&|c| c.failures_a)),
        Column::new("failures_b".into(), count(&|c| c.failures_b)),
        Column::new("mean_a".into(), number(&|c| c.a.mean)),
        Column::new("ci_low_a".into(), number(&|c| c.a.lower())),
        Column::new("ci_high_a".into(), number(&|c| c.a.upper())),
        Column::new("mean_b".into(), number(&|c| c.b.mean)),
        Column::new("ci_low_b".into(), number(&|c| c.b.lower())),
        Column::new("ci_high_b".into(), number(&|c| c.b.upper())),
        Column::new("diff".into(), number(&|c| c.a.mean - c.b.mean)),
        Column::new("diff_ci_low".into(), number(&difference(|d| d.lower))),
        Column::new("diff_ci_high".into(), number(&difference(|d| d.upper))),
        Column::new("df".into(), number(&difference(|d| d.df))),
        Column::new("level".into(), number(&difference(|d| d.level))),
        Column::new("p".into(), number(&|c| c.p_value)),
        Column::new("p_holm".into(), number(&|c| c.p_holm)),
        Column::new(
            "interval".into(),
            text(&|c| {
                c.difference
                    .map_or("none", |d| d.method.as_str())
                    .to_string()
            }),
        ),
        Column::new("margin".into(), number(&|c| c.question.margin)),
        Column::new(
            "lower_is_better".into(),
            comparisons
                .iter()
                .map(|c| c.question.lower_is_better)
                .collect::<Vec<_>>(),
        ),
        Column::new("floor".into(), number(&|c| c.floor)),
        Column::new("verdict".into(), text(&|c| c.verdict.to_string())),
        Column::new(
            "verdict_detail".into(),
            text(&|c| c.verdict.describe(c.question.margin)),
        ),
    ];
    Ok(DataFrame::new(columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_round_the_mean_to_the_interval() {
        let cases = [
            ((3, 0.904, 0.009937), "0.9040 ± 0.0099"),
            ((3, 1.2623, 0.02541), "1.262 ± 0.025"),
            ((3, 0.005955, 0.0004849), "0.00596 ± 0.00048"),
            ((2, 2.0, 12.706), "2 ± 13"),
            ((3, 0.5, 0.0), "0.5000 ± 0"),
        ];
        for ((n, mean, half_width), expected) in cases {
            let e = Estimate {
                n,
                mean,
                std: 1.0,
                half_width,
            };
            assert_eq!(fmt_estimate(&e), expected);
        }
        assert_eq!(fmt_estimate(&Estimate::of(&[0.25])), "0.2500 (n=1)");
    }
}
