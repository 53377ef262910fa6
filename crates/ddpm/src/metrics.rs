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
mod tests;
