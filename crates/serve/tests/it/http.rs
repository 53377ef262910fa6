//! The server over HTTP: its pages and JSON, counts that follow runs as they are stored,
//! and paths it refuses.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use serde_json::Value;
use serve::{RunningServer, ServeOptions, Server};

use crate::fixture;

/// A server on a free port over `root`.
pub fn serve(root: &std::path::Path) -> RunningServer {
    let options = ServeOptions {
        results: root.to_path_buf(),
        port: 0,
        ..ServeOptions::default()
    };
    Server::bind(&options).expect("the server binds").spawn()
}

/// `GET url`: the status and the body.
pub fn get(url: &str) -> (u16, String) {
    request("GET", url)
}

fn request(method: &str, url: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into();
    let call = match method {
        "GET" => agent.get(url).call(),
        _ => agent.post(url).send_empty(),
    };
    let mut response = call.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()
        .expect("a text body");
    (status, body)
}

fn json(url: &str) -> Value {
    let (status, body) = get(url);
    assert_eq!(status, 200, "{url}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{url} is not JSON: {e}"))
}

fn tiny(progress: &Value) -> &Value {
    progress["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "tiny")
        .expect("the tiny experiment is listed")
}

#[test]
fn binds_the_loopback_address_by_default() {
    assert_eq!(
        ServeOptions::default().host,
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    );
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path());
    assert!(server.addr().ip().is_loopback());
    assert_ne!(server.addr().port(), 0);
    let missing = ServeOptions {
        results: dir.path().join("no-such-store"),
        port: 0,
        ..ServeOptions::default()
    };
    let error = Server::bind(&missing)
        .err()
        .expect("a missing store is refused");
    assert!(error.to_string().contains("no-such-store"), "{error}");
}

