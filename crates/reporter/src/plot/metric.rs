//! Figure 1: a metric against `T` (log axis), one line per schedule, one panel per
//! scaling; the mean over seeds with its 95% band, and the noise floor dashed.

use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::facets::{distinct, Facets};
use super::{
    color, densify, draw_legend, draw_mesh, emptiest_corner, font, legend_share, log_ticks,
    plot_err, title, unit, Figure,
};
use crate::aggregate::Aggregate;
use crate::sweep::Sweep;
use crate::Result;

/// One line: the mean and interval of a metric at each `T`.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// The series label, e.g. `polynomial`.
    pub label: String,
    /// Index into the palette, the same in every panel.
    pub colour: usize,
    /// `(T, mean, ci_low, ci_high)`, sorted by `T`; the interval is NaN with one seed.
    pub points: Vec<(f64, f64, f64, f64)>,
}

/// One panel: the lines of one scaling.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    /// The panel's title, e.g. `scaling = minmax`.
    pub title: String,
    /// The lines.
    pub lines: Vec<Line>,
    /// The mean noise floor over the panel's cells.
    pub floor: f64,
}

/// Figure 1 for one metric.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricFigure {
    /// The metric's name.
    pub metric: String,
    /// What x is, for the title (`T`, `K`).
    pub x_name: String,
    /// The x axis's description.
    pub x_label: String,
    /// The panels, left to right.
    pub panels: Vec<Panel>,
}

impl MetricFigure {
    /// Builds the figure of `metric`; `None` when `T` is not an axis of the sweep.
    pub fn new(sweep: &Sweep, aggregate: &Aggregate, metric: &str) -> Option<MetricFigure> {
        MetricFigure::along(
            sweep,
            aggregate,
            metric,
            Facets::of(sweep),
            ("T", "T (diffusion steps, log)"),
        )
    }

    /// `metric` against the sampler's number of steps K (`sampling.steps`), one panel per
    /// schedule (or scaling), one line per training T, sampler and other axes; `None`
    /// unless `sampling.steps` is an axis.
    pub fn against_sampling_steps(
        sweep: &Sweep,
        aggregate: &Aggregate,
        metric: &str,
    ) -> Option<MetricFigure> {
        let panel = if sweep.axes.iter().any(|a| a == "schedule.kind") {
            "schedule.kind"
        } else {
            super::facets::PANEL_AXIS
        };
        let facets = Facets::with(sweep, super::facets::SAMPLING_STEPS_AXIS, panel);
        MetricFigure::along(
            sweep,
            aggregate,
            metric,
            facets,
            ("K", "K (sampling steps, log)"),
        )
    }

    fn along(
        sweep: &Sweep,
        aggregate: &Aggregate,
        metric: &str,
        facets: Facets,
        (x_name, x_label): (&str, &str),
    ) -> Option<MetricFigure> {
        facets.steps?;
        let panel_name = facets.panel_name(sweep).unwrap_or_default().to_string();
        let keys: Vec<_> = aggregate.cells.iter().map(|c| c.key.clone()).collect();
        let series_labels = distinct(keys.iter().map(|k| facets.series_of(sweep, k)));
        let panel_labels = distinct(keys.iter().map(|k| facets.panel_of(sweep, k)));
        let panels = panel_labels
            .iter()
            .map(|panel| {
                let in_panel: Vec<_> = aggregate
                    .cells
                    .iter()
                    .filter(|c| facets.panel_of(sweep, &c.key) == *panel)
                    .collect();
                let floors: Vec<f64> = in_panel
                    .iter()
                    .map(|c| c.metrics[metric].floor_mean)
                    .filter(|f| f.is_finite())
                    .collect();
                let lines = series_labels
                    .iter()
                    .enumerate()
                    .filter_map(|(colour, label)| {
                        let mut points: Vec<(f64, f64, f64, f64)> = in_panel
                            .iter()
                            .filter(|c| facets.series_of(sweep, &c.key) == *label)
                            .filter_map(|c| {
                                let e = c.metrics[metric].estimate;
                                let t = facets.steps_of(&c.key)?;
                                e.mean
                                    .is_finite()
                                    .then(|| (t, e.mean, e.lower(), e.upper()))
                            })
                            .collect();
                        points.sort_by(|a, b| a.0.total_cmp(&b.0));
                        (!points.is_empty()).then(|| Line {
                            label: if label.is_empty() {
                                metric.to_string()
                            } else {
                                label.clone()
                            },
                            colour,
                            points,
                        })
                    })
                    .collect();
                Panel {
                    title: if panel.is_empty() {
                        String::new()
                    } else {
                        format!("{panel_name} = {panel}")
                    },
                    lines,
                    floor: floors.iter().sum::<f64>() / floors.len().max(1) as f64,
                }
            })
            .collect();
        Some(MetricFigure {
            metric: metric.to_string(),
            x_name: x_name.to_string(),
            x_label: x_label.to_string(),
            panels,
        })
    }

