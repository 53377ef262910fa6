//! How weights leave the crate: one parameter tensor by name, in PyTorch's layout.

/// One parameter tensor, by name, in row-major order: how weights leave the crate.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedTensor {
    /// The parameter's name, e.g. `trunk.l2.weight`.
    pub name: String,
    /// Its shape, outermost first.
    pub shape: Vec<usize>,
    /// Its values, row-major.
    pub data: Vec<f32>,
}
