//! Deletion requests: each request's status as of the report's date, and `deletions` (one row per
//! partner and month sent), computed with polars.
//!
//! A request is *overdue* when the partner has a `deletion_deadline_days` and the request was not
//! completed within that many days of `sent_at`: completed late, or still open past the deadline at
//! the end of the report's `published` day (UTC). Completing exactly at the deadline is on time.

use polars::prelude::*;
use serde::Serialize;

use super::columns::{EXPORT, ITEMS, PARTNER};
use super::scan::{MICROS_PER_DAY, utc_month};
use crate::model::Report;

const SENT: &str = "__sent";
const ACKNOWLEDGED: &str = "__acknowledged";
const COMPLETED: &str = "__completed";
const DEADLINE: &str = "__deadline";
/// Per request: its reason's slug, empty when it gives none.
const REASON: &str = "reason";
/// Per request: completed, but after the deadline.
pub(crate) const LATE: &str = "late";
/// Per request: still open as of the report's date.
pub(crate) const OPEN: &str = "open";
/// Per request: late, or open past the deadline.
pub(crate) const OVERDUE: &str = "overdue";
const DONE: &str = "completed";
const ACK: &str = "acknowledged";

/// One row of `data/deletions.csv`. Request counts are never suppressed (they count the
/// platform's requests, not people); item counts are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct DeletionRow<C = u64> {
    pub(crate) partner: String,
    pub(crate) month: String,
    pub(crate) requests: u64,
    pub(crate) requests_acknowledged: u64,
    pub(crate) requests_completed: u64,
    pub(crate) requests_completed_late: u64,
    pub(crate) requests_open: u64,
    pub(crate) requests_overdue: u64,
    pub(crate) items: C,
    pub(crate) items_acknowledged: C,
    pub(crate) items_completed: C,
    pub(crate) items_overdue: C,
    /// Requests completed within the deadline (`requests_completed - requests_completed_late`).
    pub(crate) requests_completed_in_time: u64,
    /// Requests still open past the deadline (`requests_overdue - requests_completed_late`).
    pub(crate) requests_open_overdue: u64,
    /// Requests still open within the deadline (`requests_open - requests_open_overdue`).
    pub(crate) requests_open_in_time: u64,
}

/// Every request with its status: `partner`, `__month`, `items`, and booleans `acknowledged`,
/// `completed`, `late`, `open`, `overdue`. Request ids are left behind here.
pub(crate) fn requests(report: &Report) -> PolarsResult<DataFrame> {
    let now = super::report_now(report);
    let r = &report.deletions;
    let requests = df!(
        PARTNER => r.iter().map(|d| d.partner.as_str()).collect::<Vec<_>>(),
        SENT => r.iter().map(|d| d.sent_at.timestamp_micros()).collect::<Vec<i64>>(),
        ITEMS => r.iter().map(|d| d.items).collect::<Vec<u64>>(),
        ACKNOWLEDGED => r.iter().map(|d| d.acknowledged_at.map(|t| t.timestamp_micros())).collect::<Vec<_>>(),
        COMPLETED => r.iter().map(|d| d.completed_at.map(|t| t.timestamp_micros())).collect::<Vec<_>>(),
        EXPORT => r.iter().map(|d| d.export.as_ref().map_or("", |e| e.as_str())).collect::<Vec<_>>(),
        REASON => r.iter().map(|d| d.reason.map_or("", |x| x.slug())).collect::<Vec<_>>(),
    )?;
    let deadlines = df!(
        PARTNER => report.partners.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        DEADLINE => report.partners.iter().map(|p| p.deletion_deadline_days.map(i64::from)).collect::<Vec<_>>(),
    )?;
    let deadline = col(SENT) + col(DEADLINE) * lit(MICROS_PER_DAY);
    let completed = col(COMPLETED).is_not_null();
    let late = completed
        .clone()
        .and(col(COMPLETED).gt(deadline.clone()))
        .fill_null(lit(false));
    let open_past = completed
        .clone()
        .not()
        .and(lit(now).gt(deadline))
        .fill_null(lit(false));
    // SELECT partner, month(sent_at), items, acknowledged_at IS NOT NULL AS acknowledged,
    //        completed_at IS NOT NULL AS completed, completed_at > deadline AS late,
    //        completed_at IS NULL AS open, late OR (open AND :now > deadline) AS overdue
    // FROM requests LEFT JOIN partners USING (partner)
    requests
        .lazy()
        .join(
            deadlines.lazy(),
            [col(PARTNER)],
            [col(PARTNER)],
            JoinArgs::new(JoinType::Left),
        )
        .select([
            col(PARTNER),
            utc_month(col(SENT)).alias(super::ledger::MONTH_NO),
            col(ITEMS),
            col(ACKNOWLEDGED).is_not_null().alias(ACK),
            completed.clone().alias(DONE),
            late.clone().alias(LATE),
            completed.not().alias(OPEN),
            late.or(open_past).alias(OVERDUE),
            col(EXPORT),
            col(REASON),
        ])
        .collect()
}

