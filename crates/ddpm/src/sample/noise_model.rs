//! What the reverse process asks a network: [`NoiseModel`], and the trained fused network
//! behind it with its buffers and its weights packed once.

use crate::{
    fused::{
        network::{PackedWeights, ROWS_PER_BLOCK},
        Activations, FusedNet, Steps,
    },
    Point,
};

/// The buffers of the network's forward pass, made once per sampling run.
#[derive(Clone, Debug, Default)]
pub struct Scratch {
    acts: Activations,
    input: Vec<f32>,
}

/// Fills `scratch.input` with `x` (model space) as f32 pairs.
pub(super) fn fill_input(scratch: &mut Scratch, x: &[Point]) {
    scratch.input.clear();
    scratch
        .input
        .extend(x.iter().flat_map(|p| [p[0] as f32, p[1] as f32]));
}

/// The network's output for every point of `x` (model space) at one step `t` in `1..=T`,
/// into `scratch`, as f32 pairs.
pub(super) fn predict_into<'a>(
    net: &FusedNet,
    scratch: &'a mut Scratch,
    x: &[Point],
    t: usize,
) -> &'a [f32] {
    fill_input(scratch, x);
    net.forward(&mut scratch.acts, &scratch.input, Steps::Same(t))
}

/// A network the reverse process can query.
pub trait NoiseModel {
    /// Writes the output at step `t` in `1..=T` (in the model's prediction target) for every
    /// point of `x` (model space) into `out`, replacing what it held.
    fn predict(&mut self, x: &[Point], t: usize, out: &mut Vec<Point>);
}

/// Any `FnMut(x, t, out)` closure is a noise model (the tests' analytic predictors).
impl<F: FnMut(&[Point], usize, &mut Vec<Point>)> NoiseModel for F {
    fn predict(&mut self, x: &[Point], t: usize, out: &mut Vec<Point>) {
        self(x, t, out)
    }
}

/// The trained network as a [`NoiseModel`], with its forward-pass buffers and its weights
/// packed once for every reverse step.
pub struct FusedNoiseModel<'a> {
    net: &'a FusedNet,
    weights: PackedWeights,
    scratch: Scratch,
}

impl<'a> FusedNoiseModel<'a> {
    /// Wraps `net` with fresh buffers.
    pub fn new(net: &'a FusedNet) -> FusedNoiseModel<'a> {
        let mut weights = PackedWeights::default();
        net.pack_weights(&mut weights);
        FusedNoiseModel {
            net,
            weights,
            scratch: Scratch::default(),
        }
    }
}

impl NoiseModel for FusedNoiseModel<'_> {
    fn predict(&mut self, x: &[Point], t: usize, out: &mut Vec<Point>) {
        // Block by block, as training runs, so the activations stay in cache (each point's
        // prediction is its own). f32 to f64 is exact, so the update sees the network's
        // values unchanged.
        out.clear();
        for block in x.chunks(ROWS_PER_BLOCK) {
            fill_input(&mut self.scratch, block);
            let Scratch { acts, input } = &mut self.scratch;
            let values = self
                .net
                .forward_packed(acts, input, Steps::Same(t), &self.weights);
            out.extend(
                values
                    .chunks_exact(2)
                    .map(|e| [f64::from(e[0]), f64::from(e[1])]),
            );
        }
    }
}
