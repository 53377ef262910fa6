//! Tests of the schedules against their closed forms, of respacing and of the zero
//! terminal SNR rescaling, and that every schedule is finite for every length.

use super::*;

fn config(kind: ScheduleKind) -> ScheduleConfig {
    ScheduleConfig {
        kind,
        ..ScheduleConfig::default()
    }
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-300)
}

#[test]
fn posts_linear_schedule_is_linspace_0_to_0_99() {
    let s = Schedule::new(&config(ScheduleKind::Linear), 10).unwrap();
    let expected = [
        0.0, 0.099, 0.198, 0.297, 0.396, 0.495, 0.594, 0.693, 0.792, 0.891, 0.99,
    ];
    for (b, e) in s.betas.iter().zip(expected) {
        assert!((b - e).abs() < 1e-15, "{b} vs {e}");
    }
    // alpha_bar_2 = (1 - 0.099)(1 - 0.198) by hand.
    assert!(close(s.alpha_bar[2], 0.901 * 0.802, 1e-14));
}

#[test]
fn polynomial_schedule_is_linear_to_the_power() {
    let s = Schedule::new(&config(ScheduleKind::Polynomial), 10).unwrap();
    assert!(close(s.betas[1], 0.099f64.powi(4), 1e-14));
    assert!(close(s.betas[10], 0.99f64.powi(4), 1e-14));
    let s = Schedule::new(&config(ScheduleKind::Polynomial), 1000).unwrap();
    assert!(close(s.betas[1], 0.00099f64.powi(4), 1e-12));
    // 1 - alpha_bar_1 = beta_1 exactly, even at 1e-12 where f32 would give 0.
    assert!(close(s.one_minus_alpha_bar[1], s.betas[1], 1e-12));
    assert!(s.one_minus_alpha_bar[1] > 0.0 && s.one_minus_alpha_bar[1] < 1e-11);
}

#[test]
fn ddpm_schedule_matches_ho_et_al() {
    let s = Schedule::new(&config(ScheduleKind::Ddpm), 1000).unwrap();
    assert!(close(s.betas[1], 1e-4, 1e-12));
    assert!(close(s.betas[1000], 0.02, 1e-12));
    assert!(close(
        s.betas[500],
        1e-4 + (0.02 - 1e-4) * 499.0 / 999.0,
        1e-12
    ));
    // Known value: alpha_bar_T of the DDPM schedule at T = 1000 is about 4.04e-5.
    assert!(
        close(s.alpha_bar[1000], 4.0358e-5, 1e-3),
        "{}",
        s.alpha_bar[1000]
    );
    let mut rescaled = config(ScheduleKind::Ddpm);
    rescaled.rescale_to_t = true;
    let s = Schedule::new(&rescaled, 10).unwrap();
    assert!(close(s.betas[1], 0.01, 1e-12));
    assert!(close(s.betas[10], MAX_CLIPPED_BETA, 1e-12));
    let single = Schedule::new(&config(ScheduleKind::Ddpm), 1).unwrap();
    assert_eq!(single.betas, vec![0.0, 1e-4]);
}

#[test]
fn cosine_alpha_bar_follows_the_closed_form() {
    let s = Schedule::new(&config(ScheduleKind::Cosine), 100).unwrap();
    let f = |t: f64| {
        (((t / 100.0 + 0.008) / 1.008) * std::f64::consts::FRAC_PI_2)
            .cos()
            .powi(2)
    };
    for t in [1usize, 10, 50, 90] {
        assert!(
            close(s.alpha_bar[t], f(t as f64) / f(0.0), 1e-10),
            "t = {t}"
        );
    }
    assert!(close(s.betas[100], MAX_CLIPPED_BETA, 1e-12));
}

#[test]
fn sigmoid_alpha_bar_runs_from_one_to_almost_zero() {
    let s = Schedule::new(&config(ScheduleKind::Sigmoid), 1000).unwrap();
    assert!(s.alpha_bar[1] > 0.99);
    assert!(s.alpha_bar[1000] < 1e-2);
    // Symmetric sigmoid from -3 to 3: alpha_bar at t = T/2 is exactly 1/2.
    assert!(close(s.alpha_bar[500], 0.5, 1e-9), "{}", s.alpha_bar[500]);
}

