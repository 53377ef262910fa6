//! The resolved configuration of one run: every choice that can change its result.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The largest number of diffusion steps a run may use.
///
/// The post's one-hot time encoder is a learned table with one entry per step; dfdx 0.13
/// needs the table's size at compile time, so it is allocated at this size and only the
/// first `T` entries are ever read.
pub const MAX_STEPS: usize = 10_000;

/// The most training points (`dataset.n`) and samples (`sampling.n_samples`) of a run. A run
/// holds about 3 kB per point of one block of rows (the fused trainer's blocks of 512) and
/// a few dozen bytes per point beyond it: about 80 MB at the limit; the post uses 1000.
pub const MAX_POINTS: usize = 1_000_000;

/// The most training epochs of a run: about 25 minutes at the post's n = 1000 on one
/// core, 200 times the post's 5000.
pub const MAX_EPOCHS: usize = 1_000_000;

/// Everything that determines one training run. Missing fields take the post's defaults.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// The toy data set the model learns.
    pub dataset: DatasetConfig,
    /// How the training data is mapped before the network sees it.
    pub scaling: Scaling,
    /// The number of diffusion steps `T`; steps run `t = 1..=T`.
    #[serde(rename = "T")]
    pub steps: usize,
    /// The variance schedule `beta_1..beta_T`.
    pub schedule: ScheduleConfig,
    /// The noise predictor's architecture.
    pub model: ModelConfig,
    /// The optimiser and the length of training.
    pub training: TrainingConfig,
    /// The reverse process.
    pub sampling: SamplingConfig,
    /// The one seed of the run; data, weights, training noise and sampling noise each
    /// draw from their own stream derived from it.
    pub seed: u64,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            dataset: DatasetConfig::default(),
            scaling: Scaling::MinMax,
            steps: 10,
            schedule: ScheduleConfig::default(),
            model: ModelConfig::default(),
            training: TrainingConfig::default(),
            sampling: SamplingConfig::default(),
            seed: 0,
        }
    }
}

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

/// The family of the beta schedule.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    /// The post's linear schedule: `beta_t = max_beta * t / T`, i.e. `linspace(0, 0.99, T+1)`
    /// with `beta_0 = 0` as a placeholder (Elflein 2022).
    Linear,
    /// The post's polynomial schedule: `beta_t = (max_beta * t / T)^power`, small near
    /// `t = 0` (Elflein 2022; the motivation is Nichol and Dhariwal 2021).
    Polynomial,
    /// DDPM's linear schedule: `linspace(beta_start, beta_end, T)`, 1e-4 to 0.02
    /// (Ho, Jain and Abbeel 2020).
    Ddpm,
    /// The cosine schedule: `alpha_bar(t) = cos^2(((t/T + s) / (1 + s)) pi/2)`, betas
    /// clipped at 0.999 (Nichol and Dhariwal 2021).
    Cosine,
    /// The sigmoid schedule: `alpha_bar(t)` follows a rescaled sigmoid between `start` and
    /// `end` with temperature `tau` (Jabri, Fleet and Chen 2022; Chen 2023).
    Sigmoid,
}

impl ScheduleKind {
    /// Every kind, in the order used by docs and error messages.
    pub const ALL: [ScheduleKind; 5] = [
        ScheduleKind::Linear,
        ScheduleKind::Polynomial,
        ScheduleKind::Ddpm,
        ScheduleKind::Cosine,
        ScheduleKind::Sigmoid,
    ];
}

