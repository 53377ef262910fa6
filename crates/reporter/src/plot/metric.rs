//! A metric against `T` (figure 1) or against the sampler's steps `K`: the mean over
//! seeds with its 95% band, the noise floor dashed, each panel on its own y scale, cells
//! that lost seeds or exploded marked with their count, and one legend beside the panels.

use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::facets::{compact_label, distinct, Facets};
use super::{draw_mesh, font, log_ticks, plot_err, series_colour, title, Figure};
use crate::aggregate::{Aggregate, CellSummary, EXPLODED_RATIO};
use crate::sweep::Sweep;
use crate::Result;

/// A cell of a line that lost seeds or exploded: drawn as a cross with its count.
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    /// The x value.
    pub x: f64,
    /// Seeds that diverged, had non-finite samples or failed.
    pub failed: usize,
    /// Completed seeds with a metric above [`EXPLODED_RATIO`] times its floor.
    pub exploded: usize,
    /// Every seed of the cell.
    pub runs: usize,
    /// Whether the cell has a mean on the line (else it is marked at the panel's top).
    pub on_line: bool,
}

/// One line: the mean and interval of a metric at each x.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// The series label, e.g. `polynomial`.
    pub label: String,
    /// Index into the palette, the same in every panel.
    pub colour: usize,
    /// `(x, mean, ci_low, ci_high)`, sorted by x; the interval is NaN with one seed.
    pub points: Vec<(f64, f64, f64, f64)>,
    /// Its cells that lost seeds or exploded.
    pub marks: Vec<Mark>,
}

/// One panel: the lines of one value of the panel axes.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    /// The panel's title, e.g. `scaling = minmax`.
    pub title: String,
    /// The lines.
    pub lines: Vec<Line>,
    /// The mean noise floor over the panel's cells.
    pub floor: f64,
}

/// One figure of one metric.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricFigure {
    /// The metric's name.
    pub metric: String,
    /// What x is, for the title (`T`, `K`).
    pub x_name: String,
    /// The x axis's description.
    pub x_label: String,
    /// What the figure's page fixes (`prediction = v / clip = none`), or empty.
    pub page: String,
    /// The panels, in reading order (at most [`PANELS_PER_ROW`] a row).
    pub panels: Vec<Panel>,
}

/// Panels side by side before a new row starts.
pub const PANELS_PER_ROW: usize = 4;

/// Axes that split a figure against K into pages: each page fixes their values.
const PAGE_AXES: [&str; 2] = ["model.prediction", "sampling.clip"];

/// Whether a cell's mean is dominated by exploded runs, so the line breaks there.
fn exploded_mean(cell: &CellSummary, metric: &str) -> bool {
    let m = &cell.metrics[metric];
    m.estimate.mean.is_finite()
        && m.floor_mean > 0.0
        && m.estimate.mean > EXPLODED_RATIO * m.floor_mean
}

impl MetricFigure {
    /// The figure of `metric` against `T`, one panel per scaling, one line per schedule
    /// and other axes; `None` when `T` is not an axis of the sweep.
    pub fn new(sweep: &Sweep, aggregate: &Aggregate, metric: &str) -> Option<MetricFigure> {
        let facets = Facets::of(sweep);
        let x = facets.steps?;
        let panel: Vec<usize> = facets.panel.into_iter().collect();
        let name = facets.panel_name(sweep).map(str::to_string);
        let cells: Vec<&CellSummary> = aggregate.cells.iter().collect();
        Some(MetricFigure::build(
            sweep,
            &cells,
            metric,
            Layout {
                x,
                panel: &panel,
                panel_name: name.as_deref(),
                series: &facets.series,
            },
            ("T", "T (diffusion steps, log)"),
            String::new(),
        ))
    }

