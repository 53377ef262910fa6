//! The vector operations a micro-kernel runs on: the path's own vectors, or on the AVX-512
//! path the AVX2 vectors of 8 or 4 lanes that narrow panels use.

use pulp::Simd;

use crate::fused::isa::lanes;

/// The AVX2 token inside the AVX-512 path, whose 8- and 4-lane operations the narrow
/// panels use; `None` on every other path.
#[inline(always)]
pub(super) fn narrow<S: Simd>(simd: S) -> Option<NarrowSimd> {
    #[cfg(target_arch = "x86_64")]
    {
        let any: &dyn core::any::Any = &simd;
        any.downcast_ref::<pulp::x86::V4>().map(|v4| **v4)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = simd;
        None
    }
}

#[cfg(target_arch = "x86_64")]
pub(super) type NarrowSimd = pulp::x86::V3;
#[cfg(not(target_arch = "x86_64"))]
pub(super) type NarrowSimd = ();

/// The vector operations one micro-kernel runs on: the path's own vectors, or (on the
/// AVX-512 path) vectors of 8 or 4 lanes for narrow panels.
pub(super) trait Kit: Copy {
    type V: Copy;
    const LANES: usize;
    fn splat(self, value: f32) -> Self::V;
    fn mul_add(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    fn add(self, a: Self::V, b: Self::V) -> Self::V;
    /// `value` where `sign > 0`, `slope * value` elsewhere (NaN included): LeakyReLU when
    /// `sign` is `value`, its backward pass when `sign` is the layer's activation.
    fn leaky(self, sign: Self::V, value: Self::V, slope: Self::V) -> Self::V;
    /// `panel` as vectors (its length is a multiple of the lanes).
    fn vectors(panel: &[f32]) -> &[Self::V];
    /// Loads `src` (at most `LANES` floats), zero-filling the rest.
    fn load(self, src: &[f32]) -> Self::V;
    /// Stores the first `dst.len()` (at most `LANES`) lanes.
    fn store(self, dst: &mut [f32], value: Self::V);
}

/// The path's own vectors.
#[derive(Clone, Copy)]
pub(super) struct Full<S>(pub(super) S);

impl<S: Simd> Kit for Full<S> {
    type V = S::f32s;
    const LANES: usize = lanes::<S>();
    #[inline(always)]
    fn splat(self, value: f32) -> S::f32s {
        self.0.splat_f32s(value)
    }
    #[inline(always)]
    fn mul_add(self, a: S::f32s, b: S::f32s, c: S::f32s) -> S::f32s {
        self.0.mul_add_f32s(a, b, c)
    }
    #[inline(always)]
    fn add(self, a: S::f32s, b: S::f32s) -> S::f32s {
        self.0.add_f32s(a, b)
    }
    #[inline(always)]
    fn leaky(self, sign: S::f32s, value: S::f32s, slope: S::f32s) -> S::f32s {
        let positive = self.0.greater_than_f32s(sign, self.0.splat_f32s(0.0));
        self.0
            .select_f32s(positive, value, self.0.mul_f32s(value, slope))
    }
    #[inline(always)]
    fn vectors(panel: &[f32]) -> &[S::f32s] {
        S::as_simd_f32s(panel).0
    }
    #[inline(always)]
    fn load(self, src: &[f32]) -> S::f32s {
        match S::as_simd_f32s(src) {
            ([full], _) => *full,
            _ => self.0.partial_load_f32s(src),
        }
    }
    #[inline(always)]
    fn store(self, dst: &mut [f32], value: S::f32s) {
        match S::as_mut_simd_f32s(dst) {
            ([full], _) => *full = value,
            (_, tail) => self.0.partial_store_f32s(tail, value),
        }
    }
}

/// Implements [`Kit`] for a fixed-width vector of AVX2.
#[cfg(target_arch = "x86_64")]
macro_rules! narrow_kit {
    (
        $name:ident, $v:ty, $lanes:literal,
        $splat:ident, $mul_add:ident, $add:ident, $mul:ident, $gt:ident, $select:ident
    ) => {
        #[derive(Clone, Copy)]
        pub(super) struct $name(pub(super) pulp::x86::V3);

        impl Kit for $name {
            type V = $v;
            const LANES: usize = $lanes;
            #[inline(always)]
            fn splat(self, value: f32) -> $v {
                self.0.$splat(value)
            }
            #[inline(always)]
            fn mul_add(self, a: $v, b: $v, c: $v) -> $v {
                self.0.$mul_add(a, b, c)
            }
            #[inline(always)]
            fn add(self, a: $v, b: $v) -> $v {
                self.0.$add(a, b)
            }
            #[inline(always)]
            fn leaky(self, sign: $v, value: $v, slope: $v) -> $v {
                let positive = self.0.$gt(sign, self.0.$splat(0.0));
                self.0.$select(positive, value, self.0.$mul(value, slope))
            }
            #[inline(always)]
            fn vectors(panel: &[f32]) -> &[$v] {
                pulp::bytemuck::cast_slice(panel)
            }
            #[inline(always)]
            fn load(self, src: &[f32]) -> $v {
                match <[f32; $lanes]>::try_from(src) {
                    Ok(full) => pulp::bytemuck::cast(full),
                    Err(_) => pulp::bytemuck::cast(fill::<$lanes>(src)),
                }
            }
            #[inline(always)]
            fn store(self, dst: &mut [f32], value: $v) {
                let lanes: [f32; $lanes] = pulp::bytemuck::cast(value);
                // Lane by lane: a copy of a run-time length becomes a call to memcpy.
                for (d, v) in dst.iter_mut().zip(lanes) {
                    *d = v;
                }
            }
        }
    };
}

/// `src` (at most `W` floats) followed by zeros.
#[inline(always)]
pub(super) fn fill<const W: usize>(src: &[f32]) -> [f32; W] {
    core::array::from_fn(|l| src.get(l).copied().unwrap_or(0.0))
}

#[cfg(target_arch = "x86_64")]
narrow_kit!(
    X8,
    pulp::f32x8,
    8,
    splat_f32x8,
    mul_add_f32x8,
    add_f32x8,
    mul_f32x8,
    cmp_gt_f32x8,
    select_f32x8
);
#[cfg(target_arch = "x86_64")]
narrow_kit!(
    X4,
    pulp::f32x4,
    4,
    splat_f32x4,
    mul_add_f32x4,
    add_f32x4,
    mul_f32x4,
    cmp_gt_f32x4,
    select_f32x4
);
