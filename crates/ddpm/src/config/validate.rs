//! Every value of a run's config checked against its allowed range, the error naming the
//! key.

use crate::{Error, Result};

use super::{
    limits::{MAX_EPOCHS, MAX_POINTS, MAX_STEPS},
    model::Prediction,
    run_config::RunConfig,
};

impl RunConfig {
    /// Checks every value against its allowed range; the error names the key.
    pub fn validate(&self) -> Result<()> {
        fn bad(key: &str, value: impl ToString, allowed: &str) -> Result<()> {
            Err(Error::InvalidConfig {
                key: key.to_string(),
                value: value.to_string(),
                allowed: allowed.to_string(),
            })
        }
        let s = &self.schedule;
        let t = &self.training;
        if self.steps == 0 || self.steps > MAX_STEPS {
            return bad("T", self.steps, "an integer from 1 to 10000");
        }
        if self.dataset.n < 2 || self.dataset.n > MAX_POINTS {
            return bad("dataset.n", self.dataset.n, "an integer from 2 to 1000000");
        }
        if !(self.dataset.noise.is_finite() && self.dataset.noise >= 0.0) {
            return bad("dataset.noise", self.dataset.noise, "a finite number >= 0");
        }
        if !(s.power.is_finite() && s.power > 0.0) {
            return bad("schedule.power", s.power, "a finite number > 0");
        }
        if !(s.max_beta > 0.0 && s.max_beta < 1.0) {
            return bad("schedule.max_beta", s.max_beta, "a number in (0, 1)");
        }
        if !(s.beta_start > 0.0 && s.beta_start < 1.0) {
            return bad("schedule.beta_start", s.beta_start, "a number in (0, 1)");
        }
        if !(s.beta_end >= s.beta_start && s.beta_end < 1.0) {
            return bad(
                "schedule.beta_end",
                s.beta_end,
                "a number in [schedule.beta_start, 1)",
            );
        }
        if !(s.cosine_s.is_finite() && s.cosine_s >= 0.0) {
            return bad("schedule.cosine_s", s.cosine_s, "a finite number >= 0");
        }
        if !(s.sigmoid_start.is_finite()
            && s.sigmoid_end.is_finite()
            && s.sigmoid_end > s.sigmoid_start)
        {
            return bad(
                "schedule.sigmoid_end",
                s.sigmoid_end,
                "a finite number > schedule.sigmoid_start",
            );
        }
        if !(s.sigmoid_tau.is_finite() && s.sigmoid_tau > 0.0) {
            return bad("schedule.sigmoid_tau", s.sigmoid_tau, "a finite number > 0");
        }
        if s.zero_terminal_snr && self.steps < 2 {
            return bad("schedule.zero_terminal_snr", true, "false when T = 1");
        }
        if s.zero_terminal_snr_exact && !s.zero_terminal_snr {
            return bad(
                "schedule.zero_terminal_snr_exact",
                true,
                "false, or true together with schedule.zero_terminal_snr = true",
            );
        }
        if s.zero_terminal_snr_exact && self.model.prediction == Prediction::Epsilon {
            return bad(
                "schedule.zero_terminal_snr_exact",
                true,
                "false when model.prediction = \"epsilon\" (x0 = (x_T - eps) / \
                 sqrt(alpha_bar_T) divides by zero at alpha_bar_T = 0): set \
                 model.prediction = \"v\" or \"sample\", or keep the capped \
                 schedule.zero_terminal_snr alone",
            );
        }
        if !(self.model.leaky_slope.is_finite() && (0.0..1.0).contains(&self.model.leaky_slope)) {
            return bad(
                "model.leaky_slope",
                self.model.leaky_slope,
                "a number in [0, 1)",
            );
        }
        if t.epochs == 0 || t.epochs > MAX_EPOCHS {
            return bad("training.epochs", t.epochs, "an integer from 1 to 1000000");
        }
        if !(t.lr.is_finite() && t.lr > 0.0) {
            return bad("training.lr", t.lr, "a finite number > 0");
        }
        if !(0.0..1.0).contains(&t.beta1) {
            return bad("training.beta1", t.beta1, "a number in [0, 1)");
        }
        if !(0.0..1.0).contains(&t.beta2) {
            return bad("training.beta2", t.beta2, "a number in [0, 1)");
        }
        if !(t.eps.is_finite() && t.eps > 0.0) {
            return bad("training.eps", t.eps, "a finite number > 0");
        }
        if !(t.weight_decay.is_finite() && t.weight_decay >= 0.0) {
            return bad(
                "training.weight_decay",
                t.weight_decay,
                "a finite number >= 0",
            );
        }
        if t.loss_every == 0 {
            return bad("training.loss_every", t.loss_every, "an integer >= 1");
        }
        if self.sampling.n_samples == 1 || self.sampling.n_samples > MAX_POINTS {
            return bad(
                "sampling.n_samples",
                self.sampling.n_samples,
                "0 (as many as the data) or an integer from 2 to 1000000",
            );
        }
        let sampling = &self.sampling;
        if sampling.steps > self.steps {
            return bad(
                "sampling.steps",
                sampling.steps,
                &format!("0 (every step) or an integer from 1 to T = {}", self.steps),
            );
        }
        if !(sampling.eta.is_finite() && (0.0..=1.0).contains(&sampling.eta)) {
            return bad("sampling.eta", sampling.eta, "a number in [0, 1]");
        }
        if !(sampling.clip_quantile > 0.0 && sampling.clip_quantile <= 1.0) {
            return bad(
                "sampling.clip_quantile",
                sampling.clip_quantile,
                "a number in (0, 1]",
            );
        }
        Ok(())
    }
}
