//! Benchmark-only workloads: one training epoch through the current (fused) layers or
//! through dfdx's stock layers, and the same epoch's matrix products alone.
//!
//! Nothing here is used by [`run`](crate::run); `diffsweep bench` drives it. The fused
//! path is the production code ([`NoisePredictor::forward`] and the optimiser settings of
//! [`train`](crate::train::train)), checked bit for bit against `train` by a test below.
//! The stock path is the network as it was before the fused kernel: `Linear`'s broadcast
//! bias add followed by `max(h, slope h)`. It computes the same function with the adds in
//! another order, so its numbers match the fused path's to rounding, not to the bit.

use dfdx::{nn::modules::Linear, optim::Adam, prelude::*};
use num_traits::Float;
use rand::Rng;
use rand_distr::{uniform::SampleUniform, Distribution, StandardNormal};

use crate::{
    config::MAX_STEPS,
    model::{Batch, NamedTensor, Network, NoisePredictor, OneHotNet},
    rng::{self, Stream, StreamRng},
    run::training_data,
    scaling::Scaler,
    schedule::Schedule,
    Point, RunConfig, TimeEncoding,
};

/// The matrix products of the post's network with the one-hot time encoding, as
/// `(inputs, outputs)` of each product `h W^T` in forward order: the time feature's part
/// of the first layer, the `x_t` part, then the trunk 100-100-100-20-2.
pub const PRODUCTS: [(usize, usize); 6] = [
    (1, 100),
    (2, 100),
    (100, 100),
    (100, 100),
    (100, 20),
    (20, 2),
];

/// Multiply-adds of one forward pass over `n` points: `n * sum(inputs * outputs)`, which
/// is `n (1*100 + 2*100 + 100*100*2 + 100*20 + 20*2) = 22,340 n`.
pub fn forward_macs(n: usize) -> u64 {
    let per_point: usize = PRODUCTS.iter().map(|(i, o)| i * o).sum();
    (n * per_point) as u64
}

/// Multiply-adds of the matrix products of one training epoch over `n` points, counted as
/// dfdx executes them: the forward product, and in the backward pass both the gradient
/// with respect to the product's input and the one with respect to its weight, each with
/// the forward's multiply-add count. dfdx computes the input gradient of the first layer
/// too (`x_t` and the time feature are traced), so every product counts three times:
/// `3 * 22,340 n`. A hand-written backward could skip those two input gradients
/// (`2 * 300 n`, under 1% of the total).
pub fn epoch_macs(n: usize) -> u64 {
    3 * forward_macs(n)
}

/// Floating-point operations of one training epoch's matrix products: two per multiply-add.
pub fn epoch_flops(n: usize) -> u64 {
    2 * epoch_macs(n)
}

/// Which layer implementation an [`EpochBench`] trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerPath {
    /// dfdx's stock ops: `Linear` (matmul, broadcast bias add), then `max(h, slope h)`.
    Stock,
    /// The current network: matmul, then the fused bias+LeakyReLU kernel.
    Fused,
}

/// The post's one-hot network built from dfdx's stock layers, as before the fused kernel.
#[derive(Clone, Debug)]
pub struct StockNet<E: Dtype, D: Storage<E>> {
    time_table: Tensor<Rank1<MAX_STEPS>, E, D>,
    time_bias: Tensor<Rank0, E, D>,
    input_x: Linear<2, 100, E, D>,
    input_t: Tensor<Rank2<100, 1>, E, D>,
    l2: Linear<100, 100, E, D>,
    l3: Linear<100, 100, E, D>,
    l4: Linear<100, 20, E, D>,
    l5: Linear<20, 2, E, D>,
}

