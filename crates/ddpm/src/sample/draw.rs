//! The draws callers make from a trained network: samples, whole reverse trajectories, and
//! the network's raw output at one step (what noise fields are drawn from).

use rand_distr::{Distribution, StandardNormal};

use crate::{fused::FusedNet, rng::StreamRng, Point};

use super::{
    noise_model::{predict_into, FusedNoiseModel, Scratch},
    reverse::ReverseProcess,
};

/// The network's output (its prediction target: noise, `x0` or `v`) for every point of `x`
/// (model space) at one step `t` in `1..=T`.
pub fn predict_output(net: &FusedNet, x: &[Point], t: usize) -> Vec<Point> {
    let mut scratch = Scratch::default();
    predict_into(net, &mut scratch, x, t)
        .chunks_exact(2)
        .map(|e| [e[0] as f64, e[1] as f64])
        .collect()
}

/// `n` points of `N(0, I)`, drawn point by point, axis 0 then 1.
pub(super) fn initial_noise(n: usize, rng: &mut StreamRng) -> Vec<Point> {
    (0..n)
        .map(|_| [StandardNormal.sample(rng), StandardNormal.sample(rng)])
        .collect()
}

/// Draws `n` samples (model space) from `net` with `process`: `x_T ~ N(0, I)`, then
/// its `K` reverse steps.
pub fn sample(
    net: &FusedNet,
    process: &ReverseProcess,
    n: usize,
    rng: &mut StreamRng,
) -> Vec<Point> {
    let x = initial_noise(n, rng);
    process.run(&mut FusedNoiseModel::new(net), x, rng, |_| {})
}

/// Like [`sample`], keeping every state: entry `k` is the state after `k` of the `K`
/// reverse steps (model space), so the first entry is the initial noise `x_T` and the
/// last the samples; with every step visited, entry `k` is `x_{T-k}`. Draws the same
/// numbers as [`sample`], so its last entry equals `sample`'s output for the same stream.
pub fn trajectory(
    net: &FusedNet,
    process: &ReverseProcess,
    n: usize,
    rng: &mut StreamRng,
) -> Vec<Vec<Point>> {
    let x = initial_noise(n, rng);
    let mut states = vec![x.clone()];
    process.run(&mut FusedNoiseModel::new(net), x, rng, |x| {
        states.push(x.to_vec())
    });
    states
}
