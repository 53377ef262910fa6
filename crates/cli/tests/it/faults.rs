//! Fault injection: a store damaged as disks, sync tools and editors damage stores. Every
//! fault is found by `fsck`, never used by `sweep`, `report` or `status`, set aside (not
//! deleted) and rebuilt bit for bit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diffsweep;

/// Four tiny cells: two share a model (they differ only in the sampler), and a second
/// seed of each.
const EXPERIMENT: &str = r#"
name = "faults"
seeds = 2
[base]
T = 10
dataset = { n = 64 }
training = { epochs = 40 }
[grid]
"sampling.method" = ["ancestral", "ddim"]
"#;

fn run(args: &[&str]) -> (i32, String, String) {
    diffsweep(args)
}

/// Every run's metrics and artifact hashes, by run id.
fn contents(store: &Path) -> BTreeMap<String, (serde_json::Value, serde_json::Value)> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(store.join("runs")).unwrap() {
        let path = entry.unwrap().path();
        let record = path.join("record.json");
        if !record.exists() {
            continue;
        }
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(record).unwrap()).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        out.insert(name, (json["metrics"].clone(), json["artifacts"].clone()));
    }
    out
}

fn dirs(store: &Path, kind: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(store.join(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    out.sort();
    out
}

/// Writes an experiment file `name` into `dir`; returns its path.
fn experiment(dir: &Path, name: &str, text: &str) -> String {
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    file.to_str().unwrap().to_string()
}

/// Sweeps `file` into a fresh store `dir/clean` and returns its contents: what every
/// damaged or interrupted store must end as.
fn clean_sweep(dir: &Path, file: &str) -> BTreeMap<String, (serde_json::Value, serde_json::Value)> {
    let clean = dir.join("clean");
    let (code, _, stderr) = run(&[
        "sweep",
        file,
        "--results",
        clean.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(code, 0, "{stderr}");
    contents(&clean)
}

/// Starts `diffsweep sweep file --results store` in the background.
fn spawn_sweep(file: &str, store: &str) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_diffsweep"))
        .args(["sweep", file, "--results", store, "--quiet", "--jobs", "2"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// `diffsweep report file --results store --out out`: its exit status and stderr.
fn report_into(out: &Path, file: &str, store: &str) -> (i32, String) {
    let (code, _, stderr) = run(&[
        "report",
        file,
        "--results",
        store,
        "--out",
        out.to_str().unwrap(),
    ]);
    (code, stderr)
}

fn flip_byte(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x20;
    std::fs::write(path, bytes).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn slow_every_planted_fault_is_found_set_aside_and_rebuilt_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("faults.toml");
    std::fs::write(&file, EXPERIMENT).unwrap();
    let file = file.to_str().unwrap();
    let clean = dir.path().join("clean");
    let (code, _, stderr) = run(&[
        "sweep",
        file,
        "--results",
        clean.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let want = contents(&clean);
    assert_eq!(want.len(), 4);
    let (code, stdout, _) = run(&["fsck", "--results", clean.to_str().unwrap()]);
    assert_eq!(code, 0, "a clean store passes: {stdout}");
    assert!(stdout.contains("no problem found"), "{stdout}");

    let store = dir.path().join("damaged");
    copy_dir(&clean, &store);
    let s = store.to_str().unwrap();
    let runs = dirs(&store, "runs");
    let models = dirs(&store, "models");
    assert_eq!((runs.len(), models.len()), (4, 2));
    // 1. A flipped byte in a shared model's weights.
    flip_byte(&models[0].join("weights.safetensors"));
    // 2. A truncated record.
    let record = runs[0].join("record.json");
    let text = std::fs::read_to_string(&record).unwrap();
    std::fs::write(&record, &text[..text.len() / 2]).unwrap();
    // 3. A digit changed inside a record that stays valid JSON.
    let record = runs[1].join("record.json");
    let text = std::fs::read_to_string(&record).unwrap();
    let at = text.find("\"chamfer\": 0.").expect("a chamfer value") + "\"chamfer\": 0.".len();
    let digit = if &text[at..at + 1] == "7" { "3" } else { "7" };
    std::fs::write(
        &record,
        format!("{}{digit}{}", &text[..at], &text[at + 1..]),
    )
    .unwrap();
    // 4. A flipped byte in samples.
    flip_byte(&runs[2].join("samples.csv"));
    // 5. An empty record.
    std::fs::write(runs[3].join("record.json"), "").unwrap();
    // 6. The leftover of a dead writer (process 99999 is gone; nobody holds the lock).
    let leftover = format!(
        ".tmp-{}-99999",
        runs[0].file_name().unwrap().to_string_lossy()
    );
    std::fs::create_dir(store.join("runs").join(&leftover)).unwrap();

    // fsck finds every fault and exits 1; it changes nothing without --repair.
    let (code, stdout, _) = run(&["fsck", "--results", s]);
    assert_eq!(code, 1, "{stdout}");
    for entry in [&models[0], &runs[0], &runs[1], &runs[2], &runs[3]] {
        let id = entry.file_name().unwrap().to_string_lossy().to_string();
        assert!(stdout.contains(&id), "fsck names {id}: {stdout}");
    }
    assert!(stdout.contains(&leftover), "{stdout}");
    assert!(stdout.contains("weights.safetensors"), "{stdout}");
    assert!(stdout.contains("checksum"), "{stdout}");
    assert!(!store.join("quarantine").exists());

    // status carries on and names the corrupt runs; report has nothing left to report,
    // and says why.
    let (code, stdout, stderr) = run(&["status", file, "--results", s]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("4 corrupt"), "{stdout}");
    let out = dir.path().join("report");
    let (code, stderr) = report_into(&out, file, s);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("no usable stored run: 4 stored runs are corrupt"),
        "{stderr}"
    );

    // A sweep sets every corrupt entry aside, says so, and rebuilds it bit for bit; the
    // corrupt model is never sampled (a new evaluation of it retrains it first).
    let (code, _, stderr) = run(&["sweep", file, "--results", s, "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("set aside corrupt run"), "{stderr}");
    // Every run at once (the flipped samples too: a run is only used whole), and the
    // model the reruns needed.
    let quarantined = std::fs::read_dir(store.join("quarantine")).unwrap().count();
    assert_eq!(quarantined, 5, "four runs and a model set aside");
    assert_eq!(contents(&store).len(), 4, "the same four runs");
    assert_eq!(
        contents(&store),
        want,
        "every metric and artifact hash as before"
    );
    // A sweep removes a dead writer's temporary directory when it starts.
    let (code, stdout, _) = run(&["fsck", "--results", s]);
    assert_eq!(code, 0, "{stdout}");
    assert!(!store.join("runs").join(&leftover).exists());

    // Nothing was deleted: the quarantine holds every damaged entry with its reason, and
    // only gc --yes removes it.
    for entry in std::fs::read_dir(store.join("quarantine")).unwrap() {
        let path = entry.unwrap().path();
        let reason = std::fs::read_to_string(path.join("reason.json")).unwrap();
        assert!(
            reason.contains("original_path") && reason.contains("time"),
            "{reason}"
        );
        assert!(path.join("entry").is_dir());
    }
    let (code, stdout, _) = run(&["gc", "--keep", file, "--results", s, "--yes"]);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(
        std::fs::read_dir(store.join("quarantine")).unwrap().count(),
        0
    );
    let (code, stdout, _) = run(&["fsck", "--results", s]);
    assert_eq!(code, 0, "{stdout}");
}

/// A damaged shared model is set aside and retrained before a new evaluation samples
/// it; the runs that already name it stay, since the retrained model has their hashes.
#[test]
fn slow_a_corrupt_model_is_retrained_before_it_is_sampled_and_its_runs_stay() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("faults.toml");
    std::fs::write(
        &file,
        EXPERIMENT.replace("[\"ancestral\", \"ddim\"]", "[\"ancestral\"]"),
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    let (code, _, stderr) = run(&["sweep", file, "--results", s, "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    let before = contents(&store);
    for model in dirs(&store, "models") {
        flip_byte(&model.join("weights.safetensors"));
    }
    // DDIM cells share the stored models: each is checked, set aside and retrained.
    let (code, stdout, stderr) = run(&[
        "sweep",
        file,
        "--results",
        s,
        "--quiet",
        "--set",
        "sampling.method=ddim",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stderr.matches("set aside corrupt model").count(),
        2,
        "{stderr}"
    );
    assert!(stdout.contains("2 models trained and 0 loaded"), "{stdout}");
    let after = contents(&store);
    for (id, content) in &before {
        assert_eq!(after.get(id), Some(content), "run {id} kept as it was");
    }
    let (code, stdout, _) = run(&["fsck", "--results", s]);
    assert_eq!(code, 0, "{stdout}");
}

/// A run whose model is gone is named by fsck; --repair sets the run aside, and the next
/// sweep retrains the model and the run, bit for bit.
#[test]
fn slow_a_run_whose_model_is_missing_is_found_and_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("faults.toml");
    std::fs::write(&file, EXPERIMENT).unwrap();
    let file = file.to_str().unwrap();
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    let (code, _, stderr) = run(&["sweep", file, "--results", s, "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    let want = contents(&store);
    let model = dirs(&store, "models").remove(0);
    let model_id = model.file_name().unwrap().to_string_lossy().to_string();
    std::fs::remove_dir_all(&model).unwrap();
    let (code, stdout, _) = run(&["fsck", "--results", s]);
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(
        stdout.matches("which the store does not hold").count(),
        2,
        "{stdout}"
    );
    assert!(stdout.contains(&model_id[..12]), "{stdout}");
    let (code, stdout, _) = run(&["fsck", "--results", s, "--repair"]);
    assert_eq!(code, 1, "{stdout}");
    let (code, stdout, stderr) = run(&["sweep", file, "--results", s, "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("2 run, 2 already stored"), "{stdout}");
    assert_eq!(contents(&store), want);
    let (code, stdout, _) = run(&["fsck", "--results", s]);
    assert_eq!(code, 0, "{stdout}");
}

/// kill -9 of a sweep at several moments, then a sweep to the end: every metric and
/// artifact hash is the uninterrupted sweep's, and fsck finds nothing wrong.
#[test]
fn slow_kill_9_at_random_moments_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = experiment(
        dir.path(),
        "kill.toml",
        "name = \"kill\"\nseeds = 6\n[base]\nT = 10\ndataset = { n = 200 }\ntraining = { epochs = 300 }\n",
    );
    let file = file.as_str();
    let want = clean_sweep(dir.path(), file);
    assert_eq!(want.len(), 6);

    let store = dir.path().join("killed");
    let s = store.to_str().unwrap();
    // Delays spread over the sweep's length, from a seeded draw so a failure repeats.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..6 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let delay = std::time::Duration::from_millis(30 + state % 400);
        let mut child = spawn_sweep(file, s);
        std::thread::sleep(delay);
        // SIGKILL: no handler runs, as when a node dies.
        let _ = child.kill();
        let _ = child.wait();
        let (code, stdout, _) = run(&["fsck", "--results", s]);
        assert!(
            !stdout.contains("does not match") && !stdout.contains("corrupt file"),
            "round {round}: nothing half-written is visible: {stdout} ({code})"
        );
    }
    let (code, _, stderr) = run(&["sweep", file, "--results", s, "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(contents(&store), want);
    let (code, stdout, _) = run(&["fsck", "--results", s]);
    assert_eq!(code, 0, "{stdout}");
}

/// A sweep, a report, fsck and `gc --yes` (keeping the experiment) at once on one store:
/// no reader sees a half-written entry, gc removes nothing the sweep writes, and the
/// store ends as an uninterrupted sweep's.
#[test]
fn slow_a_sweep_report_fsck_and_gc_at_once_never_see_half_an_entry() {
    let dir = tempfile::tempdir().unwrap();
    let file = experiment(
        dir.path(),
        "busy.toml",
        "name = \"busy\"\nseeds = 8\n[base]\nT = 10\ndataset = { n = 200 }\ntraining = { epochs = 1500 }\n",
    );
    let file = file.as_str();
    let want = clean_sweep(dir.path(), file);

    let store = dir.path().join("busy");
    let s = store.to_str().unwrap();
    let out = dir.path().join("report");
    let o = out.to_str().unwrap();
    let mut sweep = spawn_sweep(file, s);
    let mut rounds = 0;
    while sweep.try_wait().unwrap().is_none() && rounds < 200 {
        rounds += 1;
        if store.join("sweeps").exists() {
            let (_, _, stderr) = run(&["report", file, "--results", s, "--out", o]);
            assert!(
                !stderr.contains("corrupt"),
                "report saw a corrupt entry: {stderr}"
            );
        }
        let (_, stdout, _) = run(&["fsck", "--results", s]);
        assert!(
            !stdout.contains("does not match") && !stdout.contains("corrupt file"),
            "fsck saw half an entry: {stdout}"
        );
        let (code, stdout, stderr) = run(&["gc", "--keep", file, "--results", s, "--yes"]);
        assert_eq!(code, 0, "{stdout}{stderr}");
        assert!(
            stdout.starts_with("0 runs and 0 models") || !stdout.contains("removed run"),
            "{stdout}"
        );
    }
    assert!(sweep.wait().unwrap().success());
    assert_eq!(contents(&store), want);
    let (code, stdout, _) = run(&["fsck", "--results", s]);
    assert_eq!(code, 0, "{stdout}");
}

/// A store folder the user cannot write (run as `nobody`, since root writes anywhere) is
/// bad input, exit 2, before anything trains. Needs root to switch user; skipped with a
/// message otherwise.
#[test]
fn a_store_without_write_permission_is_refused_with_exit_2() {
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let runuser = std::path::Path::new("/usr/sbin/runuser");
    if !is_root || !runuser.exists() {
        eprintln!("skipped: needs root and runuser to run the check as another user");
        return;
    }
    // A folder every user can enter and read but only root can write, outside the
    // private temporary directory.
    let root = std::path::PathBuf::from(format!("/tmp/diffsweep-ro-{}", std::process::id()));
    let store = root.join("store");
    std::fs::create_dir_all(&store).unwrap();
    let file = root.join("ro.toml");
    std::fs::write(
        &file,
        "name = \"ro\"\nseeds = 1\n[base]\ntraining = { epochs = 5 }\n",
    )
    .unwrap();
    for path in [&root, &store] {
        std::process::Command::new("chmod")
            .args(["755", path.to_str().unwrap()])
            .status()
            .unwrap();
    }
    std::process::Command::new("chmod")
        .args(["644", file.to_str().unwrap()])
        .status()
        .unwrap();
    let out = std::process::Command::new(runuser)
        .args([
            "-u",
            "nobody",
            "--",
            env!("CARGO_BIN_EXE_diffsweep"),
            "sweep",
        ])
        .arg(&file)
        .args(["--results", store.to_str().unwrap()])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&root);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("Permission denied")
        && stderr.contains("diffsweep")
        && out.status.code() == Some(126)
    {
        eprintln!("skipped: user nobody cannot run the test binary here");
        return;
    }
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--results") && stderr.contains("cannot write"),
        "{stderr}"
    );
}

/// A full disk (a 256 kB tmpfs): the sweep fails with a clear message, leaves no half-
/// written entry, and the same sweep on a store with room stores the same runs. Needs root
/// to mount; skipped with a message otherwise.
#[test]
fn slow_a_full_disk_leaves_nothing_half_written() {
    let mount = tempfile::tempdir().unwrap();
    let m = mount.path().to_str().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs", m])
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        eprintln!("skipped: cannot mount a small tmpfs here (needs root)");
        return;
    }
    struct Unmount<'a>(&'a str);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(m);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("full.toml");
    std::fs::write(
        &file,
        "name = \"full\"\nseeds = 40\n[base]\nT = 10\ndataset = { n = 400 }\ntraining = { epochs = 20 }\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let store = mount.path().join("store");
    let s = store.to_str().unwrap();
    let (code, stdout, stderr) = run(&["sweep", file, "--results", s, "--quiet"]);
    assert_ne!(code, 0, "40 runs do not fit in 256 kB: {stdout}");
    assert!(
        format!("{stdout}{stderr}").contains("No space left")
            || format!("{stdout}{stderr}").contains("full"),
        "names the full disk: {stdout}{stderr}"
    );
    // Whatever was stored is whole: fsck finds nothing corrupt.
    let (_, stdout, _) = run(&["fsck", "--results", s]);
    assert!(
        !stdout.contains("does not match") && !stdout.contains("corrupt file"),
        "{stdout}"
    );
    let stored = contents(&store);
    let roomy = dir.path().join("roomy");
    let (code, _, stderr) = run(&[
        "sweep",
        file,
        "--results",
        roomy.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let want = contents(&roomy);
    for (id, content) in &stored {
        assert_eq!(
            want.get(id),
            Some(content),
            "run {id} stored whole on the full disk"
        );
    }
}

/// Records no reader can use as they are (bytes that are not UTF-8, a directory, another
/// run's record, a record stripped of its checksum) and artifacts that are not files (a
/// pipe, which would block a reader that opened it) are corrupt entries, never errors of
/// the whole command: every reader lists them and carries on, fsck names each, and a sweep
/// rebuilds them bit for bit.
#[test]
fn slow_unreadable_swapped_and_unchecked_entries_are_corrupt_never_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let file = experiment(dir.path(), "faults.toml", EXPERIMENT);
    let file = file.as_str();
    let want = clean_sweep(dir.path(), file);
    let store = dir.path().join("damaged");
    copy_dir(&dir.path().join("clean"), &store);
    let s = store.to_str().unwrap();
    let runs = dirs(&store, "runs");
    // 1. A byte that is not UTF-8.
    let record = runs[0].join("record.json");
    let mut bytes = std::fs::read(&record).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] = 0xff;
    std::fs::write(&record, bytes).unwrap();
    // 2. A directory where the record was.
    std::fs::remove_file(runs[1].join("record.json")).unwrap();
    std::fs::create_dir(runs[1].join("record.json")).unwrap();
    // 3. Another run's record, intact, under this run's id.
    std::fs::copy(runs[3].join("record.json"), runs[2].join("record.json")).unwrap();
    // 4. A record whose checksum was taken out after an edit.
    let record = runs[3].join("record.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    json.as_object_mut().unwrap().remove("checksum");
    json["metrics"]["chamfer"] = serde_json::json!(0.001);
    std::fs::write(&record, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    // 5. A pipe where a sweep index was (nothing ever writes to it).
    let index = store.join("sweeps").join("faults.json");
    std::fs::remove_file(&index).unwrap();
    let made = std::process::Command::new("mkfifo").arg(&index).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");

    let (code, stdout, _) = run(&["fsck", "--results", s]);
    assert_eq!(code, 1, "{stdout}");
    for (run, why) in runs.iter().zip([
        "not UTF-8",
        "not a regular file",
        "is the record of run",
        "no checksum",
    ]) {
        let id = run.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            stdout.contains(&format!("runs/{id}")) && stdout.contains(why),
            "fsck names {id} ({why}): {stdout}"
        );
    }
    assert!(stdout.contains("sweeps/faults.json"), "{stdout}");
    let (code, stdout, stderr) = run(&["status", file, "--results", s]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("0 done, 0 failed, 4 corrupt"), "{stdout}");
    let (code, stdout, stderr) = run(&["runs", "--results", s]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("0 runs"), "{stdout}");
    assert!(
        stderr.contains("4 stored runs left out as corrupt"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&["sweep", file, "--results", s, "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stderr.matches("set aside corrupt run").count(),
        4,
        "{stderr}"
    );
    assert_eq!(
        contents(&store),
        want,
        "every metric and artifact hash as before"
    );
    let (code, stdout, _) = run(&["fsck", "--results", s]);
    assert_eq!(code, 0, "the sweep wrote its index anew: {stdout}");

    // One run's samples damaged: the report leaves that run out, says so, and carries on.
    flip_byte(&runs[0].join("samples.csv"));
    let out = dir.path().join("report");
    let (code, stderr) = report_into(&out, file, s);
    assert_eq!(code, 0, "{stderr}");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("1 stored run is corrupt"), "{report}");
    let table = std::fs::read_to_string(out.join("runs.csv")).unwrap();
    let id = runs[0].file_name().unwrap().to_string_lossy().to_string();
    assert!(
        !table.contains(&id),
        "the corrupt run is in no table: {table}"
    );
    assert_eq!(table.lines().count(), 4, "{table}");
}

/// What `verify` compares is what the store holds: a stored file that no longer has the
/// hash its record lists is a mismatch, not "bit for bit".
#[test]
fn slow_verify_reads_the_stored_files_it_vouches_for() {
    let dir = tempfile::tempdir().unwrap();
    let file = experiment(dir.path(), "faults.toml", EXPERIMENT);
    let file = file.as_str();
    clean_sweep(dir.path(), file);
    let store = dir.path().join("clean");
    let s = store.to_str().unwrap();
    let (code, stdout, stderr) = run(&["verify", file, "--results", s, "--sample", "4"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    for model in dirs(&store, "models") {
        flip_byte(&model.join("weights.safetensors"));
    }
    let (code, stdout, _) = run(&["verify", file, "--results", s, "--sample", "4"]);
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(stdout.matches("MISMATCH").count(), 4, "{stdout}");
    assert!(stdout.contains("weights.safetensors"), "{stdout}");
}
