//! The runner's integration tests: one binary, one module per concern.

mod errors;
mod executor;
mod grid;
mod identity;
mod store;

use std::path::Path;

use ddpm::{Evaluation, Metrics, NamedTensor, RunConfig, RunOutcome, RunStatus, TrainedModel};
use runner::Experiment;

/// Parses an experiment file's text as if it were `exp.toml`.
pub fn parse(text: &str) -> runner::Result<Experiment> {
    Experiment::parse(text, Path::new("exp.toml"))
}

/// A config small enough to train in a fraction of a second.
pub const TINY_BASE: &str = r#"
[base]
dataset = { n = 100 }
training = { epochs = 100, loss_every = 10 }
"#;

/// A stand-in for `ddpm::train_model` that returns at once, deterministically from the
/// config.
pub fn fake_model(config: &RunConfig) -> TrainedModel {
    let seed = config.seed as f64;
    TrainedModel {
        status: RunStatus::Completed,
        final_loss: 0.5 + seed,
        loss_curve: vec![(1, 1.0), (config.training.epochs, 0.5 + seed)],
        weights: vec![NamedTensor {
            name: "layer.weight".to_string(),
            shape: vec![1, 2],
            data: vec![1.0, seed as f32],
        }],
        kernel_isa: ddpm::fused::Isa::Scalar,
        train_seconds: 0.01,
    }
}

/// A stand-in for `ddpm::evaluate`, deterministic in the config.
pub fn fake_evaluation(config: &RunConfig) -> Evaluation {
    let seed = config.seed as f64;
    Evaluation {
        metrics: Some(Metrics {
            chamfer: 0.1,
            sliced_wasserstein: 0.2 + seed,
            mmd: 0.3,
        }),
        noise_floor: Metrics {
            chamfer: 0.01,
            sliced_wasserstein: 0.02,
            mmd: 0.03,
        },
        samples: vec![[seed, -1.5], [0.25, 1e-3]],
        kernel_isa: ddpm::fused::Isa::Scalar,
        sample_seconds: 0.001,
        metric_seconds: 0.001,
    }
}

/// A stand-in for `ddpm::run`: [`fake_model`] evaluated by [`fake_evaluation`].
pub fn fake_outcome(config: &RunConfig) -> RunOutcome {
    RunOutcome::of(&fake_model(config), fake_evaluation(config))
}
