//! A trained model loaded from its weights, with the schedule, scaler and data range of its
//! run: what evaluation samples from, and what figures ask for reverse trajectories and
//! predicted-noise fields.

use crate::{
    data::training_data,
    fused::FusedNet,
    named_tensor::NamedTensor,
    prediction::to_x0_eps,
    rng::{self, Stream},
    sample::{self, DataRange, ReverseProcess},
    scaling::Scaler,
    schedule::Schedule,
    Point, Result, RunConfig, Scaling,
};

/// A trained model rebuilt from stored weights: evaluation samples from it, and figures that
/// need the network itself (reverse trajectories, predicted-noise fields) ask it.
pub struct LoadedModel {
    config: RunConfig,
    schedule: Schedule,
    pub(crate) scaler: Scaler,
    /// The per-axis range of the scaled training set, which `sampling.clip` bounds by.
    range: DataRange,
    pub(crate) model: FusedNet,
}

impl LoadedModel {
    /// Rebuilds the model of `config` and loads `weights` into it. The scaler is refitted
    /// on the regenerated training data, which is identical to the run's.
    pub fn from_weights(config: &RunConfig, weights: &[NamedTensor]) -> Result<LoadedModel> {
        LoadedModel::with_training_data(config, weights, &training_data(config))
    }

    /// [`LoadedModel::from_weights`] for a caller that already holds the run's training
    /// data (`training_data(config)`), so it is not drawn again.
    pub(crate) fn with_training_data(
        config: &RunConfig,
        weights: &[NamedTensor],
        data: &[Point],
    ) -> Result<LoadedModel> {
        config.validate()?;
        let schedule = Schedule::new(&config.schedule, config.steps)?;
        let scaler = Scaler::fit(config.scaling, data);
        let range = match config.scaling {
            // [-1, 1] by construction; the scaled extremes may be an ulp off.
            Scaling::MinMax => DataRange::UNIT,
            Scaling::Standardize | Scaling::None => DataRange::of(&scaler.transform_all(data)),
        };
        let model = FusedNet::from_named(&config.model, config.steps, weights)?;
        Ok(LoadedModel {
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
    /// step visited, entry `k` is `x_{T-k}` ([`LoadedModel::timesteps`] gives the steps).
    pub fn trajectory(&self, n: usize, seed: u64) -> Vec<Vec<Point>> {
        let mut rng = rng::stream(seed, Stream::Sampling);
        sample::trajectory(&self.model, &self.reverse_process(), n, &mut rng)
            .into_iter()
            .map(|xs| self.scaler.inverse_all(&xs))
            .collect()
    }

    /// The steps `t` the run's sampler visits, in order: the step that entry `k + 1` of
    /// [`LoadedModel::trajectory`] was computed at is entry `k` here.
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
