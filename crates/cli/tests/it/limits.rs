//! Absurd sizes, overflowing numbers, endless files and bad paths: every one is refused
//! with exit code 2 and a message that names the key or flag and the limit, quickly, and
//! nothing is written to the store.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::diffsweep;

/// Runs `args` and checks the refusal: exit 2, every `needles` in stderr, under 5 s.
fn refused(args: &[&str], needles: &[&str]) {
    let started = Instant::now();
    let (code, stdout, stderr) = diffsweep(args);
    let took = started.elapsed();
    assert_eq!(code, 2, "{args:?}: {stderr}");
    assert!(stdout.is_empty(), "{args:?} printed {stdout}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{args:?}: `{needle}` not in {stderr}"
        );
    }
    assert!(took < Duration::from_secs(5), "{args:?} took {took:?}");
    let first = stderr.lines().next().unwrap_or_default();
    assert_eq!(stderr.matches(first).count(), 1, "printed once: {stderr}");
    assert!(
        stderr.len() < 2000,
        "{args:?}: a message of {} bytes",
        stderr.len()
    );
}

#[test]
fn train_flags_beyond_their_limits() {
    let cases: &[(&[&str], &[&str])] = &[
        (&["--n", "4611686018427387904"], &["`--n`", "1000000"]),
        (&["--n", "100000000"], &["`--n`", "1000000"]),
        (
            &["--samples", "4611686018427387904"],
            &["`--samples`", "1000000"],
        ),
        (
            &["--epochs", "18446744073709551615"],
            &["`--epochs`", "1000000"],
        ),
        (&["--epochs", "1000001"], &["`--epochs`", "1000000"]),
        (&["--T", "-1"], &["'-1'", "--T"]),
        (
            &["--config", "/dev/zero"],
            &["--config", "not a regular file"],
        ),
        (&["--config", "/"], &["--config", "not a regular file"]),
        (&["--config", "missing.toml"], &["--config", "missing.toml"]),
        (
            &["--samples-csv", "/nonexistent/dir/s.csv"],
            &["--samples-csv"],
        ),
    ];
    for (flags, needles) in cases {
        let mut args = vec!["train"];
        args.extend_from_slice(flags);
        refused(&args, needles);
    }
}

#[test]
fn experiment_files_beyond_their_limits() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let results = dir.path().join("results");
    let many = |n: usize| {
        (2..n + 2)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let cases: Vec<(&str, String, &[&str])> = vec![
        (
            "seeds.toml",
            "name = \"x\"\nseeds = 1000000000\n".into(),
            &["`seeds`", "10000"],
        ),
        (
            "seeds_big.toml",
            "name = \"x\"\nseeds = 9223372036854775807\n".into(),
            &["`seeds`", "10000"],
        ),
        (
            "grid.toml",
            format!(
                "name = \"x\"\n[grid]\nT = [{}]\nseed = [{}]\n\"dataset.n\" = [{}]\n",
                many(100),
                many(1000),
                many(1000)
            ),
            &["100000 cells", "limit"],
        ),
        (
            "axis.toml",
            format!("name = \"x\"\n[grid]\nseed = [{}]\n", many(20_000)),
            &["`seed`", "10000"],
        ),
        (
            "name.toml",
            format!("name = \"{}\"\nseeds = 2\n", "a".repeat(300)),
            &["`name`", "100"],
        ),
        (
            "epochs.toml",
            "name = \"x\"\nseeds = 2\n[base]\ntraining = { epochs = 4611686018427387904 }\n".into(),
            &["training.epochs", "1000000"],
        ),
        (
            "points.toml",
            "name = \"x\"\nseeds = 2\n[base]\ndataset = { n = 4611686018427387904 }\n".into(),
            &["dataset.n", "1000000"],
        ),
        (
            "samples.toml",
            "name = \"x\"\nseeds = 2\n[base]\nsampling = { n_samples = 4611686018427387904 }\n"
                .into(),
            &["sampling.n_samples", "1000000"],
        ),
        (
            "key.toml",
            format!(
                "name = \"x\"\nseeds = 2\n[base]\n{} = 1\n",
                "k".repeat(20_000)
            ),
            &["unknown config key", "(20000 characters)"],
        ),
    ];
    for (file, text, needles) in &cases {
        let path = dir.path().join(file);
        std::fs::write(&path, text).expect("write the file");
        for command in ["plan", "sweep", "status", "report"] {
            let mut with_file = needles.to_vec();
            with_file.push(file);
            refused(
                &[
                    command,
                    path.to_str().expect("utf-8"),
                    "--results",
                    results.to_str().expect("utf-8"),
                ],
                &with_file,
            );
        }
    }
    // Endless and oversized files are refused before they are read.
    let big = dir.path().join("big.toml");
    std::fs::write(&big, vec![b'#'; (1 << 20) + 1]).expect("write the file");
    for path in [
        Path::new("/dev/zero"),
        Path::new("/dev/urandom"),
        big.as_path(),
    ] {
        refused(
            &["plan", path.to_str().expect("utf-8")],
            &[path.to_str().expect("utf-8")],
        );
    }
    assert!(!results.exists(), "a refused experiment wrote to the store");
}

