//! `diffsweep runs`: the store's runs across every sweep, filtered, as a table, CSV or
//! JSON with the columns of a report's `runs.csv`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use reporter::export::{CsvExporter, Exporter, JsonExporter};
use reporter::query::RunQuery;
use reporter::RunStatus;

use runner::words::counted;

use crate::args::StoreArgs;
use crate::bad_input::BadInput;

/// Output formats of `diffsweep runs`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Format {
    /// Aligned columns for the terminal.
    Table,
    /// Comma-separated values with a header (what `runs.csv` holds).
    Csv,
    /// An array of objects, one per run.
    Json,
}

/// Statuses to filter on.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum StatusArg {
    /// Trained, sampled and scored.
    Completed,
    /// The training loss became non-finite.
    Diverged,
    /// Trained, but its samples were not finite (spelled as the store and the tables
    /// spell it; `non-finite` is accepted too).
    #[value(name = "non_finite", alias = "non-finite")]
    NonFinite,
    /// An error stopped the run.
    Failed,
}

/// Arguments of `diffsweep runs`.
#[derive(clap::Args, Debug)]
pub struct RunsArgs {
    /// Only runs whose config has this value at this path, e.g. `--where T=10 --where
    /// scaling=minmax`; repeatable. The columns are these paths and the config paths
    /// that differ among the listed runs.
    #[arg(long = "where", value_name = "PATH=VALUE")]
    wheres: Vec<String>,
    /// Only runs with this status.
    #[arg(long, value_enum)]
    status: Option<StatusArg>,
    /// Only the runs of this sweep (its name, as in results/sweeps/<name>.json).
    #[arg(long, value_name = "NAME")]
    sweep: Option<String>,
    /// How to print them.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    #[command(flatten)]
    store: StoreArgs,
}

/// `PATH=VALUE`, checked against the config's paths and the value's type.
fn condition(text: &str) -> anyhow::Result<(String, serde_json::Value)> {
    runner::config_path::condition(text)
        .map_err(|why| anyhow::Error::new(BadInput(format!("invalid --where `{text}`: {why}"))))
}

/// Runs `diffsweep runs`.
pub fn run(args: RunsArgs) -> anyhow::Result<ExitCode> {
    let wheres = args
        .wheres
        .iter()
        .map(|w| condition(w))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let store = args.store.open_existing()?;
    if let Some(name) = &args.sweep {
        store
            .sweep_index(name)
            .map_err(|err| anyhow::Error::new(BadInput(err.to_string())))?;
    }
    let query = RunQuery {
        wheres,
        status: args.status.map(|s| match s {
            StatusArg::Completed => RunStatus::Completed,
            StatusArg::Diverged => RunStatus::Diverged,
            StatusArg::NonFinite => RunStatus::NonFinite,
            StatusArg::Failed => RunStatus::Failed,
        }),
        sweep: args.sweep,
    };
    let (table, left_out) =
        reporter::query::table_noting(&store, &query).context("cannot list the runs")?;
    // On stderr, so the CSV and JSON on stdout stay machine-readable.
    if !left_out.is_empty() {
        eprintln!(
            "note: {} left out as corrupt (`diffsweep fsck` checks the store, `fsck --repair` \
             sets them aside, a sweep runs them again):",
            counted(left_out.len(), "stored run", "stored runs")
        );
        for (id, reason) in left_out.iter().take(10) {
            eprintln!("  {}  {reason}", id.short());
        }
        if left_out.len() > 10 {
            eprintln!("  ... and {} more", left_out.len() - 10);
        }
    }
    let mut stdout = std::io::stdout().lock();
    match args.format {
        Format::Csv => stdout.write_all(&CsvExporter.serialize(&table)?)?,
        Format::Json => stdout.write_all(&JsonExporter.serialize(&table)?)?,
        Format::Table => {
            let columns = table.get_columns();
            let cells: Vec<Vec<String>> = columns
                .iter()
                .map(|c| {
                    let mut cells = vec![c.name().to_string()];
                    cells.extend((0..table.height()).map(|row| {
                        let value = c.get(row).map(reporter::export::json_value);
                        match value {
                            Ok(serde_json::Value::String(s)) if c.name().as_str() == "run_id" => {
                                s.chars().take(12).collect()
                            }
                            Ok(serde_json::Value::String(s)) => s,
                            Ok(serde_json::Value::Number(n)) => match n.as_f64() {
                                Some(f) if n.is_f64() => format!("{f:.4}"),
                                _ => n.to_string(),
                            },
                            Ok(serde_json::Value::Null) => String::new(),
                            Ok(other) => other.to_string(),
                            Err(_) => String::new(),
                        }
                    }));
                    cells
                })
                .collect();
            let widths: Vec<usize> = cells
                .iter()
                .map(|col| col.iter().map(|c| c.chars().count()).max().unwrap_or(0))
                .collect();
            for row in 0..=table.height() {
                let line: Vec<String> = cells
                    .iter()
                    .zip(&widths)
                    .map(|(col, w)| format!("{:<w$}", col[row], w = *w))
                    .collect();
                writeln!(stdout, "{}", line.join("  ").trim_end())?;
            }
            let count = runner::words::counted(table.height(), "run", "runs");
            writeln!(stdout, "{count}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
