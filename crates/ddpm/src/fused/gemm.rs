//! The matrix product of the fused network, with one summation order on every CPU.
//!
//! `C = A B`, `c[i, j] = sum_p a[i, p] b[p, j]`, computed for each output element as
//! `acc = fma(a[i, p], b[p, j], acc)` for `p = 0, 1, ..., depth - 1` starting from
//! `acc = 0`. Vector lanes run along `j` only, so the width of the vectors (16 lanes with
//! AVX-512, 8 with AVX2, 1 in the scalar path) changes how many outputs are computed at
//! once but never the order in which one output is summed: every path gives the same
//! bits. Libraries such as faer or gemm block the inner dimension by cache size and
//! vectorise it differently per instruction set, so their sums differ across CPUs
//! (BENCHMARKS.md compares their speed on these shapes).
//!
//! The right operand is packed into column panels of one or two vectors (zero-padded), so
//! the micro-kernel streams it contiguously; the left operand is read in place, either by
//! rows or transposed, so the weight gradient `X^T dZ` needs no transposed copy of `X`.

use pulp::{Simd, WithSimd};

use super::isa::{lanes, Isa};

/// Rows of `C` per micro-kernel call: 6 rows x 2 vectors = 12 accumulators, which with the
/// two `B` vectors and one broadcast fills the 16 registers of AVX2. (8 rows on AVX-512's
/// 32 registers measured no faster on these shapes, 12 spilled.)
const ROW_BLOCK: usize = 6;
/// Terms of the sum per pass over the blocks of rows: 512 rows of a 100-wide A (200 KB)
/// and of one panel of B (64 KB) stay in L2. Measured at n = 10,000 and 100,000 against
/// 64 to 2048 and no chunks: 512 was fastest (no chunks: 27% slower at 100,000).
const DEPTH_BLOCK: usize = 512;
/// Vectors per panel of packed `B`.
const PANEL_VECTORS: usize = 2;

