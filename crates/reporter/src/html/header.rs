//! The head of `report.md` (what was run, code versions, compute time) as HTML: the page
//! shows the very text the report writes, through a converter for the little markdown it
//! uses (bullets, nested bullets, `code`, **bold**).

/// `text` with `&`, `<`, `>` and quotes escaped for HTML text and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One line of markdown with `code` and **bold** spans, escaped.
fn inline(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    let mut bold = false;
    while !rest.is_empty() {
        let code = rest.find('`');
        let strong = rest.find("**");
        match (code, strong) {
            (Some(c), s) if s.is_none_or(|s| c < s) => {
                out.push_str(&escape(&rest[..c]));
                let after = &rest[c + 1..];
                match after.find('`') {
                    Some(end) => {
                        out.push_str("<code>");
                        out.push_str(&escape(&after[..end]));
                        out.push_str("</code>");
                        rest = &after[end + 1..];
                    }
                    None => {
                        out.push_str(&escape(&rest[c..]));
                        rest = "";
                    }
                }
            }
            (_, Some(s)) => {
                out.push_str(&escape(&rest[..s]));
                out.push_str(if bold { "</strong>" } else { "<strong>" });
                bold = !bold;
                rest = &rest[s + 2..];
            }
            _ => {
                out.push_str(&escape(rest));
                rest = "";
            }
        }
    }
    if bold {
        out.push_str("</strong>");
    }
    out
}

/// The part of `report.md` from `## What was run` up to the next section.
pub fn what_was_run(report: &str) -> &str {
    let Some(start) = report.find("## What was run") else {
        return "";
    };
    let body = &report[start..];
    let body_start = body.find('\n').map_or(body.len(), |i| i + 1);
    let end = body[body_start..]
        .find("\n## ")
        .map_or(body.len(), |i| body_start + i);
    &body[body_start..end]
}

/// Bulleted markdown (two-space indents nest one level) as HTML lists; other lines as
/// paragraphs.
pub fn to_html(markdown: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        let indent = (line.len() - trimmed.len()) / 2;
        if let Some(item) = trimmed.strip_prefix("- ") {
            let level = indent + 1;
            while depth < level {
                out.push_str("<ul>");
                depth += 1;
            }
            while depth > level {
                out.push_str("</li></ul>");
                depth -= 1;
            }
            if out.ends_with("<ul>") {
                out.push_str("<li>");
            } else {
                out.push_str("</li><li>");
            }
            out.push_str(&inline(item));
        } else if !trimmed.is_empty() {
            while depth > 0 {
                out.push_str("</li></ul>");
                depth -= 1;
            }
            out.push_str("<p>");
            out.push_str(&inline(trimmed));
            out.push_str("</p>");
        }
    }
    while depth > 0 {
        out.push_str("</li></ul>");
        depth -= 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bullets_code_and_bold_become_html() {
        let md = "- `T`: 10, 100\n- **2 cells have no stored run yet**: see <here>\n  - nested & more\n- last\n";
        assert_eq!(
            to_html(md),
            "<ul><li><code>T</code>: 10, 100</li><li><strong>2 cells have no stored run \
             yet</strong>: see &lt;here&gt;<ul><li>nested &amp; more</li></ul></li><li>last</li></ul>"
        );
    }

    #[test]
    fn the_section_ends_at_the_next_heading() {
        let report = "# Report: x\n\n## What was run\n\n- a\n- b\n\n## Summary\n\nrest";
        assert_eq!(what_was_run(report).trim(), "- a\n- b");
        assert_eq!(what_was_run("no such section"), "");
    }
}
