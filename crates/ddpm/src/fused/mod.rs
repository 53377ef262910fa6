//! The fused CPU network: the post's noise predictor as one op with its own forward and
//! backward pass, AdamW, and the matrix product under them, dispatched at run time to
//! AVX-512, AVX2 + FMA or scalar code that all give the same bits.
//!
//! [`crate::init`] draws the initial weights through the same network on dfdx, and dfdx's
//! autodiff over it ([`crate::reference`]) is what the fused op's gradients are tested
//! against. Training and sampling run here.

pub mod elementwise;
pub mod gemm;
pub mod isa;
pub mod network;
pub mod peak;

pub use isa::Isa;
pub use network::{
    rows_per_block, rows_per_block_for, set_rows_per_block, Activations, AdamConfig, FusedNet,
    Steps, Trainer,
};
