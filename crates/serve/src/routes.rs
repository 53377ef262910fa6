//! The server's paths and their handlers: each handler reads the store on a blocking
//! thread (store reads are plain file IO) and answers HTML or JSON.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use runner::RunStore;
use serde_json::{json, Value};

use crate::cache::Cache;
use crate::error::{HttpError, HttpResult};

/// What every request shares: the store, the cell-state cache and built pages.
pub struct AppState {
    store: RunStore,
    cache: Cache,
    /// Experiment pages by name, with the fingerprint of the store they were built from.
    pages: Mutex<HashMap<String, (u64, Arc<String>)>>,
}

impl AppState {
    /// The state over `store`, with empty caches.
    pub fn new(store: RunStore) -> AppState {
        AppState {
            store,
            cache: Cache::default(),
            pages: Mutex::new(HashMap::new()),
        }
    }

    /// The page of experiment `name` as the store holds it now (built again only when a
    /// run of it was stored or replaced since the last build).
    pub fn experiment_page(&self, name: &str) -> HttpResult<Arc<String>> {
        let fingerprint = crate::experiments::fingerprint(&self.cache, &self.store, name)?;
        let pages = || self.pages.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((built, page)) = pages().get(name) {
            if *built == fingerprint {
                return Ok(page.clone());
            }
        }
        let index = self.cache.index(&self.store, name)?;
        let experiment = index.experiment().map_err(|e| {
            HttpError::Internal(format!(
                "the index of sweep `{name}` keeps an experiment that does not parse any more: {e}"
            ))
        })?;
        let input = reporter::from_store::load(&self.store, &experiment)?;
        let page = if input.sweep.rows.is_empty() {
            crate::pages::message(
                    &format!("{name}: no stored run yet"),
                    &match index.cells.len() {
                    1 => format!(
                        "The one cell of `{name}` has no stored run yet; this page shows the report once it has."
                    ),
                    n => format!(
                        "None of the {n} cells of `{name}` has a stored run yet; this page shows the report once one has."
                    ),
                },
                )
        } else {
            let options = reporter::html::PageOptions {
                run_url: Some(crate::runs::RUN_URL.to_string()),
                ..Default::default()
            };
            reporter::html::build(&input, &self.store, &options)?
        };
        let page = Arc::new(page);
        pages().insert(name.to_string(), (fingerprint, page.clone()));
        Ok(page)
    }
}

impl AppState {
    /// Reads every stored run into the cache, so the first run list is as quick as the
    /// next (run on a blocking thread when the server starts).
    pub fn warm(&self) {
        let Ok(ids) = self.store.run_ids() else {
            return;
        };
        for id in ids {
            let _ = self.cache.stored_run(&self.store, &id);
        }
    }
}

/// Runs `work` on a blocking thread.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> HttpResult<T> + Send + 'static,
) -> HttpResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| HttpError::Internal(format!("the request's worker stopped: {e}")))?
}

async fn index() -> Html<&'static str> {
    Html(crate::pages::EXPERIMENTS_PAGE)
}

async fn experiments(State(state): State<Arc<AppState>>) -> HttpResult<Json<Value>> {
    blocking(move || {
        let all = crate::experiments::all(&state.cache, &state.store)?;
        Ok(Json(json!({
            "store": state.store.root().display().to_string(),
            "experiments": all,
        })))
    })
    .await
}

async fn experiment(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> HttpResult<Response> {
    let page = blocking(move || state.experiment_page(&name)).await?;
    Ok(Html(page.as_str().to_owned()).into_response())
}

async fn runs_page(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
) -> HttpResult<Response> {
    let page = blocking(move || {
        let query = crate::runs::parse_query(raw.as_deref())?;
        crate::runs::list_page(&state.cache, &state.store, &query)
    })
    .await?;
    Ok((
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page.as_ref().clone(),
    )
        .into_response())
}

async fn runs_json(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
) -> HttpResult<Response> {
    let bytes = blocking(move || {
        let query = crate::runs::parse_query(raw.as_deref())?;
        crate::runs::list_json(&state.cache, &state.store, &query)
    })
    .await?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        bytes.as_ref().clone(),
    )
        .into_response())
}

async fn run(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> HttpResult<Json<Value>> {
    blocking(move || crate::runs::run_json(&state.store, &id, true).map(Json)).await
}

async fn samples(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> HttpResult<Json<Value>> {
    blocking(move || crate::runs::run_json(&state.store, &id, false).map(Json)).await
}

async fn not_found() -> HttpError {
    HttpError::NotFound("no such page: try / for the experiments".into())
}

/// Every path the server answers; anything else is 404, any method but GET 405.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/api/experiments", get(experiments))
        .route("/experiments/{name}", get(experiment))
        .route("/runs", get(runs_page))
        .route("/api/runs", get(runs_json))
        .route("/api/runs/{id}", get(run))
        .route("/api/runs/{id}/samples", get(samples))
        .fallback(not_found)
        .with_state(state)
}
