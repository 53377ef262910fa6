//! Tests of the metrics: identities, closed forms, degenerate sets and the tree against
//! brute force.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

fn random_points(n: usize, seed: u64) -> Vec<Point> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| [rng.gen_range(-2.0..2.0), rng.gen_range(-1.0..1.0)])
        .collect()
}

fn shifted(points: &[Point], v: [f64; 2]) -> Vec<Point> {
    points.iter().map(|p| [p[0] + v[0], p[1] + v[1]]).collect()
}

/// `n` evenly spaced points on the segment `[lo, hi] x {0}` (cell midpoints).
fn segment(n: usize, lo: f64, hi: f64) -> Vec<Point> {
    (0..n)
        .map(|i| [lo + (hi - lo) * (i as f64 + 0.5) / n as f64, 0.0])
        .collect()
}

#[test]
fn identical_sets_score_zero() {
    let a = random_points(500, 1);
    let m = evaluate(&a, &a.clone());
    assert_eq!(
        m,
        Metrics {
            chamfer: 0.0,
            sliced_wasserstein: 0.0,
            mmd: 0.0
        }
    );
}

#[test]
fn names_match_fields() {
    let m = Metrics {
        chamfer: 1.0,
        sliced_wasserstein: 2.0,
        mmd: 3.0,
    };
    let values: Vec<Option<f64>> = Metrics::NAMES.iter().map(|n| m.get(n)).collect();
    assert_eq!(values, [Some(1.0), Some(2.0), Some(3.0)]);
    assert_eq!(m.get("fid"), None);
}

#[test]
fn chamfer_of_a_small_shift_on_a_lattice_is_the_shift() {
    let lattice: Vec<Point> = (0..20)
        .flat_map(|i| (0..20).map(move |j| [f64::from(i), f64::from(j)]))
        .collect();
    for d in [0.1, 0.25, 0.4] {
        let moved = shifted(&lattice, [d, 0.0]);
        let cd = chamfer_distance(&lattice, &moved);
        assert!((cd - d).abs() < 1e-12, "shift {d}: chamfer {cd}");
    }
}

#[test]
fn chamfer_is_symmetric_and_averages_both_directions() {
    // A = {0}, B = {0, 3}: A->B mean is 0, B->A mean is (0 + 3) / 2.
    let a = [[0.0, 0.0]];
    let b = [[0.0, 0.0], [3.0, 0.0]];
    assert_eq!(chamfer_distance(&a, &b), 0.75);
    assert_eq!(chamfer_distance(&b, &a), 0.75);
}

#[test]
fn tree_matches_brute_force_on_degenerate_sets() {
    let lattice: Vec<Point> = (0..30)
        .flat_map(|i| (0..30).map(move |j| [f64::from(i) * 0.1, f64::from(j) * 0.1]))
        .collect();
    let sets = [
        random_points(2000, 10),
        lattice,
        segment(500, -1.0, 1.0),
        vec![[0.25, -0.5]; 300],
        random_points(3, 11),
    ];
    // Queries near the sets, and far from all of them (an untrained model's samples).
    let mut queries = random_points(300, 12);
    queries.extend(shifted(&random_points(100, 13), [40.0, -25.0]));
    queries.extend(
        random_points(100, 14)
            .iter()
            .map(|p| [p[0] * 1e6, p[1] * -1e3]),
    );
    for (s, set) in sets.iter().enumerate() {
        let tree = NearestTree::new(set);
        for q in queries.iter().chain(set) {
            let brute = set
                .iter()
                .map(|p| distance_squared(p, q))
                .fold(f64::INFINITY, f64::min);
            assert_eq!(
                tree.nearest_distance_squared(q),
                brute,
                "set {s}, query {q:?}"
            );
        }
    }
}

#[test]
fn chamfer_handles_many_duplicates() {
    let collapsed = vec![[0.5, 0.5]; 10_000];
    let a = random_points(1000, 2);
    let cd = chamfer_distance(&a, &collapsed);
    assert!(cd.is_finite() && cd > 0.0);
    assert_eq!(chamfer_distance(&collapsed, &collapsed), 0.0);
}

#[test]
fn non_finite_samples_score_infinity_and_empty_sets_nan() {
    let a = random_points(100, 3);
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut b = random_points(100, 4);
        b[17] = [0.0, bad];
        let m = evaluate(&a, &b);
        assert_eq!(m.chamfer, f64::INFINITY, "{bad}");
        assert_eq!(m.sliced_wasserstein, f64::INFINITY, "{bad}");
        assert_eq!(m.mmd, f64::INFINITY, "{bad}");
    }
    let m = evaluate(&a, &[]);
    assert!(m.chamfer.is_nan() && m.sliced_wasserstein.is_nan() && m.mmd.is_nan());
    assert!(sliced_wasserstein(&a, &a, 0).is_nan());
}

