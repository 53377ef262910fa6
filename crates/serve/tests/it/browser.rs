//! The report pages in a real browser: the committed studies' pages load offline with no
//! console error and no request, and their charts, table, brush and run view work as a
//! reader uses them; served pages refresh and fetch what the static file leaves out.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::cdp::{file_url, Browser};
use crate::fixture;
use crate::http::serve;

const WAIT: Duration = Duration::from_secs(45);

/// The committed report folder of `study`.
fn study(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../reports")
        .join(name)
        .join("index.html")
}

/// A browser on `url` once its first view has drawn.
fn open(url: &str) -> Option<Browser> {
    let mut browser = Browser::launch(1400, 900)?;
    browser.navigate(url);
    browser.wait_for(
        "window.diffsweepReadyAt",
        WAIT,
        &format!("{url} becomes interactive"),
    );
    Some(browser)
}

/// Shows `view` (a hash route) and waits until it has drawn.
fn visit(browser: &mut Browser, view: &str) {
    browser.eval(&format!(
        "window.__drawn = false; location.hash = '{view}'; \
         setTimeout(() => diffsweep.idle.then(() => {{ window.__drawn = true; }}), 0); true"
    ));
    browser.wait_for("window.__drawn", WAIT, &format!("{view} draws"));
}

/// The center of the first element matching `selector`, in page coordinates.
fn centre(browser: &mut Browser, selector: &str) -> (f64, f64) {
    let at = browser.eval(&format!(
        "(() => {{ const e = document.querySelector({selector:?}); e.scrollIntoView({{block: 'center'}}); \
         const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()"
    ));
    (at[0].as_f64().unwrap(), at[1].as_f64().unwrap())
}

fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap_or(f64::NAN))
        .collect()
}

#[test]
fn the_committed_study_pages_load_offline_without_errors_or_requests() {
    for name in ["schedules", "samplers", "schedules-small", "fewstep"] {
        let path = study(name);
        assert!(path.exists(), "{} is committed", path.display());
        let url = file_url(&path);
        let Some(mut browser) = open(&url) else {
            return;
        };
        for view in ["#metrics", "#explore", "#run"] {
            visit(&mut browser, view);
        }
        let errors = browser.errors();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        // The page's own file is the only request: scripts, styles, data and fonts are in it.
        let requests: Vec<String> = browser
            .requests()
            .into_iter()
            .filter(|r| *r != url && !r.starts_with(&format!("{url}#")))
            .collect();
        assert!(requests.is_empty(), "{name} made requests: {requests:?}");
    }
}

#[test]
fn the_forest_plot_has_one_mark_per_comparison_with_its_verdict() {
    let Some(mut browser) = open(&file_url(&study("schedules"))) else {
        return;
    };
    let marks = browser.eval(
        "(() => { const rows = []; for (const s of diffsweep.charts.forest.getModel().getSeries()) { \
           const d = s.getData(); for (let i = 0; i < d.count(); i++) { const el = d.getItemGraphicEl(i); \
             rows.push({ comparison: d.get(d.dimensions[0], i), drawn: !!el, \
               texts: el ? el.children().filter(c => c.style && c.style.text).map(c => c.style.text) : [] }); } } \
           return rows; })()",
    );
    let comparisons = browser.eval("diffsweep.data.comparisons.map(c => c.verdict)");
    let verdicts = comparisons.as_array().unwrap();
    let marks = marks.as_array().unwrap();
    assert_eq!(marks.len(), verdicts.len(), "one mark per comparison");
    // As many as the report's comparison table has rows.
    let csv =
        std::fs::read_to_string(study("schedules").with_file_name("comparisons.csv")).unwrap();
    assert_eq!(verdicts.len(), csv.lines().count() - 1);
    let mut seen: Vec<u64> = marks
        .iter()
        .map(|m| m["comparison"].as_u64().unwrap())
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..verdicts.len() as u64).collect::<Vec<_>>());
    for mark in marks {
        assert_eq!(mark["drawn"], true);
        let i = mark["comparison"].as_u64().unwrap() as usize;
        assert_eq!(
            mark["texts"],
            serde_json::json!([verdicts[i]]),
            "the verdict beside it"
        );
    }
}

