//! A per-axis affine map between data space and the space the network sees, and its inverse.

use crate::{Point, Scaling};

/// A fitted per-axis affine map: `scaled = (x - shift) / scale`, inverted exactly by
/// `x = scaled * scale + shift`.
///
/// An axis whose fitted scale is zero or not finite (all points equal, or no points)
/// gets `scale = 1`, and a non-finite shift becomes 0, so transforming never produces
/// NaN from finite input.
#[derive(Clone, Debug, PartialEq)]
pub struct Scaler {
    shift: Point,
    scale: Point,
}

impl Scaler {
    /// The map that leaves points unchanged (`shift = 0`, `scale = 1`).
    pub fn identity() -> Scaler {
        Scaler {
            shift: [0.0, 0.0],
            scale: [1.0, 1.0],
        }
    }

    /// Fits the map of `kind` to `data`, axis by axis:
    ///
    /// - [`Scaling::MinMax`]: `shift = (min + max) / 2`, `scale = (max - min) / 2`, so the
    ///   data spans exactly `[-1, 1]`;
    /// - [`Scaling::Standardize`]: `shift = mean`, `scale` = the population standard
    ///   deviation `sqrt(sum (x - mean)^2 / n)` (ddof = 0, as scikit-learn's
    ///   `StandardScaler`);
    /// - [`Scaling::None`]: the identity.
    ///
    /// A degenerate axis (scale 0 or not finite) gets scale 1; empty data gives the
    /// identity.
    pub fn fit(kind: Scaling, data: &[Point]) -> Scaler {
        if data.is_empty() {
            return Scaler::identity();
        }
        let mut shift = [0.0; 2];
        let mut scale = [1.0; 2];
        for axis in 0..2 {
            let values = data.iter().map(|p| p[axis]);
            let (s, c) = match kind {
                Scaling::MinMax => {
                    let (min, max) = values
                        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                            (lo.min(v), hi.max(v))
                        });
                    ((min + max) / 2.0, (max - min) / 2.0)
                }
                Scaling::Standardize => {
                    let n = data.len() as f64;
                    let mean = values.clone().sum::<f64>() / n;
                    let var = values.map(|v| (v - mean).powi(2)).sum::<f64>() / n;
                    (mean, var.sqrt())
                }
                Scaling::None => (0.0, 1.0),
            };
            shift[axis] = if s.is_finite() { s } else { 0.0 };
            scale[axis] = if c.is_finite() && c > 0.0 { c } else { 1.0 };
        }
        Scaler { shift, scale }
    }

    /// Maps a data-space point into scaled space: `(p - shift) / scale`.
    pub fn transform(&self, p: Point) -> Point {
        [
            (p[0] - self.shift[0]) / self.scale[0],
            (p[1] - self.shift[1]) / self.scale[1],
        ]
    }

    /// Maps a scaled point back into data space: `p * scale + shift`.
    pub fn inverse(&self, p: Point) -> Point {
        [
            p[0] * self.scale[0] + self.shift[0],
            p[1] * self.scale[1] + self.shift[1],
        ]
    }

    /// [`Scaler::transform`] of every point.
    pub fn transform_all(&self, points: &[Point]) -> Vec<Point> {
        points.iter().map(|&p| self.transform(p)).collect()
    }

    /// [`Scaler::inverse`] of every point.
    pub fn inverse_all(&self, points: &[Point]) -> Vec<Point> {
        points.iter().map(|&p| self.inverse(p)).collect()
    }

    /// A displacement `d` in scaled space expressed in data units: `d * scale`, with no
    /// shift, since differences of points do not see the offset.
    pub fn inverse_direction(&self, d: [f64; 2]) -> [f64; 2] {
        [d[0] * self.scale[0], d[1] * self.scale[1]]
    }

    /// The per-axis shift (the data-space point that maps to the origin).
    pub fn shift(&self) -> Point {
        self.shift
    }

    /// The per-axis scale (the data-space length of one scaled unit).
    pub fn scale(&self) -> Point {
        self.scale
    }
}

#[cfg(test)]
mod tests;
