//! dfdx's autodiff over the dfdx network: the forward pass on any tape, the loss gradients,
//! and the gradient buffers and network that callers driving dfdx's optimisers need.

use dfdx::prelude::*;

use crate::{
    init::{Body, DfdxNetwork, NoisePredictor, ReadParameter},
    named_tensor::NamedTensor,
    time_encoding::{sinusoidal_features, SINUSOIDAL_FEATURES},
};

use super::tape_kernel::bias_leaky_relu;

/// A batch of points as the network sees them.
pub type Batch<T = NoneTape> = Tensor<(usize, Const<2>), f32, Cpu, T>;

/// Reads a parameter's gradient out of `Gradients`.
struct GradientOf<'a>(&'a Gradients<f32, Cpu>);

impl ReadParameter for GradientOf<'_> {
    fn read<S: Shape>(&self, tensor: &Tensor<S, f32, Cpu>) -> Vec<f32> {
        self.0.get(tensor).as_vec()
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
}

impl NoisePredictor {
    /// The dfdx network (for callers that drive dfdx's optimisers themselves).
    pub fn network(&self) -> &DfdxNetwork {
        &self.network
    }

    /// The dfdx network, mutably.
    pub fn network_mut(&mut self) -> &mut DfdxNetwork {
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
            DfdxNetwork::OneHot(net) => {
                let index: Vec<usize> = ts.iter().map(|t| t - 1).collect();
                let index = self.device.tensor_from_vec(index, (n,));
                let feature = net.time_table.retaped::<T>().gather(index)
                    + net.time_bias.retaped::<T>().broadcast_like(&(n,));
                let feature = feature.reshape_like(&(n, Const::<1>));
                net.body.forward(x, feature, self.slope)
            }
            DfdxNetwork::Sinusoidal(net) => {
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
        self.collect(&GradientOf(&grads))
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
            DfdxNetwork::OneHot(net) => net.alloc_grads(),
            DfdxNetwork::Sinusoidal(net) => net.alloc_grads(),
        }
    }

    /// Zeroes `grads` in place, keeping its buffers.
    pub fn zero_grads(&self, grads: &mut Gradients<f32, Cpu>) {
        match &self.network {
            DfdxNetwork::OneHot(net) => net.zero_grads(grads),
            DfdxNetwork::Sinusoidal(net) => net.zero_grads(grads),
        }
    }
}