impl<E, D> TensorCollection<E, D> for StockNet<E, D>
where
    E: Dtype + Float + SampleUniform,
    D: Device<E>,
{
    type To<E2: Dtype, D2: Device<E2>> = StockNet<E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> std::result::Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        // Every value is overwritten from the fused network's weights after building. dfdx
        // visits at most six fields at a time, hence the nested pairs.
        visitor.visit_fields(
            (
                (
                    Self::tensor(
                        "time_table",
                        |s| &s.time_table,
                        |s| &mut s.time_table,
                        TensorOptions::reset_to_zeros(),
                    ),
                    Self::tensor(
                        "time_bias",
                        |s| &s.time_bias,
                        |s| &mut s.time_bias,
                        TensorOptions::reset_to_zeros(),
                    ),
                ),
                (
                    Self::module("input_x", |s| &s.input_x, |s| &mut s.input_x),
                    Self::tensor(
                        "input_t",
                        |s| &s.input_t,
                        |s| &mut s.input_t,
                        TensorOptions::reset_to_zeros(),
                    ),
                ),
                Self::module("l2", |s| &s.l2, |s| &mut s.l2),
                Self::module("l3", |s| &s.l3, |s| &mut s.l3),
                Self::module("l4", |s| &s.l4, |s| &mut s.l4),
                Self::module("l5", |s| &s.l5, |s| &mut s.l5),
            ),
            |((time_table, time_bias), (input_x, input_t), l2, l3, l4, l5)| StockNet {
                time_table,
                time_bias,
                input_x,
                input_t,
                l2,
                l3,
                l4,
                l5,
            },
        )
    }
}

/// LeakyReLU as `max(h, slope h)`, the stock composition the fused kernel replaced.
fn stock_leaky_relu<S: Shape, T: Tape<f32, Cpu> + Merge<T>>(
    h: Tensor<S, f32, Cpu, T>,
    slope: f32,
) -> Tensor<S, f32, Cpu, T> {
    let scaled = h.retaped::<T>() * slope;
    h.maximum(scaled)
}

impl StockNet<f32, Cpu> {
    /// A stock network holding `weights` (the names of [`NoisePredictor::named_tensors`]
    /// for the one-hot encoding).
    fn from_weights(device: &Cpu, weights: &[NamedTensor]) -> StockNet<f32, Cpu> {
        let mut net = StockNet::<f32, Cpu>::build(device);
        let find = |name: &str| -> &[f32] {
            &weights
                .iter()
                .find(|t| t.name == name)
                .unwrap_or_else(|| panic!("the one-hot network has `{name}`"))
                .data
        };
        let mut table = vec![0.0f32; MAX_STEPS];
        let steps = find("time.weight");
        table[..steps.len()].copy_from_slice(steps);
        net.time_table.copy_from(&table);
        net.time_bias.copy_from(find("time.bias"));
        net.input_x.weight.copy_from(find("input_x.weight"));
        net.input_x.bias.copy_from(find("input_x.bias"));
        net.input_t.copy_from(find("input_t.weight"));
        net.l2.weight.copy_from(find("l2.weight"));
        net.l2.bias.copy_from(find("l2.bias"));
        net.l3.weight.copy_from(find("l3.weight"));
        net.l3.bias.copy_from(find("l3.bias"));
        net.l4.weight.copy_from(find("l4.weight"));
        net.l4.bias.copy_from(find("l4.bias"));
        net.l5.weight.copy_from(find("l5.weight"));
        net.l5.bias.copy_from(find("l5.bias"));
        net
    }

    fn forward<T>(&self, x: Batch<T>, ts: &[usize], slope: f32) -> Batch<T>
    where
        T: Tape<f32, Cpu> + Merge<T> + Merge<NoneTape>,
    {
        let n = ts.len();
        let device = self.time_bias.device();
        let index = device.tensor_from_vec(ts.iter().map(|t| t - 1).collect(), (n,));
        let feature = self.time_table.retaped::<T>().gather(index)
            + self.time_bias.retaped::<T>().broadcast_like(&(n,));
        let feature = feature.reshape_like(&(n, Const::<1>));
        let time = feature.matmul(self.input_t.retaped::<T>().permute());
        let h = stock_leaky_relu(self.input_x.forward(x) + time, slope);
        let h = stock_leaky_relu(self.l2.forward(h), slope);
        let h = stock_leaky_relu(self.l3.forward(h), slope);
        let h = stock_leaky_relu(self.l4.forward(h), slope);
        self.l5.forward(h)
    }
}

