//! The store: atomic writes, reading runs back, and locks held by dead processes.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use chrono::Utc;
use ddpm::RunConfig;
use runner::{RunId, RunStore, Status};

use crate::fake_outcome;

const CHILD_ENV: &str = "RUNNER_TEST_LOCK_HOLDER";

fn config(seed: u64) -> RunConfig {
    RunConfig {
        seed,
        ..RunConfig::default()
    }
}

#[test]
fn a_written_run_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let config = config(3);
    let id = RunId::of(&config);
    let outcome = fake_outcome(&config);
    let lock = store.try_lock(&id).unwrap().unwrap();
    let record = store
        .write_run(&lock, &config, &Ok(outcome.clone()), Utc::now(), Utc::now())
        .unwrap();
    drop(lock);

    assert_eq!(store.record(&id).unwrap(), Some(record.clone()));
    assert_eq!(record.status, Status::Completed);
    assert_eq!(record.metrics, outcome.metrics);
    assert_eq!(store.config(&id).unwrap(), config.canonical());
    assert_eq!(store.samples(&id).unwrap(), outcome.samples);
    assert_eq!(store.loss_curve(&id).unwrap(), outcome.loss_curve);
    assert_eq!(store.weights(&id).unwrap(), outcome.weights);
    let files: Vec<&str> = record.artifacts.keys().map(String::as_str).collect();
    assert_eq!(
        files,
        [
            "config.toml",
            "loss.csv",
            "samples.csv",
            "weights.safetensors"
        ]
    );
    assert_eq!(store.run_ids().unwrap(), std::slice::from_ref(&id));
    assert_eq!(store.resolve(&id.as_str()[..6]).unwrap(), id);
    // The lock file goes with the lock.
    assert!(!dir.path().join(format!("runs/{id}.lock")).exists());
}

#[test]
fn a_failed_run_keeps_its_error_and_no_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let config = config(0);
    let id = RunId::of(&config);
    let lock = store.try_lock(&id).unwrap().unwrap();
    store
        .write_run(
            &lock,
            &config,
            &Err("out of memory".to_string()),
            Utc::now(),
            Utc::now(),
        )
        .unwrap();
    let record = store.record(&id).unwrap().unwrap();
    assert_eq!(record.status, Status::Failed);
    assert_eq!(record.error.as_deref(), Some("out of memory"));
    assert_eq!(record.metrics, None);
    assert!(store.samples(&id).is_err());
}

#[test]
fn a_second_lock_on_a_run_is_refused_while_the_first_is_held() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let id = RunId::of(&config(0));
    let held = store.try_lock(&id).unwrap();
    assert!(held.is_some());
    assert!(store.try_lock(&id).unwrap().is_none());
    drop(held);
    assert!(store.try_lock(&id).unwrap().is_some());
}

#[test]
fn a_half_written_run_is_invisible_and_cleaned_up() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let id = RunId::of(&config(1));
    // What a process killed in the middle of writing leaves behind.
    let tmp = dir.path().join(format!("runs/.tmp-{id}-4000000"));
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(tmp.join("config.toml"), "T = 10\n").unwrap();
    std::fs::write(tmp.join("samples.csv"), "x,y\n0.1,").unwrap();

    assert_eq!(store.record(&id).unwrap(), None);
    assert!(store.run_ids().unwrap().is_empty());
    assert_eq!(store.clean_stale().unwrap(), 1);
    assert!(!tmp.exists());
}

#[test]
fn a_replacement_stopped_between_its_renames_keeps_the_old_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let config = config(5);
    let id = RunId::of(&config);
    let lock = store.try_lock(&id).unwrap().unwrap();
    let record = store
        .write_run(
            &lock,
            &config,
            &Ok(fake_outcome(&config)),
            Utc::now(),
            Utc::now(),
        )
        .unwrap();
    drop(lock);
    // `--force` moved the good run aside, then died before renaming the new one in.
    let runs = dir.path().join("runs");
    std::fs::rename(
        runs.join(id.as_str()),
        runs.join(format!(".old-{id}-4000001")),
    )
    .unwrap();
    std::fs::create_dir_all(runs.join(format!(".tmp-{id}-4000001"))).unwrap();
    assert_eq!(store.record(&id).unwrap(), None);

    store.clean_stale().unwrap();
    assert_eq!(store.record(&id).unwrap(), Some(record));
    let left: Vec<String> = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Not a test of its own: the body of the child process that
