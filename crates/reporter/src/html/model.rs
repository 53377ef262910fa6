//! The page's data: the sweep, its comparisons and its figures' numbers as the JSON the
//! page's script reads, runs stored column by column so a 10,000-run sweep stays small.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::aggregate::{Aggregate, EXPLODED_RATIO};
use crate::compare::Comparison;
use crate::plot::metric::MetricFigure;
use crate::sweep::{metric_names, metric_value, AxisValue, RunRow, RunStatus, Sweep};

/// A finite number, or `None` (JSON `null`).
pub fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

/// One grid axis and its values, sorted as the report sorts them.
#[derive(Serialize)]
pub struct AxisData {
    /// The axis path, e.g. `schedule.kind`.
    pub name: String,
    /// Each value as it is shown (`10`, `ddpm`, `true`).
    pub labels: Vec<String>,
    /// Each value as a number, when every value is one (for numeric axes and sorting).
    pub numbers: Option<Vec<f64>>,
}

impl AxisData {
    fn of(sweep: &Sweep, axis: &str) -> (AxisData, Vec<AxisValue>) {
        let values = sweep.values_of(axis);
        let numbers: Option<Vec<f64>> = values.iter().map(AxisValue::as_f64).collect();
        (
            AxisData {
                name: axis.to_string(),
                labels: values.iter().map(ToString::to_string).collect(),
                numbers,
            },
            values,
        )
    }
}

/// Every run, one array per column, in the sweep's row order.
#[derive(Serialize, Default)]
pub struct RunsData {
    /// Run ids.
    pub id: Vec<String>,
    /// Seeds.
    pub seed: Vec<u64>,
    /// `completed`, `diverged`, `non_finite` or `failed`.
    pub status: Vec<&'static str>,
    /// Completed runs with a metric above the exploded ratio times its floor.
    pub exploded: Vec<bool>,
    /// Per axis (in `axes` order), each run's value as an index into the axis's values.
    pub axes: Vec<Vec<usize>>,
    /// Per metric (in `metrics` order), each run's value.
    pub metrics: Vec<Vec<Option<f64>>>,
    /// Per metric, each run's noise floor.
    pub floors: Vec<Vec<Option<f64>>>,
    /// The last training loss.
    pub final_loss: Vec<Option<f64>>,
    /// Training seconds (the shared model's, for runs that share one).
    pub train_seconds: Vec<f64>,
    /// Sampling seconds.
    pub sample_seconds: Vec<f64>,
    /// Metric seconds.
    pub metric_seconds: Vec<f64>,
    /// Why a run did not complete (the error's first line, or the diverged epoch).
    pub detail: Vec<Option<String>>,
    /// Index into `models` of the model the run sampled (its own when it shares none).
    pub model: Vec<usize>,
    /// Index into `versions`.
    pub version: Vec<Option<usize>>,
}

/// Whether a completed run has a metric above [`EXPLODED_RATIO`] times its floor, as the
/// aggregate counts it.
pub fn exploded(row: &RunRow) -> bool {
    let (Some(metrics), Some(floor)) = (&row.metrics, &row.noise_floor) else {
        return false;
    };
    row.status == RunStatus::Completed
        && metric_names().iter().any(|name| {
            match (metric_value(metrics, name), metric_value(floor, name)) {
                (Some(v), Some(f)) => f > 0.0 && v > EXPLODED_RATIO * f,
                _ => false,
            }
        })
}

/// Why a run did not complete, in one line (empty for completed runs), as `report.md`
/// lists it.
pub fn detail(row: &RunRow) -> Option<String> {
    match (row.status, row.diverged_epoch, &row.error) {
        (RunStatus::Completed, _, _) => None,
        (RunStatus::Diverged, Some(epoch), _) => Some(format!("loss not finite at epoch {epoch}")),
        (_, _, Some(error)) => Some(error.lines().next().unwrap_or("").to_string()),
        _ => None,
    }
}

/// The key of the model behind a run: its shared model, or the run itself.
pub fn model_key(row: &RunRow) -> &str {
    row.model.as_deref().unwrap_or(&row.run_id)
}

/// Index of `value` in `list`, appending it when new.
pub fn intern<T: PartialEq + Clone>(list: &mut Vec<T>, value: &T) -> usize {
    match list.iter().position(|v| v == value) {
        Some(i) => i,
        None => {
            list.push(value.clone());
            list.len() - 1
        }
    }
}