/// How the left operand `A` (`rows x depth`) is laid out.
#[derive(Clone, Copy, Debug)]
pub enum Lhs<'a> {
    /// Row-major: `a[i, p] = data[i * depth + p]`.
    Rows(&'a [f32]),
    /// The transpose of a row-major `depth x rows` matrix: `a[i, p] = data[p * rows + i]`.
    Transposed(&'a [f32]),
}

/// How the right operand `B` (`depth x cols`) is laid out.
#[derive(Clone, Copy, Debug)]
pub enum Rhs<'a> {
    /// Row-major: `b[p, j] = data[p * cols + j]`.
    Rows(&'a [f32]),
    /// The transpose of a row-major `cols x depth` matrix: `b[p, j] = data[j * depth + p]`.
    Transposed(&'a [f32]),
    /// Packed by an earlier product's epilogue on the same instruction set.
    Packed(&'a Packed),
}

/// A right operand already in the panel layout of one instruction set: what
/// [`Epilogue::LeakyReluBackward`] writes beside its output when asked, so the weight
/// gradient that reads that output next needs no packing pass of its own.
#[derive(Clone, Debug, Default)]
pub struct Packed {
    lanes: usize,
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

impl Rhs<'_> {
    fn get(&self, p: usize, j: usize, depth: usize, cols: usize) -> f32 {
        match self {
            Rhs::Rows(data) => data[p * cols + j],
            Rhs::Transposed(data) => data[j * depth + p],
            Rhs::Packed(_) => unreachable!("a packed operand is never repacked"),
        }
    }
}

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

/// The sizes of one product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dims {
    /// Rows of `A` and `C`.
    pub rows: usize,
    /// Columns of `A`, rows of `B`: the summed dimension.
    pub depth: usize,
    /// Columns of `B` and `C`.
    pub cols: usize,
}

/// `c = a b` (row-major `c`, `rows x cols`), overwriting `c`. `pack` is scratch space for
/// the packed `b`; it grows on first use and is reused afterwards, so a caller that keeps
/// it allocates nothing per call.
///
/// Panics if a slice is shorter than its dimensions need, which is a bug in the caller.
pub fn matmul(isa: Isa, c: &mut [f32], a: Lhs<'_>, b: Rhs<'_>, dims: Dims, pack: &mut Vec<f32>) {
    matmul_then(isa, c, a, b, dims, Epilogue::Store, pack);
}

/// `c += a b` in the sense of one longer sum: each output's chain of fused multiply-adds
/// continues from the value `c` holds, so a sum over rows cut into consecutive blocks, each
/// added with this, gives the bits of the whole sum in one product.
///
/// Panics if a slice is shorter than its dimensions need, which is a bug in the caller.
pub fn matmul_continue(
    isa: Isa,
    c: &mut [f32],
    a: Lhs<'_>,
    b: Rhs<'_>,
    dims: Dims,
    pack: &mut Vec<f32>,
) {
    product(isa, c, a, b, dims, Epilogue::Store, true, pack);
}

/// Packs `b` (`depth x cols`) into `out` in the panel layout of `isa`, for products that
/// read it as [`Rhs::Packed`]: a matrix read by several products (a layer's weights, by
/// each block of rows of a training step or by every step of the reverse process) is
/// packed once.
pub fn pack(isa: Isa, b: Rhs<'_>, depth: usize, cols: usize, out: &mut Packed) {
    match b {
        Rhs::Packed(_) => panic!("a packed operand is never repacked"),
        Rhs::Rows(data) | Rhs::Transposed(data) => assert!(
            data.len() >= depth * cols,
            "B is smaller than {depth} x {cols}"
        ),
    }
    let mut data = core::mem::take(&mut out.data);
    let lanes = isa.run(PackB {
        b,
        depth,
        cols,
        pack: &mut data,
        epilogue: &mut Epilogue::Store,
        rows: 0,
    });
    *out = Packed {
        lanes,
        rows: depth,
        cols,
        data,
    };
}

/// Like [`matmul`], with `epilogue` applied to each output value.
///
/// Panics if a slice is shorter than its dimensions need, which is a bug in the caller.
pub fn matmul_then(
    isa: Isa,
    c: &mut [f32],
    a: Lhs<'_>,
    b: Rhs<'_>,
    dims: Dims,
    epilogue: Epilogue<'_>,
    pack: &mut Vec<f32>,
) {
    product(isa, c, a, b, dims, epilogue, false, pack);
}

/// The product behind [`matmul_then`] and [`matmul_continue`]: with `resume`, the sums
/// start from `c` instead of zero.
#[allow(clippy::too_many_arguments)]
fn product(
    isa: Isa,
    c: &mut [f32],
    a: Lhs<'_>,
    b: Rhs<'_>,
    dims: Dims,
    mut epilogue: Epilogue<'_>,
    resume: bool,
    pack: &mut Vec<f32>,
) {
    let Dims { rows, depth, cols } = dims;
    assert!(c.len() >= rows * cols, "C is smaller than {rows} x {cols}");
    match a {
        Lhs::Rows(data) | Lhs::Transposed(data) => {
            assert!(
                data.len() >= rows * depth,
                "A is smaller than {rows} x {depth}"
            )
        }
    }
    match b {
        Rhs::Rows(data) | Rhs::Transposed(data) => {
            assert!(
                data.len() >= depth * cols,
                "B is smaller than {depth} x {cols}"
            )
        }
        Rhs::Packed(packed) => assert!(
            packed.rows == depth && packed.cols == cols,
            "B was packed as {} x {}, not {depth} x {cols}",
            packed.rows,
            packed.cols
        ),
    }
    match &mut epilogue {
        Epilogue::Store => {}
        Epilogue::Bias(bias) | Epilogue::BiasLeakyRelu { bias, .. } => {
            assert!(bias.len() >= cols, "bias is shorter than {cols}")
        }
        Epilogue::LeakyReluBackward { out, bias_grad, .. } => {
            assert!(
                out.len() >= rows * cols,
                "the activation is smaller than {rows} x {cols}"
            );
            assert!(bias_grad.len() >= cols, "bias_grad is shorter than {cols}");
        }
    }
    if rows == 0 || cols == 0 {
        return;
    }
    // Packing B, then each block of rows, is its own dispatch: the micro-kernel's loop is
    // compiled on its own, where the compiler keeps every accumulator in a register.
    let lanes = isa.run(PackB {
        b,
        depth,
        cols,
        pack: &mut *pack,
        epilogue: &mut epilogue,
        rows,
    });
    let b_pack: &[f32] = match b {
        Rhs::Packed(packed) => &packed.data,
        Rhs::Rows(_) | Rhs::Transposed(_) => pack,
    };
    // A long sum (the weight gradient's, over every point) is cut into chunks of DEPTH_BLOCK
    // terms, so the chunk of A and B that every block of rows reads stays in cache. Each
    // chunk continues the accumulators where the last one stored them, so the order of the
    // fused multiply-adds, and the result, is the same as without chunks.
    for k0 in (0..depth.max(1)).step_by(DEPTH_BLOCK) {
        let kc = (depth - k0).min(DEPTH_BLOCK);
        for row0 in (0..rows).step_by(ROW_BLOCK) {
            isa.run(RowBlock {
                c: &mut *c,
                a,
                b_pack,
                dims,
                row0,
                k0,
                kc,
                resume: resume || k0 > 0,
                lanes,
                epilogue: &mut epilogue,
            });
        }
    }
}

/// Packs every panel of `B` into `pack` (unless it comes packed) and sizes the packed copy
/// an epilogue will write; returns the lanes of the path.
struct PackB<'a, 'e> {
    b: Rhs<'a>,
    depth: usize,
    cols: usize,
    rows: usize,
    pack: &'a mut Vec<f32>,
    epilogue: &'a mut Epilogue<'e>,
}

impl WithSimd for PackB<'_, '_> {
    type Output = usize;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> usize {
        let PackB {
            b,
            depth,
            cols,
            rows,
            pack,
            epilogue,
        } = self;
        let lanes = lanes::<S>();
        let padded_cols = cols.div_ceil(lanes) * lanes;
        if let Epilogue::LeakyReluBackward {
            packed: Some(out), ..
        } = epilogue
        {
            out.lanes = lanes;
            out.rows = rows;
            out.cols = cols;
            if out.data.len() < rows * padded_cols {
                out.data.resize(rows * padded_cols, 0.0);
            }
        }
        let packed_b = depth * padded_cols;
        match b {
            Rhs::Packed(packed) => {
                assert_eq!(
                    packed.lanes, lanes,
                    "B was packed for another instruction set"
                );
            }
            Rhs::Rows(_) | Rhs::Transposed(_) => {
                if pack.len() < packed_b {
                    pack.resize(packed_b, 0.0);
                }
                // Each panel starts at offset depth * col0: every panel before the last
                // is exactly as wide as its columns.
                let narrow = narrow::<S>(simd).is_some();
                let mut col0 = 0;
                while col0 < cols {
                    let shape = panel_shape(col0, cols, lanes, narrow);
                    let offset = depth * col0;
                    let panel = &mut pack[offset..offset + depth * shape.width];
                    pack_panel(simd, panel, b, depth, cols, col0, shape);
                    col0 += shape.valid;
                }
            }
        }
        lanes
    }
}

/// Rows `row0..row0 + ROW_BLOCK` of `C`, every panel.
struct RowBlock<'a, 'e> {
    c: &'a mut [f32],
    a: Lhs<'a>,
    b_pack: &'a [f32],
    dims: Dims,
    row0: usize,
    /// The first term of the sum this pass adds, and how many.
    k0: usize,
    kc: usize,
    /// Whether the sums continue from the values in `C`.
    resume: bool,
    lanes: usize,
    epilogue: &'a mut Epilogue<'e>,
}

impl WithSimd for RowBlock<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let RowBlock {
            c,
            a,
            b_pack,
            dims,
            row0,
            k0,
            kc,
            resume,
            lanes,
            epilogue,
        } = self;
        assert_eq!(
            lanes,
            super::isa::lanes::<S>(),
            "one product runs on one instruction set"
        );
        let Dims { rows, depth, cols } = dims;
        let height = (rows - row0).min(ROW_BLOCK);
        let block = Block {
            a,
            rows,
            depth,
            row0,
            k0,
            kc,
            resume,
        };
        let narrow = narrow::<S>(simd);
        let mut col0 = 0;
        while col0 < cols {
            let shape = panel_shape(col0, cols, lanes, narrow.is_some());
            let width = shape.width;
            let offset = depth * col0 + k0 * width;
            let panel = &b_pack[offset..offset + kc * width];
            let out = Out {
                c: &mut *c,
                rows,
                row0,
                cols,
                col0,
                valid: shape.valid,
                width,
                last: k0 + kc == depth,
                epilogue: &mut *epilogue,
            };
            col0 += shape.valid;
            let full = Full(simd);
            // One monomorphised micro-kernel per block height (rows are const generic).
            macro_rules! by_height {
                ($kit:expr, $vectors:literal) => {
                    match height {
                        6 => micro::<_, 6, $vectors>($kit, block, panel, out),
                        5 => micro::<_, 5, $vectors>($kit, block, panel, out),
                        4 => micro::<_, 4, $vectors>($kit, block, panel, out),
                        3 => micro::<_, 3, $vectors>($kit, block, panel, out),
                        2 => micro::<_, 2, $vectors>($kit, block, panel, out),
                        _ => micro::<_, 1, $vectors>($kit, block, panel, out),
                    }
                };
            }
            match (narrow, shape.kind) {
                #[cfg(target_arch = "x86_64")]
                (Some(v3), Kind::X4) => by_height!(X4(v3), 1),
                #[cfg(target_arch = "x86_64")]
                (Some(v3), Kind::X8) => by_height!(X8(v3), 1),
                (_, Kind::Vectors(2)) => by_height!(full, 2),
                _ => by_height!(full, 1),
            }
        }
    }
}

