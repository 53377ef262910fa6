//! JSON tables: an array with one object per row, keyed by column name.

use polars::prelude::{AnyValue, DataFrame};

use super::Exporter;
use crate::Result;

/// One JSON object per row. Non-finite floats become the strings `"NaN"`, `"inf"` and
/// `"-inf"`, as in `record.json`; nulls are `null`.
pub struct JsonExporter;

/// One cell of a table as JSON.
pub fn json_value(value: AnyValue<'_>) -> serde_json::Value {
    use serde_json::Value;
    match value {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => Value::Bool(b),
        AnyValue::String(s) => Value::String(s.to_string()),
        AnyValue::StringOwned(s) => Value::String(s.to_string()),
        AnyValue::Int32(v) => v.into(),
        AnyValue::Int64(v) => v.into(),
        AnyValue::UInt32(v) => v.into(),
        AnyValue::UInt64(v) => v.into(),
        AnyValue::Float32(v) => float(f64::from(v)),
        AnyValue::Float64(v) => float(v),
        other => Value::String(other.to_string()),
    }
}

fn float(v: f64) -> serde_json::Value {
    if v.is_finite() {
        serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number)
    } else if v.is_nan() {
        "NaN".into()
    } else if v > 0.0 {
        "inf".into()
    } else {
        "-inf".into()
    }
}

impl Exporter for JsonExporter {
    fn extension(&self) -> &'static str {
        "json"
    }

    fn serialize(&self, table: &DataFrame) -> Result<Vec<u8>> {
        let columns = table.get_columns();
        let rows: Vec<serde_json::Value> = (0..table.height())
            .map(|row| {
                let object = columns
                    .iter()
                    .map(|c| {
                        let value = c
                            .get(row)
                            .map(json_value)
                            .unwrap_or(serde_json::Value::Null);
                        (c.name().to_string(), value)
                    })
                    .collect();
                serde_json::Value::Object(object)
            })
            .collect();
        let mut bytes = serde_json::to_vec_pretty(&rows).expect("plain JSON values serialize");
        bytes.push(b'\n');
        Ok(bytes)
    }
}
