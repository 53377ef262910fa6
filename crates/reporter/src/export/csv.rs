//! CSV tables, for spreadsheets and other tools.

use polars::prelude::{CsvWriter, DataFrame, SerWriter};

use super::Exporter;
use crate::Result;

/// Comma-separated values with a header row; nulls are empty fields.
pub struct CsvExporter;

impl Exporter for CsvExporter {
    fn extension(&self) -> &'static str {
        "csv"
    }

    fn serialize(&self, table: &DataFrame) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        CsvWriter::new(&mut bytes)
            .include_header(true)
            .finish(&mut table.clone())?;
        Ok(bytes)
    }
}
