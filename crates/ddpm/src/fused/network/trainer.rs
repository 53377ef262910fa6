//! Full-batch AdamW training of the fused network: the loss and its gradient over blocks of
//! rows, then one AdamW step over the flat parameters.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::fused::{
    elementwise::{self, AdamStep},
    gemm::Packed,
};

use super::{
    backward::Gradients,
    forward::{Activations, PackedWeights, Steps},
    net::{FusedNet, WIDTHS},
};

/// Rows per block of a training step where nothing chose another size. The forward and
/// backward passes run block by block and the gradients' sums continue across blocks
/// (same bits as one pass over the batch, whatever the block size: tested), so a block's
/// activations and gradients ([`BYTES_PER_ROW`] a row) stay in the core's caches whatever
/// the batch size. Measured on a Zen 4 core (1 MB of L2), ms per epoch at
/// n = 1000 / 10,000 / 100,000: one block 1.52 / 20.6 / 289; blocks of 128 rows
/// 1.56 / 15.6 / 155; 256 rows 1.58 / 15.1 / 150; 512 rows 1.49 / 14.8 / 148; 1000 rows
/// 1.50 / 14.8 / 153.
pub const ROWS_PER_BLOCK: usize = 512;

/// The fewest and the most rows a block may have.
pub const BLOCK_ROWS_RANGE: (usize, usize) = (64, 4096);

/// Bytes of one row's block buffers: the saved activations (input and four hidden layers),
/// the output, and the gradients flowing back (output, two hidden widths, time feature),
/// all f32, with the input at its widest (two coordinates and 16 sinusoidal features).
pub const BYTES_PER_ROW: usize = 4 * ((2 + 16 + 100 + 100 + 100 + 20 + 2) + (2 + 2 * 100 + 1));

/// The block size of this process's training steps ([`set_rows_per_block`]).
static ROWS_PER_BLOCK_NOW: AtomicUsize = AtomicUsize::new(ROWS_PER_BLOCK);

/// The most rows a block chosen from the cache sizes gets: past 320 rows no core measured
/// trains faster run after run, and the 2 MB L2 of the Intel Xeons trains slower. There, at n = 10,000,
/// 704 rows (three quarters of that L2) took 4-9% longer per epoch than 256 rows in each of
/// six bench runs, and in `examples/blocks` 3-8% longer than 320 rows in four of five
/// interleaved runs (n = 1000, 10,000 and 100,000; 0.7% less in a noisier one at n = 1000);
/// on a Zen 4 core (1 MB L2) 320 and 512 rows took the same time within 0.5% in three bench
/// runs (BENCHMARKS.md, 2026-12-04, "Blocks at the study's size").
pub const MOST_ROWS_FROM_CACHE: usize = 320;

/// Rows per block for a core whose L2 cache holds `l2_bytes`: as many rows as fill three
/// quarters of it (the rest keeps the packed weights and the product's panels), in
/// multiples of 64, at most [`MOST_ROWS_FROM_CACHE`] and at least the fewest of
/// [`BLOCK_ROWS_RANGE`]: 320 rows for a 1 MB L2 (Zen 4) or more, 128 for 512 KB (Zen 3), 64
/// for 256 KB. On a Zen 4 core (1 MB L2) an epoch at n = 10,000 takes 15.7-16.7 ms from 64
/// to 1024 rows (block buffers up to 2.1x the L2) and slows past that: 19.7 ms at 2048
/// rows, 23.4 ms at 4096 (BENCHMARKS.md, 2026-12-02, "Blocks of a training step"); the
/// rule keeps a block well inside the L2 of cores with half of it, where 512 rows (1.06 MB
/// of buffers) would not fit.
pub fn rows_per_block_for(l2_bytes: u64) -> usize {
    let rows = (l2_bytes / 4 * 3) as usize / BYTES_PER_ROW;
    (rows / 64 * 64).clamp(BLOCK_ROWS_RANGE.0, MOST_ROWS_FROM_CACHE)
}

/// Sets the rows per block of every training step and forward pass this process makes
/// from now on (clamped to [`BLOCK_ROWS_RANGE`]). The bits of every result stay the same;
/// only the speed changes. The caller reads the cache sizes (this crate does no IO).
pub fn set_rows_per_block(rows: usize) {
    let rows = rows.clamp(BLOCK_ROWS_RANGE.0, BLOCK_ROWS_RANGE.1);
    ROWS_PER_BLOCK_NOW.store(rows, Ordering::Relaxed);
}

/// The rows per block training steps use now: [`ROWS_PER_BLOCK`] unless
/// [`set_rows_per_block`] chose another.
pub fn rows_per_block() -> usize {
    ROWS_PER_BLOCK_NOW.load(Ordering::Relaxed)
}

