//! The reverse process from the trained network: ancestral sampling (Ho et al. 2020,
//! algorithm 2), respaced over `K <= T` steps (Nichol and Dhariwal 2021, sec. 4), DDIM
//! (Song, Meng and Ermon 2021, eq. 12) and DPM-Solver++(2M) (Lu et al. 2022), for every
//! prediction target, with the predicted `x0` optionally clipped.
//!
//! One loop ([`ReverseProcess`]) runs every sampler: it asks a [`NoiseModel`] for the
//! network's output at each visited step, converts it into `x0` and `eps`
//! ([`crate::prediction::to_x0_eps`]), clips `x0` as `sampling.clip` says, and applies that
//! step's precomputed update, so the trained network and the analytic predictors of the
//! tests go through the same arithmetic.

use rand_distr::{Distribution, StandardNormal};

use crate::{
    config::{Clip, Prediction, SamplerMethod, SamplerVariance, SamplingConfig, Spacing},
    fused::{
        network::{PackedWeights, ROWS_PER_BLOCK},
        Activations, FusedNet, Steps,
    },
    prediction::to_x0_eps,
    rng::StreamRng,
    schedule::Schedule,
    Point,
};

/// The buffers of the network's forward pass, made once per sampling run.
#[derive(Clone, Debug, Default)]
pub struct Scratch {
    acts: Activations,
    input: Vec<f32>,
}

/// Fills `scratch.input` with `x` (model space) as f32 pairs.
fn fill_input(scratch: &mut Scratch, x: &[Point]) {
    scratch.input.clear();
    scratch
        .input
        .extend(x.iter().flat_map(|p| [p[0] as f32, p[1] as f32]));
}

/// The network's output for every point of `x` (model space) at one step `t` in `1..=T`,
/// into `scratch`, as f32 pairs.
fn predict_into<'a>(net: &FusedNet, scratch: &'a mut Scratch, x: &[Point], t: usize) -> &'a [f32] {
    fill_input(scratch, x);
    net.forward(&mut scratch.acts, &scratch.input, Steps::Same(t))
}

/// The network's output (its prediction target: noise, `x0` or `v`) for every point of `x`
/// (model space) at one step `t` in `1..=T`.
pub fn predict_output(net: &FusedNet, x: &[Point], t: usize) -> Vec<Point> {
    let mut scratch = Scratch::default();
    predict_into(net, &mut scratch, x, t)
        .chunks_exact(2)
        .map(|e| [e[0] as f64, e[1] as f64])
        .collect()
}

/// A network the reverse process can query.
pub trait NoiseModel {
    /// Writes the output at step `t` in `1..=T` (in the model's prediction target) for every
    /// point of `x` (model space) into `out`, replacing what it held.
    fn predict(&mut self, x: &[Point], t: usize, out: &mut Vec<Point>);
}

/// Any `FnMut(x, t, out)` closure is a noise model (the tests' analytic predictors).
impl<F: FnMut(&[Point], usize, &mut Vec<Point>)> NoiseModel for F {
    fn predict(&mut self, x: &[Point], t: usize, out: &mut Vec<Point>) {
        self(x, t, out)
    }
}

/// The trained network as a [`NoiseModel`], with its forward-pass buffers and its weights
/// packed once for every reverse step.
pub struct Network<'a> {
    net: &'a FusedNet,
    weights: PackedWeights,
    scratch: Scratch,
}

impl<'a> Network<'a> {
    /// Wraps `net` with fresh buffers.
    pub fn new(net: &'a FusedNet) -> Network<'a> {
        let mut weights = PackedWeights::default();
        net.pack_weights(&mut weights);
        Network {
            net,
            weights,
            scratch: Scratch::default(),
        }
    }
}

impl NoiseModel for Network<'_> {
    fn predict(&mut self, x: &[Point], t: usize, out: &mut Vec<Point>) {
        // Block by block, as training runs, so the activations stay in cache (each point's
        // prediction is its own). f32 to f64 is exact, so the update sees the network's
        // values unchanged.
        out.clear();
        for block in x.chunks(ROWS_PER_BLOCK) {
            fill_input(&mut self.scratch, block);
            let Scratch { acts, input } = &mut self.scratch;
            let values = self
                .net
                .forward_packed(acts, input, Steps::Same(t), &self.weights);
            out.extend(
                values
                    .chunks_exact(2)
                    .map(|e| [f64::from(e[0]), f64::from(e[1])]),
            );
        }
    }
}

