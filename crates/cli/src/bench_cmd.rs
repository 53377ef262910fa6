//! `diffsweep bench`: how fast this machine trains, samples, scores and sweeps, printed as
//! markdown tables ready to paste into BENCHMARKS.md (or as JSON).
//!
//! Every timing is taken after a warm-up and repeated; the tables give the median and the
//! minimum per operation. Competing variants (stock layers, fused layers, matrix products
//! alone) are measured interleaved, repetition by repetition, so a change in background
//! load hits all of them alike. Matrix products are single-threaded, as in a sweep.

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use ddpm::bench::{epoch_flops, forward_macs, EpochBench, LayerPath, MatmulBench};
use ddpm::metrics::{self, SW_DIRECTIONS};
use ddpm::model::NoisePredictor;
use ddpm::rng::{self, Stream};
use ddpm::{sample, Point, RunConfig, SamplerVariance, Schedule};
use runner::{Executor, Experiment, RunStore, Silent};
use serde::Serialize;

/// Arguments of `diffsweep bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Fewer repetitions and a smaller sweep (about a minute instead of two or three).
    #[arg(long)]
    quick: bool,
    /// Skip the sweep throughput figures (two small sweeps into a temporary store).
    #[arg(long)]
    no_sweep: bool,
    /// Print the figures as JSON instead of markdown.
    #[arg(long)]
    json: bool,
    /// Train one run at n = 1000 and print this process's peak RSS: how the benchmark
    /// measures memory in a fresh child process.
    #[arg(long, hide = true)]
    rss_probe: bool,
}

/// The number of points of the large sampling and metric figures.
const LARGE: usize = 100_000;
/// The post's settings, for the share of a run spent sampling and scoring.
const POST_STEPS: usize = 1000;
const POST_POINTS: usize = 1000;
const POST_EPOCHS: usize = 5000;
/// Epochs of the run whose peak memory is measured.
const RSS_EPOCHS: usize = 200;
/// Points and epochs of each run of the sweep-throughput grid.
const SWEEP_POINTS: usize = 500;
const SWEEP_EPOCHS: usize = 300;

/// How much repetition each figure gets.
#[derive(Clone, Copy, Debug)]
struct Repeats {
    /// Unmeasured runs before the first sample.
    warmup: usize,
    /// Samples; the tables report their median and minimum.
    samples: usize,
    /// Operations per sample (the sample is their mean).
    inner: usize,
}

impl Repeats {
    const fn new(warmup: usize, samples: usize, inner: usize) -> Repeats {
        Repeats {
            warmup,
            samples,
            inner,
        }
    }
}

/// The repetitions of a full or a quick benchmark.
struct Plan {
    /// Training epochs: `(n, repeats)`.
    epochs: [(usize, Repeats); 2],
    /// Sampling steps: `(n, repeats)`.
    sampling: [(usize, Repeats); 2],
    /// Each metric at [`LARGE`] points.
    metrics_large: Repeats,
    /// All three metrics at [`POST_POINTS`] points.
    metrics_post: Repeats,
    /// Runs of the sweep-throughput grid.
    sweep_runs: usize,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                epochs: [
                    (1000, Repeats::new(5, 5, 10)),
                    (10_000, Repeats::new(1, 3, 2)),
                ],
                sampling: [
                    (1000, Repeats::new(3, 5, 10)),
                    (LARGE, Repeats::new(1, 3, 1)),
                ],
                metrics_large: Repeats::new(0, 1, 1),
                metrics_post: Repeats::new(1, 3, 2),
                sweep_runs: 4,
            }
        } else {
            Plan {
                epochs: [
                    (1000, Repeats::new(10, 25, 10)),
                    (10_000, Repeats::new(2, 15, 2)),
                ],
                sampling: [
                    (1000, Repeats::new(5, 15, 10)),
                    (LARGE, Repeats::new(1, 9, 1)),
                ],
                metrics_large: Repeats::new(1, 3, 1),
                metrics_post: Repeats::new(2, 9, 3),
                sweep_runs: 8,
            }
        }
    }
}

