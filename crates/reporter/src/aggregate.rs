//! The sweep as polars tables: one row per run (`runs`), and one row per cell with the
//! statistics over its seeds (`summary`), computed by a polars group-by.

use std::collections::BTreeMap;

use polars::prelude::*;

use crate::stats::Estimate;
use crate::sweep::{metric_names, metric_value, AxisValue, RunStatus, Sweep};
use crate::Result;

/// A completed run is *exploded* when any of its metrics exceeds this many times its
/// noise floor: finite, but far from anything a model of the data draws (the samplers
/// study saw SW of 9485 against a floor of 0.012). Exploded runs stay in the means; the
/// summary counts them and gives the median beside the mean.
pub const EXPLODED_RATIO: f64 = 1000.0;

/// The statistics of one metric in one cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricSummary {
    /// Mean, deviation and interval over the completed seeds.
    pub estimate: Estimate,
    /// The median over the completed seeds (NaN with none).
    pub median: f64,
    /// The mean noise floor over the cell's runs: what a perfect model would score.
    pub floor_mean: f64,
    /// `estimate.mean / floor_mean`: 1 is as good as a fresh draw of the data.
    pub ratio: f64,
}

/// The statistics of one cell (every axis fixed, seeds varying).
#[derive(Clone, Debug, PartialEq)]
pub struct CellSummary {
    /// The cell's axis values, in the sweep's axis order.
    pub key: Vec<AxisValue>,
    /// Runs stored for the cell.
    pub runs: usize,
    /// Runs that diverged, had non-finite samples or failed; they count in `runs` but not
    /// in the statistics.
    pub failures: usize,
    /// Completed runs with a metric above [`EXPLODED_RATIO`] times its floor (in the
    /// statistics, unlike failures).
    pub exploded: usize,
    /// Per metric, by name.
    pub metrics: BTreeMap<String, MetricSummary>,
    /// Mean final training loss over the completed runs.
    pub final_loss_mean: f64,
    /// Mean training seconds over all runs.
    pub train_seconds_mean: f64,
}

/// The aggregated sweep: the polars frames that are written out, and the cells read back
/// from the summary frame for comparisons and plots.
#[derive(Clone, Debug)]
pub struct Aggregate {
    /// One row per run.
    pub runs: DataFrame,
    /// One row per cell, sorted by the axes.
    pub summary: DataFrame,
    /// The rows of `summary`, in the same order.
    pub cells: Vec<CellSummary>,
}

impl Aggregate {
    /// The summary of one cell.
    pub fn cell(&self, key: &[AxisValue]) -> Option<&CellSummary> {
        self.cells.iter().find(|c| c.key == key)
    }
}

/// Aggregates every run of `sweep`.
pub fn aggregate(sweep: &Sweep) -> Result<Aggregate> {
    let runs = runs_frame(sweep)?;
    let summary = summary_frame(sweep, &runs)?;
    let cells = read_cells(sweep, &summary)?;
    Ok(Aggregate {
        runs,
        summary,
        cells,
    })
}

fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

/// An axis as a typed column: integers stay integers, mixed numbers become floats,
/// anything else is text.
fn axis_column(sweep: &Sweep, axis: &str) -> Column {
    let values: Vec<Option<&AxisValue>> = sweep.rows.iter().map(|r| r.axes.get(axis)).collect();
    let name: PlSmallStr = axis.into();
    let all = |pred: fn(&AxisValue) -> bool| values.iter().flatten().all(|v| pred(v));
    if all(|v| matches!(v, AxisValue::Int(_))) {
        let ints: Vec<Option<i64>> = values
            .iter()
            .map(|v| match v {
                Some(AxisValue::Int(i)) => Some(*i),
                _ => None,
            })
            .collect();
        Column::new(name, ints)
    } else if all(|v| v.as_f64().is_some()) {
        let floats: Vec<Option<f64>> = values.iter().map(|v| v.and_then(|v| v.as_f64())).collect();
        Column::new(name, floats)
    } else if all(|v| matches!(v, AxisValue::Bool(_))) {
        let bools: Vec<Option<bool>> = values
            .iter()
            .map(|v| match v {
                Some(AxisValue::Bool(b)) => Some(*b),
                _ => None,
            })
            .collect();
        Column::new(name, bools)
    } else {
        let texts: Vec<Option<String>> = values.iter().map(|v| v.map(|v| v.to_string())).collect();
        Column::new(name, texts)
    }
}

