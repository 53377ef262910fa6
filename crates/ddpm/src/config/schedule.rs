//! The `schedule` section: the beta schedule's family and its parameters.

use serde::{Deserialize, Serialize};

use super::defaults::is_default;

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
/// ignored, and [`RunConfig::canonical`](crate::RunConfig::canonical) resets them so they
/// cannot change a run's identity.
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
