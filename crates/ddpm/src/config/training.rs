//! The `training` section: full-batch AdamW and the length of training.

use serde::{Deserialize, Serialize};

/// Full-batch AdamW training.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TrainingConfig {
    /// Number of full-batch epochs (one optimiser step each).
    pub epochs: usize,
    /// AdamW learning rate.
    pub lr: f64,
    /// AdamW first-moment decay.
    pub beta1: f64,
    /// AdamW second-moment decay.
    pub beta2: f64,
    /// AdamW epsilon.
    pub eps: f64,
    /// Decoupled weight decay (Loshchilov and Hutter 2019).
    pub weight_decay: f64,
    /// Keep the loss every this many epochs (the first and last epoch are always kept).
    pub loss_every: usize,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        Self {
            epochs: 5000,
            lr: 1e-2,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 1e-4,
            loss_every: 10,
        }
    }
}
