//! GitHub-flavoured markdown tables, for reports and READMEs.

use polars::prelude::{AnyValue, DataFrame};

use super::Exporter;
use crate::compare::fmt_num;
use crate::Result;

/// A pipe table; numbers get four significant digits, nulls a dash, text is escaped.
pub struct MarkdownExporter;

impl MarkdownExporter {
    /// The table as markdown text.
    pub fn render(&self, table: &DataFrame) -> String {
        let header: Vec<String> = table
            .get_column_names()
            .iter()
            .map(|name| escape(name.as_str()))
            .collect();
        let mut out = format!("| {} |\n", header.join(" | "));
        let rule: Vec<&str> = header.iter().map(|_| "---").collect();
        out.push_str(&format!("| {} |\n", rule.join(" | ")));
        for row in 0..table.height() {
            let cells: Vec<String> = table
                .get_columns()
                .iter()
                .map(|column| match column.get(row) {
                    Ok(value) => cell(&value),
                    Err(_) => "–".to_string(),
                })
                .collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        out
    }
}

fn cell(value: &AnyValue) -> String {
    match value {
        AnyValue::Null => "–".to_string(),
        AnyValue::Float64(x) => fmt_num(*x),
        AnyValue::Float32(x) => fmt_num(f64::from(*x)),
        AnyValue::String(s) => escape(s),
        AnyValue::StringOwned(s) => escape(s.as_str()),
        other => escape(&other.to_string()),
    }
}

fn escape(text: &str) -> String {
    text.replace('|', "\\|")
}

impl Exporter for MarkdownExporter {
    fn extension(&self) -> &'static str {
        "md"
    }

    fn serialize(&self, table: &DataFrame) -> Result<Vec<u8>> {
        Ok(self.render(table).into_bytes())
    }
}
