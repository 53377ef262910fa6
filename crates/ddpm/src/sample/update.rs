//! One reverse step's update for each sampler family (ancestral in its noise and `x0`
//! forms, DDIM, DPM-Solver++), with what depends only on the step precomputed.

#[cfg(test)]
use crate::{config::Prediction, prediction::to_x0_eps};

/// One reverse step for one coordinate, with everything that depends only on the step
/// precomputed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Update {
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
    pub(super) fn apply(&self, x: f64, x0: f64, eps: f64, prev_x0: f64, z: f64) -> f64 {
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
pub(super) struct Step {
    /// The step `t = tau_i` in `1..=T` the network sees.
    pub(super) t: usize,
    /// `sqrt(alpha_bar)` and `sqrt(1 - alpha_bar)` at this step, for
    /// [`to_x0_eps`].
    pub(super) signal: f64,
    pub(super) noise: f64,
    pub(super) update: Update,
    /// Whether `z` is drawn; when not, `z = 0`.
    pub(super) draws: bool,
}

impl Step {
    /// One coordinate's step from the network's `output`, without clipping (the tests'
    /// closed forms).
    #[cfg(test)]
    pub(super) fn apply_unclipped(
        &self,
        prediction: Prediction,
        x: f64,
        output: f64,
        z: f64,
    ) -> f64 {
        let (x0, eps) = to_x0_eps(prediction, x, output, self.signal, self.noise);
        self.update.apply(x, x0, eps, 0.0, z)
    }
}
