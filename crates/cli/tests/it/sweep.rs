//! `diffsweep sweep`, `plan`, `status`: bad input exits 2 and writes nothing; a tiny sweep
//! runs, resumes without retraining, and reports its state.

use std::path::Path;

use crate::diffsweep;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the experiment");
    path.to_str().expect("utf-8 path").to_string()
}

#[test]
fn a_bad_experiment_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let results = dir.path().join("results");
    let results_arg = results.to_str().expect("utf-8 path");
    let cases = [
        (
            "unknown_key",
            "name = \"x\"\n[grid]\nTT = [10]\n",
            "did you mean",
        ),
        ("bad_value", "name = \"x\"\n[grid]\nT = [0, 10]\n", "T"),
        (
            "bad_schedule",
            "name = \"x\"\n[grid]\n\"schedule.kind\" = [\"quadratic\"]\n",
            "schedule.kind",
        ),
    ];
    for (name, text, needle) in cases {
        let file = write(dir.path(), &format!("{name}.toml"), text);
        for command in ["sweep", "plan", "status"] {
            let (code, _, stderr) = diffsweep(&[command, &file, "--results", results_arg]);
            assert_eq!(code, 2, "{command} {name}: {stderr}");
            assert!(
                stderr.contains(&file),
                "{command} {name}: names the file: {stderr}"
            );
            assert!(stderr.contains(needle), "{command} {name}: {stderr}");
        }
        assert!(!results.exists(), "{name}: results/ was written");
    }
}

