//! Full-batch AdamW training of the noise predictor with the simplified DDPM objective.

use dfdx::{optim::Adam, prelude::*};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::{
    model::{Network, NoisePredictor, OneHotNet, SinusoidalNet},
    rng::{self, Stream},
    run::{Progress, RunStatus},
    schedule::Schedule,
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

/// AdamW for either network type.
enum Optimiser {
    OneHot(Adam<OneHotNet<f32, Cpu>, f32, Cpu>),
    Sinusoidal(Adam<SinusoidalNet<f32, Cpu>, f32, Cpu>),
}

impl Optimiser {
    fn new(network: &Network, config: AdamConfig) -> Optimiser {
        match network {
            Network::OneHot(net) => Optimiser::OneHot(Adam::new(net, config)),
            Network::Sinusoidal(net) => Optimiser::Sinusoidal(Adam::new(net, config)),
        }
    }

    fn step(&mut self, network: &mut Network, grads: &Gradients<f32, Cpu>) {
        let result = match (self, network) {
            (Optimiser::OneHot(opt), Network::OneHot(net)) => opt.update(net, grads),
            (Optimiser::Sinusoidal(opt), Network::Sinusoidal(net)) => opt.update(net, grads),
            _ => unreachable!("the optimiser is built for the network it updates"),
        };
        result.expect("every parameter takes part in the loss, and the Cpu device cannot fail");
    }
}

/// Trains `model` on `data` (already scaled) for `config.training.epochs` full-batch
/// epochs. Each epoch draws `t ~ U{1..T}` and `eps ~ N(0, I)` per point, forms
/// `x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps`, and takes one AdamW step on
/// `mean ||eps - eps_theta(x_t, t)||^2` (Ho et al. 2020, algorithm 1). A non-finite loss
/// stops training and is reported as divergence; it never panics.
pub fn train(
    model: &mut NoisePredictor,
    schedule: &Schedule,
    data: &[Point],
    config: &RunConfig,
    progress: &mut dyn FnMut(Progress),
) -> TrainReport {
    let training = &config.training;
    let mut optimiser = Optimiser::new(
        &model.network,
        AdamConfig {
            lr: training.lr,
            betas: [training.beta1, training.beta2],
            eps: training.eps,
            weight_decay: Some(WeightDecay::Decoupled(training.weight_decay)),
        },
    );
    let mut rng = rng::stream(config.seed, Stream::Training);
    let steps = schedule.steps();
    let n = data.len();
    let signal: Vec<f64> = (0..=steps).map(|t| schedule.signal_scale(t)).collect();
    let noise: Vec<f64> = (0..=steps).map(|t| schedule.noise_scale(t)).collect();

    let mut grads = model.alloc_grads();
    let mut ts = vec![0usize; n];
    let mut x_t = vec![0f32; 2 * n];
    let mut eps = vec![0f32; 2 * n];
    let mut loss_curve = Vec::new();
    let mut final_loss = f64::NAN;
    let epochs = training.epochs;
    for epoch in 1..=epochs {
        for (i, x0) in data.iter().enumerate() {
            let t = rng.gen_range(1..=steps);
            ts[i] = t;
            for axis in 0..2 {
                let e: f64 = StandardNormal.sample(&mut rng);
                eps[2 * i + axis] = e as f32;
                x_t[2 * i + axis] = (signal[t] * x0[axis] + noise[t] * e) as f32;
            }
        }
        let device = model.device();
        let input = device.tensor_from_vec(x_t.clone(), (n, Const::<2>));
        let target = device.tensor_from_vec(eps.clone(), (n, Const::<2>));
        let prediction = model.forward(input.traced(grads), &ts);
        let loss = mse_loss(prediction, target);
        let value = loss.array() as f64;
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
        grads = loss.backward();
        optimiser.step(&mut model.network, &grads);
        model.zero_grads(&mut grads);
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
