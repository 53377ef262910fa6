//! `diffsweep show`: one stored run, its record and its canonical config.

use std::process::ExitCode;

use anyhow::Context;

use crate::args::StoreArgs;
use crate::bad_input::{classify, BadInput};

/// Arguments of `diffsweep show`.
#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    /// A run id, or a prefix of at least 4 of its hex digits.
    run_id: String,
    #[command(flatten)]
    store: StoreArgs,
}

/// Prints one stored run: its record and its config.
pub fn run(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let store = args.store.open()?;
    let id = store.resolve(&args.run_id).map_err(classify)?;
    // Checked whole, as every reader: a run with a damaged file is corrupt, not shown.
    let record = match store
        .lookup(&id)
        .with_context(|| format!("cannot read the record of run {id}"))?
    {
        runner::Lookup::Stored(record) => *record,
        runner::Lookup::Absent => {
            return Err(anyhow::Error::new(BadInput(format!(
                "run {id} has no record"
            ))))
        }
        runner::Lookup::Corrupt(reason) => anyhow::bail!(
            "run {id} is corrupt: {reason} (`diffsweep fsck --repair` sets it aside, the next \
             sweep runs it again)"
        ),
    };
    let config = store
        .config(&id)
        .with_context(|| format!("cannot read the config of run {id}"))?;
    let dir = store.run_dir(&id);
    outln!("run {id}: {}", record.status.as_str());
    outln!("directory: {}", dir.display());
    outln!();
    outln!("# record.json");
    outln!(
        "{}",
        serde_json::to_string_pretty(&record).context("cannot format the record")?
    );
    outln!();
    outln!("# config.toml (canonical: parameters the schedule ignores are reset)");
    out!(
        "{}",
        toml::to_string(&config).context("cannot format the config")?
    );
    Ok(ExitCode::SUCCESS)
}