/// A beta schedule and its parameters. Parameters that the chosen `kind` does not use are
/// ignored, and [`RunConfig::canonical`] resets them so they cannot change a run's identity.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleConfig {
    /// The schedule family.
    pub kind: ScheduleKind,
    /// Exponent of the polynomial schedule (`kind = "polynomial"`), > 0.
    pub power: f64,
    /// Last beta of the post's linear and polynomial schedules before the power, in (0, 1).
    pub max_beta: f64,
    /// First beta of the DDPM schedule, in (0, 1).
    pub beta_start: f64,
    /// Last beta of the DDPM schedule, in [beta_start, 1).
    pub beta_end: f64,
    /// Multiply the DDPM betas by `1000 / T` (capped at 0.999) so short chains still reach
    /// noise, as later DDPM code bases do.
    pub rescale_to_t: bool,
    /// Offset `s` of the cosine schedule, >= 0.
    pub cosine_s: f64,
    /// Start of the sigmoid schedule's input range.
    pub sigmoid_start: f64,
    /// End of the sigmoid schedule's input range, > `sigmoid_start`.
    pub sigmoid_end: f64,
    /// Temperature of the sigmoid schedule, > 0.
    pub sigmoid_tau: f64,
    /// Rescale `sqrt(alpha_bar)` so the last step has (almost) zero signal, keeping the
    /// first step unchanged (Lin et al. 2024). The last beta is capped at 0.999 so the
    /// noise-predicting sampler stays finite. Needs `T >= 2`.
    pub zero_terminal_snr: bool,
    /// With `zero_terminal_snr`, rescale exactly: the last beta is 1 and `alpha_bar_T = 0`
    /// (Lin et al. 2024, algorithm 1, without the cap). Only `model.prediction = "v"` or
    /// `"sample"` can be sampled from there: recovering `x0` from predicted noise divides by
    /// `sqrt(alpha_bar_T) = 0`, so epsilon prediction is refused. Left out of the
    /// serialized config while false.
    #[serde(default, skip_serializing_if = "is_default")]
    pub zero_terminal_snr_exact: bool,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self {
            kind: ScheduleKind::Polynomial,
            power: 4.0,
            max_beta: 0.99,
            beta_start: 1e-4,
            beta_end: 0.02,
            rescale_to_t: false,
            cosine_s: 0.008,
            sigmoid_start: -3.0,
            sigmoid_end: 3.0,
            sigmoid_tau: 1.0,
            zero_terminal_snr: false,
            zero_terminal_snr_exact: false,
        }
    }
}

/// The noise predictor `eps_theta(x_t, t)`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// How the step `t` enters the network.
    pub time_encoding: TimeEncoding,
    /// Negative slope of the LeakyReLU activations (PyTorch's default is 0.01).
    pub leaky_slope: f64,
    /// What the network is trained to predict. Left out of the serialized config while it
    /// is `epsilon`, so runs made before the key existed keep their ids.
    #[serde(default, skip_serializing_if = "is_default")]
    pub prediction: Prediction,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            time_encoding: TimeEncoding::OneHot,
            leaky_slope: 0.01,
            prediction: Prediction::Epsilon,
        }
    }
}

/// The network's training target at `x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps`,
/// as diffusers' `prediction_type` (`scheduling_ddim.py`, `step`); [`crate::prediction`]
/// converts each into `x0` and `eps`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Prediction {
    /// The noise `eps` (Ho et al. 2020), the post's and DDPM's choice.
    #[default]
    Epsilon,
    /// The clean data `x0` (diffusers' `"sample"`).
    Sample,
    /// The velocity `v = sqrt(alpha_bar) eps - sqrt(1 - alpha_bar) x0` (Salimans and Ho 2022,
    /// "Progressive distillation", sec. 4; diffusers' `"v_prediction"`).
    V,
}

impl Prediction {
    /// Every target, in the order used by docs and error messages.
    pub const ALL: [Prediction; 3] = [Prediction::Epsilon, Prediction::Sample, Prediction::V];
}

/// How the diffusion step is given to the network.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum TimeEncoding {
    /// The post's encoder: `one_hot(t - 1)` through a linear layer with one output, i.e.
    /// a learned scalar per step plus a bias, concatenated with `x_t`.
    OneHot,
    /// Sixteen fixed sinusoidal features of the step `t` (8 frequencies, sine and cosine),
    /// as in the transformer position encoding used by Ho et al. 2020.
    Sinusoidal,
}

/// Full-batch AdamW training.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TrainingConfig {
    /// Number of full-batch epochs (one optimiser step each).
    pub epochs: usize,
    /// AdamW learning rate.
    pub lr: f64,
    /// AdamW first-moment decay.
    pub beta1: f64,
    /// AdamW second-moment decay.
    pub beta2: f64,
    /// AdamW epsilon.
    pub eps: f64,
    /// Decoupled weight decay (Loshchilov and Hutter 2019).
    pub weight_decay: f64,
    /// Keep the loss every this many epochs (the first and last epoch are always kept).
    pub loss_every: usize,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        Self {
            epochs: 5000,
            lr: 1e-2,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 1e-4,
            loss_every: 10,
        }
    }
}

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

/// Whether a value is its type's default, for keys that are left out when at their default.
fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
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

impl RunConfig {
    /// The number of samples the run draws.
    pub fn sample_count(&self) -> usize {
        if self.sampling.n_samples == 0 {
            self.dataset.n
        } else {
            self.sampling.n_samples
        }
    }

