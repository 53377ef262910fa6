//! The noise predictor `eps_theta(x_t, t)` on dfdx: the post's MLP and its time encoders.
//!
//! The post's network concatenates `x_t` with a time feature and runs an MLP
//! 3-100-100-100-20-2 with LeakyReLU. Concatenation followed by a linear layer equals the
//! sum of two linear maps, `[x, f] W^T = x W_x^T + f W_f^T`, which is how the first layer
//! is written here: it avoids a copy per step and keeps every layer size a const generic,
//! as dfdx 0.13 requires. Both parts are initialised with PyTorch's bound for the
//! concatenated layer, `1/sqrt(2 + F)`, so the initial distribution is the post's.

use dfdx::{nn::modules::Linear, prelude::*};
use num_traits::Float;
use rand_distr::{uniform::SampleUniform, Uniform};

use crate::{
    config::{ModelConfig, TimeEncoding, MAX_STEPS},
    kernels::bias_leaky_relu,
    rng::{self, Stream},
    Error, Result,
};

/// Width of the hidden layers.
const HIDDEN: usize = 100;
/// Width of the last hidden layer.
const NARROW: usize = 20;
/// Number of sinusoidal time features (sine and cosine of 8 frequencies).
pub const SINUSOIDAL_FEATURES: usize = 16;

/// A batch of points as the network sees them.
pub type Batch<T = NoneTape> = Tensor<(usize, Const<2>), f32, Cpu, T>;

/// One parameter tensor, by name, in row-major order: how weights leave the crate.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedTensor {
    /// The parameter's name, e.g. `trunk.l2.weight`.
    pub name: String,
    /// Its shape, outermost first.
    pub shape: Vec<usize>,
    /// Its values, row-major.
    pub data: Vec<f32>,
}

/// The layers of the network with `F` time features: the split first layer and the trunk
/// 100-100-100-20-2.
#[derive(Clone, Debug)]
pub struct Body<const F: usize, E: Dtype, D: Storage<E>> {
    /// First layer, the `x_t` part, with the layer's bias.
    input_x: Linear<2, HIDDEN, E, D>,
    /// First layer, the time-feature part, stored like a dfdx weight: (out, in).
    input_t: Tensor<Rank2<HIDDEN, F>, E, D>,
    l2: Linear<HIDDEN, HIDDEN, E, D>,
    l3: Linear<HIDDEN, HIDDEN, E, D>,
    l4: Linear<HIDDEN, NARROW, E, D>,
    l5: Linear<NARROW, 2, E, D>,
}

