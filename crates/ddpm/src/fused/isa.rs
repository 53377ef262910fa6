//! The instruction sets the fused kernels run on, detected once at run time.
//!
//! One binary carries an AVX-512 path, an AVX2 + FMA path and a scalar path (pulp's `V4`,
//! `V3` and `Scalar`). Every kernel sums in the same order on all three and uses a fused
//! multiply-add for every product term, so the paths give bit-identical results; the path
//! is still recorded with each run, so a reader can see which one trained it.

use pulp::{Simd, WithSimd};
use serde::{Deserialize, Serialize};

/// An instruction-set path of the fused kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Isa {
    /// x86-64-v4: AVX-512 (F, BW, CD, DQ, VL), 16 lanes of f32.
    Avx512,
    /// x86-64-v3: AVX2 and FMA, 8 lanes of f32.
    Avx2Fma,
    /// One lane at a time, on any CPU; `f32::mul_add` is still a fused multiply-add.
    Scalar,
}

impl Isa {
    /// The best path this CPU supports.
    pub fn detect() -> Isa {
        Isa::available()[0]
    }

    /// Every path this CPU supports, best first; the scalar path is always last.
    pub fn available() -> Vec<Isa> {
        let mut out = Vec::with_capacity(3);
        #[cfg(target_arch = "x86_64")]
        {
            if pulp::x86::V4::try_new().is_some() {
                out.push(Isa::Avx512);
            }
            if pulp::x86::V3::try_new().is_some() {
                out.push(Isa::Avx2Fma);
            }
        }
        out.push(Isa::Scalar);
        out
    }

    /// The name written into run records and benchmark tables.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "avx512",
            Isa::Avx2Fma => "avx2+fma",
            Isa::Scalar => "scalar",
        }
    }

    /// Runs `op` compiled for this path. A path the CPU lacks falls back to the best one
    /// it has, so a value of this type can never execute an unsupported instruction.
    pub(crate) fn run<Op: WithSimd>(self, op: Op) -> Op::Output {
        #[cfg(target_arch = "x86_64")]
        {
            if self == Isa::Avx512 {
                if let Some(simd) = pulp::x86::V4::try_new() {
                    return Simd::vectorize(simd, op);
                }
            }
            if matches!(self, Isa::Avx512 | Isa::Avx2Fma) {
                if let Some(simd) = pulp::x86::V3::try_new() {
                    return Simd::vectorize(simd, op);
                }
            }
        }
        Simd::vectorize(pulp::Scalar::new(), op)
    }
}

/// The number of f32 lanes of `S`'s vectors.
pub(crate) const fn lanes<S: Simd>() -> usize {
    core::mem::size_of::<S::f32s>() / core::mem::size_of::<f32>()
}