    /// `metric` against the sampler's number of steps K (`sampling.steps`): one figure per
    /// value of the prediction target and clipping (when they are axes), one panel per
    /// schedule (every `schedule.*` axis and `scaling` together), one line per training T,
    /// sampler and other axes. Empty unless the sweep is drawn against K
    /// ([`super::facets::against_k`]).
    pub fn against_sampling_steps(
        sweep: &Sweep,
        aggregate: &Aggregate,
        metric: &str,
    ) -> Vec<MetricFigure> {
        let find = |name: &str| sweep.axes.iter().position(|a| a == name);
        let Some(x) = find(super::facets::SAMPLING_STEPS_AXIS) else {
            return Vec::new();
        };
        if !super::facets::against_k(sweep) {
            return Vec::new();
        }
        let keys: Vec<_> = aggregate.cells.iter().map(|c| c.key.clone()).collect();
        let varies = |i: usize| distinct(keys.iter().map(|k| k[i].clone())).len() > 1;
        let page: Vec<usize> = PAGE_AXES
            .iter()
            .filter_map(|a| find(a))
            .filter(|&i| varies(i))
            .collect();
        let panel: Vec<usize> = (0..sweep.axes.len())
            .filter(|&i| sweep.axes[i].starts_with("schedule.") || sweep.axes[i] == "scaling")
            .filter(|&i| varies(i))
            .collect();
        let series: Vec<usize> = (0..sweep.axes.len())
            .filter(|i| *i != x && !page.contains(i) && !panel.contains(i))
            .filter(|&i| varies(i))
            .collect();
        let pages = distinct(keys.iter().map(|k| compact_label(sweep, k, &page)));
        pages
            .into_iter()
            .map(|page_label| {
                let cells: Vec<&CellSummary> = aggregate
                    .cells
                    .iter()
                    .filter(|c| compact_label(sweep, &c.key, &page) == page_label)
                    .collect();
                MetricFigure::build(
                    sweep,
                    &cells,
                    metric,
                    Layout {
                        x,
                        panel: &panel,
                        panel_name: None,
                        series: &series,
                    },
                    ("K", "K (sampling steps, log)"),
                    page_label,
                )
            })
            .collect()
    }

    fn build(
        sweep: &Sweep,
        cells: &[&CellSummary],
        metric: &str,
        layout: Layout<'_>,
        (x_name, x_label): (&str, &str),
        page: String,
    ) -> MetricFigure {
        let series_of = |c: &CellSummary| compact_label(sweep, &c.key, layout.series);
        let panel_of = |c: &CellSummary| compact_label(sweep, &c.key, layout.panel);
        let series_labels = distinct(cells.iter().map(|c| series_of(c)));
        let panel_labels = distinct(cells.iter().map(|c| panel_of(c)));
        let panels = panel_labels
            .iter()
            .map(|panel| {
                let in_panel: Vec<&CellSummary> = cells
                    .iter()
                    .copied()
                    .filter(|c| panel_of(c) == *panel)
                    .collect();
                let floors: Vec<f64> = in_panel
                    .iter()
                    .map(|c| c.metrics[metric].floor_mean)
                    .filter(|f| f.is_finite())
                    .collect();
                let lines = series_labels
                    .iter()
                    .enumerate()
                    .filter_map(|(index, label)| {
                        let mine: Vec<&CellSummary> = in_panel
                            .iter()
                            .copied()
                            .filter(|c| series_of(c) == *label)
                            .collect();
                        let mut points = Vec::new();
                        let mut marks = Vec::new();
                        for c in &mine {
                            let Some(x) = c.key[layout.x].as_f64() else {
                                continue;
                            };
                            let e = c.metrics[metric].estimate;
                            let on_line = e.mean.is_finite() && !exploded_mean(c, metric);
                            if on_line {
                                points.push((x, e.mean, e.lower(), e.upper()));
                            }
                            if c.failures > 0 || c.exploded > 0 || !on_line {
                                marks.push(Mark {
                                    x,
                                    failed: c.failures,
                                    exploded: c.exploded,
                                    runs: c.runs,
                                    on_line,
                                });
                            }
                        }
                        points.sort_by(|a, b| a.0.total_cmp(&b.0));
                        marks.sort_by(|a, b| a.x.total_cmp(&b.x));
                        let label = if label.is_empty() {
                            metric.to_string()
                        } else {
                            label.clone()
                        };
                        (!points.is_empty() || !marks.is_empty()).then(|| Line {
                            colour: series_colour(&label, index),
                            label,
                            points,
                            marks,
                        })
                    })
                    .collect();
                Panel {
                    title: match (panel.is_empty(), layout.panel_name) {
                        (true, _) => String::new(),
                        (false, Some(name)) => format!("{name} = {panel}"),
                        (false, None) => panel.clone(),
                    },
                    lines,
                    floor: floors.iter().sum::<f64>() / floors.len().max(1) as f64,
                }
            })
            .collect();
        MetricFigure {
            metric: metric.to_string(),
            x_name: x_name.to_string(),
            x_label: x_label.to_string(),
            page,
            panels,
        }
    }