/// The median and minimum of one operation's time.
#[derive(Serialize, Clone, Copy, Debug, PartialEq)]
struct Timing {
    /// Median over the samples, milliseconds per operation.
    median_ms: f64,
    /// Fastest sample, milliseconds per operation.
    min_ms: f64,
    /// Number of samples.
    samples: usize,
}

impl Timing {
    fn of(mut samples_ms: Vec<f64>) -> Timing {
        samples_ms.sort_by(f64::total_cmp);
        let k = samples_ms.len();
        let median_ms = if k == 0 {
            f64::NAN
        } else if k % 2 == 1 {
            samples_ms[k / 2]
        } else {
            (samples_ms[k / 2 - 1] + samples_ms[k / 2]) / 2.0
        };
        Timing {
            median_ms,
            min_ms: samples_ms.first().copied().unwrap_or(f64::NAN),
            samples: k,
        }
    }
}

/// Times each of `tasks`, interleaving their samples: every sample round runs each task
/// `inner` times in turn.
fn measure_interleaved(repeats: Repeats, tasks: &mut [&mut dyn FnMut()]) -> Vec<Timing> {
    for task in tasks.iter_mut() {
        for _ in 0..repeats.warmup {
            task();
        }
    }
    let mut samples = vec![Vec::with_capacity(repeats.samples); tasks.len()];
    for _ in 0..repeats.samples {
        for (task, out) in tasks.iter_mut().zip(&mut samples) {
            let started = Instant::now();
            for _ in 0..repeats.inner {
                task();
            }
            out.push(millis(started.elapsed()) / repeats.inner as f64);
        }
    }
    samples.into_iter().map(Timing::of).collect()
}

fn measure(repeats: Repeats, mut task: impl FnMut()) -> Timing {
    measure_interleaved(repeats, &mut [&mut task])[0]
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The machine and how busy it was.
#[derive(Serialize, Debug)]
struct Machine {
    /// The CPU model, from /proc/cpuinfo.
    cpu: String,
    /// Logical CPUs available to this process.
    cpus: usize,
    /// 1, 5 and 15-minute load averages before the benchmark started.
    load_before: [f64; 3],
    /// The same, after it finished.
    load_after: [f64; 3],
    /// Share of all CPUs busy (with other processes) over one second before the start.
    busy_before: Option<f64>,
}

impl Machine {
    /// Whether the figures were measured while something else ran.
    fn under_load(&self) -> bool {
        self.load_before[0] > 1.0 || self.busy_before.is_some_and(|b| b > 0.25)
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string())
}

fn load_average() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut fields = text
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(f64::NAN));
    [(); 3].map(|_| fields.next().unwrap_or(f64::NAN))
}

/// `(busy, total)` jiffies of all CPUs since boot, from /proc/stat.
fn cpu_jiffies() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().next()?.strip_prefix("cpu ")?;
    let values: Vec<u64> = line
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = values.iter().sum();
    // idle and iowait are the 4th and 5th fields.
    let idle = values.get(3)? + values.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

fn busy_share(over: Duration) -> Option<f64> {
    let (busy0, total0) = cpu_jiffies()?;
    std::thread::sleep(over);
    let (busy1, total1) = cpu_jiffies()?;
    let total = total1.checked_sub(total0)?;
    (total > 0).then(|| (busy1 - busy0) as f64 / total as f64)
}

/// Epoch figures at one `n`.
#[derive(Serialize, Debug)]
struct EpochFigures {
    /// Training points.
    n: usize,
    /// Floating-point operations of the epoch's matrix products.
    flops: u64,
    /// The epoch with dfdx's stock layers (before the fused kernel).
    stock: Timing,
    /// The epoch with the fused bias+LeakyReLU kernel (the current code).
    fused: Timing,
    /// The epoch's matrix products alone.
    matmul: Timing,
}

impl EpochFigures {
    fn gflops(&self, timing: Timing) -> f64 {
        self.flops as f64 / (timing.median_ms * 1e-3) / 1e9
    }
}

/// Sampling figures at one `n`.
#[derive(Serialize, Debug)]
struct SamplingFigures {
    /// Points sampled at once.
    n: usize,
    /// The network forward of one reverse step, stock layers.
    forward_stock: Timing,
    /// The network forward of one reverse step, fused layers.
    forward_fused: Timing,
    /// One whole reverse step (forward, update, noise), current code.
    step: Timing,
}

