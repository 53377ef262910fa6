//! The fixed time features of a step: the sinusoidal encoding (the one-hot encoding is a
//! learned table, so it lives with the network's parameters).

/// Number of sinusoidal time features (sine and cosine of 8 frequencies).
pub const SINUSOIDAL_FEATURES: usize = 16;

/// The sinusoidal features of step `t`: `sin(t w_k), cos(t w_k)` with
/// `w_k = 10000^(-k/8)`, k = 0..8 (Vaswani et al. 2017, as used by Ho et al. 2020).
pub fn sinusoidal_features(t: usize) -> [f32; SINUSOIDAL_FEATURES] {
    let half = SINUSOIDAL_FEATURES / 2;
    let mut out = [0.0; SINUSOIDAL_FEATURES];
    for k in 0..half {
        let w = 10000f64.powf(-(k as f64) / half as f64);
        out[k] = (t as f64 * w).sin() as f32;
        out[half + k] = (t as f64 * w).cos() as f32;
    }
    out
}
