//! Parquet tables, typed and compact, for polars, pandas or DuckDB.

use polars::prelude::{DataFrame, ParquetWriter};

use super::Exporter;
use crate::Result;

/// Apache Parquet with the frame's column types.
pub struct ParquetExporter;

impl Exporter for ParquetExporter {
    fn extension(&self) -> &'static str {
        "parquet"
    }

    fn serialize(&self, table: &DataFrame) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        ParquetWriter::new(&mut bytes).finish(&mut table.clone())?;
        Ok(bytes)
    }
}