    /// The y range `(lo, hi)` and whether it is logarithmic. The means and the floor
    /// always fit; interval ends widen the range by at most a factor of three beyond the
    /// means, so one wide interval (two seeds give t = 12.7) cannot flatten every line.
    /// Distances relate to their floor by ratios, so the axis is logarithmic whenever
    /// every mean and floor is positive.
    pub fn y_range(&self) -> (f64, f64, bool) {
        let points = || {
            self.panels
                .iter()
                .flat_map(|p| p.lines.iter().flat_map(|l| &l.points))
        };
        let finite = |v: &f64| v.is_finite();
        let centres: Vec<f64> = points()
            .map(|p| p.1)
            .chain(self.panels.iter().map(|p| p.floor))
            .filter(finite)
            .collect();
        let lo = centres.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = centres.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !lo.is_finite() {
            return (0.0, 1.0, false);
        }
        let ci_lo = points().map(|p| p.2).filter(finite).fold(lo, f64::min);
        let ci_hi = points().map(|p| p.3).filter(finite).fold(hi, f64::max);
        if lo > 0.0 {
            let lo = ci_lo.max(lo / 3.0).min(lo);
            let hi = ci_hi.min(hi * 3.0).max(hi);
            (lo / 1.3, hi * 1.3, true)
        } else {
            let span = (hi - lo).max(1e-12);
            let lo = ci_lo.max(lo - span);
            let hi = ci_hi.min(hi + span);
            let pad = (hi - lo) * 0.06;
            (lo - pad, hi + pad, false)
        }
    }
}

impl Figure for MetricFigure {
    fn size(&self) -> (u32, u32) {
        (40 + 520 * self.panels.len().max(1) as u32, 460)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let area = title(
            root,
            &format!(
                "{} against {} (mean over seeds, 95% CI band; dashed: noise floor)",
                self.metric, self.x_name
            ),
        )?;
        let steps: Vec<f64> = self
            .panels
            .iter()
            .flat_map(|p| p.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0)))
            .collect();
        let t_min = steps.iter().copied().fold(f64::INFINITY, f64::min);
        let t_max = steps.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (t_min, t_max) = if t_min.is_finite() {
            (t_min, t_max)
        } else {
            (1.0, 10.0)
        };
        let x_range = (t_min / 1.6)..(t_max * 1.6);
        let mut x_ticks = steps.clone();
        x_ticks.sort_by(f64::total_cmp);
        x_ticks.dedup();

        let (lo, hi, log_y) = self.y_range();

        let panels = area.split_evenly((1, self.panels.len().max(1)));
        // The legend (in the first panel) names every line of every panel.
        let mut others: Vec<&Line> = Vec::new();
        for line in self.panels.iter().skip(1).flat_map(|p| &p.lines) {
            let shown = self
                .panels
                .first()
                .is_some_and(|first| first.lines.iter().any(|l| l.label == line.label));
            if !shown && !others.iter().any(|l| l.label == line.label) {
                others.push(line);
            }
        }
        for (i, (panel, area)) in self.panels.iter().zip(&panels).enumerate() {
            let legend = if i == 0 {
                Some(others.as_slice())
            } else {
                None
            };
            let x = x_range.clone().log_scale().with_key_points(x_ticks.clone());
            if log_y {
                let (y_lo, y_hi) = (lo / 1.5, hi * 1.5);
                let y = (y_lo..y_hi)
                    .log_scale()
                    .with_key_points(log_ticks(y_lo, y_hi));
                draw_panel(
                    area,
                    panel,
                    (&self.metric, &self.x_label),
                    x,
                    y,
                    legend,
                    true,
                )?;
            } else {
                let y: RangedCoordf64 = (lo..hi).into();
                draw_panel(
                    area,
                    panel,
                    (&self.metric, &self.x_label),
                    x,
                    y,
                    legend,
                    false,
                )?;
            }
        }
        Ok(())
    }
}

