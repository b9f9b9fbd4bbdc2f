//! Aggregate stage: checked [`Report`] → [`Tables`], every count computed with polars.
//!
//! Each published table has one function named after it. Every polars chain carries the SQL it
//! computes in a comment above it.

pub(crate) mod columns;
mod listings;
pub(crate) mod suppress;

use polars::prelude::*;
use serde::Serialize;

use self::columns::*;
use crate::error::{Error, Problem, Problems, Result};
use crate::model::{CategoryId, CountRow, DeclaredCounts, Export, Report};
use crate::time::format_instant;

/// One row of `data/shared-items.csv` (SPEC column order). `C` is `u64` before suppression and
/// `Option<u64>` after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct SharedItemRow<C = u64> {
    pub(crate) partner: String,
    pub(crate) export: String,
    pub(crate) category: String,
    pub(crate) year: i32,
    pub(crate) items: C,
    pub(crate) private: C,
    pub(crate) deleted: C,
    pub(crate) suspended: C,
    pub(crate) explicit: C,
    pub(crate) minor: C,
    pub(crate) opted_out: Option<C>,
}

/// One row of `data/exports.csv` (SPEC column order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ExportRow<C = u64> {
    pub(crate) export: String,
    pub(crate) partner: String,
    pub(crate) exported_at: String,
    pub(crate) items: C,
    pub(crate) categories: u64,
    pub(crate) first_year: Option<i32>,
    pub(crate) last_year: Option<i32>,
}

/// One row of `data/partners.csv`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PartnerRow<C = u64> {
    pub(crate) partner: String,
    pub(crate) name: String,
    pub(crate) country: Option<String>,
    pub(crate) purposes: String,
    pub(crate) legal_basis: String,
    pub(crate) honours_opt_out: String,
    pub(crate) agreement_signed: String,
    pub(crate) agreement_ends: Option<String>,
    pub(crate) deletion_deadline_days: Option<u32>,
    pub(crate) exports: u64,
    pub(crate) items: C,
    pub(crate) first_export: Option<String>,
    pub(crate) last_export: Option<String>,
}

/// One row of `data/opt-outs-monthly.csv` (SPEC column order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct OptOutMonthRow<C = u64> {
    pub(crate) month: String,
    pub(crate) opted_out: C,
    pub(crate) withdrawn: C,
    pub(crate) active: C,
    pub(crate) accounts: Option<C>,
}

/// Item totals over a grouping, for charts and summaries: the key values and the item count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Total<C = u64> {
    pub(crate) key: Vec<String>,
    pub(crate) items: C,
}

/// Every aggregate the site publishes, before suppression.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tables<C = u64> {
    pub(crate) shared_items: Vec<SharedItemRow<C>>,
    pub(crate) exports: Vec<ExportRow<C>>,
    pub(crate) partners: Vec<PartnerRow<C>>,
    pub(crate) opt_outs_monthly: Vec<OptOutMonthRow<C>>,
    /// Items by (partner, year).
    pub(crate) by_partner_year: Vec<Total<C>>,
    /// Items by (partner, category).
    pub(crate) by_partner_category: Vec<Total<C>>,
    /// Items by (partner, category, year), across exports.
    pub(crate) by_partner_category_year: Vec<Total<C>>,
    /// Items by year.
    pub(crate) by_year: Vec<Total<C>>,
    /// Items by category.
    pub(crate) by_category: Vec<Total<C>>,
    /// All items.
    pub(crate) total_items: C,
}

/// Computes every table from the checked report.
pub(crate) fn aggregate(report: &Report) -> Result<Tables> {
    let shared = shared_items_frame(report)?;
    let exports = exports(report, &shared)?;
    let partners = partners(report, &exports)?;
    let opt_outs_monthly = opt_outs_monthly(report)?;
    Ok(Tables {
        shared_items: shared_item_rows(&shared)?,
        by_partner_year: totals(&shared, &[PARTNER, YEAR])?,
        by_partner_category: totals(&shared, &[PARTNER, CATEGORY])?,
        by_partner_category_year: totals(&shared, &[PARTNER, CATEGORY, YEAR])?,
        by_year: totals(&shared, &[YEAR])?,
        by_category: totals(&shared, &[CATEGORY])?,
        total_items: totals(&shared, &[])?.first().map_or(0, |t| t.items),
        exports,
        partners,
        opt_outs_monthly,
    })
}

fn internal(e: PolarsError) -> Error {
    Error::Internal(format!("aggregation failed: {e}"))
}