impl<const F: usize, E, D> TensorCollection<E, D> for Body<F, E, D>
where
    E: Dtype + Float + SampleUniform,
    D: Device<E>,
{
    type To<E2: Dtype, D2: Device<E2>> = Body<F, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> std::result::Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("input_x", |s| &s.input_x, |s| &mut s.input_x),
                Self::tensor(
                    "input_t",
                    |s| &s.input_t,
                    |s| &mut s.input_t,
                    TensorOptions::reset_with(|t| {
                        let b = E::ONE / E::from_usize(2 + F).expect("small integer").sqrt();
                        t.try_fill_with_distr(Uniform::new(-b, b))
                    }),
                ),
                Self::module("l2", |s| &s.l2, |s| &mut s.l2),
                Self::module("l3", |s| &s.l3, |s| &mut s.l3),
                Self::module("l4", |s| &s.l4, |s| &mut s.l4),
                Self::module("l5", |s| &s.l5, |s| &mut s.l5),
            ),
            |(input_x, input_t, l2, l3, l4, l5)| Body {
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

impl<const F: usize> Body<F, f32, Cpu> {
    /// `eps_theta` for a batch of points `x` (n, 2) and their time features (n, F).
    fn forward<T: Tape<f32, Cpu> + Merge<T> + Merge<NoneTape>>(
        &self,
        x: Batch<T>,
        features: Tensor<(usize, Const<F>), f32, Cpu, T>,
        slope: f32,
    ) -> Batch<T> {
        let time = features.matmul(self.input_t.retaped::<T>().permute());
        let h = x.matmul(self.input_x.weight.retaped::<T>().permute()) + time;
        let h = bias_leaky_relu(h, &self.input_x.bias, slope);
        let h = h.matmul(self.l2.weight.retaped::<T>().permute());
        let h = bias_leaky_relu(h, &self.l2.bias, slope);
        let h = h.matmul(self.l3.weight.retaped::<T>().permute());
        let h = bias_leaky_relu(h, &self.l3.bias, slope);
        let h = h.matmul(self.l4.weight.retaped::<T>().permute());
        let h = bias_leaky_relu(h, &self.l4.bias, slope);
        self.l5.forward(h)
    }

    fn reinit_first_layer(&mut self) {
        // PyTorch initialises Linear(2 + F, 100) with bound 1/sqrt(2 + F); dfdx's
        // Linear<2, 100> would use 1/sqrt(2).
        let bound = 1.0 / ((2 + F) as f32).sqrt();
        self.input_x
            .weight
            .fill_with_distr(Uniform::new(-bound, bound));
        self.input_x
            .bias
            .fill_with_distr(Uniform::new(-bound, bound));
    }

    /// Every parameter with its name, in the order weights are stored.
    fn parameters(&self) -> [(&'static str, &dyn Parameter); 11] {
        [
            ("input_x.weight", &self.input_x.weight),
            ("input_x.bias", &self.input_x.bias),
            ("input_t.weight", &self.input_t),
            ("l2.weight", &self.l2.weight),
            ("l2.bias", &self.l2.bias),
            ("l3.weight", &self.l3.weight),
            ("l3.bias", &self.l3.bias),
            ("l4.weight", &self.l4.weight),
            ("l4.bias", &self.l4.bias),
            ("l5.weight", &self.l5.weight),
            ("l5.bias", &self.l5.bias),
        ]
    }

    fn load_named_tensors(&mut self, named: &[NamedTensor]) -> Result<()> {
        load(named, "input_x.weight", &mut self.input_x.weight)?;
        load(named, "input_x.bias", &mut self.input_x.bias)?;
        load(named, "input_t.weight", &mut self.input_t)?;
        load(named, "l2.weight", &mut self.l2.weight)?;
        load(named, "l2.bias", &mut self.l2.bias)?;
        load(named, "l3.weight", &mut self.l3.weight)?;
        load(named, "l3.bias", &mut self.l3.bias)?;
        load(named, "l4.weight", &mut self.l4.weight)?;
        load(named, "l4.bias", &mut self.l4.bias)?;
        load(named, "l5.weight", &mut self.l5.weight)?;
        load(named, "l5.bias", &mut self.l5.bias)
    }
}

/// A parameter tensor of any shape, read as flat values.
trait Parameter {
    /// Its shape, outermost first.
    fn shape_vec(&self) -> Vec<usize>;
    /// Its values, row-major.
    fn values(&self) -> Vec<f32>;
    /// Its gradient in `grads`, row-major.
    fn gradient(&self, grads: &Gradients<f32, Cpu>) -> Vec<f32>;
    /// `data` under `name` with this parameter's shape.
    fn named(&self, name: &str, data: Vec<f32>) -> NamedTensor {
        NamedTensor {
            name: name.to_string(),
            shape: self.shape_vec(),
            data,
        }
    }
}

impl<S: Shape> Parameter for Tensor<S, f32, Cpu> {
    fn shape_vec(&self) -> Vec<usize> {
        self.shape().concrete().into_iter().collect()
    }

    fn values(&self) -> Vec<f32> {
        self.as_vec()
    }

    fn gradient(&self, grads: &Gradients<f32, Cpu>) -> Vec<f32> {
        grads.get(self).as_vec()
    }
}

fn load<S: Shape>(named: &[NamedTensor], name: &str, t: &mut Tensor<S, f32, Cpu>) -> Result<()> {
    let shape: Vec<usize> = t.shape().concrete().into_iter().collect();
    let found = named
        .iter()
        .find(|n| n.name == name)
        .ok_or_else(|| Error::WeightMismatch(format!("missing tensor `{name}`")))?;
    if found.shape != shape || found.data.len() != t.shape().num_elements() {
        return Err(Error::WeightMismatch(format!(
            "`{name}` has shape {:?}, the model needs {shape:?}",
            found.shape
        )));
    }
    t.copy_from(&found.data);
    Ok(())
}

/// The post's network: `one_hot(t - 1)` through `Linear(T, 1)` (a learned scalar per step
/// plus a bias) as the single time feature.
#[derive(Clone, Debug)]
pub struct OneHotNet<E: Dtype, D: Storage<E>> {
    /// The weight of `Linear(T, 1)`; only the first `T` entries are used (see
    /// [`MAX_STEPS`]).
    time_table: Tensor<Rank1<MAX_STEPS>, E, D>,
    /// The bias of `Linear(T, 1)`.
    time_bias: Tensor<Rank0, E, D>,
    body: Body<1, E, D>,
}

impl<E, D> TensorCollection<E, D> for OneHotNet<E, D>
where
    E: Dtype + Float + SampleUniform,
    D: Device<E>,
{
    type To<E2: Dtype, D2: Device<E2>> = OneHotNet<E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> std::result::Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                // The real bound depends on T and is set after building.
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
                Self::module("body", |s| &s.body, |s| &mut s.body),
            ),
            |(time_table, time_bias, body)| OneHotNet {
                time_table,
                time_bias,
                body,
            },
        )
    }
}

