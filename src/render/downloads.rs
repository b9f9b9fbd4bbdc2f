//! Published tables → `data/*.csv` and `data/*.json`, with exactly the SPEC's columns and row order.

use serde::Serialize;

use crate::error::{Error, Result};

/// CSV with a header row; `None` cells are empty.
pub(crate) fn csv<T: Serialize>(rows: &[T], header: &[&str]) -> Result<Vec<u8>> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    writer.write_record(header).map_err(csv_error)?;
    for row in rows {
        writer.serialize(row).map_err(csv_error)?;
    }
    writer
        .into_inner()
        .map_err(|e| Error::Internal(format!("writing CSV failed: {e}")))
}

/// A JSON array of objects, pretty-printed, ending in a newline; `None` is `null`.
pub(crate) fn json<T: Serialize + ?Sized>(rows: &T) -> Result<Vec<u8>> {
    let mut out = serde_json::to_vec_pretty(rows)
        .map_err(|e| Error::Internal(format!("writing JSON failed: {e}")))?;
    out.push(b'\n');
    Ok(out)
}

fn csv_error(e: csv::Error) -> Error {
    Error::Internal(format!("writing CSV failed: {e}"))
}
