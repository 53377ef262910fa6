//! `sweep --on slurm` against a real Slurm: `scripts/slurm-cluster up` starts a one-node
//! cluster, and `.ci/run` does so and sets `DIFFSWEEP_REQUIRE_SLURM=1`, which turns a
//! missing cluster into a failure. Without a cluster (and without that variable) these
//! tests say so and pass. Nothing stands in for Slurm here: every job goes through sbatch.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::diffsweep;

/// The cluster has two CPUs: one test at a time, or their tasks queue behind each other.
static CLUSTER: Mutex<()> = Mutex::new(());

/// Whether a cluster answers; panics when one is required and none does.
fn cluster() -> bool {
    let up = Command::new("sinfo")
        .args(["--noheader", "--format=%t"])
        .output()
        .is_ok_and(|out| {
            out.status.success()
                && String::from_utf8_lossy(&out.stdout).lines().any(|state| {
                    ["idle", "mix", "alloc"]
                        .iter()
                        .any(|s| state.starts_with(s))
                })
        });
    if !up {
        assert!(
            std::env::var("DIFFSWEEP_REQUIRE_SLURM").is_err(),
            "DIFFSWEEP_REQUIRE_SLURM is set but no Slurm cluster answers: run scripts/slurm-cluster up"
        );
        eprintln!("skipped: no Slurm cluster answers (scripts/slurm-cluster up starts one)");
    }
    up
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("{program}: {err}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn max_array_size() -> usize {
    run("scontrol", &["show", "config"])
        .lines()
        .find_map(|line| {
            let (key, value) = line.split_once('=')?;
            (key.trim() == "MaxArraySize").then(|| value.trim().parse().ok())?
        })
        .expect("scontrol names MaxArraySize")
}

/// The state of one array task in the queue (`None` once it has left).
fn queue_state(task: &str) -> Option<String> {
    let out = Command::new("squeue")
        .args([
            "--noheader",
            "--array",
            "--format=%i %T",
            &format!("--jobs={task}"),
        ])
        .output()
        .expect("squeue runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{task} ")).map(str::to_string))
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The only submission folder of a store.
fn submissions(results: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(results.join("slurm"))
        .expect("slurm/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("manifest.json").is_file())
        .collect();
    dirs.sort();
    dirs
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).expect("manifest"))
        .expect("manifest JSON")
}

/// What must be equal between two trainings of a run: everything but times and hosts.
fn essence(results: &Path) -> BTreeMap<String, serde_json::Value> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(results.join("runs"))
        .expect("runs/")
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            !name.starts_with(".tmp-") && !name.starts_with(".old-"),
            "a half-written run is left: {name}"
        );
        if !entry.path().is_dir() {
            continue;
        }
        let record: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(entry.path().join("record.json")).expect("record"),
        )
        .expect("record JSON");
        let keep = [
            "semantics_version",
            "status",
            "diverged_epoch",
            "error",
            "final_loss",
            "metrics",
            "noise_floor",
            "artifacts",
        ];
        let essence: serde_json::Map<String, serde_json::Value> = keep
            .iter()
            .map(|k| (k.to_string(), record[k].clone()))
            .collect();
        out.insert(name, serde_json::Value::Object(essence));
    }
    out
}

/// A CSV without its timing columns.
fn without_times(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).expect("csv");
    let rows: Vec<Vec<String>> = text
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    let keep: Vec<usize> = (0..rows[0].len())
        .filter(|&c| !rows[0][c].contains("seconds"))
        .collect();
    rows.iter()
        .map(|row| keep.iter().map(|&c| row[c].clone()).collect())
        .collect()
}

/// `diffsweep sweep FILE --results RESULTS --on slurm` with `extra` flags.
fn slurm_sweep(file: &str, results: &Path, extra: &[&str]) -> (i32, String, String) {
    let results = results.to_str().unwrap();
    let mut args = vec!["sweep", file, "--results", results, "--on", "slurm"];
    args.extend_from_slice(extra);
    diffsweep(&args)
}

