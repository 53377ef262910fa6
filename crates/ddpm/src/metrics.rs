//! Sample quality: Chamfer distance, sliced Wasserstein distance and RBF-kernel MMD.
//!
//! All three compare two finite point sets in data space and are 0 for identical sets.
//! Chamfer sees whether the samples cover the data and stay on it, but not how mass is
//! spread along it; sliced Wasserstein and MMD compare the densities. Any non-finite
//! coordinate (a diverged sampler) makes every metric `f64::INFINITY`, and an empty set
//! makes it `f64::NAN`.

use serde::{Deserialize, Serialize};

use crate::Point;

/// The number of projection directions [`evaluate`] uses for the sliced Wasserstein
/// distance.
pub const SW_DIRECTIONS: usize = 128;

/// At most this many points of each set enter [`mmd_rbf`], whose cost is quadratic.
pub const MMD_MAX_POINTS: usize = 5000;

/// At most this many points of the reference set enter the median bandwidth of
/// [`mmd_rbf`].
pub const BANDWIDTH_MAX_POINTS: usize = 1000;

/// The bandwidth multipliers `s` of the kernels summed in [`mmd_rbf`].
pub const MMD_BANDWIDTH_FACTORS: [f64; 3] = [0.5, 1.0, 2.0];

/// How close a set of samples is to the data, in data units. Lower is better for all three.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct Metrics {
    /// Symmetric Chamfer distance, see [`chamfer_distance`].
    pub chamfer: f64,
    /// Sliced 2-Wasserstein distance over [`SW_DIRECTIONS`] directions, see
    /// [`sliced_wasserstein`].
    pub sliced_wasserstein: f64,
    /// Maximum mean discrepancy with a sum of RBF kernels, see [`mmd_rbf`].
    pub mmd: f64,
}

impl Metrics {
    /// The metric names, in field order, as used by [`Metrics::get`] and in tables.
    pub const NAMES: [&'static str; 3] = ["chamfer", "sliced_wasserstein", "mmd"];

    /// The metric called `name` (one of [`Metrics::NAMES`]), or `None` for any other name.
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "chamfer" => Some(self.chamfer),
            "sliced_wasserstein" => Some(self.sliced_wasserstein),
            "mmd" => Some(self.mmd),
            _ => None,
        }
    }
}

/// Scores `samples` against the reference set `data` (the training set) with all three
/// metrics; the sliced Wasserstein distance uses [`SW_DIRECTIONS`] directions.
pub fn evaluate(data: &[Point], samples: &[Point]) -> Metrics {
    Metrics {
        chamfer: chamfer_distance(data, samples),
        sliced_wasserstein: sliced_wasserstein(data, samples, SW_DIRECTIONS),
        mmd: mmd_rbf(data, samples),
    }
}

/// What a metric returns for sets it cannot compare, or `None` if it can.
fn degenerate(a: &[Point], b: &[Point]) -> Option<f64> {
    if a.is_empty() || b.is_empty() {
        Some(f64::NAN)
    } else if a.iter().chain(b).flatten().any(|c| !c.is_finite()) {
        Some(f64::INFINITY)
    } else {
        None
    }
}

/// The symmetric Chamfer distance, with unsquared Euclidean distances:
///
/// `CD(A, B) = 1/2 (1/|A| sum_{a in A} min_{b in B} |a - b| + 1/|B| sum_{b in B} min_{a in A} |a - b|)`.
///
/// Nearest neighbours come from a 2-d tree, so the cost is about `O((n + m) log(n + m))`.
/// Returns `f64::INFINITY` if any coordinate is not finite and `f64::NAN` if either set
/// is empty.
pub fn chamfer_distance(a: &[Point], b: &[Point]) -> f64 {
    if let Some(value) = degenerate(a, b) {
        return value;
    }
    0.5 * (mean_nearest_distance(a, b) + mean_nearest_distance(b, a))
}

