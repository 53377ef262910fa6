//! `diffsweep bench` runs the `diffsweep-bench` beside the binary with the flags given.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

/// A copy of the binary in a fresh folder, so what lies beside it is the test's choice.
fn binary_alone() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("diffsweep");
    std::fs::copy(env!("CARGO_BIN_EXE_diffsweep"), &copy).unwrap();
    (dir, copy)
}

fn run(binary: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(binary).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn without_the_bench_binary_it_says_how_to_build_it() {
    let (_dir, binary) = binary_alone();
    let (code, _, err) = run(&binary, &["bench", "--quick"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("diffsweep-bench is not built beside this binary"),
        "{err}"
    );
    assert!(err.contains("cargo build --bin diffsweep-bench"), "{err}");
}

#[test]
fn every_flag_goes_to_the_bench_and_its_exit_status_comes_back() {
    let (dir, binary) = binary_alone();
    let bench = dir.path().join("diffsweep-bench");
    let log = dir.path().join("args");
    std::fs::write(
        &bench,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\nexit 3\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&bench, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, _, err) = run(
        &binary,
        &["bench", "--quick", "--python", "/x/python", "--help"],
    );
    assert_eq!(code, 3, "{err}");
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "--quick\n--python\n/x/python\n--help\n"
    );
}