/// `requests_<flag>`: how many requests of a group have the boolean `flag`.
fn n(flag: &str) -> Expr {
    col(flag)
        .sum()
        .cast(DataType::UInt64)
        .alias(format!("requests_{flag}"))
}

/// A count column of an aggregated frame.
fn counts(df: &DataFrame, name: &str) -> PolarsResult<UInt64Chunked> {
    Ok(df.column(name)?.u64()?.clone())
}

/// One row of `data/deletions-by-export.csv`: the requests to a partner that name the same
/// export batch (or none) and give the same reason (or none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct DeletionExportRow<C = u64> {
    pub(crate) partner: String,
    /// The export batch the requests name; empty for requests that name none.
    pub(crate) export: String,
    /// Their reason's slug; empty for requests that give none.
    pub(crate) reason: String,
    pub(crate) requests: u64,
    pub(crate) requests_completed: u64,
    pub(crate) requests_overdue: u64,
    /// Items the requests asked to delete. Only the total: the items of completed or overdue
    /// requests per group would be one more way to add up `deletions`' hidden months (their
    /// request counts are given).
    pub(crate) items: C,
}

/// `deletions-by-export`: one row per (partner, export named, reason given), sorted by them
/// (requests that name no export, or give no reason, sort first).
pub(crate) fn by_export(requests: &DataFrame) -> PolarsResult<Vec<DeletionExportRow>> {
    // SELECT partner, export, reason, count(*), count(*) FILTER (WHERE completed),
    //        count(*) FILTER (WHERE overdue), sum(items)
    // FROM requests GROUP BY partner, export, reason ORDER BY partner, export, reason
    let df = requests
        .clone()
        .lazy()
        .group_by([col(PARTNER), col(EXPORT), col(REASON)])
        .agg([
            len().cast(DataType::UInt64).alias("requests"),
            n(DONE),
            n(OVERDUE),
            col(ITEMS).sum().cast(DataType::UInt64).alias(ITEMS),
        ])
        .sort([PARTNER, EXPORT, REASON], SortMultipleOptions::default())
        .collect()?;
    let text = |c: &str| -> PolarsResult<StringChunked> { Ok(df.column(c)?.str()?.clone()) };
    let (partner, export, reason) = (text(PARTNER)?, text(EXPORT)?, text(REASON)?);
    let u = |c: &str| counts(&df, c);
    let cols = ["requests", "requests_completed", "requests_overdue", ITEMS]
        .iter()
        .map(|c| u(c))
        .collect::<PolarsResult<Vec<_>>>()?;
    Ok((0..df.height())
        .map(|i| {
            let v = |k: usize| cols[k].get(i).unwrap_or(0);
            let s = |c: &StringChunked| c.get(i).unwrap_or_default().to_owned();
            DeletionExportRow {
                partner: s(&partner),
                export: s(&export),
                reason: s(&reason),
                requests: v(0),
                requests_completed: v(1),
                requests_overdue: v(2),
                items: v(3),
            }
        })
        .collect())
}