/// One row per run: `run_id`, the axes, `seed`, `status`, each metric with its noise floor
/// (`<metric>_floor`) and their ratio (`<metric>_ratio`), `final_loss` and the timings.
/// Metrics of runs that did not complete are null.
pub fn runs_frame(sweep: &Sweep) -> Result<DataFrame> {
    let rows = &sweep.rows;
    let mut columns = vec![Column::new(
        "run_id".into(),
        rows.iter().map(|r| r.run_id.clone()).collect::<Vec<_>>(),
    )];
    columns.extend(sweep.axes.iter().map(|axis| axis_column(sweep, axis)));
    columns.push(Column::new(
        "seed".into(),
        rows.iter().map(|r| r.seed).collect::<Vec<u64>>(),
    ));
    columns.push(Column::new(
        "status".into(),
        rows.iter().map(|r| r.status.as_str()).collect::<Vec<_>>(),
    ));
    for name in metric_names() {
        let value =
            |m: Option<&ddpm::Metrics>| m.and_then(|m| metric_value(m, name)).and_then(finite);
        let metric: Vec<Option<f64>> = rows
            .iter()
            .map(|r| {
                if r.status == RunStatus::Completed {
                    value(r.metrics.as_ref())
                } else {
                    None
                }
            })
            .collect();
        let floor: Vec<Option<f64>> = rows.iter().map(|r| value(r.noise_floor.as_ref())).collect();
        let ratio: Vec<Option<f64>> = metric
            .iter()
            .zip(&floor)
            .map(|(m, f)| match (m, f) {
                (Some(m), Some(f)) if *f > 0.0 => Some(m / f),
                _ => None,
            })
            .collect();
        columns.push(Column::new((*name).into(), metric));
        columns.push(Column::new(format!("{name}_floor").into(), floor));
        columns.push(Column::new(format!("{name}_ratio").into(), ratio));
    }
    columns.push(Column::new(
        "final_loss".into(),
        rows.iter()
            .map(|r| r.final_loss.and_then(finite))
            .collect::<Vec<_>>(),
    ));
    columns.push(Column::new(
        "train_seconds".into(),
        rows.iter()
            .map(|r| r.timings.train_seconds)
            .collect::<Vec<_>>(),
    ));
    columns.push(Column::new(
        "sample_seconds".into(),
        rows.iter()
            .map(|r| r.timings.sample_seconds)
            .collect::<Vec<_>>(),
    ));
    columns.push(Column::new(
        "metric_seconds".into(),
        rows.iter()
            .map(|r| r.timings.metric_seconds)
            .collect::<Vec<_>>(),
    ));
    Ok(DataFrame::new(columns)?)
}

/// The statistics of one group of runs as a one-row frame (without the keys).
fn summarise_group(group: &DataFrame) -> PolarsResult<DataFrame> {
    let runs = group.height();
    let completed = group
        .column("status")?
        .str()?
        .into_iter()
        .filter(|s| *s == Some(RunStatus::Completed.as_str()))
        .count();
    let mut exploded = vec![false; runs];
    for name in metric_names() {
        let ratios = group.column(&format!("{name}_ratio"))?.f64()?;
        for (flag, ratio) in exploded.iter_mut().zip(ratios) {
            *flag |= ratio.is_some_and(|r| r > EXPLODED_RATIO);
        }
    }
    let mut columns = vec![
        Column::new("runs".into(), [runs as u64]),
        Column::new("failures".into(), [(runs - completed) as u64]),
        Column::new(
            "exploded".into(),
            [exploded.iter().filter(|e| **e).count() as u64],
        ),
    ];
    for name in metric_names() {
        let values = group.column(name)?.f64()?;
        let n = values.len() - values.null_count();
        let median = values.median().unwrap_or(f64::NAN);
        let estimate = Estimate::from_moments(
            n,
            values.mean().unwrap_or(f64::NAN),
            values.std(1).unwrap_or(f64::NAN),
        );
        let floor_mean = group
            .column(&format!("{name}_floor"))?
            .f64()?
            .mean()
            .unwrap_or(f64::NAN);
        let ratio = estimate.mean / floor_mean;
        columns.push(Column::new(format!("{name}_n").into(), [n as u64]));
        let stats = [
            ("mean", finite(estimate.mean)),
            ("median", finite(median)),
            ("std", finite(estimate.std)),
            ("ci_low", finite(estimate.lower())),
            ("ci_high", finite(estimate.upper())),
            ("floor", finite(floor_mean)),
            ("ratio", finite(ratio)),
        ];
        for (stat, value) in stats {
            columns.push(Column::new(format!("{name}_{stat}").into(), [value]));
        }
    }
    let mean_of = |column: &str| -> PolarsResult<Option<f64>> {
        Ok(group.column(column)?.f64()?.mean().and_then(finite))
    };
    columns.push(Column::new(
        "final_loss_mean".into(),
        [mean_of("final_loss")?],
    ));
    columns.push(Column::new(
        "train_seconds_mean".into(),
        [mean_of("train_seconds")?],
    ));
    DataFrame::new(columns)
}

