//! Tests of the toy data sets: their supports and sizes, scikit-learn's layouts, the noise
//! and the seed.

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
    let var = residuals.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / residuals.len() as f64;
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