/// A network with fixed sinusoidal time features.
#[derive(Clone, Debug)]
pub struct SinusoidalNet<E: Dtype, D: Storage<E>> {
    body: Body<SINUSOIDAL_FEATURES, E, D>,
}

impl<E, D> TensorCollection<E, D> for SinusoidalNet<E, D>
where
    E: Dtype + Float + SampleUniform,
    D: Device<E>,
{
    type To<E2: Dtype, D2: Device<E2>> = SinusoidalNet<E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> std::result::Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(Self::module("body", |s| &s.body, |s| &mut s.body), |body| {
            SinusoidalNet { body }
        })
    }
}

/// The sinusoidal features of step `t`: `sin(t w_k), cos(t w_k)` with
/// `w_k = 10000^(-k/8)`, k = 0..8 (Vaswani et al. 2017, as used by Ho et al. 2020).
pub fn sinusoidal_features(t: usize) -> [f32; SINUSOIDAL_FEATURES] {
    let half = SINUSOIDAL_FEATURES / 2;
    let mut out = [0.0; SINUSOIDAL_FEATURES];
    for k in 0..half {
        let w = 10000f64.powf(-(k as f64) / half as f64);
        out[k] = (t as f64 * w).sin() as f32;
        out[half + k] = (t as f64 * w).cos() as f32;
    }
    out
}

/// The network of either time encoding.
#[derive(Clone, Debug)]
pub enum Network {
    /// The post's one-hot encoder.
    OneHot(OneHotNet<f32, Cpu>),
    /// Sinusoidal features.
    Sinusoidal(SinusoidalNet<f32, Cpu>),
}

/// The noise predictor of one run, with its own dfdx device.
pub struct NoisePredictor {
    pub(crate) device: Cpu,
    pub(crate) network: Network,
    steps: usize,
    slope: f32,
}

impl NoisePredictor {
    /// A freshly initialised network for `steps = T`, its weights drawn from the run's
    /// weight stream.
    pub fn new(config: &ModelConfig, steps: usize, seed: u64) -> NoisePredictor {
        let device = Cpu::seed_from_u64(rng::derived_seed(seed, Stream::Weights));
        let network = match config.time_encoding {
            TimeEncoding::OneHot => {
                let mut net = OneHotNet::<f32, Cpu>::build(&device);
                net.body.reinit_first_layer();
                // PyTorch's Linear(T, 1): weight and bias uniform in +-1/sqrt(T).
                let bound = 1.0 / (steps as f32).sqrt();
                let mut table = vec![0.0f32; MAX_STEPS];
                let draws: Tensor<(usize,), f32, Cpu> = {
                    let mut t = device.zeros_like(&(steps,));
                    t.fill_with_distr(Uniform::new(-bound, bound));
                    t
                };
                table[..steps].copy_from_slice(&draws.as_vec());
                net.time_table.copy_from(&table);
                net.time_bias.fill_with_distr(Uniform::new(-bound, bound));
                Network::OneHot(net)
            }
            TimeEncoding::Sinusoidal => {
                let mut net = SinusoidalNet::<f32, Cpu>::build(&device);
                net.body.reinit_first_layer();
                Network::Sinusoidal(net)
            }
        };
        NoisePredictor {
            device,
            network,
            steps,
            slope: config.leaky_slope as f32,
        }
    }

    /// The dfdx network (for callers that drive dfdx's optimisers themselves).
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The dfdx network, mutably.
    pub fn network_mut(&mut self) -> &mut Network {
        &mut self.network
    }

    /// The number of diffusion steps the network was built for.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The device the network lives on.
    pub fn device(&self) -> &Cpu {
        &self.device
    }

