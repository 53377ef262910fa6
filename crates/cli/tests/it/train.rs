//! `diffsweep train`: bad flags are rejected with exit code 2 and a message that names the
//! flag and what it allows; a valid run prints one JSON object.

use crate::diffsweep;

#[test]
fn invalid_flags_are_rejected_before_training() {
    let cases: &[(&[&str], &str)] = &[
        (&["--T", "0"], "t_zero"),
        (&["--T", "10001"], "t_too_large"),
        (&["--schedule", "quadratic"], "unknown_schedule"),
        (&["--power", "0"], "power_zero"),
        (&["--power", "-1"], "power_negative"),
        (&["--n", "1"], "n_one"),
        (&["--scaling", "unit"], "unknown_scaling"),
        (&["--dataset", "spirals"], "unknown_dataset"),
        (&["--epochs", "0"], "epochs_zero"),
    ];
    for (args, name) in cases {
        let mut full = vec!["train"];
        full.extend_from_slice(args);
        let (code, stdout, stderr) = diffsweep(&full);
        assert_eq!(code, 2, "{name}: {stderr}");
        assert!(stdout.is_empty(), "{name}: printed {stdout}");
        insta::assert_snapshot!(format!("train_{name}"), stderr.trim_end());
    }
}

#[test]
fn a_short_run_prints_its_config_metrics_and_floor() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let csv = dir.path().join("samples.csv");
    let (code, stdout, stderr) = diffsweep(&[
        "train",
        "--n",
        "100",
        "--epochs",
        "20",
        "--T",
        "10",
        "--seed",
        "3",
        "--samples-csv",
        csv.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(report["status"], "completed");
    assert_eq!(report["config"]["T"], 10);
    assert_eq!(report["config"]["seed"], 3);
    for metric in ["chamfer", "sliced_wasserstein", "mmd"] {
        assert!(report["metrics"][metric].as_f64().expect("a number") > 0.0);
        assert!(report["noise_floor"][metric].as_f64().expect("a number") > 0.0);
    }
    assert!(report["train_seconds"].as_f64().expect("a number") > 0.0);
    let samples = std::fs::read_to_string(&csv).expect("samples written");
    assert_eq!(samples.lines().next(), Some("x,y"));
    assert_eq!(samples.lines().count(), 101);
}

#[test]
fn invalid_noise_is_rejected() {
    let (code, _, stderr) = diffsweep(&["train", "--noise", "-0.5"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("`--noise`"), "{stderr}");
}

#[test]
fn a_config_file_with_a_mistake_is_rejected_at_its_line() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = dir.path().join("run.toml");
    std::fs::write(&config, "T = 10\n[training]\nepochs = 20\nlrr = 0.1\n").unwrap();
    let (code, stdout, stderr) = diffsweep(&["train", "--config", config.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty(), "printed {stdout}");
    assert!(
        stderr.contains(
            "run.toml:4:1: unknown config key `training.lrr` (did you mean `training.lr`?)"
        ),
        "{stderr}"
    );
    // A config file is an experiment's [base] without its header.
    std::fs::write(&config, "[base]\nT = 10\n").unwrap();
    let (code, _, stderr) = diffsweep(&["train", "--config", config.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("run.toml:1:2: `base` belongs to an experiment file"),
        "{stderr}"
    );
}

#[test]
fn a_value_the_run_does_not_use_is_warned_about() {
    let train = |sampler: &str| {
        diffsweep(&[
            "train",
            "--n",
            "60",
            "--epochs",
            "5",
            "--T",
            "10",
            "--sampler",
            sampler,
            "--eta",
            "0.5",
        ])
    };
    let (code, stdout, stderr) = train("dpmpp_2m");
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("\"status\": \"completed\""), "{stdout}");
    assert_eq!(
        stderr.trim_end(),
        "warning: `--eta` = 0.5 has no effect on this run: the dpmpp_2m sampler does not use it"
    );
    // DDIM reads it: no warning.
    let (code, _, stderr) = train("ddim");
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}