/// Metric figures.
#[derive(Serialize, Debug)]
struct MetricFigures {
    /// Points in each set of the large figures.
    n: usize,
    /// Chamfer distance.
    chamfer: Timing,
    /// Sliced Wasserstein distance over [`SW_DIRECTIONS`] directions.
    sliced_wasserstein: Timing,
    /// MMD (on the first [`metrics::MMD_MAX_POINTS`] points of each set).
    mmd: Timing,
    /// All three at [`POST_POINTS`] points, as one run scores its samples.
    all_at_post_points: Timing,
}

/// One sweep of the throughput grid.
#[derive(Serialize, Debug)]
struct SweepFigures {
    /// Worker threads.
    jobs: usize,
    /// Runs trained.
    runs: usize,
    /// Wall seconds of the sweep, store writes included.
    seconds: f64,
}

impl SweepFigures {
    fn runs_per_minute(&self) -> f64 {
        self.runs as f64 / self.seconds * 60.0
    }
}

/// The share of a run at the post's settings spent after training, extrapolated.
#[derive(Serialize, Debug)]
struct RunShare {
    /// `POST_EPOCHS` fused epochs at n = `POST_POINTS`.
    train_seconds: f64,
    /// `POST_STEPS` reverse steps at n = `POST_POINTS`.
    sample_seconds: f64,
    /// The metrics of the samples and of the noise floor.
    metric_seconds: f64,
}

impl RunShare {
    fn fraction(&self) -> f64 {
        let after = self.sample_seconds + self.metric_seconds;
        after / (self.train_seconds + after)
    }
}

/// Everything `diffsweep bench` measures.
#[derive(Serialize, Debug)]
struct BenchReport {
    machine: Machine,
    command: String,
    epochs: Vec<EpochFigures>,
    sampling: Vec<SamplingFigures>,
    metrics: MetricFigures,
    sweep: Vec<SweepFigures>,
    /// Peak resident memory of one run at n = 1000, in MB (10^6 bytes).
    peak_rss_mb: Option<f64>,
    run_share: RunShare,
}

/// The post's network and data: one-hot time encoding, T = 10, polynomial schedule, minmax
/// scaling, two moons (all defaults) with `n` points.
fn post_config(n: usize) -> RunConfig {
    let mut config = RunConfig::default();
    config.dataset.n = n;
    config
}

fn epoch_figures(n: usize, repeats: Repeats) -> anyhow::Result<EpochFigures> {
    let config = post_config(n);
    let mut stock = EpochBench::new(&config, LayerPath::Stock).context("the benchmark config")?;
    let mut fused = EpochBench::new(&config, LayerPath::Fused).context("the benchmark config")?;
    let matmul = MatmulBench::new(n);
    let mut sink = 0.0f64;
    let timings = {
        let mut run_stock = || sink += stock.epoch();
        let mut run_fused = || {
            fused.epoch();
        };
        let mut run_matmul = || matmul.epoch();
        measure_interleaved(
            repeats,
            &mut [&mut run_stock, &mut run_fused, &mut run_matmul],
        )
    };
    std::hint::black_box(sink);
    Ok(EpochFigures {
        n,
        flops: epoch_flops(n),
        stock: timings[0],
        fused: timings[1],
        matmul: timings[2],
    })
}

/// `n` points to step from: a two-moons draw (the values do not change the cost).
fn start_points(n: usize) -> Vec<Point> {
    ddpm::data::generate(&post_config(n).dataset, &mut rng::stream(0, Stream::Data))
}

