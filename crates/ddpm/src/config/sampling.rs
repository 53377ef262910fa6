//! The `sampling` section: which sampler, over which steps, with what noise and clipping.

use serde::{Deserialize, Serialize};

use super::defaults::is_default;

/// The reverse process: which sampler, over which of the `T` steps, with what noise.
///
/// Every key added after the first studies ran (`method`, `steps`, `spacing`, `eta`) is
/// left out of the serialized config while it has its default value, so the configs (and
/// run ids) of runs made before these keys existed are unchanged.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SamplingConfig {
    /// The variance of each ancestral reverse step (ignored by `method = "ddim"`).
    pub variance: SamplerVariance,
    /// Number of samples to draw; 0 means as many as the training set.
    pub n_samples: usize,
    /// The sampler.
    #[serde(default, skip_serializing_if = "is_default")]
    pub method: SamplerMethod,
    /// The number `K` of reverse steps, `0..=T`; 0 means `T` (every step).
    #[serde(default, skip_serializing_if = "is_default")]
    pub steps: usize,
    /// Which `K` of the `T` steps are visited when `K < T`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub spacing: Spacing,
    /// DDIM's `eta` in `[0, 1]`: 0 is deterministic given `x_T`, 1 has the ancestral
    /// sampler's posterior variance (ignored by `method = "ancestral"`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub eta: f64,
    /// How the predicted `x0` is bounded at every step of every sampler.
    #[serde(default, skip_serializing_if = "is_default")]
    pub clip: Clip,
    /// The quantile `p` of `|x0|` that `clip = "dynamic"` bounds by, in `(0, 1]`.
    #[serde(
        default = "default_clip_quantile",
        skip_serializing_if = "is_default_clip_quantile"
    )]
    pub clip_quantile: f64,
}

/// Dynamic clipping's default quantile (Saharia et al. 2022 use 0.995).
pub const DEFAULT_CLIP_QUANTILE: f64 = 0.995;

fn default_clip_quantile() -> f64 {
    DEFAULT_CLIP_QUANTILE
}

fn is_default_clip_quantile(value: &f64) -> bool {
    *value == DEFAULT_CLIP_QUANTILE
}

impl Default for SamplingConfig {
    fn default() -> Self {
        Self {
            variance: SamplerVariance::Posterior,
            n_samples: 0,
            method: SamplerMethod::Ancestral,
            steps: 0,
            spacing: Spacing::Linspace,
            eta: 0.0,
            clip: Clip::None,
            clip_quantile: DEFAULT_CLIP_QUANTILE,
        }
    }
}

/// How each sampler bounds the predicted `x0` before it uses it. Our data are 2D points, so
/// the range is the scaled training set's own: per axis `[lo, hi]`, its smallest and
/// largest coordinate after scaling (exactly `[-1, 1]` after min-max scaling).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Clip {
    /// `x0` as predicted.
    #[default]
    None,
    /// Each coordinate clamped to `[lo, hi]` of its axis (diffusers' `clip_sample`, with the
    /// data's range in place of `[-1, 1]`).
    Static,
    /// After Imagen's dynamic thresholding (Saharia et al. 2022, sec. 2.3), per axis: `s` =
    /// the `clip_quantile` of `|x0|` over the step's points, and each coordinate clamped to
    /// `+-max(s, max(|lo|, |hi|))`, without dividing by `s` (dividing would rescale the
    /// distribution of the points).
    Dynamic,
}

impl Clip {
    /// Every mode, in the order used by docs and error messages.
    pub const ALL: [Clip; 3] = [Clip::None, Clip::Static, Clip::Dynamic];
}

impl SamplingConfig {
    /// The number `K` of reverse steps over a chain of `t_max = T` steps: `steps`, or `T`
    /// when `steps` is 0.
    pub fn effective_steps(&self, t_max: usize) -> usize {
        if self.steps == 0 {
            t_max
        } else {
            self.steps
        }
    }
}

/// The variance `sigma_t^2` of the reverse step `p(x_{t-1} | x_t)` (Ho et al. 2020, sec. 3.2).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum SamplerVariance {
    /// `beta_t (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t)`, zero at `t = 1`.
    Posterior,
    /// `beta_t`.
    Beta,
}

/// How `x_{t-1}` is drawn from `x_t` and the predicted noise.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum SamplerMethod {
    /// Ancestral sampling (Ho et al. 2020, algorithm 2); over `K < T` steps, the respaced
    /// chain of Nichol and Dhariwal 2021, sec. 4.
    #[default]
    Ancestral,
    /// DDIM (Song, Meng and Ermon 2021, eq. 12), with noise scaled by `eta`.
    Ddim,
    /// DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++", algorithm 2): the multistep
    /// second-order solver on the predicted `x0`, as diffusers'
    /// `scheduling_dpmsolver_multistep.py` (`solver_order = 2`, `algorithm_type =
    /// "dpmsolver++"`, `solver_type = "midpoint"`); deterministic.
    #[serde(rename = "dpmpp_2m")]
    DpmSolverPp2m,
}

impl SamplerMethod {
    /// Every method, in the order used by docs and error messages.
    pub const ALL: [SamplerMethod; 3] = [
        SamplerMethod::Ancestral,
        SamplerMethod::Ddim,
        SamplerMethod::DpmSolverPp2m,
    ];
}

/// Which `K` of the `T` steps the reverse process visits, as the `timestep_spacing` of
/// Hugging Face diffusers' schedulers (with `steps_offset = 0`), shifted to our 1-based
/// steps; Lin et al. 2024, table 2, compares them.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Spacing {
    /// `round(linspace(0, T - 1, K)) + 1`, rounding half to even as numpy does.
    #[default]
    Linspace,
    /// `arange(0, K) * (T div K) + 1`: starts at `t = 1`, and ends below `T` when `K` does
    /// not divide `T`.
    Leading,
    /// `round(arange(T, 0, -T / K))`: starts at `t = T`.
    Trailing,
}

impl Spacing {
    /// Every spacing, in the order used by docs and error messages.
    pub const ALL: [Spacing; 3] = [Spacing::Linspace, Spacing::Leading, Spacing::Trailing];
}
