//! Questions across the whole store (`diffsweep runs`): every stored run, whatever sweep
//! trained it, filtered by config values, status and sweep, as the same table as a
//! report's `runs.csv`.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::DataFrame;
use runner::{config_path, RunStore};

use crate::store::row_of;
use crate::sweep::{AxisValue, RunStatus, Sweep, SEED_AXIS};
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

/// The runs `query` selects, as a sweep whose axes are the config paths that differ among
/// them (the seed aside), sorted like a report's rows.
pub fn select(store: &RunStore, query: &RunQuery) -> Result<Sweep> {
    let store_err = |e: runner::Error| Error::Store(e.to_string());
    let ids = match &query.sweep {
        Some(name) => store
            .sweep_index(name)
            .map_err(store_err)?
            .cells
            .into_iter()
            .map(|c| c.run_id)
            .collect(),
        None => store.run_ids().map_err(store_err)?,
    };
    let mut selected = Vec::new();
    let mut seen = BTreeSet::new();
    for id in ids {
        if !seen.insert(id.clone()) {
            continue;
        }
        // A corrupt entry is no result to list (`diffsweep fsck` names it).
        let runner::Lookup::Stored(record) = store.lookup(&id).map_err(store_err)? else {
            continue;
        };
        let Ok(config) = store.config(&id) else {
            continue;
        };
        let json = serde_json::to_value(&config).expect("a config serializes");
        let matches = query
            .wheres
            .iter()
            .all(|(path, want)| config_path::get(&json, path).is_some_and(|have| same(have, want)));
        if matches {
            selected.push((id, record, config.seed, json));
        }
    }
    let paths: Vec<String> = config_path::leaf_paths()
        .into_iter()
        .filter(|p| p != SEED_AXIS)
        .filter(|p| {
            let mut values = selected
                .iter()
                .map(|(_, _, _, json)| config_path::get(json, p));
            let first = values.next().flatten();
            values.any(|v| match (v, first) {
                (Some(a), Some(b)) => !same(a, b),
                (a, b) => a.is_some() != b.is_some(),
            })
        })
        .collect();
    let rows = selected
        .into_iter()
        .map(|(id, record, seed, json)| {
            let axes: BTreeMap<String, AxisValue> = paths
                .iter()
                .filter_map(|p| {
                    config_path::get(&json, p).map(|v| (p.clone(), AxisValue::from_json(v)))
                })
                .collect();
            row_of(id.as_str(), axes, seed, *record)
        })
        .filter(|row| query.status.is_none_or(|s| row.status == s))
        .collect();
    Ok(Sweep::new("runs", "", &paths, rows))
}

/// The selected runs as a table with the columns of `runs.csv`.
pub fn table(store: &RunStore, query: &RunQuery) -> Result<DataFrame> {
    crate::aggregate::runs_frame(&select(store, query)?)
}
