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
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn config(kind: DatasetKind, n: usize, noise: f64) -> DatasetConfig {
        DatasetConfig { kind, n, noise }
    }

    fn draw(kind: DatasetKind, n: usize, noise: f64, seed: u64) -> Vec<Point> {
        generate(
            &config(kind, n, noise),
            &mut ChaCha8Rng::seed_from_u64(seed),
        )
    }

    #[test]
    fn every_kind_has_n_finite_points() {
        for kind in DatasetKind::ALL {
            for n in [0, 1, 2, 3, 1000] {
                let points = draw(kind, n, 0.1, 0);
                assert_eq!(points.len(), n, "{kind:?}");
                assert!(
                    points.iter().flatten().all(|c| c.is_finite()),
                    "{kind:?} n={n}"
                );
            }
        }
    }

    #[test]
    fn same_seed_same_points_other_seed_other_points() {
        for kind in DatasetKind::ALL {
            let a = draw(kind, 500, 0.05, 7);
            let b = draw(kind, 500, 0.05, 7);
            let c = draw(kind, 500, 0.05, 8);
            assert_eq!(a, b, "{kind:?}");
            assert_ne!(a, c, "{kind:?}");
        }
    }

    #[test]
    fn zero_noise_draws_nothing() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        generate(&config(DatasetKind::Moons, 100, 0.0), &mut rng);
        assert_eq!(rng.get_word_pos(), 0);
    }

    #[test]
    fn linspace_matches_numpy() {
        let v: Vec<f64> = linspace(0.0, 1.0, 5, true).collect();
        assert_eq!(v, [0.0, 0.25, 0.5, 0.75, 1.0]);
        let v: Vec<f64> = linspace(0.0, 1.0, 4, false).collect();
        assert_eq!(v, [0.0, 0.25, 0.5, 0.75]);
        assert_eq!(linspace(0.0, PI, 1, true).collect::<Vec<_>>(), [0.0]);
        assert_eq!(linspace(0.0, PI, 0, true).count(), 0);
    }

    #[test]
    fn clean_moons_lie_on_their_half_circles() {
        let n = 101;
        let points = draw(DatasetKind::Moons, n, 0.0, 0);
        let (outer, inner) = points.split_at(n / 2);
        assert_eq!((outer.len(), inner.len()), (50, 51));
        for &[x, y] in outer {
            assert!((x.hypot(y) - 1.0).abs() < 1e-12, "({x}, {y})");
            assert!(y >= 0.0, "({x}, {y})");
        }
        for &[x, y] in inner {
            assert!(((x - 1.0).hypot(y - 0.5) - 1.0).abs() < 1e-12, "({x}, {y})");
            assert!(y <= 0.5, "({x}, {y})");
        }
        let close = |p: Point, q: Point| (p[0] - q[0]).abs() < 1e-12 && (p[1] - q[1]).abs() < 1e-12;
        assert!(close(outer[0], [1.0, 0.0]));
        assert!(close(outer[outer.len() - 1], [-1.0, 0.0]));
        assert!(close(inner[0], [0.0, 0.5]));
        assert!(close(inner[inner.len() - 1], [2.0, 0.5]));
    }

    #[test]
    fn noisy_moons_residuals_have_the_noise_std() {
        let (n, noise) = (20_000, 0.1);
        let clean = draw(DatasetKind::Moons, n, 0.0, 0);
        let noisy = draw(DatasetKind::Moons, n, noise, 5);
        let residuals: Vec<f64> = clean
            .iter()
            .zip(&noisy)
            .flat_map(|(c, p)| [p[0] - c[0], p[1] - c[1]])
            .collect();
        let mean = residuals.iter().sum::<f64>() / residuals.len() as f64;
        let var =
            residuals.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / residuals.len() as f64;
        assert!(mean.abs() < 0.005, "mean {mean}");
        assert!((var.sqrt() - noise).abs() < 0.002, "std {}", var.sqrt());
    }

    #[test]
    fn clean_circles_have_radii_one_and_a_half() {
        let points = draw(DatasetKind::Circles, 9, 0.0, 0);
        let radii: Vec<f64> = points.iter().map(|p| p[0].hypot(p[1])).collect();
        for (i, r) in radii.iter().enumerate() {
            let expected = if i < 4 { 1.0 } else { 0.5 };
            assert!((r - expected).abs() < 1e-12, "{i}: {r}");
        }
        assert_eq!(points[0], [1.0, 0.0]);
        assert_eq!(points[4], [0.5, 0.0]);
    }

    #[test]
    fn clean_kinds_stay_on_their_support() {
        for &[x, y] in &draw(DatasetKind::SwissRoll, 2000, 0.0, 1) {
            let r = 5.0 * x.hypot(y);
            assert!((1.5 * PI - 1e-9..=4.5 * PI + 1e-9).contains(&r), "r = {r}");
        }
        for &[x, y] in &draw(DatasetKind::EightGaussians, 2000, 0.0, 1) {
            assert!((x.hypot(y) - 2.0).abs() < 1e-12);
            let k = y.atan2(x) / (PI / 4.0);
            assert!((k - k.round()).abs() < 1e-9, "angle index {k}");
        }
        for &[x, y] in &draw(DatasetKind::Checkerboard, 2000, 0.0, 1) {
            assert!(
                (-2.0..2.0).contains(&x) && (-2.0..2.0).contains(&y),
                "({x}, {y})"
            );
            // The filled squares are those where floor(x) + floor(y) is even.
            let parity = (x.floor() + y.floor()).rem_euclid(2.0);
            assert_eq!(parity, 0.0, "({x}, {y})");
        }
    }
}
