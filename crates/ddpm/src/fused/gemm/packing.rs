//! Packing the right operand: `B` copied into column panels of one or two vectors
//! (zero-padded), so the micro-kernel streams it contiguously, and the panels' shapes.

use pulp::{Simd, WithSimd};

use crate::fused::isa::{lanes, Isa};

use super::{
    epilogue::Epilogue,
    kit::{fill, narrow},
    operands::{Packed, Rhs},
};

/// Vectors per panel of packed `B`.
const PANEL_VECTORS: usize = 2;

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

/// Packs every panel of `B` into `pack` (unless it comes packed) and sizes the packed copy
/// an epilogue will write; returns the lanes of the path.
pub(super) struct PackB<'a, 'e> {
    pub(super) b: Rhs<'a>,
    pub(super) depth: usize,
    pub(super) cols: usize,
    pub(super) rows: usize,
    pub(super) pack: &'a mut Vec<f32>,
    pub(super) epilogue: &'a mut Epilogue<'e>,
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

/// What one panel of packed `B` holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// One or two vectors of the path.
    Vectors(usize),
    /// One vector of 8 lanes (AVX-512 path only).
    X8,
    /// One vector of 4 lanes (AVX-512 path only).
    X4,
}

/// The panel that starts at column `col0` of a matrix with `cols` columns.
#[derive(Clone, Copy, Debug)]
pub(super) struct PanelShape {
    pub(super) kind: Kind,
    /// Floats per packed row (the columns and their zero padding).
    pub(super) width: usize,
    /// How many of its columns are real.
    pub(super) valid: usize,
}

/// The panel starting at `col0`: two vectors of the path while more than one vector of
/// columns is left, then one. With `narrow` (the AVX-512 path, where a 512-bit FMA costs
/// two 256-bit ones) the last columns go to a vector of 8 or 4 lanes instead when they
/// fit, and 17 to 24 columns to one full vector and such a narrow one, so at most 3
/// lanes per row are padding (at most 7 below 16 columns).
#[inline(always)]
pub(super) fn panel_shape(col0: usize, cols: usize, lanes: usize, narrow: bool) -> PanelShape {
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
