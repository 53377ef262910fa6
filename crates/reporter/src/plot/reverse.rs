//! Figure 6: the reverse process of one run, `x_T` to `x_0`, as a strip of frames and an
//! animated GIF.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{color, ensure_font, plot_err, scatter_panel, title, Bounds, Figure, DATA_GREY};
use crate::Result;

/// The trajectory of a batch of samples.
#[derive(Clone, Debug, PartialEq)]
pub struct ReverseProcess {
    /// Which run, for the title.
    pub run: String,
    /// The training data.
    pub data: Vec<ddpm::Point>,
    /// Entry `k` holds `x_{T-k}` in data space.
    pub trajectory: Vec<Vec<ddpm::Point>>,
    /// The steps the sampler visits, descending (all of T..1 unless it is respaced).
    pub timesteps: Vec<usize>,
    /// The shared axes.
    pub bounds: Bounds,
}

/// Frames shown in the strip.
const STRIP_FRAMES: usize = 6;
/// The most frames in the GIF; long chains are subsampled evenly.
const GIF_FRAMES: usize = 60;

/// `count` indices spread evenly over `0..len`, first and last included, without repeats.
pub fn frame_indices(len: usize, count: usize) -> Vec<usize> {
    if len == 0 {
        return Vec::new();
    }
    let count = count.min(len).max(1);
    let mut out: Vec<usize> = (0..count)
        .map(|i| {
            if count == 1 {
                len - 1
            } else {
                (i * (len - 1) + (count - 1) / 2) / (count - 1)
            }
        })
        .collect();
    out.dedup();
    out
}

/// The `q`-quantile of `values` (nearest rank); NaN when empty.
fn quantile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((values.len() - 1) as f64 * q).round() as usize;
    values[rank]
}

impl ReverseProcess {
    /// Runs the sampler of `trained` for `n` points with sampling seed `seed`.
    pub fn new(run: &str, trained: &ddpm::LoadedModel, n: usize, seed: u64) -> ReverseProcess {
        let data = ddpm::training_data(trained.config());
        let trajectory = trained.trajectory(n, seed);
        // The axes hold the data and 99% of the starting noise, so a stray point does not
        // shrink everything else.
        let first = trajectory.first().cloned().unwrap_or_default();
        let mut xs: Vec<f64> = first
            .iter()
            .map(|p| p[0])
            .filter(|v| v.is_finite())
            .collect();
        let mut ys: Vec<f64> = first
            .iter()
            .map(|p| p[1])
            .filter(|v| v.is_finite())
            .collect();
        let noise = [
            [quantile(&mut xs, 0.005), quantile(&mut ys, 0.005)],
            [quantile(&mut xs, 0.995), quantile(&mut ys, 0.995)],
        ];
        let bounds = Bounds::of(data.iter().chain(noise.iter()))
            .map(|b| b.padded_square(0.05))
            .unwrap_or(Bounds {
                x_min: -1.0,
                x_max: 1.0,
                y_min: -1.0,
                y_max: 1.0,
            });
        ReverseProcess {
            run: run.to_string(),
            data,
            trajectory,
            timesteps: trained.timesteps(),
            bounds,
        }
    }

    fn draw_frame<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        k: usize,
    ) -> Result<()> {
        // Entry k is x at the k-th visited step (descending), the last entry x_0.
        let caption = format!("t = {}", self.timesteps.get(k).copied().unwrap_or(0));
        scatter_panel(
            area,
            &self.bounds,
            Some(&caption),
            &[
                (&self.data, DATA_GREY.mix(0.35), 1),
                (&self.trajectory[k], color(1).mix(0.6), 1),
            ],
        )
    }

    /// Writes the animation as `<dir>/<stem>.gif`, about four seconds long, holding the
    /// final samples for a second.
    pub fn save_gif(&self, dir: &Path, stem: &str) -> Result<PathBuf> {
        ensure_font();
        let path = dir.join(format!("{stem}.gif"));
        let indices = frame_indices(self.trajectory.len(), GIF_FRAMES);
        let delay = (4000 / indices.len().max(1)).clamp(40, 500) as u32;
        let root = BitMapBackend::gif(&path, (420, 440), delay)
            .map_err(plot_err)?
            .into_drawing_area();
        let last = indices.last().copied().unwrap_or(0);
        let hold = (1000 / delay as usize).max(1);
        for k in indices
            .iter()
            .copied()
            .chain(std::iter::repeat_n(last, hold))
        {
            root.fill(&WHITE).map_err(plot_err)?;
            let area = title(&root, &self.run)?;
            self.draw_frame(&area, k)?;
            root.present().map_err(plot_err)?;
        }
        Ok(path)
    }
}

impl Figure for ReverseProcess {
    fn size(&self) -> (u32, u32) {
        (
            20 + 260 * frame_indices(self.trajectory.len(), STRIP_FRAMES).len() as u32,
            320,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let area = title(root, &format!("Reverse process x_T → x_0, {}", self.run))?;
        let indices = frame_indices(self.trajectory.len(), STRIP_FRAMES);
        let panels = area.split_evenly((1, indices.len().max(1)));
        for (&k, panel) in indices.iter().zip(&panels) {
            self.draw_frame(panel, k)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_spread_from_noise_to_samples() {
        assert_eq!(frame_indices(11, 6), vec![0, 2, 4, 6, 8, 10]);
        assert_eq!(frame_indices(1001, 6), vec![0, 200, 400, 600, 800, 1000]);
        assert_eq!(frame_indices(3, 6), vec![0, 1, 2]);
        assert_eq!(frame_indices(0, 6), Vec::<usize>::new());
    }
}