/// Counts of one export: from its item listing when it has one (the truth), else its declared counts.
fn export_counts(
    categories: &[CategoryId],
    export: &Export,
) -> std::result::Result<DataFrame, Vec<Problem>> {
    let frame = if let Some(items) = &export.items {
        listings::aggregate_listing(items, categories)?
            .lazy()
            .with_column(lit(NULL).cast(DataType::UInt64).alias(OPTED_OUT))
    } else {
        let rows = match &export.counts {
            Some(DeclaredCounts::Inline(rows)) => rows.clone(),
            Some(DeclaredCounts::Table(table)) => listings::read_count_table(table, categories)?,
            None => Vec::new(),
        };
        count_rows_frame(&rows).map_err(|e| vec![Problem::new(&export.manifest, e.to_string())])?
    };
    frame
        .with_columns([
            lit(export.partner.as_str()).alias(PARTNER),
            lit(export.id.as_str()).alias(EXPORT),
        ])
        .select(shared_items_columns())
        .collect()
        .map_err(|e| vec![Problem::new(&export.manifest, e.to_string())])
}

fn shared_items_columns() -> Vec<Expr> {
    [PARTNER, EXPORT, CATEGORY, YEAR, ITEMS]
        .iter()
        .chain(FLAGS.iter())
        .chain([OPTED_OUT].iter())
        .map(|c| col(*c))
        .collect()
}

fn count_rows_frame(rows: &[CountRow]) -> PolarsResult<LazyFrame> {
    let flag = |f: fn(&CountRow) -> u64| rows.iter().map(f).collect::<Vec<u64>>();
    let df = df!(
        CATEGORY => rows.iter().map(|r| r.category.as_str()).collect::<Vec<_>>(),
        YEAR => rows.iter().map(|r| r.year).collect::<Vec<i32>>(),
        ITEMS => flag(|r| r.items),
        PRIVATE => flag(|r| r.private),
        DELETED => flag(|r| r.deleted),
        SUSPENDED => flag(|r| r.suspended),
        EXPLICIT => flag(|r| r.explicit),
        MINOR => flag(|r| r.minor),
        OPTED_OUT => rows.iter().map(|r| r.opted_out).collect::<Vec<Option<u64>>>(),
    )?;
    Ok(df.lazy())
}

/// `shared-items` as a polars frame: one row per (partner, export, category, year).
fn shared_items_frame(report: &Report) -> Result<DataFrame> {
    let mut problems = Problems::default();
    let mut frames = Vec::new();
    let categories = report.meta.category_ids();
    for export in &report.exports {
        match export_counts(&categories, export) {
            Ok(df) => frames.push(df.lazy()),
            Err(p) => problems.extend(p),
        }
    }
    problems.finish(())?;
    if frames.is_empty() {
        return count_rows_frame(&[])
            .and_then(|lf| {
                lf.with_columns([lit("").alias(PARTNER), lit("").alias(EXPORT)])
                    .select(shared_items_columns())
                    .limit(0)
                    .collect()
            })
            .map_err(internal);
    }
    // SELECT partner, export, category, year, items, private, ..., opted_out
    // FROM (per-export counts UNION ALL ...) ORDER BY partner, export, category, year
    concat(frames, UnionArgs::default())
        .and_then(|lf| {
            lf.sort(
                [PARTNER, EXPORT, CATEGORY, YEAR],
                SortMultipleOptions::default(),
            )
            .collect()
        })
        .map_err(internal)
}

fn shared_item_rows(df: &DataFrame) -> Result<Vec<SharedItemRow>> {
    let get = || -> PolarsResult<Vec<SharedItemRow>> {
        let partner = df.column(PARTNER)?.str()?;
        let export = df.column(EXPORT)?.str()?;
        let category = df.column(CATEGORY)?.str()?;
        let year = df.column(YEAR)?.i32()?;
        let n = |c: &str| -> PolarsResult<UInt64Chunked> { Ok(df.column(c)?.u64()?.clone()) };
        let (items, private, deleted, suspended, explicit, minor, opted_out) = (
            n(ITEMS)?,
            n(PRIVATE)?,
            n(DELETED)?,
            n(SUSPENDED)?,
            n(EXPLICIT)?,
            n(MINOR)?,
            n(OPTED_OUT)?,
        );
        Ok((0..df.height())
            .map(|i| SharedItemRow {
                partner: partner.get(i).unwrap_or_default().to_owned(),
                export: export.get(i).unwrap_or_default().to_owned(),
                category: category.get(i).unwrap_or_default().to_owned(),
                year: year.get(i).unwrap_or_default(),
                items: items.get(i).unwrap_or_default(),
                private: private.get(i).unwrap_or_default(),
                deleted: deleted.get(i).unwrap_or_default(),
                suspended: suspended.get(i).unwrap_or_default(),
                explicit: explicit.get(i).unwrap_or_default(),
                minor: minor.get(i).unwrap_or_default(),
                opted_out: opted_out.get(i),
            })
            .collect())
    };
    get().map_err(internal)
}