/// `deletions`: one row per (partner, month sent), sorted by partner and month.
pub(crate) fn rows(requests: &DataFrame) -> PolarsResult<Vec<DeletionRow>> {
    let items = |flag: &str| {
        col(ITEMS)
            .filter(col(flag))
            .sum()
            .cast(DataType::UInt64)
            .alias(format!("items_{flag}"))
    };
    // SELECT partner, month, count(*), count(*) FILTER (WHERE acknowledged), ...,
    //        sum(items), sum(items) FILTER (WHERE acknowledged), ...
    // FROM requests GROUP BY partner, month ORDER BY partner, month
    let df = requests
        .clone()
        .lazy()
        .group_by([col(PARTNER), col(super::ledger::MONTH_NO)])
        .agg([
            len().cast(DataType::UInt64).alias("requests"),
            n(ACK),
            n(DONE),
            n(LATE),
            n(OPEN),
            n(OVERDUE),
            col(ITEMS).sum().cast(DataType::UInt64).alias(ITEMS),
            items(ACK),
            items(DONE),
            items(OVERDUE),
        ])
        .sort(
            [PARTNER, super::ledger::MONTH_NO],
            SortMultipleOptions::default(),
        )
        .collect()?;
    let partner = df.column(PARTNER)?.str()?;
    let month = df.column(super::ledger::MONTH_NO)?.i32()?;
    let u = |c: &str| counts(&df, c);
    let cols = [
        "requests",
        "requests_acknowledged",
        "requests_completed",
        "requests_late",
        "requests_open",
        "requests_overdue",
        ITEMS,
        "items_acknowledged",
        "items_completed",
        "items_overdue",
    ]
    .iter()
    .map(|c| u(c))
    .collect::<PolarsResult<Vec<_>>>()?;
    Ok((0..df.height())
        .map(|i| {
            let v = |k: usize| cols[k].get(i).unwrap_or(0);
            DeletionRow {
                partner: partner.get(i).unwrap_or_default().to_owned(),
                month: crate::time::month_text(month.get(i).unwrap_or(0)),
                requests: v(0),
                requests_acknowledged: v(1),
                requests_completed: v(2),
                requests_completed_late: v(3),
                requests_open: v(4),
                requests_overdue: v(5),
                items: v(6),
                items_acknowledged: v(7),
                items_completed: v(8),
                items_overdue: v(9),
                // Each request is in exactly one of four states: completed in time or late,
                // open past or within the deadline.
                requests_completed_in_time: v(2).saturating_sub(v(3)),
                requests_open_overdue: v(5).saturating_sub(v(3)),
                requests_open_in_time: v(4).saturating_sub(v(5).saturating_sub(v(3))),
            }
        })
        .collect())
}

/// One partner's overdue deletion requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Overdue {
    pub(crate) partner: String,
    /// Overdue requests.
    pub(crate) requests: u64,
    /// Their items.
    pub(crate) items: u64,
    /// Of them, completed late.
    pub(crate) late: u64,
    /// Of them, still open.
    pub(crate) open: u64,
}

/// Per partner with overdue requests, for the deletion-overdue finding, sorted by partner.
pub(crate) fn overdue_by_partner(requests: &DataFrame) -> PolarsResult<Vec<Overdue>> {
    // SELECT partner, count(*), sum(items), count(*) FILTER (WHERE late), count(*) FILTER (WHERE open)
    // FROM requests WHERE overdue GROUP BY partner ORDER BY partner
    let df = requests
        .clone()
        .lazy()
        .filter(col(OVERDUE))
        .group_by([col(PARTNER)])
        .agg([
            len().cast(DataType::UInt64).alias("requests"),
            col(ITEMS).sum().cast(DataType::UInt64).alias(ITEMS),
            col(LATE).sum().cast(DataType::UInt64).alias(LATE),
            col(OPEN).sum().cast(DataType::UInt64).alias(OPEN),
        ])
        .sort([PARTNER], SortMultipleOptions::default())
        .collect()?;
    let partner = df.column(PARTNER)?.str()?;
    let u = |c: &str| counts(&df, c);
    let (n, items, late, open) = (u("requests")?, u(ITEMS)?, u(LATE)?, u(OPEN)?);
    Ok((0..df.height())
        .map(|i| Overdue {
            partner: partner.get(i).unwrap_or_default().to_owned(),
            requests: n.get(i).unwrap_or(0),
            items: items.get(i).unwrap_or(0),
            late: late.get(i).unwrap_or(0),
            open: open.get(i).unwrap_or(0),
        })
        .collect())
}
