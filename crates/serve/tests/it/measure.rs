//! Time to interactive of a page in headless Chromium (run by hand, not in CI):
//! `DIFFSWEEP_PAGE=path cargo test -p serve --test it measure -- --ignored --nocapture`.
//! The page sets `window.diffsweepReadyAt` to `performance.now()` once it answers input.

use std::time::Duration;

use crate::cdp::{file_url, Browser};

#[test]
#[ignore = "a measurement: set DIFFSWEEP_PAGE"]
fn page_time_to_interactive() {
    let Some(page) = std::env::var_os("DIFFSWEEP_PAGE") else {
        eprintln!("set DIFFSWEEP_PAGE to an HTML file");
        return;
    };
    let path = std::path::PathBuf::from(page);
    let size = std::fs::metadata(&path).unwrap().len();
    let mut times = Vec::new();
    for _ in 0..3 {
        let Some(mut browser) = Browser::launch(1400, 900) else {
            return;
        };
        browser.navigate(&file_url(&path));
        browser.wait_for("window.diffsweepReadyAt", Duration::from_secs(60), "ready");
        let at = browser.eval("window.diffsweepReadyAt").as_f64().unwrap();
        let errors = browser.errors();
        assert!(errors.is_empty(), "{errors:?}");
        times.push(at);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{}: {:.2} MB, time to interactive {:.0} ms (median of 3; all {times:?})",
        path.display(),
        size as f64 / 1e6,
        times[1]
    );
}