    /// `eps_theta(x, t)` for a batch, with `ts[i]` in `1..=T` the step of row `i`.
    /// Generic over the tape, so training (with gradients) and sampling share it.
    pub fn forward<T>(&self, x: Batch<T>, ts: &[usize]) -> Batch<T>
    where
        T: Tape<f32, Cpu> + Merge<T> + Merge<NoneTape>,
    {
        let n = ts.len();
        match &self.network {
            Network::OneHot(net) => {
                let index: Vec<usize> = ts.iter().map(|t| t - 1).collect();
                let index = self.device.tensor_from_vec(index, (n,));
                let feature = net.time_table.retaped::<T>().gather(index)
                    + net.time_bias.retaped::<T>().broadcast_like(&(n,));
                let feature = feature.reshape_like(&(n, Const::<1>));
                net.body.forward(x, feature, self.slope)
            }
            Network::Sinusoidal(net) => {
                let mut features = Vec::with_capacity(n * SINUSOIDAL_FEATURES);
                for &t in ts {
                    features.extend_from_slice(&sinusoidal_features(t));
                }
                let features = self
                    .device
                    .tensor_from_vec(features, (n, Const::<SINUSOIDAL_FEATURES>))
                    .retaped::<T>();
                net.body.forward(x, features, self.slope)
            }
        }
    }

    /// The gradient of `mean ||eps - eps_theta(x, t)||^2` with respect to every parameter,
    /// by dfdx's autodiff, named like [`NoisePredictor::named_tensors`]: the reference the
    /// fused op's backward pass is tested against.
    pub fn loss_gradients(&self, x: &[f32], eps: &[f32], ts: &[usize]) -> Vec<NamedTensor> {
        let n = ts.len();
        let input = self.device.tensor_from_vec(x.to_vec(), (n, Const::<2>));
        let target = self.device.tensor_from_vec(eps.to_vec(), (n, Const::<2>));
        let grads = self.alloc_grads();
        let prediction = self.forward(input.traced(grads), ts);
        let grads = mse_loss(prediction, target).backward();
        self.collect(&|p| p.gradient(&grads))
    }

    /// `eps_theta(x, t)` by dfdx's ops, for `x` (`n x 2`, row-major) and `ts[i]` in `1..=T`.
    pub fn predict(&self, x: &[f32], ts: &[usize]) -> Vec<f32> {
        let input = self
            .device
            .tensor_from_vec(x.to_vec(), (ts.len(), Const::<2>));
        self.forward(input, ts).as_vec()
    }

    /// A zeroed gradient buffer for every parameter.
    pub fn alloc_grads(&self) -> Gradients<f32, Cpu> {
        match &self.network {
            Network::OneHot(net) => net.alloc_grads(),
            Network::Sinusoidal(net) => net.alloc_grads(),
        }
    }

    /// Zeroes `grads` in place, keeping its buffers.
    pub fn zero_grads(&self, grads: &mut Gradients<f32, Cpu>) {
        match &self.network {
            Network::OneHot(net) => net.zero_grads(grads),
            Network::Sinusoidal(net) => net.zero_grads(grads),
        }
    }

    /// Every parameter, by name.
    pub fn named_tensors(&self) -> Vec<NamedTensor> {
        self.collect(&|p| p.values())
    }

    /// `read` of every parameter, by name, in the order weights are stored. Only the first
    /// `T` entries of the one-hot table are parameters of this run.
    fn collect(&self, read: &dyn Fn(&dyn Parameter) -> Vec<f32>) -> Vec<NamedTensor> {
        let body = match &self.network {
            Network::OneHot(net) => net.body.parameters(),
            Network::Sinusoidal(net) => net.body.parameters(),
        };
        let mut out = Vec::new();
        if let Network::OneHot(net) = &self.network {
            out.push(NamedTensor {
                name: "time.weight".into(),
                shape: vec![self.steps],
                data: read(&net.time_table)[..self.steps].to_vec(),
            });
            out.push(net.time_bias.named("time.bias", read(&net.time_bias)));
        }
        out.extend(body.into_iter().map(|(name, p)| p.named(name, read(p))));
        out
    }