/// The network and optimiser of one layer path.
enum Trainee {
    Fused {
        model: Box<NoisePredictor>,
        optimiser: Box<Adam<OneHotNet<f32, Cpu>, f32, Cpu>>,
    },
    Stock {
        device: Cpu,
        net: Box<StockNet<f32, Cpu>>,
        optimiser: Box<Adam<StockNet<f32, Cpu>, f32, Cpu>>,
        slope: f32,
    },
}

/// One training run of the one-hot network, advanced an epoch at a time, exactly as
/// [`train`](crate::train::train) runs its loop: draw `t` and `eps` per point, build the
/// input tensors, forward, MSE, backward, one AdamW step, zero the gradients.
pub struct EpochBench {
    trainee: Trainee,
    grads: Option<Gradients<f32, Cpu>>,
    data: Vec<Point>,
    signal: Vec<f64>,
    noise: Vec<f64>,
    rng: StreamRng,
    ts: Vec<usize>,
    x_t: Vec<f32>,
    eps: Vec<f32>,
}

impl EpochBench {
    /// A fresh run of `config` (which must use the one-hot time encoding) on `path`. Both
    /// paths start from the same weights and draw the same training noise.
    pub fn new(config: &RunConfig, path: LayerPath) -> crate::Result<EpochBench> {
        config.validate()?;
        assert_eq!(
            config.model.time_encoding,
            TimeEncoding::OneHot,
            "the benchmark trains the post's one-hot network"
        );
        let schedule = Schedule::new(&config.schedule, config.steps)?;
        let raw = training_data(config);
        let data = Scaler::fit(config.scaling, &raw).transform_all(&raw);
        let model = NoisePredictor::new(&config.model, config.steps, config.seed);
        let training = &config.training;
        let adam = AdamConfig {
            lr: training.lr,
            betas: [training.beta1, training.beta2],
            eps: training.eps,
            weight_decay: Some(WeightDecay::Decoupled(training.weight_decay)),
        };
        let (trainee, grads) = match path {
            LayerPath::Fused => {
                let Network::OneHot(net) = &model.network else {
                    unreachable!("built with the one-hot encoding")
                };
                let optimiser = Box::new(Adam::new(net, adam));
                let grads = model.alloc_grads();
                let trainee = Trainee::Fused {
                    model: Box::new(model),
                    optimiser,
                };
                (trainee, grads)
            }
            LayerPath::Stock => {
                let device = model.device().clone();
                let net = Box::new(StockNet::from_weights(&device, &model.named_tensors()));
                let optimiser = Box::new(Adam::new(net.as_ref(), adam));
                let grads = net.alloc_grads();
                let slope = config.model.leaky_slope as f32;
                let trainee = Trainee::Stock {
                    device,
                    net,
                    optimiser,
                    slope,
                };
                (trainee, grads)
            }
        };
        let steps = schedule.steps();
        let n = data.len();
        Ok(EpochBench {
            trainee,
            grads: Some(grads),
            data,
            signal: (0..=steps).map(|t| schedule.signal_scale(t)).collect(),
            noise: (0..=steps).map(|t| schedule.noise_scale(t)).collect(),
            rng: rng::stream(config.seed, Stream::Training),
            ts: vec![0; n],
            x_t: vec![0.0; 2 * n],
            eps: vec![0.0; 2 * n],
        })
    }