/// [`a_lock_held_by_a_dead_process_is_recovered`] starts and kills.
#[test]
fn lock_holder_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (root, id) = spec.split_once('|').unwrap();
    let store = RunStore::open(root).unwrap();
    let id = RunId::parse(id).unwrap();
    let _lock = store
        .try_lock(&id)
        .unwrap()
        .expect("the parent does not hold the lock");
    let tmp = std::path::Path::new(root).join(format!("runs/.tmp-{id}-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(tmp.join("config.toml"), "partial").unwrap();
    println!("locked");
    std::io::stdout().flush().unwrap();
    std::thread::sleep(std::time::Duration::from_secs(60));
}

#[test]
fn a_lock_held_by_a_dead_process_is_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let id = RunId::of(&config(2));
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "store::lock_holder_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, format!("{}|{id}", dir.path().display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut saw_lock = false;
    for line in stdout.lines() {
        if line.unwrap().contains("locked") {
            saw_lock = true;
            break;
        }
    }
    assert!(saw_lock, "the child never took the lock");

    // While the child lives, the run is busy and its temporary directory is left alone.
    assert!(store.try_lock(&id).unwrap().is_none());
    assert_eq!(store.clean_stale().unwrap(), 0);

    child.kill().unwrap();
    child.wait().unwrap();

    // The kernel released the dead process's lock: nothing is stuck.
    assert_eq!(store.record(&id).unwrap(), None);
    assert_eq!(store.clean_stale().unwrap(), 1);
    assert!(
        !dir.path().join(format!("runs/{id}.lock")).exists(),
        "the dead process's lock file is cleaned up"
    );
    let lock = store.try_lock(&id).unwrap();
    assert!(lock.is_some(), "a dead process's lock must not block");
}

#[test]
fn costs_calibrated_on_a_stored_run_give_back_its_times() {
    // A respaced sampler takes K = 10 of T = 100 steps: the per-step cost is per step it
    // took, so the estimate of the same run is the time it took.
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let mut config = config(0);
    config.steps = 100;
    config.sampling.steps = 10;
    let id = RunId::of(&config);
    let outcome = fake_outcome(&config);
    let lock = store.try_lock(&id).unwrap().unwrap();
    store
        .write_run(&lock, &config, &Ok(outcome.clone()), Utc::now(), Utc::now())
        .unwrap();
    drop(lock);
    let cost = runner::CostModel::calibrate(&store).unwrap();
    assert_eq!(cost.calibrated_from, 1);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b;
    assert!(
        close(
            cost.evaluation(&config),
            outcome.sample_seconds + outcome.metric_seconds
        ),
        "{cost:?}"
    );
    assert!(
        close(cost.training(&config), outcome.train_seconds),
        "{cost:?}"
    );
}

#[test]
fn a_held_run_lock_is_seen_without_changing_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let id = RunId::of(&config(4));
    let lock_file = dir.path().join(format!("runs/{id}.lock"));
    assert!(!store.is_locked(&id).unwrap());
    assert!(!lock_file.exists(), "looking made no lock file");
    let lock = store.try_lock(&id).unwrap().unwrap();
    assert!(store.is_locked(&id).unwrap());
    assert_eq!(
        store.locked_runs().unwrap().into_iter().collect::<Vec<_>>(),
        std::slice::from_ref(&id)
    );
    // Looking did not take the lock from its holder.
    assert!(store.try_lock(&id).unwrap().is_none());
    drop(lock);
    assert!(!store.is_locked(&id).unwrap());
    // A lock file a dead process left behind is not a held lock, and stays.
    std::fs::write(&lock_file, "").unwrap();
    assert!(!store.is_locked(&id).unwrap());
    assert!(lock_file.exists());
    assert!(store.locked_runs().unwrap().is_empty());
}