/// `plan` tells stored cells from pending ones by the store's listing and each stored
/// run's checked record: half of a grid swept, then a corrupt record and a stray file.
#[test]
fn slow_plan_counts_stored_pending_and_corrupt_cells() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let results = dir.path().join("results");
    let results_arg = results.to_str().expect("utf-8 path");
    let base = "seeds = 2\n[base]\ndataset = { n = 64 }\ntraining = { epochs = 20 }\n[grid]\n";
    let half = write(
        dir.path(),
        "half.toml",
        &format!("name = \"half\"\n{base}T = [5]\n"),
    );
    let full = write(
        dir.path(),
        "full.toml",
        &format!("name = \"full\"\n{base}T = [5, 10]\n"),
    );
    let (code, stdout, stderr) = diffsweep(&["plan", &full, "--results", results_arg]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("0 stored, 0 failed, 4 pending"), "{stdout}");
    let (code, _, stderr) = diffsweep(&["sweep", &half, "--results", results_arg, "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = diffsweep(&["plan", &full, "--results", results_arg]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("2 stored, 0 failed, 2 pending"), "{stdout}");
    let completed = stdout.lines().filter(|l| l.contains(" completed")).count();
    assert_eq!(completed, 2, "{stdout}");
    // A damaged record is not a stored run, and a stray file in runs/ is no run at all.
    let run = std::fs::read_dir(results.join("runs"))
        .expect("runs/")
        .flatten()
        .find(|e| e.path().is_dir())
        .expect("a stored run");
    std::fs::write(run.path().join("record.json"), "{ not json").expect("damage a record");
    std::fs::write(results.join("runs").join("stray"), "x").expect("a stray file");
    let (code, stdout, stderr) = diffsweep(&["plan", &full, "--results", results_arg]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("1 stored, 0 failed, 3 pending"), "{stdout}");
}

#[test]
fn slow_a_tiny_sweep_resumes_without_retraining() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let results = dir.path().join("results");
    let results_arg = results.to_str().expect("utf-8 path");
    let file = write(
        dir.path(),
        "tiny.toml",
        "name = \"tiny\"\nseeds = 2\n[base]\ndataset = { n = 64 }\ntraining = { epochs = 20 }\n[grid]\nT = [5, 10]\n",
    );
    let (code, _, stderr) = diffsweep(&["sweep", &file, "--results", results_arg, "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    let runs = std::fs::read_dir(results.join("runs"))
        .expect("runs/")
        .filter(|e| e.as_ref().map(|e| e.path().is_dir()).unwrap_or(false))
        .count();
    assert_eq!(runs, 4);
    let modified = |id: &std::fs::DirEntry| id.metadata().and_then(|m| m.modified()).ok();
    let before: Vec<_> = std::fs::read_dir(results.join("runs"))
        .expect("runs/")
        .flatten()
        .map(|e| (e.file_name(), modified(&e)))
        .collect();
    let (code, _, stderr) = diffsweep(&["sweep", &file, "--results", results_arg, "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    let after: Vec<_> = std::fs::read_dir(results.join("runs"))
        .expect("runs/")
        .flatten()
        .map(|e| (e.file_name(), modified(&e)))
        .collect();
    assert_eq!(before, after, "the second sweep rewrote runs");
    let (code, stdout, stderr) = diffsweep(&["status", &file, "--results", results_arg]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains('4'), "{stdout}");
}

#[test]
fn set_adds_a_seed_and_trains_only_its_cells() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = write(
        dir.path(),
        "tiny.toml",
        "name = \"tiny\"\nseeds = 2\n[base]\ndataset = { n = 60 }\ntraining = { epochs = 5 }\n[grid]\nT = [5, 10]\n",
    );
    let results = dir.path().join("results");
    let results = results.to_str().expect("utf-8 path");
    let (code, stdout, stderr) = diffsweep(&["sweep", &file, "--results", results, "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("4 run"), "{stdout}");
    assert!(stdout.contains("4 models trained and 0 loaded"), "{stdout}");
    let (code, stdout, stderr) = diffsweep(&[
        "sweep",
        &file,
        "--set",
        "seeds=3",
        "--results",
        results,
        "--quiet",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("6 cells, 2 run, 4 already stored"),
        "{stdout}"
    );
    assert!(stdout.contains("tiny.set-"), "a name of its own: {stdout}");
    // The store answers questions across sweeps: T = 5 ran with seeds 0, 1 and 2.
    let (code, csv, stderr) = diffsweep(&[
        "runs",
        "--where",
        "T=5",
        "--format",
        "csv",
        "--results",
        results,
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(csv.lines().count(), 4, "a header and three runs: {csv}");
    // The path the condition names is a column although every listed run has T = 5.
    assert!(csv.starts_with("run_id,T,seed,status,chamfer,"), "{csv}");
    assert!(
        csv.lines()
            .skip(1)
            .all(|l| l.split(',').nth(1) == Some("5")),
        "{csv}"
    );
    let (code, json, stderr) = diffsweep(&[
        "runs",
        "--status",
        "completed",
        "--format",
        "json",
        "--results",
        results,
    ]);
    assert_eq!(code, 0, "{stderr}");
    let rows: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(rows.as_array().map(Vec::len), Some(6));
    let (code, _, stderr) = diffsweep(&["runs", "--where", "TT=5", "--results", results]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("did you mean `T`"), "{stderr}");
    // A value the key cannot hold is a typo, not a filter that matches nothing.
    let (code, _, stderr) = diffsweep(&["runs", "--where", "T=five", "--results", results]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("invalid value \"five\" for `T`")
            && stderr.contains("expected a non-negative integer"),
        "{stderr}"
    );
    // An override is validated like the file.
    let (code, _, stderr) = diffsweep(&["plan", &file, "--set", "T=0", "--results", results]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--set T=0") && stderr.contains("from 1 to 10000"),
        "{stderr}"
    );
}

#[test]
fn verify_retrains_and_names_each_mismatch() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = write(
        dir.path(),
        "tiny.toml",
        "name = \"tiny\"\nseeds = 2\n[base]\ndataset = { n = 60 }\ntraining = { epochs = 5 }\n[grid]\nT = [5]\n",
    );
    let results = dir.path().join("results");
    let results_arg = results.to_str().expect("utf-8 path");
    let (code, _, stderr) = diffsweep(&["sweep", &file, "--results", results_arg, "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = diffsweep(&["verify", &file, "--results", results_arg]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("all 2 runs reproduced bit for bit"),
        "{stdout}"
    );

    // One stored number off by one ulp, in a record whose checksum is rewritten to
    // match (a record another code version wrote): the comparison finds and names it.
    let run = std::fs::read_dir(results.join("runs"))
        .expect("runs")
        .map(|e| e.expect("entry").path())
        .find(|p| p.join("record.json").is_file())
        .expect("a run");
    let text = std::fs::read_to_string(run.join("record.json")).expect("record");
    let mut record: runner::Record = serde_json::from_str(&text).expect("a record");
    let metrics = record.metrics.as_mut().expect("metrics");
    metrics.chamfer = f64::from_bits(metrics.chamfer.to_bits() + 1);
    record.checksum = None;
    record.checksum = Some(runner::store::content_checksum(&record));
    let edited = serde_json::to_string_pretty(&record).expect("json");
    std::fs::write(run.join("record.json"), &edited).expect("write");
    let (code, stdout, _) = diffsweep(&["verify", &file, "--results", results_arg]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("MISMATCH") && stdout.contains("chamfer"),
        "{stdout}"
    );

    // The same edit without the checksum: the stored record is named as corrupt.
    let start = text.find("\"chamfer\": ").expect("chamfer") + "\"chamfer\": ".len();
    let end = start + text[start..].find(',').expect("a comma");
    let value: f64 = text[start..end].parse().expect("a number");
    let nudged = f64::from_bits(value.to_bits() + 1);
    std::fs::write(
        run.join("record.json"),
        format!("{}{nudged:?}{}", &text[..start], &text[end..]),
    )
    .expect("write");
    let (code, stdout, _) = diffsweep(&["verify", &file, "--results", results_arg]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("MISMATCH") && stdout.contains("corrupt") && stdout.contains("checksum"),
        "{stdout}"
    );
}

#[test]
fn gc_lists_what_an_edited_grid_left_behind_and_removes_it_on_yes() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let base = "name = \"tiny\"\n[base]\ndataset = { n = 60 }\ntraining = { epochs = 5 }\n";
    let file = write(
        dir.path(),
        "tiny.toml",
        &format!("{base}[grid]\nT = [5, 10]\n"),
    );
    let results = dir.path().join("results");
    let results_arg = results.to_str().expect("utf-8 path");
    let (code, _, stderr) = diffsweep(&["sweep", &file, "--results", results_arg, "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    // The grid is edited: T = 10 is dropped.
    let file = write(dir.path(), "tiny.toml", &format!("{base}[grid]\nT = [5]\n"));
    let (code, stdout, stderr) = diffsweep(&["gc", "--keep", &file, "--results", results_arg]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("would remove run") && stdout.contains("T=10"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 run and 1 model no kept experiment refers to"),
        "{stdout}"
    );
    let count = || {
        std::fs::read_dir(results.join("runs"))
            .expect("runs")
            .count()
    };
    assert_eq!(count(), 2, "a dry run removes nothing");
    let (code, stdout, _) = diffsweep(&["gc", "--keep", &file, "--yes", "--results", results_arg]);
    assert_eq!(code, 0);
    assert!(stdout.contains("removed run"), "{stdout}");
    assert!(stdout.contains("removed model"), "{stdout}");
    assert_eq!(count(), 1);
    let models = std::fs::read_dir(results.join("models"))
        .expect("models")
        .count();
    assert_eq!(models, 1, "the kept run's model stays");
}

#[test]
fn counts_of_one_take_the_singular() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = write(
        dir.path(),
        "one.toml",
        "name = \"one\"\nseeds = 1\n[base]\ndataset = { n = 40 }\ntraining = { epochs = 5 }\n",
    );
    let results = dir.path().join("results");
    let results = results.to_str().expect("utf-8 path");
    let (code, stdout, stderr) = diffsweep(&["sweep", &file, "--results", results, "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("sweep one: 1 cell, 1 run, 0 already stored"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 model trained and 0 loaded from the store for 1 evaluation"),
        "{stdout}"
    );
    for (args, needle) in [
        (vec!["status", &file], "sweep one: 1 cell: 1 done"),
        (vec!["plan", &file], "): 1 cell over seed"),
        (vec!["runs"], "\n1 run\n"),
        (vec!["fsck"], ": 1 run, 1 model, "),
        (
            vec![
                "report",
                &file,
                "--out",
                dir.path().join("report").to_str().unwrap(),
            ],
            ": 1 cell, 1 run (",
        ),
    ] {
        let mut args = args;
        args.extend(["--results", results]);
        let (code, stdout, stderr) = diffsweep(&args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(
            stdout.contains(needle),
            "{args:?}: `{needle}` not in {stdout}"
        );
        assert!(
            !stdout.contains(" 1 cells") && !stdout.contains(" 1 runs"),
            "{stdout}"
        );
    }
}

#[test]
fn runs_lists_the_columns_of_the_runs_it_lists() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = write(
        dir.path(),
        "lr.toml",
        "name = \"lr\"\nseeds = 1\n[base]\ndataset = { n = 100 }\ntraining = { epochs = 20 }\nT = 5\n[grid]\n\"training.lr\" = [0.01, 1000.0]\n",
    );
    let results = dir.path().join("results");
    let results = results.to_str().expect("utf-8 path");
    let (code, stdout, stderr) = diffsweep(&["sweep", &file, "--results", results, "--quiet"]);
    assert_eq!(code, 0, "a diverged run is a result: {stdout}{stderr}");
    assert!(stdout.contains("1 completed, 1 diverged"), "{stdout}");
    let header = |args: &[&str]| {
        let mut all = vec!["runs", "--format", "csv", "--results", results];
        all.extend_from_slice(args);
        let (code, csv, stderr) = diffsweep(&all);
        assert_eq!(code, 0, "{stderr}");
        csv.lines().next().unwrap_or_default().to_string()
    };
    assert!(
        header(&[]).starts_with("run_id,training.lr,seed,"),
        "the learning rate differs"
    );
    // The one diverged run: the learning rate is not a column of a single value.
    assert!(header(&["--status", "diverged"]).starts_with("run_id,seed,status,"));
}
