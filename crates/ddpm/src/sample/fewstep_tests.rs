//! Tests of the few-step fixes: prediction targets, clipping, exact zero terminal SNR and
//! DPM-Solver++(2M), each against a closed form or a hand computation.

use super::{clipping::Clipping, draw::initial_noise, update::Update, *};
use crate::{
    config::{Clip, Prediction, SamplerMethod, SamplingConfig, Spacing},
    fused::FusedNet,
    prediction::target,
    rng,
    schedule::Schedule,
    ModelConfig, Point, ScheduleConfig, ScheduleKind,
};

fn schedule(kind: ScheduleKind, steps: usize, zero_snr: Option<bool>) -> Schedule {
    let config = ScheduleConfig {
        kind,
        zero_terminal_snr: zero_snr.is_some(),
        zero_terminal_snr_exact: zero_snr == Some(true),
        ..ScheduleConfig::default()
    };
    Schedule::new(&config, steps).unwrap()
}

fn config(method: SamplerMethod, steps: usize, spacing: Spacing, clip: Clip) -> SamplingConfig {
    SamplingConfig {
        method,
        steps,
        spacing,
        clip,
        ..SamplingConfig::default()
    }
}

/// The exact network of a point mass at `c`: at `x_t`, `x0 = c` and `eps = (x_t - a c) / s`,
/// given in the target `prediction` asks for.
fn point_mass(
    schedule: &Schedule,
    prediction: Prediction,
    c: Point,
) -> impl FnMut(&[Point], usize, &mut Vec<Point>) + '_ {
    move |x: &[Point], t: usize, out: &mut Vec<Point>| {
        let (a, s) = (schedule.signal_scale(t), schedule.noise_scale(t));
        out.clear();
        out.extend(x.iter().map(|p| {
            [0, 1].map(|axis| {
                let eps = (p[axis] - a * c[axis]) / s;
                target(prediction, c[axis], eps, a, s)
            })
        }));
    }
}

const C: Point = [0.3, -0.7];

#[test]
fn every_sampler_target_and_clip_returns_a_point_mass() {
    // x0 = c at every step: DDIM and DPM-Solver++ return it at their last step, and the
    // ancestral chain's last step is the posterior mean given x0 = c, which is c. c lies
    // inside [-1, 1], so clipping leaves it alone.
    for (kind, steps, zero_snr) in [
        (ScheduleKind::Polynomial, 10, None),
        (ScheduleKind::Polynomial, 1000, None),
        (ScheduleKind::Ddpm, 1000, None),
        (ScheduleKind::Ddpm, 1000, Some(false)),
        (ScheduleKind::Ddpm, 1000, Some(true)),
        (ScheduleKind::Cosine, 100, Some(true)),
    ] {
        let schedule = schedule(kind, steps, zero_snr);
        for prediction in Prediction::ALL {
            if zero_snr == Some(true) && prediction == Prediction::Epsilon {
                continue;
            }
            for method in SamplerMethod::ALL {
                for clip in Clip::ALL {
                    for (k, spacing) in [
                        (1, Spacing::Linspace),
                        (2, Spacing::Trailing),
                        (10, Spacing::Linspace),
                        (20, Spacing::Leading),
                    ] {
                        if k > steps {
                            continue;
                        }
                        let sampling = config(method, k, spacing, clip);
                        let process =
                            ReverseProcess::new(&schedule, &sampling, prediction, DataRange::UNIT);
                        let mut rng = rng::stream(4, rng::Stream::Sampling);
                        let start = initial_noise(20, &mut rng);
                        let mut model = point_mass(&schedule, prediction, C);
                        let x = process.run(&mut model, start, &mut rng, |_| {});
                        for p in x {
                            assert!(
                                (p[0] - C[0]).abs() < 1e-6 && (p[1] - C[1]).abs() < 1e-6,
                                "{kind:?} T={steps} zero_snr={zero_snr:?} {prediction:?} {sampling:?}: {p:?}"
                            );
                        }
                    }
                }
            }
        }
    }
}

use super::tests::linear_form;

#[test]
fn the_x0_form_of_the_ancestral_step_is_its_eps_form() {
    // Clipping by a range no point reaches switches the ancestral step to its x0 form;
    // for epsilon prediction both are the same linear map of (x, eps, z).
    let wide = DataRange {
        lo: [-1e300; 2],
        hi: [1e300; 2],
    };
    for (kind, steps) in [
        (ScheduleKind::Ddpm, 1000),
        (ScheduleKind::Polynomial, 10),
        (ScheduleKind::Cosine, 50),
    ] {
        let schedule = schedule(kind, steps, None);
        for k in [3, 10] {
            let eps_form = ReverseProcess::new(
                &schedule,
                &config(SamplerMethod::Ancestral, k, Spacing::Linspace, Clip::None),
                Prediction::Epsilon,
                DataRange::UNIT,
            );
            let x0_form = ReverseProcess::new(
                &schedule,
                &config(SamplerMethod::Ancestral, k, Spacing::Linspace, Clip::Static),
                Prediction::Epsilon,
                wide,
            );
            for (a, b) in eps_form.steps.iter().zip(&x0_form.steps) {
                assert!(matches!(a.update, Update::Ancestral { .. }));
                assert!(matches!(b.update, Update::Posterior { .. }));
                for (x, y) in linear_form(a).iter().zip(linear_form(b)) {
                    assert!(
                        (x - y).abs() <= 1e-9 * x.abs().max(1.0),
                        "{kind:?} K={k} t={}: {x} vs {y}",
                        a.t
                    );
                }
            }
        }
    }
}

