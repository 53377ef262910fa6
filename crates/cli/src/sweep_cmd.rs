//! `diffsweep sweep`, `plan`, `status` and `show`: the runner's commands.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use runner::executor::CellOutcome;
use runner::plan::format_seconds;
use runner::progress::describe;
use runner::slurm::CellStatus;
use runner::{
    CellState, CostModel, DisplayMode, Executor, Experiment, RunStore, Status, SweepDisplay,
    SweepIndex,
};

use crate::BadInput;

/// Arguments of `diffsweep sweep`.
#[derive(clap::Args, Debug)]
pub struct SweepArgs {
    /// The experiment file (TOML, a regular file of at most 1 MiB; see experiments/README.md
    /// for the format and the limits: at most 100,000 cells, 10,000 seeds).
    file: PathBuf,
    /// The store's root directory.
    #[arg(long, value_name = "DIR", default_value = "results")]
    results: PathBuf,
    /// Replace a value of the file: a [grid] axis (`--set T=10,100`), `seeds`, or any
    /// config path in [base] (`--set training.epochs=2000`); repeatable. The result is
    /// validated like the file and swept and reported under a name of its own.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Runs trained at once, each on one thread, 1 to 1024 [default: all cores].
    #[arg(long, short, value_name = "N", allow_negative_numbers = true)]
    jobs: Option<usize>,
    /// Print only the final summary.
    #[arg(long, short)]
    quiet: bool,
    /// Train again the cells whose stored run failed.
    #[arg(long)]
    retry_failed: bool,
    /// Train every cell again, replacing stored runs.
    #[arg(long)]
    force: bool,
    /// Where the cells train: on this machine, or as job arrays on a Slurm cluster
    /// (submitted at once; see --wait and README.md, "Running on a Slurm cluster").
    #[arg(long, value_enum, default_value_t = Target::Local)]
    on: Target,
    #[command(flatten)]
    slurm: crate::slurm_cmd::SlurmArgs,
}

/// Where a sweep's cells train.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// This machine, --jobs runs at once.
    Local,
    /// A Slurm cluster: one array task per model (its cells evaluated in it), through sbatch.
    Slurm,
}

/// Arguments of `diffsweep plan`.
#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    /// The experiment file (TOML).
    file: PathBuf,
    /// The store's root directory.
    #[arg(long, value_name = "DIR", default_value = "results")]
    results: PathBuf,
    /// Replace a value of the file: a [grid] axis (`--set T=10,100`), `seeds`, or any
    /// config path in [base] (`--set training.epochs=2000`); repeatable. The result is
    /// validated like the file and swept and reported under a name of its own.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Runs trained at once, for the wall-time estimate, 1 to 1024 [default: all cores].
    #[arg(long, short, value_name = "N", allow_negative_numbers = true)]
    jobs: Option<usize>,
}

/// Arguments of `diffsweep status`.
#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    /// The experiment file (TOML).
    file: PathBuf,
    /// The store's root directory.
    #[arg(long, value_name = "DIR", default_value = "results")]
    results: PathBuf,
    /// Replace a value of the file: a [grid] axis (`--set T=10,100`), `seeds`, or any
    /// config path in [base] (`--set training.epochs=2000`); repeatable. The result is
    /// validated like the file and swept and reported under a name of its own.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

/// Arguments of `diffsweep show`.
#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    /// A run id, or a prefix of at least 4 of its hex digits.
    run_id: String,
    /// The store's root directory.
    #[arg(long, value_name = "DIR", default_value = "results")]
    results: PathBuf,
}

/// A runner error as the CLI reports it: the user's mistakes exit with code 2.
pub(crate) fn classify(err: runner::Error) -> anyhow::Error {
    if err.is_bad_input() {
        anyhow::Error::new(BadInput(err.to_string()))
    } else {
        anyhow::Error::new(err)
    }
}

/// Reads and validates an experiment file with its `--set` overrides.
pub(crate) fn load(file: &Path, overrides: &[String]) -> anyhow::Result<Experiment> {
    Experiment::load_with(file, overrides).map_err(classify)
}

