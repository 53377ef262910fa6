//! The training epoch as diffsweep ran it before the fused op: the network on dfdx's
//! autodiff ([`NoisePredictor::forward`], whose layers use the fused bias+LeakyReLU tape
//! kernel) and dfdx's AdamW, with the same data, noise draws and settings as a run. It is
//! the "before" column of the benchmark; nothing in a run uses it.

use ddpm::{
    reference::{DfdxNetwork, NoisePredictor, OneHotNet},
    rng::{self, Stream, StreamRng},
    scaling::Scaler,
    training_data, Point, RunConfig, Schedule, TimeEncoding,
};
use dfdx::{optim::Adam, prelude::*};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// One run of the one-hot network on dfdx, advanced an epoch at a time.
pub struct DfdxEpochs {
    model: NoisePredictor,
    optimiser: Adam<OneHotNet<f32, Cpu>, f32, Cpu>,
    grads: Option<Gradients<f32, Cpu>>,
    data: Vec<Point>,
    signal: Vec<f64>,
    noise: Vec<f64>,
    rng: StreamRng,
    ts: Vec<usize>,
    x_t: Vec<f32>,
    eps: Vec<f32>,
}

impl DfdxEpochs {
    /// A fresh run of `config`, which must use the one-hot time encoding.
    pub fn new(config: &RunConfig) -> anyhow::Result<DfdxEpochs> {
        config.validate()?;
        // One core, as every figure: dfdx's matmul would otherwise fan out onto rayon.
        gemm_common::gemm::set_threading_threshold(usize::MAX);
        anyhow::ensure!(
            config.model.time_encoding == TimeEncoding::OneHot,
            "the dfdx path benchmarks the post's one-hot network"
        );
        let schedule = Schedule::new(&config.schedule, config.steps)?;
        let raw = training_data(config);
        let data = Scaler::fit(config.scaling, &raw).transform_all(&raw);
        let model = NoisePredictor::new(&config.model, config.steps, config.seed);
        let training = &config.training;
        let DfdxNetwork::OneHot(net) = model.network() else {
            anyhow::bail!("built with the one-hot encoding");
        };
        let optimiser = Adam::new(
            net,
            AdamConfig {
                lr: training.lr,
                betas: [training.beta1, training.beta2],
                eps: training.eps,
                weight_decay: Some(WeightDecay::Decoupled(training.weight_decay)),
            },
        );
        let grads = Some(model.alloc_grads());
        let steps = schedule.steps();
        let n = data.len();
        Ok(DfdxEpochs {
            model,
            optimiser,
            grads,
            data,
            signal: (0..=steps).map(|t| schedule.signal_scale(t)).collect(),
            noise: (0..=steps).map(|t| schedule.noise_scale(t)).collect(),
            rng: rng::stream(config.seed, Stream::Training),
            ts: vec![0; n],
            x_t: vec![0.0; 2 * n],
            eps: vec![0.0; 2 * n],
        })
    }

    /// Runs one full-batch epoch (draws, forward, MSE, backward, AdamW) and returns its loss.
    pub fn epoch(&mut self) -> f64 {
        let steps = self.signal.len() - 1;
        for (i, x0) in self.data.iter().enumerate() {
            let t = self.rng.gen_range(1..=steps);
            self.ts[i] = t;
            for axis in 0..2 {
                let e: f64 = StandardNormal.sample(&mut self.rng);
                self.eps[2 * i + axis] = e as f32;
                self.x_t[2 * i + axis] = (self.signal[t] * x0[axis] + self.noise[t] * e) as f32;
            }
        }
        let n = self.data.len();
        let device = self.model.device().clone();
        let input = device.tensor_from_vec(self.x_t.clone(), (n, Const::<2>));
        let target = device.tensor_from_vec(self.eps.clone(), (n, Const::<2>));
        let grads = self
            .grads
            .take()
            .unwrap_or_else(|| self.model.alloc_grads());
        let prediction = self.model.forward(input.traced(grads), &self.ts);
        let loss = mse_loss(prediction, target);
        let value = loss.array() as f64;
        let mut grads = loss.backward();
        if let DfdxNetwork::OneHot(net) = self.model.network_mut() {
            // Every parameter takes part in the loss and the Cpu device cannot fail.
            let _ = self.optimiser.update(net, &grads);
        }
        self.model.zero_grads(&mut grads);
        self.grads = Some(grads);
        value
    }
}
