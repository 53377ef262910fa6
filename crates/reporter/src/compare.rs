//! The questions an experiment file asks (`[[compare]]`): is cell `a` better than cell
//! `b` on a metric, by more than a margin, given the spread over seeds?
//!
//! The verdict reads the 95% interval for `d = mean_a - mean_b` against the margin
//! `m >= 0` (in metric units): the paired t interval of the per-seed differences when
//! both cells have the same seeds, all completed (cells of one sweep share each seed's
//! data draw, initial weights and sampling noise), Welch's interval otherwise. For a metric where lower is better:
//! - **better**: the whole interval lies below `-m` (`upper < -m`): `a` is lower by more
//!   than the margin;
//! - **worse**: the whole interval lies above `+m` (`lower > m`);
//! - **equivalent**: the whole interval lies inside `[-m, m]`: whatever the difference,
//!   it is smaller than the margin;
//! - **better (or worse), size uncertain**: the interval excludes 0 but crosses `±m`: `a`
//!   differs in that direction, by an amount the seeds cannot place against the margin;
//! - **no detectable difference**: the interval contains 0 and crosses `±m`; more seeds
//!   might decide.
//!
//! For a metric where higher is better the signs swap. With fewer than two completed
//! seeds on either side there is no interval and the verdict is "insufficient seeds".

use std::fmt;

use crate::aggregate::Aggregate;
use crate::stats::{Difference, Estimate};
use crate::sweep::{metric_names, Selector, Sweep};
use crate::{Error, Result};

/// One comparison as declared in the experiment file.
#[derive(Clone, Debug, PartialEq)]
pub struct Question {
    /// A short name for the report.
    pub name: String,
    /// The cell under test.
    pub a: Selector,
    /// The reference cell.
    pub b: Selector,
    /// One of [`ddpm::Metrics::NAMES`].
    pub metric: String,
    /// The smallest difference that matters, in metric units, >= 0.
    pub margin: f64,
    /// Whether a lower value of the metric is better (true for every distance metric).
    pub lower_is_better: bool,
}

/// The answer to a [`Question`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// `a` beats `b` by more than the margin.
    Better,
    /// `b` beats `a` by more than the margin.
    Worse,
    /// The interval lies inside `[-margin, margin]`: any difference is smaller than the
    /// margin.
    Equivalent,
    /// The interval excludes 0 but crosses the margin: a real difference whose size the
    /// interval cannot place against the margin. `a_better` says its direction.
    UncertainSize {
        /// Whether the difference favours `a`.
        a_better: bool,
    },
    /// The interval contains 0 and crosses the margin.
    NoDetectableDifference,
    /// Fewer than two completed seeds on a side: no interval can be formed.
    InsufficientSeeds,
}

impl Verdict {
    /// Reads a difference interval against the margin (see the module docs).
    pub fn judge(difference: &Difference, margin: f64, lower_is_better: bool) -> Verdict {
        let (below, above) = (difference.upper < -margin, difference.lower > margin);
        match (below, above, lower_is_better) {
            (true, _, true) | (_, true, false) => Verdict::Better,
            (true, _, false) | (_, true, true) => Verdict::Worse,
            _ if difference.lower >= -margin && difference.upper <= margin => Verdict::Equivalent,
            _ if difference.upper < 0.0 || difference.lower > 0.0 => Verdict::UncertainSize {
                a_better: (difference.upper < 0.0) == lower_is_better,
            },
            _ => Verdict::NoDetectableDifference,
        }
    }

    /// The verdict in words, with the margin.
    pub fn describe(&self, margin: f64) -> String {
        match self {
            Verdict::Better => "a is better".to_string(),
            Verdict::Worse => "a is worse".to_string(),
            Verdict::Equivalent => format!(
                "equivalent at margin {} (interval within ±margin)",
                fmt_num(margin)
            ),
            Verdict::UncertainSize { a_better } => format!(
                "a is {}, by an amount the interval cannot place against margin {} \
                 (interval excludes 0, crosses ±margin)",
                if *a_better { "better" } else { "worse" },
                fmt_num(margin)
            ),
            Verdict::NoDetectableDifference => format!(
                "no detectable difference at margin {} (interval contains 0, crosses ±margin)",
                fmt_num(margin)
            ),
            Verdict::InsufficientSeeds => "insufficient seeds (fewer than 2 completed)".into(),
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Better => "better",
            Verdict::Worse => "worse",
            Verdict::Equivalent => "equivalent",
            Verdict::UncertainSize { a_better: true } => "better, size uncertain",
            Verdict::UncertainSize { a_better: false } => "worse, size uncertain",
            Verdict::NoDetectableDifference => "no detectable difference",
            Verdict::InsufficientSeeds => "insufficient seeds",
        })
    }
}