/// Item totals grouped by `keys` (none: the grand total), sorted by the keys.
fn totals(shared: &DataFrame, keys: &[&str]) -> Result<Vec<Total>> {
    // SELECT <keys>, sum(items) FROM shared_items GROUP BY <keys> ORDER BY <keys>
    let lf = shared.clone().lazy();
    let grouped = if keys.is_empty() {
        lf.select([col(ITEMS).sum().alias(ITEMS)])
    } else {
        lf.group_by(keys.iter().map(|k| col(*k)).collect::<Vec<_>>())
            .agg([col(ITEMS).sum().alias(ITEMS)])
            .sort(keys.to_vec(), SortMultipleOptions::default())
    };
    let df = grouped
        .select(
            keys.iter()
                .map(|k| col(*k).cast(DataType::String))
                .chain([col(ITEMS).cast(DataType::UInt64)])
                .collect::<Vec<_>>(),
        )
        .collect()
        .map_err(internal)?;
    let get = || -> PolarsResult<Vec<Total>> {
        let key_cols = keys
            .iter()
            .map(|k| Ok(df.column(k)?.str()?.clone()))
            .collect::<PolarsResult<Vec<_>>>()?;
        let items = df.column(ITEMS)?.u64()?;
        Ok((0..df.height())
            .map(|i| Total {
                key: key_cols
                    .iter()
                    .map(|c| c.get(i).unwrap_or_default().to_owned())
                    .collect(),
                items: items.get(i).unwrap_or_default(),
            })
            .collect())
    };
    get().map_err(internal)
}

/// (items, categories, first year, last year) of one export.
type ExportTotals = (u64, u64, Option<i32>, Option<i32>);

/// `exports`: one row per export batch, with its totals.
fn exports(report: &Report, shared: &DataFrame) -> Result<Vec<ExportRow>> {
    // SELECT export, sum(items), count(DISTINCT category), min(year), max(year)
    // FROM shared_items GROUP BY export
    let per_export = shared
        .clone()
        .lazy()
        .group_by([col(EXPORT)])
        .agg([
            col(ITEMS).sum().alias(ITEMS),
            col(CATEGORY)
                .n_unique()
                .cast(DataType::UInt64)
                .alias(CATEGORIES),
            col(YEAR).min().alias(FIRST_YEAR),
            col(YEAR).max().alias(LAST_YEAR),
        ])
        .collect()
        .map_err(internal)?;
    let lookup = |id: &str| -> PolarsResult<Option<ExportTotals>> {
        let ids = per_export.column(EXPORT)?.str()?;
        let Some(i) = ids.iter().position(|v| v == Some(id)) else {
            return Ok(None);
        };
        Ok(Some((
            per_export.column(ITEMS)?.u64()?.get(i).unwrap_or(0),
            per_export.column(CATEGORIES)?.u64()?.get(i).unwrap_or(0),
            per_export.column(FIRST_YEAR)?.i32()?.get(i),
            per_export.column(LAST_YEAR)?.i32()?.get(i),
        )))
    };
    // Manifests without any counted row still appear, with zero items (a LEFT JOIN).
    report
        .exports
        .iter()
        .map(|e| {
            let (items, categories, first_year, last_year) = lookup(e.id.as_str())
                .map_err(internal)?
                .unwrap_or((0, 0, None, None));
            Ok(ExportRow {
                export: e.id.to_string(),
                partner: e.partner.to_string(),
                exported_at: format_instant(&e.exported_at),
                items,
                categories,
                first_year,
                last_year,
            })
        })
        .collect()
}

