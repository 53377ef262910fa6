//! The `diffsweep-bench` binary end to end: its flags, and the child it measures memory in.

use std::process::Command;

/// Runs the binary with `args`: its exit code, standard output and standard error.
fn bench(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_diffsweep-bench"))
        .args(args)
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_help_lists_the_flags_of_the_old_bench_command() {
    let (code, stdout, _) = bench(&["--help"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with(
        "Measure training, sampling, metric, sweep and memory figures of this machine"
    ));
    assert!(stdout.contains("Usage: diffsweep-bench [OPTIONS]"));
    for flag in [
        "--quick",
        "--no-sweep",
        "--no-pytorch",
        "--python <PATH>",
        "--json",
    ] {
        assert!(stdout.contains(flag), "{flag} missing from:\n{stdout}");
    }
    // The memory probe is internal.
    assert!(!stdout.contains("--rss-probe"));
}

#[test]
fn an_unknown_flag_is_refused_with_clap_usage_code() {
    let (code, _, stderr) = bench(&["--quik"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("unexpected argument '--quik'"), "{stderr}");
}

/// Where cargo built the shipped binary beside this one, the probe measures a run of it;
/// where it did not (`cargo test -p bench` alone), it says how to build it.
#[test]
fn the_memory_probe_prints_the_peak_rss_of_a_diffsweep_train_run() {
    let beside = std::path::Path::new(env!("CARGO_BIN_EXE_diffsweep-bench"))
        .with_file_name(format!("diffsweep{}", std::env::consts::EXE_SUFFIX));
    let (code, stdout, stderr) = bench(&["--rss-probe"]);
    if beside.is_file() {
        assert_eq!(code, 0, "{stderr}");
        let kb: u64 = stdout.trim().parse().expect("a number of kB");
        assert!(kb > 1000, "{kb} kB");
    } else {
        assert_eq!(code, 1);
        assert!(stderr.contains("cargo build --bin diffsweep"), "{stderr}");
    }
}
