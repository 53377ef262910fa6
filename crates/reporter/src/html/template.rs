//! The page's frame: the vendored chart library, the page's own script and style, and
//! the data, all inlined into one HTML file that makes no request (its Content Security
//! Policy forbids any but its own JSON endpoints when served).

use super::header::escape;

/// Apache ECharts, vendored from npm (`crates/reporter/assets/vendor/echarts-6.1.0/`,
/// Apache License 2.0; see its `README.md` for how to update it).
pub const ECHARTS: &str = include_str!("../../assets/vendor/echarts-6.1.0/echarts.min.js");
/// The version of [`ECHARTS`].
pub const ECHARTS_VERSION: &str = "6.1.0";

/// The page's style.
const STYLE: &str = include_str!("../../assets/html/page.css");

/// The page's scripts, in load order: shared helpers and routing first, then one file
/// per view.
const SCRIPTS: [&str; 6] = [
    include_str!("../../assets/html/app.js"),
    include_str!("../../assets/html/overview.js"),
    include_str!("../../assets/html/metrics.js"),
    include_str!("../../assets/html/table.js"),
    include_str!("../../assets/html/explore.js"),
    include_str!("../../assets/html/run.js"),
];

/// The page's body before the data: the navigation and one container per view.
const BODY: &str = include_str!("../../assets/html/body.html");

/// JSON made safe inside `<script>`: `<` only occurs in strings, where `\u003c` means
/// the same, so no `</script>` can end the element early.
pub fn script_json(json: &str) -> String {
    json.replace('<', "\\u003c")
}

/// The whole page around `data_json` (the page's data as JSON).
pub fn page(title: &str, data_json: &str) -> String {
    let scripts: String = SCRIPTS.concat();
    let mut out = String::with_capacity(ECHARTS.len() + data_json.len() + scripts.len() + 8192);
    out.push_str("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    // Inline scripts and styles only; fetches only to the serving origin (the static file
    // makes none): nothing leaves the page.
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; \
         connect-src 'self'\">\n",
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(&format!("<title>{}</title>\n", escape(title)));
    out.push_str("<style>\n");
    out.push_str(STYLE);
    out.push_str("</style>\n</head>\n<body>\n");
    out.push_str(BODY);
    out.push_str("<script type=\"application/json\" id=\"diffsweep-data\">");
    out.push_str(&script_json(data_json));
    out.push_str("</script>\n");
    out.push_str(&format!(
        "<!-- Apache ECharts {ECHARTS_VERSION}, Apache License 2.0 (crates/reporter/assets/vendor/echarts-{ECHARTS_VERSION}/LICENSE) -->\n<script>"
    ));
    out.push_str(ECHARTS);
    out.push_str("</script>\n<script>\n");
    out.push_str(&scripts);
    out.push_str("</script>\n</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_inlined_script_can_close_its_element() {
        for script in SCRIPTS.iter().chain([&ECHARTS]) {
            assert!(!script.to_ascii_lowercase().contains("</script"));
        }
        assert_eq!(
            script_json(r#"{"a":"</script>"}"#),
            r#"{"a":"\u003c/script>"}"#
        );
    }
}
