//! The executor's cost per cell beyond the numbers: a sweep of tiny runs (one epoch of 32
//! points, T = 10, 32 samples) through the production executor, CPU backend and store,
//! with the time of each phase (`runner::costs`) divided by the cells.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use runner::costs::{self, Phase};
use runner::{Executor, Experiment, RunStore, Silent};

/// The grid: `cells` seeds of a tiny run.
pub fn grid(cells: usize) -> String {
    format!(
        "name = \"bench-overhead\"\n\
         description = \"diffsweep-bench --overhead: {cells} tiny runs\"\n\
         seeds = {cells}\n\n\
         [base]\n\
         dataset = {{ kind = \"moons\", n = 32 }}\n\
         training = {{ epochs = 1 }}\n\n\
         [grid]\n\
         T = [10]\n"
    )
}

/// What one overhead sweep measured.
pub struct Overhead {
    pub cells: usize,
    pub jobs: usize,
    pub seconds: f64,
    /// Each phase's seconds, summed over the workers.
    pub phases: Vec<(Phase, f64, u64)>,
    pub store: PathBuf,
    /// Whether the store is kept.
    pub kept: bool,
}

/// Sweeps the grid of `cells` tiny runs with `jobs` workers into `store` (a fresh
/// temporary directory when `None`, removed afterwards).
pub fn measure(cells: usize, jobs: usize, store: Option<&Path>) -> anyhow::Result<Overhead> {
    let experiment = Experiment::parse(&grid(cells), Path::new("<bench overhead grid>"))
        .context("the built-in overhead grid")?;
    let temporary;
    let dir = match store {
        Some(dir) => dir.to_path_buf(),
        None => {
            temporary = tempfile::Builder::new()
                .prefix("diffsweep-overhead-")
                .tempdir()
                .context("cannot create a temporary results directory")?;
            temporary.path().to_path_buf()
        }
    };
    if store.is_some() {
        let file = dir.with_extension("toml");
        std::fs::write(&file, grid(cells))
            .with_context(|| format!("cannot write {}", file.display()))?;
    }
    let runs = RunStore::open(&dir).context("cannot open the store")?;
    runs.write_sweep_index(&runner::SweepIndex::of(&experiment))
        .context("cannot write the sweep's index")?;
    costs::reset();
    let started = Instant::now();
    let report = Executor::new(jobs)
        .context("the executor")?
        .execute(&runs, experiment.cells(), &Silent)
        .with_context(|| format!("the overhead sweep failed in {}", dir.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    if let Some((cell, outcome)) = report.failures().first() {
        bail!(
            "run {} of the overhead sweep failed: {}",
            cell.label,
            outcome.error().unwrap_or("no message")
        );
    }
    let phases = Phase::ALL
        .iter()
        .map(|&phase| {
            let total = costs::total(phase);
            (phase, total.nanos as f64 * 1e-9, total.calls)
        })
        .collect();
    Ok(Overhead {
        cells: report.trained(),
        jobs,
        seconds,
        phases,
        store: dir,
        kept: store.is_some(),
    })
}

impl Overhead {
    /// The figures as a markdown table, per cell.
    pub fn markdown(&self) -> String {
        let per_cell = |seconds: f64| seconds / self.cells as f64 * 1e3;
        let worker_seconds = self.seconds * self.jobs as f64;
        let counted: f64 = self.phases.iter().map(|(_, s, _)| s).sum();
        let mut out = format!(
            "Sweep of {} tiny runs (1 epoch of 32 points, T = 10, 32 samples), `--jobs {}`, fresh store: {:.2} s, {:.3} ms per cell of wall time ({:.3} ms of worker time).\n\n\
             | phase | calls | ms per cell (worker time) | share |\n|---|---:|---:|---:|\n",
            self.cells,
            self.jobs,
            self.seconds,
            per_cell(self.seconds),
            per_cell(worker_seconds),
        );
        for (phase, seconds, calls) in &self.phases {
            out.push_str(&format!(
                "| {} | {calls} | {:.3} | {:.1}% |\n",
                phase.name(),
                per_cell(*seconds),
                seconds / worker_seconds * 100.0
            ));
        }
        let rest = (worker_seconds - counted).max(0.0);
        out.push_str(&format!(
            "| the rest (scheduling, cell bookkeeping, idle workers) | – | {:.3} | {:.1}% |\n",
            per_cell(rest),
            rest / worker_seconds * 100.0
        ));
        if self.kept {
            out.push_str(&format!(
                "\nStore kept in {}, its experiment file in {}.\n",
                self.store.display(),
                self.store.with_extension("toml").display()
            ));
        }
        out
    }
}
