//! The bias+LeakyReLU tape kernel of the dfdx reference network, recorded on dfdx's tape
//! like its own ops.
//!
//! dfdx 0.13 builds `leaky_relu(x W^T + b)` from a broadcast add, a scale and a maximum:
//! three strided passes forward and three backward, each allocating. Profiling the post's
//! network showed them at a third of an epoch. [`bias_leaky_relu`] does the same in one
//! pass each way. Its forward values are bit-identical to the unfused ops; its bias
//! gradient sums the rows in a different order than dfdx's broadcast reduction, so
//! gradients agree to rounding and trained weights differ in the last bits. Runs no longer
//! train on this path (see [`crate::fused`]); it serves the dfdx reference network.

use dfdx::prelude::*;

/// `out[i, j] = leaky(x[i, j] + bias[j])` with `leaky(v) = v` for `v > 0`, `slope * v`
/// otherwise. The backward pass adds `g * leaky'` to `x`'s gradient and its column sums
/// to `bias`'s gradient; `leaky'` is read off the sign of `out`, which equals the sign of
/// the pre-activation for `slope > 0` (and for `slope = 0` both give a zero gradient).
pub fn bias_leaky_relu<const M: usize, T: Tape<f32, Cpu> + Merge<T>>(
    x: Tensor<(usize, Const<M>), f32, Cpu, T>,
    bias: &Tensor<Rank1<M>, f32, Cpu>,
    slope: f32,
) -> Tensor<(usize, Const<M>), f32, Cpu, T> {
    let (x, tape) = x.split_tape();
    let (bias_param, bias_tape) = bias.retaped::<T>().split_tape();
    let mut tape = tape.merge(bias_tape);
    let rows = x.shape().0;
    let bias_values = bias.as_vec();
    let mut values = x.as_vec();
    for row in values.chunks_exact_mut(M) {
        for (v, b) in row.iter_mut().zip(&bias_values) {
            let pre = *v + b;
            *v = if pre > 0.0 { pre } else { slope * pre };
        }
    }
    let positive: Vec<bool> = if T::OWNS_TAPE {
        values.iter().map(|v| *v > 0.0).collect()
    } else {
        Vec::new()
    };
    let out = bias.device().tensor_from_vec(values, (rows, Const::<M>));
    if T::OWNS_TAPE {
        let out_handle = out.clone();
        tape.add_backward_op(move |grads| {
            let mut grad_pre: Vec<f32> = grads.get_or_alloc_mut(&out_handle)?.to_vec();
            for (g, pos) in grad_pre.iter_mut().zip(&positive) {
                if !pos {
                    *g *= slope;
                }
            }
            let grad_x = grads.get_or_alloc_mut(&x)?;
            for (gx, g) in grad_x.iter_mut().zip(&grad_pre) {
                *gx += g;
            }
            let grad_bias = grads.get_or_alloc_mut(&bias_param)?;
            for row in grad_pre.chunks_exact(M) {
                for (gb, g) in grad_bias.iter_mut().zip(row) {
                    *gb += g;
                }
            }
            Ok(())
        });
    }
    out.put_tape(tape)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Owned = OwnedTape<f32, Cpu>;

    /// The fused kernel against dfdx's own ops, values and gradients.
    #[test]
    fn matches_the_unfused_composition() {
        let dev = Cpu::seed_from_u64(0);
        let x: Tensor<(usize, Const<3>), f32, Cpu> = dev.sample_normal_like(&(5, Const::<3>));
        let w: Tensor<Rank2<3, 4>, f32, Cpu> = dev.sample_normal();
        let bias: Tensor<Rank1<4>, f32, Cpu> = dev.sample_normal();
        let slope = 0.01f32;

        let fused = {
            let h = x.leaky_trace().matmul(w.retaped::<Owned>());
            let out = bias_leaky_relu(h, &bias, slope);
            let values = out.as_vec();
            let grads = out.sum().backward();
            (values, grads.get(&w).as_vec(), grads.get(&bias).as_vec())
        };
        let reference = {
            let h = x.leaky_trace().matmul(w.retaped::<Owned>());
            let h = h + bias.retaped::<Owned>().broadcast_like(&(5, Const::<4>));
            let scaled = h.retaped::<Owned>() * slope;
            let out = h.maximum(scaled);
            let values = out.as_vec();
            let grads = out.sum().backward();
            (values, grads.get(&w).as_vec(), grads.get(&bias).as_vec())
        };
        assert_eq!(fused.0, reference.0);
        for (a, b) in fused.1.iter().zip(&reference.1) {
            assert!(
                (a - b).abs() <= 1e-6 * b.abs().max(1.0),
                "weight grad {a} vs {b}"
            );
        }
        for (a, b) in fused.2.iter().zip(&reference.2) {
            assert!(
                (a - b).abs() <= 1e-6 * b.abs().max(1.0),
                "bias grad {a} vs {b}"
            );
        }
    }
}