/// `--jobs`, checked, or every core.
pub(crate) fn jobs_or_cores(jobs: Option<usize>) -> anyhow::Result<usize> {
    match jobs {
        Some(jobs) if jobs == 0 || jobs > runner::limits::MAX_JOBS => {
            Err(anyhow::Error::new(BadInput(format!(
                "invalid value {jobs} for `--jobs`: expected an integer from 1 to {}",
                runner::limits::MAX_JOBS
            ))))
        }
        Some(jobs) => Ok(jobs),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

fn open_store(root: &Path) -> anyhow::Result<RunStore> {
    crate::paths::open_store(root)
}

/// Trains every cell of the experiment that is not stored yet.
pub fn sweep(args: SweepArgs) -> anyhow::Result<ExitCode> {
    let experiment = load(&args.file, &args.set)?;
    let jobs = jobs_or_cores(args.jobs)?;
    if args.on == Target::Local {
        args.slurm.check_local()?;
    } else if args.jobs.is_some() {
        return Err(anyhow::Error::new(BadInput(
            "--jobs is for local sweeps: with --on slurm every cell is an array task of its own (limit how many run at once with --throttle)".to_string(),
        )));
    }
    crate::paths::writable_dir(&args.results, "--results")?;
    let store = open_store(&args.results)?;
    store
        .write_sweep_index(&SweepIndex::of(&experiment))
        .with_context(|| format!("cannot write the index of sweep `{}`", experiment.name))?;
    if args.on == Target::Slurm {
        return crate::slurm_cmd::submit_sweep(
            &experiment,
            &store,
            &args.slurm,
            args.retry_failed,
            args.force,
            args.quiet,
        );
    }

    let mut executor = Executor::new(jobs).map_err(classify)?;
    executor.retry_failed = args.retry_failed;
    executor.force = args.force;
    let display = SweepDisplay::new(DisplayMode::detect(args.quiet));
    let report = executor
        .execute(&store, &experiment.cells(), &display)
        .with_context(|| format!("sweep `{}` stopped", experiment.name))?;

    let diverged = report.with_status(Status::Diverged);
    let non_finite = report.with_status(Status::NonFinite);
    let completed = report.with_status(Status::Completed);
    let failures = report.failures();
    println!(
        "sweep {}: {} cells, {} run, {} already stored, in {} (store: {})",
        experiment.name,
        report.cells.len(),
        report.trained(),
        report.cached(),
        format_seconds(report.elapsed.as_secs_f64()),
        store.root().display()
    );
    println!(
        "  {} models trained and {} loaded from the store for {} evaluations (each cell sampled and scored)",
        report.models_trained,
        report.models_loaded,
        report.trained()
    );
    println!(
        "  {} completed, {} diverged, {} non-finite, {} failed",
        completed.len(),
        diverged.len(),
        non_finite.len(),
        failures.len()
    );
    if !non_finite.is_empty() {
        // One line per cell of the grid, its seeds counted: a sampler that explodes
        // usually does so for every seed.
        let mut cells: Vec<(String, usize)> = Vec::new();
        for (cell, _) in &non_finite {
            let label = cell
                .label
                .split(' ')
                .filter(|part| !part.starts_with("seed="))
                .collect::<Vec<_>>()
                .join(" ");
            match cells.iter_mut().find(|(l, _)| *l == label) {
                Some((_, count)) => *count += 1,
                None => cells.push((label, 1)),
            }
        }
        println!(
            "non-finite samples in {} cells (kept as results; deterministic, so not retried):",
            cells.len()
        );
        for (label, count) in &cells {
            println!(
                "  {label}  ({count} seed{})",
                if *count == 1 { "" } else { "s" }
            );
        }
    }
    if !diverged.is_empty() {
        println!("diverged (kept as results; a diverged run is not retried):");
        for (cell, outcome) in &diverged {
            let epoch = outcome
                .record()
                .and_then(|r| r.diverged_epoch)
                .map_or("?".to_string(), |e| e.to_string());
            println!(
                "  {}  at epoch {epoch}  (run {})",
                cell.label,
                cell.id.short()
            );
        }
    }
    if !failures.is_empty() {
        println!("failed:");
        for (cell, outcome) in &failures {
            let error = outcome.error().unwrap_or("no error recorded");
            println!("  {}  (run {}): {error}", cell.label, cell.id.short());
        }
        if failures
            .iter()
            .any(|(_, o)| matches!(o, CellOutcome::Cached(_)))
        {
            println!("  stored failures are kept; rerun them with --retry-failed");
        }
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the cells, which are stored, and how long the rest would take.
pub fn plan(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let experiment = load(&args.file, &args.set)?;
    let jobs = jobs_or_cores(args.jobs)?;
    let store = open_store(&args.results)?;
    let cost = CostModel::calibrate(&store).context("cannot read the stored runs' timings")?;

    let mut header: Vec<String> = vec!["#".to_string()];
    header.extend(experiment.axes.iter().cloned());
    header.extend([
        "run".to_string(),
        "state".to_string(),
        "estimate".to_string(),
    ]);
    let mut rows = Vec::new();
    let (mut pending, mut stored, mut failed, mut seconds) = (0, 0, 0, 0.0);
    let mut models_counted = std::collections::HashSet::new();
    for (i, cell) in experiment.cells().iter().enumerate() {
        let state = CellState::of(&store, cell).map_err(classify)?;
        let (label, estimate) = match &state {
            CellState::Done(record) => {
                stored += 1;
                (record.status.as_str().to_string(), "-".to_string())
            }
            CellState::Failed(_) => {
                failed += 1;
                ("failed".to_string(), "-".to_string())
            }
            CellState::Pending | CellState::Corrupt(_) => {
                pending += 1;
                // A model is trained once for all the cells that share it, and not at all
                // when it is stored.
                let model = runner::RunId::of_model(&cell.config);
                let train = if models_counted.insert(model.clone())
                    && store.model_record(&model).ok().flatten().is_none()
                {
                    cost.training(&cell.config)
                } else {
                    0.0
                };
                let estimate = train + cost.sampling(&cell.config);
                seconds += estimate;
                ("pending".to_string(), format_seconds(estimate))
            }
        };
        let mut row = vec![(i + 1).to_string()];
        row.extend(experiment.axes.iter().map(|axis| bare(&cell.axes[axis])));
        row.extend([cell.id.short().to_string(), label, estimate]);
        rows.push(row);
    }
    println!(
        "experiment {} ({}): {} cells over {}",
        experiment.name,
        args.file.display(),
        experiment.len(),
        experiment.axes.join(", ")
    );
    print_table(&header, &rows);
    let basis = if cost.calibrated_from > 0 {
        format!("timed from {} stored runs", cost.calibrated_from)
    } else {
        "built-in per-epoch costs; no stored runs to time yet".to_string()
    };
    println!(
        "{stored} stored, {failed} failed, {pending} pending: about {} of compute, {} on {jobs} worker(s) ({basis})",
        format_seconds(seconds),
        format_seconds(seconds / jobs.min(pending.max(1)) as f64)
    );
    Ok(ExitCode::SUCCESS)
}

/// Counts and lists the cells that are stored, failed, queued, running and pending:
/// from the store first and, for cells submitted to Slurm, from `squeue`.
pub fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let experiment = load(&args.file, &args.set)?;
    let store = open_store(&args.results)?;
    let cells = experiment.cells();
    let (statuses, tracker) = crate::slurm_cmd::statuses(&store, &cells)?;
    let mut groups: Vec<(&str, Vec<String>)> = [
        "done",
        "non-finite",
        "failed",
        "running",
        "queued",
        "submitted",
        "corrupt",
        "pending",
    ]
    .iter()
    .map(|title| (*title, Vec::new()))
    .collect();
    let mut push = |title: &str, line: String| {
        if let Some((_, lines)) = groups.iter_mut().find(|(t, _)| *t == title) {
            lines.push(line);
        }
    };
    for (cell, status) in cells.iter().zip(&statuses) {
        let id = cell.id.short();
        match status {
            // Stored and deterministic, but its samples are not finite: counted apart.
            CellStatus::Stored(record) if record.status == Status::NonFinite => push(
                "non-finite",
                format!("{id}  {}", describe(&cell.label, record)),
            ),
            CellStatus::Stored(record) => {
                push("done", format!("{id}  {}", describe(&cell.label, record)))
            }
            CellStatus::Failed(record, _) => {
                push("failed", format!("{id}  {}", describe(&cell.label, record)))
            }
            CellStatus::Died(task, _) => push(
                "failed",
                format!(
                    "{id}  {}  (Slurm task {} ended without storing a run)",
                    cell.label,
                    task.name()
                ),
            ),
            CellStatus::Running(task) => push(
                "running",
                format!("{id}  {}  (Slurm task {})", cell.label, task.name()),
            ),
            CellStatus::Queued(task, reason) => push(
                "queued",
                format!(
                    "{id}  {}  (Slurm task {}: {reason})",
                    cell.label,
                    task.name()
                ),
            ),
            CellStatus::Unknown(task) => push(
                "submitted",
                format!("{id}  {}  (Slurm task {})", cell.label, task.name()),
            ),
            CellStatus::Corrupt(reason) => push(
                "corrupt",
                format!(
                    "{id}  {}  ({reason}; the next sweep sets it aside and runs it again)",
                    cell.label
                ),
            ),
            CellStatus::Pending => push("pending", format!("{id}  {}", cell.label)),
        }
    }
    let counts: Vec<String> = groups
        .iter()
        .filter(|(title, lines)| {
            !lines.is_empty() || matches!(*title, "done" | "failed" | "pending")
        })
        .map(|(title, lines)| format!("{} {title}", lines.len()))
        .collect();
    println!(
        "sweep {}: {} cells: {}",
        experiment.name,
        experiment.len(),
        counts.join(", ")
    );
    if let Some(error) = tracker.queue_error() {
        println!("warning: cannot read the Slurm queue ({error}): submitted cells without a record are listed as submitted");
    }
    for (title, lines) in &groups {
        if !lines.is_empty() {
            println!("{title}:");
            for line in lines.iter() {
                println!("  {line}");
            }
        }
    }
    if statuses.iter().any(|s| matches!(s, CellStatus::Died(..))) {
        println!("failed Slurm tasks (the end of their logs):");
        crate::slurm_cmd::print_failures(
            &cells,
            &statuses
                .iter()
                .map(|s| match s {
                    CellStatus::Died(..) => s.clone(),
                    _ => CellStatus::Pending,
                })
                .collect::<Vec<_>>(),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints one stored run: its record and its config.
pub fn show(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(&args.results)?;
    let id = store.resolve(&args.run_id).map_err(classify)?;
    let record = store
        .record(&id)
        .with_context(|| format!("cannot read the record of run {id}"))?
        .ok_or_else(|| anyhow::Error::new(BadInput(format!("run {id} has no record"))))?;
    let config = store
        .config(&id)
        .with_context(|| format!("cannot read the config of run {id}"))?;
    let dir = store.run_dir(&id);
    println!("run {id}: {}", record.status.as_str());
    println!("directory: {}", dir.display());
    println!();
    println!("# record.json");
    println!(
        "{}",
        serde_json::to_string_pretty(&record).context("cannot format the record")?
    );
    println!();
    println!("# config.toml (canonical: parameters the schedule ignores are reset)");
    print!(
        "{}",
        toml::to_string(&config).context("cannot format the config")?
    );
    Ok(ExitCode::SUCCESS)
}

/// A JSON axis value as a table cell: strings without quotes.
fn bare(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn print_table(header: &[String], rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].len())
                .chain([header[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let render = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    println!("{}", render(header));
    for row in rows {
        println!("{}", render(row));
    }
}