/// The 1-based steps `t` that a reverse process of `k` steps over `t_max = T` visits, in
/// the order it visits them (descending). These are diffusers' `timestep_spacing` tables
/// (`steps_offset = 0`) plus one, since diffusers counts steps from 0:
///
/// - `linspace`: `round(linspace(0, T - 1, K))`, numpy's rounding (half to even);
/// - `leading`: `arange(0, K) * (T div K)`;
/// - `trailing`: `round(arange(T, 0, -T / K)) - 1`, the first `K` values.
///
/// Each is strictly monotone for `1 <= k <= T` (consecutive values are at least one
/// apart before rounding), so no step repeats; `k = T` gives `T, T - 1, ..., 1` for
/// every spacing. Panics unless `1 <= k <= t_max`, which [`crate::RunConfig::validate`]
/// guarantees.
pub fn timesteps(t_max: usize, k: usize, spacing: Spacing) -> Vec<usize> {
    assert!(
        (1..=t_max).contains(&k),
        "a reverse process of {k} steps over T = {t_max} steps"
    );
    let zero_based: Vec<usize> = match spacing {
        Spacing::Linspace => {
            // numpy's linspace: i * step, with the last point exactly the end point, and a
            // single point at the start.
            let end = (t_max - 1) as f64;
            if k == 1 {
                vec![0]
            } else {
                let step = end / (k - 1) as f64;
                (0..k)
                    .map(|i| {
                        let value = if i == k - 1 { end } else { i as f64 * step };
                        value.round_ties_even() as usize
                    })
                    .collect()
            }
        }
        Spacing::Leading => {
            let ratio = t_max / k;
            (0..k).map(|i| i * ratio).collect()
        }
        Spacing::Trailing => {
            // numpy's arange: the first two values, then start + i * (second - first).
            let start = t_max as f64;
            let delta = (start - start / k as f64) - start;
            (0..k)
                .map(|i| (start + i as f64 * delta).round_ties_even() as usize - 1)
                .collect()
        }
    };
    let mut steps: Vec<usize> = zero_based.into_iter().map(|t| t + 1).collect();
    steps.sort_unstable_by(|a, b| b.cmp(a));
    steps
}

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
enum Clipping {
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
    fn new(config: &SamplingConfig, range: DataRange) -> Clipping {
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
    fn apply(&self, x0: &mut [Point], scratch: &mut Vec<f64>) {
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

/// One reverse step for one coordinate, with everything that depends only on the step
/// precomputed.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Update {
    /// `x_prev = (x - eps_coef eps) inv_sqrt_alpha + sigma z` (Ho et al. 2020, eq. 11,
    /// with the respaced betas): epsilon prediction without clipping, today's arithmetic.
    Ancestral {
        inv_sqrt_alpha: f64,
        eps_coef: f64,
        sigma: f64,
    },
    /// The same step in its `x0` form, `x_prev = x0_coef x0 + xt_coef x + sigma z` (Ho et al.
    /// 2020, eq. 7; diffusers' `scheduling_ddpm.py`, `step`), for every other target and
    /// for clipped `x0`.
    Posterior {
        x0_coef: f64,
        xt_coef: f64,
        sigma: f64,
    },
    /// `x_prev = prev_signal_scale x0 + prev_eps_coef eps + sigma z` (Song et al. 2021,
    /// eq. 12).
    Ddim {
        prev_signal_scale: f64,
        prev_eps_coef: f64,
        sigma: f64,
    },
    /// DPM-Solver++ from `s` to `t`, with `h = lambda_t - lambda_s`:
    /// `x_t = (sigma_t / sigma_s) x - coef D0 - 0.5 coef D1`, `coef = alpha_t (exp(-h) - 1)`,
    /// `D0 = x0`, and `D1 = (x0 - x0_prev) / r0` with `r0 = h_prev / h` at second order,
    /// 0 at first (Lu et al. 2022, algorithm 2; diffusers'
    /// `multistep_dpm_solver_second_order_update`, midpoint).
    DpmSolver {
        ratio: f64,
        coef: f64,
        /// `1 / r0` at second order; `None` at first.
        inv_r0: Option<f64>,
    },
}

impl Update {
    /// `x_prev` for one coordinate `x`, with the step's predicted `x0` (clipped) and `eps`,
    /// the previous step's `x0` (for the multistep solver) and a standard normal `z`.
    fn apply(&self, x: f64, x0: f64, eps: f64, prev_x0: f64, z: f64) -> f64 {
        match *self {
            Update::Ancestral {
                inv_sqrt_alpha,
                eps_coef,
                sigma,
            } => (x - eps_coef * eps) * inv_sqrt_alpha + sigma * z,
            Update::Posterior {
                x0_coef,
                xt_coef,
                sigma,
            } => x0_coef * x0 + xt_coef * x + sigma * z,
            Update::Ddim {
                prev_signal_scale,
                prev_eps_coef,
                sigma,
            } => prev_signal_scale * x0 + prev_eps_coef * eps + sigma * z,
            Update::DpmSolver {
                ratio,
                coef,
                inv_r0,
            } => match inv_r0 {
                None => ratio * x - coef * x0,
                Some(inv_r0) => {
                    let d1 = inv_r0 * (x0 - prev_x0);
                    ratio * x - coef * x0 - 0.5 * coef * d1
                }
            },
        }
    }
}

/// One visited step: where the network is evaluated, how its output becomes `x0` and
/// `eps`, the update, and whether it draws noise.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Step {
    /// The step `t = tau_i` in `1..=T` the network sees.
    t: usize,
    /// `sqrt(alpha_bar)` and `sqrt(1 - alpha_bar)` at this step, for
    /// [`to_x0_eps`].
    signal: f64,
    noise: f64,
    update: Update,
    /// Whether `z` is drawn; when not, `z = 0`.
    draws: bool,
}

impl Step {
    /// One coordinate's step from the network's `output`, without clipping (the tests'
    /// closed forms).
    #[cfg(test)]
    fn apply_unclipped(&self, prediction: Prediction, x: f64, output: f64, z: f64) -> f64 {
        let (x0, eps) = to_x0_eps(prediction, x, output, self.signal, self.noise);
        self.update.apply(x, x0, eps, 0.0, z)
    }
}

/// `alpha_bar` floor of the multistep solver where the schedule reaches exactly zero
/// signal: diffusers' `scheduling_dpmsolver_multistep.py` sets `alphas_cumprod[-1] =
/// 2**-24` under `rescale_betas_zero_snr`, so that `lambda = log(alpha / sigma)` stays
/// finite. Used by DPM-Solver++ alone, at that step alone.
pub const DPM_ZERO_SNR_FLOOR: f64 = 1.0 / 16_777_216.0;

/// The reverse process of one [`SamplingConfig`] over one [`Schedule`]: the visited steps
/// and their updates, computed once.
///
/// For the visited steps `tau_1 < ... < tau_K` the chain runs on the respaced schedule
/// ([`Schedule::respaced`]): step `i` (from `K` down to 1) evaluates the network at
/// `t = tau_i` and uses `alpha_bar'_i = alpha_bar_{tau_i}`, `alpha_bar'_0 = 1`. The output
/// becomes `x0` and `eps` through [`to_x0_eps`], and `x0` is clipped as `sampling.clip`
/// says.
///
/// - Ancestral: `x_{i-1} = (x_i - beta'_i / sqrt(1 - alpha_bar'_i) eps) / sqrt(1 -
///   beta'_i) + sigma_i z` with `sigma_i^2` the posterior variance
///   `beta'_i (1 - alpha_bar'_{i-1}) / (1 - alpha_bar'_i)` or `beta'_i`, and no noise at
///   `i = 1`. With every step visited this is Ho et al.'s algorithm 2, bit for bit. For
///   other targets or a clipped `x0` it is computed in its `x0` form, `x_{i-1} =
///   sqrt(alpha_bar'_{i-1}) beta'_i / (1 - alpha_bar'_i) x0 + sqrt(alpha'_i) (1 -
///   alpha_bar'_{i-1}) / (1 - alpha_bar'_i) x_i + sigma_i z`.
/// - DDIM: `sigma_i = eta sqrt((1 - alpha_bar'_{i-1}) / (1 - alpha_bar'_i)) sqrt(1 -
///   alpha_bar'_i / alpha_bar'_{i-1})` (that is, `eta` times the posterior standard
///   deviation), `x_{i-1} = sqrt(alpha_bar'_{i-1}) x0 + sqrt(1 - alpha_bar'_{i-1} -
///   sigma_i^2) eps + sigma_i z`; the last step returns `x0`. Noise is drawn only where
///   `sigma_i > 0`.
/// - DPM-Solver++(2M): `alpha = sqrt(alpha_bar')`, `sigma = sqrt(1 - alpha_bar')`, `lambda
///   = ln alpha - ln sigma` (infinite at `alpha_bar'_0 = 1`, where the last step returns
///   `x0`); the first step is first order, and so is the last (diffusers'
///   `lower_order_final`, which for K < 15 asks for it and with a final sigma of zero,
///   as ours always is, always takes it); every other step is second order. It runs on
///   our timestep tables, not on diffusers' own table of `K + 1` points.
///
/// `z` is drawn point by point, axis 0 then axis 1.
#[derive(Clone, Debug, PartialEq)]
pub struct ReverseProcess {
    steps: Vec<Step>,
    prediction: Prediction,
    clipping: Clipping,
}

impl ReverseProcess {
    /// The reverse process that `config` describes over `schedule`, for a network that
    /// predicts `prediction`, clipping `x0` (if `config.clip` says so) by `range`, the
    /// scaled training set's.
    pub fn new(
        schedule: &Schedule,
        config: &SamplingConfig,
        prediction: Prediction,
        range: DataRange,
    ) -> ReverseProcess {
        let t_max = schedule.steps();
        let descending = timesteps(t_max, config.effective_steps(t_max), config.spacing);
        let ascending: Vec<usize> = descending.iter().rev().copied().collect();
        let chain = schedule.respaced(&ascending);
        let eps_form = prediction == Prediction::Epsilon && config.clip == Clip::None;
        let k = ascending.len();
        // DPM-Solver++'s alpha, sigma and lambda at chain index i, with the zero-SNR floor.
        let dpm = |i: usize| -> (f64, f64, f64) {
            let (alpha_bar, one_minus) = if chain.alpha_bar[i] == 0.0 && i > 0 {
                (DPM_ZERO_SNR_FLOOR, 1.0 - DPM_ZERO_SNR_FLOOR)
            } else {
                (chain.alpha_bar[i], chain.one_minus_alpha_bar[i])
            };
            let (alpha, sigma) = (alpha_bar.sqrt(), one_minus.sqrt());
            (alpha, sigma, alpha.ln() - sigma.ln())
        };
        let steps = ascending
            .iter()
            .enumerate()
            .map(|(index, &t)| {
                let i = index + 1;
                let ancestral_sigma = match (i > 1, config.variance) {
                    (false, _) => 0.0,
                    (true, SamplerVariance::Posterior) => chain.posterior_variance[i].sqrt(),
                    (true, SamplerVariance::Beta) => chain.betas[i].sqrt(),
                };
                let (signal, noise) = (chain.signal_scale(i), chain.noise_scale(i));
                match config.method {
                    SamplerMethod::Ancestral if eps_form => {
                        let (inv_sqrt_alpha, eps_coef) = chain.mean_coefficients(i);
                        Step {
                            t,
                            signal,
                            noise,
                            update: Update::Ancestral {
                                inv_sqrt_alpha,
                                eps_coef,
                                sigma: ancestral_sigma,
                            },
                            draws: i > 1,
                        }
                    }
                    SamplerMethod::Ancestral => {
                        let one_minus = chain.one_minus_alpha_bar[i];
                        Step {
                            t,
                            signal,
                            noise,
                            update: Update::Posterior {
                                x0_coef: chain.signal_scale(i - 1) * chain.betas[i] / one_minus,
                                xt_coef: chain.alphas[i].sqrt() * chain.one_minus_alpha_bar[i - 1]
                                    / one_minus,
                                sigma: ancestral_sigma,
                            },
                            draws: i > 1,
                        }
                    }
                    SamplerMethod::Ddim => {
                        // sigma^2 = eta^2 (1 - abar'_{i-1}) / (1 - abar'_i) (1 - abar'_i /
                        // abar'_{i-1}) is eta^2 times the posterior variance; zero at i = 1.
                        let variance = config.eta * config.eta * chain.posterior_variance[i];
                        let sigma = variance.sqrt();
                        Step {
                            t,
                            signal,
                            noise,
                            update: Update::Ddim {
                                prev_signal_scale: chain.signal_scale(i - 1),
                                prev_eps_coef: (chain.one_minus_alpha_bar[i - 1] - variance)
                                    .max(0.0)
                                    .sqrt(),
                                sigma,
                            },
                            draws: sigma > 0.0,
                        }
                    }
                    SamplerMethod::DpmSolverPp2m => {
                        let (alpha_s, sigma_s, lambda_s) = dpm(i);
                        let (alpha_t, sigma_t, lambda_t) = dpm(i - 1);
                        let h = lambda_t - lambda_s;
                        let second_order = i < k && i > 1;
                        let inv_r0 = second_order.then(|| {
                            let (_, _, lambda_prev) = dpm(i + 1);
                            h / (lambda_s - lambda_prev)
                        });
                        Step {
                            t,
                            signal: alpha_s,
                            noise: sigma_s,
                            update: Update::DpmSolver {
                                ratio: sigma_t / sigma_s,
                                coef: alpha_t * (-h).exp_m1(),
                                inv_r0,
                            },
                            draws: false,
                        }
                    }
                }
            })
            .rev()
            .collect();
        ReverseProcess {
            steps,
            prediction,
            clipping: Clipping::new(config, range),
        }
    }

