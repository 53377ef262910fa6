//! Tests of the scalers: the fitted maps, their inverses, directions and degenerate axes.

use super::*;

/// A fixed, irregular data set with different ranges on the two axes.
fn sample_data() -> Vec<Point> {
    (0..200)
        .map(|i| {
            let t = f64::from(i);
            [
                3.0 + 2.5 * (0.37 * t).sin() + 0.01 * t,
                -7.0 + 0.2 * (1.3 * t).cos(),
            ]
        })
        .collect()
}

fn axis(points: &[Point], a: usize) -> impl Iterator<Item = f64> + Clone + '_ {
    points.iter().map(move |p| p[a])
}

#[test]
fn minmax_maps_each_axis_onto_minus_one_one() {
    let data = sample_data();
    let scaled = Scaler::fit(Scaling::MinMax, &data).transform_all(&data);
    for a in 0..2 {
        let min = axis(&scaled, a).fold(f64::INFINITY, f64::min);
        let max = axis(&scaled, a).fold(f64::NEG_INFINITY, f64::max);
        assert!((min + 1.0).abs() < 1e-12, "axis {a}: min {min}");
        assert!((max - 1.0).abs() < 1e-12, "axis {a}: max {max}");
    }
}

#[test]
fn standardize_gives_zero_mean_unit_population_std() {
    let data = sample_data();
    let scaled = Scaler::fit(Scaling::Standardize, &data).transform_all(&data);
    let n = scaled.len() as f64;
    for a in 0..2 {
        let mean = axis(&scaled, a).sum::<f64>() / n;
        let var = axis(&scaled, a).map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 1e-12, "axis {a}: mean {mean}");
        assert!((var - 1.0).abs() < 1e-12, "axis {a}: var {var}");
    }
}

#[test]
fn standardize_uses_the_population_std() {
    let scaler = Scaler::fit(Scaling::Standardize, &[[0.0, 1.0], [2.0, 5.0]]);
    assert_eq!(scaler.shift(), [1.0, 3.0]);
    assert_eq!(scaler.scale(), [1.0, 2.0]);
}

#[test]
fn none_is_the_identity() {
    let data = sample_data();
    let scaler = Scaler::fit(Scaling::None, &data);
    assert_eq!(scaler, Scaler::identity());
    assert_eq!(scaler.transform_all(&data), data);
}

#[test]
fn transform_then_inverse_round_trips() {
    let data = sample_data();
    for kind in [Scaling::MinMax, Scaling::Standardize, Scaling::None] {
        let scaler = Scaler::fit(kind, &data);
        let back = scaler.inverse_all(&scaler.transform_all(&data));
        for (p, q) in data.iter().zip(&back) {
            assert!(
                (p[0] - q[0]).abs() < 1e-12 && (p[1] - q[1]).abs() < 1e-12,
                "{kind:?}: {p:?} -> {q:?}"
            );
        }
    }
}

#[test]
fn inverse_direction_scales_without_shifting() {
    let data = sample_data();
    let scaler = Scaler::fit(Scaling::MinMax, &data);
    let (p, q) = ([0.3, -0.2], [0.5, 0.4]);
    let d = scaler.inverse_direction([q[0] - p[0], q[1] - p[1]]);
    let (pd, qd) = (scaler.inverse(p), scaler.inverse(q));
    assert!((d[0] - (qd[0] - pd[0])).abs() < 1e-12);
    assert!((d[1] - (qd[1] - pd[1])).abs() < 1e-12);
}

#[test]
fn degenerate_axes_get_unit_scale() {
    let data = vec![[1.0, 4.0], [1.0, 6.0], [1.0, 8.0]];
    for kind in [Scaling::MinMax, Scaling::Standardize] {
        let scaler = Scaler::fit(kind, &data);
        assert_eq!(scaler.scale()[0], 1.0, "{kind:?}");
        let scaled = scaler.transform_all(&data);
        assert!(scaled.iter().flatten().all(|v| v.is_finite()), "{kind:?}");
        assert_eq!(scaled[0][0], 0.0, "{kind:?}");
    }
    let single = Scaler::fit(Scaling::MinMax, &[[2.0, 3.0]]);
    assert_eq!(single.transform([2.0, 3.0]), [0.0, 0.0]);
    assert_eq!(Scaler::fit(Scaling::Standardize, &[]), Scaler::identity());
}
