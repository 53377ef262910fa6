//! A reader that leaves early (`diffsweep plan FILE | head`) ends the command quietly:
//! status 0, no panic, no error on stderr.

use std::{
    io::Read,
    process::{Command, Stdio},
};

/// Runs `diffsweep args` with stdout a pipe whose reader keeps the first `keep` bytes and
/// then closes it; returns the exit code, the bytes read and stderr.
fn with_reader_leaving_after(args: &[&str], keep: usize) -> (Option<i32>, Vec<u8>, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_diffsweep"))
        .args(args)
        .args(["--results", dir.path().join("results").to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut head = vec![0u8; keep];
    let mut stdout = child.stdout.take().unwrap();
    stdout.read_exact(&mut head).expect("the command writes");
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    (status.code(), head, stderr)
}

#[test]
fn plan_into_a_pipe_closed_early_ends_quietly() {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../../experiments/quick.toml");
    // 16,000 cells, about a megabyte of table: far more than a pipe holds.
    let (code, head, stderr) =
        with_reader_leaving_after(&["plan", file, "--set", "seeds=2000"], 100);
    assert!(String::from_utf8_lossy(&head).starts_with("experiment quick"));
    assert_eq!(code, Some(0), "stderr: {stderr}");
    assert!(stderr.is_empty(), "stderr: {stderr}");
}