    /// The steps `t` the network is evaluated at, in the order they are visited.
    pub fn timesteps(&self) -> Vec<usize> {
        self.steps.iter().map(|s| s.t).collect()
    }

    /// Runs the chain from `x` (the state at the first visited step, model space) to the
    /// samples, calling `visit` with the state after every step.
    pub fn run(
        &self,
        model: &mut impl NoiseModel,
        mut x: Vec<Point>,
        rng: &mut StreamRng,
        mut visit: impl FnMut(&[Point]),
    ) -> Vec<Point> {
        let n = x.len();
        let mut output = Vec::with_capacity(n);
        let mut x0 = vec![[0.0; 2]; n];
        let mut eps = vec![[0.0; 2]; n];
        let mut prev_x0 = vec![[0.0; 2]; n];
        let mut magnitudes = Vec::new();
        for step in &self.steps {
            model.predict(&x, step.t, &mut output);
            if let Update::Ancestral { .. } = step.update {
                // The eps form reads the predicted noise as it is: no x0 to form or clip,
                // the same work per point as before the other targets existed.
                apply_step(step, &mut x, &x0, &output, &prev_x0, rng);
                visit(&x);
                continue;
            }
            for ((p, o), (x0, eps)) in x.iter().zip(&output).zip(x0.iter_mut().zip(&mut eps)) {
                for axis in 0..2 {
                    (x0[axis], eps[axis]) =
                        to_x0_eps(self.prediction, p[axis], o[axis], step.signal, step.noise);
                }
            }
            self.clipping.apply(&mut x0, &mut magnitudes);
            apply_step(step, &mut x, &x0, &eps, &prev_x0, rng);
            std::mem::swap(&mut x0, &mut prev_x0);
            visit(&x);
        }
        x
    }
}

/// Applies one step to every point, drawing `z` point by point, axis 0 then 1.
fn apply_step(
    step: &Step,
    x: &mut [Point],
    x0: &[Point],
    eps: &[Point],
    prev_x0: &[Point],
    rng: &mut StreamRng,
) {
    for (i, p) in x.iter_mut().enumerate() {
        for axis in 0..2 {
            let z: f64 = if step.draws {
                StandardNormal.sample(rng)
            } else {
                0.0
            };
            p[axis] = step
                .update
                .apply(p[axis], x0[i][axis], eps[i][axis], prev_x0[i][axis], z);
        }
    }
}

/// `n` points of `N(0, I)`, drawn point by point, axis 0 then 1.
fn initial_noise(n: usize, rng: &mut StreamRng) -> Vec<Point> {
    (0..n)
        .map(|_| [StandardNormal.sample(rng), StandardNormal.sample(rng)])
        .collect()
}

/// Draws `n` samples (model space) from `net` with `process`: `x_T ~ N(0, I)`, then
/// its `K` reverse steps.
pub fn sample(
    net: &FusedNet,
    process: &ReverseProcess,
    n: usize,
    rng: &mut StreamRng,
) -> Vec<Point> {
    let x = initial_noise(n, rng);
    process.run(&mut Network::new(net), x, rng, |_| {})
}

/// Like [`sample`], keeping every state: entry `k` is the state after `k` of the `K`
/// reverse steps (model space), so the first entry is the initial noise `x_T` and the
/// last the samples; with every step visited, entry `k` is `x_{T-k}`. Draws the same
/// numbers as [`sample`], so its last entry equals `sample`'s output for the same stream.
pub fn trajectory(
    net: &FusedNet,
    process: &ReverseProcess,
    n: usize,
    rng: &mut StreamRng,
) -> Vec<Vec<Point>> {
    let x = initial_noise(n, rng);
    let mut states = vec![x.clone()];
    process.run(&mut Network::new(net), x, rng, |x| states.push(x.to_vec()));
    states
}

#[cfg(test)]
mod fewstep_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{init::initial_weights, rng, ModelConfig, ScheduleConfig, ScheduleKind};

