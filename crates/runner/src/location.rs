//! Where a key or value sits in a TOML file, as line and column for error messages.

use std::ops::Range;

use toml_edit::{ImDocument, Item, Table, TableLike, Value};

/// One step of a path through a TOML document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// A table key, exactly as written (a quoted `"schedule.kind"` is one key).
    Key(String),
    /// An element of an array or array of tables.
    Index(usize),
}

/// A path through a TOML document, e.g. `grid` / `T` / `1`.
pub type DocPath = Vec<Segment>;

/// Whether an error is about a key (point at the key) or its value (point at the value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aim {
    /// The key itself.
    Key,
    /// The value the key holds.
    Value,
}

#[derive(Clone, Copy)]
enum Node<'a> {
    Item(&'a Item),
    Table(&'a Table),
    Value(&'a Value),
}

impl<'a> Node<'a> {
    fn table_like(self) -> Option<&'a dyn TableLike> {
        match self {
            Node::Item(item) => item.as_table_like(),
            Node::Table(table) => Some(table),
            Node::Value(Value::InlineTable(table)) => Some(table),
            Node::Value(_) => None,
        }
    }

    fn index(self, index: usize) -> Option<Node<'a>> {
        match self {
            Node::Item(Item::ArrayOfTables(tables)) => tables.get(index).map(Node::Table),
            Node::Item(Item::Value(Value::Array(array))) | Node::Value(Value::Array(array)) => {
                array.get(index).map(Node::Value)
            }
            _ => None,
        }
    }

    fn span(self) -> Option<Range<usize>> {
        match self {
            Node::Item(item) => item.span(),
            Node::Table(table) => table.span(),
            Node::Value(value) => value.span(),
        }
    }
}

/// The byte range of the deepest part of `path` found in `doc`.
pub fn locate(doc: &ImDocument<String>, path: &[Segment], aim: Aim) -> Option<Range<usize>> {
    let mut node = Node::Item(doc.as_item());
    let mut best = None;
    for (i, segment) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        match segment {
            Segment::Key(key) => {
                let Some((key, item)) = node.table_like().and_then(|t| t.get_key_value(key)) else {
                    break;
                };
                node = Node::Item(item);
                let span = if last && aim == Aim::Key {
                    key.span()
                } else {
                    item.span().or_else(|| key.span())
                };
                best = span.or(best);
            }
            Segment::Index(index) => {
                let Some(next) = node.index(*index) else {
                    break;
                };
                node = next;
                best = node.span().or(best);
            }
        }
    }
    best
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Renders a path the way a user would write the key, e.g. `grid."schedule.kind"[1]`.
pub fn display(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                if key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    out.push_str(key);
                } else {
                    out.push_str(&format!("{key:?}"));
                }
            }
            Segment::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_and_values() {
        let text = "name = \"x\"\n[grid]\nT = [10, 100]\n\"schedule.kind\" = [\"linear\"]\n[[include]]\nT = 5\n";
        let doc = ImDocument::parse(text.to_string()).unwrap();
        let key = |k: &str| Segment::Key(k.to_string());
        let at = |path: &[Segment], aim| locate(&doc, path, aim).map(|r| line_col(text, r.start));
        assert_eq!(at(&[key("grid"), key("T")], Aim::Key), Some((3, 1)));
        assert_eq!(
            at(&[key("grid"), key("T"), Segment::Index(1)], Aim::Value),
            Some((3, 10))
        );
        assert_eq!(
            at(&[key("grid"), key("schedule.kind")], Aim::Key),
            Some((4, 1))
        );
        assert_eq!(
            at(&[key("include"), Segment::Index(0), key("T")], Aim::Value),
            Some((6, 5))
        );
        assert_eq!(
            display(&[key("grid"), key("schedule.kind"), Segment::Index(1)]),
            "grid.\"schedule.kind\"[1]"
        );
    }
}
