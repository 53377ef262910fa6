//! The canonical form of a run's config: what the chosen schedule or sampler ignores reset
//! to its default, so that equal runs compare (and hash) equal, and the model part of it.

use super::{
    run_config::RunConfig,
    sampling::{Clip, SamplerMethod, SamplingConfig},
    schedule::{ScheduleConfig, ScheduleKind},
};

impl RunConfig {
    /// The same run with every parameter the chosen schedule or sampler ignores reset to
    /// its default, so that two configs that train and sample identically compare (and
    /// hash) equal.
    pub fn canonical(&self) -> RunConfig {
        let mut c = self.clone();
        // Asking for as many samples as data points is the default, written out.
        if c.sampling.n_samples == c.dataset.n {
            c.sampling.n_samples = 0;
        }
        // What the chosen sampler ignores, and the spacing when every step is visited.
        let sampling = SamplingConfig::default();
        match c.sampling.method {
            SamplerMethod::Ancestral => c.sampling.eta = sampling.eta,
            SamplerMethod::Ddim => c.sampling.variance = sampling.variance,
            SamplerMethod::DpmSolverPp2m => {
                c.sampling.eta = sampling.eta;
                c.sampling.variance = sampling.variance;
            }
        }
        if c.sampling.clip != Clip::Dynamic {
            c.sampling.clip_quantile = sampling.clip_quantile;
        }
        if c.sampling.steps == c.steps {
            c.sampling.steps = 0;
        }
        if c.sampling.steps == 0 {
            c.sampling.spacing = sampling.spacing;
        }
        let d = ScheduleConfig::default();
        let s = &mut c.schedule;
        if s.kind != ScheduleKind::Polynomial {
            s.power = d.power;
        }
        if !matches!(s.kind, ScheduleKind::Linear | ScheduleKind::Polynomial) {
            s.max_beta = d.max_beta;
        }
        if s.kind != ScheduleKind::Ddpm {
            s.beta_start = d.beta_start;
            s.beta_end = d.beta_end;
            s.rescale_to_t = d.rescale_to_t;
        }
        if s.kind != ScheduleKind::Cosine {
            s.cosine_s = d.cosine_s;
        }
        if s.kind != ScheduleKind::Sigmoid {
            s.sigmoid_start = d.sigmoid_start;
            s.sigmoid_end = d.sigmoid_end;
            s.sigmoid_tau = d.sigmoid_tau;
        }
        c
    }

    /// What the trained model depends on: the canonical config with `sampling` at its
    /// defaults. Two configs with the same model part train the same weights.
    pub fn model_part(&self) -> RunConfig {
        RunConfig {
            sampling: SamplingConfig::default(),
            ..self.canonical()
        }
    }
}
