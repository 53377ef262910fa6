//! Figure 4: the schedules themselves, `1 - alpha_bar_t` and `beta_t` against `t/T`, for
//! every schedule and `T` of the sweep (the post's figure 5).

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::facets::distinct;
use super::{color, draw_mesh, font, log_ticks, plot_err, title, Figure};
use crate::artifacts::RunArtifacts;
use crate::sweep::{AxisValue, Sweep};
use crate::{Error, Result};

/// One schedule at one `T`.
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    /// The schedule's label, e.g. `polynomial`.
    pub label: String,
    /// Palette index of the label.
    pub colour: usize,
    /// The number of steps.
    pub steps: usize,
    /// `beta_t` for `t = 1..=T`.
    pub betas: Vec<f64>,
    /// `1 - alpha_bar_t` for `t = 1..=T`.
    pub one_minus_alpha_bar: Vec<f64>,
}

/// Figure 4.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleFigure {
    /// Every distinct schedule and `T`, sorted by label and then `T`.
    pub curves: Vec<Curve>,
    /// The distinct `T`, ascending.
    pub steps: Vec<usize>,
}

/// The label of a schedule: the cell's values on `schedule.*` axes, or the kind.
fn schedule_label(sweep: &Sweep, key: &[AxisValue], config: &ddpm::RunConfig) -> String {
    let parts: Vec<String> = sweep
        .axes
        .iter()
        .zip(key)
        .filter(|(axis, _)| axis.starts_with("schedule"))
        .map(|(axis, value)| match value {
            AxisValue::Text(text) => text.clone(),
            other => format!("{}={other}", axis.rsplit('.').next().unwrap_or(axis)),
        })
        .collect();
    if parts.is_empty() {
        serde_json::to_value(config.schedule.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{:?}", config.schedule.kind))
    } else {
        parts.join(" / ")
    }
}

impl ScheduleFigure {
    /// Rebuilds the schedule of one run per cell.
    pub fn new(sweep: &Sweep, artifacts: &dyn RunArtifacts) -> Result<ScheduleFigure> {
        let mut found: Vec<(String, usize, ddpm::ScheduleConfig)> = Vec::new();
        for key in sweep.cells() {
            // The first run whose config reads back (every run of a cell has the same
            // schedule, so a corrupt one is passed over); where none reads, the first
            // one's error says why.
            let runs = sweep.runs_of(&key);
            let Some(first) = runs.first() else {
                continue;
            };
            let config = match runs.iter().find_map(|r| artifacts.config(&r.run_id).ok()) {
                Some(config) => config,
                None => artifacts.config(&first.run_id)?,
            };
            let label = schedule_label(sweep, &key, &config);
            if !found
                .iter()
                .any(|(l, t, _)| *l == label && *t == config.steps)
            {
                found.push((label, config.steps, config.schedule.clone()));
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let labels = distinct(found.iter().map(|f| f.0.clone()));
        let mut steps = distinct(found.iter().map(|f| f.1));
        steps.sort_unstable();
        let curves = found
            .into_iter()
            .map(|(label, t, config)| {
                let schedule = ddpm::Schedule::new(&config, t)
                    .map_err(|e| Error::Plot(format!("schedule `{label}` at T = {t}: {e}")))?;
                Ok(Curve {
                    colour: super::series_colour(
                        &label,
                        labels.iter().position(|l| *l == label).unwrap_or(0),
                    ),
                    label,
                    steps: t,
                    betas: schedule.betas[1..].to_vec(),
                    one_minus_alpha_bar: schedule
                        .alpha_bar
                        .iter()
                        .skip(1)
                        .map(|a| 1.0 - a)
                        .collect(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ScheduleFigure { curves, steps })
    }

    /// The dash pattern of `T`: the largest solid, smaller ones ever shorter dashes.
    fn dashes(&self, steps: usize) -> Option<(u32, u32)> {
        let rank = self
            .steps
            .iter()
            .rev()
            .position(|t| *t == steps)
            .unwrap_or(0);
        match rank {
            0 => None,
            1 => Some((10, 6)),
            2 => Some((4, 4)),
            _ => Some((2, 5)),
        }
    }
}

impl ScheduleFigure {
    /// Every schedule's label with its colour, in first-seen order.
    fn legend(&self) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = Vec::new();
        for curve in &self.curves {
            if !out.iter().any(|(l, _)| *l == curve.label) {
                out.push((curve.label.clone(), curve.colour));
            }
        }
        out
    }

    fn legend_width(&self) -> u32 {
        let legend = self.legend();
        super::legend_strip_width(legend.iter().map(|(l, _)| l.as_str()).chain(["T = 10000"]))
    }
}

impl Figure for ScheduleFigure {
    fn size(&self) -> (u32, u32) {
        let rows = self.legend().len() + self.steps.len() + 1;
        let height = (rows as u32 * super::LEGEND_ROW as u32 + 80).max(480);
        (1100 + self.legend_width(), height)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let area = title(root, "Noise schedules against t/T (line style: T)")?;
        let (width, height) = area.dim_in_pixel();
        let (plots, strip) = area.split_horizontally(width.saturating_sub(self.legend_width()));
        let (plots, _) = plots.split_vertically(height.min(440));
        let panels = plots.split_evenly((1, 2));
        let min_beta = self
            .curves
            .iter()
            .flat_map(|c| &c.betas)
            .copied()
            .filter(|b| *b > 0.0)
            .fold(1.0, f64::min);
        // 1 - alpha_bar_t: linear axis, as in the post.
        let mut left = ChartBuilder::on(&panels[0])
            .caption("1 − ᾱ_t (noise fraction of x_t)", font(18))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..1.0, 0.0..1.02)
            .map_err(plot_err)?;
        draw_mesh(&mut left, "t / T", "1 − ᾱ_t")?;
        let mut right = ChartBuilder::on(&panels[1])
            .caption("β_t (log)", font(18))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(70)
            .build_cartesian_2d(
                0.0..1.0,
                ((min_beta / 2.0)..1.5)
                    .log_scale()
                    .with_key_points(log_ticks(min_beta / 2.0, 1.5)),
            )
            .map_err(plot_err)?;
        draw_mesh(&mut right, "t / T", "β_t")?;
        for curve in &self.curves {
            let colour = color(curve.colour);
            let style = colour.stroke_width(2);
            let t = curve.steps as f64;
            let noise: Vec<(f64, f64)> = curve
                .one_minus_alpha_bar
                .iter()
                .enumerate()
                .map(|(i, v)| ((i + 1) as f64 / t, *v))
                .collect();
            let betas: Vec<(f64, f64)> = curve
                .betas
                .iter()
                .enumerate()
                .filter(|(_, b)| **b > 0.0)
                .map(|(i, b)| ((i + 1) as f64 / t, *b))
                .collect();
            match self.dashes(curve.steps) {
                None => {
                    left.draw_series(LineSeries::new(noise.clone(), style))
                        .map_err(plot_err)?;
                    right
                        .draw_series(LineSeries::new(betas.clone(), style))
                        .map_err(plot_err)?;
                }
                Some((dash, gap)) => {
                    left.draw_series(DashedLineSeries::new(noise.clone(), dash, gap, style))
                        .map_err(plot_err)?;
                    right
                        .draw_series(DashedLineSeries::new(betas.clone(), dash, gap, style))
                        .map_err(plot_err)?;
                }
            }
            // Short chains have few steps: mark each one.
            if curve.steps <= 30 {
                left.draw_series(noise.iter().map(|p| Circle::new(*p, 3, colour.filled())))
                    .map_err(plot_err)?;
                right
                    .draw_series(betas.iter().map(|p| Circle::new(*p, 3, colour.filled())))
                    .map_err(plot_err)?;
            }
        }
        // The legend beside the panels, so it never covers a curve: one line per schedule,
        // then one grey entry per T for the line styles.
        let mut y = super::draw_line_legend(&strip, &self.legend())?;
        for &steps in &self.steps {
            let grey = BLACK.mix(0.6).stroke_width(2);
            let (dash, gap) = self.dashes(steps).unwrap_or((30, 0));
            strip
                .draw(&DashedPathElement::new(
                    vec![(6, y), (32, y)],
                    dash,
                    gap,
                    grey,
                ))
                .map_err(plot_err)?;
            strip
                .draw(&Text::new(super::steps_label(steps), (40, y - 7), font(13)))
                .map_err(plot_err)?;
            y += super::LEGEND_ROW;
        }
        Ok(())
    }
}
