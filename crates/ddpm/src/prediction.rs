//! The network's prediction targets and the one conversion every sampler uses: from the
//! network's output at `x_t` to the predicted clean data `x0` and noise `eps`.
//!
//! With `a = sqrt(alpha_bar_t)` and `s = sqrt(1 - alpha_bar_t)`, `x_t = a x0 + s eps`.
//! The three conversions are those of diffusers' `scheduling_ddim.py` (`step`, part 3):
//!
//! - `epsilon`: `x0 = (x_t - s out) / a`, `eps = out`;
//! - `sample`: `x0 = out`, `eps = (x_t - a x0) / s`;
//! - `v` (Salimans and Ho 2022, eq. 9 with `v = a eps - s x0`): `x0 = a x_t - s out`,
//!   `eps = a out + s x_t`.

use crate::Prediction;

/// What the network regresses for a training pair: `eps`, `x0` or `v = a eps - s x0`.
pub fn target(prediction: Prediction, x0: f64, eps: f64, signal: f64, noise: f64) -> f64 {
    match prediction {
        Prediction::Epsilon => eps,
        Prediction::Sample => x0,
        Prediction::V => signal * eps - noise * x0,
    }
}

/// `(x0, eps)` predicted from the network's `output` at the coordinate `x` of `x_t`, with
/// `signal = sqrt(alpha_bar_t)` and `noise = sqrt(1 - alpha_bar_t)`.
///
/// Epsilon prediction divides by `signal`, which is why it cannot be sampled at an exact
/// zero terminal SNR; sample prediction divides by `noise`, which is positive at every
/// step `t >= 1`.
pub fn to_x0_eps(
    prediction: Prediction,
    x: f64,
    output: f64,
    signal: f64,
    noise: f64,
) -> (f64, f64) {
    match prediction {
        Prediction::Epsilon => ((x - noise * output) / signal, output),
        Prediction::Sample => (output, (x - signal * output) / noise),
        Prediction::V => (signal * x - noise * output, signal * output + noise * x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every target converts back to the `x0` and `eps` it was made from (a closed form:
    /// `x_t = a x0 + s eps` with `a^2 + s^2 = 1`).
    #[test]
    fn each_target_converts_back_to_its_x0_and_eps() {
        for alpha_bar in [0.999_f64, 0.5, 0.04, 1e-6] {
            let (a, s) = (alpha_bar.sqrt(), (1.0 - alpha_bar).sqrt());
            for (x0, eps) in [(0.7, -1.3), (-2.0, 0.25), (0.0, 1.0)] {
                let x = a * x0 + s * eps;
                for p in Prediction::ALL {
                    let out = target(p, x0, eps, a, s);
                    let (x0_hat, eps_hat) = to_x0_eps(p, x, out, a, s);
                    assert!(
                        (x0_hat - x0).abs() < 1e-9 / a.max(1e-3),
                        "{p:?} x0 {alpha_bar}"
                    );
                    assert!((eps_hat - eps).abs() < 1e-9 / s, "{p:?} eps {alpha_bar}");
                }
            }
        }
    }

    /// Hand computation at `alpha_bar = 0.36` (`a = 0.6`, `s = 0.8`), `x0 = 1`, `eps = 0.5`:
    /// `x_t = 1.0`, `v = 0.6 * 0.5 - 0.8 * 1 = -0.5`.
    #[test]
    fn v_target_by_hand() {
        let (a, s) = (0.6, 0.8);
        assert!((target(Prediction::V, 1.0, 0.5, a, s) + 0.5).abs() < 1e-15);
        let (x0, eps) = to_x0_eps(Prediction::V, 1.0, -0.5, a, s);
        assert!((x0 - 1.0).abs() < 1e-15 && (eps - 0.5).abs() < 1e-15);
    }

    /// At zero terminal SNR (`a = 0`, `s = 1`) `x_t` is pure noise: v and sample prediction
    /// stay finite (`v = -x0`), epsilon prediction does not.
    #[test]
    fn zero_snr_is_finite_for_v_and_sample_only() {
        let (x0, eps) = to_x0_eps(Prediction::V, 0.3, -0.8, 0.0, 1.0);
        assert_eq!((x0, eps), (0.8, 0.3));
        let (x0, eps) = to_x0_eps(Prediction::Sample, 0.3, -0.8, 0.0, 1.0);
        assert_eq!((x0, eps), (-0.8, 0.3));
        let (x0, _) = to_x0_eps(Prediction::Epsilon, 0.3, -0.8, 0.0, 1.0);
        assert!(!x0.is_finite());
    }
}
