//! `index.html`: written beside `report.md`, self-contained, the same bytes for the same
//! runs, carrying every run and a bounded set of artifacts; and a 10,000-run page built
//! in seconds and under 20 MB. (The page's behaviour in a browser is tested by the
//! `serve` crate, which drives headless Chromium.)

use std::time::Instant;

use ddpm::Point;
use reporter::compare::Question;
use reporter::html::inline::{MAX_SAMPLED_RUNS, POINTS_PER_RUN};
use reporter::{render, AxisValue, ReportInput, Selector, Sweep};
use serde_json::Value;

use crate::fixture;
use crate::plots::FEATURED;

fn select(pairs: &[(&str, Value)]) -> Selector {
    Selector(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

fn input(sweep: Sweep) -> ReportInput {
    let fix = select(&[
        ("T", serde_json::json!(10)),
        ("schedule.kind", serde_json::json!("polynomial")),
        ("scaling", serde_json::json!("minmax")),
    ]);
    let paper = select(&[
        ("T", serde_json::json!(1000)),
        ("schedule.kind", serde_json::json!("ddpm")),
        ("scaling", serde_json::json!("standardize")),
    ]);
    ReportInput {
        sweep,
        questions: vec![Question {
            name: "post's fix against the paper".into(),
            a: fix.clone(),
            b: paper,
            metric: "chamfer".into(),
            margin: 0.01,
            lower_is_better: true,
        }],
        featured: Some(fix),
        correction: reporter::compare::Correction::None,
        pending_cells: 0,
        corrupt: Vec::new(),
    }
}

/// The page's data, parsed back out of its `<script type="application/json">`.
pub fn page_data(html: &str) -> Value {
    let start = html
        .find(r#"<script type="application/json" id="diffsweep-data">"#)
        .expect("the page carries its data")
        + r#"<script type="application/json" id="diffsweep-data">"#.len();
    let end = start + html[start..].find("</script>").expect("the data ends");
    serde_json::from_str(&html[start..end]).expect("the data is JSON")
}

#[test]
fn the_page_is_written_beside_the_report_and_needs_nothing_else() {
    let input = input(fixture::sweep());
    let artifacts = fixture::artifacts(&input.sweep, FEATURED);
    let first = tempfile::tempdir().unwrap();
    let summary = render(&input, &artifacts, first.path()).unwrap();
    let page = first.path().join("index.html");
    assert!(summary.files.contains(&page), "{:?}", summary.files);
    let html = std::fs::read_to_string(&page).unwrap();

    // Self-contained: no external script, style, image or font, and a policy that
    // forbids any request but to the serving origin.
    let own = html.replace(reporter::html::template::ECHARTS, "");
    for outside in [
        "<script src",
        "<link",
        "<img",
        "@import",
        "url(",
        "src=\"http",
    ] {
        assert!(
            !own.contains(outside),
            "the page refers outside itself: {outside}"
        );
    }
    assert!(html.contains("default-src 'none'"));
    assert!(html.contains("Apache ECharts 6.1.0"));

    let data = page_data(&html);
    assert_eq!(data["runs"]["id"].as_array().unwrap().len(), 24);
    assert_eq!(data["comparisons"][0]["verdict"], "better");
    assert_eq!(
        data["runs"]["id"][data["featured"].as_u64().unwrap() as usize],
        FEATURED
    );
    assert!(data["reverse"]["frames"].as_array().unwrap().len() > 1);
    assert_eq!(
        data["runs"]["detail"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| !d.is_null())
            .count(),
        1
    );
    assert!(data["header_html"]
        .as_str()
        .unwrap()
        .contains("<code>T</code>: 10, 1000"));
    assert_eq!(data["configs"]["diff"].as_array().unwrap().len(), 24);
    // One run per cell carries its samples (the featured run's seed), the featured first.
    let sampled = data["samples"].as_array().unwrap();
    assert_eq!(sampled[0]["run"], data["featured"]);
    assert_eq!(sampled.len(), 8);

    // The same runs give the same page.
    let second = tempfile::tempdir().unwrap();
    render(&input, &artifacts, second.path()).unwrap();
    assert!(html.as_bytes() == std::fs::read(second.path().join("index.html")).unwrap());
    // And the page `diffsweep serve` builds from scratch shows the same data.
    let built = reporter::html::build(&input, &artifacts, &Default::default()).unwrap();
    assert_eq!(page_data(&built)["runs"], data["runs"]);
    assert_eq!(page_data(&built)["header_html"], data["header_html"]);
}

/// 10,000 synthetic runs: 5 T x 4 schedules x 2 scalings x 5 learning rates, 50 seeds,
/// each run with 200 samples.
fn big_sweep() -> (Sweep, fixture::MemoryArtifacts) {
    let mut rows = Vec::new();
    let mut artifacts = fixture::MemoryArtifacts::default();
    let axes: Vec<String> = ["T", "schedule.kind", "scaling", "training.lr", "seed"]
        .map(String::from)
        .to_vec();
    for t in [10i64, 20, 50, 100, 1000] {
        for kind in ["ddpm", "polynomial", "linear", "cosine"] {
            for scaling in ["minmax", "standardize"] {
                for lr in [0.001, 0.002, 0.005, 0.01, 0.02] {
                    for seed in 0..50u64 {
                        let id = format!("{kind}-{scaling}-{t}-{lr}-{seed}");
                        let row_axes = [
                            ("T", AxisValue::Int(t)),
                            ("schedule.kind", fixture::text(kind)),
                            ("scaling", fixture::text(scaling)),
                            ("training.lr", AxisValue::Float(lr)),
                        ];
                        let c = fixture::chamfer(t, kind, scaling, seed) * (1.0 + lr);
                        let row = fixture::row(&id, &row_axes, seed, [c, c / 3.0, c * c / 10.0]);
                        let mut config = fixture::config_of(&row);
                        config.training.lr = lr;
                        let samples: Vec<Point> = (0..200)
                            .map(|i| {
                                let a = i as f64 * 0.0314;
                                [a.cos() + c, a.sin() - c]
                            })
                            .collect();
                        artifacts.samples.insert(id.clone(), samples);
                        artifacts.configs.insert(id.clone(), config);
                        artifacts
                            .losses
                            .insert(id.clone(), vec![(0, 1.0), (40, 0.5)]);
                        rows.push(row);
                    }
                }
            }
        }
    }
    (
        Sweep::new("big", "10,000 synthetic runs", &axes, rows),
        artifacts,
    )
}

#[test]
fn a_ten_thousand_run_page_is_built_in_seconds_and_stays_under_20_mb() {
    let (sweep, artifacts) = big_sweep();
    assert_eq!(sweep.rows.len(), 10_000);
    let mut input = input(sweep);
    let lr = |selector: &mut Selector| {
        selector
            .0
            .insert("training.lr".into(), serde_json::json!(0.01));
    };
    lr(&mut input.questions[0].a);
    lr(&mut input.questions[0].b);
    lr(input.featured.as_mut().unwrap());
    let started = Instant::now();
    let html = reporter::html::build(&input, &artifacts, &Default::default()).unwrap();
    let took = started.elapsed();
    println!(
        "10,000-run page: {:.1} MB in {took:.2?}",
        html.len() as f64 / 1e6
    );
    assert!(html.len() < 20_000_000, "{} bytes", html.len());
    // Generous for a loaded 2-core CI runner; BENCHMARKS.md has the measured times.
    assert!(took.as_secs() < 60, "{took:?}");
    let data = page_data(&html);
    assert_eq!(data["runs"]["id"].as_array().unwrap().len(), 10_000);
    assert_eq!(data["configs"]["diff"].as_array().unwrap().len(), 10_000);
    let samples = data["samples"].as_array().unwrap();
    assert!(samples.len() <= MAX_SAMPLED_RUNS);
    assert_eq!(samples.len(), 200, "one run per cell, 200 cells");
    let featured = data["featured"].as_u64().unwrap();
    for set in samples
        .iter()
        .filter(|s| s["run"].as_u64() != Some(featured))
    {
        assert!(set["points"].as_array().unwrap().len() <= POINTS_PER_RUN);
    }
}
