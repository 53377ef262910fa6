//! `diffsweep serve`: a read-only web server over a store, for watching sweeps in a
//! browser (the `serve` crate does the serving).

use std::net::IpAddr;
use std::process::ExitCode;

use crate::args::StoreArgs;
use crate::bad_input::BadInput;

/// Serves the store's experiments (with counts that refresh while a sweep writes runs),
/// each experiment's interactive page built from the store as it is, and every run.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The address to listen on; 127.0.0.1 keeps the server to this machine (use
    /// 0.0.0.0 only on a network you trust: anyone who reaches it can read the store).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    host: IpAddr,
    /// The port to listen on (0 picks a free one, printed at the start).
    #[arg(long, value_name = "PORT", default_value_t = ::serve::DEFAULT_PORT)]
    port: u16,
}

/// Opens the store (a missing or bad `--results` is the user's mistake, exit 2), then serves until
/// the process is stopped.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    // Read-only: a missing store is not created but refused, like any bad flag.
    if !args.store.results.exists() {
        return Err(anyhow::Error::new(BadInput(format!(
            "--results {}: no store there to serve; name the folder `diffsweep sweep` writes to",
            args.store.results.display()
        ))));
    }
    args.store.open()?;
    ::serve::run(::serve::ServeOptions {
        results: args.store.results,
        host: args.host,
        port: args.port,
    })?;
    Ok(ExitCode::SUCCESS)
}
