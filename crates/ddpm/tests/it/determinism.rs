//! Same config and seed: the same bits, whatever the thread count.

use ddpm::{RunConfig, TimeEncoding};

fn config(seed: u64, encoding: TimeEncoding) -> RunConfig {
    let mut config = RunConfig::default();
    config.dataset.n = 200;
    config.training.epochs = 30;
    config.steps = 20;
    config.model.time_encoding = encoding;
    config.seed = seed;
    config
}

fn fingerprint(outcome: &ddpm::RunOutcome) -> Vec<u64> {
    let mut bits = vec![outcome.final_loss.to_bits()];
    let m = outcome.metrics.expect("completed");
    bits.extend([m.chamfer, m.sliced_wasserstein, m.mmd].map(f64::to_bits));
    bits.extend(outcome.samples.iter().flat_map(|p| p.map(f64::to_bits)));
    bits.extend(
        outcome
            .weights
            .iter()
            .flat_map(|t| t.data.iter().map(|v| v.to_bits() as u64)),
    );
    bits
}

fn run_in_pool(threads: usize, config: &RunConfig) -> Vec<u64> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool");
    pool.install(|| fingerprint(&ddpm::run(config, &mut |_| {}).expect("a valid config")))
}

#[test]
fn same_seed_gives_identical_bits_across_thread_counts() {
    for encoding in [TimeEncoding::OneHot, TimeEncoding::Sinusoidal] {
        let c = config(7, encoding);
        let one = run_in_pool(1, &c);
        let two = run_in_pool(2, &c);
        let again = run_in_pool(2, &c);
        assert_eq!(one, two, "{encoding:?}: 1 vs 2 threads");
        assert_eq!(two, again, "{encoding:?}: repeat");
    }
}

#[test]
fn different_seeds_differ() {
    let a = run_in_pool(1, &config(1, TimeEncoding::OneHot));
    let b = run_in_pool(1, &config(2, TimeEncoding::OneHot));
    assert_ne!(a, b);
}
