//! Per-owner records of every export with an item listing, for receipts: what the batch held
//! of each owner's items, per category and year, with the flags, and whether the owner was
//! opted out for the partner at the export and at the report's date.

use polars::prelude::*;

use super::columns::OWNER_ID;
use super::exports::window_micros;
use super::ledger;
use super::listings::{self, ListingContext};
use super::{internal, report_now};
use crate::error::{Error, Result};
use crate::model::Report;

/// Calls `each` with the index (in `report.exports`) of every export that has an item listing
/// and its rows: one per item (in no particular order) with `owner_id` (integers as `Int64`,
/// else text), `category`, `year`, the flags, and the two opt-out marks. The caller groups them
/// by owner (`receipts::batch`). Returns whether the report has a ledger (without one the marks
/// are null). Run after a build's aggregation: the rows are valid.
pub(crate) fn owner_records(
    report: &Report,
    mut each: impl FnMut(usize, DataFrame) -> Result<()>,
) -> Result<bool> {
    let ledger = match report
        .ledger
        .as_ref()
        .map(|t| ledger::load(t, &report.partners, report.partners_read))
    {
        Some(Ok(l)) => Some(l),
        Some(Err(p)) => return Err(Error::invalid(p)),
        None => None,
    };
    let categories = report.meta.category_ids();
    for (i, export) in report.exports.iter().enumerate() {
        let Some(items) = &export.items else {
            continue;
        };
        let partner = report.partner(export.partner.as_str());
        let context = ListingContext {
            ledger: ledger.as_ref().zip(partner),
            exported_at: export.exported_at.timestamp_micros(),
            now: report_now(report),
            window: window_micros(export),
            kept: None,
        };
        let mut frames = items
            .files
            .iter()
            .map(|part| listings::receipt_rows(part, &categories, &context))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(Error::invalid)?;
        // Parts whose ids are not all integers are grouped as text.
        let mut integers = true;
        for f in &mut frames {
            let schema = f.collect_schema().map_err(internal)?;
            integers &= schema.get(OWNER_ID) == Some(&DataType::Int64);
        }
        if !integers {
            frames = frames
                .into_iter()
                .map(|f| f.with_column(col(OWNER_ID).cast(DataType::String)))
                .collect();
        }
        if frames.is_empty() {
            continue;
        }
        // SELECT owner_id, category, year, private, ..., __opted, __opted_now FROM parts
        let df = concat(frames, UnionArgs::default())
            .and_then(LazyFrame::collect)
            .map_err(internal)?;
        each(i, df)?;
    }
    Ok(ledger.is_some())
}