#[test]
fn sliced_wasserstein_of_a_shift_is_its_length_over_sqrt_two() {
    let a = random_points(300, 5);
    for (v, directions) in [([0.3, 0.0], 128), ([0.2, -0.7], 128), ([1.5, 2.0], 7)] {
        let sw = sliced_wasserstein(&a, &shifted(&a, v), directions);
        let expected = v[0].hypot(v[1]) / 2f64.sqrt();
        assert!((sw - expected).abs() < 1e-9, "{v:?}: {sw} vs {expected}");
    }
    // One direction is the x axis alone.
    let sw = sliced_wasserstein(&a, &shifted(&a, [0.3, 5.0]), 1);
    assert!((sw - 0.3).abs() < 1e-9, "{sw}");
}

#[test]
fn sliced_wasserstein_integrates_unequal_sizes_exactly() {
    // On the x axis: quantiles of {0, 1} and {0, 0.5, 1} differ by 0.5 on (1/3, 2/3),
    // so W2^2 = (1/3) * 0.25 = 1/12.
    let a = [[0.0, 0.0], [1.0, 0.0]];
    let b = [[0.0, 0.0], [0.5, 0.0], [1.0, 0.0]];
    let sw = sliced_wasserstein(&a, &b, 1);
    assert!((sw - (1.0f64 / 12.0).sqrt()).abs() < 1e-15, "{sw}");
    // A set and the same set listed twice have the same quantile function.
    let c = random_points(200, 6);
    let doubled: Vec<Point> = c.iter().chain(&c).copied().collect();
    assert_eq!(sliced_wasserstein(&c, &doubled, 64), 0.0);
}

#[test]
fn sliced_wasserstein_sees_density_that_chamfer_barely_sees() {
    // Data uniform on [0, 1]; samples cover the same segment but put 90% of their mass
    // on its left half. Every point still has a close neighbour in the other set.
    let data = segment(1000, 0.0, 1.0);
    let samples: Vec<Point> = segment(900, 0.0, 0.5)
        .into_iter()
        .chain(segment(100, 0.5, 1.0))
        .collect();
    let cd = chamfer_distance(&data, &samples);
    let sw = sliced_wasserstein(&data, &samples, SW_DIRECTIONS);
    // The 1D W2 is sqrt(0.0533); averaging cos^2 over directions halves its square.
    assert!(cd < 0.002, "chamfer {cd}");
    assert!(sw > 0.15, "sliced wasserstein {sw}");
    assert!(sw > 50.0 * cd, "chamfer {cd}, sliced wasserstein {sw}");
}

#[test]
fn mmd_of_two_single_points_matches_the_formula() {
    // One reference point: no pairwise distance, so h = 1.
    let d: f64 = 0.8;
    let k_d: f64 = MMD_BANDWIDTH_FACTORS
        .iter()
        .map(|s| (-d * d / (2.0 * s * s)).exp())
        .sum();
    let expected = (2.0 * (3.0 - k_d)).sqrt();
    let mmd = mmd_rbf(&[[0.0, 0.0]], &[[d, 0.0]]);
    assert!((mmd - expected).abs() < 1e-12, "{mmd} vs {expected}");
}

#[test]
fn mmd_grows_with_the_shift() {
    let a = random_points(400, 7);
    let values: Vec<f64> = [0.0, 0.05, 0.2, 0.5, 1.0, 3.0]
        .iter()
        .map(|&d| mmd_rbf(&a, &shifted(&a, [d, 0.0])))
        .collect();
    assert_eq!(values[0], 0.0);
    assert!(values.windows(2).all(|w| w[0] < w[1]), "{values:?}");
}

#[test]
fn median_pairwise_distance_matches_numpy() {
    // Distances 1, 3, 2 (odd count): the middle one.
    let line = [[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]];
    assert_eq!(median_pairwise_distance(&line), 2.0);
    let four = [[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [7.0, 0.0]];
    // Distances 1, 3, 7, 2, 6, 4: median (3 + 4) / 2.
    assert_eq!(median_pairwise_distance(&four), 3.5);
}

#[test]
fn thinning_strides_over_the_whole_set() {
    let points: Vec<Point> = (0..10).map(|i| [f64::from(i), 0.0]).collect();
    let thinned: Vec<f64> = thin(&points, 4).iter().map(|p| p[0]).collect();
    assert_eq!(thinned, [0.0, 2.0, 5.0, 7.0]);
    assert_eq!(thin(&points, 20), points);
}

#[test]
fn chamfer_runs_on_a_hundred_thousand_points() {
    let a = random_points(100_000, 8);
    let b = random_points(100_000, 9);
    let cd = chamfer_distance(&a, &b);
    assert!(cd.is_finite() && cd > 0.0 && cd < 0.05, "{cd}");
}
