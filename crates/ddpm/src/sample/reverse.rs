//! The reverse process of one sampling config: the visited steps and their updates,
//! computed once from the respaced schedule, and the loop that runs them.

use rand_distr::{Distribution, StandardNormal};

use crate::{
    config::{Clip, Prediction, SamplerMethod, SamplerVariance, SamplingConfig},
    prediction::to_x0_eps,
    rng::StreamRng,
    schedule::Schedule,
    Point,
};

use super::{
    clipping::{Clipping, DataRange},
    noise_model::NoiseModel,
    timesteps::timesteps,
    update::{Step, Update},
};

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
    pub(super) steps: Vec<Step>,
    pub(super) prediction: Prediction,
    pub(super) clipping: Clipping,
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
pub(super) fn apply_step(
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
