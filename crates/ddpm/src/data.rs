//! The 2D toy data sets (moons, circles, swiss roll, eight Gaussians and checkerboard), and
//! the two draws of its data set a run makes.

use std::f64::consts::PI;

use rand::Rng;
use rand_distr::StandardNormal;

use crate::{
    rng::{self, Stream},
    DatasetConfig, DatasetKind, Point, RunConfig,
};

/// Draws `config.n` points of `config.kind` with Gaussian noise of standard deviation
/// `config.noise` on each coordinate.
///
/// The clean points are drawn first, in the order documented by each kind, then the noise
/// `noise * N(0, 1)` is added point by point (x before y); with `noise == 0` no noise is
/// drawn at all. The output depends only on the config and the state of `rng`.
///
/// Moons and circles are deterministic before the noise and are returned in
/// scikit-learn's unshuffled order (outer part first, then inner part); the other kinds
/// are i.i.d. draws.
pub fn generate<R: Rng + ?Sized>(config: &DatasetConfig, rng: &mut R) -> Vec<Point> {
    let n = config.n;
    let mut points = match config.kind {
        DatasetKind::Moons => moons(n),
        DatasetKind::Circles => circles(n),
        DatasetKind::SwissRoll => swiss_roll(n, rng),
        DatasetKind::EightGaussians => eight_gaussians(n, rng),
        DatasetKind::Checkerboard => checkerboard(n, rng),
    };
    add_noise(&mut points, config.noise, rng);
    points
}

/// The training set of a run, in data space, exactly as the run sees it.
pub fn training_data(config: &RunConfig) -> Vec<Point> {
    let mut rng = rng::stream(config.seed, Stream::Data);
    generate(&config.dataset, &mut rng)
}

/// The reference draw for the noise floor: the same distribution under another stream,
/// with as many points as the run draws samples, since every metric depends on set size.
pub(crate) fn floor_data(config: &RunConfig) -> Vec<Point> {
    let mut rng = rng::stream(config.seed, Stream::NoiseFloor);
    let dataset = DatasetConfig {
        n: config.sample_count(),
        ..config.dataset.clone()
    };
    generate(&dataset, &mut rng)
}

/// scikit-learn's `make_moons(n, shuffle=False)` without noise.
///
/// With `n_out = n / 2` (integer division) and `n_in = n - n_out`, the outer moon is
/// `(cos θ, sin θ)` for `θ = linspace(0, π, n_out)` and the inner moon is
/// `(1 - cos θ, 1 - sin θ - 0.5)` for `θ = linspace(0, π, n_in)`, both endpoints included.
fn moons(n: usize) -> Vec<Point> {
    let n_out = n / 2;
    let n_in = n - n_out;
    let outer = linspace(0.0, PI, n_out, true).map(|t| [t.cos(), t.sin()]);
    let inner = linspace(0.0, PI, n_in, true).map(|t| [1.0 - t.cos(), 1.0 - t.sin() - 0.5]);
    outer.chain(inner).collect()
}

/// scikit-learn's `make_circles(n, shuffle=False, factor=0.5)` without noise.
///
/// With `n_out = n / 2` and `n_in = n - n_out`, the outer circle is `(cos θ, sin θ)` for
/// `θ = linspace(0, 2π, n_out, endpoint=False)` and the inner circle is
/// `0.5 (cos θ, sin θ)` for `θ = linspace(0, 2π, n_in, endpoint=False)`.
fn circles(n: usize) -> Vec<Point> {
    const FACTOR: f64 = 0.5;
    let n_out = n / 2;
    let n_in = n - n_out;
    let outer = linspace(0.0, 2.0 * PI, n_out, false).map(|t| [t.cos(), t.sin()]);
    let inner = linspace(0.0, 2.0 * PI, n_in, false).map(|t| [FACTOR * t.cos(), FACTOR * t.sin()]);
    outer.chain(inner).collect()
}

/// The 2D swiss roll `(t cos t, t sin t) / 5` with `t ~ U[1.5π, 4.5π)`.
///
/// This is the `(x, z)` plane of scikit-learn's `make_swiss_roll`
/// (`t = 1.5π (1 + 2 U)`), scaled by 1/5 so it lies within `[-3, 3]^2`.
fn swiss_roll<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Vec<Point> {
    (0..n)
        .map(|_| {
            let t = 1.5 * PI * (1.0 + 2.0 * rng.gen::<f64>());
            [t * t.cos() / 5.0, t * t.sin() / 5.0]
        })
        .collect()
}

/// Eight Gaussians: each point picks one of the centers `2 (cos kπ/4, sin kπ/4)`,
/// `k = 0..8`, uniformly; the spread comes from the config's noise.
///
/// After FFJORD's `8gaussians` (Grathwohl et al. 2019), which puts the centers at radius
/// `4 / 1.414` with standard deviation `0.5 / 1.414`; here the radius is 2 and the
/// standard deviation is `dataset.noise`.
fn eight_gaussians<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Vec<Point> {
    (0..n)
        .map(|_| {
            let k = rng.gen_range(0..8u32);
            let angle = f64::from(k) * PI / 4.0;
            [2.0 * angle.cos(), 2.0 * angle.sin()]
        })
        .collect()
}

/// FFJORD's `checkerboard` (Grathwohl et al. 2019) without its final factor 2:
///
/// `x1 = 4 U - 2`, `x2 = U' - 2 B + (floor(x1) mod 2)` with `U, U' ~ U[0, 1)` and
/// `B` uniform in `{0, 1}`, drawn in that order for each point. The points fill the
/// eight squares with `floor(x1) + floor(x2)` even of a 4x4 board on `[-2, 2]^2`.
fn checkerboard<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Vec<Point> {
    (0..n)
        .map(|_| {
            let x1 = rng.gen::<f64>() * 4.0 - 2.0;
            let x2_ = rng.gen::<f64>() - f64::from(rng.gen_range(0..2u32)) * 2.0;
            let x2 = x2_ + x1.floor().rem_euclid(2.0);
            [x1, x2]
        })
        .collect()
}

/// Adds `noise * N(0, 1)` to every coordinate, x before y, point by point. Draws nothing
/// when `noise == 0`.
fn add_noise<R: Rng + ?Sized>(points: &mut [Point], noise: f64, rng: &mut R) {
    if noise == 0.0 {
        return;
    }
    for p in points.iter_mut() {
        for c in p.iter_mut() {
            let z: f64 = rng.sample(StandardNormal);
            *c += noise * z;
        }
    }
}

/// numpy's `linspace(start, stop, num, endpoint)`: `start + i * step` with
/// `step = (stop - start) / (num - 1)` (or `/ num` without the endpoint), the last value
/// set to exactly `stop` when the endpoint is included. A single point is `[start]`.
fn linspace(start: f64, stop: f64, num: usize, endpoint: bool) -> impl Iterator<Item = f64> {
    let divisions = if endpoint { num.saturating_sub(1) } else { num };
    let step = if divisions == 0 {
        0.0
    } else {
        (stop - start) / divisions as f64
    };
    (0..num).map(move |i| {
        if endpoint && num > 1 && i == num - 1 {
            stop
        } else {
            start + i as f64 * step
        }
    })
}

#[cfg(test)]
mod tests;
