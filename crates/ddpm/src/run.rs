//! One run end to end: training a model, evaluating it (sampling and metrics), and both
//! for a [`RunConfig`].

use std::cell::RefCell;
use std::time::Instant;

use crate::{
    data::{floor_data, training_data},
    fused::{FusedNet, Isa},
    init::initial_weights,
    loaded_model::LoadedModel,
    metrics::{self, Metrics},
    named_tensor::NamedTensor,
    rng::{self, Stream},
    sample,
    scaling::Scaler,
    schedule::Schedule,
    status::{Progress, RunStatus},
    train, Point, Result, RunConfig,
};

/// What one run produces.
#[derive(Clone, Debug)]
pub struct RunOutcome {
    /// Completed or diverged.
    pub status: RunStatus,
    /// The loss of the last epoch (non-finite when diverged).
    pub final_loss: f64,
    /// `(epoch, loss)` every `training.loss_every` epochs, plus the first and last.
    pub loss_curve: Vec<(usize, f64)>,
    /// Sample quality in data space; `None` when diverged.
    pub metrics: Option<Metrics>,
    /// The same metrics between the training set and a fresh draw of the data set: the
    /// best a perfect model can expect to score.
    pub noise_floor: Metrics,
    /// The samples, in data space (empty when diverged).
    pub samples: Vec<Point>,
    /// The trained weights, by name.
    pub weights: Vec<NamedTensor>,
    /// The instruction-set path the kernels ran on (every path gives the same bits).
    pub kernel_isa: Isa,
    /// Wall seconds spent training.
    pub train_seconds: f64,
    /// Wall seconds spent sampling.
    pub sample_seconds: f64,
    /// Wall seconds spent computing metrics (including the noise floor).
    pub metric_seconds: f64,
}

/// A trained model: the first half of a run, shared by every evaluation of a run config
/// that differs only in `sampling` (see [`RunConfig::model_part`]).
#[derive(Clone, Debug)]
pub struct TrainedModel {
    /// Trained, or diverged (then nothing is sampled from it).
    pub status: RunStatus,
    /// The loss of the last epoch (non-finite when diverged).
    pub final_loss: f64,
    /// `(epoch, loss)` every `training.loss_every` epochs, plus the first and last.
    pub loss_curve: Vec<(usize, f64)>,
    /// The trained weights, by name.
    pub weights: Vec<NamedTensor>,
    /// The instruction-set path the kernels ran on (every path gives the same bits).
    pub kernel_isa: Isa,
    /// Wall seconds spent training.
    pub train_seconds: f64,
}

/// One evaluation of a trained model: samples drawn as `sampling` says, and their metrics.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// Sample quality in data space; `None` when the model diverged.
    pub metrics: Option<Metrics>,
    /// The same metrics between the training set and a fresh draw of the data set.
    pub noise_floor: Metrics,
    /// The samples, in data space (empty when the model diverged).
    pub samples: Vec<Point>,
    /// The instruction-set path the sampler ran on.
    pub kernel_isa: Isa,
    /// Wall seconds spent sampling.
    pub sample_seconds: f64,
    /// Wall seconds spent computing metrics (including the noise floor).
    pub metric_seconds: f64,
}