#[test]
fn a_metric_chart_has_one_line_per_series() {
    let Some(mut browser) = open(&format!("{}#metrics", file_url(&study("schedules")))) else {
        return;
    };
    // chamfer against T: a panel per scaling, a line per schedule.
    let panels = browser.eval(
        "(() => { const m = diffsweep.charts.metrics[0]; const out = []; \
           m.data.panels.forEach((p, k) => { \
             const lines = m.chart.getModel().getSeries().filter(s => s.subType === 'line' \
               && s.get('xAxisIndex') === k && s.name !== 'noise floor'); \
             out.push({ title: p.title, expected: p.lines.map(l => l.label), \
               names: lines.map(s => s.name), drawn: lines.every(s => s.getData().count() > 0 \
                 && !!s.getData().getItemGraphicEl(0)) }); }); \
           return [m.data.metric, m.data.x_name, out]; })()",
    );
    assert_eq!(panels[0], "chamfer");
    assert_eq!(panels[1], "T");
    let schedules =
        browser.eval("diffsweep.data.axes.find(a => a.name === 'schedule.kind').labels.length");
    let panels = panels[2].as_array().unwrap();
    assert_eq!(panels.len(), 2, "one panel per scaling");
    for panel in panels {
        assert_eq!(panel["names"], panel["expected"], "{panel}");
        assert_eq!(
            panel["names"].as_array().unwrap().len() as u64,
            schedules.as_u64().unwrap()
        );
        assert_eq!(panel["drawn"], true);
    }
}

#[test]
fn sorting_the_run_table_by_a_metric_orders_it() {
    let Some(mut browser) = open(&format!("{}#explore", file_url(&study("schedules")))) else {
        return;
    };
    let (x, y) = centre(&mut browser, ".vt-head [data-key='metric:chamfer']");
    browser.click(x, y);
    let column = "diffsweep.table.order.map(i => diffsweep.data.runs.metrics[0][i])";
    let values = numbers(&browser.eval(column));
    assert_eq!(values.len(), 120);
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    assert!(
        finite.windows(2).all(|w| w[0] <= w[1]),
        "ascending: {finite:?}"
    );
    assert!(
        values[..finite.len()].iter().all(|v| v.is_finite()),
        "runs without a value last"
    );
    // The rows on screen are the first of that order.
    let shown = browser.eval(
        "[...document.querySelectorAll('.vt-row')].sort((a, b) => a.offsetTop - b.offsetTop).slice(0, 5) \
           .map(r => Number(r.children[6].textContent))",
    );
    let expected: Vec<f64> = finite[..5].to_vec();
    for (shown, expected) in numbers(&shown).iter().zip(&expected) {
        assert!(
            (shown - expected).abs() <= expected.abs() * 1e-3,
            "{shown} vs {expected}"
        );
    }
    browser.click(x, y);
    let values = numbers(&browser.eval(column));
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    assert!(
        finite.windows(2).all(|w| w[0] >= w[1]),
        "descending on a second click"
    );
}

#[test]
fn brushing_one_parallel_axis_leaves_exactly_the_matching_rows() {
    let Some(mut browser) = open(&format!("{}#explore", file_url(&study("schedules")))) else {
        return;
    };
    // The sliced Wasserstein axis, brushed between two of its values.
    let result = browser.eval(
        "(() => { const D = diffsweep.data; const m = D.metrics.indexOf('sliced_wasserstein'); \
           const axis = D.axes.length + 2 + m; \
           const values = D.runs.metrics[m].filter(v => v !== null).sort((a, b) => a - b); \
           const lo = values[Math.floor(values.length * 0.2)], hi = values[Math.floor(values.length * 0.6)]; \
           diffsweep.charts.parallel.dispatchAction({ type: 'axisAreaSelect', parallelAxisId: 'axis-' + axis, \
             intervals: [[lo, hi]] }); \
           const expected = []; D.runs.metrics[m].forEach((v, i) => { if (v !== null && v >= lo && v <= hi) expected.push(i); }); \
           const rows = diffsweep.table.order.slice().sort((a, b) => a - b); \
           return { expected, rows, footer: document.querySelector('.vt-foot span').textContent }; })()",
    );
    let expected = &result["expected"];
    assert!(expected.as_array().unwrap().len() > 10);
    assert_eq!(
        result["rows"], *expected,
        "the table keeps exactly the brushed runs"
    );
    assert_eq!(
        result["footer"],
        format!("{} of 120 runs", expected.as_array().unwrap().len())
    );
    // Clearing the brush brings every run back.
    let all = browser.eval(
        "(() => { const D = diffsweep.data; const axis = D.axes.length + 2 + D.metrics.indexOf('sliced_wasserstein'); \
           diffsweep.charts.parallel.dispatchAction({ type: 'axisAreaSelect', parallelAxisId: 'axis-' + axis, intervals: [] }); \
           return diffsweep.table.order.length; })()",
    );
    assert_eq!(all, 120);
}

