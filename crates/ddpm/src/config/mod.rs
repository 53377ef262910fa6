//! The resolved configuration of one run: every choice that can change its result.
//!
//! One file per section of the config (`dataset.rs` with the scaling, `schedule.rs`,
//! `model.rs`, `training.rs`, `sampling.rs`) under [`RunConfig`] (`run_config.rs`), the
//! size limits in `limits.rs`; `validate.rs` checks a config's values and `canonical.rs`
//! resets what a run ignores, so equal runs compare and hash equal.

mod canonical;
mod dataset;
mod defaults;
mod limits;
mod model;
mod run_config;
mod sampling;
mod schedule;
mod training;
mod validate;

pub use dataset::{DatasetConfig, DatasetKind, Scaling};
pub use limits::{MAX_EPOCHS, MAX_POINTS, MAX_STEPS};
pub use model::{ModelConfig, Prediction, TimeEncoding};
pub use run_config::RunConfig;
pub use sampling::{
    Clip, SamplerMethod, SamplerVariance, SamplingConfig, Spacing, DEFAULT_CLIP_QUANTILE,
};
pub use schedule::{ScheduleConfig, ScheduleKind};
pub use training::TrainingConfig;

#[cfg(test)]
mod tests;
