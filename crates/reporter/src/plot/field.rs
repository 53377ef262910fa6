//! Figure 5: the predicted-noise field of one run at a few steps: arrows of
//! `-eps_theta(x_t, t)` on a grid, over the faint training data.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{color, font, plot_err, title, Bounds, Figure, DATA_GREY};
use crate::Result;

/// The field at one step.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    /// The step `t`.
    pub step: usize,
    /// `(grid point, -eps direction)` in data units.
    pub arrows: Vec<(ddpm::Point, ddpm::Point)>,
}

/// Figure 5.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldFigure {
    /// Which run, for the title.
    pub run: String,
    /// The number of steps of the run.
    pub steps: usize,
    /// The training data.
    pub data: Vec<ddpm::Point>,
    /// One panel per step, `t` descending.
    pub frames: Vec<Frame>,
    /// The shared axes.
    pub bounds: Bounds,
    /// Grid spacing in data units.
    pub spacing: f64,
}

/// The steps to show for a chain of `steps`: `T`, `T/2`, `T/10` and 1, without repeats.
pub fn field_steps(steps: usize) -> Vec<usize> {
    let mut out = vec![steps, steps.div_ceil(2), steps.div_ceil(10), 1];
    out.dedup();
    out.retain(|t| *t >= 1);
    out.dedup();
    out
}

/// Points of a `side x side` grid over `bounds`, inset by half a cell.
fn grid(bounds: &Bounds, side: usize) -> (Vec<ddpm::Point>, f64) {
    let spacing = (bounds.x_max - bounds.x_min) / side as f64;
    let mut points = Vec::with_capacity(side * side);
    for i in 0..side {
        for j in 0..side {
            points.push([
                bounds.x_min + (i as f64 + 0.5) * spacing,
                bounds.y_min + (j as f64 + 0.5) * spacing,
            ]);
        }
    }
    (points, spacing)
}

impl FieldFigure {
    /// Evaluates the trained model of `run` on a 21 x 21 grid at [`field_steps`].
    pub fn new(run: &str, trained: &ddpm::LoadedModel) -> FieldFigure {
        let data = ddpm::training_data(trained.config());
        let bounds = Bounds::of(&data)
            .map(|b| b.padded_square(0.15))
            .unwrap_or(Bounds {
                x_min: -1.0,
                x_max: 1.0,
                y_min: -1.0,
                y_max: 1.0,
            });
        let (points, spacing) = grid(&bounds, 21);
        let steps = trained.config().steps;
        let frames = field_steps(steps)
            .into_iter()
            .map(|t| Frame {
                step: t,
                arrows: points
                    .iter()
                    .copied()
                    .zip(trained.noise_field(&points, t))
                    .collect(),
            })
            .collect();
        FieldFigure {
            run: run.to_string(),
            steps,
            data,
            frames,
            bounds,
            spacing,
        }
    }
}

impl Figure for FieldFigure {
    fn size(&self) -> (u32, u32) {
        (20 + 400 * self.frames.len().max(1) as u32, 470)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let area = title(
            root,
            &format!(
                "Direction −ε_θ(x_t, t) the sampler moves points, {}",
                self.run
            ),
        )?;
        // One length scale for every panel, so arrow lengths compare across t: the longest
        // arrow spans 90% of a grid cell.
        let longest = self
            .frames
            .iter()
            .flat_map(|f| &f.arrows)
            .map(|(_, d)| d[0].hypot(d[1]))
            .filter(|l| l.is_finite())
            .fold(0.0, f64::max);
        let scale = if longest > 0.0 {
            0.9 * self.spacing / longest
        } else {
            0.0
        };
        let b = &self.bounds;
        let panels = area.split_evenly((1, self.frames.len().max(1)));
        for (frame, area) in self.frames.iter().zip(&panels) {
            let mut chart = ChartBuilder::on(area)
                .caption(format!("t = {} of {}", frame.step, self.steps), font(17))
                .margin(8)
                .build_cartesian_2d(b.x_min..b.x_max, b.y_min..b.y_max)
                .map_err(plot_err)?;
            chart
                .plotting_area()
                .draw(&Rectangle::new(
                    [(b.x_min, b.y_min), (b.x_max, b.y_max)],
                    BLACK.mix(0.4).stroke_width(1),
                ))
                .map_err(plot_err)?;
            chart
                .draw_series(
                    self.data
                        .iter()
                        .map(|p| Circle::new((p[0], p[1]), 1, DATA_GREY.mix(0.5).filled())),
                )
                .map_err(plot_err)?;
            let arrow_colour = color(0);
            for (start, direction) in &frame.arrows {
                let end = [
                    start[0] + scale * direction[0],
                    start[1] + scale * direction[1],
                ];
                if !(end[0].is_finite() && end[1].is_finite()) {
                    continue;
                }
                let length = (end[0] - start[0]).hypot(end[1] - start[1]);
                let style = arrow_colour.stroke_width(1);
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(start[0], start[1]), (end[0], end[1])],
                        style,
                    )))
                    .map_err(plot_err)?;
                if length > 1e-12 {
                    // Two barbs at +-150 degrees from the shaft, a third of its length.
                    let (ux, uy) = ((end[0] - start[0]) / length, (end[1] - start[1]) / length);
                    let barb = length * 0.35;
                    let (c, s) = (150f64.to_radians().cos(), 150f64.to_radians().sin());
                    for sign in [1.0, -1.0] {
                        let (bx, by) = (ux * c - sign * uy * s, sign * ux * s + uy * c);
                        chart
                            .draw_series(std::iter::once(PathElement::new(
                                vec![(end[0], end[1]), (end[0] + barb * bx, end[1] + barb * by)],
                                style,
                            )))
                            .map_err(plot_err)?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_shown_for_short_and_long_chains() {
        assert_eq!(field_steps(1000), vec![1000, 500, 100, 1]);
        assert_eq!(field_steps(10), vec![10, 5, 1]);
        assert_eq!(field_steps(2), vec![2, 1]);
        assert_eq!(field_steps(1), vec![1]);
    }
}
