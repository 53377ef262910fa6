//! Beta schedules and every quantity derived from them, in f64.
//!
//! Index `t` runs over `0..=T`. Index 0 is the placeholder of the clean data: `beta_0 = 0`,
//! `alpha_bar_0 = 1`. The products are formed in log space, `ln alpha_bar_t =
//! sum_s ln(1 - beta_s)` with `ln_1p`, and `1 - alpha_bar_t = -expm1(ln alpha_bar_t)`, so
//! betas as small as 1e-12 (the polynomial schedule at T = 1000) keep full precision where
//! `1 - prod(1 - beta)` in f32 would round to 0 and turn the sampler's coefficients into 0/0.

use crate::{Error, Result, ScheduleConfig, ScheduleKind};

/// The largest beta the cosine and sigmoid schedules (and the zero-terminal-SNR rescale)
/// allow, following Nichol and Dhariwal 2021: a beta of 1 would make `1/sqrt(alpha_t)`
/// infinite in the sampler.
pub const MAX_CLIPPED_BETA: f64 = 0.999;

/// A discretised variance schedule with its derived quantities, all indexed by `t` in
/// `0..=T`.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// `beta_t`; `beta_0 = 0`.
    pub betas: Vec<f64>,
    /// `alpha_t = 1 - beta_t`.
    pub alphas: Vec<f64>,
    /// `alpha_bar_t = prod_{s<=t} alpha_s`; `alpha_bar_0 = 1`.
    pub alpha_bar: Vec<f64>,
    /// `1 - alpha_bar_t`, computed without cancellation.
    pub one_minus_alpha_bar: Vec<f64>,
    /// The variance of `q(x_{t-1} | x_t, x_0)`:
    /// `beta_t (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t)`; zero at `t = 1` and at `t = 0`.
    pub posterior_variance: Vec<f64>,
}

impl Schedule {
    /// Builds the schedule of `config` with `steps = T` steps.
    pub fn new(config: &ScheduleConfig, steps: usize) -> Result<Schedule> {
        if steps == 0 {
            return Err(Error::InvalidConfig {
                key: "T".into(),
                value: "0".into(),
                allowed: "an integer from 1 to 10000".into(),
            });
        }
        let mut betas = raw_betas(config, steps);
        if config.zero_terminal_snr {
            betas = rescale_zero_terminal_snr(&betas, config.zero_terminal_snr_exact);
        }
        Ok(Schedule::from_betas(betas))
    }

    /// Derives every quantity from `betas` (index 0 the placeholder, which must be 0).
    pub fn from_betas(betas: Vec<f64>) -> Schedule {
        debug_assert_eq!(betas[0], 0.0);
        let steps = betas.len() - 1;
        let alphas: Vec<f64> = betas.iter().map(|b| 1.0 - b).collect();
        let mut log_alpha_bar = vec![0.0; steps + 1];
        for t in 1..=steps {
            log_alpha_bar[t] = log_alpha_bar[t - 1] + (-betas[t]).ln_1p();
        }
        let alpha_bar: Vec<f64> = log_alpha_bar.iter().map(|l| l.exp()).collect();
        let one_minus_alpha_bar: Vec<f64> = log_alpha_bar.iter().map(|l| -l.exp_m1()).collect();
        Schedule::with_posterior(betas, alphas, alpha_bar, one_minus_alpha_bar)
    }

    /// The schedule of these per-step quantities, with its posterior variance derived.
    fn with_posterior(
        betas: Vec<f64>,
        alphas: Vec<f64>,
        alpha_bar: Vec<f64>,
        one_minus_alpha_bar: Vec<f64>,
    ) -> Schedule {
        let posterior_variance = posterior_variance(&betas, &one_minus_alpha_bar);
        Schedule {
            betas,
            alphas,
            alpha_bar,
            one_minus_alpha_bar,
            posterior_variance,
        }
    }

    /// The number of steps `T`.
    pub fn steps(&self) -> usize {
        self.betas.len() - 1
    }

    /// `sqrt(alpha_bar_t)`, the signal coefficient of `q(x_t | x_0)`.
    pub fn signal_scale(&self, t: usize) -> f64 {
        self.alpha_bar[t].sqrt()
    }

    /// `sqrt(1 - alpha_bar_t)`, the noise coefficient of `q(x_t | x_0)`.
    pub fn noise_scale(&self, t: usize) -> f64 {
        self.one_minus_alpha_bar[t].sqrt()
    }