    /// Checks every value against its allowed range; the error names the key.
    pub fn validate(&self) -> Result<()> {
        fn bad(key: &str, value: impl ToString, allowed: &str) -> Result<()> {
            Err(Error::InvalidConfig {
                key: key.to_string(),
                value: value.to_string(),
                allowed: allowed.to_string(),
            })
        }
        let s = &self.schedule;
        let t = &self.training;
        if self.steps == 0 || self.steps > MAX_STEPS {
            return bad("T", self.steps, "an integer from 1 to 10000");
        }
        if self.dataset.n < 2 || self.dataset.n > MAX_POINTS {
            return bad("dataset.n", self.dataset.n, "an integer from 2 to 1000000");
        }
        if !(self.dataset.noise.is_finite() && self.dataset.noise >= 0.0) {
            return bad("dataset.noise", self.dataset.noise, "a finite number >= 0");
        }
        if !(s.power.is_finite() && s.power > 0.0) {
            return bad("schedule.power", s.power, "a finite number > 0");
        }
        if !(s.max_beta > 0.0 && s.max_beta < 1.0) {
            return bad("schedule.max_beta", s.max_beta, "a number in (0, 1)");
        }
        if !(s.beta_start > 0.0 && s.beta_start < 1.0) {
            return bad("schedule.beta_start", s.beta_start, "a number in (0, 1)");
        }
        if !(s.beta_end >= s.beta_start && s.beta_end < 1.0) {
            return bad(
                "schedule.beta_end",
                s.beta_end,
                "a number in [schedule.beta_start, 1)",
            );
        }
        if !(s.cosine_s.is_finite() && s.cosine_s >= 0.0) {
            return bad("schedule.cosine_s", s.cosine_s, "a finite number >= 0");
        }
        if !(s.sigmoid_start.is_finite()
            && s.sigmoid_end.is_finite()
            && s.sigmoid_end > s.sigmoid_start)
        {
            return bad(
                "schedule.sigmoid_end",
                s.sigmoid_end,
                "a finite number > schedule.sigmoid_start",
            );
        }
        if !(s.sigmoid_tau.is_finite() && s.sigmoid_tau > 0.0) {
            return bad("schedule.sigmoid_tau", s.sigmoid_tau, "a finite number > 0");
        }
        if s.zero_terminal_snr && self.steps < 2 {
            return bad("schedule.zero_terminal_snr", true, "false when T = 1");
        }
        if s.zero_terminal_snr_exact && !s.zero_terminal_snr {
            return bad(
                "schedule.zero_terminal_snr_exact",
                true,
                "false, or true together with schedule.zero_terminal_snr = true",
            );
        }
        if s.zero_terminal_snr_exact && self.model.prediction == Prediction::Epsilon {
            return bad(
                "schedule.zero_terminal_snr_exact",
                true,
                "false when model.prediction = \"epsilon\" (x0 = (x_T - eps) / \
                 sqrt(alpha_bar_T) divides by zero at alpha_bar_T = 0): set \
                 model.prediction = \"v\" or \"sample\", or keep the capped \
                 schedule.zero_terminal_snr alone",
            );
        }
        if !(self.model.leaky_slope.is_finite() && (0.0..1.0).contains(&self.model.leaky_slope)) {
            return bad(
                "model.leaky_slope",
                self.model.leaky_slope,
                "a number in [0, 1)",
            );
        }
        if t.epochs == 0 || t.epochs > MAX_EPOCHS {
            return bad("training.epochs", t.epochs, "an integer from 1 to 1000000");
        }
        if !(t.lr.is_finite() && t.lr > 0.0) {
            return bad("training.lr", t.lr, "a finite number > 0");
        }
        if !(0.0..1.0).contains(&t.beta1) {
            return bad("training.beta1", t.beta1, "a number in [0, 1)");
        }
        if !(0.0..1.0).contains(&t.beta2) {
            return bad("training.beta2", t.beta2, "a number in [0, 1)");
        }
        if !(t.eps.is_finite() && t.eps > 0.0) {
            return bad("training.eps", t.eps, "a finite number > 0");
        }
        if !(t.weight_decay.is_finite() && t.weight_decay >= 0.0) {
            return bad(
                "training.weight_decay",
                t.weight_decay,
                "a finite number >= 0",
            );
        }
        if t.loss_every == 0 {
            return bad("training.loss_every", t.loss_every, "an integer >= 1");
        }
        if self.sampling.n_samples == 1 || self.sampling.n_samples > MAX_POINTS {
            return bad(
                "sampling.n_samples",
                self.sampling.n_samples,
                "0 (as many as the data) or an integer from 2 to 1000000",
            );
        }
        let sampling = &self.sampling;
        if sampling.steps > self.steps {
            return bad(
                "sampling.steps",
                sampling.steps,
                &format!("0 (every step) or an integer from 1 to T = {}", self.steps),
            );
        }
        if !(sampling.eta.is_finite() && (0.0..=1.0).contains(&sampling.eta)) {
            return bad("sampling.eta", sampling.eta, "a number in [0, 1]");
        }
        if !(sampling.clip_quantile > 0.0 && sampling.clip_quantile <= 1.0) {
            return bad(
                "sampling.clip_quantile",
                sampling.clip_quantile,
                "a number in (0, 1]",
            );
        }
        Ok(())
    }

