//! Sweep-level figures: the throughput of `--jobs 1` against `--jobs 2` on a small grid,
//! and the peak memory of one run in a fresh process.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use runner::{Executor, Experiment, RunStore, Silent};
use serde::Serialize;

/// Points and epochs of each run of the throughput grid.
pub const SWEEP_POINTS: usize = 500;
pub const SWEEP_EPOCHS: usize = 1000;
/// The run whose peak memory is measured: the post's n, this many epochs.
pub const RSS_POINTS: usize = 1000;
pub const RSS_EPOCHS: usize = 200;

/// One sweep of the throughput grid.
#[derive(Serialize, Debug)]
pub struct SweepFigures {
    /// Worker threads.
    pub jobs: usize,
    /// Runs trained.
    pub runs: usize,
    /// Wall seconds of the sweep, store writes included.
    pub seconds: f64,
}

impl SweepFigures {
    /// Runs per minute.
    pub fn runs_per_minute(&self) -> f64 {
        self.runs as f64 / self.seconds * 60.0
    }
}

/// The grid of the throughput figure: `runs` seeds of a small moons run.
pub fn grid(runs: usize) -> String {
    format!(
        "name = \"bench-throughput\"\n\
         description = \"diffsweep-bench: sweep throughput\"\n\
         seeds = {runs}\n\n\
         [base]\n\
         dataset = {{ kind = \"moons\", n = {SWEEP_POINTS} }}\n\
         training = {{ epochs = {SWEEP_EPOCHS} }}\n\n\
         [grid]\n\
         T = [10]\n"
    )
}

/// Sweeps the throughput grid into a fresh temporary store with `jobs` workers.
pub fn throughput(runs: usize, jobs: usize) -> anyhow::Result<SweepFigures> {
    let experiment = Experiment::parse(&grid(runs), Path::new("<bench grid>"))
        .context("the built-in benchmark grid")?;
    let dir = tempfile::Builder::new()
        .prefix("diffsweep-bench-")
        .tempdir()
        .context("cannot create a temporary results directory")?;
    let store = RunStore::open(dir.path()).context("cannot open the temporary store")?;
    let report = Executor::new(jobs)
        .context("the executor")?
        .execute(&store, experiment.cells(), &Silent)
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

/// This program, even after a rebuild replaced its file.
pub fn this_program() -> anyhow::Result<PathBuf> {
    let proc_exe = Path::new("/proc/self/exe");
    if proc_exe.exists() {
        Ok(proc_exe.to_path_buf())
    } else {
        std::env::current_exe().context("cannot find the running executable")
    }
}

/// The shipped `diffsweep` binary, which cargo builds into the folder of this one
/// (`just bench` builds it first).
pub fn diffsweep_program() -> anyhow::Result<PathBuf> {
    let bench = std::env::current_exe().context("cannot find the running executable")?;
    let program = bench
        .parent()
        .context("the running executable is in no folder")?
        .join(format!("diffsweep{}", std::env::consts::EXE_SUFFIX));
    if !program.is_file() {
        bail!(
            "cannot find the diffsweep binary at {}: build it first (`cargo build --bin diffsweep`; `just bench` does)",
            program.display()
        );
    }
    Ok(program)
}

/// Starts a fresh copy of this program, which runs one `diffsweep train` (see
/// [`rss_probe`]), and reads that run's peak RSS, in MB.
pub fn child_peak_rss_mb() -> anyhow::Result<Option<f64>> {
    let exe = this_program()?;
    let output = Command::new(&exe)
        .arg("--rss-probe")
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

/// The child side of [`child_peak_rss_mb`]: one whole run of the shipped binary,
/// `diffsweep train` as a user starts it (the post's config at [`RSS_POINTS`] points and
/// [`RSS_EPOCHS`] epochs), then its peak resident set size in kB: the kernel's high-water
/// mark (`VmHWM` in `/proc/<pid>/status`), read every millisecond until the run exits, so
/// at most the run's last millisecond goes unseen. Prints `unknown` where `/proc` is not
/// there.
pub fn rss_probe() -> anyhow::Result<ExitCode> {
    let exe = diffsweep_program()?;
    let mut child = Command::new(&exe)
        .args(["train", "--n", &RSS_POINTS.to_string(), "--T", "10"])
        .args(["--epochs", &RSS_EPOCHS.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", exe.display()))?;
    let status_file = PathBuf::from(format!("/proc/{}/status", child.id()));
    let mut peak_kb: Option<u64> = None;
    let status = loop {
        if let Some(kb) = high_water_mark_kb(&status_file) {
            peak_kb = Some(peak_kb.map_or(kb, |peak| peak.max(kb)));
        }
        if let Some(status) = child.try_wait().context("cannot wait for the probe run")? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    if !status.success() {
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        bail!("the probe run failed: {}", stderr.trim());
    }
    match peak_kb {
        Some(kb) => println!("{kb}"),
        None => println!("unknown"),
    }
    Ok(ExitCode::SUCCESS)
}

/// The `VmHWM` line of a process's status file, in kB; `None` once the process has
/// exited (a zombie's status has no memory lines) or where there is no `/proc`.
fn high_water_mark_kb(status_file: &Path) -> Option<u64> {
    let status = std::fs::read_to_string(status_file).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_grid_is_a_valid_experiment() {
        let experiment = Experiment::parse(&grid(3), Path::new("<bench grid>")).unwrap();
        let cells = experiment.cells();
        assert_eq!(cells.len(), 3);
        assert!(cells.iter().all(
            |c| c.config.dataset.n == SWEEP_POINTS && c.config.training.epochs == SWEEP_EPOCHS
        ));
    }
}