    /// The schedule of the chain that visits only `steps` (`tau_1 < ... < tau_K`, each in
    /// `1..=T`), indexed by `i` in `0..=K` (Nichol and Dhariwal 2021, sec. 4):
    /// `alpha_bar'_i = alpha_bar_{tau_i}` with `alpha_bar'_0 = 1`, so
    /// `alpha'_i = alpha_bar_{tau_i} / alpha_bar_{tau_{i-1}}`, `beta'_i = 1 - alpha'_i`, and
    /// the posterior variance is `beta'_i (1 - alpha_bar'_{i-1}) / (1 - alpha_bar'_i)`.
    ///
    /// `alpha_bar'` and `1 - alpha_bar'` are copied, and the ratio is formed as
    /// `exp(sum ln(1 - beta_s))` over the steps it spans (`-expm1` of the sum for `beta'`),
    /// so tiny betas keep their precision and an underflowed `alpha_bar` gives no 0/0. A
    /// step that skips nothing keeps its `alpha` and `beta`, so visiting every step gives
    /// back this very schedule, bit for bit.
    pub fn respaced(&self, steps: &[usize]) -> Schedule {
        let mut betas = vec![0.0];
        let mut alphas = vec![1.0];
        let mut alpha_bar = vec![1.0];
        let mut one_minus_alpha_bar = vec![0.0];
        let mut previous = 0;
        for &tau in steps {
            debug_assert!(
                tau > previous && tau <= self.steps(),
                "steps must ascend in 1..=T"
            );
            if tau == previous + 1 {
                betas.push(self.betas[tau]);
                alphas.push(self.alphas[tau]);
            } else {
                let log_ratio: f64 = (previous + 1..=tau).map(|s| (-self.betas[s]).ln_1p()).sum();
                betas.push(-log_ratio.exp_m1());
                alphas.push(log_ratio.exp());
            }
            alpha_bar.push(self.alpha_bar[tau]);
            one_minus_alpha_bar.push(self.one_minus_alpha_bar[tau]);
            previous = tau;
        }
        Schedule::with_posterior(betas, alphas, alpha_bar, one_minus_alpha_bar)
    }

    /// The sampler's mean coefficients at step `t >= 1`:
    /// `mu = (x_t - eps_coef * eps) * inv_sqrt_alpha` with `inv_sqrt_alpha = 1/sqrt(alpha_t)`
    /// and `eps_coef = beta_t / sqrt(1 - alpha_bar_t)` (Ho et al. 2020, eq. 11).
    pub fn mean_coefficients(&self, t: usize) -> (f64, f64) {
        let inv_sqrt_alpha = 1.0 / self.alphas[t].sqrt();
        let eps_coef = self.betas[t] / self.one_minus_alpha_bar[t].sqrt();
        (inv_sqrt_alpha, eps_coef)
    }
}

/// `beta_t (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t)` for `t >= 2`, zero at `t = 0, 1`.
fn posterior_variance(betas: &[f64], one_minus_alpha_bar: &[f64]) -> Vec<f64> {
    let mut variance = vec![0.0; betas.len()];
    for t in 2..betas.len() {
        variance[t] = betas[t] * one_minus_alpha_bar[t - 1] / one_minus_alpha_bar[t];
    }
    variance
}