/// `1/|from| sum_{p in from} min_{q in to} |p - q|`; both sets non-empty and finite.
fn mean_nearest_distance(from: &[Point], to: &[Point]) -> f64 {
    let tree = NearestTree::new(to);
    let total: f64 = from
        .iter()
        .map(|p| tree.nearest_distance_squared(p).sqrt())
        .sum();
    total / from.len() as f64
}

/// A static 2-d tree for nearest-neighbour distances, stored implicitly in one reordered
/// copy of the points.
///
/// A slice of more than [`NearestTree::LEAF`] points is split at its middle index `mid`
/// on axis `depth % 2`: after a selection, every point left of `mid` has a coordinate
/// `<=` the split value and every point from `mid` on has one `>=`. The split value is
/// kept in `splits` at the same index as `mid` (each internal node has its own middle
/// index). Splitting by position rather than by value keeps the tree balanced however
/// many points share a coordinate; kiddo 4.2's `ImmutableKdTree` panics on such input,
/// e.g. points on a lattice or samples collapsed onto one point.
struct NearestTree {
    points: Vec<Point>,
    splits: Vec<f64>,
}

impl NearestTree {
    /// Slices this short are scanned directly.
    const LEAF: usize = 16;

    fn new(points: &[Point]) -> NearestTree {
        let mut points = points.to_vec();
        let mut splits = vec![0.0; points.len()];
        Self::build(&mut points, &mut splits, 0);
        NearestTree { points, splits }
    }

    fn build(points: &mut [Point], splits: &mut [f64], depth: usize) {
        if points.len() <= Self::LEAF {
            return;
        }
        let axis = depth % 2;
        let mid = points.len() / 2;
        points.select_nth_unstable_by(mid, |p, q| p[axis].total_cmp(&q[axis]));
        splits[mid] = points[mid][axis];
        let (left, right) = points.split_at_mut(mid);
        let (left_splits, right_splits) = splits.split_at_mut(mid);
        Self::build(left, left_splits, depth + 1);
        Self::build(right, right_splits, depth + 1);
    }

    /// The squared distance from `query` to its nearest point (infinite for no points).
    fn nearest_distance_squared(&self, query: &Point) -> f64 {
        let mut best = f64::INFINITY;
        let mut offsets = [0.0; 2];
        Self::search(
            &self.points,
            &self.splits,
            0,
            query,
            &mut best,
            &mut offsets,
        );
        best
    }

    /// Searches the cell holding `points`: `offsets` holds the query's signed distance to
    /// the cell along each axis (0 inside its slab), so every point of the cell is at least
    /// `offsets[0]^2 + offsets[1]^2` away (the cell's box, not just the last split plane:
    /// a query far from every point, such as an untrained model's samples, still visits
    /// few cells). That bound is rounded like [`distance_squared`] (the same differences,
    /// squares and sum, each rounding monotone), so it never exceeds a computed distance
    /// in the cell and skipping a far side never changes the result.
    fn search(
        points: &[Point],
        splits: &[f64],
        depth: usize,
        query: &Point,
        best: &mut f64,
        offsets: &mut [f64; 2],
    ) {
        if points.len() <= Self::LEAF {
            for p in points {
                *best = best.min(distance_squared(p, query));
            }
            return;
        }
        let axis = depth % 2;
        let mid = points.len() / 2;
        let offset = query[axis] - splits[mid];
        let left = (&points[..mid], &splits[..mid]);
        let right = (&points[mid..], &splits[mid..]);
        let (near, far) = if offset < 0.0 {
            (left, right)
        } else {
            (right, left)
        };
        Self::search(near.0, near.1, depth + 1, query, best, offsets);
        // Every point on the far side is at least |offset| away along this axis, and as
        // far as the cell was along the other.
        let previous = offsets[axis];
        offsets[axis] = offset;
        if offsets[0].powi(2) + offsets[1].powi(2) < *best {
            Self::search(far.0, far.1, depth + 1, query, best, offsets);
        }
        offsets[axis] = previous;
    }
}

