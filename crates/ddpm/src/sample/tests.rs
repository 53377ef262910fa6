//! Tests of the reverse process: bit identity with the original sampler, the spacing
//! tables, DDIM against its closed forms, and the statistics of every sampler.

use rand_distr::{Distribution, StandardNormal};

use super::{
    draw::initial_noise,
    noise_model::{predict_into, FusedNoiseModel, Scratch},
    reverse::apply_step,
    update::Step,
    *,
};
use crate::{
    config::{Prediction, SamplerMethod, SamplerVariance, SamplingConfig, Spacing},
    fused::{network::ROWS_PER_BLOCK, FusedNet},
    init::initial_weights,
    rng::{self, StreamRng},
    schedule::Schedule,
    ModelConfig, Point, ScheduleConfig, ScheduleKind,
};

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
    use super::*;

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
        let a = process.run(
            &mut FusedNoiseModel::new(&model),
            start.clone(),
            &mut r1,
            |_| {},
        );
        let b = process.run(
            &mut FusedNoiseModel::new(&model),
            start.clone(),
            &mut r2,
            |_| {},
        );
        assert_eq!(a, b);
        // Nothing was drawn.
        assert_eq!(r1.get_word_pos(), 0);
    }
}

/// The exact noise predictor of a point mass at `c`:
/// `eps(x_t, t) = (x_t - sqrt(alpha_bar_t) c) / sqrt(1 - alpha_bar_t)`.
fn point_mass(schedule: &Schedule, c: Point) -> impl FnMut(&[Point], usize, &mut Vec<Point>) + '_ {
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
        let process = ReverseProcess::new(&schedule, &config, Prediction::Epsilon, DataRange::UNIT);
        let visited = process.timesteps();
        let first = visited[0];
        let mut rng = rng::stream(6, rng::Stream::Sampling);
        let start: Vec<Point> = initial_noise(n, &mut rng)
            .into_iter()
            .map(|z| {
                [0, 1].map(|axis| {
                    schedule.signal_scale(first) * C[axis] + schedule.noise_scale(first) * z[axis]
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
                        (var - want_var).abs() <= 5.0 * want_var * (2.0 / n as f64).sqrt() + 1e-9,
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