    fn network(steps: usize) -> FusedNet {
        let config = ModelConfig::default();
        let init = initial_weights(&config, steps, 0);
        FusedNet::from_named(&config, steps, &init).unwrap()
    }

    fn schedule(kind: ScheduleKind, steps: usize) -> Schedule {
        let config = ScheduleConfig {
            kind,
            ..ScheduleConfig::default()
        };
        Schedule::new(&config, steps).unwrap()
    }

    /// The reverse process of an epsilon-predicting network, unclipped.
    fn eps_process(schedule: &Schedule, config: &SamplingConfig) -> ReverseProcess {
        ReverseProcess::new(schedule, config, Prediction::Epsilon, DataRange::UNIT)
    }

    fn sampling(method: SamplerMethod, steps: usize, spacing: Spacing, eta: f64) -> SamplingConfig {
        SamplingConfig {
            method,
            steps,
            spacing,
            eta,
            ..SamplingConfig::default()
        }
    }

    /// The sampler as it was before respacing and DDIM, kept verbatim as the reference
    /// that the ancestral sampler over every step must reproduce bit for bit.
    mod reference {
        use super::super::*;

        fn sigma(schedule: &Schedule, variance: SamplerVariance, t: usize) -> f64 {
            match variance {
                SamplerVariance::Posterior => schedule.posterior_variance[t].sqrt(),
                SamplerVariance::Beta => schedule.betas[t].sqrt(),
            }
        }