fn draw_panel<DB, X, Y>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    (metric, x_label): (&str, &str),
    x: X,
    y: Y,
    legend: Option<&[&Line]>,
    log_y: bool,
) -> Result<()>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let (y_lo, y_hi) = (y.range().start, y.range().end);
    let clamp = |v: f64| {
        if v.is_finite() {
            v.clamp(y_lo, y_hi)
        } else {
            v
        }
    };
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, font(18))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(70)
        .build_cartesian_2d(x, y)
        .map_err(plot_err)?;
    let y_desc = if log_y {
        format!("{metric} (log)")
    } else {
        metric.to_string()
    };
    draw_mesh(&mut chart, x_label, &y_desc)?;
    for line in &panel.lines {
        let colour = color(line.colour);
        let band: Vec<(f64, f64)> = line
            .points
            .iter()
            .filter(|p| p.2.is_finite() && p.3.is_finite())
            .map(|p| (p.0, clamp(p.3)))
            .chain(
                line.points
                    .iter()
                    .rev()
                    .filter(|p| p.2.is_finite() && p.3.is_finite())
                    .map(|p| (p.0, clamp(p.2))),
            )
            .collect();
        if band.len() >= 4 {
            chart
                .draw_series(std::iter::once(Polygon::new(
                    band,
                    colour.mix(0.18).filled(),
                )))
                .map_err(plot_err)?;
        } else {
            // A single T: show the interval as an error bar instead of a band.
            for p in line.points.iter().filter(|p| p.2.is_finite()) {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(p.0, clamp(p.2)), (p.0, clamp(p.3))],
                        colour.stroke_width(2),
                    )))
                    .map_err(plot_err)?;
            }
        }
        chart
            .draw_series(LineSeries::new(
                line.points.iter().map(|p| (p.0, p.1)),
                colour.stroke_width(2),
            ))
            .map_err(plot_err)?
            .label(line.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 22, y)], colour.stroke_width(3))
            });
        chart
            .draw_series(
                line.points
                    .iter()
                    .map(|p| Circle::new((p.0, p.1), 4, colour.filled())),
            )
            .map_err(plot_err)?;
    }
    if panel.floor.is_finite() {
        let (x_lo, x_hi) = {
            let r = chart.x_range();
            (r.start, r.end)
        };
        chart
            .draw_series(DashedLineSeries::new(
                [(x_lo, panel.floor), (x_hi, panel.floor)],
                8,
                5,
                BLACK.stroke_width(2),
            ))
            .map_err(plot_err)?
            .label("noise floor")
            .legend(|(x, y)| {
                DashedPathElement::new(vec![(x, y), (x + 22, y)], 6, 4, BLACK.stroke_width(2))
            });
    }
    if let Some(others) = legend {
        for line in others {
            let colour = color(line.colour);
            chart
                .draw_series(LineSeries::new(std::iter::empty(), colour.stroke_width(2)))
                .map_err(plot_err)?
                .label(line.label.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 22, y)], colour.stroke_width(3))
                });
        }
        let (x_lo, x_hi) = (chart.x_range().start, chart.x_range().end);
        let mut points: Vec<(f64, f64)> = Vec::new();
        for line in &panel.lines {
            let unit_line: Vec<(f64, f64)> = line
                .points
                .iter()
                .map(|p| (unit(p.0, x_lo, x_hi, true), unit(p.1, y_lo, y_hi, log_y)))
                .collect();
            points.extend(densify(&unit_line));
        }
        if panel.floor.is_finite() {
            let y = unit(panel.floor, y_lo, y_hi, log_y);
            points.extend((0..=20).map(|i| (i as f64 / 20.0, y)));
        }
        let mut labels: Vec<String> = panel.lines.iter().map(|l| l.label.clone()).collect();
        labels.extend(others.iter().map(|l| l.label.clone()));
        labels.push("noise floor".into());
        let (w, h) = legend_share(&labels, chart.plotting_area().dim_in_pixel());
        draw_legend(&mut chart, emptiest_corner(&points, w, h), 14)?;
    }
    Ok(())
}
