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
//!
//! `operands.rs` names the operands and their sizes, `packing.rs` lays `B` out in panels,
//! `kit.rs` is the vector operations of each path, `tiling.rs` chooses the tile height for
//! this core, `micro.rs` is the micro-kernel over one tile, `epilogue.rs` what it does to
//! each output before storing it and `column_tail.rs` the narrow last columns of a product
//! with `A` transposed; this file drives them over the chunks of the sum, the blocks of
//! rows and the panels.

use pulp::{Simd, WithSimd};

use super::isa::Isa;

mod column_tail;
mod epilogue;
mod kit;
mod micro;
mod operands;
mod packing;
mod tiling;

pub use epilogue::Epilogue;
pub use operands::{Dims, Lhs, Packed, Rhs};
pub use packing::pack;
pub use tiling::{use_tiling, TileChoice, Tiling, TilingGuard};

use column_tail::ColumnTail;
use kit::{narrow, Full};
#[cfg(target_arch = "x86_64")]
use kit::{X4, X8};
use micro::{micro, Block, Out};
use packing::{panel_shape, Kind, PackB};

/// Terms of the sum per pass over the blocks of rows: 512 rows of a 100-wide A (200 KB)
/// and of one panel of B (64 KB) stay in L2. Measured at n = 10,000 and 100,000 against
/// 64 to 2048 and no chunks: 512 was fastest (no chunks: 27% slower at 100,000).
const DEPTH_BLOCK: usize = 512;

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
    let row_block = Tiling::now().rows(lanes, depth);
    let tail = column_tail(a, lanes, cols, &epilogue);
    let col_end = tail.map_or(cols, |(col0, _)| col0);
    for k0 in (0..depth.max(1)).step_by(DEPTH_BLOCK) {
        let kc = (depth - k0).min(DEPTH_BLOCK);
        for row0 in (0..rows).step_by(row_block) {
            let block = RowBlock {
                c: &mut *c,
                a,
                b_pack,
                dims,
                row0,
                k0,
                kc,
                resume: resume || k0 > 0,
                lanes,
                col_end,
                epilogue: &mut epilogue,
            };
            // Each tile height is its own function, so adding the 8-row one changed nothing
            // in how the 6-row one compiles.
            if row_block == 8 {
                isa.run(Tiles::<8>(block));
            } else {
                isa.run(Tiles::<6>(block));
            }
        }
        if let (Some((col0, shape)), Lhs::Transposed(data)) = (tail, a) {
            let width = shape.width;
            let offset = depth * col0 + k0 * width;
            isa.run(ColumnTail {
                c: &mut *c,
                a_t: &data[k0 * rows..(k0 + kc) * rows],
                panel: &b_pack[offset..offset + kc * width],
                rows,
                cols,
                col0,
                valid: shape.valid,
                width,
                resume: resume || k0 > 0,
            });
        }
    }
}

/// Where the narrow last panel of a product starts, and its shape, when it goes to
/// [`ColumnTail`] instead of the row tiles: the 4- or 8-lane panel of the AVX-512 path, or
/// the one-vector last panel of the AVX2 path, for `A` transposed and a plain store, which
/// is every weight gradient.
fn column_tail(
    a: Lhs<'_>,
    lanes: usize,
    cols: usize,
    epilogue: &Epilogue<'_>,
) -> Option<(usize, packing::PanelShape)> {
    let narrow = cfg!(target_arch = "x86_64") && lanes == 16;
    let vectors = narrow || lanes == 8;
    if !vectors || !matches!(a, Lhs::Transposed(_)) || !matches!(epilogue, Epilogue::Store) {
        return None;
    }
    let mut col0 = 0;
    loop {
        let shape = panel_shape(col0, cols, lanes, narrow);
        if col0 + shape.valid == cols {
            let tail = match shape.kind {
                Kind::X4 | Kind::X8 => true,
                // AVX2's last panel is one vector of 8 lanes, at most 8 columns.
                Kind::Vectors(1) => lanes == 8,
                Kind::Vectors(_) => false,
            };
            return tail.then_some((col0, shape));
        }
        col0 += shape.valid;
    }
}

/// Rows `row0..row0 + height` of `C`, every panel, in tiles of at most `height` rows.
struct Tiles<'a, 'e, const HEIGHT: usize>(RowBlock<'a, 'e>);

/// One block of rows of `C` and what computing it needs.
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
    /// The columns up to which the row tiles go (the rest go to [`ColumnTail`]).
    col_end: usize,
    epilogue: &'a mut Epilogue<'e>,
}

impl<const HEIGHT: usize> WithSimd for Tiles<'_, '_, HEIGHT> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Tiles(RowBlock {
            c,
            a,
            b_pack,
            dims,
            row0,
            k0,
            kc,
            resume,
            lanes,
            col_end,
            epilogue,
        }) = self;
        assert_eq!(
            lanes,
            super::isa::lanes::<S>(),
            "one product runs on one instruction set"
        );
        let Dims { rows, depth, cols } = dims;
        let height = (rows - row0).min(HEIGHT);
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
        while col0 < col_end {
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
                        8 if HEIGHT == 8 => micro::<_, 8, $vectors>($kit, block, panel, out),
                        7 if HEIGHT == 8 => micro::<_, 7, $vectors>($kit, block, panel, out),
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

#[cfg(test)]
mod tests;