/// A question with its numbers and verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// The question asked.
    pub question: Question,
    /// `a`'s cell, as `axis=value` pairs.
    pub cell_a: String,
    /// `b`'s cell, as `axis=value` pairs.
    pub cell_b: String,
    /// `a`'s metric over its completed seeds.
    pub a: Estimate,
    /// `b`'s metric over its completed seeds.
    pub b: Estimate,
    /// Runs of `a` that diverged or failed.
    pub failures_a: usize,
    /// Runs of `b` that diverged or failed.
    pub failures_b: usize,
    /// The difference `a - b`, when both sides have two or more seeds, with its interval
    /// at the report's level (95%, or Bonferroni's `1 - 0.05/m`).
    pub difference: Option<Difference>,
    /// The two-sided p-value of `a - b = 0` (NaN without an interval).
    pub p_value: f64,
    /// The p-value after Holm's adjustment over the report's comparisons.
    pub p_holm: f64,
    /// The mean noise floor of the metric over both cells, for scale.
    pub floor: f64,
    /// The answer.
    pub verdict: Verdict,
}

/// How the report's intervals account for its number of comparisons `m`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Correction {
    /// Each interval at 95%.
    #[default]
    None,
    /// Each interval at `1 - 0.05 / m` (Bonferroni): all `m` cover together with
    /// probability at least 95%, and each verdict reads its interval as usual.
    Bonferroni,
}

impl Correction {
    /// The level of each of `m` intervals.
    pub fn level(self, m: usize) -> f64 {
        match self {
            Correction::None => crate::stats::CONFIDENCE,
            Correction::Bonferroni => 1.0 - (1.0 - crate::stats::CONFIDENCE) / m.max(1) as f64,
        }
    }
}

/// Answers each question from the aggregated sweep, every interval at the level
/// `correction` gives for `questions.len()` comparisons, with Holm-adjusted p-values over
/// them. A selector that does not pick exactly one cell, or an unknown metric, is an error
/// that names the comparison.
pub fn answer(
    sweep: &Sweep,
    aggregate: &Aggregate,
    questions: &[Question],
    correction: Correction,
) -> Result<Vec<Comparison>> {
    let level = correction.level(questions.len());
    let mut comparisons = questions
        .iter()
        .map(|q| answer_one(sweep, aggregate, q, level))
        .collect::<Result<Vec<_>>>()?;
    let p: Vec<f64> = comparisons.iter().map(|c| c.p_value).collect();
    for (comparison, adjusted) in comparisons.iter_mut().zip(crate::stats::holm(&p)) {
        comparison.p_holm = adjusted;
    }
    Ok(comparisons)
}

fn answer_one(
    sweep: &Sweep,
    aggregate: &Aggregate,
    question: &Question,
    level: f64,
) -> Result<Comparison> {
    let context =
        |message: String| Error::Selector(format!("comparison `{}`: {message}", question.name));
    if !metric_names().contains(&question.metric.as_str()) {
        return Err(context(format!(
            "unknown metric `{}`: expected one of {}",
            question.metric,
            metric_names().join(", ")
        )));
    }
    if !(question.margin.is_finite() && question.margin >= 0.0) {
        return Err(context(format!(
            "margin {} must be a number >= 0",
            question.margin
        )));
    }
    let side = |selector: &Selector, label: &str| {
        // A sweep still under way may have no stored run of a cell yet: that side has no
        // seeds, and the verdict says so instead of failing the whole report.
        if !sweep.rows.iter().any(|r| r.matches(selector)) {
            let nothing = crate::stats::Estimate::from_moments(0, f64::NAN, f64::NAN);
            return Ok((
                format!("{{{selector}}} (no stored run yet)"),
                nothing,
                0,
                f64::NAN,
                None,
            ));
        }
        let key = sweep
            .select_cell(selector)
            .map_err(|e| context(format!("selector {label}: {e}")))?;
        let cell = aggregate
            .cell(&key)
            .expect("every cell of the sweep is in its aggregate");
        let metric = cell.metrics[&question.metric];
        Ok::<_, Error>((
            sweep.describe_cell(&key),
            metric.estimate,
            cell.failures,
            metric.floor_mean,
            Some(key),
        ))
    };
    let (cell_a, estimate_a, failures_a, floor_a, key_a) = side(&question.a, "a")?;
    let (cell_b, estimate_b, failures_b, floor_b, key_b) = side(&question.b, "b")?;
    // Cells with the same seeds share each seed's data draw, initial weights and sampling
    // noise: their per-seed differences give the (tighter) paired interval.
    let paired = match (&key_a, &key_b) {
        (Some(a), Some(b)) => same_seed_pairs(sweep, a, b, &question.metric),
        _ => None,
    };
    let difference = match paired {
        Some(pairs) => Difference::paired(&pairs),
        None => Difference::welch(&estimate_a, &estimate_b),
    }
    .map(|d| d.at_level(level));
    let verdict = match &difference {
        Some(d) => Verdict::judge(d, question.margin, question.lower_is_better),
        None => Verdict::InsufficientSeeds,
    };
    Ok(Comparison {
        question: question.clone(),
        cell_a,
        cell_b,
        a: estimate_a,
        b: estimate_b,
        failures_a,
        failures_b,
        p_value: difference.as_ref().map_or(f64::NAN, Difference::p_value),
        p_holm: f64::NAN,
        difference,
        floor: match (floor_a.is_finite(), floor_b.is_finite()) {
            (true, true) => (floor_a + floor_b) / 2.0,
            (true, false) => floor_a,
            _ => floor_b,
        },
        verdict,
    })
}

