//! Output formats for tables: each format is one type behind the small [`Exporter`] trait.

mod csv;
mod json;
mod markdown;
mod parquet;

use std::path::{Path, PathBuf};

use polars::prelude::DataFrame;

pub use self::csv::CsvExporter;
pub use self::json::{json_value, JsonExporter};
pub use self::markdown::MarkdownExporter;
pub use self::parquet::ParquetExporter;

use crate::{Error, Result};

/// Turns a table into the bytes of one file format.
pub trait Exporter {
    /// The file extension of the format, without the dot.
    fn extension(&self) -> &'static str;

    /// The table in this format.
    fn serialize(&self, table: &DataFrame) -> Result<Vec<u8>>;
}

/// Writes `table` as `<dir>/<stem>.<ext>` in each format; returns the paths written.
pub fn write_table(
    dir: &Path,
    stem: &str,
    table: &DataFrame,
    exporters: &[&dyn Exporter],
) -> Result<Vec<PathBuf>> {
    exporters
        .iter()
        .map(|exporter| {
            let path = dir.join(format!("{stem}.{}", exporter.extension()));
            let bytes = exporter.serialize(table)?;
            std::fs::write(&path, bytes).map_err(|error| Error::Io {
                path: path.clone(),
                error,
            })?;
            Ok(path)
        })
        .collect()
}
