//! diffsweep's benchmarks, run by the `diffsweep-bench` binary (`just bench`), apart from
//! the shipped `diffsweep`: how fast this machine trains, samples, scores and sweeps with
//! the production code, against the post's loop in PyTorch and against diffsweep's
//! previous dfdx-autodiff training step, all on one core.
//!
//! [`workloads`] calls exactly what a run calls (`ddpm::train::train`, `ddpm::sample`), and
//! a child `diffsweep train` (the binary built beside this one) is timed beside it, so the
//! benchmark and the CLI report the same thing. [`pytorch`] drives the reference script in a child process one command at a
//! time, so every competitor is sampled in turn ([`timing`]) and background load hits all
//! of them alike. [`report`] prints markdown for BENCHMARKS.md or JSON.

use std::process::{Command, ExitCode};

use anyhow::{bail, Context};

pub mod dfdx_path;
pub mod machine;
pub mod overhead;
pub mod pytorch;
pub mod report;
pub mod sweep;
pub mod timing;
pub mod workloads;

use ddpm::fused::{
    gemm::{self, Tiling},
    Isa,
};
use report::{
    BenchReport, BlockFigures, Exporter, Json, Markdown, ProductFigures, SampleFigures,
    TrainFigures,
};
use timing::{interleaved, timed, Repeats, Task, Timing};
use workloads::{epoch_macs, post_config, EpochProducts, TrainLoop};

/// What to measure and how to print it: the flags of `diffsweep-bench`.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Fewer samples and a smaller sweep.
    pub quick: bool,
    /// Skip the sweep throughput figures.
    pub no_sweep: bool,
    /// Skip the PyTorch reference.
    pub no_pytorch: bool,
    /// The Python that runs the PyTorch reference (needs `torch` and `numpy`).
    pub python: String,
    /// Print the figures as JSON instead of markdown.
    pub json: bool,
}

/// One training figure to measure: `(n, T, epochs per sample, samples, with the CLI and
/// dfdx columns)`.
struct TrainCase {
    n: usize,
    steps: usize,
    epochs: usize,
    samples: usize,
    cli_and_dfdx: bool,
}

fn train_cases(quick: bool) -> Vec<TrainCase> {
    let s = |full: usize| if quick { full.div_ceil(3).max(2) } else { full };
    let case = |n, steps, epochs, samples, cli_and_dfdx| TrainCase {
        n,
        steps,
        epochs,
        samples: s(samples),
        cli_and_dfdx,
    };
    vec![
        case(1000, 10, 100, 9, true),
        case(1000, 1000, 100, 9, true),
        case(100, 10, 500, 5, false),
        case(10_000, 10, 10, 5, false),
        case(100_000, 10, 2, 3, false),
    ]
}

fn note(message: &str) {
    eprintln!("bench: {message}");
}

/// `diffsweep train` in a child process: its own `seconds_per_epoch`, in ms.
fn cli_epoch_ms(n: usize, steps: usize, epochs: usize) -> anyhow::Result<f64> {
    let exe = sweep::diffsweep_program()?;
    let output = Command::new(&exe)
        .args(["train", "--n", &n.to_string(), "--T", &steps.to_string()])
        .args(["--epochs", &epochs.to_string()])
        .output()
        .with_context(|| format!("cannot run {}", exe.display()))?;
    if !output.status.success() {
        bail!(
            "`diffsweep train` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("`diffsweep train` printed no JSON")?;
    let seconds = report["seconds_per_epoch"]
        .as_f64()
        .context("`diffsweep train` printed no seconds_per_epoch")?;
    Ok(seconds * 1e3)
}

fn train_figures(
    case: &TrainCase,
    reference: &mut Option<pytorch::Reference>,
) -> anyhow::Result<TrainFigures> {
    let config = post_config(case.n, case.steps);
    let ours = TrainLoop::new(&config)?;
    let mut dfdx = if case.cli_and_dfdx {
        Some(dfdx_path::DfdxEpochs::new(&config)?)
    } else {
        None
    };
    let (n, steps, epochs) = (case.n, case.steps, case.epochs);
    let has_reference = reference.is_some();
    let mut tasks: Vec<Task<'_>> = vec![timed(epochs, || {
        std::hint::black_box(ours.epochs(epochs));
    })];
    if let Some(reference) = reference.as_mut() {
        tasks.push(Box::new(move || reference.train_ms(n, steps, epochs)));
    }
    let cli_epochs = 1000;
    if case.cli_and_dfdx {
        tasks.push(Box::new(move || cli_epoch_ms(n, steps, cli_epochs)));
    }
    // The old path is 5 to 10 times slower: fewer epochs per sample keep the round short.
    let dfdx_epochs = (epochs / 5).max(1);
    if let Some(dfdx) = dfdx.as_mut() {
        tasks.push(timed(dfdx_epochs, move || {
            for _ in 0..dfdx_epochs {
                std::hint::black_box(dfdx.epoch());
            }
        }));
    }
    let timings = interleaved(
        Repeats {
            warmup: 1,
            samples: case.samples,
        },
        &mut tasks,
    )?;
    let mut rest = timings[1..].iter().copied();
    let pytorch = if has_reference { rest.next() } else { None };
    let (ours_cli, dfdx) = if case.cli_and_dfdx {
        (rest.next(), rest.next())
    } else {
        (None, None)
    };
    Ok(TrainFigures {
        n,
        steps,
        epochs_per_sample: epochs,
        flops: 2 * epoch_macs(n),
        ours: timings[0],
        ours_cli,
        pytorch,
        dfdx,
    })
}