#[test]
fn the_first_order_dpm_solver_step_is_a_ddim_step() {
    // With h = lambda_t - lambda_s, (sigma_t / sigma_s) x - alpha_t (e^-h - 1) x0 equals
    // alpha_t x0 + sigma_t (x - alpha_s x0) / sigma_s (Lu et al. 2022, eq. 9 vs Song et al.
    // 2021, eq. 12 with eta = 0). K = 2: the first step is first order, the last returns x0.
    let schedule = schedule(ScheduleKind::Ddpm, 1000, None);
    let sampling = |method| config(method, 2, Spacing::Linspace, Clip::None);
    let dpm = ReverseProcess::new(
        &schedule,
        &sampling(SamplerMethod::DpmSolverPp2m),
        Prediction::Epsilon,
        DataRange::UNIT,
    );
    let ddim = ReverseProcess::new(
        &schedule,
        &sampling(SamplerMethod::Ddim),
        Prediction::Epsilon,
        DataRange::UNIT,
    );
    for (a, b) in dpm.steps.iter().zip(&ddim.steps) {
        assert_eq!(a.t, b.t);
        assert!(matches!(a.update, Update::DpmSolver { inv_r0: None, .. }));
        for (x, y) in linear_form(a).iter().zip(linear_form(b)) {
            assert!(
                (x - y).abs() <= 1e-9 * x.abs().max(1.0),
                "t={}: {x} vs {y}",
                a.t
            );
        }
    }
}

#[test]
fn the_second_order_dpm_solver_step_follows_the_closed_form() {
    // T = 4 of the post's linear schedule, K = 3 steps (linspace: tau = 4, 2, 1 after
    // rounding 0, 1.5, 3 half to even: 0, 2, 3 -> 1, 3, 4). The middle step is second
    // order: x_t = (sigma_t / sigma_s) x - c m0 - 0.5 c (m0 - m1) / r0 with c = alpha_t
    // (e^-h - 1), r0 = (lambda_s - lambda_prev) / h.
    let schedule = schedule(ScheduleKind::Linear, 4, None);
    let process = ReverseProcess::new(
        &schedule,
        &config(
            SamplerMethod::DpmSolverPp2m,
            3,
            Spacing::Linspace,
            Clip::None,
        ),
        Prediction::Sample,
        DataRange::UNIT,
    );
    assert_eq!(process.timesteps(), vec![4, 3, 1]);
    // By hand: betas 0.2475, 0.495, 0.7425, 0.99.
    let ab = |t: usize| -> f64 {
        [
            1.0,
            0.7525,
            0.7525 * 0.505,
            0.7525 * 0.505 * 0.2575,
            0.7525 * 0.505 * 0.2575 * 0.01,
        ][t]
    };
    let lambda = |t: usize| 0.5 * (ab(t) / (1.0 - ab(t))).ln();
    let (s, t, prev) = (3, 1, 4);
    let h = lambda(t) - lambda(s);
    let r0 = (lambda(s) - lambda(prev)) / h;
    let c = ab(t).sqrt() * ((-h).exp() - 1.0);
    let ratio = ((1.0 - ab(t)) / (1.0 - ab(s))).sqrt();
    let (x, m0, m1) = (0.4, -0.3, 0.9);
    let want = ratio * x - c * m0 - 0.5 * c * (m0 - m1) / r0;
    let step = &process.steps[1];
    assert!(matches!(
        step.update,
        Update::DpmSolver {
            inv_r0: Some(_),
            ..
        }
    ));
    let got = step.update.apply(x, m0, 0.0, m1, 0.0);
    assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    // The first and the last step are first order.
    assert!(matches!(
        process.steps[0].update,
        Update::DpmSolver { inv_r0: None, .. }
    ));
    assert!(matches!(
        process.steps[2].update,
        Update::DpmSolver { inv_r0: None, .. }
    ));
}

