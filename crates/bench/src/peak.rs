//! The yardstick: the fused multiply-add peak of one core on each instruction-set path,
//! measured with a micro-kernel of independent FMA chains, so every training and product
//! figure can be read as a fraction of what this core can do.

use std::time::Instant;

use pulp::{Simd, WithSimd};
use serde::Serialize;

/// Independent accumulator chains: enough to cover the FMA latency (4 cycles) times the
/// FMA ports (2) of every core we run on, with room to spare, and few enough to stay in
/// registers (16 on AVX2, 32 on AVX-512).
pub const CHAINS: usize = 12;

/// Rounds between two looks of the optimiser's blindfold (see [`FmaChains`]).
const BURST: usize = 256;

/// The FMA peak of one path.
#[derive(Serialize, Debug, Clone, Copy)]
pub struct FmaPeak {
    /// The instruction-set path (`avx512`, `avx2+fma`).
    pub isa: &'static str,
    /// f32 lanes per vector.
    pub lanes: usize,
    /// Best of the repeats, GFLOP/s (2 flops per lane per FMA).
    pub gflops: f64,
}

/// `CHAINS` chains of `acc = acc * a + b` over `rounds` rounds; returns a sum of the
/// accumulators so nothing is optimised away.
struct FmaChains {
    rounds: usize,
}

impl WithSimd for FmaChains {
    type Output = (f32, usize);

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> (f32, usize) {
        let lanes = core::mem::size_of::<S::f32s>() / core::mem::size_of::<f32>();
        // a slightly below 1 and b small keep every chain finite and away from denormals.
        let a = simd.splat_f32s(0.999_999);
        let b = simd.splat_f32s(1e-6);
        let mut acc = [simd.splat_f32s(1.0); CHAINS];
        for (i, chain) in acc.iter_mut().enumerate() {
            *chain = simd.splat_f32s(1.0 + i as f32 * 1e-3);
        }
        // The compiler must not see through the chains: every BURST rounds the
        // accumulators pass through `black_box` (12 stores and loads per 12 x BURST FMAs).
        for _ in 0..self.rounds / BURST {
            for _ in 0..BURST {
                for chain in acc.iter_mut() {
                    *chain = simd.mul_add_f32s(*chain, a, b);
                }
            }
            acc = std::hint::black_box(acc);
        }
        let mut total = simd.splat_f32s(0.0);
        for chain in acc {
            total = simd.add_f32s(total, chain);
        }
        (simd.reduce_sum_f32s(total), lanes)
    }
}

/// Measures the peak of every vector path this CPU has: `repeats` timings of `rounds`
/// rounds each, the best kept (a peak is what the core can do, so noise only lowers it).
pub fn measure(rounds: usize, repeats: usize) -> Vec<FmaPeak> {
    let mut out = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        if let Some(simd) = pulp::x86::V4::try_new() {
            out.push(best("avx512", repeats, rounds, || {
                Simd::vectorize(simd, FmaChains { rounds })
            }));
        }
        if let Some(simd) = pulp::x86::V3::try_new() {
            out.push(best("avx2+fma", repeats, rounds, || {
                Simd::vectorize(simd, FmaChains { rounds })
            }));
        }
    }
    out
}

fn best(
    isa: &'static str,
    repeats: usize,
    rounds: usize,
    mut run: impl FnMut() -> (f32, usize),
) -> FmaPeak {
    let mut best_seconds = f64::INFINITY;
    let mut lanes = 0;
    run(); // warm-up: clocks and caches settle
    for _ in 0..repeats.max(1) {
        let started = Instant::now();
        let (sum, l) = run();
        best_seconds = best_seconds.min(started.elapsed().as_secs_f64());
        std::hint::black_box(sum);
        lanes = l;
    }
    let flops = 2.0 * (CHAINS * lanes * (rounds / BURST * BURST)) as f64;
    FmaPeak {
        isa,
        lanes,
        gflops: flops / best_seconds / 1e9,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chains_compute_what_they_claim() {
        // One chain from 1.0: x_{k+1} = 0.999999 x_k + 1e-6 stays at 1 within f32 rounding.
        let (sum, lanes) = Simd::vectorize(pulp::Scalar::new(), FmaChains { rounds: 1024 });
        assert_eq!(lanes, 1);
        let expected: f64 = (0..CHAINS).map(|i| 1.0 + i as f64 * 1e-3).sum();
        assert!((sum as f64 - expected).abs() < 1e-3, "{sum} vs {expected}");
    }

    #[test]
    fn every_vector_path_is_measured_with_its_lanes() {
        for peak in measure(10_000, 2) {
            assert!(peak.gflops > 0.0 && peak.gflops.is_finite());
            assert_eq!(peak.lanes, if peak.isa == "avx512" { 16 } else { 8 });
        }
    }
}
