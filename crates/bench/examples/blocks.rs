//! One training epoch of the post's setup at `N` points (T = 10) with each block size,
//! interleaved: the bench's "Blocks of a training step" table at any training-set size.
//! `cargo run --example blocks -p bench -- [N] [SAMPLES] [ROWS...]` (defaults: 1000 points,
//! 15 samples, 64 to 1024 rows and the one chosen for this core's L2); each sample is
//! `max(1, 30,000 / N)` epochs. Prints the median (minimum) ms per epoch.
fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|arg| arg.parse())
        .collect::<Result<_, _>>()?;
    let n = args.first().copied().unwrap_or(1000);
    let samples = args.get(1).copied().unwrap_or(15);
    anyhow::ensure!(n > 0, "N (points) must be at least 1, not 0");
    anyhow::ensure!(samples > 0, "SAMPLES must be at least 1, not 0");
    let chosen = runner::caches::tune_training_blocks();
    let mut sizes: Vec<usize> = match args.get(2..) {
        Some(rows) if !rows.is_empty() => rows.to_vec(),
        _ => vec![64, 128, 192, 256, 320, 384, 512, 704, 1024],
    };
    if !sizes.contains(&chosen) {
        sizes.push(chosen);
    }
    sizes.sort_unstable();
    let epochs = (30_000 / n).max(1);
    let timings = bench::time_blocks(n, epochs, &sizes, samples)?;
    println!("n = {n}, {epochs} epochs a sample, {samples} samples; chosen for this L2: {chosen}");
    for (rows, timing) in sizes.iter().zip(timings) {
        let mark = if *rows == chosen { " (chosen)" } else { "" };
        println!(
            "{rows:>5} rows{mark}: {:.3} ({:.3}) ms/epoch",
            timing.median_ms, timing.min_ms
        );
    }
    Ok(())
}