#[test]
fn posterior_variance_matches_the_closed_form() {
    let s = Schedule::new(&config(ScheduleKind::Linear), 4).unwrap();
    // By hand: betas 0.2475, 0.495, 0.7425, 0.99.
    let ab1 = 1.0 - 0.2475;
    let ab2 = ab1 * (1.0 - 0.495);
    assert_eq!(s.posterior_variance[1], 0.0);
    assert!(close(
        s.posterior_variance[2],
        0.495 * (1.0 - ab1) / (1.0 - ab2),
        1e-14
    ));
    let (inv_sqrt_alpha, eps_coef) = s.mean_coefficients(2);
    assert!(close(inv_sqrt_alpha, 1.0 / (1.0f64 - 0.495).sqrt(), 1e-14));
    assert!(close(eps_coef, 0.495 / (1.0 - ab2).sqrt(), 1e-14));
}

#[test]
fn respacing_every_step_is_the_identity() {
    for kind in ScheduleKind::ALL {
        let s = Schedule::new(&config(kind), 50).unwrap();
        let all: Vec<usize> = (1..=50).collect();
        assert_eq!(s.respaced(&all), s, "{kind:?}");
    }
}

#[test]
fn respaced_alpha_bar_is_alpha_bar_at_the_visited_steps() {
    // The product of alpha'_i = 1 - beta'_i up to i is alpha_bar at tau_i.
    let s = Schedule::new(&config(ScheduleKind::Ddpm), 1000).unwrap();
    let steps = [1usize, 100, 101, 400, 999];
    let r = s.respaced(&steps);
    assert_eq!(r.steps(), steps.len());
    let mut product = 1.0;
    for (i, &tau) in steps.iter().enumerate() {
        product *= r.alphas[i + 1];
        assert!(close(product, s.alpha_bar[tau], 1e-12), "tau = {tau}");
        assert!(close(r.alphas[i + 1], 1.0 - r.betas[i + 1], 1e-12));
        assert_eq!(r.alpha_bar[i + 1], s.alpha_bar[tau]);
        assert_eq!(r.one_minus_alpha_bar[i + 1], s.one_minus_alpha_bar[tau]);
    }
    // By hand: the first step skips nothing before it, beta'_1 = beta_1, and the jump
    // from 101 to 400 has beta' = 1 - alpha_bar_400 / alpha_bar_101.
    assert_eq!(r.betas[1], s.betas[1]);
    assert_eq!(r.betas[3], s.betas[101]);
    assert!(close(
        r.betas[4],
        1.0 - s.alpha_bar[400] / s.alpha_bar[101],
        1e-12
    ));
    // Posterior variance of the respaced chain: beta'_i (1 - abar'_{i-1}) / (1 - abar'_i).
    let want = r.betas[4] * (1.0 - s.alpha_bar[101]) / (1.0 - s.alpha_bar[400]);
    assert!(close(r.posterior_variance[4], want, 1e-12));
    assert_eq!(r.posterior_variance[1], 0.0);
    // A chain that starts late takes the whole way from t = 0 in its first step.
    let late = s.respaced(&[10, 20]);
    assert!(close(late.betas[1], 1.0 - s.alpha_bar[10], 1e-12));
    assert_eq!(late.posterior_variance[1], 0.0);
    // The post's linear schedule underflows alpha_bar to 0 at T = 1000; a jump between
    // two such steps is still a finite beta' (1), not 0/0.
    let linear = Schedule::new(&config(ScheduleKind::Linear), 1000).unwrap();
    let zero = (1..=1000).find(|&t| linear.alpha_bar[t] == 0.0).unwrap();
    assert!(zero < 1000);
    let r = linear.respaced(&[1, zero, 1000]);
    assert!(r.betas.iter().all(|b| b.is_finite()));
    assert!(r.posterior_variance.iter().all(|v| v.is_finite()));
}

