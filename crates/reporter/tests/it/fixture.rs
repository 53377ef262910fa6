//! Synthetic sweeps and an in-memory artifact source, so the reporter is tested without
//! training anything (except the one tiny model the single-run figures need).

use std::collections::BTreeMap;

use ddpm::{Metrics, NamedTensor, Point, RunConfig, Scaling, ScheduleKind};
use reporter::{AxisValue, Error, Result, RunArtifacts, RunRow, RunStatus, Sweep, Timings};

/// The noise floor every synthetic run shares.
pub const FLOOR: Metrics = Metrics {
    chamfer: 0.05,
    sliced_wasserstein: 0.02,
    mmd: 0.001,
};

/// A completed run with the given metrics.
pub fn row(id: &str, axes: &[(&str, AxisValue)], seed: u64, metrics: [f64; 3]) -> RunRow {
    RunRow {
        run_id: id.to_string(),
        axes: axes
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        seed,
        status: RunStatus::Completed,
        metrics: Some(Metrics {
            chamfer: metrics[0],
            sliced_wasserstein: metrics[1],
            mmd: metrics[2],
        }),
        noise_floor: Some(FLOOR),
        timings: Timings {
            train_seconds: 2.0,
            sample_seconds: 0.5,
            metric_seconds: 0.25,
        },
        final_loss: Some(0.4),
        diverged_epoch: None,
        error: None,
        version: Some("diffsweep 0.0.0 (semantics 1)".into()),
        model: None,
    }
}

/// A run that diverged at `epoch`.
pub fn diverged(id: &str, axes: &[(&str, AxisValue)], seed: u64, epoch: usize) -> RunRow {
    RunRow {
        status: RunStatus::Diverged,
        metrics: None,
        final_loss: Some(f64::NAN),
        diverged_epoch: Some(epoch),
        ..row(id, axes, seed, [0.0; 3])
    }
}

pub fn text(s: &str) -> AxisValue {
    AxisValue::Text(s.into())
}

pub fn axes() -> Vec<String> {
    ["T", "schedule.kind", "scaling", "seed"]
        .map(String::from)
        .to_vec()
}

/// The chamfer distance of a synthetic cell: polynomial beats ddpm, more steps help,
/// minmax beats standardize; seeds add a small spread.
pub fn chamfer(steps: i64, kind: &str, scaling: &str, seed: u64) -> f64 {
    let base = if kind == "polynomial" { 0.08 } else { 0.3 };
    let steps_factor = 1.0 + 2.0 / (steps as f64).log10();
    let scaling_factor = if scaling == "minmax" { 1.0 } else { 1.4 };
    base * steps_factor * scaling_factor + 0.004 * seed as f64
}

/// A 2 x 2 x 2 grid (T, schedule, scaling) with 3 seeds, whose `(ddpm, standardize,
/// T=10)` seed 2 diverged.
pub fn sweep() -> Sweep {
    let mut rows = Vec::new();
    for steps in [10i64, 1000] {
        for kind in ["ddpm", "polynomial"] {
            for scaling in ["minmax", "standardize"] {
                for seed in 0..3u64 {
                    let id = format!("{kind}-{scaling}-{steps}-{seed}");
                    let axes = [
                        ("T", AxisValue::Int(steps)),
                        ("schedule.kind", text(kind)),
                        ("scaling", text(scaling)),
                    ];
                    if (kind, scaling, steps, seed) == ("ddpm", "standardize", 10, 2) {
                        rows.push(diverged(&id, &axes, seed, 123));
                        continue;
                    }
                    let c = chamfer(steps, kind, scaling, seed);
                    rows.push(row(&id, &axes, seed, [c, c / 3.0, c * c / 10.0]));
                }
            }
        }
    }
    Sweep::new("synthetic", "A synthetic sweep for tests.", &axes(), rows)
}

/// The config a synthetic run id stands for.
pub fn config_of(run: &RunRow) -> RunConfig {
    let mut config = RunConfig::default();
    config.dataset.n = 300;
    config.training.epochs = 40;
    config.seed = run.seed;
    if let Some(AxisValue::Int(steps)) = run.axes.get("T") {
        config.steps = *steps as usize;
    }
    config.schedule.kind = match run.axes.get("schedule.kind") {
        Some(AxisValue::Text(k)) if k == "ddpm" => ScheduleKind::Ddpm,
        _ => ScheduleKind::Polynomial,
    };
    config.scaling = match run.axes.get("scaling") {
        Some(AxisValue::Text(s)) if s == "standardize" => Scaling::Standardize,
        _ => Scaling::MinMax,
    };
    config
}

/// Artifacts held in memory, keyed by run id.
#[derive(Default)]
pub struct MemoryArtifacts {
    pub configs: BTreeMap<String, RunConfig>,
    pub samples: BTreeMap<String, Vec<Point>>,
    pub losses: BTreeMap<String, Vec<(usize, f64)>>,
    pub weights: BTreeMap<String, Vec<NamedTensor>>,
}

fn missing<T>(what: &str, id: &str) -> Result<T> {
    Err(Error::Store(format!("no {what} for {id}")))
}

impl RunArtifacts for MemoryArtifacts {
    fn config(&self, id: &str) -> Result<RunConfig> {
        self.configs
            .get(id)
            .cloned()
            .map_or_else(|| missing("config", id), Ok)
    }
    fn samples(&self, id: &str) -> Result<Vec<Point>> {
        self.samples
            .get(id)
            .cloned()
            .map_or_else(|| missing("samples", id), Ok)
    }
    fn loss_curve(&self, id: &str) -> Result<Vec<(usize, f64)>> {
        self.losses
            .get(id)
            .cloned()
            .map_or_else(|| missing("loss curve", id), Ok)
    }
    fn weights(&self, id: &str) -> Result<Vec<NamedTensor>> {
        self.weights
            .get(id)
            .cloned()
            .map_or_else(|| missing("weights", id), Ok)
    }
}

/// Artifacts for every run of `sweep`: the training data jittered as samples (more for
/// short chains), a decaying loss curve, and for `featured` the weights of a tiny real
/// model trained on its config.
pub fn artifacts(sweep: &Sweep, featured: &str) -> MemoryArtifacts {
    let mut store = MemoryArtifacts::default();
    for run in &sweep.rows {
        let config = config_of(run);
        let spread = 1.5 / config.steps as f64;
        let samples: Vec<Point> = ddpm::training_data(&config)
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let phase = i as f64 * 2.399;
                [p[0] + spread * phase.cos(), p[1] + spread * phase.sin()]
            })
            .collect();
        let loss: Vec<(usize, f64)> = (0..=40)
            .step_by(5)
            .map(|e| (e, 0.2 + 0.8 * (-(e as f64) / (8.0 + run.seed as f64)).exp()))
            .collect();
        if run.run_id == featured {
            let outcome = ddpm::run(&config, &mut |_| {}).expect("a tiny run trains");
            store.weights.insert(run.run_id.clone(), outcome.weights);
        }
        if run.status == RunStatus::Completed {
            store.samples.insert(run.run_id.clone(), samples);
        }
        store.losses.insert(run.run_id.clone(), loss);
        store.configs.insert(run.run_id.clone(), config);
    }
    store
}