/// What one panel of packed `B` holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// One or two vectors of the path.
    Vectors(usize),
    /// One vector of 8 lanes (AVX-512 path only).
    X8,
    /// One vector of 4 lanes (AVX-512 path only).
    X4,
}

/// The panel that starts at column `col0` of a matrix with `cols` columns.
#[derive(Clone, Copy, Debug)]
struct PanelShape {
    kind: Kind,
    /// Floats per packed row (the columns and their zero padding).
    width: usize,
    /// How many of its columns are real.
    valid: usize,
}

/// The panel starting at `col0`: two vectors of the path while more than one vector of
/// columns is left, then one. With `narrow` (the AVX-512 path, where a 512-bit FMA costs
/// two 256-bit ones) the last columns go to a vector of 8 or 4 lanes instead when they
/// fit, and 17 to 24 columns to one full vector and such a narrow one, so at most 3
/// lanes per row are padding (at most 7 below 16 columns).
#[inline(always)]
fn panel_shape(col0: usize, cols: usize, lanes: usize, narrow: bool) -> PanelShape {
    let left = cols - col0;
    let (kind, width) = if narrow && left <= 4 {
        (Kind::X4, 4)
    } else if narrow && left <= 8 {
        (Kind::X8, 8)
    } else if left > lanes && !(narrow && left <= lanes + 8) {
        (Kind::Vectors(PANEL_VECTORS), PANEL_VECTORS * lanes)
    } else {
        (Kind::Vectors(1), lanes)
    };
    PanelShape {
        kind,
        width,
        valid: left.min(width),
    }
}

