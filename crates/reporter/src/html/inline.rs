//! What the page carries besides the records: every run's config and provenance, and a
//! bounded, thinned set of artifacts (samples, training data, loss curves, the featured
//! run's reverse process), so a 10,000-run page stays far below its size limit.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::model::{flatten, intern};
use crate::artifacts::RunArtifacts;
use crate::plot::reverse::{frame_indices, ReverseProcess};
use crate::sweep::{AxisValue, RunStatus, Sweep};

/// The most runs whose samples the page carries (the featured run, the comparisons'
/// cells, then one run per cell); `diffsweep serve` gives any other on demand.
pub const MAX_SAMPLED_RUNS: usize = 400;
/// Points kept of each carried run's samples.
pub const POINTS_PER_RUN: usize = 300;
/// Points kept of the featured run's samples.
pub const FEATURED_POINTS: usize = 2000;
/// Points kept of each training set drawn under samples.
pub const DATA_POINTS: usize = 500;
/// The most loss curves the page carries (one per model).
pub const MAX_LOSS_CURVES: usize = 2000;
/// Points kept of each loss curve.
pub const LOSS_POINTS: usize = 120;
/// Frames of the reverse process (as many as the GIF has).
pub const REVERSE_FRAMES: usize = 60;
/// Points followed through the reverse process.
pub const REVERSE_POINTS: usize = 500;

/// `count` indices spread evenly over `0..len` (all of them when `len <= count`).
pub fn thin_indices(len: usize, count: usize) -> Vec<usize> {
    if len <= count {
        return (0..len).collect();
    }
    (0..count).map(|i| i * len / count).collect()
}

/// `value` rounded to `digits` decimals: the page draws points, it does not recompute
/// anything from them.
pub fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

fn points(all: &[ddpm::Point], keep: &[usize], digits: i32) -> Vec<[f64; 2]> {
    keep.iter()
        .map(|&i| all[i])
        .filter(|p| p[0].is_finite() && p[1].is_finite())
        .map(|p| [round(p[0], digits), round(p[1], digits)])
        .collect()
}

/// Every run's config: the first run's, flattened to dotted paths, and for every run the
/// paths where its config differs from it (`None` when its config could not be read).
#[derive(Serialize, Default)]
pub struct ConfigsData {
    /// The first run's config.
    pub base: BTreeMap<String, Value>,
    /// Each run's differences from `base`.
    pub diff: Vec<Option<BTreeMap<String, Value>>>,
}

/// Where and how each run was computed: code version, kernel path, commit, compiler,
/// machine (shared by many runs, so listed once), and when it ran.
#[derive(Serialize, Default)]
pub struct RecordsData {
    /// The distinct environments.
    pub environments: Vec<Value>,
    /// Each run's index into `environments`.
    pub environment: Vec<Option<usize>>,
    /// When each run started.
    pub started_at: Vec<Option<String>>,
    /// When each run ended.
    pub finished_at: Vec<Option<String>>,
}

/// The fields of a record that describe its environment rather than its outcome.
const ENVIRONMENT_FIELDS: [&str; 5] = [
    "diffsweep_version",
    "semantics_version",
    "kernel_isa",
    "provenance",
    "host",
];