/// The betas of `config` before any rescaling, index 0 the placeholder.
fn raw_betas(config: &ScheduleConfig, steps: usize) -> Vec<f64> {
    let t_max = steps as f64;
    let mut betas = vec![0.0; steps + 1];
    match config.kind {
        ScheduleKind::Linear => {
            for t in 1..=steps {
                betas[t] = config.max_beta * t as f64 / t_max;
            }
        }
        ScheduleKind::Polynomial => {
            for t in 1..=steps {
                betas[t] = (config.max_beta * t as f64 / t_max).powf(config.power);
            }
        }
        ScheduleKind::Ddpm => {
            let factor = if config.rescale_to_t {
                1000.0 / t_max
            } else {
                1.0
            };
            let (start, end) = (config.beta_start * factor, config.beta_end * factor);
            for t in 1..=steps {
                // numpy's linspace(start, end, T): a single point is `start`.
                let frac = if steps == 1 {
                    0.0
                } else {
                    (t - 1) as f64 / (t_max - 1.0)
                };
                betas[t] = (start + (end - start) * frac).min(MAX_CLIPPED_BETA);
            }
        }
        ScheduleKind::Cosine => {
            let s = config.cosine_s;
            let f = |t: f64| (((t / t_max + s) / (1.0 + s)) * std::f64::consts::FRAC_PI_2).cos();
            // alpha_bar(t)/alpha_bar(t-1) = f(t)^2 / f(t-1)^2; f(0) cancels.
            for t in 1..=steps {
                let ratio = (f(t as f64) / f(t as f64 - 1.0)).powi(2);
                betas[t] = (1.0 - ratio).clamp(0.0, MAX_CLIPPED_BETA);
            }
        }
        ScheduleKind::Sigmoid => {
            let (start, end, tau) = (config.sigmoid_start, config.sigmoid_end, config.sigmoid_tau);
            let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
            let (v_start, v_end) = (sigmoid(start / tau), sigmoid(end / tau));
            let alpha_bar = |u: f64| {
                let v = sigmoid((u * (end - start) + start) / tau);
                ((v_end - v) / (v_end - v_start)).clamp(1e-9, 1.0)
            };
            for t in 1..=steps {
                let ratio = alpha_bar(t as f64 / t_max) / alpha_bar((t - 1) as f64 / t_max);
                betas[t] = (1.0 - ratio).clamp(0.0, MAX_CLIPPED_BETA);
            }
        }
    }
    betas
}

/// Lin et al. 2024, "Common diffusion noise schedules and sample steps are flawed",
/// algorithm 1: shift and scale `sqrt(alpha_bar)` so that `sqrt(alpha_bar_1)` is unchanged
/// and `sqrt(alpha_bar_T) = 0`, then recover the betas. The last beta would be 1. Unless
/// `exact`, every beta is capped at [`MAX_CLIPPED_BETA`] so a noise-predicting sampler stays
/// finite (`alpha_bar_T` then stays above 0); `exact` keeps the last beta at 1, so
/// `alpha_bar_T = 0`, as diffusers' `rescale_zero_terminal_snr` (`scheduling_ddim.py`) does.
///
/// `betas` holds the placeholder `beta_0 = 0` at index 0, as [`Schedule::betas`] does.
pub fn rescale_zero_terminal_snr(betas: &[f64], exact: bool) -> Vec<f64> {
    let cap = if exact { 1.0 } else { MAX_CLIPPED_BETA };
    let steps = betas.len() - 1;
    // sqrt(alpha_bar) from the log, so it stays a normal float twice as long as alpha_bar.
    let mut log_alpha_bar = 0.0;
    let mut sqrt_ab = vec![1.0; steps + 1];
    for t in 1..=steps {
        log_alpha_bar += (-betas[t]).ln_1p();
        sqrt_ab[t] = (0.5 * log_alpha_bar).exp();
    }
    let (first, last) = (sqrt_ab[1], sqrt_ab[steps]);
    let k = first / (first - last);
    let rescaled: Vec<f64> = sqrt_ab.iter().map(|s| (s - last) * k).collect();
    let mut out = vec![0.0; steps + 1];
    // The first step is unchanged by construction.
    out[1] = betas[1];
    for t in 2..=steps {
        let (prev, cur) = (rescaled[t - 1], rescaled[t]);
        // beta_t = 1 - (r_t / r_{t-1})^2 = (r_{t-1} - r_t)(r_{t-1} + r_t) / r_{t-1}^2, with
        // r_{t-1} - r_t = k sqrt(alpha_bar_{t-1}) (1 - sqrt(1 - beta_t)) computed by expm1,
        // so betas of 1e-16 survive. Once the signal has underflowed the step is pure noise.
        out[t] = if prev >= 1e-290 {
            let drop = k * sqrt_ab[t - 1] * -(0.5 * (-betas[t]).ln_1p()).exp_m1();
            ((drop / prev) * (1.0 + cur / prev)).clamp(0.0, cap)
        } else {
            cap
        };
    }
    if exact {
        // (r_{T-1} - 0) / r_{T-1} is 1 in exact arithmetic; written exactly, so that
        // ln(1 - beta_T) = -inf and alpha_bar_T = 0.
        out[steps] = 1.0;
    }
    out
}

#[cfg(test)]
mod tests;
