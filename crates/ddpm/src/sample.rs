//! Ancestral sampling from the trained noise predictor (Ho et al. 2020, algorithm 2).

use rand_distr::{Distribution, StandardNormal};

use crate::{
    config::SamplerVariance,
    fused::{Activations, FusedNet, Steps},
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

/// `eps_theta(x, t)` for every point of `x` (model space) at one step `t` in `1..=T`,
/// into `scratch`; returns the predictions, `[e_x, e_y]` per point, as f32 pairs.
fn predict_into<'a>(net: &FusedNet, scratch: &'a mut Scratch, x: &[Point], t: usize) -> &'a [f32] {
    scratch.input.clear();
    scratch
        .input
        .extend(x.iter().flat_map(|p| [p[0] as f32, p[1] as f32]));
    net.forward(&mut scratch.acts, &scratch.input, Steps::Same(t))
}

/// `eps_theta(x, t)` for every point of `x` (model space) at one step `t` in `1..=T`.
pub fn predict_noise(net: &FusedNet, x: &[Point], t: usize) -> Vec<Point> {
    let mut scratch = Scratch::default();
    predict_into(net, &mut scratch, x, t)
        .chunks_exact(2)
        .map(|e| [e[0] as f64, e[1] as f64])
        .collect()
}

/// The standard deviation of the reverse step at `t`.
fn sigma(schedule: &Schedule, variance: SamplerVariance, t: usize) -> f64 {
    match variance {
        SamplerVariance::Posterior => schedule.posterior_variance[t].sqrt(),
        SamplerVariance::Beta => schedule.betas[t].sqrt(),
    }
}

/// One reverse step for every point: `x_{t-1} = (x_t - beta_t / sqrt(1 - alpha_bar_t)
/// eps_theta) / sqrt(alpha_t) + sigma_t z`, `z ~ N(0, I)`, with no noise at `t = 1`.
pub fn reverse_step(
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

fn initial_noise(n: usize, rng: &mut StreamRng) -> Vec<Point> {
    (0..n)
        .map(|_| [StandardNormal.sample(rng), StandardNormal.sample(rng)])
        .collect()
}

/// Draws `n` samples (model space): `x_T ~ N(0, I)`, then `t = T..1` reverse steps.
pub fn sample(
    net: &FusedNet,
    schedule: &Schedule,
    variance: SamplerVariance,
    n: usize,
    rng: &mut StreamRng,
) -> Vec<Point> {
    let mut x = initial_noise(n, rng);
    let mut scratch = Scratch::default();
    for t in (1..=schedule.steps()).rev() {
        reverse_step(net, schedule, variance, &mut x, t, rng, &mut scratch);
    }
    x
}

/// Like [`sample`], keeping every state: entry `k` is `x_{T-k}` (model space), so the first
/// entry is the initial noise and the last the samples. Draws the same numbers as
/// [`sample`], so its last entry equals `sample`'s output for the same stream.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{model::NoisePredictor, rng, ModelConfig, ScheduleConfig};

    fn network(steps: usize) -> FusedNet {
        let config = ModelConfig::default();
        let init = NoisePredictor::new(&config, steps, 0).named_tensors();
        FusedNet::from_named(&config, steps, &init).unwrap()
    }

    #[test]
    fn trajectory_ends_where_sample_ends() {
        let schedule = Schedule::new(&ScheduleConfig::default(), 10).unwrap();
        let model = network(10);
        let mut r1 = rng::stream(5, rng::Stream::Sampling);
        let mut r2 = rng::stream(5, rng::Stream::Sampling);
        let s = sample(&model, &schedule, SamplerVariance::Posterior, 50, &mut r1);
        let tr = trajectory(&model, &schedule, SamplerVariance::Posterior, 50, &mut r2);
        assert_eq!(tr.len(), 11);
        assert_eq!(tr.last().unwrap(), &s);
    }

    /// One reverse step at `t` from `start`, with the sampling stream of `seed`.
    fn one_step(
        model: &FusedNet,
        schedule: &Schedule,
        variance: SamplerVariance,
        start: &[Point],
        t: usize,
        seed: u64,
    ) -> Vec<Point> {
        let mut x = start.to_vec();
        let mut rng = rng::stream(seed, rng::Stream::Sampling);
        reverse_step(
            model,
            schedule,
            variance,
            &mut x,
            t,
            &mut rng,
            &mut Scratch::default(),
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
        let eps = predict_noise(&model, &start, 1);
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
        let eps = predict_noise(&model, &start[..1], 7)[0];
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
