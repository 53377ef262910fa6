//! The fused network against dfdx's autodiff, and its training bits across block sizes
//! and instruction sets.

use super::*;
use crate::{
    config::{ModelConfig, TimeEncoding},
    fused::{
        gemm::{use_tiling, Tiling},
        isa::Isa,
    },
    init::initial_weights,
    named_tensor::NamedTensor,
    reference::NoisePredictor,
    Error,
};
use rand::{Rng, SeedableRng};

fn config(encoding: TimeEncoding) -> ModelConfig {
    ModelConfig {
        time_encoding: encoding,
        ..ModelConfig::default()
    }
}

/// A batch of `n` points, noise targets and steps in `1..=steps`.
fn batch(n: usize, steps: usize, seed: u64) -> (Vec<f32>, Vec<f32>, Vec<usize>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let x = (0..2 * n).map(|_| rng.gen_range(-1.5f32..1.5)).collect();
    let eps = (0..2 * n).map(|_| rng.gen_range(-2.0f32..2.0)).collect();
    let ts = (0..n).map(|_| rng.gen_range(1..=steps)).collect();
    (x, eps, ts)
}

fn assert_close(name: &str, got: &[f32], want: &[f32], tolerance: f32) {
    assert_eq!(got.len(), want.len(), "{name}");
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-3);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tolerance * scale,
            "{name}[{i}]: {g} vs {w} (scale {scale})"
        );
    }
}

#[test]
fn named_tensors_round_trip() {
    for encoding in [TimeEncoding::OneHot, TimeEncoding::Sinusoidal] {
        let init = initial_weights(&config(encoding), 7, 3);
        let net = FusedNet::from_named(&config(encoding), 7, &init).unwrap();
        assert_eq!(net.named_tensors(), init);
        assert_eq!(
            net.parameter_count(),
            init.iter().map(|t| t.data.len()).sum::<usize>()
        );
    }
}

#[test]
fn weights_of_another_architecture_are_refused() {
    let init = initial_weights(&ModelConfig::default(), 10, 0);
    let err = FusedNet::from_named(&ModelConfig::default(), 20, &init).unwrap_err();
    assert!(matches!(err, Error::WeightMismatch(_)), "{err}");
    let err = FusedNet::from_named(&config(TimeEncoding::Sinusoidal), 10, &init).unwrap_err();
    assert!(matches!(err, Error::WeightMismatch(_)), "{err}");
}

/// The fused forward pass against dfdx's ops on the same weights: equal up to the
/// rounding of a different summation order.
#[test]
fn forward_matches_dfdx() {
    for encoding in [TimeEncoding::OneHot, TimeEncoding::Sinusoidal] {
        let reference = NoisePredictor::new(&config(encoding), 10, 1);
        let net = FusedNet::from_named(&config(encoding), 10, &reference.named_tensors()).unwrap();
        let (x, _, ts) = batch(41, 10, 2);
        let want = reference.predict(&x, &ts);
        let got = net
            .forward(&mut Activations::new(), &x, Steps::PerRow(&ts))
            .to_vec();
        assert_close("prediction", &got, &want, 1e-5);
    }
}

/// The fused backward pass against dfdx's autodiff: every parameter's gradient,
/// the one-hot table's included.
#[test]
fn gradients_match_dfdx_autodiff() {
    for encoding in [TimeEncoding::OneHot, TimeEncoding::Sinusoidal] {
        let steps = 10;
        let reference = NoisePredictor::new(&config(encoding), steps, 4);
        let mut net =
            FusedNet::from_named(&config(encoding), steps, &reference.named_tensors()).unwrap();
        let (x, eps, ts) = batch(53, steps, 5);
        let want = reference.loss_gradients(&x, &eps, &ts);
        let mut trainer = Trainer::new(&net, ts.len(), adam());
        let prediction = net
            .forward(&mut trainer.acts, &x, Steps::PerRow(&ts))
            .to_vec();
        let scale = 2.0 / prediction.len() as f32;
        for ((g, p), e) in trainer.grads.output.iter_mut().zip(&prediction).zip(&eps) {
            *g = (p - e) * scale;
        }
        let mut weights = PackedWeights::default();
        net.pack_weights(&mut weights);
        net.backward(&mut trainer.acts, &mut trainer.grads, &weights, &ts);
        let params = std::mem::take(&mut net.params);
        net.params = trainer.grads.params.clone();
        let got = net.named_tensors();
        net.params = params;
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert_eq!((&g.name, &g.shape), (&w.name, &w.shape));
            assert_close(&g.name, &g.data, &w.data, 1e-4);
        }
    }
}

fn adam() -> AdamConfig {
    AdamConfig {
        lr: 1e-3,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.01,
    }
}

