//! One run end to end: data, training, sampling and metrics for a [`RunConfig`].

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::{
    data,
    fused::{FusedNet, Isa},
    metrics::{self, Metrics},
    model::{NamedTensor, NoisePredictor},
    prediction::to_x0_eps,
    rng::{self, Stream},
    sample::{self, DataRange, ReverseProcess},
    scaling::Scaler,
    schedule::Schedule,
    train, Point, Result, RunConfig, Scaling,
};

/// How a run ended.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RunStatus {
    /// Training finished and samples were drawn.
    Completed,
    /// The training loss became non-finite at `epoch` (1-based); nothing was sampled.
    Diverged {
        /// The first epoch whose loss was not finite.
        epoch: usize,
    },
    /// Training finished, but the sampler produced non-finite samples (an exploded reverse
    /// chain), so the metrics are not finite. Deterministic, like divergence: a result, not
    /// an error.
    NonFinite,
}

/// Progress reported while a run trains.
#[derive(Clone, Copy, Debug)]
pub enum Progress {
    /// `epoch` of `epochs` is done, with its loss.
    Epoch {
        /// Epochs done.
        epoch: usize,
        /// Epochs in all.
        epochs: usize,
        /// The loss of this epoch.
        loss: f64,
    },
    /// Training is over; the sampler and metrics run.
    Sampling,
}

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

/// The training set of a run, in data space, exactly as the run sees it.
pub fn training_data(config: &RunConfig) -> Vec<Point> {
    let mut rng = rng::stream(config.seed, Stream::Data);
    data::generate(&config.dataset, &mut rng)
}

/// The reference draw for the noise floor: the same distribution under another stream,
/// with as many points as the run draws samples, since every metric depends on set size.
fn floor_data(config: &RunConfig) -> Vec<Point> {
    let mut rng = rng::stream(config.seed, Stream::NoiseFloor);
    let dataset = crate::DatasetConfig {
        n: config.sample_count(),
        ..config.dataset.clone()
    };
    data::generate(&dataset, &mut rng)
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
    let noise_floor = metrics::evaluate(&data, &floor_data(config));
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
    let trained = Trained::from_weights(config, &model.weights)?;
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
    let init = NoisePredictor::new(&config.model, config.steps, config.seed);
    FusedNet::from_named(&config.model, config.steps, &init.named_tensors())
}

/// A trained model rebuilt from stored weights, for figures that need the network itself
/// (reverse trajectories, predicted-noise fields).
pub struct Trained {
    config: RunConfig,
    schedule: Schedule,
    scaler: Scaler,
    /// The per-axis range of the scaled training set, which `sampling.clip` bounds by.
    range: DataRange,
    model: FusedNet,
}

impl Trained {
    /// Rebuilds the model of `config` and loads `weights` into it. The scaler is refitted
    /// on the regenerated training data, which is identical to the run's.
    pub fn from_weights(config: &RunConfig, weights: &[NamedTensor]) -> Result<Trained> {
        config.validate()?;
        let schedule = Schedule::new(&config.schedule, config.steps)?;
        let data = training_data(config);
        let scaler = Scaler::fit(config.scaling, &data);
        let range = match config.scaling {
            // [-1, 1] by construction; the scaled extremes may be an ulp off.
            Scaling::MinMax => DataRange::UNIT,
            Scaling::Standardize | Scaling::None => DataRange::of(&scaler.transform_all(&data)),
        };
        let model = FusedNet::from_named(&config.model, config.steps, weights)?;
        Ok(Trained {
            config: config.clone(),
            schedule,
            scaler,
            range,
            model,
        })
    }

    /// The reverse process the run's `sampling` describes, for its prediction target and
    /// its data's range.
    pub fn reverse_process(&self) -> ReverseProcess {
        ReverseProcess::new(
            &self.schedule,
            &self.config.sampling,
            self.config.model.prediction,
            self.range,
        )
    }

    /// The run's config.
    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    /// The run's schedule.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// Draws `n` samples with a sampling stream of `seed` and returns the whole reverse
    /// trajectory in data space: entry `k` holds the state after `k` reverse steps, so
    /// entry 0 is the initial noise `x_T` and the last entry the samples `x_0`; with every
    /// step visited, entry `k` is `x_{T-k}` ([`Trained::timesteps`] gives the steps).
    pub fn trajectory(&self, n: usize, seed: u64) -> Vec<Vec<Point>> {
        let mut rng = rng::stream(seed, Stream::Sampling);
        sample::trajectory(&self.model, &self.reverse_process(), n, &mut rng)
            .into_iter()
            .map(|xs| self.scaler.inverse_all(&xs))
            .collect()
    }

    /// The steps `t` the run's sampler visits, in order: the step that entry `k + 1` of
    /// [`Trained::trajectory`] was computed at is entry `k` here.
    pub fn timesteps(&self) -> Vec<usize> {
        self.reverse_process().timesteps()
    }

    /// The direction the sampler pushes each of `points` (data space) at step `t`: the
    /// negative predicted noise `-eps_theta(x_t, t)` (converted from the network's target
    /// when it predicts `x0` or `v`), mapped into data-space units.
    pub fn noise_field(&self, points: &[Point], t: usize) -> Vec<Point> {
        let scaled = self.scaler.transform_all(points);
        let output = sample::predict_output(&self.model, &scaled, t);
        let (signal, noise) = (self.schedule.signal_scale(t), self.schedule.noise_scale(t));
        let prediction = self.config.model.prediction;
        scaled
            .iter()
            .zip(output)
            .map(|(x, o)| {
                let eps = |axis: usize| to_x0_eps(prediction, x[axis], o[axis], signal, noise).1;
                self.scaler.inverse_direction([-eps(0), -eps(1)])
            })
            .collect()
    }
}