/// The sliced 2-Wasserstein distance over `directions` fixed directions:
///
/// `SW_2(A, B) = sqrt(1/K sum_k W_2^2(A·u_k, B·u_k))`, `u_k = (cos θ_k, sin θ_k)`,
/// `θ_k = π k / K`, `k = 0..K`,
///
/// where `W_2^2` of two 1D empirical distributions is `∫_0^1 |F_A^{-1}(u) - F_B^{-1}(u)|^2 du`
/// with the quantile functions `F^{-1}(u) = x_(⌊u n⌋)` of the sorted projections. The
/// integral is exact: it is summed over the pieces between the merged breakpoints `i/n`
/// and `j/m` (for equal sizes, `1/n sum_i (a_(i) - b_(i))^2`). The directions are evenly
/// spaced on the half circle, so no random numbers are drawn and, for `K >= 2`, a pure
/// shift by `v` scores exactly `|v| / sqrt(2)`.
///
/// Returns `f64::INFINITY` if any coordinate is not finite and `f64::NAN` if either set
/// is empty or `directions == 0`.
pub fn sliced_wasserstein(a: &[Point], b: &[Point], directions: usize) -> f64 {
    if directions == 0 {
        return f64::NAN;
    }
    if let Some(value) = degenerate(a, b) {
        return value;
    }
    let mut proj_a = vec![0.0; a.len()];
    let mut proj_b = vec![0.0; b.len()];
    let mut total = 0.0;
    for k in 0..directions {
        let theta = std::f64::consts::PI * k as f64 / directions as f64;
        let (sin, cos) = theta.sin_cos();
        project_sorted(a, cos, sin, &mut proj_a);
        project_sorted(b, cos, sin, &mut proj_b);
        total += wasserstein2_squared_sorted(&proj_a, &proj_b);
    }
    (total / directions as f64).sqrt()
}

/// Writes the projections `p · (cos, sin)` of `points` into `out`, sorted ascending.
fn project_sorted(points: &[Point], cos: f64, sin: f64, out: &mut [f64]) {
    for (o, p) in out.iter_mut().zip(points) {
        *o = p[0] * cos + p[1] * sin;
    }
    out.sort_unstable_by(f64::total_cmp);
}

/// `∫_0^1 |F_a^{-1}(u) - F_b^{-1}(u)|^2 du` for sorted, non-empty `a` (n values) and `b`
/// (m values). The breakpoints `i/n` and `j/m` are compared as the integers `i m` and
/// `j n`, so the pieces are found without rounding.
fn wasserstein2_squared_sorted(a: &[f64], b: &[f64]) -> f64 {
    let (n, m) = (a.len() as u128, b.len() as u128);
    if n == m {
        let total: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum();
        return total / a.len() as f64;
    }
    // Positions along u in units of 1 / (n m): a's piece i ends at (i + 1) m, b's piece j
    // at (j + 1) n.
    let (mut i, mut j) = (0usize, 0usize);
    let mut position: u128 = 0;
    let mut total = 0.0;
    while i < a.len() && j < b.len() {
        let end_a = (i as u128 + 1) * m;
        let end_b = (j as u128 + 1) * n;
        let end = end_a.min(end_b);
        total += (end - position) as f64 * (a[i] - b[j]).powi(2);
        position = end;
        if end_a == end {
            i += 1;
        }
        if end_b == end {
            j += 1;
        }
    }
    total / (n * m) as f64
}

