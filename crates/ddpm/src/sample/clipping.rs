//! How the predicted `x0` of a step is bounded: the data's range, the quantile of dynamic
//! clipping, and the bound each `sampling.clip` mode applies.

use crate::{
    config::{Clip, SamplingConfig},
    Point,
};

/// The per-axis range `[lo, hi]` of the scaled training set, which `sampling.clip` bounds
/// the predicted `x0` by.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DataRange {
    /// The smallest coordinate on each axis.
    pub lo: Point,
    /// The largest coordinate on each axis.
    pub hi: Point,
}

impl DataRange {
    /// `[-1, 1]` on both axes: min-max scaled data, by construction.
    pub const UNIT: DataRange = DataRange {
        lo: [-1.0, -1.0],
        hi: [1.0, 1.0],
    };

    /// The range `points` span on each axis; `UNIT` when there are none.
    pub fn of(points: &[Point]) -> DataRange {
        if points.is_empty() {
            return DataRange::UNIT;
        }
        let mut range = DataRange {
            lo: [f64::INFINITY; 2],
            hi: [f64::NEG_INFINITY; 2],
        };
        for p in points {
            for axis in 0..2 {
                range.lo[axis] = range.lo[axis].min(p[axis]);
                range.hi[axis] = range.hi[axis].max(p[axis]);
            }
        }
        range
    }
}

/// The `p`-quantile of `values` with linear interpolation between order statistics
/// (numpy's and torch's default: position `p (n - 1)` of the sorted values). Sorts
/// `values`; NaN sorts last. Panics on an empty slice.
pub fn quantile(values: &mut [f64], p: f64) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    let position = p * (values.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(values.len() - 1);
    let fraction = position - below as f64;
    values[below] + (values[above] - values[below]) * fraction
}

/// How the predicted `x0` of one step is bounded, from `sampling.clip` and the data's range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Clipping {
    None,
    /// Clamp each axis to `[lo, hi]`.
    Static(DataRange),
    /// Clamp each axis to `+-max(quantile_p |x0|, max(|lo|, |hi|))`.
    Dynamic {
        range: DataRange,
        quantile: f64,
    },
}

impl Clipping {
    pub(super) fn new(config: &SamplingConfig, range: DataRange) -> Clipping {
        match config.clip {
            Clip::None => Clipping::None,
            Clip::Static => Clipping::Static(range),
            Clip::Dynamic => Clipping::Dynamic {
                range,
                quantile: config.clip_quantile,
            },
        }
    }

    /// Bounds every point of `x0` in place; `scratch` holds one axis's magnitudes.
    pub(super) fn apply(&self, x0: &mut [Point], scratch: &mut Vec<f64>) {
        match *self {
            Clipping::None => {}
            Clipping::Static(range) => {
                for p in x0.iter_mut() {
                    for axis in 0..2 {
                        p[axis] = p[axis].clamp(range.lo[axis], range.hi[axis]);
                    }
                }
            }
            Clipping::Dynamic { range, quantile: q } => {
                if x0.is_empty() {
                    return;
                }
                for axis in 0..2 {
                    scratch.clear();
                    scratch.extend(x0.iter().map(|p| p[axis].abs()));
                    let s = quantile(scratch, q);
                    let floor = range.lo[axis].abs().max(range.hi[axis].abs());
                    // A NaN quantile (NaN among the points) leaves the floor.
                    let bound = s.max(floor);
                    for p in x0.iter_mut() {
                        p[axis] = p[axis].clamp(-bound, bound);
                    }
                }
            }
        }
    }
}