    /// Every line label with its colour, in first-seen order across panels.
    pub fn legend(&self) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = Vec::new();
        for line in self.panels.iter().flat_map(|p| &p.lines) {
            if !out.iter().any(|(l, _)| *l == line.label) {
                out.push((line.label.clone(), line.colour));
            }
        }
        out
    }

    /// A file-name suffix for the figure's page (`_prediction-v_clip-none`), or empty.
    pub fn page_slug(&self) -> String {
        if self.page.is_empty() {
            return String::new();
        }
        let slug: String = self
            .page
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let parts: Vec<&str> = slug.split('-').filter(|s| !s.is_empty()).collect();
        format!("_{}", parts.join("-"))
    }

    fn grid(&self) -> (usize, usize) {
        let n = self.panels.len().max(1);
        let columns = n.min(PANELS_PER_ROW);
        (n.div_ceil(columns), columns)
    }

    fn legend_width(&self) -> u32 {
        let legend = self.legend();
        super::legend_strip_width(
            legend
                .iter()
                .map(|(l, _)| l.as_str())
                .chain(["(at the top: no mean in range)"]),
        )
    }
}

/// Which axes of a cell's key play which role.
struct Layout<'a> {
    x: usize,
    panel: &'a [usize],
    panel_name: Option<&'a str>,
    series: &'a [usize],
}

impl Panel {
    /// The panel's y range `(lo, hi, log)`. The means and the floor always fit; interval
    /// ends widen the range by at most a factor of three beyond the means, so one wide
    /// interval (two seeds give t = 12.7) cannot flatten every line. Distances relate to
    /// their floor by ratios, so the axis is logarithmic whenever every mean and the floor
    /// are positive.
    pub fn y_range(&self) -> (f64, f64, bool) {
        let points = || self.lines.iter().flat_map(|l| &l.points);
        let finite = |v: &f64| v.is_finite();
        let centres: Vec<f64> = points()
            .map(|p| p.1)
            .chain(std::iter::once(self.floor))
            .filter(finite)
            .collect();
        let lo = centres.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = centres.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !lo.is_finite() {
            return (0.5, 2.0, true);
        }
        let ci_lo = points().map(|p| p.2).filter(finite).fold(lo, f64::min);
        let ci_hi = points().map(|p| p.3).filter(finite).fold(hi, f64::max);
        if lo > 0.0 {
            let lo = ci_lo.max(lo / 3.0).min(lo);
            let hi = ci_hi.min(hi * 3.0).max(hi);
            (lo / 1.5, hi * 1.6, true)
        } else {
            let span = (hi - lo).max(1e-12);
            let lo = ci_lo.max(lo - span);
            let hi = ci_hi.min(hi + span);
            let pad = (hi - lo) * 0.08;
            (lo - pad, hi + pad, false)
        }
    }
}

const PANEL_WIDTH: u32 = 470;
const PANEL_HEIGHT: u32 = 400;

