//! Time estimates for pending cells, calibrated on the runs already stored.

use ddpm::RunConfig;
use rayon::prelude::*;

use crate::store::{RunStore, Status};
use crate::Result;

/// Seconds a run takes, modelled as `epochs * n * train + K * samples * sample + n *
/// samples * metric`: one full-batch epoch touches every point once, each of the sampler's
/// K reverse steps every sample once, and the metrics compare every sample with every data
/// point (Chamfer's nearest neighbours, MMD's kernel sums).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CostModel {
    /// Training seconds per point per epoch.
    pub train_per_point_epoch: f64,
    /// Sampling seconds per sample per step.
    pub sample_per_point_step: f64,
    /// Scoring seconds per (data point, sample) pair.
    pub metric_per_point_pair: f64,
    /// How many stored runs the constants come from (0: the built-in defaults).
    pub calibrated_from: usize,
}

impl Default for CostModel {
    /// The medians of the 16 runs of `experiments/quick.toml` (one job, dev profile) on
    /// the 2-core Intel Xeon development machine of 2026-12-03, with the fused kernels:
    /// about 1.4 us per point and epoch of training, 0.44 us per sample and reverse step
    /// (the first kernels took 13 and 3.8) and 0.056 us per data point and sample to score.
    fn default() -> CostModel {
        CostModel {
            train_per_point_epoch: 1.4e-6,
            sample_per_point_step: 4.4e-7,
            metric_per_point_pair: 5.6e-8,
            calibrated_from: 0,
        }
    }
}

impl CostModel {
    /// The median per-unit costs of the completed runs in `store`, or the defaults when
    /// it has none.
    pub fn calibrate(store: &RunStore) -> Result<CostModel> {
        // Each run's per-unit costs, read in parallel (a record and a config each); the
        // medians do not depend on the order.
        let timings: Vec<Option<[f64; 3]>> = store
            .run_ids()?
            .par_iter()
            .map(|id| {
                // Corrupt entries are not timings to trust.
                let crate::store::Lookup::Stored(record) = store.lookup(id)? else {
                    return Ok(None);
                };
                if record.status != Status::Completed || record.train_seconds <= 0.0 {
                    return Ok(None);
                }
                let Ok(config) = store.config(id) else {
                    return Ok(None);
                };
                let (n, samples) = (config.dataset.n as f64, config.sample_count() as f64);
                Ok(Some([
                    record.train_seconds / (config.training.epochs as f64 * n),
                    // Per step the sampler took (K, which a respaced sampler keeps
                    // under T), as `evaluation` multiplies it back.
                    record.sample_seconds / (config.sampling_steps() as f64 * samples),
                    record.metric_seconds / (n * samples),
                ]))
            })
            .collect::<Result<_>>()?;
        let timings: Vec<[f64; 3]> = timings.into_iter().flatten().collect();
        let median_of = |i: usize, default: f64| {
            median(&mut timings.iter().map(|t| t[i]).collect::<Vec<_>>()).unwrap_or(default)
        };
        let defaults = CostModel::default();
        Ok(CostModel {
            train_per_point_epoch: median_of(0, defaults.train_per_point_epoch),
            sample_per_point_step: median_of(1, defaults.sample_per_point_step),
            metric_per_point_pair: median_of(2, defaults.metric_per_point_pair),
            calibrated_from: timings.len(),
        })
    }

    /// The estimated seconds of one run on one core.
    pub fn estimate(&self, config: &RunConfig) -> f64 {
        self.training(config) + self.evaluation(config)
    }

    /// Seconds to train the model of `config` (shared by the runs that differ only in
    /// how they sample).
    pub fn training(&self, config: &RunConfig) -> f64 {
        config.training.epochs as f64 * config.dataset.n as f64 * self.train_per_point_epoch
    }

    /// Seconds to sample `config`'s model as it asks (K reverse steps) and score the
    /// samples.
    pub fn evaluation(&self, config: &RunConfig) -> f64 {
        let samples = config.sample_count() as f64;
        config.sampling_steps() as f64 * samples * self.sample_per_point_step
            + config.dataset.n as f64 * samples * self.metric_per_point_pair
    }
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[values.len() / 2])
}

/// Seconds as `1h02m`, `3m05s` or `4.2s`.
pub fn format_seconds(seconds: f64) -> String {
    let whole = seconds.round() as u64;
    if whole >= 3600 {
        format!("{}h{:02}m", whole / 3600, (whole % 3600) / 60)
    } else if whole >= 60 {
        format!("{}m{:02}s", whole / 60, whole % 60)
    } else {
        format!("{seconds:.1}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_scale_with_work() {
        let model = CostModel::default();
        let mut config = RunConfig::default();
        let one = model.estimate(&config);
        config.training.epochs *= 2;
        assert!(model.estimate(&config) > one);
        assert_eq!(format_seconds(3725.0), "1h02m");
        assert_eq!(format_seconds(185.0), "3m05s");
        assert_eq!(format_seconds(4.24), "4.2s");
    }
}