#[test]
fn output_folders_that_cannot_be_written_are_refused_before_training() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let experiment = dir.path().join("ok.toml");
    std::fs::write(
        &experiment,
        "name = \"ok\"\nseeds = 2\n[base]\ndataset = { n = 100 }\ntraining = { epochs = 10 }\n",
    )
    .expect("write the file");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").expect("write the file");
    let under_file = file.join("results");
    let (exp, under) = (
        experiment.to_str().expect("utf-8"),
        under_file.to_str().expect("utf-8"),
    );
    refused(
        &["sweep", exp, "--results", under],
        &["--results", "a-file"],
    );
    refused(
        &["report", exp, "--results", under, "--out", under],
        &["--out", "a-file"],
    );
}

/// Epsilon prediction at an exact zero terminal SNR cannot be sampled (x0 divides by
/// sqrt(alpha_bar_T) = 0): refused when the file is read, naming the key and the fix,
/// never a silent NaN. The same for `train`'s flags. Bad values of the new keys too.
#[test]
fn epsilon_at_exact_zero_snr_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let results = dir.path().join("results");
    let cases: [(&str, &str, &[&str]); 4] = [
        (
            "eps_exact.toml",
            "name = \"x\"\nseeds = 1\n[base]\nT = 100\nschedule = { kind = \"ddpm\", zero_terminal_snr = true, zero_terminal_snr_exact = true }\n",
            &["eps_exact.toml:", "schedule.zero_terminal_snr_exact", "model.prediction", "\"v\""],
        ),
        (
            "exact_alone.toml",
            "name = \"x\"\nseeds = 1\n[base]\nmodel.prediction = \"v\"\nschedule.zero_terminal_snr_exact = true\n",
            &["schedule.zero_terminal_snr_exact", "schedule.zero_terminal_snr = true"],
        ),
        (
            "clip.toml",
            "name = \"x\"\n[grid]\n\"sampling.clip\" = [\"none\", \"dynamc\"]\n",
            &["clip.toml:3:", "sampling.clip", "dynamic"],
        ),
        (
            "quantile.toml",
            "name = \"x\"\nseeds = 1\n[base]\nsampling = { clip = \"dynamic\", clip_quantile = 1.5 }\n",
            &["sampling.clip_quantile", "(0, 1]"],
        ),
    ];
    for (name, text, needles) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        for command in ["plan", "sweep"] {
            refused(
                &[
                    command,
                    path.to_str().unwrap(),
                    "--results",
                    results.to_str().unwrap(),
                ],
                needles,
            );
        }
        assert!(!results.join("runs").exists(), "{name}: nothing is stored");
    }
    refused(
        &[
            "train",
            "--T",
            "10",
            "--schedule",
            "ddpm",
            "--zero-terminal-snr",
            "--zero-terminal-snr-exact",
        ],
        &["--zero-terminal-snr-exact", "model.prediction"],
    );
}

/// A `--results` that names a file is bad input for every command that reads a store.
#[test]
fn a_results_path_that_is_a_file_is_refused_by_every_command() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("not-a-store");
    std::fs::write(&file, "x").unwrap();
    let results = file.to_str().unwrap();
    let experiment = concat!(env!("CARGO_MANIFEST_DIR"), "/../../experiments/quick.toml");
    for args in [
        vec!["sweep", experiment, "--results", results],
        vec!["plan", experiment, "--results", results],
        vec!["status", experiment, "--results", results],
        vec!["report", experiment, "--results", results],
        vec!["runs", "--results", results],
        vec!["gc", "--keep", experiment, "--results", results],
        vec!["verify", experiment, "--results", results, "--sample", "1"],
    ] {
        refused(&args, &["not-a-store", "not a folder"]);
    }
}

#[test]
fn a_results_path_that_does_not_exist_is_refused_by_the_commands_that_only_read_it() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let missing = dir.path().join("no-store");
    let results = missing.to_str().unwrap();
    let experiment = concat!(env!("CARGO_MANIFEST_DIR"), "/../../experiments/quick.toml");
    for args in [
        vec!["runs", "--results", results],
        vec!["fsck", "--results", results],
        vec!["gc", "--keep", experiment, "--results", results],
    ] {
        refused(&args, &["no-store", "no such folder"]);
    }
    assert!(!missing.exists(), "refusing it created nothing");
}

#[test]
fn serve_refuses_a_store_that_is_missing_or_a_file_and_bad_addresses() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let missing = dir.path().join("no-store");
    let missing_arg = missing.to_str().unwrap();
    refused(
        &["serve", "--results", missing_arg],
        &["no store there to serve", "no-store"],
    );
    // Read-only: refusing it created nothing.
    assert!(!missing.exists());
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a store").unwrap();
    refused(
        &["serve", "--results", file.to_str().unwrap()],
        &["is not a folder"],
    );
    refused(&["serve", "--host", "nohost"], &["--host", "nohost"]);
    refused(&["serve", "--port", "70000"], &["--port", "70000"]);
}

#[test]
fn verify_refuses_a_sample_of_none() {
    let experiment = concat!(env!("CARGO_MANIFEST_DIR"), "/../../experiments/quick.toml");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let results = dir.path().join("results");
    refused(
        &[
            "verify",
            experiment,
            "--sample",
            "0",
            "--results",
            results.to_str().unwrap(),
        ],
        &["invalid value 0 for `--sample`", "the 16 runs of `quick`"],
    );
}