#[test]
fn dpm_solver_floors_an_exact_zero_snr_at_its_first_step_only() {
    let schedule = schedule(ScheduleKind::Ddpm, 1000, Some(true));
    assert_eq!(schedule.alpha_bar[1000], 0.0);
    let process = ReverseProcess::new(
        &schedule,
        &config(
            SamplerMethod::DpmSolverPp2m,
            10,
            Spacing::Trailing,
            Clip::None,
        ),
        Prediction::V,
        DataRange::UNIT,
    );
    let first = &process.steps[0];
    assert_eq!(first.t, 1000);
    assert_eq!(first.signal, DPM_ZERO_SNR_FLOOR.sqrt());
    assert_eq!(first.noise, (1.0 - DPM_ZERO_SNR_FLOOR).sqrt());
    for step in &process.steps[1..] {
        assert_eq!(step.signal, schedule.signal_scale(step.t));
    }
    // DDIM needs no floor: v prediction at alpha_bar = 0 is x0 = -v.
    let ddim = ReverseProcess::new(
        &schedule,
        &config(SamplerMethod::Ddim, 10, Spacing::Trailing, Clip::None),
        Prediction::V,
        DataRange::UNIT,
    );
    assert_eq!((ddim.steps[0].signal, ddim.steps[0].noise), (0.0, 1.0));
}

#[test]
fn an_untrained_v_network_samples_finitely_at_exact_zero_snr() {
    // Any network, any sampler: with v or x0 prediction nothing divides by sqrt(alpha_bar_T).
    let schedule = schedule(ScheduleKind::Ddpm, 1000, Some(true));
    for prediction in [Prediction::V, Prediction::Sample] {
        let model = ModelConfig {
            prediction,
            ..ModelConfig::default()
        };
        let init = crate::init::initial_weights(&model, 1000, 0);
        let net = FusedNet::from_named(&model, 1000, &init).unwrap();
        for method in SamplerMethod::ALL {
            for spacing in Spacing::ALL {
                let sampling = config(method, 10, spacing, Clip::None);
                let process =
                    ReverseProcess::new(&schedule, &sampling, prediction, DataRange::UNIT);
                let mut rng = rng::stream(1, rng::Stream::Sampling);
                let x = sample(&net, &process, 64, &mut rng);
                assert!(
                    x.iter().flatten().all(|v| v.is_finite()),
                    "{prediction:?} {sampling:?}"
                );
            }
        }
    }
}

#[test]
fn quantile_interpolates_like_numpy() {
    // numpy.quantile([4, 1, 3, 2], q): position q * 3 between the sorted values.
    for (q, want) in [
        (0.0, 1.0),
        (0.5, 2.5),
        (0.995, 3.985),
        (1.0, 4.0),
        (1.0 / 3.0, 2.0),
    ] {
        let got = quantile(&mut [4.0, 1.0, 3.0, 2.0], q);
        assert!((got - want).abs() < 1e-12, "q={q}: {got} vs {want}");
    }
    assert_eq!(quantile(&mut [7.0], 0.995), 7.0);
}

#[test]
fn static_clipping_clamps_to_the_data_range_per_axis() {
    let range = DataRange {
        lo: [-1.0, -2.5],
        hi: [1.0, 2.0],
    };
    let mut x0 = vec![[1.5, -3.0], [-0.5, 2.2], [-4.0, 0.1]];
    Clipping::Static(range).apply(&mut x0, &mut Vec::new());
    assert_eq!(x0, vec![[1.0, -2.5], [-0.5, 2.0], [-1.0, 0.1]]);
}

#[test]
fn dynamic_clipping_bounds_by_the_quantile_or_the_range() {
    // Axis 0: |x0| = 0.1 .. 0.9 and one 50: the 0.5 quantile of the 10 magnitudes is the
    // mean of the 5th and 6th smallest (0.5 and 0.6) = 0.55, below the floor 1, so every
    // coordinate is clamped to +-1. Axis 1: magnitudes 2..11, quantile 0.9 = 10.1, above
    // the floor: +-10.1.
    let mut x0: Vec<Point> = (0..10)
        .map(|i| {
            let a = if i == 9 { 50.0 } else { 0.1 * (i + 1) as f64 };
            let b = (i + 2) as f64 * if i % 2 == 0 { 1.0 } else { -1.0 };
            [if i == 3 { -a } else { a }, b]
        })
        .collect();
    let want_axis0: Vec<f64> = x0.iter().map(|p| p[0].clamp(-1.0, 1.0)).collect();
    Clipping::Dynamic {
        range: DataRange::UNIT,
        quantile: 0.5,
    }
    .apply(&mut x0, &mut Vec::new());
    assert_eq!(x0.iter().map(|p| p[0]).collect::<Vec<_>>(), want_axis0);
    let mut x1: Vec<Point> = (0..10).map(|i| [0.0, (i + 2) as f64]).collect();
    Clipping::Dynamic {
        range: DataRange::UNIT,
        quantile: 0.9,
    }
    .apply(&mut x1, &mut Vec::new());
    // sorted 2..11, position 0.9 * 9 = 8.1: 10 + 0.1 * 1 = 10.1.
    assert!(
        (x1[9][1] - 10.1).abs() < 1e-12 && x1[8][1] == 10.0,
        "{:?}",
        x1[9]
    );
}
