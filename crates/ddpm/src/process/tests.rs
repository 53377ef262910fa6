//! Tests of the forward process and the posterior: closed-form moments, the two forms of
//! the posterior mean, and Bayes' rule by simulation.

use super::*;
use crate::{rng, ScheduleConfig, ScheduleKind};
use rand_distr::{Distribution, StandardNormal};

fn gaussian(rng: &mut rng::StreamRng) -> Point {
    [StandardNormal.sample(rng), StandardNormal.sample(rng)]
}

#[test]
fn forward_moments_match_the_closed_form() {
    let schedule = Schedule::new(&ScheduleConfig::default(), 10).unwrap();
    let mut rng = rng::stream(1, rng::Stream::Training);
    let x0 = [0.7, -1.3];
    let n = 100_000;
    for t in [1usize, 5, 10] {
        let draws: Vec<Point> = (0..n)
            .map(|_| forward(&schedule, x0, t, gaussian(&mut rng)))
            .collect();
        for axis in 0..2 {
            let mean = draws.iter().map(|p| p[axis]).sum::<f64>() / n as f64;
            let var = draws.iter().map(|p| (p[axis] - mean).powi(2)).sum::<f64>() / n as f64;
            let want_mean = schedule.alpha_bar[t].sqrt() * x0[axis];
            let want_var = schedule.one_minus_alpha_bar[t];
            // Five standard errors of the mean and of the variance.
            let se_mean = (want_var / n as f64).sqrt();
            let se_var = want_var * (2.0 / n as f64).sqrt();
            assert!(
                (mean - want_mean).abs() < 5.0 * se_mean + 1e-12,
                "t={t} mean"
            );
            assert!((var - want_var).abs() < 5.0 * se_var + 1e-15, "t={t} var");
        }
    }
}

#[test]
fn posterior_mean_forms_agree() {
    for kind in ScheduleKind::ALL {
        let c = ScheduleConfig {
            kind,
            ..ScheduleConfig::default()
        };
        let schedule = Schedule::new(&c, 50).unwrap();
        let mut rng = rng::stream(2, rng::Stream::Training);
        for t in [1usize, 2, 25, 50] {
            let x0 = gaussian(&mut rng);
            let eps = gaussian(&mut rng);
            let xt = forward(&schedule, x0, t, eps);
            let a = posterior_mean(&schedule, x0, xt, t);
            let b = posterior_mean_from_noise(&schedule, xt, t, eps);
            for axis in 0..2 {
                assert!(
                    (a[axis] - b[axis]).abs() < 1e-9,
                    "{kind:?} t={t}: {a:?} {b:?}"
                );
            }
        }
    }
}

#[test]
fn posterior_matches_bayes_rule_by_simulation() {
    // q(x_{t-1} | x_t, x_0) ∝ q(x_t | x_{t-1}) q(x_{t-1} | x_0). Sample x_{t-1} from
    // q(.|x_0), then x_t from q(.|x_{t-1}), and regress: for jointly Gaussian pairs the
    // conditional mean is linear in x_t with the posterior's coefficient and residual
    // variance equal to the posterior variance.
    let c = ScheduleConfig {
        kind: ScheduleKind::Linear,
        ..ScheduleConfig::default()
    };
    let schedule = Schedule::new(&c, 10).unwrap();
    let t = 4;
    let x0 = 0.5;
    let mut rng = rng::stream(3, rng::Stream::Training);
    let n = 200_000;
    let (mut sx, mut sy, mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for _ in 0..n {
        let e1: f64 = StandardNormal.sample(&mut rng);
        let e2: f64 = StandardNormal.sample(&mut rng);
        let prev = schedule.alpha_bar[t - 1].sqrt() * x0 + schedule.noise_scale(t - 1) * e1;
        let xt = schedule.alphas[t].sqrt() * prev + schedule.betas[t].sqrt() * e2;
        sx += xt;
        sy += prev;
        sxx += xt * xt;
        sxy += xt * prev;
        syy += prev * prev;
    }
    let nf = n as f64;
    let (mx, my) = (sx / nf, sy / nf);
    let cov = sxy / nf - mx * my;
    let var_x = sxx / nf - mx * mx;
    let var_y = syy / nf - my * my;
    let slope = cov / var_x;
    let residual = var_y - cov * cov / var_x;
    let want_slope = schedule.alphas[t].sqrt() * schedule.one_minus_alpha_bar[t - 1]
        / schedule.one_minus_alpha_bar[t];
    assert!((slope - want_slope).abs() < 0.01, "{slope} vs {want_slope}");
    let want_var = schedule.posterior_variance[t];
    assert!(
        (residual / want_var - 1.0).abs() < 0.02,
        "{residual} vs {want_var}"
    );
}