/// One row per cell: the axes, `runs`, `failures`, `exploded` (see [`EXPLODED_RATIO`]), and
/// for each metric `<m>_n` (completed seeds), `<m>_mean`, `<m>_median`, `<m>_std` (ddof 1), `<m>_ci_low`/`<m>_ci_high` (95% Student t),
/// `<m>_floor` (mean noise floor) and `<m>_ratio` (mean over floor); then
/// `final_loss_mean` and `train_seconds_mean`. Rows follow the sorted cells.
pub fn summary_frame(sweep: &Sweep, runs: &DataFrame) -> Result<DataFrame> {
    if runs.height() == 0 {
        return Err(crate::Error::Empty(sweep.name.clone()));
    }
    if sweep.axes.is_empty() {
        return Ok(summarise_group(runs)?);
    }
    // `group_by_stable` keeps groups in order of first appearance, and the runs are sorted
    // by cell, so the summary comes out sorted by the axes.
    let summary = runs
        .group_by_stable(sweep.axes.iter().map(String::as_str))?
        .apply(|group| {
            let keys = group
                .select(sweep.axes.iter().map(String::as_str))?
                .head(Some(1));
            let stats = summarise_group(&group)?;
            keys.hstack(stats.get_columns())
        })?;
    Ok(summary)
}

fn read_cells(sweep: &Sweep, summary: &DataFrame) -> Result<Vec<CellSummary>> {
    let keys = sweep.cells();
    debug_assert_eq!(keys.len(), summary.height());
    let column = |name: &str| -> Result<Vec<f64>> {
        let cast = summary.column(name)?.cast(&DataType::Float64)?;
        Ok(cast
            .f64()?
            .into_iter()
            .map(|v| v.unwrap_or(f64::NAN))
            .collect())
    };
    let runs = column("runs")?;
    let failures = column("failures")?;
    let exploded = column("exploded")?;
    let final_loss = column("final_loss_mean")?;
    let train_seconds = column("train_seconds_mean")?;
    let mut per_metric = BTreeMap::new();
    for name in metric_names() {
        per_metric.insert(
            *name,
            (
                column(&format!("{name}_n"))?,
                column(&format!("{name}_mean"))?,
                column(&format!("{name}_median"))?,
                column(&format!("{name}_std"))?,
                column(&format!("{name}_floor"))?,
                column(&format!("{name}_ratio"))?,
            ),
        );
    }
    Ok(keys
        .into_iter()
        .enumerate()
        .map(|(i, key)| CellSummary {
            key,
            runs: runs[i] as usize,
            failures: failures[i] as usize,
            exploded: exploded[i] as usize,
            metrics: per_metric
                .iter()
                .map(|(name, (n, mean, median, std, floor, ratio))| {
                    let summary = MetricSummary {
                        estimate: Estimate::from_moments(n[i] as usize, mean[i], std[i]),
                        median: median[i],
                        floor_mean: floor[i],
                        ratio: ratio[i],
                    };
                    (name.to_string(), summary)
                })
                .collect(),
            final_loss_mean: final_loss[i],
            train_seconds_mean: train_seconds[i],
        })
        .collect())
}