fn sampling_figures(n: usize, repeats: Repeats) -> anyhow::Result<SamplingFigures> {
    let config = post_config(POST_POINTS);
    let stock = EpochBench::new(&config, LayerPath::Stock).context("the benchmark config")?;
    let fused = EpochBench::new(&config, LayerPath::Fused).context("the benchmark config")?;
    let schedule = Schedule::new(&config.schedule, config.steps).context("the schedule")?;
    let model = NoisePredictor::new(&config.model, config.steps, config.seed);
    let points = start_points(n);
    let t = config.steps / 2;
    let forwards = measure_interleaved(
        repeats,
        &mut [
            &mut || {
                std::hint::black_box(stock.predict(&points, t));
            },
            &mut || {
                std::hint::black_box(fused.predict(&points, t));
            },
        ],
    );
    let mut x = points.clone();
    let mut rng = rng::stream(1, Stream::Sampling);
    let mut step = 0usize;
    let step_timing = measure(repeats, || {
        // Walk t = T..1 and start again from the same noise, as repeated sampling would.
        let t = config.steps - step % config.steps;
        if t == config.steps {
            x.copy_from_slice(&points);
        }
        sample::reverse_step(
            &model,
            &schedule,
            SamplerVariance::Posterior,
            &mut x,
            t,
            &mut rng,
        );
        step += 1;
    });
    Ok(SamplingFigures {
        n,
        forward_stock: forwards[0],
        forward_fused: forwards[1],
        step: step_timing,
    })
}

fn metric_figures(plan: &Plan) -> MetricFigures {
    let moons = |n: usize, stream: Stream| {
        let config = post_config(n);
        ddpm::data::generate(&config.dataset, &mut rng::stream(0, stream))
    };
    let (a, b) = (moons(LARGE, Stream::Data), moons(LARGE, Stream::NoiseFloor));
    let (small_a, small_b) = (
        moons(POST_POINTS, Stream::Data),
        moons(POST_POINTS, Stream::NoiseFloor),
    );
    MetricFigures {
        n: LARGE,
        chamfer: measure(plan.metrics_large, || {
            std::hint::black_box(metrics::chamfer_distance(&a, &b));
        }),
        sliced_wasserstein: measure(plan.metrics_large, || {
            std::hint::black_box(metrics::sliced_wasserstein(&a, &b, SW_DIRECTIONS));
        }),
        mmd: measure(plan.metrics_large, || {
            std::hint::black_box(metrics::mmd_rbf(&a, &b));
        }),
        all_at_post_points: measure(plan.metrics_post, || {
            std::hint::black_box(metrics::evaluate(&small_a, &small_b));
        }),
    }
}

/// The grid of the throughput figure: `runs` seeds of a small moons run.
fn sweep_grid(runs: usize) -> String {
    format!(
        "name = \"bench-throughput\"\n\
         description = \"diffsweep bench: sweep throughput\"\n\
         seeds = {runs}\n\n\
         [base]\n\
         dataset = {{ kind = \"moons\", n = {SWEEP_POINTS} }}\n\
         training = {{ epochs = {SWEEP_EPOCHS} }}\n\n\
         [grid]\n\
         T = [10]\n"
    )
}

fn sweep_figures(runs: usize, jobs: usize) -> anyhow::Result<SweepFigures> {
    let experiment = Experiment::parse(&sweep_grid(runs), Path::new("<bench grid>"))
        .context("the built-in benchmark grid")?;
    let dir = tempfile::Builder::new()
        .prefix("diffsweep-bench-")
        .tempdir()
        .context("cannot create a temporary results directory")?;
    let store = RunStore::open(dir.path()).context("cannot open the temporary store")?;
    let report = Executor::new(jobs)
        .context("the executor")?
        .execute(&store, &experiment.cells(), &Silent)
        .with_context(|| format!("the throughput sweep failed in {}", dir.path().display()))?;
    if let Some((cell, outcome)) = report.failures().first() {
        bail!(
            "run {} of the throughput sweep failed: {}",
            cell.label,
            outcome.error().unwrap_or("no message")
        );
    }
    Ok(SweepFigures {
        jobs,
        runs: report.trained(),
        seconds: report.elapsed.as_secs_f64(),
    })
}