        fn reverse_step(
            net: &FusedNet,
            schedule: &Schedule,
            variance: SamplerVariance,
            x: &mut [Point],
            t: usize,
            rng: &mut StreamRng,
            scratch: &mut Scratch,
        ) {
            let eps = predict_into(net, scratch, x, t);
            let (inv_sqrt_alpha, eps_coef) = schedule.mean_coefficients(t);
            let sigma = if t > 1 {
                sigma(schedule, variance, t)
            } else {
                0.0
            };
            for (p, e) in x.iter_mut().zip(eps.chunks_exact(2)) {
                for axis in 0..2 {
                    let mean = (p[axis] - eps_coef * f64::from(e[axis])) * inv_sqrt_alpha;
                    let z: f64 = if t > 1 {
                        StandardNormal.sample(rng)
                    } else {
                        0.0
                    };
                    p[axis] = mean + sigma * z;
                }
            }
        }

        pub fn trajectory(
            net: &FusedNet,
            schedule: &Schedule,
            variance: SamplerVariance,
            n: usize,
            rng: &mut StreamRng,
        ) -> Vec<Vec<Point>> {
            let mut x = initial_noise(n, rng);
            let mut states = vec![x.clone()];
            let mut scratch = Scratch::default();
            for t in (1..=schedule.steps()).rev() {
                reverse_step(net, schedule, variance, &mut x, t, rng, &mut scratch);
                states.push(x.clone());
            }
            states
        }
    }

    #[test]
    fn ancestral_over_every_step_is_bit_identical_to_the_original_sampler() {
        for (kind, steps) in [
            (ScheduleKind::Polynomial, 10),
            (ScheduleKind::Polynomial, 1),
            (ScheduleKind::Linear, 7),
            (ScheduleKind::Cosine, 40),
            (ScheduleKind::Ddpm, 25),
        ] {
            let schedule = schedule(kind, steps);
            let model = network(steps);
            for variance in [SamplerVariance::Posterior, SamplerVariance::Beta] {
                // steps = 0 and steps = T with any spacing all mean every step.
                for (k, spacing) in [(0, Spacing::Linspace), (steps, Spacing::Trailing)] {
                    let config = SamplingConfig {
                        variance,
                        steps: k,
                        spacing,
                        ..SamplingConfig::default()
                    };
                    let mut r1 = rng::stream(3, rng::Stream::Sampling);
                    let mut r2 = rng::stream(3, rng::Stream::Sampling);
                    // More points than a block of rows at T = 10, so blocks are covered.
                    let points = if steps == 10 {
                        ROWS_PER_BLOCK + 100
                    } else {
                        64
                    };
                    let want = reference::trajectory(&model, &schedule, variance, points, &mut r1);
                    let got = trajectory(&model, &eps_process(&schedule, &config), points, &mut r2);
                    let label = format!("{kind:?} T={steps} {variance:?} K={k}");
                    let bits = |states: &[Vec<Point>]| -> Vec<u64> {
                        states
                            .iter()
                            .flatten()
                            .flat_map(|p| [p[0].to_bits(), p[1].to_bits()])
                            .collect()
                    };
                    assert_eq!(bits(&got), bits(&want), "{label}");
                    // Both consumed the same numbers from the stream.
                    assert_eq!(r1.get_word_pos(), r2.get_word_pos(), "{label}");
                }
            }
        }
    }

    #[test]
    fn trajectory_ends_where_sample_ends() {
        let schedule = Schedule::new(&ScheduleConfig::default(), 10).unwrap();
        let model = network(10);
        for config in [
            SamplingConfig::default(),
            sampling(SamplerMethod::Ancestral, 4, Spacing::Leading, 0.0),
            sampling(SamplerMethod::Ddim, 3, Spacing::Trailing, 0.5),
        ] {
            let mut r1 = rng::stream(5, rng::Stream::Sampling);
            let mut r2 = rng::stream(5, rng::Stream::Sampling);
            let s = sample(&model, &eps_process(&schedule, &config), 50, &mut r1);
            let tr = trajectory(&model, &eps_process(&schedule, &config), 50, &mut r2);
            assert_eq!(tr.len(), config.effective_steps(10) + 1);
            assert_eq!(tr.last().unwrap(), &s);
        }
    }

