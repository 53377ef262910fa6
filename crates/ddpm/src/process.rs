//! The forward process `q(x_t | x_0)` and the posterior `q(x_{t-1} | x_t, x_0)`.

use crate::{schedule::Schedule, Point};

/// Draws `x_t ~ q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I)` with the given
/// standard normal noise: `x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps`
/// (Ho et al. 2020, eq. 4).
pub fn forward(schedule: &Schedule, x0: Point, t: usize, eps: Point) -> Point {
    let (a, b) = (schedule.signal_scale(t), schedule.noise_scale(t));
    [a * x0[0] + b * eps[0], a * x0[1] + b * eps[1]]
}

/// The mean of `q(x_{t-1} | x_t, x_0)` for `t >= 1` (Ho et al. 2020, eq. 7):
/// `mu = sqrt(alpha_bar_{t-1}) beta_t / (1 - alpha_bar_t) x_0
///     + sqrt(alpha_t) (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) x_t`.
pub fn posterior_mean(schedule: &Schedule, x0: Point, xt: Point, t: usize) -> Point {
    let denom = schedule.one_minus_alpha_bar[t];
    let c0 = schedule.alpha_bar[t - 1].sqrt() * schedule.betas[t] / denom;
    let ct = schedule.alphas[t].sqrt() * schedule.one_minus_alpha_bar[t - 1] / denom;
    [c0 * x0[0] + ct * xt[0], c0 * x0[1] + ct * xt[1]]
}

/// The same posterior mean written with the noise that produced `x_t` from `x_0`, the form
/// the sampler uses with predicted noise (Ho et al. 2020, eq. 11):
/// `mu = (x_t - beta_t / sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_t)`.
pub fn posterior_mean_from_noise(schedule: &Schedule, xt: Point, t: usize, eps: Point) -> Point {
    let (inv_sqrt_alpha, eps_coef) = schedule.mean_coefficients(t);
    [
        (xt[0] - eps_coef * eps[0]) * inv_sqrt_alpha,
        (xt[1] - eps_coef * eps[1]) * inv_sqrt_alpha,
    ]
}

#[cfg(test)]
mod tests;
