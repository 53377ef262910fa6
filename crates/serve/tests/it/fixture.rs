//! A real store of tiny synthetic runs that share models, written through the runner's
//! own store code: the grid of an experiment file, one trained (two-epoch) model per
//! model config, and for each cell a made-up evaluation whose metrics follow its axes
//! (more steps and larger T do better), with a few diverged models and failed,
//! non-finite and exploded runs. `ten_thousand()` is the 10,000-run sweep of the
//! benchmarks; `small()` the tests'.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use ddpm::{Metrics, RunConfig, RunOutcome, RunStatus, TrainedModel};
use rand::{Rng, SeedableRng};
use runner::ModelRecord;
use runner::{Cell, Experiment, ModelId, RunStore, SweepIndex};

/// The axes of a synthetic grid.
pub struct Grid {
    pub name: &'static str,
    pub ts: &'static [u64],
    pub kinds: &'static [&'static str],
    pub scalings: &'static [&'static str],
    pub steps: &'static [u64],
    pub seeds: u64,
}

/// 2 x 2 x 1 x 2 x 2 cells x 3 seeds = 48 runs of 12 models.
pub fn small() -> Grid {
    Grid {
        name: "tiny",
        ts: &[10, 100],
        kinds: &["ddpm", "polynomial"],
        scalings: &["minmax"],
        steps: &[5, 10],
        seeds: 3,
    }
}

/// 5 x 4 x 2 x 5 x 2 cells x 25 seeds = 10,000 runs of 1,000 models.
pub fn ten_thousand() -> Grid {
    Grid {
        name: "ten-thousand",
        ts: &[100, 200, 500, 1000, 2000],
        kinds: &["cosine", "ddpm", "linear", "polynomial"],
        scalings: &["minmax", "standardize"],
        steps: &[5, 10, 20, 50, 100],
        seeds: 25,
    }
}