    /// The number `K` of reverse steps the sampler takes (`sampling.steps`, 0 meaning `T`).
    pub fn sampling_steps(&self) -> usize {
        self.sampling.effective_steps(self.steps)
    }

    /// The same run with every parameter the chosen schedule or sampler ignores reset to
    /// its default, so that two configs that train and sample identically compare (and
    /// hash) equal.
    pub fn canonical(&self) -> RunConfig {
        let mut c = self.clone();
        // Asking for as many samples as data points is the default, written out.
        if c.sampling.n_samples == c.dataset.n {
            c.sampling.n_samples = 0;
        }
        // What the chosen sampler ignores, and the spacing when every step is visited.
        let sampling = SamplingConfig::default();
        match c.sampling.method {
            SamplerMethod::Ancestral => c.sampling.eta = sampling.eta,
            SamplerMethod::Ddim => c.sampling.variance = sampling.variance,
            SamplerMethod::DpmSolverPp2m => {
                c.sampling.eta = sampling.eta;
                c.sampling.variance = sampling.variance;
            }
        }
        if c.sampling.clip != Clip::Dynamic {
            c.sampling.clip_quantile = sampling.clip_quantile;
        }
        if c.sampling.steps == c.steps {
            c.sampling.steps = 0;
        }
        if c.sampling.steps == 0 {
            c.sampling.spacing = sampling.spacing;
        }
        let d = ScheduleConfig::default();
        let s = &mut c.schedule;
        if s.kind != ScheduleKind::Polynomial {
            s.power = d.power;
        }
        if !matches!(s.kind, ScheduleKind::Linear | ScheduleKind::Polynomial) {
            s.max_beta = d.max_beta;
        }
        if s.kind != ScheduleKind::Ddpm {
            s.beta_start = d.beta_start;
            s.beta_end = d.beta_end;
            s.rescale_to_t = d.rescale_to_t;
        }
        if s.kind != ScheduleKind::Cosine {
            s.cosine_s = d.cosine_s;
        }
        if s.kind != ScheduleKind::Sigmoid {
            s.sigmoid_start = d.sigmoid_start;
            s.sigmoid_end = d.sigmoid_end;
            s.sigmoid_tau = d.sigmoid_tau;
        }
        c
    }