#[test]
fn every_page_and_endpoint_answers() {
    let dir = tempfile::tempdir().unwrap();
    let (_, experiment) = fixture::store(dir.path(), &fixture::small());
    let server = serve(dir.path());
    let base = server.url();

    let (status, page) = get(&format!("{base}/"));
    assert_eq!(status, 200);
    assert!(page.contains("Experiments") && page.contains("/api/experiments"));
    let progress = json(&format!("{base}/api/experiments"));
    let e = tiny(&progress);
    assert_eq!(e["cells"], 48);
    assert_eq!(e["pending"], 0);
    let counted: u64 = ["done", "non_finite", "failed", "corrupt"]
        .iter()
        .map(|k| e[k].as_u64().unwrap())
        .sum();
    assert_eq!(counted, 48);

    let (status, page) = get(&format!("{base}/experiments/tiny"));
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<title>diffsweep report: tiny</title>"));
    assert!(page.contains(r#""run_url":"/api/runs/{id}""#));

    let all = json(&format!("{base}/api/runs"));
    assert_eq!(all.as_array().unwrap().len(), 48);
    let t10 = json(&format!("{base}/api/runs?where=T=10"));
    assert_eq!(t10.as_array().unwrap().len(), 24);
    let both = json(&format!(
        "{base}/api/runs?where=T=10&where=sampling.method=ddim&sweep=tiny"
    ));
    assert_eq!(both.as_array().unwrap().len(), 12);
    let completed = json(&format!("{base}/api/runs?status=completed"));
    assert!(completed
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["status"] == "completed"));
    let (status, page) = get(&format!("{base}/runs?where=T=100"));
    assert_eq!(status, 200);
    assert!(page.contains(r#""start_view":"explore""#));

    let id = experiment.cells()[0].id.as_str().to_string();
    let samples = json(&format!("{base}/api/runs/{id}/samples"));
    assert_eq!(samples["total"], 200);
    assert_eq!(samples["samples"].as_array().unwrap().len(), 200);
    assert!(!samples["data"].as_array().unwrap().is_empty());
    let run = json(&format!("{base}/api/runs/{id}"));
    assert_eq!(run["config"]["dataset.n"], 200);
    assert_eq!(run["record"]["id"], id.as_str());
    assert_eq!(run["loss"].as_array().unwrap().len(), 40);
}

#[test]
fn counts_and_pages_follow_runs_as_they_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = runner::RunStore::open(dir.path()).unwrap();
    let experiment = fixture::experiment(&fixture::small());
    std::fs::create_dir_all(dir.path()).unwrap();
    let server = serve(dir.path());
    let base = server.url();
    assert_eq!(
        json(&format!("{base}/api/experiments"))["experiments"],
        serde_json::json!([])
    );

    // The index and half the cells: the other half is pending.
    fixture::write(&store, &experiment, |i| i % 2 == 0);
    let first = json(&format!("{base}/api/experiments"));
    assert_eq!(tiny(&first)["pending"], 24);
    assert_eq!(tiny(&first)["running"], 0);
    // A pending cell whose run lock a process holds is being evaluated: running.
    let busy = experiment
        .cells()
        .iter()
        .find(|cell| store.record(&cell.id).unwrap().is_none())
        .unwrap();
    let lock = store.try_lock(&busy.id).unwrap().unwrap();
    let locked = json(&format!("{base}/api/experiments"));
    assert_eq!(
        (
            tiny(&locked)["running"].as_u64(),
            tiny(&locked)["pending"].as_u64()
        ),
        (Some(1), Some(23))
    );
    drop(lock);
    let (_, page) = get(&format!("{base}/experiments/tiny"));
    assert!(
        page.contains("24 cells have no stored run yet"),
        "the page says what is missing"
    );

    // The rest arrives while the server runs.
    fixture::write(&store, &experiment, |i| i % 2 == 1);
    let second = json(&format!("{base}/api/experiments"));
    assert_eq!(tiny(&second)["pending"], 0);
    assert!(tiny(&second)["done"].as_u64() > tiny(&first)["done"].as_u64());
    let (_, page) = get(&format!("{base}/experiments/tiny"));
    assert!(
        !page.contains("cells have no stored run yet"),
        "the page is built again"
    );
}

#[test]
fn paths_outside_the_store_and_bad_requests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, experiment) = fixture::store(dir.path(), &fixture::small());
    std::fs::write(dir.path().join("secret.txt"), "root:x:0:0").unwrap();
    let server = serve(dir.path());
    let base = server.url();
    let id = experiment.cells()[0].id.as_str().to_string();
    let absent = "0".repeat(64);
    for (path, want) in [
        ("/experiments/nope", 404),
        ("/experiments/..%2Fsecret.txt", 404),
        ("/experiments/..%2F..%2F..%2Fetc%2Fpasswd", 404),
        ("/experiments/%2E%2E", 404),
        ("/secret.txt", 404),
        ("/etc/passwd", 404),
        ("/api/runs/..%2F..%2Fsecret.txt/samples", 400),
        ("/api/runs/not-a-run/samples", 400),
        (&format!("/api/runs/{}/samples", id.to_uppercase()), 400),
        (&format!("/api/runs/{absent}/samples"), 404),
        (&format!("/api/runs/{absent}"), 404),
        ("/api/runs?where=no.such.key=1", 400),
        ("/api/runs?where=T", 400),
        ("/api/runs?where=T=ten", 400),
        ("/runs?where=scaling=minmx", 400),
        ("/api/runs?status=exploded", 400),
        ("/api/runs?color=red", 400),
        ("/api/runs?sweep=..%2Fsecret", 404),
        ("/runs?sweep=nope", 404),
    ] {
        let (status, body) = get(&format!("{base}{path}"));
        assert_eq!(status, want, "{path}: {body}");
        assert!(!body.contains("root:x"), "{path} leaked a file");
    }
    let (status, _) = request("POST", &format!("{base}/"));
    assert_eq!(status, 405, "the server only reads");
}
