//! The `diffsweep` command line: a thin clap layer over the `ddpm`, `runner` and
//! `reporter` crates. Each subcommand lives in its own module.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod fsck_cmd;
mod gc_cmd;
mod paths;
mod report_cmd;
mod runs_cmd;
mod slurm_cmd;
mod sweep_cmd;
mod train_cmd;
mod verify_cmd;

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
    Train(Box<train_cmd::TrainArgs>),
    /// Train every cell of an experiment grid that is not stored yet.
    Sweep(sweep_cmd::SweepArgs),
    /// List an experiment's cells, which are cached, and an estimated time.
    Plan(sweep_cmd::PlanArgs),
    /// Count an experiment's cells that are done, failed or pending.
    Status(sweep_cmd::StatusArgs),
    /// Train one cell of a Slurm submission: what each array task of `sweep --on slurm`
    /// runs (its script is in <results>/slurm/<submission>/job.sbatch). Internal, so
    /// hidden from the top-level help.
    #[command(hide = true)]
    SlurmTask(slurm_cmd::TaskArgs),
    /// Print the stored record of one run.
    Show(sweep_cmd::ShowArgs),
    /// List the store's runs across every sweep, filtered by config values, status and
    /// sweep, as a table, CSV or JSON.
    Runs(runs_cmd::RunsArgs),
    /// Retrain runs of an experiment and check them bit for bit against the store or the
    /// committed report.
    Verify(verify_cmd::VerifyArgs),
    /// List (and with --yes remove) the runs no kept experiment refers to, and leftovers.
    Gc(gc_cmd::GcArgs),
    /// Check every record, model and artifact of a store against its sha256 (with
    /// --repair, set corrupt entries aside).
    Fsck(fsck_cmd::FsckArgs),
    /// Turn a sweep's stored runs into tables, plots and a report.
    Report(report_cmd::ReportArgs),
    /// Measure training, sampling, metric, sweep and memory figures of this machine.
    Bench(bench::BenchArgs),
}

/// An error in what the user asked for (a flag, a file, a key): exit code 2, and it is
/// raised before any run starts.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train_cmd::run(*args),
        Command::Sweep(args) => sweep_cmd::sweep(args),
        Command::Plan(args) => sweep_cmd::plan(args),
        Command::Status(args) => sweep_cmd::status(args),
        Command::Show(args) => sweep_cmd::show(args),
        Command::SlurmTask(args) => slurm_cmd::task(args),
        Command::Report(args) => report_cmd::run(args),
        Command::Runs(args) => runs_cmd::run(args),
        Command::Verify(args) => verify_cmd::run(args),
        Command::Gc(args) => gc_cmd::run(args),
        Command::Fsck(args) => fsck_cmd::run(args),
        Command::Bench(args) => bench::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            if err.downcast_ref::<BadInput>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