/// Training in blocks of rows gives the bits of one pass over the whole batch: losses
/// and weights after three steps, for blocks that do and do not divide the batch.
#[test]
fn blocks_of_rows_train_the_same_bits() {
    let encoding = TimeEncoding::OneHot;
    let init = initial_weights(&config(encoding), 10, 8);
    let (x, eps, ts) = batch(1300, 10, 9);
    let bits = |tensors: &[NamedTensor]| -> Vec<u32> {
        tensors
            .iter()
            .flat_map(|t| t.data.iter().map(|v| v.to_bits()))
            .collect()
    };
    let runs: Vec<(Vec<u64>, Vec<u32>)> = [1300, 512, 100, 7]
        .into_iter()
        .map(|block| {
            let mut net = FusedNet::from_named(&config(encoding), 10, &init).unwrap();
            let mut trainer = Trainer::with_blocks_of(&net, ts.len(), adam(), block);
            let losses = (0..3)
                .map(|_| trainer.step(&mut net, &x, &eps, &ts).to_bits())
                .collect();
            (losses, bits(&net.named_tensors()))
        })
        .collect();
    for run in &runs[1..] {
        assert_eq!(run.0, runs[0].0);
        assert!(run.1 == runs[0].1, "weights differ between block sizes");
    }
    assert_ne!(runs[0].1, bits(&init), "the steps changed nothing");
}

/// Ten training steps on every instruction set this CPU has, under both tile-height
/// rules, give the same losses and weights, bit for bit.
#[test]
fn every_instruction_set_trains_the_same_bits() {
    for encoding in [TimeEncoding::OneHot, TimeEncoding::Sinusoidal] {
        let init = initial_weights(&config(encoding), 100, 6);
        let runs: Vec<(Vec<u64>, Vec<NamedTensor>)> = Isa::available()
            .into_iter()
            .flat_map(|isa| Tiling::ALL.map(|tiling| (isa, tiling)))
            .map(|(isa, tiling)| {
                let _rule = use_tiling(tiling);
                let mut net = FusedNet::from_named_on(isa, &config(encoding), 100, &init).unwrap();
                let mut trainer = Trainer::new(&net, 97, adam());
                let losses = (0..10)
                    .map(|s| {
                        let (x, eps, ts) = batch(97, 100, 10 + s);
                        trainer.step(&mut net, &x, &eps, &ts).to_bits()
                    })
                    .collect();
                (losses, net.named_tensors())
            })
            .collect();
        for run in &runs[1..] {
            assert_eq!(run, &runs[0], "{encoding:?}");
        }
    }
}

/// A fixed batch is fitted: the loss falls well below its starting value.
#[test]
fn training_steps_reduce_the_loss() {
    let init = initial_weights(&ModelConfig::default(), 10, 8);
    let mut net = FusedNet::from_named(&ModelConfig::default(), 10, &init).unwrap();
    let (x, eps, ts) = batch(64, 10, 9);
    let mut trainer = Trainer::new(&net, 64, adam());
    let first = trainer.step(&mut net, &x, &eps, &ts);
    let mut last = first;
    for _ in 0..300 {
        last = trainer.step(&mut net, &x, &eps, &ts);
    }
    assert!(last < 0.3 * first, "loss {first} -> {last}");
}

#[test]
fn a_non_finite_loss_leaves_the_weights_alone() {
    let init = initial_weights(&ModelConfig::default(), 10, 8);
    let mut net = FusedNet::from_named(&ModelConfig::default(), 10, &init).unwrap();
    let (mut x, eps, ts) = batch(8, 10, 9);
    x[3] = f32::NAN;
    let mut trainer = Trainer::new(&net, 8, adam());
    assert!(trainer.step(&mut net, &x, &eps, &ts).is_nan());
    assert_eq!(net.named_tensors(), init);
}

#[test]
fn blocks_fill_three_quarters_of_the_l2_in_multiples_of_64_rows_up_to_320() {
    use super::{rows_per_block_for, BYTES_PER_ROW, MOST_ROWS_FROM_CACHE};
    // 2172 bytes a row: 4 x (340 activations + 203 gradients) floats.
    assert_eq!(BYTES_PER_ROW, 2172);
    let kb = |k: u64| k * 1024;
    // 786,432 / 2172 = 362.1 -> 320; 393,216 / 2172 = 181.0 -> 128;
    // 196,608 / 2172 = 90.5 -> 64.
    assert_eq!(rows_per_block_for(kb(1024)), 320);
    assert_eq!(rows_per_block_for(kb(512)), 128);
    assert_eq!(rows_per_block_for(kb(256)), 64);
    // 1,572,864 / 2172 = 724.2 -> 704, more than the most that pays (the 2 MB Xeon L2).
    assert_eq!(MOST_ROWS_FROM_CACHE, 320);
    assert_eq!(rows_per_block_for(kb(2048)), 320);
    // Clamped at both ends.
    assert_eq!(rows_per_block_for(kb(32)), 64);
    assert_eq!(rows_per_block_for(0), 64);
    assert_eq!(rows_per_block_for(kb(1 << 20)), 320);
}