    /// What the trained model depends on: the canonical config with `sampling` at its
    /// defaults. Two configs with the same model part train the same weights.
    pub fn model_part(&self) -> RunConfig {
        RunConfig {
            sampling: SamplingConfig::default(),
            ..self.canonical()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_posts_setup() {
        let c = RunConfig::default();
        assert_eq!(c.dataset.kind, DatasetKind::Moons);
        assert_eq!(c.scaling, Scaling::MinMax);
        assert_eq!(c.schedule.kind, ScheduleKind::Polynomial);
        assert_eq!(c.schedule.power, 4.0);
        assert_eq!(c.training.epochs, 5000);
        assert_eq!(c.training.lr, 1e-2);
        assert_eq!(c.training.weight_decay, 1e-4);
        assert_eq!(c.model.leaky_slope, 0.01);
        c.validate().unwrap();
    }

    #[test]
    fn invalid_values_name_their_key() {
        type Mutation = Box<dyn Fn(&mut RunConfig)>;
        let cases: Vec<(&str, Mutation)> = vec![
            ("T", Box::new(|c| c.steps = 0)),
            ("T", Box::new(|c| c.steps = MAX_STEPS + 1)),
            ("dataset.n", Box::new(|c| c.dataset.n = 1)),
            ("dataset.noise", Box::new(|c| c.dataset.noise = -1.0)),
            ("schedule.power", Box::new(|c| c.schedule.power = 0.0)),
            ("schedule.power", Box::new(|c| c.schedule.power = f64::NAN)),
            ("schedule.max_beta", Box::new(|c| c.schedule.max_beta = 1.0)),
            (
                "schedule.beta_end",
                Box::new(|c| c.schedule.beta_end = 1e-5),
            ),
            ("training.epochs", Box::new(|c| c.training.epochs = 0)),
            ("training.lr", Box::new(|c| c.training.lr = 0.0)),
            ("sampling.n_samples", Box::new(|c| c.sampling.n_samples = 1)),
            (
                "sampling.steps",
                Box::new(|c| c.sampling.steps = c.steps + 1),
            ),
            ("sampling.eta", Box::new(|c| c.sampling.eta = -0.1)),
            ("sampling.eta", Box::new(|c| c.sampling.eta = 1.5)),
            ("sampling.eta", Box::new(|c| c.sampling.eta = f64::NAN)),
        ];
        for (key, mutate) in cases {
            let mut c = RunConfig::default();
            mutate(&mut c);
            match c.validate() {
                Err(Error::InvalidConfig { key: k, .. }) => assert_eq!(k, key),
                other => panic!("{key}: expected an error, got {other:?}"),
            }
        }
    }

    #[test]
    fn canonical_form_ignores_unused_schedule_parameters() {
        let mut a = RunConfig::default();
        a.schedule.kind = ScheduleKind::Cosine;
        let mut b = a.clone();
        b.schedule.power = 2.0;
        assert_ne!(a, b);
        assert_eq!(a.canonical(), b.canonical());
        let mut c = RunConfig::default();
        c.schedule.power = 2.0;
        assert_ne!(c.canonical(), RunConfig::default().canonical());
        let mut d = RunConfig::default();
        d.sampling.n_samples = d.dataset.n;
        assert_eq!(d.canonical(), RunConfig::default().canonical());
    }

    #[test]
    fn canonical_form_resets_what_the_sampler_ignores() {
        let base = RunConfig::default();
        // Ancestral sampling has no eta; DDIM no ancestral variance.
        let mut a = base.clone();
        a.sampling.eta = 0.5;
        assert_eq!(a.canonical(), base.canonical());
        let mut ddim = base.clone();
        ddim.sampling.method = SamplerMethod::Ddim;
        let mut b = ddim.clone();
        b.sampling.variance = SamplerVariance::Beta;
        assert_eq!(b.canonical(), ddim.canonical());
        let mut c = ddim.clone();
        c.sampling.eta = 0.5;
        assert_ne!(c.canonical(), ddim.canonical());
        // K = T is every step, written out, whatever the spacing.
        let mut d = base.clone();
        d.sampling.steps = d.steps;
        d.sampling.spacing = Spacing::Trailing;
        assert_eq!(d.canonical(), base.canonical());
        assert_eq!(d.sampling_steps(), 10);
        // With fewer steps the spacing matters.
        let mut e = base.clone();
        e.sampling.steps = 3;
        let mut f = e.clone();
        f.sampling.spacing = Spacing::Leading;
        assert_ne!(e.canonical(), f.canonical());
        assert_eq!(e.sampling_steps(), 3);
    }

    #[test]
    fn sampler_keys_are_left_out_at_their_defaults() {
        // The TOML of the default config, as it was before the sampler keys existed.
        let before = toml::to_string(&RunConfig::default()).unwrap();
        assert!(before.contains("[sampling]\nvariance = \"posterior\"\nn_samples = 0\n"));
        assert!(!before.contains("\nmethod =") && !before.contains("\neta ="));
        let mut c = RunConfig::default();
        c.sampling.method = SamplerMethod::Ddim;
        c.sampling.steps = 4;
        c.sampling.spacing = Spacing::Trailing;
        c.sampling.eta = 0.5;
        let text = toml::to_string(&c).unwrap();
        assert!(text.contains("method = \"ddim\"\nsteps = 4\nspacing = \"trailing\"\neta = 0.5\n"));
        assert_eq!(toml::from_str::<RunConfig>(&text).unwrap(), c);
    }

    #[test]
    fn partial_toml_takes_defaults_and_rejects_unknown_keys() {
        let c: RunConfig = toml::from_str("T = 100\n[schedule]\nkind = \"cosine\"\n").unwrap();
        assert_eq!(c.steps, 100);
        assert_eq!(c.schedule.kind, ScheduleKind::Cosine);
        assert_eq!(c.training.epochs, 5000);
        assert!(toml::from_str::<RunConfig>("[schedule]\npowr = 2.0\n").is_err());
    }
}