    /// Runs one full-batch epoch and returns its loss.
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
        let grads = self
            .grads
            .take()
            .expect("put back at the end of every epoch");
        match &mut self.trainee {
            Trainee::Fused { model, optimiser } => {
                let device = model.device();
                let input = device.tensor_from_vec(self.x_t.clone(), (n, Const::<2>));
                let target = device.tensor_from_vec(self.eps.clone(), (n, Const::<2>));
                let prediction = model.forward(input.traced(grads), &self.ts);
                let loss = mse_loss(prediction, target);
                let value = loss.array() as f64;
                let mut grads = loss.backward();
                let Network::OneHot(net) = &mut model.network else {
                    unreachable!("built with the one-hot encoding")
                };
                optimiser
                    .update(net, &grads)
                    .expect("every parameter takes part in the loss");
                model.zero_grads(&mut grads);
                self.grads = Some(grads);
                value
            }
            Trainee::Stock {
                device,
                net,
                optimiser,
                slope,
            } => {
                let input = device.tensor_from_vec(self.x_t.clone(), (n, Const::<2>));
                let target = device.tensor_from_vec(self.eps.clone(), (n, Const::<2>));
                let prediction = net.forward(input.traced(grads), &self.ts, *slope);
                let loss = mse_loss(prediction, target);
                let value = loss.array() as f64;
                let mut grads = loss.backward();
                optimiser
                    .update(net.as_mut(), &grads)
                    .expect("every parameter takes part in the loss");
                net.zero_grads(&mut grads);
                self.grads = Some(grads);
                value
            }
        }
    }

    /// `eps_theta(x, t)` for every point of `x` at step `t`, without a tape: the network
    /// forward of one reverse step of the sampler.
    pub fn predict(&self, x: &[Point], t: usize) -> Vec<Point> {
        match &self.trainee {
            Trainee::Fused { model, .. } => crate::sample::predict_noise(model, x, t),
            Trainee::Stock {
                device, net, slope, ..
            } => {
                let n = x.len();
                let flat: Vec<f32> = x.iter().flat_map(|p| [p[0] as f32, p[1] as f32]).collect();
                let input = device.tensor_from_vec(flat, (n, Const::<2>));
                let out = net.forward(input, &vec![t; n], *slope).as_vec();
                out.chunks_exact(2)
                    .map(|e| [e[0] as f64, e[1] as f64])
                    .collect()
            }
        }
    }

    /// The fused path's weights, by name (`None` on the stock path).
    pub fn fused_weights(&self) -> Option<Vec<NamedTensor>> {
        match &self.trainee {
            Trainee::Fused { model, .. } => Some(model.named_tensors()),
            Trainee::Stock { .. } => None,
        }
    }
}

/// The matrix products of one training epoch over `n` points, alone: for every product
/// of [`PRODUCTS`], the forward `h W^T`, the input gradient `g W` and the weight gradient
/// `g^T h`, through dfdx's matmul (so the same gemm) on tensors of the same shapes and
/// memory layouts as in training, without a tape. Like training's forward, each product
/// allocates its zeroed output; unlike training's backward, the gradients are written to
/// fresh buffers instead of accumulated into existing ones.
pub struct MatmulBench {
    layers: Vec<MatmulOperands>,
}

struct MatmulOperands {
    /// The product's input `h`, (n, inputs).
    input: Tensor<(usize, usize), f32, Cpu>,
    /// The weight as dfdx stores it, (outputs, inputs).
    weight: Tensor<(usize, usize), f32, Cpu>,
    /// A gradient of the product's output, (n, outputs).
    grad_out: Tensor<(usize, usize), f32, Cpu>,
}

impl MatmulBench {
    /// Random operands for `n` points.
    pub fn new(n: usize) -> MatmulBench {
        let device = Cpu::seed_from_u64(0);
        let layers = PRODUCTS
            .iter()
            .map(|&(inputs, outputs)| MatmulOperands {
                input: device.sample_normal_like(&(n, inputs)),
                weight: device.sample_normal_like(&(outputs, inputs)),
                grad_out: device.sample_normal_like(&(n, outputs)),
            })
            .collect();
        MatmulBench { layers }
    }

