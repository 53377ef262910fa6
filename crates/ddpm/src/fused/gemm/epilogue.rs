//! What happens to each output value as it leaves the registers: bias, bias and LeakyReLU,
//! or LeakyReLU's backward pass with the bias gradient's column sums.

use super::{kit::Kit, operands::Packed};

/// What happens to each output value as it leaves the registers. Fusing these into the
/// product saves a pass over the output; each does exactly what the separate pass would,
/// in the same order, so the result does not depend on the fusion.
#[derive(Debug)]
pub enum Epilogue<'a> {
    /// `c = acc`.
    Store,
    /// `c = acc + bias[j]`.
    Bias(&'a [f32]),
    /// `c = leaky(acc + bias[j])` with `leaky(v) = v` for `v > 0` and `slope v` otherwise.
    BiasLeakyRelu {
        /// One value per column.
        bias: &'a [f32],
        /// The negative slope.
        slope: f32,
    },
    /// The backward pass of LeakyReLU on an input gradient: `c = acc * leaky'`, with
    /// `leaky'` read off the sign of the layer's activation `out` (shaped like `c`), and
    /// `bias_grad[j] += sum_i c[i, j]`, added in ascending `i` to what `bias_grad` holds
    /// (so consecutive blocks of rows continue one sum).
    LeakyReluBackward {
        /// The activation of the layer, row-major like `c`.
        out: &'a [f32],
        /// The negative slope.
        slope: f32,
        /// Receives the column sums of `c`, added to its values.
        bias_grad: &'a mut [f32],
        /// Receives `c` again in the panel layout, for a product that reads it as `B`.
        packed: Option<&'a mut Packed>,
    },
}

/// Where a tile sits in `C`: rows from `row0`, columns `col0..col0 + valid` of `cols`.
#[derive(Clone, Copy)]
pub(super) struct Place {
    pub(super) row0: usize,
    pub(super) cols: usize,
    pub(super) col0: usize,
    pub(super) valid: usize,
}

/// Applies `epilogue` to the accumulators of one tile before they are stored: the bias
/// and activation of the forward pass, or the backward pass of LeakyReLU with the bias
/// gradient's column sums, added row by row in ascending order. Each does exactly what a
/// separate pass over `C` would.
#[inline(always)]
pub(super) fn epilogue_in_registers<K: Kit, const MR: usize, const NV: usize>(
    kit: K,
    acc: &mut [[K::V; NV]; MR],
    epilogue: &mut Epilogue<'_>,
    place: Place,
) {
    let Place {
        row0,
        cols,
        col0,
        valid,
    } = place;
    let lanes = K::LANES;
    let span = |v: usize| col0 + (v * lanes).min(valid)..col0 + ((v + 1) * lanes).min(valid);
    match epilogue {
        Epilogue::Store => {}
        Epilogue::Bias(bias) => {
            let mut b = [kit.splat(0.0); NV];
            for (v, b) in b.iter_mut().enumerate() {
                *b = kit.load(&bias[span(v)]);
            }
            for acc_row in acc.iter_mut() {
                for (a, b) in acc_row.iter_mut().zip(b) {
                    *a = kit.add(*a, b);
                }
            }
        }
        Epilogue::BiasLeakyRelu { bias, slope } => {
            let mut b = [kit.splat(0.0); NV];
            for (v, b) in b.iter_mut().enumerate() {
                *b = kit.load(&bias[span(v)]);
            }
            let slope = kit.splat(*slope);
            for acc_row in acc.iter_mut() {
                for (a, b) in acc_row.iter_mut().zip(b) {
                    let pre = kit.add(*a, b);
                    *a = kit.leaky(pre, pre, slope);
                }
            }
        }
        Epilogue::LeakyReluBackward {
            out,
            slope,
            bias_grad,
            ..
        } => {
            let slope = kit.splat(*slope);
            let mut sum = [kit.splat(0.0); NV];
            for (v, s) in sum.iter_mut().enumerate() {
                *s = kit.load(&bias_grad[span(v)]);
            }
            for (r, acc_row) in acc.iter_mut().enumerate() {
                let activation = &out[(row0 + r) * cols..];
                for (v, (a, s)) in acc_row.iter_mut().zip(sum.iter_mut()).enumerate() {
                    // Lanes past the last column are zero: their activation loads as 0.
                    *a = kit.leaky(kit.load(&activation[span(v)]), *a, slope);
                    *s = kit.add(*s, *a);
                }
            }
            for (v, s) in sum.into_iter().enumerate() {
                kit.store(&mut bias_grad[span(v)], s);
            }
        }
    }
}
