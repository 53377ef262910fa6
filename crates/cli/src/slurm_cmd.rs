//! `diffsweep sweep --on slurm` (submit, and follow with `--wait`) and `diffsweep
//! slurm-task` (what each array task runs).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use runner::executor::{Observer, RunEvent};
use runner::slurm::submit::{self, Request};
use runner::slurm::{commands, CellStatus, OptionValue, SlurmOptions, Submission, Tracker};
use runner::{Cell, Executor, Experiment, RunStore, Status};

use crate::sweep_cmd::classify;
use crate::BadInput;

/// How often `--wait` looks at the store and the queue.
const POLL: Duration = Duration::from_secs(2);

/// The Slurm options of `diffsweep sweep`; each overrides the experiment's `[slurm]`.
#[derive(clap::Args, Debug, Default)]
pub struct SlurmArgs {
    /// With `--on slurm`: follow the sweep until every cell is stored or failed (Ctrl-C
    /// stops following, not the jobs).
    #[arg(long)]
    pub wait: bool,
    /// With `--on slurm`: the partition (sbatch --partition).
    #[arg(long, value_name = "NAME")]
    pub partition: Option<String>,
    /// With `--on slurm`: each task's time limit, e.g. 30, 1:00:00, 1-12 (sbatch --time).
    #[arg(long, value_name = "TIME")]
    pub time: Option<String>,
    /// With `--on slurm`: CPUs per task [default: 1] (sbatch --cpus-per-task).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub cpus_per_task: Option<i64>,
    /// With `--on slurm`: memory per task, e.g. 2G (sbatch --mem).
    #[arg(long, value_name = "SIZE")]
    pub mem: Option<String>,
    /// With `--on slurm`: the account to charge (sbatch --account).
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
    /// With `--on slurm`: the quality of service (sbatch --qos).
    #[arg(long, value_name = "NAME")]
    pub qos: Option<String>,
    /// With `--on slurm`: at most K tasks of an array at once (--array=...%K).
    #[arg(long, value_name = "K", allow_negative_numbers = true)]
    pub throttle: Option<i64>,
    /// With `--on slurm`: one more sbatch argument, passed as it is (repeatable), e.g.
    /// --sbatch-arg=--constraint=avx512.
    #[arg(long = "sbatch-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub sbatch_args: Vec<String>,
    /// With `--on slurm`: requeueable tasks; a task signalled before its time limit (or
    /// preempted) abandons its run, stores nothing and trains it again when it restarts.
    #[arg(long)]
    pub requeue: bool,
    /// With `--requeue`: signal a task this many seconds before its time limit [default: 60].
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub signal_before: Option<i64>,
}

impl SlurmArgs {
    /// The flags given, as options (values checked), and their names.
    fn options(&self) -> Result<(SlurmOptions, Vec<&'static str>), String> {
        let mut options = SlurmOptions::default();
        let mut given = Vec::new();
        let texts = [
            ("partition", "--partition", &self.partition),
            ("time", "--time", &self.time),
            ("mem", "--mem", &self.mem),
            ("account", "--account", &self.account),
            ("qos", "--qos", &self.qos),
        ];
        for (key, flag, value) in texts {
            if let Some(value) = value {
                options
                    .set(key, OptionValue::Text(value.clone()))
                    .map_err(|m| format!("{flag}: {m}"))?;
                given.push(flag);
            }
        }
        let numbers = [
            ("cpus_per_task", "--cpus-per-task", self.cpus_per_task),
            ("throttle", "--throttle", self.throttle),
            ("signal_before", "--signal-before", self.signal_before),
        ];
        for (key, flag, value) in numbers {
            if let Some(value) = value {
                options
                    .set(key, OptionValue::Integer(value))
                    .map_err(|m| format!("{flag}: {m}"))?;
                given.push(flag);
            }
        }
        if !self.sbatch_args.is_empty() {
            options
                .set("sbatch_args", OptionValue::List(self.sbatch_args.clone()))
                .map_err(|m| format!("--sbatch-arg: {m}"))?;
            given.push("--sbatch-arg");
        }
        if self.requeue {
            options.requeue = Some(true);
            given.push("--requeue");
        }
        if self.wait {
            given.push("--wait");
        }
        Ok((options, given))
    }