/// Trains the model of `config` (its `sampling` part plays no role). Validation errors are
/// returned before any work; divergence is an outcome, not an error.
pub fn train_model(config: &RunConfig, progress: &mut dyn FnMut(Progress)) -> Result<TrainedModel> {
    config.validate()?;
    let schedule = Schedule::new(&config.schedule, config.steps)?;
    let data = training_data(config);
    let scaler = Scaler::fit(config.scaling, &data);
    let scaled = scaler.transform_all(&data);

    let started = Instant::now();
    let mut model = network(config)?;
    let report = train::train(&mut model, &schedule, &scaled, config, progress);
    Ok(TrainedModel {
        status: report.status,
        final_loss: report.final_loss,
        loss_curve: report.loss_curve,
        weights: model.named_tensors(),
        kernel_isa: model.isa(),
        train_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Samples `model` (trained for `config`'s model part) as `config.sampling` says and
/// scores the samples; a diverged model gets only the noise floor.
pub fn evaluate(config: &RunConfig, model: &TrainedModel) -> Result<Evaluation> {
    config.validate()?;
    let data = training_data(config);
    let started = Instant::now();
    let noise_floor = noise_floor(config, &data);
    let floor_seconds = started.elapsed().as_secs_f64();
    if let RunStatus::Diverged { .. } = model.status {
        return Ok(Evaluation {
            metrics: None,
            noise_floor,
            samples: Vec::new(),
            kernel_isa: model.kernel_isa,
            sample_seconds: 0.0,
            metric_seconds: floor_seconds,
        });
    }
    let trained = LoadedModel::with_training_data(config, &model.weights, &data)?;
    let started = Instant::now();
    let mut rng = rng::stream(config.seed, Stream::Sampling);
    let scaled_samples = sample::sample(
        &trained.model,
        &trained.reverse_process(),
        config.sample_count(),
        &mut rng,
    );
    let samples = trained.scaler.inverse_all(&scaled_samples);
    let sample_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let m = metrics::evaluate(&data, &samples);
    Ok(Evaluation {
        metrics: Some(m),
        noise_floor,
        samples,
        kernel_isa: trained.model.isa(),
        sample_seconds,
        metric_seconds: started.elapsed().as_secs_f64() + floor_seconds,
    })
}

/// What a run's noise floor is a function of: the training data (dataset and seed) and
/// the reference draw (the same, with the run's sample count).
#[derive(Clone, Debug, PartialEq)]
struct FloorKey {
    dataset: crate::DatasetConfig,
    seed: u64,
    samples: usize,
}

thread_local! {
    /// The last noise floor this thread computed. A sweep evaluates the cells of one model
    /// one after another on one worker, and they share the data, the seed and, unless
    /// they ask for other sample counts, the floor: it is scored once, not per cell.
    static LAST_FLOOR: RefCell<Option<(FloorKey, Metrics)>> = const { RefCell::new(None) };
}

/// The metrics of the training data against an independent draw of the same size as the
/// run's samples: [`metrics::evaluate`] of a pure function of [`FloorKey`], so the value
/// the cache returns is the one computing it again gives, bit for bit.
fn noise_floor(config: &RunConfig, data: &[Point]) -> Metrics {
    let key = FloorKey {
        dataset: config.dataset.clone(),
        seed: config.seed,
        samples: config.sample_count(),
    };
    let cached = LAST_FLOOR.with(|last| {
        last.borrow()
            .as_ref()
            .filter(|(k, _)| *k == key)
            .map(|(_, floor)| *floor)
    });
    if let Some(floor) = cached {
        return floor;
    }
    let floor = metrics::evaluate(data, &floor_data(config));
    LAST_FLOOR.with(|last| *last.borrow_mut() = Some((key, floor)));
    floor
}

impl RunOutcome {
    /// A whole run from its model and one evaluation of it.
    /// Its status is the model's, or [`RunStatus::NonFinite`] when a trained model's
    /// samples are not all finite.
    pub fn of(model: &TrainedModel, evaluation: Evaluation) -> RunOutcome {
        let status = match model.status {
            RunStatus::Completed if !evaluation.is_finite() => RunStatus::NonFinite,
            ref status => status.clone(),
        };
        RunOutcome {
            status,
            final_loss: model.final_loss,
            loss_curve: model.loss_curve.clone(),
            metrics: evaluation.metrics,
            noise_floor: evaluation.noise_floor,
            samples: evaluation.samples,
            weights: model.weights.clone(),
            kernel_isa: model.kernel_isa,
            train_seconds: model.train_seconds,
            sample_seconds: evaluation.sample_seconds,
            metric_seconds: evaluation.metric_seconds,
        }
    }
}

/// Trains, samples and scores one run: [`train_model`], then [`evaluate`].
pub fn run(config: &RunConfig, progress: &mut dyn FnMut(Progress)) -> Result<RunOutcome> {
    let model = train_model(config, progress)?;
    if model.status == RunStatus::Completed {
        progress(Progress::Sampling);
    }
    let evaluation = evaluate(config, &model)?;
    Ok(RunOutcome::of(&model, evaluation))
}

impl Evaluation {
    /// Whether every sample is finite (a diverged model's empty sample set is).
    pub fn is_finite(&self) -> bool {
        self.samples
            .iter()
            .all(|p| p[0].is_finite() && p[1].is_finite())
    }
}

/// The freshly initialised network of `config`: dfdx draws the weights from the run's
/// weight stream (PyTorch's initialisation), the fused op trains and samples them.
fn network(config: &RunConfig) -> Result<FusedNet> {
    let init = initial_weights(&config.model, config.steps, config.seed);
    FusedNet::from_named(&config.model, config.steps, &init)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::floor_data;

    /// The floor a cell gets is the one computed afresh for it, whether the previous cell
    /// on this thread shared it (another sampler of the same model) or not (another
    /// sample count, another seed).
    #[test]
    fn the_noise_floor_is_the_same_cached_or_not() {
        let fresh = |c: &RunConfig| metrics::evaluate(&training_data(c), &floor_data(c));
        let mut config = RunConfig::default();
        config.dataset.n = 64;
        config.training.epochs = 2;
        let model = train_model(&config, &mut |_| {}).unwrap();
        let mut ddim = config.clone();
        ddim.sampling.method = crate::SamplerMethod::Ddim;
        let mut fewer = config.clone();
        fewer.sampling.n_samples = 32;
        let mut reseeded = config.clone();
        reseeded.seed = 1;
        let mut floors = Vec::new();
        for cell in [&config, &ddim, &fewer, &config, &reseeded, &reseeded] {
            let floor = evaluate(cell, &model).unwrap().noise_floor;
            assert_eq!(floor, fresh(cell));
            floors.push(floor);
        }
        assert_eq!(
            floors[0], floors[1],
            "two samplers of one model share the floor"
        );
        assert_ne!(
            floors[0], floors[2],
            "the floor depends on the sample count"
        );
        assert_ne!(floors[0], floors[4], "and on the seed");
    }
}
