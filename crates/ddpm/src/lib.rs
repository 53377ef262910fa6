//! The diffusion core of diffsweep: a denoising diffusion probabilistic model (DDPM) on
//! 2D toy data, as in Elflein's "A practical guide to Diffusion models" (2022).
//!
//! A run flows through the modules in order: [`data`] draws the training set, [`scaling`]
//! fits a reversible map for it, [`schedule`] turns a beta schedule into the f64
//! quantities of the forward and reverse processes ([`process`]), [`init`] draws the
//! initial weights through the network on dfdx (PyTorch's initialisation), [`fused`] is
//! the same network as one op that [`train`] fits with full-batch AdamW on the target
//! [`prediction`] names (noise, clean data or v), [`sample`] runs the reverse process
//! (ancestral, DDIM or DPM-Solver++(2M), over every step or a respaced subset, the
//! predicted x0 optionally clipped) from a [`LoadedModel`], and [`metrics`] compares
//! samples with data in data space, next to the noise floor of a perfect model.
//! [`run`](mod@run) ties them together for one [`RunConfig`] ([`config`]), reporting
//! through [`status`]. [`reference`](mod@reference) is dfdx's autodiff over the same
//! network: what the fused op is tested against and the benchmark's "before" column; no
//! run uses it.
//!
//! Every random draw comes from one seed split into independent streams ([`rng`]), so a
//! config and seed give bit-identical results whatever the thread count. The crate does
//! no file IO: weights leave it as [`NamedTensor`]s and callers decide where they go.

pub mod config;
pub mod data;
pub mod fused;
pub mod init;
pub mod loaded_model;
pub mod metrics;
pub mod named_tensor;
pub mod prediction;
pub mod process;
pub mod reference;
pub mod rng;
pub mod run;
pub mod sample;
pub mod scaling;
pub mod schedule;
pub mod status;
pub mod time_encoding;
pub mod train;

pub use config::{
    Clip, DatasetConfig, DatasetKind, ModelConfig, Prediction, RunConfig, SamplerMethod,
    SamplerVariance, SamplingConfig, Scaling, ScheduleConfig, ScheduleKind, Spacing, TimeEncoding,
    TrainingConfig, MAX_EPOCHS, MAX_POINTS, MAX_STEPS,
};
pub use data::training_data;
pub use loaded_model::LoadedModel;
pub use metrics::Metrics;
pub use named_tensor::NamedTensor;
pub use run::{evaluate, run, train_model, Evaluation, RunOutcome, TrainedModel};
pub use schedule::Schedule;
pub use status::{Progress, RunStatus};

/// A point of a 2D data set, `[x, y]`.
pub type Point = [f64; 2];

/// Everything that can go wrong in the core.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    /// A config value outside its allowed range.
    #[error("invalid value {value} for `{key}`: expected {allowed}")]
    InvalidConfig {
        /// The dotted config key, e.g. `schedule.power`.
        key: String,
        /// The offending value as written.
        value: String,
        /// What the key accepts.
        allowed: String,
    },
    /// Weights that do not fit the architecture a config describes.
    #[error("weights do not match the model: {0}")]
    WeightMismatch(String),
}

/// The core's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// The version of the training semantics. Bump it whenever a code change alters what a
/// config and seed produce, so run ids computed by the runner change with it.
pub const SEMANTICS_VERSION: u32 = 2;