fn write_experiment(dir: &Path, name: &str, epochs: u32, seeds: u32) -> String {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "name = \"{name}\"\nseeds = {seeds}\n[base]\ndataset = {{ kind = \"moons\", n = 500 }}\ntraining = {{ epochs = {epochs} }}\n[grid]\nT = [10]\n"
        ),
    )
    .expect("experiment written");
    path.to_str().expect("utf-8").to_string()
}

#[test]
fn slurm_sweep_of_quick_stores_what_a_local_sweep_stores() {
    let _cluster = CLUSTER.lock().unwrap_or_else(|p| p.into_inner());
    if !cluster() {
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (on_slurm, local) = (dir.path().join("slurm"), dir.path().join("local"));
    let quick = concat!(env!("CARGO_MANIFEST_DIR"), "/../../experiments/quick.toml");

    let (code, stdout, stderr) = slurm_sweep(quick, &on_slurm, &["--wait"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("submitted 16 cells"), "{stdout}");
    assert!(
        stdout.contains("16 completed, 0 diverged, 0 non-finite, 0 failed"),
        "{stdout}"
    );

    // More cells than MaxArraySize: several arrays, none longer than the limit.
    let max = max_array_size();
    let submission = &submissions(&on_slurm)[0];
    let arrays = manifest(submission)["arrays"].as_array().unwrap().clone();
    assert_eq!(arrays.len(), 16usize.div_ceil(max), "{arrays:?}");
    assert!(arrays
        .iter()
        .all(|a| a["len"].as_u64().unwrap() as usize <= max));
    assert!(submission.join("job.sbatch").is_file());
    let logs = std::fs::read_dir(submission.join("logs")).unwrap().count();
    assert_eq!(logs, 16, "one log per task");

    let (code, _, stderr) = diffsweep(&[
        "sweep",
        quick,
        "--results",
        local.to_str().unwrap(),
        "--jobs",
        "2",
        "--quiet",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let (a, b) = (essence(&on_slurm), essence(&local));
    assert_eq!(a.len(), 16);
    assert_eq!(a, b, "Slurm and local runs differ");

    // The same report, but for the times it took.
    let mut reports = Vec::new();
    for results in [&on_slurm, &local] {
        let out = results.join("report");
        let (code, _, stderr) = diffsweep(&[
            "report",
            quick,
            "--results",
            results.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{stderr}");
        reports.push(out);
    }
    for csv in ["runs.csv", "summary.csv", "comparisons.csv"] {
        assert_eq!(
            without_times(&reports[0].join(csv)),
            without_times(&reports[1].join(csv)),
            "{csv}"
        );
    }
    let text = |p: &Path| {
        std::fs::read_to_string(p.join("report.md"))
            .unwrap()
            .lines()
            .filter(|l| !l.contains("compute time"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(text(&reports[0]), text(&reports[1]));
    for figure in std::fs::read_dir(reports[0].join("figures"))
        .unwrap()
        .flatten()
    {
        let other = reports[1].join("figures").join(figure.file_name());
        assert!(
            std::fs::read(figure.path()).unwrap() == std::fs::read(&other).unwrap(),
            "{} differs",
            figure.file_name().to_string_lossy()
        );
    }

    // Submitting again trains nothing.
    let (code, stdout, _) = slurm_sweep(quick, &on_slurm, &[]);
    assert_eq!(code, 0);
    assert!(stdout.contains("nothing to submit: 16 stored"), "{stdout}");
    assert_eq!(submissions(&on_slurm).len(), 1);
}

#[test]
fn a_cancelled_task_shows_as_failed_and_retry_failed_trains_it_alone() {
    let _cluster = CLUSTER.lock().unwrap_or_else(|p| p.into_inner());
    if !cluster() {
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let results = dir.path().join("results");
    let results_arg = results.to_str().unwrap();
    let file = write_experiment(dir.path(), "cancel", 6000, 2);

    let (code, stdout, stderr) = slurm_sweep(&file, &results, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let submission = submissions(&results)[0].clone();
    let job = manifest(&submission)["arrays"][0]["job_id"]
        .as_u64()
        .unwrap();
    let task = format!("{job}_0");
    let log = submission.join("logs").join(format!("{task}.log"));
    wait_for("task 0 to train", Duration::from_secs(120), || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("epoch "))
    });
    run("scancel", &[&task]);
    wait_for(
        "both tasks to leave the queue",
        Duration::from_secs(120),
        || queue_state(&task).is_none() && queue_state(&format!("{job}_1")).is_none(),
    );
    let (code, stdout, _) = diffsweep(&["status", &file, "--results", results_arg]);
    assert_eq!(code, 0);
    assert!(stdout.contains("1 done, 1 failed"), "{stdout}");
    assert!(
        stdout.contains(&format!("Slurm task {task} ended without storing a run")),
        "{stdout}"
    );
    assert!(
        stdout.contains("| epoch"),
        "the log's tail is shown: {stdout}"
    );
    let runs = essence(&results);
    assert_eq!(runs.len(), 1, "the cancelled task stored nothing");

    // A plain resubmission would train it too (it has no record); --retry-failed does,
    // and only it.
    let (code, stdout, stderr) = slurm_sweep(&file, &results, &["--retry-failed", "--wait"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("submitted 1 cell as 1 task"), "{stdout}");
    assert!(
        stdout.contains("2 completed, 0 diverged, 0 non-finite, 0 failed"),
        "{stdout}"
    );
    let latest = submissions(&results).last().unwrap().clone();
    assert_eq!(manifest(&latest)["tasks"].as_array().unwrap().len(), 1);
    let (_, stdout, _) = diffsweep(&["status", &file, "--results", results_arg]);
    assert!(stdout.contains("2 done, 0 failed"), "{stdout}");
}

/// Once the interrupted start of `task` has said `message` in its log and the task waits
/// in the queue again, starts it at once: a requeued job otherwise waits about two minutes
/// (its BeginTime). Slurm refuses to start it within the second its old credential was
/// revoked ("Job credential revoked"), so this waits two seconds first.
fn release(task: &str, log: &Path, message: &str) {
    wait_for(
        "the interrupted start to stop",
        Duration::from_secs(60),
        || std::fs::read_to_string(log).is_ok_and(|l| l.contains(message)),
    );
    wait_for(
        "the task to wait in the queue",
        Duration::from_secs(60),
        || queue_state(task).is_some_and(|s| s == "PENDING"),
    );
    std::thread::sleep(Duration::from_secs(2));
    run(
        "scontrol",
        &["update", &format!("JobId={task}"), "StartTime=now"],
    );
}

#[test]
fn a_requeued_or_signalled_task_stores_what_an_uninterrupted_run_stores() {
    let _cluster = CLUSTER.lock().unwrap_or_else(|p| p.into_inner());
    if !cluster() {
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (results, local) = (dir.path().join("results"), dir.path().join("local"));
    let file = write_experiment(dir.path(), "requeue", 6000, 1);

    // `--wait` follows while the task is interrupted twice.
    let follower = Command::new(env!("CARGO_BIN_EXE_diffsweep"))
        .args(["sweep", &file, "--results", results.to_str().unwrap()])
        .args(["--on", "slurm", "--requeue", "--wait", "--quiet"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the follower starts");
    wait_for("the submission", Duration::from_secs(60), || {
        results.join("slurm").is_dir()
            && submissions(&results).first().is_some_and(|s| {
                manifest(s)["arrays"]
                    .as_array()
                    .is_some_and(|a| !a.is_empty())
            })
    });
    let submission = submissions(&results)[0].clone();
    let job = manifest(&submission)["arrays"][0]["job_id"]
        .as_u64()
        .unwrap();
    let task = format!("{job}_0");
    let log = submission.join("logs").join(format!("{task}.log"));
    let starts = || {
        std::fs::read_to_string(&log)
            .map(|l| l.matches("slurm task:").count())
            .unwrap_or(0)
    };
    let log_ref = &log;
    let trains = |n: usize| {
        move || {
            std::fs::read_to_string(log_ref).is_ok_and(|l| {
                l.split("slurm task:")
                    .nth(n)
                    .is_some_and(|run| run.contains("epoch "))
            })
        }
    };
    // Requeued by the cluster (as a preemption would): SIGTERM, then back to the queue.
    wait_for(
        "the first start to train",
        Duration::from_secs(120),
        trains(1),
    );
    run("scontrol", &["requeue", &task]);
    release(&task, &log, "SIGTERM: the run is abandoned");
    // Signalled before its time limit: the task requeues itself.
    wait_for(
        "the second start to train",
        Duration::from_secs(120),
        trains(2),
    );
    run("scancel", &["--signal=USR1", "--batch", &task]);
    release(&task, &log, "SIGUSR1: the run is abandoned");

    let out = follower.wait_with_output().expect("the follower ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1 completed, 0 diverged, 0 non-finite, 0 failed"),
        "{stdout}"
    );
    assert_eq!(starts(), 3, "{}", std::fs::read_to_string(&log).unwrap());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("SIGTERM: the run is abandoned"), "{text}");
    assert!(
        text.contains("SIGUSR1: the run is abandoned (nothing stored) and the task requeued"),
        "{text}"
    );

    let (code, _, stderr) = diffsweep(&[
        "sweep",
        &file,
        "--results",
        local.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(essence(&results), essence(&local));
}

#[test]
fn bad_slurm_options_exit_2_before_anything_is_submitted() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let results = dir.path().join("results");
    let results_arg = results.to_str().unwrap();
    let file = write_experiment(dir.path(), "bad", 10, 1);
    let with_table = |n: usize, table: &str| {
        let path = dir.path().join(format!("table{n}.toml"));
        let text = std::fs::read_to_string(&file)
            .unwrap()
            .replace("name = \"bad\"", "name = \"table\"");
        std::fs::write(&path, format!("{text}[slurm]\n{table}\n")).unwrap();
        path.to_str().unwrap().to_string()
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![file.clone(), "--partition".into(), "debug".into()],
            "--partition is an option of Slurm sweeps: add `--on slurm`",
        ),
        (
            vec![file.clone(), "--wait".into()],
            "--wait is an option of Slurm sweeps",
        ),
        (
            vec![
                file.clone(),
                "--on".into(),
                "slurm".into(),
                "--jobs".into(),
                "2".into(),
            ],
            "--jobs is for local sweeps",
        ),
        (
            vec![
                file.clone(),
                "--on".into(),
                "slurm".into(),
                "--cpus-per-task".into(),
                "0".into(),
            ],
            "--cpus-per-task: invalid `cpus_per_task` 0: expected an integer from 1 to 1024",
        ),
        (
            vec![
                file.clone(),
                "--on".into(),
                "slurm".into(),
                "--time".into(),
                "1h".into(),
            ],
            "--time: invalid `time` \"1h\"",
        ),
        (
            vec![
                file.clone(),
                "--on".into(),
                "slurm".into(),
                "--sbatch-arg=--array=0-3".into(),
            ],
            "is diffsweep's own",
        ),
        (
            vec![
                file.clone(),
                "--on".into(),
                "slurm".into(),
                "--requeue".into(),
                "--time".into(),
                "1".into(),
                "--signal-before".into(),
                "60".into(),
            ],
            "is not before the time limit",
        ),
        (
            vec![
                with_table(1, "time = \"1h\""),
                "--on".into(),
                "slurm".into(),
            ],
            "table1.toml:9:8: [slurm]: invalid `time` \"1h\"",
        ),
        (
            vec![with_table(2, "nodes = 2"), "--on".into(), "slurm".into()],
            "table2.toml:9:1: unknown key `nodes` in [slurm]",
        ),
        (
            vec![
                with_table(3, "partition = 3"),
                "--on".into(),
                "slurm".into(),
            ],
            "table3.toml:9:13: [slurm]: `partition` must be a string",
        ),
    ];
    for (args, needle) in cases {
        let mut full = vec!["sweep".to_string()];
        full.extend(args.iter().cloned());
        full.extend(["--results".to_string(), results_arg.to_string()]);
        let refs: Vec<&str> = full.iter().map(String::as_str).collect();
        let (code, stdout, stderr) = diffsweep(&refs);
        assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!results.join("slurm").exists(), "{args:?} submitted");
    }

    // Without Slurm's commands on PATH.
    let out = Command::new(env!("CARGO_BIN_EXE_diffsweep"))
        .args(["sweep", &file, "--results", results_arg, "--on", "slurm"])
        .env("PATH", "")
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`sbatch` was not found"), "{stderr}");
    assert!(!results.join("slurm").exists());
}

#[test]
fn a_second_submission_skips_queued_cells_and_ctrl_c_leaves_the_jobs_running() {
    let _cluster = CLUSTER.lock().unwrap_or_else(|p| p.into_inner());
    if !cluster() {
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let results = dir.path().join("results");
    let results_arg = results.to_str().unwrap();
    let file = write_experiment(dir.path(), "follow", 8000, 2);

    let follower = Command::new(env!("CARGO_BIN_EXE_diffsweep"))
        .args([
            "sweep",
            &file,
            "--results",
            results_arg,
            "--on",
            "slurm",
            "--wait",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the follower starts");
    wait_for("the submission", Duration::from_secs(60), || {
        results.join("slurm").is_dir()
            && submissions(&results).first().is_some_and(|s| {
                manifest(s)["arrays"]
                    .as_array()
                    .is_some_and(|a| !a.is_empty())
            })
    });
    let job = manifest(&submissions(&results)[0])["arrays"][0]["job_id"]
        .as_u64()
        .unwrap();

    // Submitted again while both cells are queued or running: nothing new goes out.
    let (code, stdout, stderr) = slurm_sweep(&file, &results, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("nothing to submit: 0 stored, 2 queued or running"),
        "{stdout}"
    );
    assert_eq!(submissions(&results).len(), 1);

    // Ctrl-C stops following, not the jobs, and says how to cancel them.
    std::thread::sleep(Duration::from_millis(500));
    run("kill", &["-INT", &follower.id().to_string()]);
    let out = follower.wait_with_output().expect("the follower ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("stopped following; the jobs keep running"),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("scancel {job}")), "{stderr}");
    assert!(
        queue_state(&format!("{job}_0")).is_some()
            || queue_state(&format!("{job}_1")).is_some()
            || stored_runs(&results) == 2,
        "the jobs were cancelled"
    );
    // A task may be writing a run while this polls (its `.tmp-` folder then exists), so
    // the wait counts finished runs; once both are there, nothing half-written may be left.
    wait_for("both cells to be stored", Duration::from_secs(120), || {
        stored_runs(&results) == 2
    });
    assert_eq!(essence(&results).len(), 2);
}

/// Runs stored whole (renamed into place with their record), not counting any being written.
fn stored_runs(results: &Path) -> usize {
    std::fs::read_dir(results.join("runs")).map_or(0, |entries| {
        entries
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .filter(|e| e.path().join("record.json").is_file())
            .count()
    })
}

#[test]
fn cells_that_share_a_model_go_out_as_one_task() {
    let _cluster = CLUSTER.lock().unwrap_or_else(|p| p.into_inner());
    if !cluster() {
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (on_slurm, local) = (dir.path().join("slurm"), dir.path().join("local"));
    let file = dir.path().join("samplers.toml");
    std::fs::write(
        &file,
        "name = \"share\"\nseeds = 2\n[base]\ndataset = { n = 300 }\ntraining = { epochs = 500 }\n[grid]\nT = [20]\n\"sampling.steps\" = [5, 20]\n\"sampling.method\" = [\"ancestral\", \"ddim\"]\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let (code, stdout, stderr) = slurm_sweep(file, &on_slurm, &["--wait"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("submitted 8 cells as 2 tasks (one per model)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("8 completed, 0 diverged, 0 non-finite, 0 failed"),
        "{stdout}"
    );
    let submission = &submissions(&on_slurm)[0];
    let logs: Vec<String> = std::fs::read_dir(submission.join("logs"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert_eq!(logs.len(), 2);
    for log in &logs {
        assert!(log.contains("4 cells"), "{log}");
        assert_eq!(log.matches("stored: run").count(), 4, "{log}");
        assert_eq!(
            log.matches("epoch 500/500").count(),
            1,
            "trained once: {log}"
        );
    }
    let models = std::fs::read_dir(on_slurm.join("models"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .count();
    assert_eq!(models, 2);

    let (code, _, stderr) = diffsweep(&[
        "sweep",
        file,
        "--results",
        local.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(essence(&on_slurm), essence(&local));
}