/// A number with four significant digits, in plain or scientific notation by size, so
/// tables stay narrow and stable.
/// `(a_s, b_s)` for every seed `s`, when both cells have the same seeds, each with a
/// finite value of `metric` (so a failed run on either side means no pairing).
fn same_seed_pairs(
    sweep: &Sweep,
    a: &[crate::sweep::AxisValue],
    b: &[crate::sweep::AxisValue],
    metric: &str,
) -> Option<Vec<(f64, f64)>> {
    let values = |key: &[crate::sweep::AxisValue]| -> Option<std::collections::BTreeMap<u64, f64>> {
        sweep
            .runs_of(key)
            .into_iter()
            .map(|run| {
                let value = run
                    .metrics
                    .as_ref()
                    .and_then(|m| crate::sweep::metric_value(m, metric))
                    .filter(|v| v.is_finite())?;
                Some((run.seed, value))
            })
            .collect()
    };
    let (a, b) = (values(a)?, values(b)?);
    if a.len() < 2 || !a.keys().eq(b.keys()) {
        return None;
    }
    Some(a.iter().map(|(seed, va)| (*va, b[seed])).collect())
}

pub fn fmt_num(value: f64) -> String {
    if !value.is_finite() {
        return if value.is_nan() {
            "–".into()
        } else {
            format!("{value}")
        };
    }
    if value == 0.0 {
        return "0".into();
    }
    let magnitude = value.abs().log10().floor() as i32;
    if (-3..5).contains(&magnitude) {
        let decimals = (3 - magnitude).max(0) as usize;
        format!("{value:.decimals$}")
    } else {
        format!("{value:.3e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interval(lower: f64, upper: f64) -> Difference {
        Difference {
            diff: (lower + upper) / 2.0,
            lower,
            upper,
            df: 8.0,
            method: crate::stats::Interval::Welch,
            se: 1.0,
            level: crate::stats::CONFIDENCE,
        }
    }

    #[test]
    fn verdicts_on_constructed_intervals() {
        let cases = [
            // (lower, upper, margin, lower_is_better, verdict)
            (-0.5, -0.2, 0.1, true, Verdict::Better),
            (0.2, 0.5, 0.1, true, Verdict::Worse),
            (-0.5, -0.2, 0.1, false, Verdict::Worse),
            (0.2, 0.5, 0.1, false, Verdict::Better),
            (-0.05, 0.05, 0.1, true, Verdict::Equivalent),
            (-0.5, 0.05, 0.1, true, Verdict::NoDetectableDifference),
            // Clear of zero, inside the margin: a difference smaller than the margin.
            (-0.08, -0.02, 0.1, true, Verdict::Equivalent),
            // Clear of zero, crossing the margin: a difference of uncertain size.
            (
                -0.3,
                -0.02,
                0.1,
                true,
                Verdict::UncertainSize { a_better: true },
            ),
            (
                0.02,
                0.3,
                0.1,
                true,
                Verdict::UncertainSize { a_better: false },
            ),
            (
                0.02,
                0.3,
                0.1,
                false,
                Verdict::UncertainSize { a_better: true },
            ),
            (-0.3, -0.02, 0.0, true, Verdict::Better),
        ];
        for (lower, upper, margin, lower_is_better, expected) in cases {
            let got = Verdict::judge(&interval(lower, upper), margin, lower_is_better);
            assert_eq!(got, expected, "[{lower}, {upper}] margin {margin}");
        }
    }

    #[test]
    fn numbers_keep_four_significant_digits() {
        let cases = [
            (0.012345, "0.01235"),
            (1.5, "1.500"),
            (1234.5, "1234"),
            (123456.0, "1.235e5"),
            (0.0001234, "1.234e-4"),
            (0.0, "0"),
            (f64::NAN, "–"),
        ];
        for (value, expected) in cases {
            assert_eq!(fmt_num(value), expected, "{value}");
        }
    }
}
