//! `diffsweep verify`: retrains runs of an experiment into a temporary store and checks
//! that today's code reproduces them bit for bit: against the stored runs, or, where the
//! store has none, against the committed `reports/<name>/runs.csv`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use runner::words::counted;
use runner::{Cell, Executor, Record, RunStore, Silent};

use crate::args::{jobs_or_cores, load_experiment, StoreArgs};
use crate::bad_input::BadInput;

/// Arguments of `diffsweep verify`.
#[derive(clap::Args, Debug)]
#[command(mut_arg("results", |results| results.help("The store holding the runs to check against")))]
pub struct VerifyArgs {
    /// The experiment file whose runs to retrain.
    file: PathBuf,
    /// Retrain this many runs, drawn at random (all when absent or larger).
    #[arg(long, value_name = "K")]
    sample: Option<usize>,
    /// The seed of the random draw (printed, so a check can be repeated) [default: from
    /// the clock].
    #[arg(long, value_name = "SEED")]
    seed: Option<u64>,
    #[command(flatten)]
    store: StoreArgs,
    /// The committed report to check against where the store has no run [default:
    /// reports/<experiment name>].
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Runs retrained at once [default: all cores].
    #[arg(long, short, value_name = "N")]
    jobs: Option<usize>,
}

/// The numbers a retrained run must reproduce, by column of `runs.csv`.
const NUMBERS: [&str; 4] = ["chamfer", "sliced_wasserstein", "mmd", "final_loss"];

/// `record`'s value of a `runs.csv` number column.
fn number(record: &Record, column: &str) -> Option<f64> {
    match column {
        "final_loss" => record.final_loss,
        metric => record.metrics.as_ref().and_then(|m| m.get(metric)),
    }
}

/// The rows of a committed `runs.csv`, by run id: column name to text.
fn committed_rows(path: &Path) -> anyhow::Result<HashMap<String, HashMap<String, String>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let mut rows = HashMap::new();
    for line in lines {
        // Axis values never hold commas (they are numbers and enum names).
        let fields: HashMap<String, String> = header
            .iter()
            .zip(line.split(','))
            .map(|(h, f)| (h.to_string(), f.to_string()))
            .collect();
        if let Some(id) = fields.get("run_id").cloned() {
            rows.insert(id, fields);
        }
    }
    Ok(rows)
}

/// Draws `k` of `n` indices with a small xorshift generator seeded by `seed`.
fn draw(n: usize, k: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = seed | 1;
    for i in (1..n).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    order.truncate(k);
    order.sort_unstable();
    order
}

/// Runs `diffsweep verify`.
pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let experiment = load_experiment(&args.file, &[])?;
    let jobs = jobs_or_cores(args.jobs)?;
    let store = args.store.open()?;
    let cells = experiment.cells();
    let k = args.sample.unwrap_or(cells.len()).min(cells.len());
    if k == 0 {
        return Err(anyhow::Error::new(BadInput(format!(
            "invalid value 0 for `--sample`: expected an integer of at least 1 (any number above the {} runs of `{}` verifies them all)",
            cells.len(),
            experiment.name
        ))));
    }
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let chosen: Vec<Cell> = draw(cells.len(), k, seed)
        .into_iter()
        .map(|i| cells[i].clone())
        .collect();
    outln!(
        "verifying {k} of {} of `{}` (--seed {seed}), retrained into a temporary store",
        counted(cells.len(), "run", "runs"),
        experiment.name
    );

    let report_dir = args
        .report
        .unwrap_or_else(|| PathBuf::from("reports").join(&experiment.name));
    let committed = committed_rows(&report_dir.join("runs.csv")).ok();

    let scratch = tempfile::Builder::new()
        .prefix("diffsweep-verify-")
        .tempdir()
        .context("cannot create a temporary store")?;
    let fresh = RunStore::open(scratch.path()).context("cannot open the temporary store")?;
    Executor::new(jobs)
        .context("the executor")?
        .execute(&fresh, &chosen, &Silent)
        .context("the retraining failed")?;

    let mut mismatches = 0;
    for cell in &chosen {
        let new = fresh
            .record(&cell.id)?
            .context("a retrained run has no record")?;
        let mut problems = Vec::new();
        let stored = match store.lookup(&cell.id)? {
            // Its hashes are compared only once its files are known to have them.
            runner::Lookup::Stored(old) => match store.check_every_artifact(&cell.id, &old) {
                Ok(()) => Some(*old),
                Err(err) => {
                    problems.push(format!("a stored file is corrupt: {err}"));
                    None
                }
            },
            runner::Lookup::Absent => None,
            // A stored record that does not check is itself a finding.
            runner::Lookup::Corrupt(reason) => {
                problems.push(format!("the stored record is corrupt: {reason}"));
                None
            }
        };
        let against = if let Some(old) = stored {
            for column in NUMBERS {
                let (a, b) = (number(&old, column), number(&new, column));
                if a.map(f64::to_bits) != b.map(f64::to_bits) {
                    problems.push(format!("{column}: stored {a:?}, retrained {b:?}"));
                }
            }
            for (name, hash) in &old.artifacts {
                if new.artifacts.get(name) != Some(hash) {
                    problems.push(format!("{name}: sha256 differs"));
                }
            }
            "the stored run"
        } else if let Some(row) = committed
            .as_ref()
            .and_then(|rows| rows.get(cell.id.as_str()))
        {
            // The report writes a failed run's metrics (non-finite samples) as empty cells.
            // Records come back normalized: a non-finite run says `non_finite`, as the report.
            let status = new.status.as_str();
            if row.get("status").map(String::as_str) != Some(status) {
                problems.push(format!(
                    "status: committed {:?}, retrained {status}",
                    row.get("status")
                ));
            }
            for column in NUMBERS {
                let committed: Option<f64> = row.get(column).and_then(|t| t.parse().ok());
                let b = number(&new, column).filter(|v| v.is_finite());
                if committed.map(f64::to_bits) != b.map(f64::to_bits) {
                    problems.push(format!(
                        "{column}: committed {committed:?}, retrained {b:?}"
                    ));
                }
            }
            "the committed runs.csv"
        } else {
            problems.push(format!(
                "nothing to compare with: no stored run in {} and no row in {}",
                args.store.results.display(),
                report_dir.join("runs.csv").display()
            ));
            "nothing"
        };
        if problems.is_empty() {
            outln!(
                "  match     {}  {} (against {against})",
                &cell.id.as_str()[..12],
                cell.label
            );
        } else {
            mismatches += 1;
            outln!(
                "  MISMATCH  {}  {} (against {against})",
                &cell.id.as_str()[..12],
                cell.label
            );
            for p in problems {
                outln!("            {p}");
            }
        }
    }
    if mismatches == 0 {
        match k {
            1 => outln!("the 1 run reproduced bit for bit"),
            _ => outln!("all {k} runs reproduced bit for bit"),
        }
        Ok(ExitCode::SUCCESS)
    } else {
        outln!(
            "{mismatches} of {} did not reproduce",
            counted(k, "run", "runs")
        );
        Ok(ExitCode::FAILURE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_distinct_sorted_and_repeatable() {
        let a = draw(120, 3, 42);
        assert_eq!(a, draw(120, 3, 42));
        assert_eq!(a.len(), 3);
        assert!(a.windows(2).all(|w| w[0] < w[1]) && a.iter().all(|&i| i < 120));
        assert_eq!(draw(5, 5, 7), vec![0, 1, 2, 3, 4]);
    }
}