#[test]
fn clicking_a_run_shows_its_samples() {
    let Some(mut browser) = open(&format!("{}#explore", file_url(&study("schedules")))) else {
        return;
    };
    let id = browser.eval("diffsweep.data.runs.id[diffsweep.table.order[0]]");
    let (x, y) = centre(&mut browser, ".vt-row a");
    browser.click(x, y);
    browser.wait_for("location.hash.startsWith('#run/')", WAIT, "the run opens");
    browser.eval("diffsweep.idle.then(() => true)");
    assert_eq!(
        browser.eval("location.hash"),
        Value::String(format!("#run/{}", id.as_str().unwrap()))
    );
    // The run view draws its charts after the hash changes; on a busy machine that can
    // come after the page's idle promise settles.
    browser.wait_for(
        "!!(diffsweep.charts && diffsweep.charts.samples)",
        WAIT,
        "the samples chart",
    );
    let points = browser.eval(
        "(() => { const o = diffsweep.charts.samples.getOption(); \
           return [o.series[0].name, o.series[0].data.length, o.series[1].name, o.series[1].data.length]; })()",
    );
    assert_eq!(points[0], "training data");
    assert!(points[1].as_u64().unwrap() > 100);
    assert_eq!(points[2], "samples");
    assert!(points[3].as_u64().unwrap() > 100);
    let metrics = browser.eval("document.querySelector('#run-metrics').textContent");
    assert!(metrics.as_str().unwrap().contains("sliced_wasserstein"));
    assert!(browser.errors().is_empty());
}

#[test]
fn served_pages_refresh_and_fetch_what_the_page_does_not_carry() {
    let dir = tempfile::tempdir().unwrap();
    let store = runner::RunStore::open(dir.path()).unwrap();
    let experiment = fixture::experiment(&fixture::small());
    fixture::write(&store, &experiment, |i| i < 20);
    let server = serve(dir.path());
    let Some(mut browser) = open_list(&server.url()) else {
        return;
    };
    let pending = "document.querySelector('tr[data-name=tiny] .pending-count').textContent";
    assert_eq!(browser.eval(pending), "28");
    fixture::write(&store, &experiment, |i| i >= 20);
    browser.wait_for(
        &format!("{pending} === '0'"),
        WAIT,
        "the list refreshes to 0 pending",
    );
    assert!(browser.errors().is_empty());

    // A run whose samples the experiment's page does not carry: fetched from the server.
    browser.navigate(&format!("{}/experiments/tiny", server.url()));
    browser.wait_for("window.diffsweepReadyAt", WAIT, "the experiment page");
    let id = browser.eval(
        "(() => { const D = diffsweep.data; const carried = new Set(D.samples.map(s => s.run)); \
           for (let i = 0; i < D.runs.id.length; i++) \
             if (!carried.has(i) && D.runs.status[i] === 'completed') return D.runs.id[i]; })()",
    );
    let id = id
        .as_str()
        .expect("a completed run the page does not carry")
        .to_string();
    visit(&mut browser, &format!("#run/{id}"));
    let samples = browser.eval("diffsweep.charts.samples.getOption().series[1].data.length");
    assert_eq!(samples, 200, "all of its samples, from /api/runs/{id}");
    let errors = browser.errors();
    assert!(errors.is_empty(), "{errors:?}");

    // The run list across sweeps opens on its table.
    browser.navigate(&format!("{}/runs?where=T=100", server.url()));
    browser.wait_for("window.diffsweepReadyAt", WAIT, "the run list");
    assert_eq!(browser.eval("diffsweep.table.order.length"), 24);
    let errors = browser.errors();
    assert!(errors.is_empty(), "{errors:?}");
}

/// A browser on the server's experiment list once it has polled.
fn open_list(base: &str) -> Option<Browser> {
    let mut browser = Browser::launch(1400, 900)?;
    browser.navigate(&format!("{base}/"));
    browser.wait_for(
        "window.diffsweepPolls >= 1",
        WAIT,
        "the experiment list polls",
    );
    Some(browser)
}
