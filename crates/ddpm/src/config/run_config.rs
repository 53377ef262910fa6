//! [`RunConfig`]: every section of a run's config, its defaults (the post's setup), and the
//! counts derived from it.

use serde::{Deserialize, Serialize};

use super::{
    dataset::{DatasetConfig, Scaling},
    model::ModelConfig,
    sampling::SamplingConfig,
    schedule::ScheduleConfig,
    training::TrainingConfig,
};

/// Everything that determines one training run. Missing fields take the post's defaults.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// The toy data set the model learns.
    pub dataset: DatasetConfig,
    /// How the training data is mapped before the network sees it.
    pub scaling: Scaling,
    /// The number of diffusion steps `T`; steps run `t = 1..=T`.
    #[serde(rename = "T")]
    pub steps: usize,
    /// The variance schedule `beta_1..beta_T`.
    pub schedule: ScheduleConfig,
    /// The noise predictor's architecture.
    pub model: ModelConfig,
    /// The optimiser and the length of training.
    pub training: TrainingConfig,
    /// The reverse process.
    pub sampling: SamplingConfig,
    /// The one seed of the run; data, weights, training noise and sampling noise each
    /// draw from their own stream derived from it.
    pub seed: u64,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            dataset: DatasetConfig::default(),
            scaling: Scaling::MinMax,
            steps: 10,
            schedule: ScheduleConfig::default(),
            model: ModelConfig::default(),
            training: TrainingConfig::default(),
            sampling: SamplingConfig::default(),
            seed: 0,
        }
    }
}

impl RunConfig {
    /// The number of samples the run draws.
    pub fn sample_count(&self) -> usize {
        if self.sampling.n_samples == 0 {
            self.dataset.n
        } else {
            self.sampling.n_samples
        }
    }

    /// The number `K` of reverse steps the sampler takes (`sampling.steps`, 0 meaning `T`).
    pub fn sampling_steps(&self) -> usize {
        self.sampling.effective_steps(self.steps)
    }
}
