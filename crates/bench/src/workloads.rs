//! What the benchmark times of diffsweep itself: the production training loop, the
//! sampler, the matrix products of one epoch on each instruction set, and the metrics.
//! Every workload calls the code a run calls; nothing is re-implemented for timing.

use ddpm::{
    fused::{
        gemm::{self, Dims, Lhs, Rhs},
        FusedNet, Isa,
    },
    init::NoisePredictor,
    metrics,
    rng::{self, Stream},
    sample,
    scaling::Scaler,
    train, training_data, Point, RunConfig, Schedule,
};

/// Widths of the post's network with the one-hot time feature: `[x_t, feature]`, then the
/// hidden layers and the output.
const WIDTHS: [usize; 6] = [3, 100, 100, 100, 20, 2];

/// Multiply-adds of one training epoch of the fused op over `n` points: the forward
/// product of every layer, the weight gradient of every layer, and the input gradient of
/// every layer but the first, of which only the time column is formed (1 of 3 inputs):
/// `n (22,340 + 22,340 + 22,040 + 100) = 66,820 n`.
pub fn epoch_macs(n: usize) -> u64 {
    let products: usize = WIDTHS.windows(2).map(|w| w[0] * w[1]).sum();
    let input_gradients: usize = WIDTHS.windows(2).skip(1).map(|w| w[0] * w[1]).sum();
    let time_column = WIDTHS[1];
    (n * (2 * products + input_gradients + time_column)) as u64
}

/// The post's network and data at `n` points and `T = steps`: one-hot time, polynomial
/// schedule, minmax scaling, two moons (the defaults).
pub fn post_config(n: usize, steps: usize) -> RunConfig {
    let mut config = RunConfig::default();
    config.dataset.n = n;
    config.steps = steps;
    config
}

/// A run's training, set up once; [`TrainLoop::epochs`] runs `ddpm::train::train`, the
/// function `diffsweep train` and every sweep call, from the same initial weights.
pub struct TrainLoop {
    config: RunConfig,
    schedule: Schedule,
    data: Vec<Point>,
    initial: FusedNet,
}

impl TrainLoop {
    /// The run of `config` (its data, schedule and initial network) on this CPU's best
    /// instruction set, as a run trains.
    pub fn new(config: &RunConfig) -> anyhow::Result<TrainLoop> {
        TrainLoop::on(Isa::detect(), config)
    }

    /// The run of `config` with the fused kernels on `isa`.
    pub fn on(isa: Isa, config: &RunConfig) -> anyhow::Result<TrainLoop> {
        config.validate()?;
        let schedule = Schedule::new(&config.schedule, config.steps)?;
        let raw = training_data(config);
        let data = Scaler::fit(config.scaling, &raw).transform_all(&raw);
        let init = NoisePredictor::new(&config.model, config.steps, config.seed);
        let initial =
            FusedNet::from_named_on(isa, &config.model, config.steps, &init.named_tensors())?;
        Ok(TrainLoop {
            config: config.clone(),
            schedule,
            data,
            initial,
        })
    }

    /// Trains a copy of the initial network for `epochs` epochs; returns the final loss.
    pub fn epochs(&self, epochs: usize) -> f64 {
        let mut config = self.config.clone();
        config.training.epochs = epochs;
        let mut net = self.initial.clone();
        train::train(&mut net, &self.schedule, &self.data, &config, &mut |_| {}).final_loss
    }

    /// The initial network (for the sampler figures).
    pub fn network(&self) -> &FusedNet {
        &self.initial
    }

    /// The schedule of the run.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// The run's config.
    pub fn config(&self) -> &RunConfig {
        &self.config
    }
}

/// Draws `n` samples with the run's sampler (`sampling.steps` reverse steps, `T` by
/// default), as `ddpm::run` does.
pub fn draw_samples(train: &TrainLoop, n: usize) -> Vec<Point> {
    let mut stream = rng::stream(0, Stream::Sampling);
    let config = train.config();
    // The bench's runs are min-max scaled (the post's setup), whose range is [-1, 1].
    let process = sample::ReverseProcess::new(
        train.schedule(),
        &config.sampling,
        config.model.prediction,
        sample::DataRange::UNIT,
    );
    sample::sample(train.network(), &process, n, &mut stream)
}

/// The matrix products of one training epoch at `n` points, as the fused op runs them,
/// with stand-in values (the values do not change the cost).
pub struct EpochProducts {
    n: usize,
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
    pack: Vec<f32>,
}

impl EpochProducts {
    /// Buffers for `n` points.
    pub fn new(n: usize) -> EpochProducts {
        let wide = n * 100;
        EpochProducts {
            n,
            a: (0..wide)
                .map(|i| ((i * 7919) % 211) as f32 / 211.0 - 0.5)
                .collect(),
            b: (0..wide)
                .map(|i| ((i * 104_729) % 223) as f32 / 223.0 - 0.5)
                .collect(),
            c: vec![0.0; wide],
            pack: Vec::new(),
        }
    }

    /// Runs the epoch's products on `isa`.
    pub fn run(&mut self, isa: Isa) {
        let n = self.n;
        let dims = |rows, depth, cols| Dims { rows, depth, cols };
        for w in WIDTHS.windows(2) {
            let (inputs, outputs) = (w[0], w[1]);
            // Forward, then the weight gradient X^T dZ.
            let forward = dims(n, inputs, outputs);
            gemm::matmul(
                isa,
                &mut self.c,
                Lhs::Rows(&self.a),
                Rhs::Rows(&self.b),
                forward,
                &mut self.pack,
            );
            let weight = dims(inputs, n, outputs);
            gemm::matmul(
                isa,
                &mut self.c,
                Lhs::Transposed(&self.a),
                Rhs::Rows(&self.b),
                weight,
                &mut self.pack,
            );
            let input = if inputs == WIDTHS[0] {
                // Only the time column of the first layer's input gradient.
                dims(n, outputs, 1)
            } else {
                dims(n, outputs, inputs)
            };
            gemm::matmul(
                isa,
                &mut self.c,
                Lhs::Rows(&self.a),
                Rhs::Transposed(&self.b),
                input,
                &mut self.pack,
            );
        }
    }
}

/// All three metrics of `samples` against `data`, as a run scores them.
pub fn score(data: &[Point], samples: &[Point]) -> metrics::Metrics {
    metrics::evaluate(data, samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epoch_is_66820_multiply_adds_per_point() {
        // Forward and weight gradient: 3*100 + 2*100*100 + 100*20 + 20*2 = 22,340 each;
        // input gradients: 22,340 - 300 + 100 (the time column) = 22,140.
        assert_eq!(epoch_macs(1), 22_340 * 2 + 22_040 + 100);
        assert_eq!(epoch_macs(1000), 66_820_000);
    }

    #[test]
    fn the_train_loop_is_the_production_function() {
        // Same config, same epochs: the loop's loss is the one `ddpm::run` reports.
        let mut config = post_config(64, 10);
        config.training.epochs = 20;
        let looped = TrainLoop::new(&config).unwrap().epochs(20);
        let outcome = ddpm::run(&config, &mut |_| {}).unwrap();
        assert_eq!(looped.to_bits(), outcome.final_loss.to_bits());
    }
}