fn sample_figures(
    n: usize,
    steps: usize,
    samples: usize,
    reference: &mut Option<pytorch::Reference>,
) -> anyhow::Result<SampleFigures> {
    let ours = TrainLoop::new(&post_config(n, steps))?;
    let mut tasks: Vec<Task<'_>> = vec![timed(1, || {
        std::hint::black_box(workloads::draw_samples(&ours, n));
    })];
    if let Some(reference) = reference.as_mut() {
        tasks.push(Box::new(move || reference.sample_ms(n, steps)));
    }
    let timings = interleaved(Repeats { warmup: 1, samples }, &mut tasks)?;
    Ok(SampleFigures {
        n,
        steps,
        ours: timings[0],
        pytorch: timings.get(1).copied(),
    })
}

/// Epochs per sample of the per-path epoch figures.
const PATH_EPOCHS: usize = 50;

/// Epochs' products per sample of the per-path product figures: after an epoch task has
/// filled the caches with its own buffers, the first run starts cold.
const PATH_PRODUCTS: usize = 10;

/// One epoch at n = 1000 (T = 10) and its matrix products alone on every vector path, the
/// AVX-512 one under both tile rules, all interleaved.
fn product_figures(samples: usize) -> anyhow::Result<Vec<ProductFigures>> {
    let n = 1000;
    let chosen = Tiling::for_this_core();
    let best = Isa::detect();
    let mut paths = Vec::new();
    for isa in Isa::available() {
        match isa {
            Isa::Scalar => {}
            // The rule picks between tile heights on the 32-register path only.
            Isa::Avx512 => {
                // The chosen rule's row first.
                let mut rules = Tiling::ALL;
                rules.sort_by_key(|rule| *rule != chosen);
                paths.extend(rules.map(|rule| (isa, rule)));
            }
            Isa::Avx2Fma => paths.push((isa, Tiling::SixRows)),
        }
    }
    let config = post_config(n, 10);
    let loops = paths
        .iter()
        .map(|(isa, _)| TrainLoop::on(*isa, &config))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut buffers: Vec<EpochProducts> = paths.iter().map(|_| EpochProducts::new(n)).collect();
    let mut tasks: Vec<Task<'_>> = Vec::new();
    for ((&(isa, tiling), train), products) in paths.iter().zip(&loops).zip(&mut buffers) {
        tasks.push(timed(PATH_EPOCHS, move || {
            let _rule = gemm::use_tiling(tiling);
            std::hint::black_box(train.epochs(PATH_EPOCHS));
        }));
        tasks.push(timed(PATH_PRODUCTS, move || {
            let _rule = gemm::use_tiling(tiling);
            for _ in 0..PATH_PRODUCTS {
                products.run(isa);
            }
        }));
    }
    let timings = interleaved(Repeats { warmup: 2, samples }, &mut tasks)?;
    Ok(paths
        .iter()
        .zip(timings.chunks_exact(2))
        .map(|(&(isa, tiling), pair)| ProductFigures {
            isa: isa.name(),
            tiles: tiling.name(),
            chosen: isa == best && tiling == chosen,
            n,
            epoch: pair[0],
            timing: pair[1],
            flops: 2 * epoch_macs(n),
        })
        .collect())
}

/// Rows per block the training step is timed at (besides the one chosen for this core's
/// L2): from well inside the L2 of every core we know to far past it.
const BLOCK_SIZES: [usize; 7] = [64, 128, 256, 512, 1024, 2048, 4096];

/// One epoch at n = 10,000 (T = 10) with each block size, interleaved: where the working
/// set of a block (rows x `BYTES_PER_ROW`) outgrows the L2, the epoch slows.
fn block_figures(samples: usize, chosen: usize) -> anyhow::Result<Vec<BlockFigures>> {
    let n = 10_000;
    let mut sizes: Vec<usize> = BLOCK_SIZES.to_vec();
    if !sizes.contains(&chosen) {
        sizes.push(chosen);
        sizes.sort_unstable();
    }
    let timings = time_blocks(n, 3, &sizes, samples);
    ddpm::fused::set_rows_per_block(chosen);
    Ok(sizes
        .iter()
        .zip(timings?)
        .map(|(&rows, timing)| BlockFigures {
            rows,
            n,
            working_set_kb: rows * ddpm::fused::network::BYTES_PER_ROW / 1024,
            chosen: rows == chosen,
            timing,
            flops: 2 * epoch_macs(n),
        })
        .collect())
}