/// The exact rescale: `alpha_bar_T = 0` exactly, and `sqrt(alpha_bar_t)` follows Lin et
/// al.'s closed form `(sqrt(ab_t) - sqrt(ab_T)) sqrt(ab_1) / (sqrt(ab_1) - sqrt(ab_T))`.
#[test]
fn exact_zero_terminal_snr_ends_at_zero_signal() {
    for (kind, steps) in [(ScheduleKind::Ddpm, 1000), (ScheduleKind::Cosine, 100)] {
        let plain = Schedule::new(&config(kind), steps).unwrap();
        let mut c = config(kind);
        c.zero_terminal_snr = true;
        c.zero_terminal_snr_exact = true;
        let s = Schedule::new(&c, steps).unwrap();
        assert_eq!(s.betas[steps], 1.0);
        assert_eq!(s.alpha_bar[steps], 0.0);
        assert_eq!(s.one_minus_alpha_bar[steps], 1.0);
        assert!(s.alpha_bar.iter().all(|a| a.is_finite()));
        let (first, last) = (plain.signal_scale(1), plain.signal_scale(steps));
        for t in [1, 2, steps / 2, steps - 1] {
            let want = (plain.signal_scale(t) - last) * first / (first - last);
            assert!(close(s.signal_scale(t), want, 1e-9), "{kind:?} t={t}");
        }
        // The capped variant differs only where the cap bites.
        c.zero_terminal_snr_exact = false;
        let capped = Schedule::new(&c, steps).unwrap();
        assert_eq!(capped.betas[steps], MAX_CLIPPED_BETA);
        assert!(capped.alpha_bar[steps] > 0.0);
        for t in 1..steps {
            if s.betas[t] < MAX_CLIPPED_BETA {
                assert_eq!(s.betas[t], capped.betas[t], "{kind:?} t={t}");
            }
        }
    }
}

#[test]
fn zero_terminal_snr_keeps_the_first_step_and_silences_the_last() {
    let mut c = config(ScheduleKind::Ddpm);
    c.zero_terminal_snr = true;
    let plain = Schedule::new(&config(ScheduleKind::Ddpm), 1000).unwrap();
    let s = Schedule::new(&c, 1000).unwrap();
    assert!(close(s.alpha_bar[1], plain.alpha_bar[1], 1e-9));
    assert!(s.alpha_bar[1000] < plain.alpha_bar[1000] * 1e-2);
    assert!(close(s.betas[1000], MAX_CLIPPED_BETA, 1e-12));
}

#[test]
fn every_schedule_is_finite_and_decreasing_for_every_length() {
    for kind in ScheduleKind::ALL {
        for zero_snr in [false, true] {
            for steps in [1usize, 2, 10, 1000, 10_000] {
                if zero_snr && steps == 1 {
                    continue;
                }
                let mut c = config(kind);
                c.zero_terminal_snr = zero_snr;
                let s = Schedule::new(&c, steps).unwrap();
                let label = format!("{kind:?} T={steps} zsnr={zero_snr}");
                assert_eq!(s.steps(), steps);
                assert_eq!(s.alpha_bar[0], 1.0, "{label}");
                for t in 1..=steps {
                    assert!(s.betas[t] > 0.0 && s.betas[t] < 1.0, "{label} beta_{t}");
                    assert!(s.alpha_bar[t] <= s.alpha_bar[t - 1], "{label} t={t}");
                    // Non-decreasing: for the post's linear schedule at large T,
                    // alpha_bar underflows to exactly 0 after a few hundred steps.
                    assert!(
                        s.one_minus_alpha_bar[t] >= s.one_minus_alpha_bar[t - 1]
                            && s.one_minus_alpha_bar[t] > 0.0
                            && s.one_minus_alpha_bar[t] <= 1.0,
                        "{label} t={t}"
                    );
                    assert!(s.posterior_variance[t].is_finite(), "{label} t={t}");
                    assert!(s.posterior_variance[t] >= 0.0, "{label} t={t}");
                    assert!(
                        s.posterior_variance[t] <= s.betas[t] * (1.0 + 1e-12),
                        "{label}"
                    );
                    let (a, b) = s.mean_coefficients(t);
                    assert!(a.is_finite() && b.is_finite(), "{label} t={t}");
                }
            }
        }
    }
}
