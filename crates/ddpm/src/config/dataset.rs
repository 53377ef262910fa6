//! The `dataset` section (which toy distribution, how many points, how much noise) and the
//! `scaling` of the data.

use serde::{Deserialize, Serialize};

/// Which 2D toy distribution, how many points and how much noise.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatasetConfig {
    /// The distribution.
    pub kind: DatasetKind,
    /// Number of training points.
    pub n: usize,
    /// Standard deviation of the Gaussian noise added to every point (data units).
    pub noise: f64,
}

impl Default for DatasetConfig {
    fn default() -> Self {
        Self {
            kind: DatasetKind::Moons,
            n: 1000,
            noise: 0.05,
        }
    }
}

/// The 2D toy distributions.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum DatasetKind {
    /// Two interleaved half circles, as scikit-learn's `make_moons`.
    Moons,
    /// Two concentric circles (radius 1 and 0.5), as scikit-learn's `make_circles(factor=0.5)`.
    Circles,
    /// The 2D swiss roll `(t cos t, t sin t) / 5`, `t` uniform in `[1.5 pi, 4.5 pi]`.
    SwissRoll,
    /// Eight Gaussians on a circle of radius 2 (Grathwohl et al. 2019, FFJORD).
    EightGaussians,
    /// The 4x4 checkerboard of FFJORD (Grathwohl et al. 2019).
    Checkerboard,
}

impl DatasetKind {
    /// Every kind, in the order used by docs and error messages.
    pub const ALL: [DatasetKind; 5] = [
        DatasetKind::Moons,
        DatasetKind::Circles,
        DatasetKind::SwissRoll,
        DatasetKind::EightGaussians,
        DatasetKind::Checkerboard,
    ];
}

/// How the training data is scaled; the scaler is fitted on the training data and
/// inverted exactly before any metric is computed.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Scaling {
    /// Each axis mapped linearly onto `[-1, 1]` (the post's choice).
    #[serde(rename = "minmax")]
    MinMax,
    /// Each axis shifted to zero mean and unit standard deviation.
    Standardize,
    /// The data as generated.
    None,
}