    /// Overwrites every parameter from `named`, checking names and shapes.
    pub fn load_named_tensors(&mut self, named: &[NamedTensor]) -> Result<()> {
        let steps = self.steps;
        match &mut self.network {
            Network::OneHot(net) => {
                let table = named
                    .iter()
                    .find(|n| n.name == "time.weight")
                    .ok_or_else(|| Error::WeightMismatch("missing tensor `time.weight`".into()))?;
                if table.shape != [steps] || table.data.len() != steps {
                    return Err(Error::WeightMismatch(format!(
                        "`time.weight` has shape {:?}, the model needs [{steps}]",
                        table.shape
                    )));
                }
                let mut full = vec![0.0f32; MAX_STEPS];
                full[..steps].copy_from_slice(&table.data);
                net.time_table.copy_from(&full);
                load(named, "time.bias", &mut net.time_bias)?;
                net.body.load_named_tensors(named)
            }
            Network::Sinusoidal(net) => net.body.load_named_tensors(named),
        }
    }

    /// The number of trainable parameters the run actually uses.
    pub fn parameter_count(&self) -> usize {
        self.named_tensors().iter().map(|t| t.data.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_hot_network_has_the_posts_parameter_count() {
        // Linear(T,1) + Linear(3,100) + 2 Linear(100,100) + Linear(100,20) + Linear(20,2).
        let steps = 10;
        let want =
            (steps + 1) + (3 * 100 + 100) + 2 * (100 * 100 + 100) + (100 * 20 + 20) + (20 * 2 + 2);
        let model = NoisePredictor::new(&ModelConfig::default(), steps, 0);
        assert_eq!(model.parameter_count(), want);
    }

    #[test]
    fn initialisation_follows_pytorchs_bounds_and_the_seed() {
        let steps = 100;
        let a = NoisePredictor::new(&ModelConfig::default(), steps, 3).named_tensors();
        let b = NoisePredictor::new(&ModelConfig::default(), steps, 3).named_tensors();
        let c = NoisePredictor::new(&ModelConfig::default(), steps, 4).named_tensors();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let bound = |name: &str| match name {
            "time.weight" | "time.bias" => 1.0 / (steps as f32).sqrt(),
            n if n.starts_with("input_") => 1.0 / 3f32.sqrt(),
            n if n.starts_with("l2") || n.starts_with("l3") || n.starts_with("l4") => 0.1,
            _ => 1.0 / 20f32.sqrt(),
        };
        for t in &a {
            let b = bound(&t.name);
            let max = t.data.iter().fold(0f32, |m, v| m.max(v.abs()));
            assert!(max <= b, "{}: {max} > {b}", t.name);
            if t.data.len() >= 20 {
                assert!(max > 0.8 * b, "{}: {max} is not spread over +-{b}", t.name);
            }
        }
    }

    #[test]
    fn weights_round_trip_through_named_tensors() {
        for encoding in [TimeEncoding::OneHot, TimeEncoding::Sinusoidal] {
            let config = ModelConfig {
                time_encoding: encoding,
                ..ModelConfig::default()
            };
            let source = NoisePredictor::new(&config, 10, 1);
            let mut target = NoisePredictor::new(&config, 10, 2);
            target.load_named_tensors(&source.named_tensors()).unwrap();
            assert_eq!(source.named_tensors(), target.named_tensors());
            let x = source
                .device()
                .tensor_from_vec(vec![0.1, -0.2, 0.3, 0.4], (2, Const::<2>));
            let ts = [1, 10];
            assert_eq!(
                source.forward(x.clone(), &ts).as_vec(),
                target.forward(x, &ts).as_vec()
            );
            let mut wrong = NoisePredictor::new(&config, 20, 2);
            assert!(
                wrong.load_named_tensors(&source.named_tensors()).is_err()
                    || encoding == TimeEncoding::Sinusoidal
            );
        }
    }

    #[test]
    fn the_time_feature_selects_its_step() {
        // Rows with the same x and different t must differ only through the table entry.
        let model = NoisePredictor::new(&ModelConfig::default(), 5, 0);
        let x = model
            .device()
            .tensor_from_vec(vec![0.3f32, 0.3, 0.3, 0.3], (2, Const::<2>));
        let out = model.forward(x, &[1, 5]).as_vec();
        assert_ne!(out[0..2], out[2..4]);
        let x = model
            .device()
            .tensor_from_vec(vec![0.3f32, 0.3, 0.3, 0.3], (2, Const::<2>));
        let same = model.forward(x, &[3, 3]).as_vec();
        assert_eq!(same[0..2], same[2..4]);
    }
}