    #[test]
    fn spacing_tables_match_diffusers() {
        use Spacing::{Leading, Linspace, Trailing};
        // By hand from diffusers' definitions (0-based there), plus one.
        let cases: [(usize, usize, Spacing, Vec<usize>); 15] = [
            // linspace(0, 999, 10) = 0, 111, ..., 999.
            (
                1000,
                10,
                Linspace,
                (0..10).map(|i| 999 - 111 * i + 1).collect(),
            ),
            // arange(0, 10) * 100.
            (
                1000,
                10,
                Leading,
                (0..10).map(|i| 900 - 100 * i + 1).collect(),
            ),
            // arange(1000, 0, -100) - 1 = 999, 899, ..., 99.
            (
                1000,
                10,
                Trailing,
                (0..10).map(|i| 1000 - 100 * i).collect(),
            ),
            // linspace(0, 9, 3) = 0, 4.5, 9; numpy rounds 4.5 to 4.
            (10, 3, Linspace, vec![10, 5, 1]),
            // arange(0, 3) * (10 div 3) = 0, 3, 6: never reaches T.
            (10, 3, Leading, vec![7, 4, 1]),
            // arange(10, 0, -10/3) = 10, 6.67, 3.33, rounded 10, 7, 3, minus 1.
            (10, 3, Trailing, vec![10, 7, 3]),
            // arange(10, 0, -2.5) = 10, 7.5, 5, 2.5, rounded half to even 10, 8, 5, 2.
            (10, 4, Trailing, vec![10, 8, 5, 2]),
            (10, 4, Linspace, vec![10, 7, 4, 1]),
            (10, 4, Leading, vec![7, 5, 3, 1]),
            // linspace(0, 5, 3) = 0, 2.5, 5: 2.5 rounds to 2 (round half away would give 3).
            (6, 3, Linspace, vec![6, 3, 1]),
            // linspace(0, 49, 4) = 0, 16.33, 32.67, 49.
            (50, 4, Linspace, vec![50, 34, 17, 1]),
            // One step: linspace and leading give 0, trailing T - 1.
            (10, 1, Linspace, vec![1]),
            (10, 1, Leading, vec![1]),
            (10, 1, Trailing, vec![10]),
            (1, 1, Trailing, vec![1]),
        ];
        for (t_max, k, spacing, want) in cases {
            assert_eq!(
                timesteps(t_max, k, spacing),
                want,
                "T={t_max} K={k} {spacing:?}"
            );
        }
    }

    #[test]
    fn every_spacing_gives_k_distinct_descending_steps() {
        for t_max in (1..=150).chain([999, 1000, 1001, 4096, 10_000]) {
            let ks: Vec<usize> = if t_max <= 150 {
                (1..=t_max).collect()
            } else {
                (1..=t_max).step_by(7).chain([t_max - 1, t_max]).collect()
            };
            for k in ks {
                for spacing in Spacing::ALL {
                    let steps = timesteps(t_max, k, spacing);
                    let label = format!("T={t_max} K={k} {spacing:?}");
                    assert_eq!(steps.len(), k, "{label}");
                    assert!(steps.windows(2).all(|w| w[0] > w[1]), "{label}");
                    assert!(steps[k - 1] >= 1 && steps[0] <= t_max, "{label}");
                    if k == t_max {
                        assert_eq!(steps, (1..=t_max).rev().collect::<Vec<_>>(), "{label}");
                    }
                }
            }
        }
    }

    #[test]
    fn respaced_chain_reaches_alpha_bar_of_its_last_visited_step() {
        let schedule = schedule(ScheduleKind::Ddpm, 1000);
        for spacing in Spacing::ALL {
            for k in [1, 10, 37, 999] {
                let mut ascending = timesteps(1000, k, spacing);
                ascending.reverse();
                let chain = schedule.respaced(&ascending);
                let want = schedule.alpha_bar[ascending[k - 1]];
                let product: f64 = chain.alphas[1..].iter().product();
                assert!(
                    (product / want - 1.0).abs() < 1e-12,
                    "{spacing:?} K={k}: {product} vs {want}"
                );
                // 1 - beta'_i itself: a beta' near 1 carries its absolute rounding error
                // (1e-16) into 1 - beta', so the tolerance grows as 1 - beta' shrinks.
                let product: f64 = chain.betas[1..].iter().map(|b| 1.0 - b).product();
                let smallest = chain.alphas[1..].iter().copied().fold(1.0, f64::min);
                assert!(
                    (product / want - 1.0).abs() < 1e-14 * k as f64 / smallest,
                    "{spacing:?} K={k}: {product} vs {want}"
                );
            }
        }
    }

    /// An update as `x_prev = a x + b eps + c z`, read off at unit inputs.
    pub(super) fn linear_form(step: &Step) -> [f64; 3] {
        [
            step.apply_unclipped(Prediction::Epsilon, 1.0, 0.0, 0.0),
            step.apply_unclipped(Prediction::Epsilon, 0.0, 1.0, 0.0),
            step.apply_unclipped(Prediction::Epsilon, 0.0, 0.0, 1.0),
        ]
    }

    #[test]
    fn ddim_with_eta_one_is_ancestral_sampling_with_the_posterior_variance() {
        for (kind, steps) in [
            (ScheduleKind::Polynomial, 10),
            (ScheduleKind::Ddpm, 1000),
            (ScheduleKind::Cosine, 50),
        ] {
            let schedule = schedule(kind, steps);
            let ancestral = ReverseProcess::new(
                &schedule,
                &SamplingConfig::default(),
                Prediction::Epsilon,
                DataRange::UNIT,
            );
            let ddim = ReverseProcess::new(
                &schedule,
                &sampling(SamplerMethod::Ddim, 0, Spacing::Linspace, 1.0),
                Prediction::Epsilon,
                DataRange::UNIT,
            );
            assert_eq!(ancestral.steps.len(), ddim.steps.len());
            for (a, d) in ancestral.steps.iter().zip(&ddim.steps) {
                assert_eq!((a.t, a.draws), (d.t, d.draws));
                for (x, y) in linear_form(a).iter().zip(linear_form(d)) {
                    assert!(
                        (x - y).abs() <= 1e-12 * x.abs().max(1.0),
                        "{kind:?} T={steps} t={}: {:?} vs {:?}",
                        a.t,
                        a.update,
                        d.update
                    );
                }
            }
        }
    }

