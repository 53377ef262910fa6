//! A run's initial weights: the post's network built on dfdx, whose construction draws
//! PyTorch's initialisation from the run's weight stream, read out as named tensors.
//!
//! The post's network concatenates `x_t` with a time feature and runs an MLP
//! 3-100-100-100-20-2 with LeakyReLU. Concatenation followed by a linear layer equals the
//! sum of two linear maps, `[x, f] W^T = x W_x^T + f W_f^T`, which is how the first layer
//! is written here: it keeps every layer size a const generic, as dfdx 0.13 requires. Both
//! parts are initialised with PyTorch's bound for the concatenated layer, `1/sqrt(2 + F)`,
//! so the initial distribution is the post's. Runs train and sample these weights on the
//! fused op ([`crate::fused`]); dfdx's autodiff over the same network is
//! [`crate::reference`].

use dfdx::{nn::modules::Linear, prelude::*};
use num_traits::Float;
use rand_distr::{uniform::SampleUniform, Uniform};

use crate::{
    config::{ModelConfig, TimeEncoding, MAX_STEPS},
    named_tensor::NamedTensor,
    rng::{self, Stream},
    time_encoding::SINUSOIDAL_FEATURES,
};

/// Width of the hidden layers.
const HIDDEN: usize = 100;
/// Width of the last hidden layer.
const NARROW: usize = 20;

/// The initial weights of a run's network for `steps = T`, drawn from the weight stream of
/// `seed`, by name in PyTorch's layout.
pub fn initial_weights(config: &ModelConfig, steps: usize, seed: u64) -> Vec<NamedTensor> {
    NoisePredictor::new(config, steps, seed).named_tensors()
}

/// The layers of the network with `F` time features: the split first layer and the trunk
/// 100-100-100-20-2.
#[derive(Clone, Debug)]
pub struct Body<const F: usize, E: Dtype, D: Storage<E>> {
    /// First layer, the `x_t` part, with the layer's bias.
    pub(crate) input_x: Linear<2, HIDDEN, E, D>,
    /// First layer, the time-feature part, stored like a dfdx weight: (out, in).
    pub(crate) input_t: Tensor<Rank2<HIDDEN, F>, E, D>,
    pub(crate) l2: Linear<HIDDEN, HIDDEN, E, D>,
    pub(crate) l3: Linear<HIDDEN, HIDDEN, E, D>,
    pub(crate) l4: Linear<HIDDEN, NARROW, E, D>,
    pub(crate) l5: Linear<NARROW, 2, E, D>,
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
    /// Redraws the `x_t` part of the first layer with the concatenated layer's bound.
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
    pub(crate) fn parameters<R: ReadParameter>(&self) -> [(&'static str, &dyn Parameter<R>); 11] {
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
}

/// How a parameter tensor is read as flat values: its weights ([`Values`]) or, in the
/// reference, its gradient.
pub(crate) trait ReadParameter {
    /// The values `tensor` stands for, row-major.
    fn read<S: Shape>(&self, tensor: &Tensor<S, f32, Cpu>) -> Vec<f32>;
}

/// Reads a parameter's own values.
struct Values;

impl ReadParameter for Values {
    fn read<S: Shape>(&self, tensor: &Tensor<S, f32, Cpu>) -> Vec<f32> {
        tensor.as_vec()
    }
}

/// A parameter tensor of any shape, read as flat values by `R`.
pub(crate) trait Parameter<R> {
    /// Its shape, outermost first.
    fn shape_vec(&self) -> Vec<usize>;
    /// What `reader` reads of it, row-major.
    fn read(&self, reader: &R) -> Vec<f32>;
    /// `data` under `name` with this parameter's shape.
    fn named(&self, name: &str, data: Vec<f32>) -> NamedTensor {
        NamedTensor {
            name: name.to_string(),
            shape: self.shape_vec(),
            data,
        }
    }
}

impl<S: Shape, R: ReadParameter> Parameter<R> for Tensor<S, f32, Cpu> {
    fn shape_vec(&self) -> Vec<usize> {
        self.shape().concrete().into_iter().collect()
    }

    fn read(&self, reader: &R) -> Vec<f32> {
        reader.read(self)
    }
}

/// The post's network: `one_hot(t - 1)` through `Linear(T, 1)` (a learned scalar per step
/// plus a bias) as the single time feature.
#[derive(Clone, Debug)]
pub struct OneHotNet<E: Dtype, D: Storage<E>> {
    /// The weight of `Linear(T, 1)`; only the first `T` entries are used (see
    /// [`MAX_STEPS`]).
    pub(crate) time_table: Tensor<Rank1<MAX_STEPS>, E, D>,
    /// The bias of `Linear(T, 1)`.
    pub(crate) time_bias: Tensor<Rank0, E, D>,
    pub(crate) body: Body<1, E, D>,
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
    pub(crate) body: Body<SINUSOIDAL_FEATURES, E, D>,
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

/// The dfdx network of either time encoding.
#[derive(Clone, Debug)]
pub enum DfdxNetwork {
    /// The post's one-hot encoder.
    OneHot(OneHotNet<f32, Cpu>),
    /// Sinusoidal features.
    Sinusoidal(SinusoidalNet<f32, Cpu>),
}

/// The dfdx network of one run, with its own dfdx device: what draws the initial weights,
/// and what [`crate::reference`] differentiates.
pub struct NoisePredictor {
    pub(crate) device: Cpu,
    pub(crate) network: DfdxNetwork,
    pub(crate) steps: usize,
    pub(crate) slope: f32,
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
                DfdxNetwork::OneHot(net)
            }
            TimeEncoding::Sinusoidal => {
                let mut net = SinusoidalNet::<f32, Cpu>::build(&device);
                net.body.reinit_first_layer();
                DfdxNetwork::Sinusoidal(net)
            }
        };
        NoisePredictor {
            device,
            network,
            steps,
            slope: config.leaky_slope as f32,
        }
    }

    /// Every parameter, by name.
    pub fn named_tensors(&self) -> Vec<NamedTensor> {
        self.collect(&Values)
    }

    /// What `reader` reads of every parameter, by name, in the order weights are stored.
    /// Only the first `T` entries of the one-hot table are parameters of this run.
    pub(crate) fn collect<R: ReadParameter>(&self, reader: &R) -> Vec<NamedTensor> {
        let body = match &self.network {
            DfdxNetwork::OneHot(net) => net.body.parameters(),
            DfdxNetwork::Sinusoidal(net) => net.body.parameters(),
        };
        let mut out = Vec::new();
        if let DfdxNetwork::OneHot(net) = &self.network {
            out.push(NamedTensor {
                name: "time.weight".into(),
                shape: vec![self.steps],
                data: reader.read(&net.time_table)[..self.steps].to_vec(),
            });
            let bias: &dyn Parameter<R> = &net.time_bias;
            out.push(bias.named("time.bias", bias.read(reader)));
        }
        out.extend(
            body.into_iter()
                .map(|(name, p)| p.named(name, p.read(reader))),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
