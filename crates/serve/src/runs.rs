//! Runs across the store: the query of `/runs` and `/api/runs` (`where`, `status`,
//! `sweep`, as `diffsweep runs` takes them), the run list as JSON or as a page, and one
//! run's samples, training data, loss curve, config and record.

use reporter::html::inline::{round, thin_indices, DATA_POINTS, LOSS_POINTS};
use reporter::query::RunQuery;
use reporter::RunStatus;
use runner::{RunId, RunStore};
use serde_json::{json, Value};

use std::sync::Arc;

use reporter::query::StoredRun;

use crate::cache::Cache;
use crate::error::{HttpError, HttpResult};

/// Where a served page fetches a run (`{id}` is replaced by the run's id).
pub const RUN_URL: &str = "/api/runs/{id}";

/// `PATH=VALUE` as `diffsweep runs --where` reads it: a config path and a value of the
/// type it holds (`10`, `0.5`, `true`, or a string such as `minmax`).
pub fn condition(text: &str) -> HttpResult<(String, Value)> {
    runner::config_path::condition(text)
        .map_err(|why| HttpError::BadRequest(format!("invalid where `{text}`: {why}")))
}

/// The query of a request's query string: `where` (repeatable), `status`, `sweep`.
pub fn parse_query(raw: Option<&str>) -> HttpResult<RunQuery> {
    let mut query = RunQuery::default();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if value.is_empty() {
            continue;
        }
        match key.as_ref() {
            "where" => query.wheres.push(condition(&value)?),
            "status" => {
                let status = value.replace('-', "_");
                query.status = Some(RunStatus::parse(&status).map_err(|e| {
                    HttpError::BadRequest(format!("invalid status `{value}`: {e}"))
                })?);
            }
            "sweep" => query.sweep = Some(value.into_owned()),
            other => {
                return Err(HttpError::BadRequest(format!(
                    "unknown parameter `{other}`: expected where, status or sweep"
                )))
            }
        }
    }
    Ok(query)
}

/// A sweep named in a query must be one of the store's.
fn check_sweep(store: &RunStore, query: &RunQuery) -> HttpResult<()> {
    if let Some(name) = &query.sweep {
        if !crate::cache::names(store)?.iter().any(|n| n == name) {
            return Err(HttpError::NotFound(format!(
                "no sweep `{name}` in this store"
            )));
        }
    }
    Ok(())
}

/// The runs `query` looks at, read through the cache, with a fingerprint of their
/// records' stamps (it changes when any of them is stored or replaced).
fn gather(
    cache: &Cache,
    store: &RunStore,
    query: &RunQuery,
) -> HttpResult<(u64, Vec<Arc<StoredRun>>)> {
    use std::hash::{Hash, Hasher};
    check_sweep(store, query)?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let mut seen = std::collections::HashSet::new();
    let mut runs = Vec::new();
    for id in reporter::query::candidates(store, query)? {
        if seen.insert(id.clone()) {
            let (stamp, run) = cache.stored_run(store, &id)?;
            (id.as_str(), stamp).hash(&mut hasher);
            runs.extend(run);
        }
    }
    Ok((hasher.finish(), runs))
}

/// `build` answers `query` from the runs it selects, unless the same query of the same
/// runs was answered before.
fn answer(
    cache: &Cache,
    store: &RunStore,
    query: &RunQuery,
    kind: &str,
    build: impl FnOnce(reporter::Sweep) -> HttpResult<Vec<u8>>,
) -> HttpResult<Arc<Vec<u8>>> {
    let (fingerprint, runs) = gather(cache, store, query)?;
    let key = format!("{kind} {query:?}");
    if let Some(bytes) = cache.answer(&key, fingerprint) {
        return Ok(bytes);
    }
    let sweep = reporter::query::select_from(runs.iter().map(|run| run.as_ref()), query);
    let bytes = Arc::new(build(sweep)?);
    cache.keep_answer(&key, fingerprint, bytes.clone());
    Ok(bytes)
}

