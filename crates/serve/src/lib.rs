//! `diffsweep serve`: a read-only HTTP server over a results store.
//!
//! It answers four things, each read through the runner's [`runner::RunStore`] (so a
//! request never sees a half-written run: run directories are renamed into place whole):
//! - `/`: the experiments of the store (`sweeps/<name>.json`) with their done, failed and
//!   pending counts, which the page refreshes by polling `/api/experiments` while a sweep
//!   (local or on Slurm) writes runs;
//! - `/experiments/<name>`: the experiment's `index.html`, built from the store as it is
//!   now ([`reporter::html::build`]) from the experiment text its sweep index keeps;
//! - `/runs?where=PATH=VALUE&status=S&sweep=NAME`: every stored run across sweeps,
//!   filtered as `diffsweep runs --where` filters them, as a page (`/api/runs` as JSON);
//! - `/api/runs/<id>` and `/api/runs/<id>/samples`: a run's samples (and training data,
//!   loss curve, config and record) as JSON, on demand.
//!
//! [`routes`] maps paths to handlers, [`experiments`] counts each sweep's cells, [`runs`]
//! parses run queries and reads runs, [`cache`] keeps what was read under the size and
//! time of the file it came from (so polling and 10,000-run lists stay cheap), [`pages`]
//! holds the experiment list's page, and [`error`] turns failures into status codes. Nothing is written; paths come from the store's own
//! listings, never from the request, so nothing outside the store can be named.

pub mod cache;
pub mod error;
pub mod experiments;
pub mod pages;
pub mod routes;
pub mod runs;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

/// Where to serve which store.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The store's root directory (`--results`).
    pub results: PathBuf,
    /// The address to bind (`--host`), 127.0.0.1 unless asked otherwise.
    pub host: IpAddr,
    /// The port (`--port`); 0 picks a free one.
    pub port: u16,
}

/// The port `diffsweep serve` binds by default.
pub const DEFAULT_PORT: u16 = 8040;

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            results: PathBuf::from("results"),
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
        }
    }
}

/// A bound server, not yet answering: [`Server::run`] serves on this thread,
/// [`Server::spawn`] on a thread of its own.
pub struct Server {
    runtime: tokio::runtime::Runtime,
    listener: tokio::net::TcpListener,
    state: Arc<routes::AppState>,
}

impl Server {
    /// Opens the store and binds the address (with port 0, a free port: see
    /// [`Server::local_addr`]). A store root that is not a directory is an error.
    pub fn bind(options: &ServeOptions) -> anyhow::Result<Server> {
        let meta = std::fs::metadata(&options.results).with_context(|| {
            format!(
                "cannot read the results store {}",
                options.results.display()
            )
        })?;
        anyhow::ensure!(
            meta.is_dir(),
            "the results store {} is not a directory",
            options.results.display()
        );
        let store = runner::RunStore::open(&options.results)
            .with_context(|| format!("cannot open the store {}", options.results.display()))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_io()
            .enable_time()
            .thread_name("serve")
            .build()
            .context("cannot start the server's runtime")?;
        let address = SocketAddr::new(options.host, options.port);
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(address))
            .with_context(|| format!("cannot listen on {address}"))?;
        let state = Arc::new(routes::AppState::new(store));
        let warming = state.clone();
        runtime.spawn_blocking(move || warming.warm());
        Ok(Server {
            runtime,
            listener,
            state,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until the process ends.
    pub fn run(self) -> anyhow::Result<()> {
        let Server {
            runtime,
            listener,
            state,
        } = self;
        runtime
            .block_on(async move { axum::serve(listener, routes::router(state)).await })
            .context("the server stopped")
    }

    /// Serves on a thread of its own until the returned handle is dropped.
    pub fn spawn(self) -> RunningServer {
        let address = self.local_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let Server {
            runtime,
            listener,
            state,
        } = self;
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                // Stopping drops the server and every open connection (a browser's
                // keep-alive would hold a graceful shutdown open).
                tokio::select! {
                    _ = axum::serve(listener, routes::router(state)) => {}
                    _ = stopped => {}
                }
            });
            runtime.shutdown_timeout(std::time::Duration::from_secs(5));
        });
        RunningServer {
            address,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

/// A server answering on its own thread; dropping it stops the server.
pub struct RunningServer {
    address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.address
    }

    /// `http://<addr>`, for building URLs.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Serves `options.results` on `options.host:options.port` until the process ends,
/// printing the address first: what `diffsweep serve` runs.
pub fn run(options: ServeOptions) -> anyhow::Result<()> {
    let server = Server::bind(&options)?;
    println!(
        "serving {} on http://{} (read-only; Ctrl-C stops)",
        options.results.display(),
        server.local_addr()
    );
    server.run()
}