/// The AVX2 token inside the AVX-512 path, whose 8- and 4-lane operations the narrow
/// panels use; `None` on every other path.
#[inline(always)]
fn narrow<S: Simd>(simd: S) -> Option<NarrowSimd> {
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
type NarrowSimd = pulp::x86::V3;
#[cfg(not(target_arch = "x86_64"))]
type NarrowSimd = ();

/// The vector operations one micro-kernel runs on: the path's own vectors, or (on the
/// AVX-512 path) vectors of 8 or 4 lanes for narrow panels.
trait Kit: Copy {
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
struct Full<S>(S);

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
        struct $name(pulp::x86::V3);

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
fn fill<const W: usize>(src: &[f32]) -> [f32; W] {
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

/// Copies columns `col0..col0 + shape.valid` of `b` into `panel` (`depth` rows of
/// `shape.width` floats), zero-padding each row.
#[inline(always)]
fn pack_panel<S: Simd>(
    simd: S,
    panel: &mut [f32],
    b: Rhs<'_>,
    depth: usize,
    cols: usize,
    col0: usize,
    shape: PanelShape,
) {
    let lanes = lanes::<S>();
    let PanelShape { kind, width, valid } = shape;
    match (b, kind) {
        (Rhs::Packed(_), _) => unreachable!("a packed operand is never repacked"),
        (Rhs::Rows(data), Kind::Vectors(vectors)) => {
            let (panel, _) = S::as_mut_simd_f32s(panel);
            for (dst, row) in panel
                .chunks_exact_mut(vectors)
                .zip(data[..depth * cols].chunks_exact(cols))
            {
                let src = &row[col0..col0 + valid];
                for (v, d) in dst.iter_mut().enumerate() {
                    let part = &src[(v * lanes).min(valid)..((v + 1) * lanes).min(valid)];
                    *d = match S::as_simd_f32s(part) {
                        ([full], _) => *full,
                        _ => simd.partial_load_f32s(part),
                    };
                }
            }
        }
        (Rhs::Rows(data), Kind::X8) => pack_rows::<8>(panel, data, depth, cols, col0, valid),
        (Rhs::Rows(data), Kind::X4) => pack_rows::<4>(panel, data, depth, cols, col0, valid),
        (Rhs::Transposed(_), _) => {
            for (p, row) in panel.chunks_exact_mut(width).enumerate() {
                let (head, pad) = row.split_at_mut(valid);
                for (j, v) in head.iter_mut().enumerate() {
                    *v = b.get(p, col0 + j, depth, cols);
                }
                pad.fill(0.0);
            }
        }
    }
}

/// Copies columns `col0..col0 + valid` of the row-major `data` into `panel`, rows of `W`
/// floats, zero-padded.
#[inline(always)]
fn pack_rows<const W: usize>(
    panel: &mut [f32],
    data: &[f32],
    depth: usize,
    cols: usize,
    col0: usize,
    valid: usize,
) {
    for (dst, row) in panel
        .chunks_exact_mut(W)
        .zip(data[..depth * cols].chunks_exact(cols))
    {
        let src = &row[col0..col0 + valid];
        dst.copy_from_slice(&fill::<W>(src));
    }
}

/// Where a micro-kernel writes: rows `row0..row0 + MR`, columns `col0..col0 + valid`
/// of the row-major `c` with `cols` columns.
struct Out<'a, 'e> {
    c: &'a mut [f32],
    /// Rows of the whole `C`.
    rows: usize,
    row0: usize,
    cols: usize,
    col0: usize,
    valid: usize,
    /// Floats per row of the packed panel.
    width: usize,
    /// Whether this pass adds the last terms of the sum (then the epilogue runs).
    last: bool,
    epilogue: &'a mut Epilogue<'e>,
}

/// The rows `row0..row0 + MR` of A that one micro-kernel call reads, in place.
#[derive(Clone, Copy)]
struct Block<'a> {
    a: Lhs<'a>,
    rows: usize,
    depth: usize,
    row0: usize,
    /// The terms `k0..k0 + kc` of the sum.
    k0: usize,
    kc: usize,
    /// Whether the sums continue from the values in `C`.
    resume: bool,
}

/// `C[rows, panel] = A[rows, :] B[:, panel]` for `MR` rows of A and a panel of `NV`
/// vectors of `kit`, with the `MR x NV` accumulators in registers for the whole sum over
/// `p`.
#[inline(always)]
fn micro<K: Kit, const MR: usize, const NV: usize>(
    kit: K,
    block: Block<'_>,
    panel: &[f32],
    out: Out<'_, '_>,
) {
    let panel = K::vectors(panel);
    let zero = kit.splat(0.0);
    let mut acc = [[zero; NV]; MR];
    let Block {
        a,
        rows,
        depth,
        row0,
        k0,
        kc,
        resume,
    } = block;
    let lanes = K::LANES;
    if resume {
        // Continue the sums where the previous chunk of terms stored them.
        for r in 0..MR {
            let src = &out.c[(row0 + r) * out.cols + out.col0..][..out.valid];
            for v in 0..NV {
                let part = &src[v * lanes..((v + 1) * lanes).min(out.valid)];
                acc[r][v] = kit.load(part);
            }
        }
    }
    match a {
        Lhs::Rows(data) => {
            let a_rows: [&[f32]; MR] =
                core::array::from_fn(|r| &data[(row0 + r) * depth + k0..][..kc]);
            for (p, b) in panel.chunks_exact(NV).enumerate() {
                for r in 0..MR {
                    let a_value = kit.splat(a_rows[r][p]);
                    for v in 0..NV {
                        acc[r][v] = kit.mul_add(a_value, b[v], acc[r][v]);
                    }
                }
            }
        }
        Lhs::Transposed(data) => {
            assert!(row0 + MR <= rows);
            for (a_row, b) in data[k0 * rows..(k0 + kc) * rows]
                .chunks_exact(rows)
                .zip(panel.chunks_exact(NV))
            {
                let a_col = &a_row[row0..row0 + MR];
                for r in 0..MR {
                    let a_value = kit.splat(a_col[r]);
                    for v in 0..NV {
                        acc[r][v] = kit.mul_add(a_value, b[v], acc[r][v]);
                    }
                }
            }
        }
    }
    let Out {
        c,
        rows: out_rows,
        row0,
        cols,
        col0,
        valid,
        width,
        last,
        epilogue,
    } = out;
    // Columns of vector `v` of the panel, relative to `col0`.
    let span = |v: usize| (v * lanes).min(valid)..((v + 1) * lanes).min(valid);
    if last {
        let place = Place {
            row0,
            cols,
            col0,
            valid,
        };
        epilogue_in_registers(kit, &mut acc, epilogue, place);
        if let Epilogue::LeakyReluBackward {
            packed: Some(packed),
            ..
        } = epilogue
        {
            // This panel starts at `col0 * out_rows` in the packed layout; padding lanes
            // hold zeros (their activation loads as 0 and their sum is 0).
            let base = col0 * out_rows + row0 * width;
            for (r, acc_row) in acc.iter().enumerate() {
                let dst = &mut packed.data[base + r * width..][..NV * lanes];
                for (d, value) in dst.chunks_exact_mut(lanes).zip(acc_row) {
                    kit.store(d, *value);
                }
            }
        }
    }
    for (r, acc_row) in acc.iter().enumerate() {
        let dst = &mut c[(row0 + r) * cols + col0..][..valid];
        for (v, value) in acc_row.iter().enumerate() {
            kit.store(&mut dst[span(v)], *value);
        }
    }
}

/// Where a tile sits in `C`: rows from `row0`, columns `col0..col0 + valid` of `cols`.
#[derive(Clone, Copy)]
struct Place {
    row0: usize,
    cols: usize,
    col0: usize,
    valid: usize,
}

/// Applies `epilogue` to the accumulators of one tile before they are stored: the bias
/// and activation of the forward pass, or the backward pass of LeakyReLU with the bias
/// gradient's column sums, added row by row in ascending order. Each does exactly what a
/// separate pass over `C` would.
#[inline(always)]
fn epilogue_in_registers<K: Kit, const MR: usize, const NV: usize>(
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn random(len: usize, seed: u64) -> Vec<f32> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..len).map(|_| rng.gen_range(-1.0f32..1.0)).collect()
    }

    /// The definition, summed in the documented order with `f32::mul_add`.
    fn reference(a: &[f32], b: &[f32], dims: Dims, a_t: bool, b_t: bool) -> Vec<f32> {
        let Dims { rows, depth, cols } = dims;
        let mut c = vec![0.0; rows * cols];
        for i in 0..rows {
            for j in 0..cols {
                let mut acc = 0.0f32;
                for p in 0..depth {
                    let x = if a_t {
                        a[p * rows + i]
                    } else {
                        a[i * depth + p]
                    };
                    let y = if b_t {
                        b[j * depth + p]
                    } else {
                        b[p * cols + j]
                    };
                    acc = x.mul_add(y, acc);
                }
                c[i * cols + j] = acc;
            }
        }
        c
    }

    /// Every shape of the post's network (and odd ones around the block sizes), both
    /// layouts of each operand, on every instruction set this CPU has: the result equals
    /// the scalar definition bit for bit.
    #[test]
    fn every_path_equals_the_definition_bit_for_bit() {
        let shapes = [
            (13, 3, 100),
            (13, 100, 100),
            (7, 100, 20),
            (9, 20, 2),
            (100, 37, 100),
            (3, 37, 100),
            (20, 37, 2),
            (37, 100, 1),
            (1, 1, 1),
            (6, 0, 5),
            (0, 4, 4),
            (11, 18, 33),
            // Sums longer than DEPTH_BLOCK, continued across passes.
            (7, 600, 37),
            (20, 777, 2),
        ];
        for (s, &(rows, depth, cols)) in shapes.iter().enumerate() {
            let dims = Dims { rows, depth, cols };
            let a = random(rows * depth, s as u64);
            let b = random(depth * cols, 100 + s as u64);
            for a_t in [false, true] {
                for b_t in [false, true] {
                    let want = reference(&a, &b, dims, a_t, b_t);
                    for isa in Isa::available() {
                        let mut c = vec![f32::NAN; rows * cols];
                        let mut pack = Vec::new();
                        let lhs = if a_t {
                            Lhs::Transposed(&a)
                        } else {
                            Lhs::Rows(&a)
                        };
                        let rhs = if b_t {
                            Rhs::Transposed(&b)
                        } else {
                            Rhs::Rows(&b)
                        };
                        matmul(isa, &mut c, lhs, rhs, dims, &mut pack);
                        let same = c.iter().zip(&want).all(|(x, y)| x.to_bits() == y.to_bits());
                        assert!(same, "{isa:?} {dims:?} a_t={a_t} b_t={b_t}");
                    }
                }
            }
        }
    }

    /// The fused epilogues equal the product followed by the separate pass, bit for bit,
    /// on every path; the bias gradient is the column sum in row order.
    #[test]
    fn epilogues_equal_the_separate_passes() {
        // Continued sums (600 > DEPTH_BLOCK), the network's widths and their narrow tails.
        for (rows, depth, cols) in [(23, 600, 37), (13, 100, 100), (9, 20, 20), (8, 3, 2)] {
            epilogues_equal_the_separate_passes_on(rows, depth, cols);
        }
    }

    fn epilogues_equal_the_separate_passes_on(rows: usize, depth: usize, cols: usize) {
        let dims = Dims { rows, depth, cols };
        let a = random(rows * depth, 1);
        let b = random(depth * cols, 2);
        let bias = random(cols, 3);
        let activation: Vec<f32> = random(rows * cols, 4);
        let slope = 0.01f32;
        let plain = reference(&a, &b, dims, false, false);
        let leaky = |v: f32| if v > 0.0 { v } else { slope * v };
        let want_bias: Vec<f32> = plain
            .iter()
            .enumerate()
            .map(|(k, v)| v + bias[k % cols])
            .collect();
        let want_leaky: Vec<f32> = want_bias.iter().map(|v| leaky(*v)).collect();
        let want_back: Vec<f32> = plain
            .iter()
            .zip(&activation)
            .map(|(g, o)| if *o > 0.0 { *g } else { *g * slope })
            .collect();
        let mut want_sums = vec![0.0f32; cols];
        for row in want_back.chunks_exact(cols) {
            for (s, v) in want_sums.iter_mut().zip(row) {
                *s += v;
            }
        }
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for isa in Isa::available() {
            let run = |epilogue: Epilogue<'_>| {
                let mut c = vec![f32::NAN; rows * cols];
                matmul_then(
                    isa,
                    &mut c,
                    Lhs::Rows(&a),
                    Rhs::Rows(&b),
                    dims,
                    epilogue,
                    &mut Vec::new(),
                );
                c
            };
            assert_eq!(
                bits(&run(Epilogue::Bias(&bias))),
                bits(&want_bias),
                "{isa:?}"
            );
            let got = run(Epilogue::BiasLeakyRelu { bias: &bias, slope });
            assert_eq!(bits(&got), bits(&want_leaky), "{isa:?}");
            let mut sums = vec![0.0; cols];
            let mut packed = Packed::default();
            let got = run(Epilogue::LeakyReluBackward {
                out: &activation,
                slope,
                bias_grad: &mut sums,
                packed: Some(&mut packed),
            });
            assert_eq!(bits(&got), bits(&want_back), "{isa:?}");
            assert_eq!(bits(&sums), bits(&want_sums), "{isa:?}");
            // The packed copy, read as B, gives what the row-major output gives.
            let lhs = random(11 * rows, 5);
            let dims = Dims {
                rows: 11,
                depth: rows,
                cols,
            };
            let read = |b: Rhs<'_>| {
                let mut c = vec![f32::NAN; 11 * cols];
                matmul(isa, &mut c, Lhs::Rows(&lhs), b, dims, &mut Vec::new());
                c
            };
            let (from_rows, from_packed) = (read(Rhs::Rows(&got)), read(Rhs::Packed(&packed)));
            assert_eq!(bits(&from_rows), bits(&from_packed), "{isa:?}");
        }
    }

    /// A weight gradient summed over the rows in consecutive blocks, the first with
    /// `matmul` and the rest with `matmul_continue`, has the bits of one product over all
    /// rows on every path (block edges on and off the 512-term chunks); so do the bias
    /// gradient's column sums added block by block.
    #[test]
    fn continued_sums_equal_one_product() {
        let (rows, depth, cols) = (13, 1100, 37);
        let x = random(depth * rows, 1);
        let dz = random(depth * cols, 2);
        let activation = random(depth * cols, 3);
        let w = random(cols * cols, 4);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for isa in Isa::available() {
            let mut whole = vec![0.0; rows * cols];
            let dims = |depth| Dims { rows, depth, cols };
            let mut pack = Vec::new();
            matmul(
                isa,
                &mut whole,
                Lhs::Transposed(&x),
                Rhs::Rows(&dz),
                dims(depth),
                &mut pack,
            );
            for cuts in [
                vec![0, 300, 1100],
                vec![0, 512, 600, 1100],
                vec![0, 1, 1099, 1100],
            ] {
                let mut blocks = vec![f32::NAN; rows * cols];
                for (i, pair) in cuts.windows(2).enumerate() {
                    let (start, end) = (pair[0], pair[1]);
                    let x_block = &x[start * rows..end * rows];
                    let dz_block = &dz[start * cols..end * cols];
                    let (lhs, rhs) = (Lhs::Transposed(x_block), Rhs::Rows(dz_block));
                    if i == 0 {
                        matmul(isa, &mut blocks, lhs, rhs, dims(end - start), &mut pack);
                    } else {
                        matmul_continue(isa, &mut blocks, lhs, rhs, dims(end - start), &mut pack);
                    }
                }
                assert_eq!(bits(&blocks), bits(&whole), "{isa:?} {cuts:?}");
            }
            // The bias gradient of an input gradient over depth rows, in two blocks.
            let backward = |start: usize, end: usize, sums: &mut [f32]| {
                let mut c = vec![0.0; (end - start) * cols];
                matmul_then(
                    isa,
                    &mut c,
                    Lhs::Rows(&dz[start * cols..end * cols]),
                    Rhs::Rows(&w),
                    Dims {
                        rows: end - start,
                        depth: cols,
                        cols,
                    },
                    Epilogue::LeakyReluBackward {
                        out: &activation[start * cols..end * cols],
                        slope: 0.01,
                        bias_grad: sums,
                        packed: None,
                    },
                    &mut Vec::new(),
                );
            };
            let (mut one, mut two) = (vec![0.0; cols], vec![0.0; cols]);
            backward(0, depth, &mut one);
            backward(0, 401, &mut two);
            backward(401, depth, &mut two);
            assert_eq!(bits(&two), bits(&one), "{isa:?}");
        }
    }

    /// A right operand packed once by `pack` (row-major or transposed) gives the bits of
    /// the same product packing it itself, on every path and across repeated use.
    #[test]
    fn a_matrix_packed_once_gives_the_same_products() {
        for (rows, depth, cols) in [(13, 100, 100), (7, 20, 2), (9, 3, 37), (600, 100, 20)] {
            let a = random(rows * depth, 1);
            let b = random(depth * cols, 2);
            let dims = Dims { rows, depth, cols };
            for isa in Isa::available() {
                for transposed in [false, true] {
                    let rhs = if transposed {
                        Rhs::Transposed(&b)
                    } else {
                        Rhs::Rows(&b)
                    };
                    let mut want = vec![0.0; rows * cols];
                    matmul(isa, &mut want, Lhs::Rows(&a), rhs, dims, &mut Vec::new());
                    let mut packed = Packed::default();
                    pack(isa, rhs, depth, cols, &mut packed);
                    for _ in 0..2 {
                        let mut got = vec![f32::NAN; rows * cols];
                        let b = Rhs::Packed(&packed);
                        matmul(isa, &mut got, Lhs::Rows(&a), b, dims, &mut Vec::new());
                        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                        assert_eq!(bits(&got), bits(&want), "{isa:?} {dims:?} {transposed}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_reused_pack_buffer_gives_the_same_result() {
        let (a, b) = (random(300, 1), random(1500, 2));
        let mut pack = Vec::new();
        let mut product = |rows, depth, cols| {
            let mut c = vec![0.0; rows * cols];
            let dims = Dims { rows, depth, cols };
            matmul(
                Isa::detect(),
                &mut c,
                Lhs::Rows(&a),
                Rhs::Rows(&b),
                dims,
                &mut pack,
            );
            c
        };
        let first = product(10, 30, 50);
        // A smaller product leaves stale values in the buffer; the padding must be rewritten.
        product(2, 3, 3);
        assert_eq!(first, product(10, 30, 50));
    }
}