    /// Refuses Slurm flags on a local sweep.
    pub fn check_local(&self) -> anyhow::Result<()> {
        let (_, given) = self
            .options()
            .map_err(|m| anyhow::Error::new(BadInput(m)))?;
        match given.first() {
            Some(flag) => Err(anyhow::Error::new(BadInput(format!(
                "{flag} is an option of Slurm sweeps: add `--on slurm`"
            )))),
            None => Ok(()),
        }
    }
}

/// Submits the cells of `experiment` that are neither stored nor in the queue.
pub fn submit_sweep(
    experiment: &Experiment,
    store: &RunStore,
    slurm: &SlurmArgs,
    retry_failed: bool,
    force: bool,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let (cli_options, _) = slurm
        .options()
        .map_err(|m| anyhow::Error::new(BadInput(m)))?;
    let options = experiment.slurm.overlaid(&cli_options);
    options
        .check()
        .map_err(|m| anyhow::Error::new(BadInput(m)))?;
    commands::check_available().map_err(|m| anyhow::Error::new(BadInput(m)))?;
    let program = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .context("cannot find the diffsweep binary the tasks are to run")?;

    let cells = experiment.cells();
    let mut tracker = Tracker::load(store).map_err(classify)?;
    if tracker.any_submitted(cells.iter()) {
        tracker.read_queue(cells.iter());
        if let Some(error) = tracker.queue_error() {
            anyhow::bail!("cannot read the queue, so nothing was submitted: {error}");
        }
    }
    let mut to_submit: Vec<&Cell> = Vec::new();
    let (mut stored, mut active) = (0, 0);
    for cell in cells {
        match tracker.status(store, cell).map_err(classify)? {
            status if status.is_active() => active += 1,
            CellStatus::Stored(_) if !force => stored += 1,
            CellStatus::Failed(..) if !(retry_failed || force) => {}
            _ => to_submit.push(cell),
        }
    }
    let failed_kept = cells.len() - stored - active - to_submit.len();
    if to_submit.is_empty() {
        println!(
            "sweep {}: nothing to submit: {stored} stored, {active} queued or running, {failed_kept} failed{}",
            experiment.name,
            if failed_kept > 0 { " (resubmit them with --retry-failed)" } else { "" }
        );
    } else {
        let max = commands::max_array_size().map_err(|m| anyhow::anyhow!(m))?;
        let request = Request {
            sweep: &experiment.name,
            cells: &to_submit,
            options: &options,
            program,
            retry_failed,
            force,
        };
        // An array's indices run from 0 to MaxArraySize - 1.
        match submit::submit(store, &request, max).map_err(classify)? {
            Ok(submission) => print_submitted(experiment, store, &submission, stored, active),
            Err(partial) => {
                print_submitted(experiment, store, &partial.submission, stored, active);
                let manifest = &partial.submission.manifest;
                anyhow::bail!(
                    "sbatch refused an array, so {} of {} tasks were not submitted: {}",
                    manifest.tasks.len() - manifest.arrays.iter().map(|a| a.len).sum::<usize>(),
                    manifest.tasks.len(),
                    partial.error
                );
            }
        }
    }
    if slurm.wait {
        follow(experiment, store, quiet)
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

fn print_submitted(
    experiment: &Experiment,
    store: &RunStore,
    submission: &Submission,
    stored: usize,
    active: usize,
) {
    let manifest = &submission.manifest;
    let arrays: Vec<String> = manifest
        .arrays
        .iter()
        .map(|a| format!("{} ({} tasks)", a.job_id, a.len))
        .collect();
    let submitted: usize = manifest
        .arrays
        .iter()
        .flat_map(|a| &manifest.tasks[a.first..a.first + a.len])
        .map(|t| t.cells.len())
        .sum();
    println!(
        "sweep {}: submitted {submitted} cells as {} tasks (one per model) in {} Slurm job array(s): {}; {stored} already stored, {active} already queued or running",
        experiment.name,
        manifest.arrays.iter().map(|a| a.len).sum::<usize>(),
        manifest.arrays.len(),
        arrays.join(", ")
    );
    println!("  manifest and script: {}", submission.dir.display());
    println!("  task logs:           {}", submission.logs_dir().display());
    let ids: Vec<String> = manifest.job_ids().iter().map(u64::to_string).collect();
    println!(
        "  follow:  diffsweep status {} --results {}   (or sweep ... --on slurm --wait)",
        experiment.source.display(),
        store.root().display()
    );
    println!("  cancel:  scancel {}", ids.join(" "));
}

/// Counts of a sweep's cells by state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    stored: usize,
    running: usize,
    queued: usize,
    failed: usize,
    other: usize,
}

impl Counts {
    fn of(statuses: &[CellStatus]) -> Counts {
        let mut counts = Counts::default();
        for status in statuses {
            match status {
                CellStatus::Stored(_) => counts.stored += 1,
                CellStatus::Running(_) => counts.running += 1,
                CellStatus::Queued(..) => counts.queued += 1,
                CellStatus::Failed(..) | CellStatus::Died(..) => counts.failed += 1,
                CellStatus::Unknown(_) | CellStatus::Corrupt(_) | CellStatus::Pending => {
                    counts.other += 1
                }
            }
        }
        counts
    }

    fn line(&self, total: usize) -> String {
        format!(
            "{}/{total} stored, {} running, {} queued, {} failed{}",
            self.stored,
            self.running,
            self.queued,
            self.failed,
            if self.other > 0 {
                format!(", {} not submitted", self.other)
            } else {
                String::new()
            }
        )
    }
}

/// Every cell's state, reading the queue once.
pub fn statuses(store: &RunStore, cells: &[Cell]) -> anyhow::Result<(Vec<CellStatus>, Tracker)> {
    let mut tracker = Tracker::load(store).map_err(classify)?;
    if tracker.any_submitted(cells.iter()) {
        tracker.read_queue(cells.iter());
    }
    let statuses = cells
        .iter()
        .map(|cell| tracker.status(store, cell).map_err(classify))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((statuses, tracker))
}

/// Follows a Slurm sweep until no cell is queued or running; Ctrl-C stops following.
fn follow(experiment: &Experiment, store: &RunStore, quiet: bool) -> anyhow::Result<ExitCode> {
    let interrupted = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&interrupted))
        .context("cannot handle Ctrl-C")?;
    let cells = experiment.cells();
    let started = Instant::now();
    let bar = (!quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .then(indicatif_like::Line::new);
    let mut last = None;
    loop {
        let (statuses, tracker) = statuses(store, &cells)?;
        if let Some(error) = tracker.queue_error() {
            eprintln!("warning: cannot read the queue ({error}); trying again");
        }
        let counts = Counts::of(&statuses);
        if last != Some(counts) && !quiet {
            let line = format!(
                "[{}] sweep {}: {}",
                runner::plan::format_seconds(started.elapsed().as_secs_f64()),
                experiment.name,
                counts.line(cells.len())
            );
            match &bar {
                Some(bar) => bar.show(&line),
                None => eprintln!("{line}"),
            }
            last = Some(counts);
        }
        if tracker.queue_error().is_none() && counts.running + counts.queued == 0 {
            if let Some(bar) = &bar {
                bar.finish();
            }
            return summarize(experiment, &cells, &statuses, started.elapsed());
        }
        let deadline = Instant::now() + POLL;
        while Instant::now() < deadline {
            if interrupted.load(Ordering::Relaxed) {
                if let Some(bar) = &bar {
                    bar.finish();
                }
                let jobs = tracker.active_jobs(&statuses);
                let ids: Vec<String> = jobs.iter().map(u64::to_string).collect();
                eprintln!(
                    "stopped following; the jobs keep running ({}). Follow again with `diffsweep status {} --results {}`; cancel them with `scancel {}`",
                    counts.line(cells.len()),
                    experiment.source.display(),
                    store.root().display(),
                    ids.join(" ")
                );
                return Ok(ExitCode::from(130));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The end of a followed sweep: as a local sweep's summary, with failed tasks' logs.
fn summarize(
    experiment: &Experiment,
    cells: &[Cell],
    statuses: &[CellStatus],
    elapsed: Duration,
) -> anyhow::Result<ExitCode> {
    let counts = Counts::of(statuses);
    let with = |wanted: Status| {
        statuses
            .iter()
            .filter(|s| matches!(s, CellStatus::Stored(r) if r.status == wanted))
            .count()
    };
    println!(
        "sweep {}: {} cells followed for {}: {} completed, {} diverged, {} non-finite, {} failed{}",
        experiment.name,
        cells.len(),
        runner::plan::format_seconds(elapsed.as_secs_f64()),
        with(Status::Completed),
        with(Status::Diverged),
        with(Status::NonFinite),
        counts.failed,
        if counts.other > 0 {
            format!(", {} not submitted", counts.other)
        } else {
            String::new()
        }
    );
    let failed = print_failures(cells, statuses);
    if failed {
        println!("  resubmit the failed cells with --retry-failed");
        return Ok(ExitCode::FAILURE);
    }
    Ok(if counts.other > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Lists failed cells with their error or log tail; whether there were any.
pub fn print_failures(cells: &[Cell], statuses: &[CellStatus]) -> bool {
    let mut any = false;
    for (cell, status) in cells.iter().zip(statuses) {
        match status {
            CellStatus::Failed(record, task) => {
                any = true;
                println!(
                    "  failed  {}  (run {}): {}{}",
                    cell.label,
                    cell.id.short(),
                    record.error.as_deref().unwrap_or("no error recorded"),
                    task.as_ref()
                        .map(|t| format!("; log {}", t.log.display()))
                        .unwrap_or_default()
                );
            }
            CellStatus::Died(task, tail) => {
                any = true;
                println!(
                    "  failed  {}  (run {}): task {} ended without storing a run (cancelled, out of time or memory, or its node failed); log {}",
                    cell.label,
                    cell.id.short(),
                    task.name(),
                    task.log.display()
                );
                match tail {
                    Some(tail) if !tail.is_empty() => {
                        for line in tail.lines() {
                            println!("      | {line}");
                        }
                    }
                    _ => println!("      | (no log: the task never started)"),
                }
            }
            _ => {}
        }
    }
    any
}

/// A progress line redrawn in place on a terminal.
mod indicatif_like {
    use indicatif::ProgressBar;

    pub struct Line(ProgressBar);

    impl Line {
        pub fn new() -> Line {
            let bar = ProgressBar::new_spinner();
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            Line(bar)
        }

        pub fn show(&self, text: &str) {
            self.0.set_message(text.to_string());
        }

        pub fn finish(&self) {
            self.0.finish_and_clear();
        }
    }
}

/// Arguments of `diffsweep slurm-task`.
#[derive(clap::Args, Debug)]
pub struct TaskArgs {
    /// The submission's folder in the store (`<results>/slurm/<submission>`).
    submission: PathBuf,
    /// The submission's task at index 0 of this array.
    first: usize,
    /// The index in the array [default: $SLURM_ARRAY_TASK_ID].
    #[arg(long)]
    index: Option<usize>,
}

/// Prints a run's progress into the task's log: start, every tenth of the epochs, end.
#[derive(Default)]
struct LogLines {
    /// Tenths of the epochs printed so far.
    tenths: std::sync::atomic::AtomicUsize,
}

impl Observer for LogLines {
    fn event(&self, event: RunEvent<'_>) {
        match event {
            RunEvent::Waiting { cell, .. } => {
                println!("waiting: another process trains {}", cell.id.short())
            }
            RunEvent::Started { cell, .. } => println!("running {}", cell.label),
            RunEvent::Epoch { epoch, epochs, .. } => {
                let tenths = epoch.saturating_mul(10) / epochs.max(1);
                if tenths > self.tenths.swap(tenths, Ordering::Relaxed) {
                    println!("epoch {epoch}/{epochs}");
                }
            }
            RunEvent::Sampling { .. } => println!("sampling"),
            RunEvent::SetAside { what, reason, path } => println!(
                "set aside corrupt {what}: {reason}; moved to {}, running it again",
                path.display()
            ),
            RunEvent::Finished { .. } => {}
        }
    }
}

/// Trains one cell of a submission: what each array task runs.
pub fn task(args: TaskArgs) -> anyhow::Result<ExitCode> {
    let submission = Submission::open(&args.submission).map_err(classify)?;
    let index = match args.index {
        Some(index) => index,
        None => std::env::var("SLURM_ARRAY_TASK_ID")
            .ok()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| {
                anyhow::Error::new(BadInput(
                    "no --index and no SLURM_ARRAY_TASK_ID: this runs inside a Slurm array task"
                        .to_string(),
                ))
            })?,
    };
    let k = args.first.saturating_add(index);
    let manifest = &submission.manifest;
    let task = manifest.tasks.get(k).ok_or_else(|| {
        anyhow::Error::new(BadInput(format!(
            "task {k} is not in {} ({} tasks)",
            args.submission.display(),
            manifest.tasks.len()
        )))
    })?;
    let cells = task.cells().map_err(|m| anyhow::anyhow!(m))?;
    let root = args
        .submission
        .parent()
        .and_then(|p| p.parent())
        .context("the submission folder is not inside a store")?;
    let store = RunStore::open(root).map_err(classify)?;
    handle_signals(manifest.options.requeue())?;

    println!(
        "diffsweep {} slurm task: job {} (array {} index {index}), task {k} of {}: model {}, {} cells, on {}",
        env!("CARGO_PKG_VERSION"),
        std::env::var("SLURM_JOB_ID").unwrap_or_else(|_| "-".into()),
        std::env::var("SLURM_ARRAY_JOB_ID").unwrap_or_else(|_| "-".into()),
        manifest.submission,
        cells
            .first()
            .map(|c| runner::RunId::of_model(&c.config).short().to_string())
            .unwrap_or_default(),
        cells.len(),
        runner::Host::current().hostname
    );
    let mut executor = Executor::new(1).map_err(classify)?;
    executor.retry_failed = manifest.retry_failed;
    executor.force = manifest.force;
    let report = executor
        .execute(&store, &cells, &LogLines::default())
        .context("the store failed")?;
    for (cell, outcome) in &report.cells {
        match outcome.record() {
            Some(record) => println!(
                "{}: run {} {}{}",
                if matches!(outcome, runner::CellOutcome::Cached(_)) {
                    "already stored"
                } else {
                    "stored"
                },
                cell.id.short(),
                record.status.as_str(),
                record
                    .error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            ),
            None => println!(
                "not stored: run {}: {}",
                cell.id.short(),
                outcome.error().unwrap_or("the store failed")
            ),
        }
    }
    Ok(if report.failures().is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// On SIGTERM (cancelled, time limit, preemption) or SIGUSR1 (the `--signal` before the
/// time limit): wait until no run is being written, then exit, leaving every run stored
/// whole or not at all. On SIGUSR1 a requeueable task first requeues itself, so its cell is
/// trained again from the start when Slurm restarts it.
fn handle_signals(requeue: bool) -> anyhow::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGUSR1, SIGINT])
        .context("cannot handle signals")?;
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let _writes = runner::store::hold_writes();
            let name = match signal {
                SIGTERM => "SIGTERM",
                SIGUSR1 => "SIGUSR1",
                _ => "SIGINT",
            };
            if signal == SIGUSR1 && requeue {
                match commands::requeue_self() {
                    Ok(()) => println!(
                        "{name}: the run is abandoned (nothing stored) and the task requeued; it trains the cell again from the start"
                    ),
                    Err(err) => println!("{name}: the run is abandoned (nothing stored); cannot requeue: {err}"),
                }
            } else {
                println!("{name}: the run is abandoned; nothing was stored");
            }
            std::process::exit(128 + signal);
        }
    });
    Ok(())
}