    #[test]
    fn ddim_steps_follow_the_closed_form() {
        // T = 4 of the post's linear schedule, K = 2 trailing steps: tau = (2, 4).
        let schedule = schedule(ScheduleKind::Linear, 4);
        let eta = 0.5;
        let process = ReverseProcess::new(
            &schedule,
            &sampling(SamplerMethod::Ddim, 2, Spacing::Trailing, eta),
            Prediction::Epsilon,
            DataRange::UNIT,
        );
        assert_eq!(process.timesteps(), vec![4, 2]);
        // By hand: betas 0.2475, 0.495, 0.7425, 0.99.
        let ab2: f64 = (1.0 - 0.2475) * (1.0 - 0.495);
        let ab4: f64 = ab2 * (1.0 - 0.7425) * (1.0 - 0.99);
        let sigma = eta * ((1.0 - ab2) / (1.0 - ab4)).sqrt() * (1.0 - ab4 / ab2).sqrt();
        let first = [
            ab2.sqrt() / ab4.sqrt(),
            -ab2.sqrt() * (1.0 - ab4).sqrt() / ab4.sqrt() + (1.0 - ab2 - sigma * sigma).sqrt(),
            sigma,
        ];
        // The last step returns x0: x / sqrt(ab2) - sqrt(1 - ab2) / sqrt(ab2) eps.
        let last = [1.0 / ab2.sqrt(), -(1.0 - ab2).sqrt() / ab2.sqrt(), 0.0];
        for (step, want) in process.steps.iter().zip([first, last]) {
            for (got, want) in linear_form(step).iter().zip(want) {
                assert!(
                    (got - want).abs() < 1e-12 * want.abs().max(1.0),
                    "{got} vs {want}"
                );
            }
        }
        assert!(process.steps[0].draws && !process.steps[1].draws);
    }

    #[test]
    fn ddim_with_eta_zero_is_deterministic_given_x_t() {
        let schedule = Schedule::new(&ScheduleConfig::default(), 10).unwrap();
        let model = network(10);
        let start = initial_noise(100, &mut rng::stream(1, rng::Stream::Sampling));
        for (k, spacing) in [
            (0, Spacing::Linspace),
            (4, Spacing::Leading),
            (3, Spacing::Trailing),
        ] {
            let process = ReverseProcess::new(
                &schedule,
                &sampling(SamplerMethod::Ddim, k, spacing, 0.0),
                Prediction::Epsilon,
                DataRange::UNIT,
            );
            let mut r1 = rng::stream(2, rng::Stream::Sampling);
            let mut r2 = rng::stream(3, rng::Stream::Training);
            let a = process.run(&mut Network::new(&model), start.clone(), &mut r1, |_| {});
            let b = process.run(&mut Network::new(&model), start.clone(), &mut r2, |_| {});
            assert_eq!(a, b);
            // Nothing was drawn.
            assert_eq!(r1.get_word_pos(), 0);
        }
    }