    /// Runs every product of one epoch once.
    pub fn epoch(&self) {
        for layer in &self.layers {
            // Forward: (n, in) x (in, out), the weight read through a transposed view.
            let out = layer.input.clone().matmul(layer.weight.clone().permute());
            // Input gradient: (n, out) x (out, in).
            let grad_input = layer.grad_out.clone().matmul(layer.weight.clone());
            // Weight gradient, laid out like the weight: (out, n) x (n, in). dfdx computes
            // its transpose into the transposed layout, which gemm runs as this product.
            let grad_weight = layer.grad_out.clone().permute().matmul(layer.input.clone());
            std::hint::black_box((out, grad_input, grad_weight));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small_config() -> RunConfig {
        let mut config = RunConfig::default();
        config.dataset.n = 64;
        config.training.epochs = 5;
        config
    }

    #[test]
    fn forward_macs_follow_the_layer_sizes() {
        // n (2*100 + 1*100 + 100*100*2 + 100*20 + 20*2), as the issue writes it.
        let per_point = 2 * 100 + 100 + 100 * 100 * 2 + 100 * 20 + 20 * 2;
        assert_eq!(per_point, 22_340);
        for n in [1, 1000, 10_000] {
            assert_eq!(forward_macs(n), (n * per_point) as u64);
        }
    }

    #[test]
    fn an_epoch_counts_forward_and_both_gradients() {
        assert_eq!(epoch_macs(1000), 67_020_000);
        assert_eq!(epoch_flops(1000), 134_040_000);
        assert_eq!(epoch_flops(0), 0);
    }

    #[test]
    fn the_products_are_the_one_hot_networks_weights() {
        // Every product has a weight of its size; the rest are biases and the time table.
        let config = RunConfig::default();
        let model = NoisePredictor::new(&config.model, config.steps, 0);
        let weights: usize = model
            .named_tensors()
            .iter()
            .filter(|t| t.name.ends_with("weight") && t.name != "time.weight")
            .map(|t| t.data.len())
            .sum();
        let products: usize = PRODUCTS.iter().map(|(i, o)| i * o).sum();
        assert_eq!(weights, products);
    }

    #[test]
    fn the_fused_path_is_the_training_loop_bit_for_bit() {
        let config = small_config();
        let mut bench = EpochBench::new(&config, LayerPath::Fused).unwrap();
        for _ in 0..config.training.epochs {
            bench.epoch();
        }
        let schedule = Schedule::new(&config.schedule, config.steps).unwrap();
        let raw = training_data(&config);
        let data = Scaler::fit(config.scaling, &raw).transform_all(&raw);
        let mut model = NoisePredictor::new(&config.model, config.steps, config.seed);
        crate::train::train(&mut model, &schedule, &data, &config, &mut |_| {});
        assert_eq!(bench.fused_weights().unwrap(), model.named_tensors());
    }

    #[test]
    fn the_stock_path_computes_the_same_network() {
        let config = small_config();
        let mut fused = EpochBench::new(&config, LayerPath::Fused).unwrap();
        let mut stock = EpochBench::new(&config, LayerPath::Stock).unwrap();
        let x = [[0.3, -0.2], [-1.0, 0.5], [0.0, 0.0]];
        for t in [1, 4, 10] {
            for (a, b) in fused.predict(&x, t).iter().zip(stock.predict(&x, t)) {
                for axis in 0..2 {
                    assert!((a[axis] - b[axis]).abs() < 1e-5, "t={t}: {a:?} vs {b:?}");
                }
            }
        }
        for _ in 0..config.training.epochs {
            let (a, b) = (fused.epoch(), stock.epoch());
            assert!((a - b).abs() < 1e-4 * a.abs().max(1.0), "loss {a} vs {b}");
        }
    }

    #[test]
    fn matmul_bench_runs_every_product() {
        // The products' shapes agree, or dfdx's matmul panics.
        MatmulBench::new(8).epoch();
    }
}
