//! The post's noise predictor as one fused op: its forward pass, its backward pass and
//! AdamW over flat parameter buffers, with every buffer made once per run.
//!
//! The network is the one [`crate::init`] defines on dfdx (and initialises): an input of
//! `x_t` and the time features through 100-100-100-20-2 with LeakyReLU. Here the first
//! layer takes the concatenated input `[x_t, features]` (3 columns with the post's one-hot
//! time table, 18 with sinusoidal features), exactly the post's `Linear(2 + F, 100)`.
//! Weights are stored transposed, `(inputs, outputs)`, so the forward product and the
//! weight gradient share one layout and AdamW runs over one contiguous vector.
//!
//! Nothing is computed that nobody reads: the first layer's input gradient is only formed
//! for the one-hot time column (the table entries are parameters), and AdamW touches the
//! `T` table entries of the run, not a table of the largest `T`.
//!
//! `net.rs` holds the flat parameters and their names, `forward.rs` the forward pass and
//! its buffers, `backward.rs` the backward pass, and `trainer.rs` the training step with
//! AdamW over blocks of rows.

mod backward;
mod forward;
mod net;
mod trainer;

pub use forward::{Activations, PackedWeights, Steps};
pub use net::FusedNet;
pub use trainer::{
    rows_per_block, rows_per_block_for, set_rows_per_block, AdamConfig, Trainer, BLOCK_ROWS_RANGE,
    BYTES_PER_ROW, MOST_ROWS_FROM_CACHE, ROWS_PER_BLOCK,
};

#[cfg(test)]
mod tests;
