//! The runner's integration tests: one binary, one module per concern.

mod errors;
mod executor;
mod grid;
mod identity;
mod store;

use std::path::Path;

use ddpm::{Metrics, NamedTensor, RunConfig, RunOutcome, RunStatus};
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

/// A stand-in for `ddpm::run` that returns at once, deterministically from the config.
pub fn fake_outcome(config: &RunConfig) -> RunOutcome {
    let seed = config.seed as f64;
    RunOutcome {
        status: RunStatus::Completed,
        final_loss: 0.5 + seed,
        loss_curve: vec![(1, 1.0), (config.training.epochs, 0.5 + seed)],
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
        weights: vec![NamedTensor {
            name: "layer.weight".to_string(),
            shape: vec![1, 2],
            data: vec![1.0, seed as f32],
        }],
        kernel_isa: ddpm::fused::Isa::Scalar,
        train_seconds: 0.01,
        sample_seconds: 0.001,
        metric_seconds: 0.001,
    }
}
