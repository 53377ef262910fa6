//! The screenshots of docs/screenshots (run by hand, not in CI):
//! `DIFFSWEEP_SCREENSHOTS=docs/screenshots DIFFSWEEP_SCREENSHOT_STORE=<a copy of a store>
//! cargo test -p serve --test it screenshots -- --ignored`. The study page's views come
//! from the committed schedules report; the server's list from the store given, into
//! which half of the small fixture sweep is written (a sweep under way), or from that
//! fixture alone when none is given.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cdp::{file_url, Browser};
use crate::fixture;
use crate::http::serve;

const WAIT: Duration = Duration::from_secs(45);

fn shoot(browser: &mut Browser, url: &str, scroll_to: Option<&str>, out: &Path) {
    browser.navigate(url);
    browser.wait_for(
        "window.diffsweepReadyAt || window.diffsweepPolls",
        WAIT,
        url,
    );
    if let Some(selector) = scroll_to {
        browser.eval(&format!(
            "document.querySelector({selector:?}).scrollIntoView({{block: 'start'}}); window.scrollBy(0, -56); true"
        ));
    }
    std::thread::sleep(Duration::from_millis(400));
    browser.screenshot(out);
    println!("{}", out.display());
}

#[test]
#[ignore = "writes the documentation's screenshots"]
fn screenshots() {
    let Some(dir) = std::env::var_os("DIFFSWEEP_SCREENSHOTS").map(PathBuf::from) else {
        eprintln!("set DIFFSWEEP_SCREENSHOTS to a folder");
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    let Some(mut browser) = Browser::launch(1400, 900) else {
        return;
    };
    let page =
        file_url(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../reports/schedules/index.html"));
    shoot(
        &mut browser,
        &format!("{page}#overview"),
        None,
        &dir.join("report-overview.png"),
    );
    shoot(
        &mut browser,
        &format!("{page}#metrics"),
        None,
        &dir.join("report-metrics.png"),
    );
    // The runs brushed to the best quarter on sliced Wasserstein, sorted by it.
    shoot(
        &mut browser,
        &format!("{page}#explore"),
        None,
        &dir.join("report-runs.png"),
    );
    browser.eval(
        "(() => { const D = diffsweep.data; const m = D.metrics.indexOf('sliced_wasserstein'); \
           const v = D.runs.metrics[m].filter(x => x !== null).sort((a, b) => a - b); \
           diffsweep.charts.parallel.dispatchAction({ type: 'axisAreaSelect', \
             parallelAxisId: 'axis-' + (D.axes.length + 2 + m), intervals: [[v[0], v[Math.floor(v.length / 4)]]] }); \
           diffsweep.table.sortBy(diffsweep.table.columns.findIndex(c => c.key === 'metric:sliced_wasserstein')); \
           return true; })()",
    );
    std::thread::sleep(Duration::from_millis(600));
    browser.screenshot(&dir.join("report-runs.png"));
    shoot(
        &mut browser,
        &format!("{page}#run"),
        None,
        &dir.join("report-run.png"),
    );
    // The reverse process half way from noise to samples, with the run's record below.
    browser.eval(
        "(() => { const s = document.getElementById('reverse-frame'); s.value = Math.floor(s.max / 2); \
           s.dispatchEvent(new Event('input')); s.closest('.card').scrollIntoView({block: 'start'}); \
           window.scrollBy(0, -60); return true; })()",
    );
    std::thread::sleep(Duration::from_millis(400));
    browser.screenshot(&dir.join("report-run-reverse.png"));

    let fixture_dir = tempfile::tempdir().unwrap();
    let root = std::env::var_os("DIFFSWEEP_SCREENSHOT_STORE")
        .map(PathBuf::from)
        .unwrap_or_else(|| fixture_dir.path().to_path_buf());
    let store = runner::RunStore::open(&root).unwrap();
    fixture::write(&store, &fixture::experiment(&fixture::small()), |i| i < 30);
    let server = serve(&root);
    shoot(
        &mut browser,
        &format!("{}/", server.url()),
        None,
        &dir.join("serve-experiments.png"),
    );
}
