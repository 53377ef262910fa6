//! The `diffsweep` command line: a thin clap layer over the `ddpm`, `runner` and
//! `reporter` crates. Each subcommand lives in its own module under `commands/`; the
//! arguments several of them share are in `args`, the user-error type in `bad_input`,
//! writes to standard output in `stdout`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// `println!` through [`stdout::line`]: a closed pipe ends the process quietly.
macro_rules! outln {
    () => {
        $crate::stdout::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::stdout::line(format_args!($($arg)*))
    };
}

/// `print!` through [`stdout::text`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::stdout::text(format_args!($($arg)*))
    };
}

mod args;
mod bad_input;
mod commands;
mod paths;
mod stdout;

use commands::{
    bench, fsck, gc, plan, report, runs, serve, show, slurm, status, sweep, train, verify,
};

/// Run and track ablations of diffusion-model noise schedules.
#[derive(Parser, Debug)]
#[command(name = "diffsweep", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train one model, sample from it and print its metrics as JSON.
    Train(Box<train::TrainArgs>),
    /// Train every cell of an experiment grid that is not stored yet.
    Sweep(sweep::SweepArgs),
    /// List an experiment's cells, which are cached, and an estimated time.
    Plan(plan::PlanArgs),
    /// Count an experiment's cells that are done, failed or pending.
    Status(status::StatusArgs),
    /// Train one cell of a Slurm submission: what each array task of `sweep --on slurm`
    /// runs (its script is in <results>/slurm/<submission>/job.sbatch). Internal, so
    /// hidden from the top-level help.
    #[command(hide = true)]
    SlurmTask(slurm::TaskArgs),
    /// Print the stored record of one run.
    Show(show::ShowArgs),
    /// List the store's runs across every sweep, filtered by config values, status and
    /// sweep, as a table, CSV or JSON.
    Runs(runs::RunsArgs),
    /// Retrain runs of an experiment and check them bit for bit against the store or the
    /// committed report.
    Verify(verify::VerifyArgs),
    /// List (and with --yes remove) the runs no kept experiment refers to, and leftovers.
    Gc(gc::GcArgs),
    /// Check every record, model and artifact of a store against its sha256 (with
    /// --repair, set corrupt entries aside).
    Fsck(fsck::FsckArgs),
    /// Turn a sweep's stored runs into tables, plots and a report.
    Report(report::ReportArgs),
    /// Serve the store read-only in the browser: its experiments with live counts, each
    /// one's interactive page, every run.
    Serve(serve::ServeArgs),
    /// Measure this machine: training, sampling, sweeps and memory against the post's
    /// PyTorch loop, and the core's FMA peak (runs diffsweep-bench beside this binary: build
    /// it with `cargo build --bin diffsweep-bench`, or use `just bench`).
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Training blocks sized for this core's L2 (speed only: the bits never depend on it).
    runner::caches::tune_training_blocks();
    let result = match cli.command {
        Command::Train(args) => train::run(*args),
        Command::Sweep(args) => sweep::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Status(args) => status::run(args),
        Command::Show(args) => show::run(args),
        Command::SlurmTask(args) => slurm::task(args),
        Command::Report(args) => report::run(args),
        Command::Runs(args) => runs::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Gc(args) => gc::run(args),
        Command::Fsck(args) => fsck::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Bench(args) => bench::run(args),
    };
    match result {
        Ok(code) => code,
        // The reader of our output left (`diffsweep runs | head`): nothing went wrong.
        Err(err) if stdout::closed_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            if err.downcast_ref::<bad_input::BadInput>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