/// The runs as columns, with the axes, models and code versions they refer to.
pub fn runs(sweep: &Sweep) -> (Vec<AxisData>, RunsData, Vec<String>, Vec<String>) {
    let (axes, values): (Vec<AxisData>, Vec<Vec<AxisValue>>) =
        sweep.axes.iter().map(|a| AxisData::of(sweep, a)).unzip();
    let mut data = RunsData {
        axes: vec![Vec::with_capacity(sweep.rows.len()); axes.len()],
        metrics: vec![Vec::with_capacity(sweep.rows.len()); metric_names().len()],
        floors: vec![Vec::with_capacity(sweep.rows.len()); metric_names().len()],
        ..RunsData::default()
    };
    let mut models: Vec<String> = Vec::new();
    let mut model_index: BTreeMap<String, usize> = BTreeMap::new();
    let mut versions: Vec<String> = Vec::new();
    for row in &sweep.rows {
        data.id.push(row.run_id.clone());
        data.seed.push(row.seed);
        data.status.push(row.status.as_str());
        data.exploded.push(exploded(row));
        for (i, axis) in sweep.axes.iter().enumerate() {
            let index = row
                .axes
                .get(axis)
                .and_then(|v| values[i].iter().position(|w| w == v))
                .unwrap_or(0);
            data.axes[i].push(index);
        }
        for (i, name) in metric_names().iter().enumerate() {
            let value = |m: &Option<ddpm::Metrics>| {
                m.as_ref()
                    .and_then(|m| metric_value(m, name))
                    .and_then(finite)
            };
            data.metrics[i].push(value(&row.metrics));
            data.floors[i].push(value(&row.noise_floor));
        }
        data.final_loss.push(row.final_loss.and_then(finite));
        data.train_seconds.push(row.timings.train_seconds);
        data.sample_seconds.push(row.timings.sample_seconds);
        data.metric_seconds.push(row.timings.metric_seconds);
        data.detail.push(detail(row));
        let key = model_key(row).to_string();
        let next = models.len();
        let index = *model_index.entry(key.clone()).or_insert(next);
        if index == next {
            models.push(key);
        }
        data.model.push(index);
        data.version
            .push(row.version.as_ref().map(|v| intern(&mut versions, v)));
    }
    (axes, data, models, versions)
}

/// One answered comparison, with everything the forest plot and its tooltip show.
#[derive(Serialize)]
pub struct ComparisonData {
    /// The comparison's name.
    pub name: String,
    /// The metric compared.
    pub metric: String,
    /// Cell a, as `axis=value` pairs.
    pub a: String,
    /// Cell b.
    pub b: String,
    /// Whether lower is better.
    pub lower_is_better: bool,
    /// The margin, in metric units.
    pub margin: f64,
    /// Completed seeds of a and b.
    pub n: [usize; 2],
    /// Mean of a and b.
    pub means: [Option<f64>; 2],
    /// Half-widths of the 95% intervals of a and b.
    pub half_widths: [Option<f64>; 2],
    /// `mean_a - mean_b`.
    pub diff: Option<f64>,
    /// The interval of the difference, when there is one.
    pub interval: Option<[f64; 2]>,
    /// `paired` or `welch`.
    pub method: Option<&'static str>,
    /// Degrees of freedom.
    pub df: Option<f64>,
    /// The two-sided p-value, raw and Holm-adjusted.
    pub p: [Option<f64>; 2],
    /// The metric's noise floor, for scale.
    pub floor: Option<f64>,
    /// The verdict's short name (`better`, `no detectable difference`).
    pub verdict: String,
    /// The verdict in words, with the margin, as `report.md` gives it.
    pub words: String,
    /// Seeds either side lost.
    pub lost: String,
}

/// The comparisons as the page shows them.
pub fn comparisons(comparisons: &[Comparison]) -> Vec<ComparisonData> {
    comparisons
        .iter()
        .map(|c| {
            let q = &c.question;
            ComparisonData {
                name: q.name.clone(),
                metric: q.metric.clone(),
                a: c.cell_a.clone(),
                b: c.cell_b.clone(),
                lower_is_better: q.lower_is_better,
                margin: q.margin,
                n: [c.a.n, c.b.n],
                means: [finite(c.a.mean), finite(c.b.mean)],
                half_widths: [finite(c.a.half_width), finite(c.b.half_width)],
                diff: c
                    .difference
                    .map(|d| d.diff)
                    .or(Some(c.a.mean - c.b.mean))
                    .and_then(finite),
                interval: c.difference.map(|d| [d.lower, d.upper]),
                method: c.difference.map(|d| d.method.as_str()),
                df: c.difference.and_then(|d| finite(d.df)),
                p: [finite(c.p_value), finite(c.p_holm)],
                floor: finite(c.floor),
                verdict: c.verdict.to_string(),
                words: c.verdict.describe(q.margin),
                lost: crate::table::lost_seeds(c),
            }
        })
        .collect()
}