/// `partners`: one row per partner in file order, with export and item totals.
fn partners(report: &Report, exports: &[ExportRow]) -> Result<Vec<PartnerRow>> {
    // SELECT partner, count(*), sum(items), min(exported_at), max(exported_at)
    // FROM exports GROUP BY partner
    let df = df!(
        PARTNER => exports.iter().map(|e| e.partner.as_str()).collect::<Vec<_>>(),
        ITEMS => exports.iter().map(|e| e.items).collect::<Vec<u64>>(),
        EXPORTED_AT => exports.iter().map(|e| e.exported_at.get(..10).unwrap_or_default()).collect::<Vec<_>>(),
    )
    .and_then(|df| {
        df.lazy()
            .group_by([col(PARTNER)])
            .agg([
                len().cast(DataType::UInt64).alias("exports"),
                col(ITEMS).sum().alias(ITEMS),
                col(EXPORTED_AT).min().alias("first_export"),
                col(EXPORTED_AT).max().alias("last_export"),
            ])
            .collect()
    })
    .map_err(internal)?;
    let lookup = |id: &str| -> PolarsResult<(u64, u64, Option<String>, Option<String>)> {
        let ids = df.column(PARTNER)?.str()?;
        let Some(i) = ids.iter().position(|v| v == Some(id)) else {
            return Ok((0, 0, None, None));
        };
        let text = |c: &str| -> PolarsResult<Option<String>> {
            Ok(df.column(c)?.str()?.get(i).map(str::to_owned))
        };
        Ok((
            df.column("exports")?.u64()?.get(i).unwrap_or(0),
            df.column(ITEMS)?.u64()?.get(i).unwrap_or(0),
            text("first_export")?,
            text("last_export")?,
        ))
    };
    report
        .partners
        .iter()
        .map(|p| {
            let (n_exports, items, first_export, last_export) =
                lookup(p.id.as_str()).map_err(internal)?;
            Ok(PartnerRow {
                partner: p.id.to_string(),
                name: p.name.clone(),
                country: p.country.clone(),
                purposes: p
                    .purposes
                    .iter()
                    .map(|x| x.slug())
                    .collect::<Vec<_>>()
                    .join(";"),
                legal_basis: p.legal_basis.slug().to_owned(),
                honours_opt_out: p.honours_opt_out.slug().to_owned(),
                agreement_signed: p.agreement_signed.to_string(),
                agreement_ends: p.agreement_ends.map(|d| d.to_string()),
                deletion_deadline_days: p.deletion_deadline_days,
                exports: n_exports,
                items,
                first_export,
                last_export,
            })
        })
        .collect()
}

/// `opt-outs-monthly`: the monthly table with `active` (owners opted out at month end) as the
/// running balance of opt-outs and withdrawals.
fn opt_outs_monthly(report: &Report) -> Result<Vec<OptOutMonthRow>> {
    let Some(rows) = &report.opt_outs_monthly else {
        return Ok(Vec::new());
    };
    // SELECT month, opted_out, withdrawn,
    //        sum(opted_out - withdrawn) OVER (ORDER BY month) AS active, accounts
    // FROM monthly ORDER BY month
    let df = df!(
        MONTH => rows.iter().map(|r| r.month.as_str()).collect::<Vec<_>>(),
        OPTED_OUT => rows.iter().map(|r| r.opted_out).collect::<Vec<u64>>(),
        WITHDRAWN => rows.iter().map(|r| r.withdrawn).collect::<Vec<u64>>(),
        ACCOUNTS => rows.iter().map(|r| r.accounts).collect::<Vec<Option<u64>>>(),
    )
    .and_then(|df| {
        df.lazy()
            .sort([MONTH], SortMultipleOptions::default())
            .with_column(
                (col(OPTED_OUT).cast(DataType::Int64) - col(WITHDRAWN).cast(DataType::Int64))
                    .cum_sum(false)
                    .alias(ACTIVE),
            )
            .collect()
    })
    .map_err(internal)?;
    let active = df
        .column(ACTIVE)
        .and_then(|c| Ok(c.i64()?.clone()))
        .map_err(internal)?;
    let mut problems = Vec::new();
    let out = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let a = active.get(i).unwrap_or(0);
            if a < 0 {
                problems.push(
                    Problem::new("data/opt-outs/monthly.csv", format!(
                        "month `{}`: more opt-outs withdrawn than made so far (balance {a})",
                        r.month
                    ))
                    .help("the table must start with the first month of opt-outs; add the missing months"),
                );
            }
            OptOutMonthRow {
                month: r.month.clone(),
                opted_out: r.opted_out,
                withdrawn: r.withdrawn,
                active: a.max(0) as u64,
                accounts: r.accounts,
            }
        })
        .collect();
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(Error::invalid(problems))
    }
}
