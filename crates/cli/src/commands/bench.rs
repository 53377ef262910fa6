//! `diffsweep bench`: runs the benchmark binary, `diffsweep-bench`, from this binary's own
//! folder with the flags given. The benchmark's code stays out of `diffsweep` (it carries
//! the dfdx autodiff path and the PyTorch driver); this command is where a user who types
//! `diffsweep bench` finds it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::Context;

/// Arguments of `diffsweep bench`: every flag goes to `diffsweep-bench` unchanged.
#[derive(clap::Args, Debug)]
#[command(disable_help_flag = true)]
pub struct BenchArgs {
    /// The benchmark's flags (`diffsweep bench --help` lists them): --quick, --no-pytorch,
    /// --python PATH, --json, --overhead N [--jobs N] [--keep DIR].
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<OsString>,
}

/// The benchmark binary's name beside this one.
const BENCH: &str = "diffsweep-bench";

/// Runs `diffsweep-bench` with the given flags and returns its exit status. It measures
/// the code it was built from: after a change, `cargo build --bin diffsweep-bench` (what
/// `just bench` does) before this.
pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let me = std::env::current_exe().context("cannot find this program's own path")?;
    let bench = beside(&me);
    if !bench.is_file() {
        anyhow::bail!(
            "{} is not built beside this binary (no {}); build it with `cargo build --bin {BENCH}` \
             (or run `just bench`, which builds both)",
            BENCH,
            bench.display()
        );
    }
    let status = Command::new(&bench)
        .args(&args.args)
        .status()
        .with_context(|| format!("cannot run {}", bench.display()))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        // Ended by a signal: a failure.
        None => ExitCode::FAILURE,
    })
}

/// `diffsweep-bench` in the folder of `me` (with `.exe` where `me` has it).
fn beside(me: &Path) -> PathBuf {
    let name = match me.extension() {
        Some(ext) => format!("{BENCH}.{}", ext.to_string_lossy()),
        None => BENCH.to_string(),
    };
    me.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bench_is_looked_for_beside_this_binary() {
        assert_eq!(
            beside(Path::new("/x/target/debug/diffsweep")),
            PathBuf::from("/x/target/debug/diffsweep-bench")
        );
        assert_eq!(
            beside(Path::new("C:/t/diffsweep.exe")),
            PathBuf::from("C:/t/diffsweep-bench.exe")
        );
    }
}
