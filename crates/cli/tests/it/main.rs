//! The `diffsweep` binary end to end.

use std::process::Command;

mod bench;
mod faults;
mod limits;
mod mutations;
mod pipes;
mod slurm;
mod sweep;
mod train;

/// Runs the binary with `args`: its exit code, standard output and standard error.
fn diffsweep(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_diffsweep"))
        .args(args)
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
