//! How a run reports itself: its progress while it trains, and how it ended.

use serde::{Deserialize, Serialize};

/// How a run ended.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RunStatus {
    /// Training finished and samples were drawn.
    Completed,
    /// The training loss became non-finite at `epoch` (1-based); nothing was sampled.
    Diverged {
        /// The first epoch whose loss was not finite.
        epoch: usize,
    },
    /// Training finished, but the sampler produced non-finite samples (an exploded reverse
    /// chain), so the metrics are not finite. Deterministic, like divergence: a result, not
    /// an error.
    NonFinite,
}

/// Progress reported while a run trains.
#[derive(Clone, Copy, Debug)]
pub enum Progress {
    /// `epoch` of `epochs` is done, with its loss.
    Epoch {
        /// Epochs done.
        epoch: usize,
        /// Epochs in all.
        epochs: usize,
        /// The loss of this epoch.
        loss: f64,
    },
    /// Training is over; the sampler and metrics run.
    Sampling,
}
