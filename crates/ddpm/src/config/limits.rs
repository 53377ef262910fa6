//! The largest steps, points and epochs a run may ask for.

/// The largest number of diffusion steps a run may use.
///
/// The post's one-hot time encoder is a learned table with one entry per step; dfdx 0.13
/// needs the table's size at compile time, so it is allocated at this size and only the
/// first `T` entries are ever read.
pub const MAX_STEPS: usize = 10_000;

/// The most training points (`dataset.n`) and samples (`sampling.n_samples`) of a run. A run
/// holds about 3 kB per point of one block of rows (the fused trainer's blocks of 512) and
/// a few dozen bytes per point beyond it: about 80 MB at the limit; the post uses 1000.
pub const MAX_POINTS: usize = 1_000_000;

/// The most training epochs of a run: about 25 minutes at the post's n = 1000 on one
/// core, 200 times the post's 5000.
pub const MAX_EPOCHS: usize = 1_000_000;
