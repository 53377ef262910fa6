//! The operands of a product and their sizes: how `A` and `B` are laid out, and `B` already
//! packed.

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
/// [`Epilogue::LeakyReluBackward`](super::Epilogue::LeakyReluBackward) writes beside its
/// output when asked, so the weight gradient that reads that output next needs no packing
/// pass of its own.
#[derive(Clone, Debug, Default)]
pub struct Packed {
    pub(super) lanes: usize,
    pub(super) rows: usize,
    pub(super) cols: usize,
    pub(super) data: Vec<f32>,
}

impl Rhs<'_> {
    pub(super) fn get(&self, p: usize, j: usize, depth: usize, cols: usize) -> f32 {
        match self {
            Rhs::Rows(data) => data[p * cols + j],
            Rhs::Transposed(data) => data[j * depth + p],
            Rhs::Packed(_) => unreachable!("a packed operand is never repacked"),
        }
    }
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