/// The runs `query` selects as JSON, with the columns of `runs.csv` (what
/// `diffsweep runs --format json` prints).
pub fn list_json(cache: &Cache, store: &RunStore, query: &RunQuery) -> HttpResult<Arc<Vec<u8>>> {
    use reporter::export::Exporter;
    answer(cache, store, query, "json", |sweep| {
        let table = reporter::aggregate::runs_frame(&sweep)?;
        reporter::export::JsonExporter
            .serialize(&table)
            .map_err(HttpError::from)
    })
}

/// The runs `query` selects as a report page that carries no artifacts (each run's are
/// fetched when it is opened), opening on its run table.
pub fn list_page(cache: &Cache, store: &RunStore, query: &RunQuery) -> HttpResult<Arc<Vec<u8>>> {
    answer(cache, store, query, "page", |sweep| {
        if sweep.rows.is_empty() {
            return Ok(
                crate::pages::message("No runs", "No stored run matches this query.").into_bytes(),
            );
        }
        let input = reporter::ReportInput {
            sweep,
            questions: Vec::new(),
            featured: None,
            correction: reporter::compare::Correction::None,
            pending_cells: 0,
            corrupt: Vec::new(),
        };
        let options = reporter::html::PageOptions {
            run_url: Some(RUN_URL.to_string()),
            light: true,
            start_view: Some("explore".to_string()),
        };
        Ok(reporter::html::build(&input, store, &options)?.into_bytes())
    })
}

fn run_id(text: &str) -> HttpResult<RunId> {
    RunId::parse(text).ok_or_else(|| {
        HttpError::BadRequest(format!("`{text}` is not a run id (64 hexadecimal digits)"))
    })
}

fn points(all: &[[f64; 2]], limit: usize, digits: i32) -> Vec<[f64; 2]> {
    thin_indices(all.len(), limit)
        .into_iter()
        .map(|i| all[i])
        .filter(|p| p[0].is_finite() && p[1].is_finite())
        .map(|p| [round(p[0], digits), round(p[1], digits)])
        .collect()
}

/// Run `id`'s samples (all of them) with its training data; with `everything`, also its
/// loss curve, config (flattened to dotted paths) and record.
pub fn run_json(store: &RunStore, id: &str, everything: bool) -> HttpResult<Value> {
    let id = run_id(id)?;
    // Checked whole, as every reader of the store: a corrupt run is an error, never an
    // empty answer.
    let record = match store.lookup(&id)? {
        runner::Lookup::Stored(record) => *record,
        runner::Lookup::Absent => {
            return Err(HttpError::NotFound(format!("no run {id} in this store")))
        }
        runner::Lookup::Corrupt(reason) => {
            return Err(HttpError::Internal(format!(
                "run {} is corrupt: {reason} (`diffsweep fsck` checks the store)",
                id.short()
            )))
        }
    };
    let corrupt = |err: runner::Error| HttpError::Internal(err.to_string());
    // A failed run has no samples (nor loss curve); what a record lists must read back.
    let listed = |file: &str| record.artifacts.contains_key(file);
    let samples = if listed("samples.csv") {
        store.samples(&id).map_err(corrupt)?
    } else {
        Vec::new()
    };
    let config = Some(store.config(&id).map_err(corrupt)?);
    let data = config
        .as_ref()
        .map(|c| points(&ddpm::training_data(c), DATA_POINTS, 3))
        .unwrap_or_default();
    let mut answer = json!({
        "id": id.as_str(),
        "status": record.status.as_str(),
        "total": samples.len(),
        "samples": points(&samples, usize::MAX, 4),
        "data": data,
    });
    if everything {
        let curve = if listed("loss.csv") {
            store.loss_curve(&id).map_err(corrupt)?
        } else {
            Vec::new()
        };
        let finite: Vec<(usize, f64)> = curve.into_iter().filter(|(_, l)| l.is_finite()).collect();
        let loss: Vec<[f64; 2]> = thin_indices(finite.len(), LOSS_POINTS)
            .into_iter()
            .map(|i| [finite[i].0 as f64, finite[i].1])
            .collect();
        answer["loss"] = json!(loss);
        answer["config"] = config
            .and_then(|c| serde_json::to_value(c).ok())
            .map(|c| json!(reporter::html::model::flatten(&c)))
            .unwrap_or(Value::Null);
        answer["record"] = serde_json::to_value(&record).unwrap_or(Value::Null);
    }
    Ok(answer)
}
