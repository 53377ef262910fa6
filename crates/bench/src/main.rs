//! `diffsweep-bench`: the benchmark's own binary, so the shipped `diffsweep` links none
//! of it (dfdx's autodiff path, the pinned gemm, the PyTorch driver). `just bench` runs it.

use std::process::ExitCode;

use clap::Parser;

/// Measure training, sampling, metric, sweep and memory figures of this machine.
#[derive(Parser, Debug)]
#[command(name = "diffsweep-bench", version)]
struct Args {
    /// Fewer samples and a smaller sweep (about 40 s instead of about 2 minutes).
    #[arg(long)]
    quick: bool,
    /// Skip the sweep throughput figures (two small sweeps into a temporary store).
    #[arg(long)]
    no_sweep: bool,
    /// Skip the PyTorch reference.
    #[arg(long)]
    no_pytorch: bool,
    /// The Python that runs the PyTorch reference (needs `torch` and `numpy`).
    #[arg(long, value_name = "PATH", default_value = "python3")]
    python: String,
    /// Print the figures as JSON instead of markdown.
    #[arg(long)]
    json: bool,
    /// Instead of the figures above: the executor's cost per cell, phase by phase, on a
    /// sweep of N tiny runs (1 to 10,000) into a fresh store.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    overhead: Option<u64>,
    /// Workers of the `--overhead` sweep (1 to 1024).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "overhead",
          value_parser = clap::value_parser!(u64).range(1..=1024))]
    jobs: u64,
    /// Keep the `--overhead` sweep's store in DIR, and write its experiment file beside it
    /// as DIR.toml, e.g. to time `status`, `runs` and `report` on them.
    #[arg(long, value_name = "DIR", requires = "overhead")]
    keep: Option<std::path::PathBuf>,
    /// Run one `diffsweep train` and print its peak RSS: how the benchmark measures memory
    /// from a fresh child process.
    #[arg(long, hide = true)]
    rss_probe: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = if let Some(cells) = args.overhead {
        bench::overhead::measure(cells as usize, args.jobs as usize, args.keep.as_deref()).map(
            |figures| {
                print!("{}", figures.markdown());
                ExitCode::SUCCESS
            },
        )
    } else if args.rss_probe {
        bench::sweep::rss_probe()
    } else {
        bench::run(&bench::BenchOptions {
            quick: args.quick,
            no_sweep: args.no_sweep,
            no_pytorch: args.no_pytorch,
            python: args.python,
            json: args.json,
        })
    };
    result.unwrap_or_else(|err| {
        eprintln!("error: {err:#}");
        ExitCode::FAILURE
    })
}