/// This process's peak resident set size in kB (VmHWM), on Linux.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs one training in a fresh copy of this program and reads its peak RSS.
fn child_peak_rss_mb() -> anyhow::Result<Option<f64>> {
    // /proc/self/exe still runs this binary when a rebuild has replaced the file.
    let proc_exe = Path::new("/proc/self/exe");
    let exe = if proc_exe.exists() {
        proc_exe.to_path_buf()
    } else {
        std::env::current_exe().context("cannot find the running executable")?
    };
    let output = Command::new(&exe)
        .args(["bench", "--rss-probe"])
        .output()
        .with_context(|| format!("cannot run {}", exe.display()))?;
    if !output.status.success() {
        bail!(
            "the memory probe failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text
        .trim()
        .parse::<u64>()
        .ok()
        .map(|kb| kb as f64 * 1024.0 / 1e6))
}

/// The child side of [`child_peak_rss_mb`]: one run at the post's n, then VmHWM.
fn rss_probe() -> anyhow::Result<ExitCode> {
    gemm_common::gemm::set_threading_threshold(usize::MAX);
    let mut config = post_config(POST_POINTS);
    config.training.epochs = RSS_EPOCHS;
    ddpm::run(&config, &mut |_| {}).context("the probe run failed")?;
    match peak_rss_kb() {
        Some(kb) => println!("{kb}"),
        None => println!("unknown"),
    }
    Ok(ExitCode::SUCCESS)
}

fn note(message: &str) {
    eprintln!("bench: {message}");
}

/// Runs `diffsweep bench`.
pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    if args.rss_probe {
        return rss_probe();
    }
    // One run per core, each single-threaded: the setting of every sweep.
    gemm_common::gemm::set_threading_threshold(usize::MAX);
    let plan = Plan::new(args.quick);
    let load_before = load_average();
    note("measuring background load for 1 s");
    let busy_before = busy_share(Duration::from_secs(1));

    let mut epochs = Vec::new();
    for (n, repeats) in plan.epochs {
        note(&format!(
            "training epochs at n = {n} (stock, fused, matmul only)"
        ));
        epochs.push(epoch_figures(n, repeats)?);
    }
    let mut sampling = Vec::new();
    for (n, repeats) in plan.sampling {
        note(&format!("reverse steps at n = {n}"));
        sampling.push(sampling_figures(n, repeats)?);
    }
    note(&format!("metrics at n = {LARGE} and n = {POST_POINTS}"));
    let metrics = metric_figures(&plan);
    let mut sweep = Vec::new();
    if !args.no_sweep {
        for jobs in [1, 2] {
            note(&format!(
                "sweep of {} runs with --jobs {jobs}",
                plan.sweep_runs
            ));
            sweep.push(sweep_figures(plan.sweep_runs, jobs)?);
        }
    }
    note(&format!(
        "peak memory of one run ({RSS_EPOCHS} epochs, n = {POST_POINTS})"
    ));
    let peak_rss_mb = child_peak_rss_mb()?;

    let epoch_post = epochs
        .iter()
        .find(|e| e.n == POST_POINTS)
        .expect("the plan measures n = 1000");
    let step_post = sampling
        .iter()
        .find(|s| s.n == POST_POINTS)
        .expect("the plan measures n = 1000");
    let run_share = RunShare {
        train_seconds: POST_EPOCHS as f64 * epoch_post.fused.median_ms * 1e-3,
        sample_seconds: POST_STEPS as f64 * step_post.step.median_ms * 1e-3,
        // A run scores its samples and the noise floor: two evaluations.
        metric_seconds: 2.0 * metrics.all_at_post_points.median_ms * 1e-3,
    };
    let mut command = String::from("cargo run --bin diffsweep -- bench");
    if args.quick {
        command.push_str(" --quick");
    }
    if args.no_sweep {
        command.push_str(" --no-sweep");
    }
    let report = BenchReport {
        machine: Machine {
            cpu: cpu_model(),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            load_before,
            load_after: load_average(),
            busy_before,
        },
        command,
        epochs,
        sampling,
        metrics,
        sweep,
        peak_rss_mb,
        run_share,
    };
    let text = if args.json {
        Json.export(&report)?
    } else {
        Markdown.export(&report)?
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// An output format of the benchmark's figures.
trait Exporter {
    fn export(&self, report: &BenchReport) -> anyhow::Result<String>;
}

/// The whole report as one JSON object.
struct Json;

impl Exporter for Json {
    fn export(&self, report: &BenchReport) -> anyhow::Result<String> {
        let mut text = serde_json::to_string_pretty(report).context("cannot encode the report")?;
        text.push('\n');
        Ok(text)
    }
}

/// Markdown tables to paste into BENCHMARKS.md.
struct Markdown;

fn ms(t: Timing) -> String {
    format!("{:.3}", t.median_ms)
}

fn ms_min(t: Timing) -> String {
    format!("{:.3}", t.min_ms)
}

fn loads(l: [f64; 3]) -> String {
    format!("{:.2} {:.2} {:.2}", l[0], l[1], l[2])
}

impl Exporter for Markdown {
    fn export(&self, r: &BenchReport) -> anyhow::Result<String> {
        use std::fmt::Write;
        let mut out = String::new();
        let m = &r.machine;
        let busy = m
            .busy_before
            .map_or("unknown".to_string(), |b| format!("{:.0}%", 100.0 * b));
        writeln!(out, "Machine: {}, {} logical CPUs.  ", m.cpu, m.cpus)?;
        writeln!(
            out,
            "Load average before: {} (CPUs busy in the second before: {busy}); after: {}.  ",
            loads(m.load_before),
            loads(m.load_after)
        )?;
        if m.under_load() {
            writeln!(
                out,
                "**Measured under load**: other processes were running, so times are \
                 pessimistic and the `--jobs 2` figure is not meaningful.  "
            )?;
        } else {
            writeln!(out, "Measured on an otherwise idle machine.  ")?;
        }
        writeln!(
            out,
            "Command: `{}`; matrix products single-threaded (as in a sweep); times are \
             the median (and min) per operation over the stated samples, after warm-up.",
            r.command
        )?;

        writeln!(out)?;
        writeln!(
            out,
            "### Training epoch (the post's network: one-hot time, T = 10, polynomial, minmax, moons)"
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "| n | layers | epoch ms (median) | epoch ms (min) | GFLOP/s | matmul-only ms (median) | epoch / matmul-only | samples |"
        )?;
        writeln!(out, "|---:|---|---:|---:|---:|---:|---:|---:|")?;
        for e in &r.epochs {
            for (label, t) in [
                ("stock dfdx ops (before)", e.stock),
                ("fused kernel (after)", e.fused),
            ] {
                writeln!(
                    out,
                    "| {} | {label} | {} | {} | {:.2} | {} | {:.2} | {} |",
                    e.n,
                    ms(t),
                    ms_min(t),
                    e.gflops(t),
                    ms(e.matmul),
                    t.median_ms / e.matmul.median_ms,
                    t.samples
                )?;
            }
            writeln!(
                out,
                "| {} | speed-up (before / after) | {:.2}x | {:.2}x | | | | |",
                e.n,
                e.stock.median_ms / e.fused.median_ms,
                e.stock.min_ms / e.fused.min_ms
            )?;
        }
        writeln!(out)?;
        writeln!(
            out,
            "GFLOP/s counts 2 flops per multiply-add of the matrix products only, at the median: \
             {} multiply-adds per point forward, three times that per epoch (forward, input \
             gradient and weight gradient of every product, as dfdx computes them, the first \
             layer's input gradient included). Matmul-only runs the same 18 products through \
             dfdx's matmul (the same gemm, shapes and layouts) without a tape. Target: epoch / \
             matmul-only at most 1.5.",
            forward_macs(1)
        )?;

        writeln!(out)?;
        writeln!(out, "### Sampling and metrics")?;
        writeln!(out)?;
        writeln!(
            out,
            "| figure | points | ms (median) | ms (min) | samples |"
        )?;
        writeln!(out, "|---|---:|---:|---:|---:|")?;
        for s in &r.sampling {
            for (label, t) in [
                (
                    "network forward of a reverse step, stock dfdx ops (before)",
                    s.forward_stock,
                ),
                (
                    "network forward of a reverse step, fused kernel (after)",
                    s.forward_fused,
                ),
                ("whole reverse step (after)", s.step),
            ] {
                writeln!(
                    out,
                    "| {label} | {} | {} | {} | {} |",
                    s.n,
                    ms(t),
                    ms_min(t),
                    t.samples
                )?;
            }
        }
        let mt = &r.metrics;
        for (label, n, t) in [
            ("Chamfer distance", mt.n, mt.chamfer),
            (
                &*format!("sliced Wasserstein ({SW_DIRECTIONS} directions)"),
                mt.n,
                mt.sliced_wasserstein,
            ),
            (
                &*format!(
                    "MMD (at most {} evenly strided points of each set)",
                    metrics::MMD_MAX_POINTS
                ),
                mt.n,
                mt.mmd,
            ),
            ("all three metrics", POST_POINTS, mt.all_at_post_points),
        ] {
            writeln!(
                out,
                "| {label} | {n} | {} | {} | {} |",
                ms(t),
                ms_min(t),
                t.samples
            )?;
        }

        if !r.sweep.is_empty() {
            writeln!(out)?;
            writeln!(
                out,
                "### Sweep throughput ({SWEEP_POINTS}-point moons, {SWEEP_EPOCHS} epochs, T = 10; fresh temporary store)"
            )?;
            writeln!(out)?;
            writeln!(out, "| jobs | runs | wall s | runs / min |")?;
            writeln!(out, "|---:|---:|---:|---:|")?;
            for s in &r.sweep {
                writeln!(
                    out,
                    "| {} | {} | {:.2} | {:.1} |",
                    s.jobs,
                    s.runs,
                    s.seconds,
                    s.runs_per_minute()
                )?;
            }
            if let [one, two] = &r.sweep[..] {
                writeln!(out)?;
                writeln!(
                    out,
                    "Throughput ratio, `--jobs 2` / `--jobs 1`: {:.2} (target at least 1.9).",
                    two.runs_per_minute() / one.runs_per_minute()
                )?;
            }
        }

        writeln!(out)?;
        writeln!(out, "### One run")?;
        writeln!(out)?;
        match r.peak_rss_mb {
            Some(mb) => writeln!(
                out,
                "- Peak memory (VmHWM) of one run at n = {POST_POINTS} ({RSS_EPOCHS} epochs, \
                 T = 10, in a fresh process): {mb:.1} MB (target under 100 MB)."
            )?,
            None => writeln!(out, "- Peak memory: unavailable (no /proc/self/status).")?,
        }
        let share = &r.run_share;
        writeln!(
            out,
            "- Sampling and metrics at the post's settings (T = {POST_STEPS}, n = {POST_POINTS}, \
             {POST_EPOCHS} epochs), extrapolated from the median epoch, reverse-step and \
             metric times above: {:.1}% of the run (training {:.1} s, sampling {:.1} s, \
             metrics {:.2} s; target at most 10%).",
            100.0 * share.fraction(),
            share.train_seconds,
            share.sample_seconds,
            share.metric_seconds
        )?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_takes_the_median_and_the_minimum() {
        let cases: [(&[f64], f64, f64); 3] = [
            (&[3.0, 1.0, 2.0], 2.0, 1.0),
            (&[4.0, 1.0, 3.0, 2.0], 2.5, 1.0),
            (&[7.0], 7.0, 7.0),
        ];
        for (samples, median, min) in cases {
            let t = Timing::of(samples.to_vec());
            assert_eq!(
                (t.median_ms, t.min_ms, t.samples),
                (median, min, samples.len())
            );
        }
    }

    #[test]
    fn gflops_divide_the_epochs_flops_by_its_median_time() {
        let t = Timing::of(vec![100.0]);
        let e = EpochFigures {
            n: 1000,
            flops: epoch_flops(1000),
            stock: t,
            fused: t,
            matmul: t,
        };
        // 134.04 MFLOP in 0.1 s.
        assert!((e.gflops(t) - 1.3404).abs() < 1e-12);
    }

    #[test]
    fn the_sweep_grid_is_a_valid_experiment() {
        let experiment = Experiment::parse(&sweep_grid(3), Path::new("<bench grid>")).unwrap();
        let cells = experiment.cells();
        assert_eq!(cells.len(), 3);
        assert!(cells.iter().all(
            |c| c.config.dataset.n == SWEEP_POINTS && c.config.training.epochs == SWEEP_EPOCHS
        ));
    }
}
