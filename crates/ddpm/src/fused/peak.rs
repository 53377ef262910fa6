//! The fused multiply-add peak of one core on each vector path, measured with a
//! micro-kernel of independent FMA chains. The bench reads every training and product
//! figure as a fraction of it; the matrix product asks it once per process whether this
//! core executes a 512-bit FMA at full width (two 512-bit FMA units, as on Intel server
//! cores) or as two 256-bit halves (AMD Zen 4), which decides its tile height
//! ([`super::gemm::Tiling`]).

use std::time::Instant;

use pulp::{Simd, WithSimd};
use serde::Serialize;

use super::isa::{lanes, Isa};

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
/// accumulators so nothing is optimised away, and the lanes of the path.
struct FmaChains {
    rounds: usize,
}

impl WithSimd for FmaChains {
    type Output = (f32, usize);

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> (f32, usize) {
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
        (simd.reduce_sum_f32s(total), lanes::<S>())
    }
}

/// Measures the peak of every vector path this CPU has (AVX-512, AVX2 + FMA; none on
/// the scalar path): after one warm-up run of each, `repeats` timings of `rounds` rounds
/// per path, the paths taking turns, the best of each kept (a peak is what the core can
/// do, so noise only lowers it).
pub fn measure(rounds: usize, repeats: usize) -> Vec<FmaPeak> {
    let paths: Vec<Isa> = Isa::available()
        .into_iter()
        .filter(|isa| *isa != Isa::Scalar)
        .collect();
    let mut best = vec![f64::INFINITY; paths.len()];
    let mut lanes = vec![0; paths.len()];
    for round in 0..=repeats.max(1) {
        for (i, isa) in paths.iter().enumerate() {
            let started = Instant::now();
            let (sum, l) = isa.run(FmaChains { rounds });
            let seconds = started.elapsed().as_secs_f64();
            std::hint::black_box(sum);
            lanes[i] = l;
            // Round 0 is the warm-up: clocks and caches settle.
            if round > 0 {
                best[i] = best[i].min(seconds);
            }
        }
    }
    paths
        .iter()
        .zip(best)
        .zip(lanes)
        .map(|((isa, seconds), lanes)| FmaPeak {
            isa: isa.name(),
            lanes,
            gflops: 2.0 * (CHAINS * lanes * (rounds / BURST * BURST)) as f64 / seconds / 1e9,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chains_compute_what_they_claim() {
        // One chain from 1.0: x_{k+1} = 0.999999 x_k + 1e-6 stays at 1 within f32 rounding.
        let (sum, lanes) = Isa::Scalar.run(FmaChains { rounds: 1024 });
        assert_eq!(lanes, 1);
        let expected: f64 = (0..CHAINS).map(|i| 1.0 + i as f64 * 1e-3).sum();
        assert!((sum as f64 - expected).abs() < 1e-3, "{sum} vs {expected}");
    }

    #[test]
    fn every_vector_path_is_measured_with_its_lanes() {
        let peaks = measure(10_000, 2);
        let vector_paths = Isa::available().len() - 1;
        assert_eq!(peaks.len(), vector_paths);
        for peak in peaks {
            assert!(peak.gflops > 0.0 && peak.gflops.is_finite());
            assert_eq!(peak.lanes, if peak.isa == "avx512" { 16 } else { 8 });
        }
    }
}
