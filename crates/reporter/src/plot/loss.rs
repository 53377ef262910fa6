//! Figure 3: training loss against epoch per cell, the mean over seeds, log y; one panel
//! per `T`, one line per schedule and scaling.

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::facets::{distinct, Facets};
use super::{color, draw_mesh, font, log_ticks, plot_err, title, Figure};
use crate::artifacts::RunArtifacts;
use crate::sweep::{RunStatus, Sweep};
use crate::Result;

/// One cell's mean loss curve.
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    /// The line's label.
    pub label: String,
    /// Palette index, the same in every panel.
    pub colour: usize,
    /// `(epoch, mean loss over seeds)` at the epochs every completed seed recorded.
    pub points: Vec<(f64, f64)>,
    /// The number of seeds averaged.
    pub seeds: usize,
}

/// Figure 3.
#[derive(Clone, Debug, PartialEq)]
pub struct LossFigure {
    /// `(panel title, curves)`, left to right.
    pub panels: Vec<(String, Vec<Curve>)>,
    /// Runs whose loss curve could not be read (a corrupt artifact), each with why: the
    /// means are over the other seeds.
    pub unreadable: Vec<String>,
}

/// The mean of several `(epoch, loss)` curves at the epochs they all share, skipping
/// non-finite losses.
pub fn mean_curve(curves: &[Vec<(usize, f64)>]) -> Vec<(f64, f64)> {
    let mut sums: BTreeMap<usize, (f64, usize)> = BTreeMap::new();
    for curve in curves {
        for &(epoch, loss) in curve.iter().filter(|(_, l)| l.is_finite()) {
            let entry = sums.entry(epoch).or_insert((0.0, 0));
            entry.0 += loss;
            entry.1 += 1;
        }
    }
    sums.into_iter()
        .filter(|(_, (_, n))| *n == curves.len())
        .map(|(epoch, (sum, n))| (epoch as f64, sum / n as f64))
        .collect()
}

impl LossFigure {
    /// Loads the loss curves of every completed run.
    pub fn new(sweep: &Sweep, artifacts: &dyn RunArtifacts) -> Result<LossFigure> {
        let facets = Facets::of(sweep);
        let cells = sweep.cells();
        // The loss belongs to the model: cells that differ only in how they sample share
        // one curve, so `sampling.*` axes do not split lines.
        let mut model_axes = facets.series.clone();
        model_axes.extend(facets.panel);
        model_axes.retain(|&i| !sweep.axes[i].starts_with("sampling."));
        let row_of =
            |key: &[crate::sweep::AxisValue]| super::facets::compact_label(sweep, key, &model_axes);
        let labels = distinct(cells.iter().map(|k| row_of(k)));
        let steps = distinct(cells.iter().map(|k| facets.steps_of(k)));
        let mut panels = Vec::new();
        let mut unreadable = Vec::new();
        for t in &steps {
            let mut curves = Vec::new();
            for key in cells.iter().filter(|k| facets.steps_of(k) == *t) {
                let label = row_of(key);
                let mut loaded = Vec::new();
                for run in sweep.runs_of(key) {
                    if run.status != RunStatus::Completed {
                        continue;
                    }
                    match artifacts.loss_curve(&run.run_id) {
                        Ok(curve) => loaded.push(curve),
                        // Runs of one model share its curve, and its one problem.
                        Err(err) if !unreadable.contains(&err.to_string()) => {
                            unreadable.push(err.to_string())
                        }
                        Err(_) => {}
                    }
                }
                let points = mean_curve(&loaded);
                // Another cell of the same model: keep the curve over the most seeds.
                let same = curves.iter().position(|c: &Curve| {
                    c.label == label || (label.is_empty() && c.label.starts_with("mean of"))
                });
                if let Some(i) = same {
                    if curves[i].seeds >= loaded.len() {
                        continue;
                    }
                    curves.remove(i);
                }
                if !points.is_empty() {
                    // A panel's only series still gets a legend entry saying what it is.
                    let label = if label.is_empty() {
                        format!(
                            "mean of {}",
                            runner::words::counted(loaded.len(), "seed", "seeds")
                        )
                    } else {
                        label
                    };
                    curves.push(Curve {
                        colour: labels.iter().position(|l| *l == label).unwrap_or(0),
                        label,
                        points,
                        seeds: loaded.len(),
                    });
                }
            }
            let title = t.map_or(String::new(), super::steps_label);
            panels.push((title, curves));
        }
        Ok(LossFigure { panels, unreadable })
    }
}

impl LossFigure {
    /// Every curve's label with its colour, in first-seen order across panels.
    fn legend(&self) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = Vec::new();
        for curve in self.panels.iter().flat_map(|(_, c)| c) {
            if !out.iter().any(|(l, _)| *l == curve.label) {
                out.push((curve.label.clone(), curve.colour));
            }
        }
        out
    }

    fn legend_width(&self) -> u32 {
        let legend = self.legend();
        super::legend_strip_width(legend.iter().map(|(l, _)| l.as_str()))
    }
}

impl Figure for LossFigure {
    fn size(&self) -> (u32, u32) {
        let rows = (self.legend().len() as u32 * super::LEGEND_ROW as u32 + 100).max(480);
        (
            40 + 480 * self.panels.len().max(1) as u32 + self.legend_width(),
            rows,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let area = title(root, "Training loss (mean over completed seeds)")?;
        let (width, height) = area.dim_in_pixel();
        let (plots, legend) = area.split_horizontally(width.saturating_sub(self.legend_width()));
        let (plots, _) = plots.split_vertically(height.min(440));
        let all = || {
            self.panels
                .iter()
                .flat_map(|(_, c)| c.iter().flat_map(|c| &c.points))
        };
        let epochs = all().map(|p| p.0).fold(1.0, f64::max);
        let lo = all()
            .map(|p| p.1)
            .filter(|l| *l > 0.0)
            .fold(f64::INFINITY, f64::min);
        let hi = all().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
        let (lo, hi) = if lo.is_finite() && hi > 0.0 {
            (lo, hi)
        } else {
            (1e-3, 1.0)
        };
        let panels = plots.split_evenly((1, self.panels.len().max(1)));
        for ((panel_title, curves), area) in self.panels.iter().zip(&panels) {
            let mut chart = ChartBuilder::on(area)
                .caption(panel_title, font(18))
                .margin(12)
                .x_label_area_size(42)
                .y_label_area_size(70)
                .build_cartesian_2d(
                    0.0..epochs,
                    ((lo / 1.3)..(hi * 1.3))
                        .log_scale()
                        .with_key_points(log_ticks(lo / 1.3, hi * 1.3)),
                )
                .map_err(plot_err)?;
            draw_mesh(&mut chart, "epoch", "loss (MSE on the target, log)")?;
            for curve in curves {
                let colour = color(curve.colour);
                let points = curve.points.iter().copied().filter(|p| p.1 > 0.0);
                // Past the palette, lines repeat its colours dashed (as their swatches do).
                if curve.colour >= super::PALETTE.len() {
                    chart
                        .draw_series(DashedLineSeries::new(points, 7, 4, colour.stroke_width(2)))
                        .map_err(plot_err)?;
                } else {
                    chart
                        .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                        .map_err(plot_err)?;
                }
            }
        }
        super::draw_line_legend(&legend, &self.legend())?;
        Ok(())
    }
}
