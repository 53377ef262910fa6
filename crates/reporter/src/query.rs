//! Questions across the whole store (`diffsweep runs`): every stored run, whatever sweep
//! trained it, filtered by config values, status and sweep, as the same table as a
//! report's `runs.csv`.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::DataFrame;
use runner::{config_path, RunStore};

use crate::from_store::row_of;
use crate::sweep::{AxisValue, RunRow, RunStatus, Sweep, SEED_AXIS};
use crate::{Error, Result};

/// Which runs to list.
#[derive(Clone, Debug, Default)]
pub struct RunQuery {
    /// `(config path, value)`: a run is listed when its config has every value.
    pub wheres: Vec<(String, serde_json::Value)>,
    /// Only runs with this status.
    pub status: Option<RunStatus>,
    /// Only runs of this sweep's index.
    pub sweep: Option<String>,
}

/// Whether two config values are the same (`10` and `10.0` alike).
fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// A stored run as a query reads it: its id, record, seed and config (as JSON).
#[derive(Clone, Debug)]
pub struct StoredRun {
    /// The run's id.
    pub id: runner::RunId,
    /// Its record.
    pub record: runner::Record,
    /// Its config's seed.
    pub seed: u64,
    /// Its config, serialized.
    pub config: serde_json::Value,
}

/// The ids `query` looks at: its sweep's cells, or every stored run.
pub fn candidates(store: &RunStore, query: &RunQuery) -> Result<Vec<runner::RunId>> {
    let store_err = |e: runner::Error| Error::Store(e.to_string());
    match &query.sweep {
        Some(name) => Ok(store
            .sweep_index(name)
            .map_err(store_err)?
            .cells
            .into_iter()
            .map(|c| c.run_id)
            .collect()),
        None => store.run_ids().map_err(store_err),
    }
}

/// Reads run `id` for a query: `None` when it is absent, corrupt (`diffsweep fsck` names
/// it) or its config cannot be read.
pub fn read(store: &RunStore, id: &runner::RunId) -> Result<Option<StoredRun>> {
    Ok(read_or_why(store, id)?.ok())
}

/// [`read`], with why a stored run cannot be used (`Err` inside) instead of `None`; an
/// absent run is `Ok(Err(None))`.
fn read_or_why(
    store: &RunStore,
    id: &runner::RunId,
) -> Result<std::result::Result<StoredRun, Option<String>>> {
    let store_err = |e: runner::Error| Error::Store(e.to_string());
    let record = match store.lookup(id).map_err(store_err)? {
        runner::Lookup::Stored(record) => record,
        runner::Lookup::Absent => return Ok(Err(None)),
        runner::Lookup::Corrupt(reason) => return Ok(Err(Some(reason))),
    };
    let config = match store.config(id) {
        Ok(config) => config,
        Err(err) => return Ok(Err(Some(err.to_string()))),
    };
    Ok(Ok(StoredRun {
        id: id.clone(),
        record: *record,
        seed: config.seed,
        config: serde_json::to_value(&config).expect("a config serializes"),
    }))
}

/// The runs `query` selects, as a sweep whose axes are the config paths its conditions
/// name and those that differ among the selected runs (the seed aside), sorted like a
/// report's rows.
pub fn select(store: &RunStore, query: &RunQuery) -> Result<Sweep> {
    Ok(select_noting(store, query)?.0)
}

/// [`select`], and the stored runs it left out because they are corrupt: each as
/// `(id, reason)`.
pub fn select_noting(
    store: &RunStore,
    query: &RunQuery,
) -> Result<(Sweep, Vec<(runner::RunId, String)>)> {
    let mut runs = Vec::new();
    let mut left_out = Vec::new();
    let mut seen = BTreeSet::new();
    for id in candidates(store, query)? {
        if !seen.insert(id.clone()) {
            continue;
        }
        match read_or_why(store, &id)? {
            Ok(run) => runs.push(run),
            Err(Some(reason)) => left_out.push((id, reason)),
            Err(None) => {}
        }
    }
    Ok((select_from(&runs, query), left_out))
}

/// [`select`] over runs already read ([`candidates`] through [`read`], in that order and
/// without repeats): `diffsweep serve` keeps them between requests.
pub fn select_from<'a>(runs: impl IntoIterator<Item = &'a StoredRun>, query: &RunQuery) -> Sweep {
    // The conditions and the status first, so the columns are those of the runs listed.
    let selected: Vec<(&StoredRun, RunRow)> = runs
        .into_iter()
        .filter(|run| {
            query.wheres.iter().all(|(path, want)| {
                config_path::get(&run.config, path).is_some_and(|have| same(have, want))
            })
        })
        .map(|run| {
            let row = row_of(
                run.id.as_str(),
                BTreeMap::new(),
                run.seed,
                run.record.clone(),
            );
            (run, row)
        })
        .filter(|(_, row)| query.status.is_none_or(|s| row.status == s))
        .collect();
    let paths: Vec<String> = config_path::leaf_paths()
        .into_iter()
        .filter(|p| p != SEED_AXIS)
        .filter(|p| {
            // A script that joins the answers of several queries needs what each one
            // fixed, so a path a condition names is a column even where it is constant.
            if query.wheres.iter().any(|(path, _)| path == p) {
                return true;
            }
            let mut values = selected
                .iter()
                .map(|(run, _)| config_path::get(&run.config, p));
            let first = values.next().flatten();
            values.any(|v| match (v, first) {
                (Some(a), Some(b)) => !same(a, b),
                (a, b) => a.is_some() != b.is_some(),
            })
        })
        .collect();
    let rows = selected
        .into_iter()
        .map(|(run, mut row)| {
            row.axes = paths
                .iter()
                .filter_map(|p| {
                    config_path::get(&run.config, p).map(|v| (p.clone(), AxisValue::from_json(v)))
                })
                .collect();
            row
        })
        .collect();
    Sweep::new("runs", "", &paths, rows)
}

/// The selected runs as a table with the columns of `runs.csv`.
pub fn table(store: &RunStore, query: &RunQuery) -> Result<DataFrame> {
    Ok(table_noting(store, query)?.0)
}

/// [`table`], and the corrupt runs it left out, as [`select_noting`] names them.
pub fn table_noting(
    store: &RunStore,
    query: &RunQuery,
) -> Result<(DataFrame, Vec<(runner::RunId, String)>)> {
    let (sweep, left_out) = select_noting(store, query)?;
    Ok((crate::aggregate::runs_frame(&sweep)?, left_out))
}
