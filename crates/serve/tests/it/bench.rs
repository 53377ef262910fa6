//! The 10,000-run measurements of BENCHMARKS.md (run by hand, not in CI):
//! `cargo test -p serve --test it bench -- --ignored --nocapture`. The fixture store is
//! kept in `DIFFSWEEP_BENCH_STORE` (default `/tmp/diffsweep-bench-10k`) and written once.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::cdp::{file_url, Browser};
use crate::fixture;
use crate::http::{get, serve};

fn seconds(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Median time to interactive of `url` over three fresh browsers, in ms.
pub fn time_to_interactive(url: &str) -> Option<f64> {
    let mut times = Vec::new();
    for _ in 0..3 {
        let mut browser = Browser::launch(1400, 900)?;
        browser.navigate(url);
        browser.wait_for("window.diffsweepReadyAt", Duration::from_secs(60), url);
        times.push(browser.eval("window.diffsweepReadyAt").as_f64()?);
        let errors = browser.errors();
        assert!(errors.is_empty(), "{url}: {errors:?}");
    }
    Some(median(times))
}

#[test]
#[ignore = "a measurement on a 10,000-run store (minutes to write once)"]
fn ten_thousand_runs() {
    let root = std::env::var_os("DIFFSWEEP_BENCH_STORE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/diffsweep-bench-10k"));
    let grid = fixture::ten_thousand();
    let experiment = fixture::experiment(&grid);
    let store = runner::RunStore::open(&root).unwrap();
    if store.sweep_index(grid.name).is_err() {
        let started = Instant::now();
        fixture::write(&store, &experiment, |_| true);
        println!(
            "fixture: {} runs written in {}",
            experiment.len(),
            seconds(started.elapsed())
        );
    }

    let out = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let summary = reporter::report(&store, &experiment, out.path()).unwrap();
    let report_time = started.elapsed();
    assert_eq!(summary.runs, 10_000);

    let started = Instant::now();
    let input = reporter::from_store::load(&store, &experiment).unwrap();
    let load_time = started.elapsed();
    let started = Instant::now();
    let page = reporter::html::build(&input, &store, &Default::default()).unwrap();
    let page_time = started.elapsed();
    let path = out.path().join("index.html");
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size < 20_000_000, "index.html is {size} bytes");

    println!("| what | 10,000 runs |");
    println!("| --- | --- |");
    println!(
        "| `diffsweep report` (every file, figures included) | {} |",
        seconds(report_time)
    );
    println!(
        "| loading the runs from the store | {} |",
        seconds(load_time)
    );
    println!(
        "| building index.html from the loaded runs | {} |",
        seconds(page_time)
    );
    println!(
        "| index.html size | {:.1} MB (built again: {:.1} MB) |",
        size as f64 / 1e6,
        page.len() as f64 / 1e6
    );
    for view in ["overview", "metrics", "explore"] {
        if let Some(ms) = time_to_interactive(&format!("{}#{view}", file_url(&path))) {
            println!("| time to interactive, #{view} | {ms:.0} ms |");
        }
    }

    // A server whose start-up read of the store has finished.
    {
        let server = serve(&root);
        std::thread::sleep(Duration::from_secs(15));
        let started = Instant::now();
        let (status, body) = get(&format!("{}/api/runs", server.url()));
        assert_eq!(status, 200);
        println!(
            "| serve: run list JSON, first request once the server has read the store | {} ({:.1} MB) |",
            seconds(started.elapsed()),
            body.len() as f64 / 1e6
        );
    }
    let server = serve(&root);
    let base = server.url();
    let queries: [(&str, &str); 10] = [
        (
            "serve: run list JSON, first request right after start (reads every record)",
            "/api/runs",
        ),
        ("serve: run list JSON, asked again", "/api/runs"),
        (
            "serve: run list JSON, a new query (`where=sampling.method=ddim`)",
            "/api/runs?where=sampling.method=ddim",
        ),
        (
            "serve: run list JSON, filtered (`where=T=100`)",
            "/api/runs?where=T=100",
        ),
        ("serve: run list page, first", "/runs"),
        ("serve: run list page, asked again", "/runs"),
        ("serve: experiment counts, first poll", "/api/experiments"),
        ("serve: experiment counts, later polls", "/api/experiments"),
        (
            "serve: experiment page, first build",
            "/experiments/ten-thousand",
        ),
        (
            "serve: experiment page, unchanged store",
            "/experiments/ten-thousand",
        ),
    ];
    for (what, path) in queries {
        let started = Instant::now();
        let (status, body) = get(&format!("{base}{path}"));
        let took = started.elapsed();
        assert_eq!(status, 200, "{path}");
        println!(
            "| {what} | {} ({:.1} MB) |",
            seconds(took),
            body.len() as f64 / 1e6
        );
    }
}
