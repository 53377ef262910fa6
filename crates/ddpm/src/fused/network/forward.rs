//! The fused network's forward pass: the time features, then every layer as one product
//! with its bias and LeakyReLU fused, over buffers made once.

use crate::{
    fused::gemm::{self, Dims, Epilogue, Lhs, Packed, Rhs},
    time_encoding::SINUSOIDAL_FEATURES,
};

use super::net::{Encoding, FusedNet, WIDTHS};

/// The time step of each row of a batch.
#[derive(Clone, Copy, Debug)]
pub enum Steps<'a> {
    /// Row `i` is at step `steps[i]`, each in `1..=T`.
    PerRow(&'a [usize]),
    /// Every row is at this step.
    Same(usize),
}

impl Steps<'_> {
    pub(super) fn get(&self, row: usize) -> usize {
        match self {
            Steps::PerRow(steps) => steps[row],
            Steps::Same(t) => *t,
        }
    }
}

impl FusedNet {
    /// `eps_theta(x, t)` for the `n` rows of `x` (`n x 2`, row-major) into `acts`, whose
    /// buffers grow to `n` rows on first use; returns the `n x 2` prediction.
    pub fn forward<'a>(&self, acts: &'a mut Activations, x: &[f32], steps: Steps<'_>) -> &'a [f32] {
        let mut weights = core::mem::take(&mut acts.weights);
        self.pack_weights_for(&mut weights, false);
        let out = self.forward_packed(acts, x, steps, &weights);
        // (The output lives in `acts`; the packed weights go back for the next call.)
        let n = out.len();
        acts.weights = weights;
        &acts.out[..n]
    }

    /// Packs every layer's weight as the forward pass (`W`) and the input gradients
    /// (`W^T`) read it, so blocks of rows and reverse steps that use the same weights pack
    /// them once.
    pub fn pack_weights(&self, out: &mut PackedWeights) {
        self.pack_weights_for(out, true);
    }

    /// [`FusedNet::pack_weights`], the transposes only when `backward`.
    fn pack_weights_for(&self, out: &mut PackedWeights, backward: bool) {
        for (l, layer) in self.layers.iter().enumerate() {
            let weight = &self.params[layer.weight..][..layer.inputs * layer.outputs];
            gemm::pack(
                self.isa,
                Rhs::Rows(weight),
                layer.inputs,
                layer.outputs,
                &mut out.forward[l],
            );
            if backward && l > 0 {
                gemm::pack(
                    self.isa,
                    Rhs::Transposed(weight),
                    layer.outputs,
                    layer.inputs,
                    &mut out.backward[l],
                );
            }
        }
    }

    /// [`FusedNet::forward`] with the weights packed by [`FusedNet::pack_weights`] from
    /// this network's current parameters.
    pub(crate) fn forward_packed<'a>(
        &self,
        acts: &'a mut Activations,
        x: &[f32],
        steps: Steps<'_>,
        weights: &PackedWeights,
    ) -> &'a [f32] {
        let n = x.len() / 2;
        acts.resize(n, self.layers[0].inputs);
        self.fill_input(&mut acts.input, x, steps);
        for (l, layer) in self.layers.iter().enumerate() {
            let (input, out): (&[f32], &mut [f32]) = match l {
                0 => (&acts.input, &mut acts.hidden[0]),
                4 => (&acts.hidden[3], &mut acts.out),
                _ => {
                    let (done, rest) = acts.hidden.split_at_mut(l);
                    (&done[l - 1], &mut rest[0])
                }
            };
            let (input, out) = (&input[..n * layer.inputs], &mut out[..n * layer.outputs]);
            let bias = &self.params[layer.bias..][..layer.outputs];
            let epilogue = if l < 4 {
                Epilogue::BiasLeakyRelu {
                    bias,
                    slope: self.slope,
                }
            } else {
                Epilogue::Bias(bias)
            };
            gemm::matmul_then(
                self.isa,
                out,
                Lhs::Rows(input),
                Rhs::Packed(&weights.forward[l]),
                Dims {
                    rows: n,
                    depth: layer.inputs,
                    cols: layer.outputs,
                },
                epilogue,
                &mut acts.pack,
            );
        }
        &acts.out[..2 * n]
    }

    /// Row `i` of `input` is `[x_i, features(t_i)]`.
    fn fill_input(&self, input: &mut [f32], x: &[f32], steps: Steps<'_>) {
        let width = self.layers[0].inputs;
        for (i, (row, point)) in input
            .chunks_exact_mut(width)
            .zip(x.chunks_exact(2))
            .enumerate()
        {
            row[..2].copy_from_slice(point);
            let t = steps.get(i);
            match &self.encoding {
                Encoding::OneHot { table } => {
                    row[2] = self.params[table + t - 1] + self.params[table + self.steps];
                }
                Encoding::Sinusoidal { features } => {
                    row[2..].copy_from_slice(
                        &features[t * SINUSOIDAL_FEATURES..][..SINUSOIDAL_FEATURES],
                    );
                }
            }
        }
    }
}

/// Every layer's weight packed for the products that read it (see
/// [`FusedNet::pack_weights`]).
#[derive(Clone, Debug, Default)]
pub struct PackedWeights {
    /// `W` of each layer, as the forward pass reads it.
    pub(super) forward: [Packed; 5],
    /// `W^T` of each layer but the first, as the input gradients read it.
    pub(super) backward: [Packed; 5],
}

/// The forward pass's buffers for batches of up to `rows` points.
#[derive(Clone, Debug, Default)]
pub struct Activations {
    pub(super) rows: usize,
    pub(super) input: Vec<f32>,
    pub(super) hidden: [Vec<f32>; 4],
    pub(super) out: Vec<f32>,
    pub(super) pack: Vec<f32>,
    /// The weights packed by the last [`FusedNet::forward`].
    pub(super) weights: PackedWeights,
}

impl Activations {
    /// Empty buffers; they grow on the first forward pass.
    pub fn new() -> Activations {
        Activations::default()
    }

    pub(super) fn resize(&mut self, rows: usize, input_width: usize) {
        if rows <= self.rows && self.input.len() >= rows * input_width {
            return;
        }
        self.rows = rows;
        self.input.resize(rows * input_width, 0.0);
        for (h, width) in self.hidden.iter_mut().zip(WIDTHS) {
            h.resize(rows * width, 0.0);
        }
        self.out.resize(rows * 2, 0.0);
    }
}