/// The maximum mean discrepancy between `a` (the reference) and `b`, as the biased
/// V-statistic with a sum of RBF kernels:
///
/// `MMD^2 = 1/n^2 sum_{i,i'} k(a_i, a_i') + 1/m^2 sum_{j,j'} k(b_j, b_j') - 2/(n m) sum_{i,j} k(a_i, b_j)`,
/// `k(x, y) = sum_{s in {0.5, 1, 2}} exp(-|x - y|^2 / (2 s^2 h^2))`,
///
/// returned as `sqrt(max(MMD^2, 0))`. The bandwidth `h` is the median of the pairwise
/// distances between the reference points (numpy's median: the mean of the two middle
/// values for an even count), taken on at most [`BANDWIDTH_MAX_POINTS`] of them; it falls
/// back to 1 when it is 0 or `a` has a single point.
///
/// The cost is `O(n m)`, so each set is first thinned to at most [`MMD_MAX_POINTS`]
/// points by taking every `(len / max)`-th point (indices `⌊k len / max⌋`). For i.i.d.
/// points this is an unbiased subsample like a prefix, and unlike a prefix it also stays
/// representative for sets stored in order (clean moons list the outer moon first).
/// Identical sets give exactly 0.
///
/// Returns `f64::INFINITY` if any coordinate is not finite and `f64::NAN` if either set
/// is empty.
pub fn mmd_rbf(a: &[Point], b: &[Point]) -> f64 {
    if let Some(value) = degenerate(a, b) {
        return value;
    }
    let h = median_pairwise_distance(&thin(a, BANDWIDTH_MAX_POINTS));
    let h = if h.is_finite() && h > 0.0 { h } else { 1.0 };
    let a = thin(a, MMD_MAX_POINTS);
    let b = thin(b, MMD_MAX_POINTS);
    let kernel = RbfSum::new(h);
    let aa = kernel.mean(&a, &a);
    let bb = kernel.mean(&b, &b);
    let ab = kernel.mean(&a, &b);
    (aa + bb - 2.0 * ab).max(0.0).sqrt()
}

/// At most `max` points of `points`, evenly strided: indices `⌊k len / max⌋`, `k < max`.
fn thin(points: &[Point], max: usize) -> Vec<Point> {
    if points.len() <= max {
        return points.to_vec();
    }
    (0..max).map(|k| points[k * points.len() / max]).collect()
}

/// The median of `|p_i - p_j|` over all pairs `i < j`; `NAN` with fewer than two points.
fn median_pairwise_distance(points: &[Point]) -> f64 {
    let mut distances: Vec<f64> = points
        .iter()
        .enumerate()
        .flat_map(|(i, p)| {
            points[i + 1..]
                .iter()
                .map(move |q| distance_squared(p, q).sqrt())
        })
        .collect();
    let len = distances.len();
    if len == 0 {
        return f64::NAN;
    }
    let (_, &mut upper, _) = distances.select_nth_unstable_by(len / 2, f64::total_cmp);
    if len % 2 == 1 {
        return upper;
    }
    // The lower middle value is the largest of the elements left of the upper one.
    let lower = distances[..len / 2]
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    0.5 * (lower + upper)
}

fn distance_squared(p: &Point, q: &Point) -> f64 {
    (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)
}

/// The kernel `sum_{s in {0.5, 1, 2}} exp(-d^2 / (2 s^2 h^2))`; the factors of
/// [`MMD_BANDWIDTH_FACTORS`] are built into [`RbfSum::eval`].
struct RbfSum {
    /// `1 / (2 (2h)^2)`: the exponent rate of the widest kernel, `s = 2`.
    widest_rate: f64,
}

impl RbfSum {
    fn new(h: f64) -> RbfSum {
        RbfSum {
            widest_rate: 1.0 / (8.0 * h * h),
        }
    }

    /// With `e = exp(-d^2 / (8 h^2))` (s = 2), the s = 1 term is `e^4` and the s = 0.5
    /// term is `e^16`, so one `exp` per pair suffices.
    fn eval(&self, d2: f64) -> f64 {
        let e = (-d2 * self.widest_rate).exp();
        let e4 = (e * e) * (e * e);
        let e16 = (e4 * e4) * (e4 * e4);
        e + e4 + e16
    }

    /// `1/(n m) sum_{i,j} k(x_i, y_j)`, summed row by row. The same loop serves all three
    /// terms of MMD^2, so identical sets cancel exactly.
    fn mean(&self, x: &[Point], y: &[Point]) -> f64 {
        let total: f64 = x
            .iter()
            .map(|p| {
                y.iter()
                    .map(|q| self.eval(distance_squared(p, q)))
                    .sum::<f64>()
            })
            .sum();
        total / (x.len() as f64 * y.len() as f64)
    }
}

#[cfg(test)]
mod tests {
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
}
