//! What trains models and evaluates them for the executor: the [`Backend`] trait, and
//! [`CpuBackend`], the CPU backend of the `ddpm` crate.

use ddpm::{Evaluation, Progress, RunConfig, TrainedModel};

/// Trains models and evaluates them; the executor does everything else (the store,
/// locks, scheduling, progress and failures).
///
/// Both calls take a group: `train` gets several model configs and gives one result per
/// model, `evaluate` gets several (model, cell) pairs and gives one result per pair, in
/// the order given. A backend that trains many models in lockstep (a GPU training a whole
/// sweep's models as one batch) is handed them at once; the executor today hands each
/// worker one model at a time, and then each of that model's cells in turn, so that a
/// model is stored under its lock before it is sampled and a cell is locked just before
/// it is evaluated.
///
/// A returned error fails the model's cells (or the one cell), recorded as failed runs;
/// so does a panic, which fails the whole call, and a result list of the wrong length.
/// Results must be deterministic in the config: a run's id promises its bits.
pub trait Backend: Send + Sync {
    /// Trains the model of every config in `models` (their `sampling` parts play no
    /// role), result `i` for `models[i]`. `progress(i, p)` reports model `i`'s progress.
    fn train(
        &self,
        models: &[&RunConfig],
        progress: &mut dyn FnMut(usize, Progress),
    ) -> Vec<ddpm::Result<TrainedModel>>;

    /// Samples each cell's model as its config's `sampling` says and scores the
    /// samples, result `i` for `cells[i]`.
    fn evaluate(&self, cells: &[CellJob<'_>]) -> Vec<ddpm::Result<Evaluation>>;
}

/// One cell for [`Backend::evaluate`]: a cell's config and the trained model it samples.
#[derive(Clone, Copy, Debug)]
pub struct CellJob<'a> {
    /// The cell's config (its `sampling` part says how to sample).
    pub config: &'a RunConfig,
    /// The model, trained from a config with the same model part.
    pub model: &'a TrainedModel,
}

/// The CPU backend: [`ddpm::train_model`] and [`ddpm::evaluate`], one model and one cell
/// after another on the calling thread (the fused kernels are single-threaded, so a
/// run's bits do not depend on how many workers run beside it).
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuBackend;

impl Backend for CpuBackend {
    fn train(
        &self,
        models: &[&RunConfig],
        progress: &mut dyn FnMut(usize, Progress),
    ) -> Vec<ddpm::Result<TrainedModel>> {
        models
            .iter()
            .enumerate()
            .map(|(i, config)| ddpm::train_model(config, &mut |p| progress(i, p)))
            .collect()
    }

    fn evaluate(&self, cells: &[CellJob<'_>]) -> Vec<ddpm::Result<Evaluation>> {
        cells
            .iter()
            .map(|cell| ddpm::evaluate(cell.config, cell.model))
            .collect()
    }
}
