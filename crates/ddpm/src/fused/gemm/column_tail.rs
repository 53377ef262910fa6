//! The last few columns of a product whose left operand is transposed (the weight gradient
//! `X^T dZ`), with the lanes along the rows of `C` instead of its columns.
//!
//! On the AVX-512 path the last 1 to 8 columns of `C` form a narrow panel, whose tiles
//! spend one FMA per row and term on 4 or 8 columns: on a core that runs 512-bit FMAs at
//! full width that costs as much as 16 columns would. On the AVX2 path the last panel is
//! one vector of 8 lanes for 1 to 8 columns, whose 6-row tiles hold 6 sums, too few to
//! cover the FMA latency. With `A` transposed, the rows of `C` that one term touches are
//! contiguous in `A` (`a[i, p] = data[p * rows + i]`), so one vector of 16 (or 8) rows
//! times one broadcast value of `B` serves 16 (or 8) outputs per FMA. Each
//! output is still `acc = fma(a[i, p], b[p, j], acc)` over `p` in ascending order, from the
//! value `C` holds or from zero, so the bits are those of the definition; only which
//! outputs share a vector changes.

use pulp::{Simd, WithSimd};

use super::kit::{Full, Kit};

/// The most lanes a path has; the gathers and scatters go through a buffer this long.
const MAX_LANES: usize = 16;

/// Columns `col0..col0 + valid` of `C` (`rows x cols`, row-major) for one chunk of terms:
/// `a_t` holds the chunk's rows of `A^T` (`rows` floats each), `panel` the same terms' rows
/// of the packed narrow panel of `B` (`width` floats each).
pub(super) struct ColumnTail<'a> {
    pub(super) c: &'a mut [f32],
    pub(super) a_t: &'a [f32],
    pub(super) panel: &'a [f32],
    pub(super) rows: usize,
    pub(super) cols: usize,
    pub(super) col0: usize,
    pub(super) valid: usize,
    pub(super) width: usize,
    /// Whether the sums continue from the values in `C`.
    pub(super) resume: bool,
}

/// Where one tile sits: rows `row0..row0 + height` of the columns of a [`ColumnTail`].
#[derive(Clone, Copy)]
struct Place {
    rows: usize,
    cols: usize,
    col0: usize,
    width: usize,
    row0: usize,
    height: usize,
    resume: bool,
}

impl WithSimd for ColumnTail<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let ColumnTail {
            c,
            a_t,
            panel,
            rows,
            cols,
            col0,
            valid,
            width,
            resume,
        } = self;
        let kit = Full(simd);
        let lanes = <Full<S> as Kit>::LANES;
        assert!(lanes <= MAX_LANES && valid <= width && valid <= 8);
        // Up to 16 accumulators with 32 registers (4 vectors of rows for up to 4 columns, 2
        // for up to 8), up to 12 with 16 (3 for up to 4 columns, 1 for up to 8).
        let most = match (lanes, valid <= 4) {
            (16, true) => 4,
            (16, false) => 2,
            (_, true) => 3,
            (_, false) => 1,
        };
        let mut row0 = 0;
        while row0 < rows {
            let height = (rows - row0).min(most * lanes);
            let place = Place {
                rows,
                cols,
                col0,
                width,
                row0,
                height,
                resume,
            };
            let vectors = height.div_ceil(lanes);
            macro_rules! by_vectors {
                ($columns:literal, $($v:literal),+) => {
                    match vectors {
                        $($v => tile::<_, $v, $columns>(kit, c, a_t, panel, place),)+
                        _ => unreachable!("at most {most} vectors of rows"),
                    }
                };
            }
            match valid {
                1 => by_vectors!(1, 1, 2, 3, 4),
                2 => by_vectors!(2, 1, 2, 3, 4),
                3 => by_vectors!(3, 1, 2, 3, 4),
                4 => by_vectors!(4, 1, 2, 3, 4),
                5 => by_vectors!(5, 1, 2),
                6 => by_vectors!(6, 1, 2),
                7 => by_vectors!(7, 1, 2),
                _ => by_vectors!(8, 1, 2),
            }
            row0 += height;
        }
    }
}

/// One tile: `RV` vectors of rows (the last one possibly short) by `TC` columns.
#[inline(always)]
fn tile<K: Kit, const RV: usize, const TC: usize>(
    kit: K,
    c: &mut [f32],
    a_t: &[f32],
    panel: &[f32],
    place: Place,
) {
    let Place {
        rows,
        cols,
        col0,
        width,
        row0,
        height,
        resume,
    } = place;
    let lanes = K::LANES;
    // Rows of vector `v`, relative to `row0`.
    let span = |v: usize| (v * lanes).min(height)..((v + 1) * lanes).min(height);
    let mut buffer = [0.0f32; MAX_LANES];
    let mut acc = [[kit.splat(0.0); TC]; RV];
    if resume {
        for (v, acc_v) in acc.iter_mut().enumerate() {
            let part = span(v);
            for (j, value) in acc_v.iter_mut().enumerate() {
                for (b, i) in buffer.iter_mut().zip(part.clone()) {
                    *b = c[(row0 + i) * cols + col0 + j];
                }
                *value = kit.load(&buffer[..part.len()]);
            }
        }
    }
    acc = sum_tile(kit, acc, a_t, rows, row0, height, panel, width);
    for (v, acc_v) in acc.iter().enumerate() {
        let part = span(v);
        for (j, value) in acc_v.iter().enumerate() {
            kit.store(&mut buffer[..part.len()], *value);
            for (b, i) in buffer.iter().zip(part.clone()) {
                c[(row0 + i) * cols + col0 + j] = *b;
            }
        }
    }
}

/// The tile's sums over the chunk's terms, the accumulators taken and returned by value so
/// they stay in registers.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn sum_tile<K: Kit, const RV: usize, const TC: usize>(
    kit: K,
    mut acc: [[K::V; TC]; RV],
    a_t: &[f32],
    rows: usize,
    row0: usize,
    height: usize,
    panel: &[f32],
    width: usize,
) -> [[K::V; TC]; RV] {
    let lanes = K::LANES;
    for (a_row, b) in a_t.chunks_exact(rows).zip(panel.chunks_exact(width)) {
        let segment = &a_row[row0..row0 + height];
        let x: [K::V; RV] = core::array::from_fn(|v| {
            kit.load(&segment[(v * lanes).min(height)..((v + 1) * lanes).min(height)])
        });
        for j in 0..TC {
            let b_value = kit.splat(b[j]);
            for v in 0..RV {
                acc[v][j] = kit.mul_add(x[v], b_value, acc[v][j]);
            }
        }
    }
    acc
}