/// One epoch of the post's setup at `n` points (T = 10) with each of `sizes` rows per
/// block, timed `epochs` at a time, interleaved over `samples` rounds after one warm-up.
/// Leaves the process's block size at the last one timed.
pub fn time_blocks(
    n: usize,
    epochs: usize,
    sizes: &[usize],
    samples: usize,
) -> anyhow::Result<Vec<Timing>> {
    let train = TrainLoop::new(&post_config(n, 10))?;
    let train = &train;
    let mut tasks: Vec<Task<'_>> = sizes
        .iter()
        .map(|&rows| {
            timed(epochs, move || {
                ddpm::fused::set_rows_per_block(rows);
                std::hint::black_box(train.epochs(epochs));
            })
        })
        .collect();
    interleaved(Repeats { warmup: 1, samples }, &mut tasks)
}

fn metric_figure(samples: usize) -> anyhow::Result<Timing> {
    let config = post_config(1000, 10);
    let data = ddpm::training_data(&config);
    let other = ddpm::data::generate(
        &config.dataset,
        &mut ddpm::rng::stream(1, ddpm::rng::Stream::Data),
    );
    let mut tasks: Vec<Task<'_>> = vec![timed(1, || {
        std::hint::black_box(workloads::score(&data, &other));
    })];
    Ok(interleaved(Repeats { warmup: 1, samples }, &mut tasks)?[0])
}

/// Measures every figure and prints the report: what `diffsweep-bench` does.
pub fn run(args: &BenchOptions) -> anyhow::Result<ExitCode> {
    // Blocks sized for this core's L2, as every `diffsweep` command sizes them.
    let chosen_rows = runner::caches::tune_training_blocks();
    note("measuring background load for 1 s");
    let mut machine = machine::Machine::observe();
    let mut reference = None;
    let pytorch = if args.no_pytorch {
        Err("--no-pytorch".to_string())
    } else {
        match pytorch::Reference::start(&args.python) {
            Ok(r) => {
                let version = r.version.clone();
                reference = Some(r);
                Ok(version)
            }
            Err(err) => {
                note(&format!("PyTorch reference skipped: {err:#}"));
                Err(format!("{err:#}"))
            }
        }
    };

    note("the FMA peak of one core, per instruction set");
    let fma_peaks = ddpm::fused::peak::measure(if args.quick { 20_000_000 } else { 50_000_000 }, 5);
    let mut training = Vec::new();
    for case in train_cases(args.quick) {
        note(&format!(
            "training at n = {}, T = {} ({} samples of {} epochs)",
            case.n, case.steps, case.samples, case.epochs
        ));
        training.push(train_figures(&case, &mut reference)?);
    }
    let samples = if args.quick { 2 } else { 5 };
    note(&format!(
        "sampling 1000 points with 1000 reverse steps ({samples} samples)"
    ));
    let sampling = vec![sample_figures(1000, 1000, samples, &mut reference)?];
    drop(reference);
    note("one epoch and its products, per instruction set and tile rule");
    let products = product_figures(if args.quick { 3 } else { 9 })?;
    note("one epoch at n = 10,000 per block size");
    let blocks = block_figures(if args.quick { 3 } else { 7 }, chosen_rows)?;
    note("metrics at 1000 points");
    let metrics_ms = metric_figure(if args.quick { 3 } else { 9 })?;
    let mut sweeps = Vec::new();
    if !args.no_sweep {
        let runs = if args.quick { 4 } else { 8 };
        for jobs in [1, 2] {
            note(&format!("sweep of {runs} runs with --jobs {jobs}"));
            sweeps.push(sweep::throughput(runs, jobs)?);
        }
    }
    note("peak memory of one run");
    let peak_rss_mb = sweep::child_peak_rss_mb()?;
    machine.finish();

    let mut command = String::from("cargo run --bin diffsweep-bench");
    let flags: Vec<&str> = [
        ("--quick", args.quick),
        ("--no-sweep", args.no_sweep),
        ("--no-pytorch", args.no_pytorch),
    ]
    .into_iter()
    .filter_map(|(flag, on)| on.then_some(flag))
    .collect();
    if !flags.is_empty() {
        command.push_str(" -- ");
        command.push_str(&flags.join(" "));
    }
    let report = BenchReport {
        machine,
        command,
        fma_peaks,
        tiling_reason: Tiling::choice().describe(),
        pytorch,
        training,
        sampling,
        products,
        blocks,
        metrics_ms,
        sweep: sweeps,
        peak_rss_mb,
    };
    let text = if args.json {
        Json.export(&report)?
    } else {
        Markdown.export(&report)?
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}
