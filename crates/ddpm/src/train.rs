//! Full-batch AdamW training of the noise predictor with the simplified DDPM objective.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::{
    fused::{AdamConfig, FusedNet, Trainer},
    prediction,
    rng::{self, Stream},
    schedule::Schedule,
    status::{Progress, RunStatus},
    Point, RunConfig,
};

/// What training returns besides the trained weights.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainReport {
    /// Completed, or diverged at an epoch.
    pub status: RunStatus,
    /// The loss of the last epoch run.
    pub final_loss: f64,
    /// `(epoch, loss)` every `loss_every` epochs, plus the first and the last.
    pub loss_curve: Vec<(usize, f64)>,
}

/// Trains `model` on `data` (already scaled) for `config.training.epochs` full-batch
/// epochs. Each epoch draws `t ~ U{1..T}` and `eps ~ N(0, I)` per point, forms
/// `x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps`, and takes one AdamW step on
/// `mean ||target - f_theta(x_t, t)||^2` (Ho et al. 2020, algorithm 1, whose target is
/// `eps`; `model.prediction` may choose `x0` or `v` instead, see [`prediction::target`],
/// the epsilon target being `eps` itself, bit for bit). A non-finite loss
/// stops training and is reported as divergence; it never panics.
pub fn train(
    net: &mut FusedNet,
    schedule: &Schedule,
    data: &[Point],
    config: &RunConfig,
    progress: &mut dyn FnMut(Progress),
) -> TrainReport {
    let training = &config.training;
    let n = data.len();
    let mut trainer = Trainer::new(
        net,
        n,
        AdamConfig {
            lr: training.lr,
            beta1: training.beta1,
            beta2: training.beta2,
            eps: training.eps,
            weight_decay: training.weight_decay,
        },
    );
    let mut rng = rng::stream(config.seed, Stream::Training);
    let steps = schedule.steps();
    let signal: Vec<f64> = (0..=steps).map(|t| schedule.signal_scale(t)).collect();
    let noise: Vec<f64> = (0..=steps).map(|t| schedule.noise_scale(t)).collect();

    let mut ts = vec![0usize; n];
    let mut x_t = vec![0f32; 2 * n];
    let mut targets = vec![0f32; 2 * n];
    let predict = config.model.prediction;
    let mut loss_curve = Vec::new();
    let mut final_loss = f64::NAN;
    let epochs = training.epochs;
    for epoch in 1..=epochs {
        for (i, x0) in data.iter().enumerate() {
            let t = rng.gen_range(1..=steps);
            ts[i] = t;
            for axis in 0..2 {
                let e: f64 = StandardNormal.sample(&mut rng);
                targets[2 * i + axis] =
                    prediction::target(predict, x0[axis], e, signal[t], noise[t]) as f32;
                x_t[2 * i + axis] = (signal[t] * x0[axis] + noise[t] * e) as f32;
            }
        }
        let value = trainer.step(net, &x_t, &targets, &ts);
        final_loss = value;
        if !value.is_finite() {
            loss_curve.push((epoch, value));
            return TrainReport {
                status: RunStatus::Diverged { epoch },
                final_loss,
                loss_curve,
            };
        }
        if epoch == 1 || epoch % training.loss_every == 0 || epoch == epochs {
            loss_curve.push((epoch, value));
        }
        progress(Progress::Epoch {
            epoch,
            epochs,
            loss: value,
        });
    }
    TrainReport {
        status: RunStatus::Completed,
        final_loss,
        loss_curve,
    }
}