    /// The exact noise predictor of a point mass at `c`:
    /// `eps(x_t, t) = (x_t - sqrt(alpha_bar_t) c) / sqrt(1 - alpha_bar_t)`.
    fn point_mass(
        schedule: &Schedule,
        c: Point,
    ) -> impl FnMut(&[Point], usize, &mut Vec<Point>) + '_ {
        move |x: &[Point], t: usize, eps: &mut Vec<Point>| {
            eps.clear();
            eps.extend(x.iter().map(|p| {
                [0, 1].map(|axis| {
                    (p[axis] - schedule.signal_scale(t) * c[axis]) / schedule.noise_scale(t)
                })
            }));
        }
    }

    const C: Point = [0.3, -0.7];

    #[test]
    fn every_sampler_returns_a_point_mass_from_its_exact_noise() {
        // DDIM with eta = 0 predicts x0 = c at every step and returns it; the ancestral
        // sampler's last step is the posterior mean given x0 = c, which is c.
        for (kind, steps) in [
            (ScheduleKind::Polynomial, 10),
            (ScheduleKind::Ddpm, 1000),
            (ScheduleKind::Cosine, 100),
        ] {
            let schedule = schedule(kind, steps);
            for spacing in Spacing::ALL {
                for k in [1, 2, 3, 7, steps] {
                    for (method, eta) in [
                        (SamplerMethod::Ddim, 0.0),
                        (SamplerMethod::Ddim, 1.0),
                        (SamplerMethod::Ancestral, 0.0),
                    ] {
                        let config = sampling(method, k, spacing, eta);
                        let mut rng = rng::stream(4, rng::Stream::Sampling);
                        let start = initial_noise(20, &mut rng);
                        let process = ReverseProcess::new(
                            &schedule,
                            &config,
                            Prediction::Epsilon,
                            DataRange::UNIT,
                        );
                        let x = process.run(&mut point_mass(&schedule, C), start, &mut rng, |_| {});
                        for p in x {
                            assert!(
                                (p[0] - C[0]).abs() < 1e-9 && (p[1] - C[1]).abs() < 1e-9,
                                "{kind:?} T={steps} {config:?}: {p:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn every_sampler_keeps_the_marginals_of_a_point_mass() {
        // Started from the true marginal q(x_tau_K) = N(sqrt(abar) c, (1 - abar) I), the
        // respaced ancestral chain with the posterior variance and DDIM with any eta both
        // have q(x_tau_i) = N(sqrt(abar_tau_i) c, (1 - abar_tau_i) I) at every visited step;
        // with the beta variance only the mean follows. Checked to five standard errors.
        let schedule = schedule(ScheduleKind::Ddpm, 200);
        let n = 20_000;
        for (config, check_variance) in [
            (
                sampling(SamplerMethod::Ancestral, 5, Spacing::Trailing, 0.0),
                true,
            ),
            (
                sampling(SamplerMethod::Ancestral, 0, Spacing::Linspace, 0.0),
                true,
            ),
            (
                SamplingConfig {
                    variance: SamplerVariance::Beta,
                    ..sampling(SamplerMethod::Ancestral, 7, Spacing::Leading, 0.0)
                },
                false,
            ),
            (
                sampling(SamplerMethod::Ddim, 6, Spacing::Linspace, 0.0),
                true,
            ),
            (
                sampling(SamplerMethod::Ddim, 6, Spacing::Trailing, 0.5),
                true,
            ),
            (
                sampling(SamplerMethod::Ddim, 9, Spacing::Leading, 1.0),
                true,
            ),
        ] {
            let process =
                ReverseProcess::new(&schedule, &config, Prediction::Epsilon, DataRange::UNIT);
            let visited = process.timesteps();
            let first = visited[0];
            let mut rng = rng::stream(6, rng::Stream::Sampling);
            let start: Vec<Point> = initial_noise(n, &mut rng)
                .into_iter()
                .map(|z| {
                    [0, 1].map(|axis| {
                        schedule.signal_scale(first) * C[axis]
                            + schedule.noise_scale(first) * z[axis]
                    })
                })
                .collect();
            // After the step at visited[j] the chain is at visited[j + 1], or at t = 0.
            let mut landing = visited[1..].to_vec();
            landing.push(0);
            let mut states = Vec::new();
            process.run(&mut point_mass(&schedule, C), start, &mut rng, |x| {
                states.push(x.to_vec())
            });
            for (x, t) in states.iter().zip(landing) {
                for axis in 0..2 {
                    let mean = x.iter().map(|p| p[axis]).sum::<f64>() / n as f64;
                    let var = x.iter().map(|p| (p[axis] - mean).powi(2)).sum::<f64>() / n as f64;
                    let want_mean = schedule.signal_scale(t) * C[axis];
                    let want_var = schedule.one_minus_alpha_bar[t];
                    let label = format!("{config:?} t={t} axis {axis}");
                    assert!(
                        (mean - want_mean).abs() <= 5.0 * (var / n as f64).sqrt() + 1e-9,
                        "{label}: mean {mean} vs {want_mean}"
                    );
                    if check_variance {
                        assert!(
                            (var - want_var).abs()
                                <= 5.0 * want_var * (2.0 / n as f64).sqrt() + 1e-9,
                            "{label}: variance {var} vs {want_var}"
                        );
                    }
                }
            }
        }
    }

    /// One ancestral step at `t` of the full chain from `start`, with the sampling stream of
    /// `seed`.
    fn one_step(
        model: &FusedNet,
        schedule: &Schedule,
        variance: SamplerVariance,
        start: &[Point],
        t: usize,
        seed: u64,
    ) -> Vec<Point> {
        let config = SamplingConfig {
            variance,
            ..SamplingConfig::default()
        };
        let process = ReverseProcess::new(schedule, &config, Prediction::Epsilon, DataRange::UNIT);
        let step = process.steps.iter().find(|s| s.t == t).unwrap();
        let mut x = start.to_vec();
        let eps = predict_output(model, &x, t);
        // The eps form reads only eps; x0 and the previous x0 play no role.
        let unused = vec![[0.0; 2]; x.len()];
        apply_step(
            step,
            &mut x,
            &unused,
            &eps,
            &unused,
            &mut rng::stream(seed, rng::Stream::Sampling),
        );
        x
    }

    #[test]
    fn the_last_step_adds_no_noise_and_follows_the_mean_formula() {
        // With T = 1 the only step is t = 1: x_0 = (x_1 - sqrt(beta_1) eps) / sqrt(1 - beta_1),
        // deterministic given x_1, whatever the variance choice.
        let schedule = Schedule::new(&ScheduleConfig::default(), 1).unwrap();
        let model = network(1);
        let start = vec![[0.5, -0.25], [1.0, 2.0]];
        let eps = predict_output(&model, &start, 1);
        for variance in [SamplerVariance::Posterior, SamplerVariance::Beta] {
            let x = one_step(&model, &schedule, variance, &start, 1, 0);
            let beta: f64 = schedule.betas[1];
            for (i, p) in x.iter().enumerate() {
                for axis in 0..2 {
                    let want = (start[i][axis] - beta.sqrt() * eps[i][axis]) / (1.0 - beta).sqrt();
                    assert!((p[axis] - want).abs() < 1e-9);
                }
            }
        }
    }

    #[test]
    fn reverse_noise_has_the_chosen_variance() {
        // With x fixed and eps_theta fixed, x_{t-1} - mean is sigma_t z: check its variance.
        let schedule = Schedule::new(&ScheduleConfig::default(), 10).unwrap();
        let model = network(10);
        let n = 20_000;
        let start = vec![[0.1, 0.2]; n];
        let eps = predict_output(&model, &start[..1], 7)[0];
        let (inv_sqrt_alpha, eps_coef) = schedule.mean_coefficients(7);
        for (variance, want) in [
            (SamplerVariance::Posterior, schedule.posterior_variance[7]),
            (SamplerVariance::Beta, schedule.betas[7]),
        ] {
            let x = one_step(&model, &schedule, variance, &start, 7, 9);
            let mean = (0.1 - eps_coef * eps[0]) * inv_sqrt_alpha;
            let var = x.iter().map(|p| (p[0] - mean).powi(2)).sum::<f64>() / n as f64;
            assert!(
                (var / want - 1.0).abs() < 0.05,
                "{variance:?}: {var} vs {want}"
            );
        }
    }
}
