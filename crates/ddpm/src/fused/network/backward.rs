//! The fused network's backward pass: every parameter's gradient over one block of rows,
//! each sum continuing where the previous block left it.

use crate::fused::{
    elementwise,
    gemm::{self, Dims, Epilogue, Lhs, Packed, Rhs},
};

use super::{
    forward::{Activations, PackedWeights},
    net::{Encoding, FusedNet},
};

/// The backward pass's buffers.
#[derive(Clone, Debug, Default)]
pub(super) struct Gradients {
    /// Gradient with respect to the prediction, `n x 2`.
    pub(super) output: Vec<f32>,
    /// Two `n x 100` buffers the hidden layers' gradients alternate between.
    pub(super) hidden: [Vec<f32>; 2],
    /// Gradient with respect to the one-hot time feature, `n`.
    pub(super) feature: Vec<f32>,
    /// Gradient with respect to every parameter, laid out like [`FusedNet`]'s.
    pub(super) params: Vec<f32>,
    /// The last hidden-layer gradient again, packed for its weight-gradient product.
    pub(super) packed: Packed,
}

impl FusedNet {
    /// Adds the gradient of the loss over one block of rows with respect to every
    /// parameter to `grads.params`, given `acts` from [`FusedNet::forward`] on the same
    /// rows and `grads.output` holding the gradient with respect to their prediction.
    /// Every parameter's gradient is a sum over rows in ascending order that continues
    /// where the previous block left it, so blocks give the bits of the whole batch at once.
    pub(super) fn backward(
        &self,
        acts: &mut Activations,
        grads: &mut Gradients,
        weights: &PackedWeights,
        steps: &[usize],
    ) {
        let n = steps.len();
        let isa = self.isa;
        let Gradients {
            output,
            hidden,
            feature,
            params,
            packed,
        } = grads;
        let [even, odd] = hidden;
        for l in (0..5).rev() {
            let layer = self.layers[l];
            // The gradient with respect to layer l's pre-activation, and the buffer that
            // receives the one of layer l - 1: the two hidden buffers alternate.
            let (current, next): (&[f32], &mut [f32]) = match l {
                4 => (&output[..], &mut even[..]),
                _ if l % 2 == 1 => (&even[..], &mut odd[..]),
                _ => (&odd[..], &mut even[..]),
            };
            let input: &[f32] = if l == 0 {
                &acts.input
            } else {
                &acts.hidden[l - 1]
            };
            let grad_pre = &current[..n * layer.outputs];
            if l == 4 {
                elementwise::column_sums(isa, grad_pre, &mut params[layer.bias..][..layer.outputs]);
            }
            // dW^T += input^T dZ, (inputs x outputs), summed over the rows in order. Below
            // the output layer, dZ was also written packed by the product that made it.
            gemm::matmul_continue(
                isa,
                &mut params[layer.weight..][..layer.inputs * layer.outputs],
                Lhs::Transposed(&input[..n * layer.inputs]),
                if l == 4 {
                    Rhs::Rows(grad_pre)
                } else {
                    Rhs::Packed(packed)
                },
                Dims {
                    rows: layer.inputs,
                    depth: n,
                    cols: layer.outputs,
                },
                &mut acts.pack,
            );
            if l == 0 {
                if let Encoding::OneHot { table } = self.encoding {
                    self.time_table_gradient(
                        acts,
                        grad_pre,
                        feature,
                        &mut params[table..][..self.steps + 1],
                        steps,
                    );
                }
                break;
            }
            // dA = dZ W: the gradient with respect to the previous layer's activation,
            // then through its LeakyReLU.
            let previous = self.layers[l - 1];
            let (earlier, _) = params.split_at_mut(layer.weight);
            gemm::matmul_then(
                isa,
                &mut next[..n * previous.outputs],
                Lhs::Rows(grad_pre),
                Rhs::Packed(&weights.backward[l]),
                Dims {
                    rows: n,
                    depth: layer.outputs,
                    cols: layer.inputs,
                },
                Epilogue::LeakyReluBackward {
                    out: &acts.hidden[l - 1][..n * previous.outputs],
                    slope: self.slope,
                    bias_grad: &mut earlier[previous.bias..][..previous.outputs],
                    packed: Some(packed),
                },
                &mut acts.pack,
            );
        }
    }

    /// Adds the gradient of the one-hot table and its bias (`table_grad`, `T + 1` values)
    /// from the first layer's pre-activation gradient: only the time column of that layer's
    /// input gradient is formed, `d feature_i = sum_j dZ[i, j] W[2, j]`.
    fn time_table_gradient(
        &self,
        acts: &mut Activations,
        grad_pre: &[f32],
        feature: &mut [f32],
        table_grad: &mut [f32],
        steps: &[usize],
    ) {
        let n = steps.len();
        let first = self.layers[0];
        let time_weights = &self.params[first.weight + 2 * first.outputs..][..first.outputs];
        gemm::matmul(
            self.isa,
            &mut feature[..n],
            Lhs::Rows(grad_pre),
            Rhs::Rows(time_weights),
            Dims {
                rows: n,
                depth: first.outputs,
                cols: 1,
            },
            &mut acts.pack,
        );
        for (&t, &g) in steps.iter().zip(feature.iter()) {
            table_grad[t - 1] += g;
            table_grad[self.steps] += g;
        }
    }
}