fn list<T: std::fmt::Display>(values: &[T], quote: bool) -> String {
    let items: Vec<String> = values
        .iter()
        .map(|v| {
            if quote {
                format!("\"{v}\"")
            } else {
                v.to_string()
            }
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// The grid as an experiment file.
pub fn experiment_text(grid: &Grid) -> String {
    let (t_lo, t_hi) = (grid.ts[0], grid.ts[grid.ts.len() - 1]);
    let k_hi = grid.steps[grid.steps.len() - 1];
    format!(
        r#"name = "{name}"
description = "Synthetic runs for serve's tests and benchmarks: tiny models shared by every sampler of a cell"
seeds = {seeds}

[base]
dataset = {{ kind = "moons", n = 200 }}
training = {{ epochs = 2 }}

[grid]
T = {ts}
"schedule.kind" = {kinds}
scaling = {scalings}
"sampling.steps" = {steps}
"sampling.method" = ["ancestral", "ddim"]

[[compare]]
name = "more steps (T={t_hi} vs T={t_lo})"
a = {{ T = {t_hi}, "schedule.kind" = "{kind}", scaling = "{scaling}", "sampling.steps" = {k_hi}, "sampling.method" = "ancestral" }}
b = {{ T = {t_lo}, "schedule.kind" = "{kind}", scaling = "{scaling}", "sampling.steps" = {k_hi}, "sampling.method" = "ancestral" }}
metric = "chamfer"
margin = 0.001

[[compare]]
name = "ddim vs ancestral"
a = {{ T = {t_hi}, "schedule.kind" = "{kind}", scaling = "{scaling}", "sampling.steps" = {k_hi}, "sampling.method" = "ddim" }}
b = {{ T = {t_hi}, "schedule.kind" = "{kind}", scaling = "{scaling}", "sampling.steps" = {k_hi}, "sampling.method" = "ancestral" }}
metric = "sliced_wasserstein"
margin = 0.01

[report]
featured = {{ T = {t_hi}, "schedule.kind" = "{kind}", scaling = "{scaling}", "sampling.steps" = {k_hi}, "sampling.method" = "ancestral" }}
"#,
        name = grid.name,
        seeds = grid.seeds,
        ts = list(grid.ts, false),
        kinds = list(grid.kinds, true),
        scalings = list(grid.scalings, true),
        steps = list(grid.steps, false),
        kind = grid.kinds[grid.kinds.len() - 1],
        scaling = grid.scalings[0],
    )
}

/// The grid's experiment, parsed as `diffsweep sweep` parses a file.
pub fn experiment(grid: &Grid) -> Experiment {
    Experiment::parse(
        &experiment_text(grid),
        Path::new(&format!("{}.toml", grid.name)),
    )
    .expect("the synthetic experiment is valid")
}

fn time(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_767_225_600 + seconds, 0)
        .single()
        .expect("a valid time")
}

/// A cell's quality: larger T, more steps and the polynomial schedule do better.
fn quality(config: &RunConfig) -> f64 {
    let kind = format!("{:?}", config.schedule.kind).to_lowercase();
    let schedule = match kind.as_str() {
        "polynomial" => 0.7,
        "cosine" => 0.9,
        "ddpm" => 1.0,
        _ => 1.4,
    };
    let steps = config.sampling.steps.max(1) as f64;
    schedule * (0.4 / (config.steps as f64).ln() + 0.6 / steps.sqrt())
}

/// Stores the grid's sweep index and the cells of `experiment` that `keep` picks
/// (by position), training each model they need once.
pub fn write(store: &RunStore, experiment: &Experiment, keep: impl Fn(usize) -> bool) {
    store
        .write_sweep_index(&SweepIndex::of(experiment))
        .expect("the index is written");
    let cells = experiment.cells();
    let mut by_model: BTreeMap<ModelId, Vec<(usize, &Cell)>> = BTreeMap::new();
    for (i, cell) in cells.iter().enumerate().filter(|(i, _)| keep(*i)) {
        by_model
            .entry(ModelId::of(&cell.config))
            .or_default()
            .push((i, cell));
    }
    for (m, (model_id, cells)) in by_model.iter().enumerate() {
        let model = model(store, model_id, &cells[0].1.config, m);
        for (i, cell) in cells {
            write_run(store, cell, &model, *i);
        }
    }
}

fn model(store: &RunStore, id: &ModelId, config: &RunConfig, m: usize) -> ModelRecord {
    if let Some(record) = store.model_record(id).expect("a readable model") {
        return record;
    }
    let mut trained: TrainedModel =
        ddpm::train_model(config, &mut |_| {}).expect("a tiny model trains");
    // A decaying loss curve of 40 points (two epochs draw too short a line).
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(m as u64);
    trained.loss_curve = (0..40)
        .map(|k| {
            let e = k * 50;
            (
                e,
                0.35 + 0.65 * (-(e as f64) / 400.0).exp() + 0.02 * rng.gen::<f64>(),
            )
        })
        .collect();
    trained.final_loss = trained.loss_curve.last().map_or(0.4, |l| l.1);
    trained.train_seconds = 1.5 + rng.gen::<f64>();
    if m % 47 == 5 {
        trained.status = RunStatus::Diverged { epoch: 17 };
        trained.final_loss = f64::NAN;
    }
    let lock = store.lock_model(id).expect("the model lock");
    store
        .write_model(&lock, config, &trained, time(0), time(2))
        .expect("the model is written")
}

fn write_run(store: &RunStore, cell: &Cell, model: &ModelRecord, i: usize) {
    let config = &cell.config;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(10_000 + i as u64);
    let floor = Metrics {
        chamfer: 0.018 + 0.002 * rng.gen::<f64>(),
        sliced_wasserstein: 0.011 + 0.002 * rng.gen::<f64>(),
        mmd: 0.005 + 0.001 * rng.gen::<f64>(),
    };
    let q = quality(config) * (0.85 + 0.3 * rng.gen::<f64>());
    let diverged = model.status == runner::Status::Diverged;
    let mut metrics = Metrics {
        chamfer: floor.chamfer * (1.0 + 4.0 * q),
        sliced_wasserstein: floor.sliced_wasserstein * (1.0 + 12.0 * q),
        mmd: floor.mmd * (1.0 + 20.0 * q),
    };
    let spread = 0.3 * q;
    let mut samples: Vec<ddpm::Point> = ddpm::training_data(config)
        .iter()
        .map(|p| {
            let angle = rng.gen::<f64>() * std::f64::consts::TAU;
            let r = spread * rng.gen::<f64>();
            [p[0] + r * angle.cos(), p[1] + r * angle.sin()]
        })
        .collect();
    let mut status = RunStatus::Completed;
    if i % 131 == 3 {
        metrics = Metrics {
            chamfer: metrics.chamfer * 5000.0,
            sliced_wasserstein: metrics.sliced_wasserstein * 5000.0,
            mmd: metrics.mmd * 5000.0,
        };
        samples.iter_mut().for_each(|p| p[0] *= 1e3);
    }
    if i % 151 == 11 {
        status = RunStatus::NonFinite;
        metrics.chamfer = f64::NAN;
        samples[0] = [f64::NAN, f64::NAN];
    }
    let result = if diverged {
        Ok(RunOutcome {
            status: RunStatus::Diverged { epoch: 17 },
            final_loss: f64::NAN,
            loss_curve: Vec::new(),
            metrics: None,
            noise_floor: floor,
            samples: Vec::new(),
            weights: Vec::new(),
            kernel_isa: ddpm::fused::Isa::detect(),
            train_seconds: model.train_seconds,
            sample_seconds: 0.0,
            metric_seconds: 0.0,
        })
    } else if i % 101 == 7 {
        Err("thread 'worker' panicked: synthetic failure of the fixture".to_string())
    } else {
        Ok(RunOutcome {
            status,
            final_loss: model.final_loss.unwrap_or(f64::NAN),
            loss_curve: Vec::new(),
            metrics: Some(metrics),
            noise_floor: floor,
            samples,
            weights: Vec::new(),
            kernel_isa: ddpm::fused::Isa::detect(),
            train_seconds: model.train_seconds,
            sample_seconds: 0.004 + 0.002 * rng.gen::<f64>(),
            metric_seconds: 0.002,
        })
    };
    let lock = store.lock(&cell.id).expect("the run lock");
    store
        .write_run_of(
            &lock,
            config,
            result
                .as_ref()
                .map(runner::store::RunView::whole)
                .map_err(String::as_str),
            Some(model),
            time(10 + i as i64),
            time(11 + i as i64),
        )
        .expect("the run is written");
}

/// A store holding the whole grid.
pub fn store(root: &Path, grid: &Grid) -> (RunStore, Experiment) {
    let store = RunStore::open(root).expect("a store");
    let experiment = experiment(grid);
    write(&store, &experiment, |_| true);
    (store, experiment)
}
