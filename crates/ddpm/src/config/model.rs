//! The `model` section: the network's time encoding, activation slope and prediction
//! target.

use serde::{Deserialize, Serialize};

use super::defaults::is_default;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// How the step `t` enters the network.
    pub time_encoding: TimeEncoding,
    /// Negative slope of the LeakyReLU activations (PyTorch's default is 0.01).
    pub leaky_slope: f64,
    /// What the network is trained to predict. Left out of the serialized config while it
    /// is `epsilon`, so runs made before the key existed keep their ids.
    #[serde(default, skip_serializing_if = "is_default")]
    pub prediction: Prediction,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            time_encoding: TimeEncoding::OneHot,
            leaky_slope: 0.01,
            prediction: Prediction::Epsilon,
        }
    }
}

/// The network's training target at `x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps`,
/// as diffusers' `prediction_type` (`scheduling_ddim.py`, `step`); [`crate::prediction`]
/// converts each into `x0` and `eps`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Prediction {
    /// The noise `eps` (Ho et al. 2020), the post's and DDPM's choice.
    #[default]
    Epsilon,
    /// The clean data `x0` (diffusers' `"sample"`).
    Sample,
    /// The velocity `v = sqrt(alpha_bar) eps - sqrt(1 - alpha_bar) x0` (Salimans and Ho 2022,
    /// "Progressive distillation", sec. 4; diffusers' `"v_prediction"`).
    V,
}

impl Prediction {
    /// Every target, in the order used by docs and error messages.
    pub const ALL: [Prediction; 3] = [Prediction::Epsilon, Prediction::Sample, Prediction::V];
}

/// How the diffusion step is given to the network.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum TimeEncoding {
    /// The post's encoder: `one_hot(t - 1)` through a linear layer with one output, i.e.
    /// a learned scalar per step plus a bias, concatenated with `x_t`.
    OneHot,
    /// Sixteen fixed sinusoidal features of the step `t` (8 frequencies, sine and cosine),
    /// as in the transformer position encoding used by Ho et al. 2020.
    Sinusoidal,
}
