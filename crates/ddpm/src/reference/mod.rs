//! The network on dfdx's autodiff: the reference the fused op ([`crate::fused`]) is tested
//! against, and the "before" column of the benchmark. No run uses it; runs use dfdx only to
//! draw the initial weights ([`crate::init`]).
//!
//! [`autodiff`] runs the dfdx network of [`crate::init`] forward on any tape and takes its
//! gradients, [`load`] puts stored weights back into it, and [`tape_kernel`] is the fused
//! bias+LeakyReLU op its layers record on dfdx's tape.

pub mod autodiff;
pub mod load;
pub mod tape_kernel;

pub use crate::init::{DfdxNetwork, NoisePredictor, OneHotNet, SinusoidalNet};
pub use autodiff::Batch;
pub use tape_kernel::bias_leaky_relu;

#[cfg(test)]
mod tests;