/// Full-batch AdamW training of a [`FusedNet`] on the simplified DDPM loss, with every
/// buffer made once.
pub struct Trainer {
    pub(super) rows: usize,
    /// Rows per block of the forward and backward passes.
    pub(super) block: usize,
    /// The weights packed once per step, for every block.
    pub(super) weights: PackedWeights,
    pub(super) acts: Activations,
    pub(super) grads: Gradients,
    pub(super) moment1: Vec<f32>,
    pub(super) moment2: Vec<f32>,
    pub(super) step: u64,
    /// `beta1^t` and `beta2^t`, as running products in f64.
    pub(super) beta_powers: (f64, f64),
    pub(super) config: AdamConfig,
}

/// The optimiser settings of a [`Trainer`].
#[derive(Clone, Copy, Debug)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f64,
    /// Decay of the first moment.
    pub beta1: f64,
    /// Decay of the second moment.
    pub beta2: f64,
    /// Added to the root of the second moment.
    pub eps: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
}

impl Trainer {
    /// Buffers for batches of `rows` points of `net`.
    pub fn new(net: &FusedNet, rows: usize, config: AdamConfig) -> Trainer {
        Trainer::with_blocks_of(net, rows, config, rows_per_block())
    }

    /// Like [`Trainer::new`], with blocks of `block` rows (tests compare block sizes).
    pub fn with_blocks_of(
        net: &FusedNet,
        rows: usize,
        config: AdamConfig,
        block: usize,
    ) -> Trainer {
        let block = rows.clamp(1, block.max(1));
        let mut acts = Activations::new();
        acts.resize(block, net.layers[0].inputs);
        let widest = WIDTHS.iter().copied().max().unwrap_or(0);
        Trainer {
            rows,
            block,
            weights: PackedWeights::default(),
            acts,
            grads: Gradients {
                output: vec![0.0; block * 2],
                hidden: [vec![0.0; block * widest], vec![0.0; block * widest]],
                feature: vec![0.0; block],
                params: vec![0.0; net.params.len()],
                packed: Packed::default(),
            },
            moment1: vec![0.0; net.params.len()],
            moment2: vec![0.0; net.params.len()],
            step: 0,
            beta_powers: (1.0, 1.0),
            config,
        }
    }

    /// One step on the loss `mean ||eps - eps_theta(x_t, t)||^2` over the batch. Returns the
    /// loss before the step; a non-finite loss leaves the parameters untouched.
    pub fn step(&mut self, net: &mut FusedNet, x_t: &[f32], eps: &[f32], steps: &[usize]) -> f64 {
        assert_eq!(
            steps.len(),
            self.rows,
            "a trainer is built for one batch size"
        );
        // The loss and every gradient are sums over the rows in ascending order, block
        // after block; nothing is updated before the whole batch's loss is known.
        let n = steps.len();
        let scale = (2.0 / (2 * n) as f64) as f32;
        let mut sum = 0.0f64;
        self.grads.params.fill(0.0);
        net.pack_weights(&mut self.weights);
        for start in (0..n).step_by(self.block) {
            let end = (start + self.block).min(n);
            let rows = 2 * start..2 * end;
            let prediction = net.forward_packed(
                &mut self.acts,
                &x_t[rows.clone()],
                Steps::PerRow(&steps[start..end]),
                &self.weights,
            );
            for ((g, p), e) in self.grads.output.iter_mut().zip(prediction).zip(&eps[rows]) {
                let diff = p - e;
                sum += f64::from(diff) * f64::from(diff);
                *g = diff * scale;
            }
            net.backward(
                &mut self.acts,
                &mut self.grads,
                &self.weights,
                &steps[start..end],
            );
        }
        let loss = sum / (2 * n) as f64;
        if !loss.is_finite() {
            return loss;
        }
        self.step += 1;
        let c = self.config;
        self.beta_powers.0 *= c.beta1;
        self.beta_powers.1 *= c.beta2;
        let step = AdamStep {
            lr: c.lr as f32,
            beta1: c.beta1 as f32,
            beta2: c.beta2 as f32,
            eps: c.eps as f32,
            decay: (c.weight_decay * c.lr) as f32,
            correction1: (1.0 / (1.0 - self.beta_powers.0)) as f32,
            correction2: (1.0 / (1.0 - self.beta_powers.1)) as f32,
        };
        elementwise::adamw(
            net.isa,
            &mut net.params,
            &self.grads.params,
            &mut self.moment1,
            &mut self.moment2,
            step,
        );
        loss
    }
}