/// Reads every run's config and record.
pub fn configs_and_records(
    sweep: &Sweep,
    artifacts: &dyn RunArtifacts,
) -> (ConfigsData, RecordsData) {
    let mut configs = ConfigsData::default();
    let mut records = RecordsData::default();
    for (i, row) in sweep.rows.iter().enumerate() {
        let config = artifacts
            .config(&row.run_id)
            .ok()
            .and_then(|c| serde_json::to_value(c).ok())
            .map(|json| flatten(&json));
        configs.diff.push(config.map(|flat| {
            if i == 0 {
                configs.base = flat.clone();
            }
            let mut diff: BTreeMap<String, Value> = flat
                .iter()
                .filter(|(path, value)| configs.base.get(*path) != Some(*value))
                .map(|(path, value)| (path.clone(), value.clone()))
                .collect();
            for path in configs.base.keys().filter(|p| !flat.contains_key(*p)) {
                diff.insert(path.clone(), Value::Null);
            }
            diff
        }));
        let record = artifacts.record_json(&row.run_id).ok().flatten();
        let field = |name: &str| {
            record
                .as_ref()
                .and_then(|r| r.get(name))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        records.started_at.push(field("started_at"));
        records.finished_at.push(field("finished_at"));
        records.environment.push(record.as_ref().map(|r| {
            let environment: serde_json::Map<String, Value> = ENVIRONMENT_FIELDS
                .iter()
                .filter_map(|f| r.get(*f).map(|v| (f.to_string(), v.clone())))
                .collect();
            intern(&mut records.environments, &Value::Object(environment))
        }));
    }
    (configs, records)
}

/// One run's samples over its training data.
#[derive(Serialize)]
pub struct SampleSet {
    /// The run's index in the run columns.
    pub run: usize,
    /// The samples kept (non-finite points dropped).
    pub points: Vec<[f64; 2]>,
    /// How many samples the run stored.
    pub total: usize,
    /// Index into the page's training sets.
    pub data: Option<usize>,
}

/// A loss curve, thinned.
#[derive(Serialize)]
pub struct LossData {
    /// Index into the page's models.
    pub model: usize,
    /// `(epoch, loss)`, non-finite losses dropped.
    pub points: Vec<[f64; 2]>,
}

/// The runs whose samples the page carries: the featured run first, then the
/// comparisons' cells, then one run per cell, each cell's run with the featured run's
/// seed where it completed (as the sample figures pick them).
pub fn sampled_runs(
    sweep: &Sweep,
    featured: Option<usize>,
    priority: &[Vec<AxisValue>],
) -> Vec<usize> {
    let seed = featured.map_or(0, |i| sweep.rows[i].seed);
    // Rows are sorted by cell, so each cell's runs are one stretch of rows.
    let mut cells: Vec<(Vec<AxisValue>, Vec<usize>)> = Vec::new();
    for (i, row) in sweep.rows.iter().enumerate() {
        let key = row.cell_key(&sweep.axes);
        match cells.last_mut() {
            Some((last, runs)) if *last == key => runs.push(i),
            _ => cells.push((key, vec![i])),
        }
    }
    let pick = |runs: &[usize]| {
        let completed = |i: &&usize| sweep.rows[**i].status == RunStatus::Completed;
        runs.iter()
            .filter(completed)
            .find(|i| sweep.rows[**i].seed == seed)
            .or_else(|| runs.iter().find(completed))
            .or_else(|| runs.first())
            .copied()
    };
    let mut out: Vec<usize> = featured.into_iter().collect();
    let wanted = priority
        .iter()
        .filter_map(|key| cells.iter().find(|(k, _)| k == key))
        .chain(&cells);
    for (_, runs) in wanted {
        if out.len() >= MAX_SAMPLED_RUNS {
            break;
        }
        if let Some(i) = pick(runs) {
            if !out.contains(&i) {
                out.push(i);
            }
        }
    }
    out
}

/// The samples of `runs` with their training sets, thinned.
pub fn samples(
    sweep: &Sweep,
    artifacts: &dyn RunArtifacts,
    runs: &[usize],
    featured: Option<usize>,
) -> (Vec<SampleSet>, Vec<Vec<[f64; 2]>>) {
    let mut sets = Vec::new();
    let mut datasets: Vec<Vec<[f64; 2]>> = Vec::new();
    let mut dataset_keys: Vec<String> = Vec::new();
    for &i in runs {
        let row = &sweep.rows[i];
        if row.status == RunStatus::Diverged || row.status == RunStatus::Failed {
            continue;
        }
        let Ok(all) = artifacts.samples(&row.run_id) else {
            continue;
        };
        let limit = if Some(i) == featured {
            FEATURED_POINTS
        } else {
            POINTS_PER_RUN
        };
        let data = artifacts.config(&row.run_id).ok().map(|config| {
            let key = format!(
                "{}|{}",
                serde_json::to_string(&config.dataset).unwrap_or_default(),
                config.seed
            );
            match dataset_keys.iter().position(|k| *k == key) {
                Some(d) => d,
                None => {
                    let data = ddpm::training_data(&config);
                    datasets.push(points(&data, &thin_indices(data.len(), DATA_POINTS), 3));
                    dataset_keys.push(key);
                    datasets.len() - 1
                }
            }
        });
        sets.push(SampleSet {
            run: i,
            points: points(&all, &thin_indices(all.len(), limit), 4),
            total: all.len(),
            data,
        });
    }
    (sets, datasets)
}

/// The loss curves of the models behind the runs `first` (in order), then of every other
/// model, at most [`MAX_LOSS_CURVES`]; `run_models` is each run's index into `models`.
pub fn losses(
    sweep: &Sweep,
    artifacts: &dyn RunArtifacts,
    models: &[String],
    run_models: &[usize],
    first: &[usize],
) -> Vec<LossData> {
    // The first run of each model reads its curve (every run of a model lists it).
    let mut reader: Vec<Option<usize>> = vec![None; models.len()];
    for (i, row) in sweep.rows.iter().enumerate() {
        if row.status != RunStatus::Failed && reader[run_models[i]].is_none() {
            reader[run_models[i]] = Some(i);
        }
    }
    let mut taken = vec![false; models.len()];
    let mut order: Vec<usize> = Vec::new();
    for i in first.iter().copied().chain(0..sweep.rows.len()) {
        if order.len() >= MAX_LOSS_CURVES {
            break;
        }
        let model = run_models[i];
        if !taken[model] && reader[model].is_some() {
            taken[model] = true;
            order.push(model);
        }
    }
    order
        .into_iter()
        .filter_map(|model| {
            let run = &sweep.rows[reader[model]?];
            let curve = artifacts.loss_curve(&run.run_id).ok()?;
            let finite: Vec<(usize, f64)> =
                curve.into_iter().filter(|(_, l)| l.is_finite()).collect();
            let points = thin_indices(finite.len(), LOSS_POINTS)
                .into_iter()
                .chain(finite.len().checked_sub(1))
                .collect::<std::collections::BTreeSet<usize>>()
                .into_iter()
                .map(|i| [finite[i].0 as f64, finite[i].1])
                .collect();
            Some(LossData { model, points })
        })
        .collect()
}

/// The featured run's reverse process, as frames of the same points.
#[derive(Serialize)]
pub struct ReverseData {
    /// The run's index.
    pub run: usize,
    /// The run, described.
    pub label: String,
    /// The step each frame shows (`0` is the final sample).
    pub timesteps: Vec<usize>,
    /// The points of each frame, `x_T` first.
    pub frames: Vec<Vec<[f64; 2]>>,
    /// The training data.
    pub data: Vec<[f64; 2]>,
    /// The shared axes: `[x_min, x_max, y_min, y_max]`.
    pub bounds: [f64; 4],
}

/// The frames of `reverse` the page animates.
pub fn reverse(reverse: &ReverseProcess, run: usize) -> ReverseData {
    let frames = frame_indices(reverse.trajectory.len(), REVERSE_FRAMES);
    let count = reverse.trajectory.first().map_or(0, Vec::len);
    let keep = thin_indices(count, REVERSE_POINTS);
    let b = &reverse.bounds;
    ReverseData {
        run,
        label: reverse.run.clone(),
        timesteps: frames
            .iter()
            .map(|&k| reverse.timesteps.get(k).copied().unwrap_or(0))
            .collect(),
        frames: frames
            .iter()
            .map(|&k| {
                keep.iter()
                    .map(|&i| {
                        let p = reverse.trajectory[k][i];
                        // A point that left the axes (or the reals) is drawn at their edge.
                        let edge = |v: f64, lo: f64, hi: f64| {
                            round(if v.is_nan() { hi } else { v.clamp(lo, hi) }, 3)
                        };
                        [edge(p[0], b.x_min, b.x_max), edge(p[1], b.y_min, b.y_max)]
                    })
                    .collect()
            })
            .collect(),
        data: points(
            &reverse.data,
            &thin_indices(reverse.data.len(), DATA_POINTS),
            3,
        ),
        bounds: [b.x_min, b.x_max, b.y_min, b.y_max],
    }
}
