//! The reverse process from the trained network: ancestral sampling (Ho et al. 2020,
//! algorithm 2), respaced over `K <= T` steps (Nichol and Dhariwal 2021, sec. 4), DDIM
//! (Song, Meng and Ermon 2021, eq. 12) and DPM-Solver++(2M) (Lu et al. 2022), for every
//! prediction target, with the predicted `x0` optionally clipped.
//!
//! One loop ([`ReverseProcess`]) runs every sampler: it asks a [`NoiseModel`] for the
//! network's output at each visited step, converts it into `x0` and `eps`
//! ([`crate::prediction::to_x0_eps`]), clips `x0` as `sampling.clip` says, and applies that
//! step's precomputed update, so the trained network and the analytic predictors of the
//! tests go through the same arithmetic.
//!
//! `reverse.rs` holds that loop and builds each step's update, `update.rs` the updates of
//! every sampler family, `timesteps.rs` which steps a respaced chain visits,
//! `clipping.rs` how `x0` is bounded, `noise_model.rs` what the loop asks a network, and
//! `draw.rs` the draws callers make: samples, whole trajectories, and the network's raw
//! output at one step (for noise fields).

mod clipping;
mod draw;
mod noise_model;
mod reverse;
mod timesteps;
mod update;

pub use clipping::{quantile, DataRange};
pub use draw::{predict_output, sample, trajectory};
pub use noise_model::{FusedNoiseModel, NoiseModel, Scratch};
pub use reverse::{ReverseProcess, DPM_ZERO_SNR_FLOOR};
pub use timesteps::timesteps;

#[cfg(test)]
mod fewstep_tests;

#[cfg(test)]
mod tests;
