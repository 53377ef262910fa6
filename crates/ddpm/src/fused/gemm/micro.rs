//! The micro-kernel: one tile of `C` (up to eight rows by a panel of one or two vectors),
//! its accumulators in registers for the whole sum, then the epilogue and the stores.

use super::{
    epilogue::{epilogue_in_registers, Epilogue, Place},
    kit::Kit,
    operands::Lhs,
};

/// Where a micro-kernel writes: rows `row0..row0 + MR`, columns `col0..col0 + valid`
/// of the row-major `c` with `cols` columns.
pub(super) struct Out<'a, 'e> {
    pub(super) c: &'a mut [f32],
    /// Rows of the whole `C`.
    pub(super) rows: usize,
    pub(super) row0: usize,
    pub(super) cols: usize,
    pub(super) col0: usize,
    pub(super) valid: usize,
    /// Floats per row of the packed panel.
    pub(super) width: usize,
    /// Whether this pass adds the last terms of the sum (then the epilogue runs).
    pub(super) last: bool,
    pub(super) epilogue: &'a mut Epilogue<'e>,
}

/// The rows `row0..row0 + MR` of A that one micro-kernel call reads, in place.
#[derive(Clone, Copy)]
pub(super) struct Block<'a> {
    pub(super) a: Lhs<'a>,
    pub(super) rows: usize,
    pub(super) depth: usize,
    pub(super) row0: usize,
    /// The terms `k0..k0 + kc` of the sum.
    pub(super) k0: usize,
    pub(super) kc: usize,
    /// Whether the sums continue from the values in `C`.
    pub(super) resume: bool,
}

/// `C[rows, panel] = A[rows, :] B[:, panel]` for `MR` rows of A and a panel of `NV`
/// vectors of `kit`, with the `MR x NV` accumulators in registers for the whole sum over
/// `p`.
#[inline(always)]
pub(super) fn micro<K: Kit, const MR: usize, const NV: usize>(
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
    // Tiles of more than 6 rows (the 32-register path only) sum in functions that take and
    // return the accumulators by value, where LLVM keeps all 16 in registers (summed in
    // place they go to the stack every term); smaller tiles in place, the form that
    // measured fastest for them. Both add the same terms in the same order.
    match a {
        Lhs::Rows(data) => {
            let a_rows: [&[f32]; MR] =
                core::array::from_fn(|r| &data[(row0 + r) * depth + k0..][..kc]);
            if MR > 6 {
                acc = sum_rows_unrolled(kit, acc, a_rows, panel, kc);
            } else {
                for (p, b) in panel.chunks_exact(NV).enumerate() {
                    for r in 0..MR {
                        let a_value = kit.splat(a_rows[r][p]);
                        for v in 0..NV {
                            acc[r][v] = kit.mul_add(a_value, b[v], acc[r][v]);
                        }
                    }
                }
            }
        }
        Lhs::Transposed(data) => {
            assert!(row0 + MR <= rows);
            let a_t = &data[k0 * rows..(k0 + kc) * rows];
            if MR > 6 {
                acc = sum_columns(kit, acc, a_t, rows, row0, panel);
            } else {
                for (a_row, b) in a_t.chunks_exact(rows).zip(panel.chunks_exact(NV)) {
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

/// The sums over the terms of one chunk, A by rows: `acc[r][v] += a[r][p] b[p][v]` in
/// ascending `p`, four terms per iteration, so each row's address is formed once per four
/// broadcasts.
#[inline(always)]
fn sum_rows_unrolled<K: Kit, const MR: usize, const NV: usize>(
    kit: K,
    mut acc: [[K::V; NV]; MR],
    a_rows: [&[f32]; MR],
    panel: &[K::V],
    kc: usize,
) -> [[K::V; NV]; MR] {
    const U: usize = 4;
    let quads = kc / U;
    let a_quads = a_rows.map(|row| row[..quads * U].as_chunks::<U>().0);
    let (b_quads, b_rest) = panel.split_at(quads * U * NV);
    for (q, b) in (0..quads).zip(b_quads.chunks_exact(U * NV)) {
        for u in 0..U {
            for r in 0..MR {
                let a_value = kit.splat(a_quads[r][q][u]);
                for v in 0..NV {
                    acc[r][v] = kit.mul_add(a_value, b[u * NV + v], acc[r][v]);
                }
            }
        }
    }
    let a_rows = a_rows.map(|row| &row[quads * U..kc]);
    for (p, b) in (0..kc - quads * U).zip(b_rest.chunks_exact(NV)) {
        for r in 0..MR {
            let a_value = kit.splat(a_rows[r][p]);
            for v in 0..NV {
                acc[r][v] = kit.mul_add(a_value, b[v], acc[r][v]);
            }
        }
    }
    acc
}

/// The sums over the terms of one chunk, A transposed: `a_t` holds the chunk's rows of
/// `A^T` (`rows` floats each), of which the tile reads `row0..row0 + MR`.
#[inline(always)]
fn sum_columns<K: Kit, const MR: usize, const NV: usize>(
    kit: K,
    mut acc: [[K::V; NV]; MR],
    a_t: &[f32],
    rows: usize,
    row0: usize,
    panel: &[K::V],
) -> [[K::V; NV]; MR] {
    for (a_row, b) in a_t.chunks_exact(rows).zip(panel.chunks_exact(NV)) {
        // `micro` asserted `row0 + MR <= rows`, so every row has the tile's columns.
        let Some((a_col, _)) = a_row[row0..].split_first_chunk::<MR>() else {
            break;
        };
        for r in 0..MR {
            let a_value = kit.splat(a_col[r]);
            for v in 0..NV {
                acc[r][v] = kit.mul_add(a_value, b[v], acc[r][v]);
            }
        }
    }
    acc
}