impl Figure for MetricFigure {
    fn size(&self) -> (u32, u32) {
        let (rows, columns) = self.grid();
        (
            40 + PANEL_WIDTH * columns as u32 + self.legend_width(),
            50 + PANEL_HEIGHT * rows as u32,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let page = if self.page.is_empty() {
            String::new()
        } else {
            format!(", {}", self.page)
        };
        let area = title(
            root,
            &format!(
                "{} against {}{page} (mean over seeds, 95% CI band; dashed: noise floor)",
                self.metric, self.x_name
            ),
        )?;
        let (width, _) = area.dim_in_pixel();
        let (plots, legend) = area.split_horizontally(width.saturating_sub(self.legend_width()));
        let steps: Vec<f64> = self
            .panels
            .iter()
            .flat_map(|p| p.lines.iter())
            .flat_map(|l| {
                l.points
                    .iter()
                    .map(|p| p.0)
                    .chain(l.marks.iter().map(|m| m.x))
            })
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

        let (rows, columns) = self.grid();
        let cells = plots.split_evenly((rows, columns));
        for (panel, area) in self.panels.iter().zip(&cells) {
            let (lo, hi, log_y) = panel.y_range();
            let x = x_range.clone().log_scale().with_key_points(x_ticks.clone());
            if log_y {
                let y = (lo..hi).log_scale().with_key_points(log_ticks(lo, hi));
                draw_panel(area, panel, (&self.metric, &self.x_label), x, y, true)?;
            } else {
                let y: RangedCoordf64 = (lo..hi).into();
                draw_panel(area, panel, (&self.metric, &self.x_label), x, y, false)?;
            }
        }
        draw_side_legend(&legend, &self.legend())
    }
}

/// The legend in its own strip beside the panels, so it never covers data.
fn draw_side_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, usize)],
) -> Result<()> {
    let text = |area: &DrawingArea<DB, Shift>, s: &str, y: i32| {
        area.draw(&Text::new(s.to_string(), (40, y - 7), font(13)))
            .map_err(plot_err)
    };
    let mut y = super::draw_line_legend(area, entries)?;
    area.draw(&DashedPathElement::new(
        vec![(6, y), (32, y)],
        6,
        4,
        BLACK.stroke_width(2),
    ))
    .map_err(plot_err)?;
    text(area, "noise floor", y)?;
    y += super::LEGEND_ROW;
    draw_cross(area, (19, y), BLACK.into())?;
    text(area, "× k/n lost or exploded", y)?;
    y += super::LEGEND_ROW;
    text(area, "(at the top: no mean in range)", y)?;
    Ok(())
}

/// A cross of 5 px arms at `centre`.
fn draw_cross<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    colour: RGBAColor,
) -> Result<()> {
    let style = ShapeStyle::from(colour).stroke_width(2);
    area.draw(&PathElement::new(
        vec![(x - 5, y - 5), (x + 5, y + 5)],
        style,
    ))
    .map_err(plot_err)?;
    area.draw(&PathElement::new(
        vec![(x - 5, y + 5), (x + 5, y - 5)],
        style,
    ))
    .map_err(plot_err)
}

fn draw_panel<DB, X, Y>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    (metric, x_label): (&str, &str),
    x: X,
    y: Y,
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
        .caption(&panel.title, font(16))
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
    // Where a mark without a mean sits: just below the top edge.
    let top = if log_y {
        (y_lo.ln() + 0.82 * (y_hi.ln() - y_lo.ln())).exp()
    } else {
        y_lo + 0.82 * (y_hi - y_lo)
    };
    for (index, line) in panel.lines.iter().enumerate() {
        let colour = super::color(line.colour);
        // Counts of lines that share an x are stacked, not printed over each other.
        let text_y = -14 - 12 * (index % 4) as i32;
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
            // A single x: show the interval as an error bar instead of a band.
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
                line.points.iter().map(|p| (p.0, clamp(p.1))),
                colour.stroke_width(2),
            ))
            .map_err(plot_err)?;
        chart
            .draw_series(
                line.points
                    .iter()
                    .map(|p| Circle::new((p.0, clamp(p.1)), 4, colour.filled())),
            )
            .map_err(plot_err)?;
        for mark in &line.marks {
            let at = if mark.on_line {
                line.points
                    .iter()
                    .find(|p| p.0 == mark.x)
                    .map_or(top, |p| clamp(p.1))
            } else {
                top
            };
            let lost = mark.failed + mark.exploded;
            let text = if lost > 0 {
                format!("{lost}/{}", mark.runs)
            } else {
                String::new()
            };
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((mark.x, at))
                        + PathElement::new(vec![(-5, -5), (5, 5)], colour.stroke_width(2))
                        + PathElement::new(vec![(-5, 5), (5, -5)], colour.stroke_width(2))
                        + Text::new(text, (7, text_y), font(12).color(&colour)),
                ))
                .map_err(plot_err)?;
        }
    }
    if panel.floor.is_finite() && panel.floor >= y_lo && panel.floor <= y_hi {
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
            .map_err(plot_err)?;
    }
    Ok(())
}