/// A mean over seeds at one x of a line, with its interval.
#[derive(Serialize)]
pub struct PointData {
    /// The x value.
    pub x: f64,
    /// The mean.
    pub mean: f64,
    /// The interval's ends (`None` with one seed).
    pub lower: Option<f64>,
    /// The interval's upper end.
    pub upper: Option<f64>,
}

/// A cell of a line that lost or exploded seeds.
#[derive(Serialize)]
pub struct MarkData {
    /// The x value.
    pub x: f64,
    /// Seeds that diverged, had non-finite samples or failed.
    pub failed: usize,
    /// Exploded seeds.
    pub exploded: usize,
    /// Every seed of the cell.
    pub runs: usize,
    /// Whether the cell has a mean on the line (else it is marked at the panel's top).
    pub on_line: bool,
}

/// One line of a panel.
#[derive(Serialize)]
pub struct LineData {
    /// The series label.
    pub label: String,
    /// Its colour, the same as in the PNG figures.
    pub colour: String,
    /// Means with intervals, by x.
    pub points: Vec<PointData>,
    /// Cells that lost or exploded seeds.
    pub marks: Vec<MarkData>,
}

/// One panel of a metric chart.
#[derive(Serialize)]
pub struct PanelData {
    /// The panel's title.
    pub title: String,
    /// The mean noise floor.
    pub floor: Option<f64>,
    /// The y range the PNG figure uses, and whether it is logarithmic.
    pub y_range: (f64, f64, bool),
    /// The lines.
    pub lines: Vec<LineData>,
}

/// One metric chart: a metric against T or K, as one PNG figure draws it.
#[derive(Serialize)]
pub struct ChartData {
    /// The metric.
    pub metric: String,
    /// `T` or `K`.
    pub x_name: String,
    /// The x axis's description.
    pub x_label: String,
    /// What the chart fixes (a page of the PNG figures), or empty.
    pub page: String,
    /// The panels.
    pub panels: Vec<PanelData>,
}

/// The colour of palette entry `i` as `#rrggbb`.
pub fn hex_colour(i: usize) -> String {
    let c = crate::plot::color(i);
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

fn chart(figure: MetricFigure) -> ChartData {
    ChartData {
        metric: figure.metric.clone(),
        x_name: figure.x_name.clone(),
        x_label: figure.x_label.clone(),
        page: figure.page.clone(),
        panels: figure
            .panels
            .iter()
            .map(|panel| PanelData {
                title: panel.title.clone(),
                floor: finite(panel.floor),
                y_range: panel.y_range(),
                lines: panel
                    .lines
                    .iter()
                    .map(|line| LineData {
                        label: line.label.clone(),
                        colour: hex_colour(line.colour),
                        points: line
                            .points
                            .iter()
                            .map(|&(x, mean, lower, upper)| PointData {
                                x,
                                mean,
                                lower: finite(lower),
                                upper: finite(upper),
                            })
                            .collect(),
                        marks: line
                            .marks
                            .iter()
                            .map(|m| MarkData {
                                x: m.x,
                                failed: m.failed,
                                exploded: m.exploded,
                                runs: m.runs,
                                on_line: m.on_line,
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The metric figures of the report, against T (unless the sweep is over samplers, as
/// the report decides) and against K, with their numbers.
pub fn charts(sweep: &Sweep, aggregate: &Aggregate) -> Vec<ChartData> {
    let over_samplers = crate::plot::facets::against_k(sweep);
    let mut out = Vec::new();
    for metric in metric_names() {
        if !over_samplers {
            out.extend(MetricFigure::new(sweep, aggregate, metric).map(chart));
        }
        out.extend(
            MetricFigure::against_sampling_steps(sweep, aggregate, metric)
                .into_iter()
                .map(chart),
        );
    }
    out
}

/// A JSON value flattened into `dotted.path -> leaf` (arrays are leaves).
pub fn flatten(value: &Value) -> BTreeMap<String, Value> {
    fn walk(prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (key, inner) in map {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&path, inner, out);
                }
            }
            other => {
                out.insert(prefix.to_string(), other.clone());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", value, &mut out);
    out
}
