//! Aggregate stage: checked [`Report`] → [`Tables`], every count computed with polars.
//!
//! Each published table has one function named after it. Every polars chain carries the SQL it
//! computes in a comment above it.

pub(crate) mod cache;
pub(crate) mod columns;
pub(crate) mod deletions;
pub(crate) mod findings;
mod ledger;
mod listings;

use polars::prelude::*;
use serde::Serialize;

use self::columns::*;
use self::deletions::DeletionRow;
use self::findings::Finding;
use self::ledger::Ledger;
use self::listings::{ListingContext, MICROS_PER_DAY};
use crate::error::{Error, Problem, Problems, Result};
use crate::model::{CategoryId, CountRow, DeclaredCounts, Export, Report};

/// A count as the tables hold it: `u64` as aggregated, the publish stage's `Count` once decided.
pub(crate) trait CountKind {
    /// A count the inputs may not give (a flag a manifest does not declare): `Option<u64>` as
    /// aggregated; once published, a `Count` that says it is not declared.
    type Maybe: std::fmt::Debug + Clone + PartialEq + Eq + Serialize;
}

impl CountKind for u64 {
    type Maybe = Option<u64>;
}

/// One row of `data/shared-items.csv` (SPEC column order). `C` is `u64` before publication and
/// `Count` after; the flags and `opted_out` are `None` where a manifest's declared counts do not
/// give them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct SharedItemRow<C: CountKind = u64> {
    pub(crate) partner: String,
    pub(crate) export: String,
    pub(crate) category: String,
    pub(crate) year: i32,
    pub(crate) items: C,
    pub(crate) private: C::Maybe,
    pub(crate) deleted: C::Maybe,
    pub(crate) suspended: C::Maybe,
    pub(crate) explicit: C::Maybe,
    pub(crate) minor: C::Maybe,
    pub(crate) opted_out: C::Maybe,
    /// The columns above that the manifest does not declare, `;`-separated (filled in by the
    /// publish stage).
    pub(crate) not_declared: String,
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
    /// Owners opted out for the partner at `exported_at` (empty without a ledger).
    pub(crate) opt_outs_in_force: Option<C>,
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
    /// Owners opted out for this partner at the end of the report's date (empty without a ledger).
    pub(crate) opt_outs_in_force: Option<C>,
    /// Items it received (in item listings) whose owner is opted out for it at the end of the
    /// report's date: what the opt-outs ask it to delete (empty without a ledger).
    pub(crate) items_opted_out_now: Option<C>,
    /// `purposes` as W3C DPV IRIs, `;`-separated (purposes without a DPV term are left out).
    pub(crate) purposes_dpv: String,
    /// `legal_basis` as a W3C DPV IRI; empty when unknown.
    pub(crate) legal_basis_dpv: Option<String>,
    /// Deletion requests the platform sent it.
    pub(crate) deletion_requests: u64,
    /// Items those requests asked it to delete.
    pub(crate) deletion_items: C,
}

/// One row of `data/opt-outs-monthly.csv`: the SPEC's columns, then new opt-outs per signal
/// (empty when the source gives no breakdown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct OptOutMonthRow<C = u64> {
    pub(crate) month: String,
    pub(crate) opted_out: C,
    pub(crate) withdrawn: C,
    pub(crate) active: C,
    pub(crate) accounts: Option<C>,
    pub(crate) opted_out_account_setting: Option<C>,
    pub(crate) opted_out_support_request: Option<C>,
    pub(crate) opted_out_robots_txt: Option<C>,
    pub(crate) opted_out_tdmrep: Option<C>,
    pub(crate) opted_out_gpc: Option<C>,
    pub(crate) opted_out_other: Option<C>,
}

impl<C: Copy> OptOutMonthRow<C> {
    /// A row without a breakdown by signal.
    pub(crate) fn new(
        month: String,
        opted_out: C,
        withdrawn: C,
        active: C,
        accounts: Option<C>,
    ) -> Self {
        OptOutMonthRow {
            month,
            opted_out,
            withdrawn,
            active,
            accounts,
            opted_out_account_setting: None,
            opted_out_support_request: None,
            opted_out_robots_txt: None,
            opted_out_tdmrep: None,
            opted_out_gpc: None,
            opted_out_other: None,
        }
    }

    /// New opt-outs per signal, in the order of [`crate::model::SIGNALS`].
    pub(crate) fn by_signal(&self) -> [Option<C>; 6] {
        [
            self.opted_out_account_setting,
            self.opted_out_support_request,
            self.opted_out_robots_txt,
            self.opted_out_tdmrep,
            self.opted_out_gpc,
            self.opted_out_other,
        ]
    }

    /// Sets the per-signal counts from an array in the order of [`crate::model::SIGNALS`].
    pub(crate) fn with_signals(mut self, s: [Option<C>; 6]) -> Self {
        [
            self.opted_out_account_setting,
            self.opted_out_support_request,
            self.opted_out_robots_txt,
            self.opted_out_tdmrep,
            self.opted_out_gpc,
            self.opted_out_other,
        ] = s;
        self
    }
}

/// One row of `data/opt-out-scopes.csv`: owners with an active opt-out of a scope at the end of
/// the report's date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ScopeRow<C = u64> {
    /// `all-third-parties`, `ai-training` or `partner`.
    pub(crate) scope: String,
    /// The partner id when `scope` is `partner`.
    pub(crate) partner: String,
    pub(crate) active: C,
}

/// One row of `data/protections-monthly.csv`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ProtectionRow<C = u64> {
    pub(crate) month: String,
    pub(crate) setting: String,
    pub(crate) accounts: C,
}

/// Where `opt-outs-monthly` comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum OptOutSource {
    /// No opt-out data.
    #[default]
    None,
    /// `monthly.csv` only.
    Monthly,
    /// The ledger only.
    Ledger,
    /// The ledger, checked against `monthly.csv` (whose `accounts` column is kept).
    Both,
}

/// Item totals over a grouping, for charts and summaries: the key values and the item count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Total<C = u64> {
    pub(crate) key: Vec<String>,
    pub(crate) items: C,
}

/// Every aggregate the site publishes, before publication decides each count.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tables<C: CountKind = u64> {
    pub(crate) shared_items: Vec<SharedItemRow<C>>,
    pub(crate) exports: Vec<ExportRow<C>>,
    pub(crate) partners: Vec<PartnerRow<C>>,
    pub(crate) opt_outs_monthly: Vec<OptOutMonthRow<C>>,
    /// Where the monthly opt-out table comes from.
    pub(crate) opt_outs_source: OptOutSource,
    /// `opt-out-scopes`: active opt-outs per scope at the report's date (empty without a ledger).
    pub(crate) scopes: Vec<ScopeRow<C>>,
    /// `protections-monthly`.
    pub(crate) protections: Vec<ProtectionRow<C>>,
    /// `deletions`: one row per (partner, month sent).
    pub(crate) deletions: Vec<DeletionRow<C>>,
    /// Every finding, sorted as the SPEC says (raw; published by [`findings::publish`]).
    pub(crate) findings: Vec<Finding>,
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
pub(crate) fn aggregate(report: &Report, cache: Option<&cache::Cache>) -> Result<Tables> {
    // A bad ledger and bad listings are reported together: the listings are still checked.
    let (ledger, ledger_problems) = match report
        .ledger
        .as_ref()
        .map(|t| ledger::load(t, &report.partners))
    {
        Some(Ok(l)) => (Some(l), Vec::new()),
        Some(Err(p)) => (None, p),
        None => (None, Vec::new()),
    };
    let counted = match count_exports(report, ledger.as_ref(), cache) {
        Ok(c) if ledger_problems.is_empty() => c,
        Ok(_) => return Err(Error::invalid(ledger_problems)),
        Err(Error::Invalid(mut p)) => {
            p.extend(ledger_problems);
            return Err(Error::invalid(p));
        }
        Err(e) => return Err(e),
    };
    let shared = shared_items_frame(&counted)?;
    let mut exports = exports(report, &shared)?;
    let mut partners = partners(report, &exports)?;
    let mut scopes = Vec::new();
    if let Some(ledger) = &ledger {
        in_force(report, ledger, &mut exports, &mut partners).map_err(internal)?;
        for (row, partner) in partners.iter_mut().zip(&report.partners) {
            // Only batches with an item listing can be joined; without any, the figure is unknown.
            let listed: Vec<u64> = report
                .exports
                .iter()
                .zip(&counted)
                .filter(|(e, _)| e.partner == partner.id)
                .filter_map(|(_, c)| c.opted_out_now)
                .collect();
            row.items_opted_out_now = (!listed.is_empty()).then(|| listed.iter().sum());
        }
        scopes = scope_rows(report, ledger).map_err(internal)?;
    }
    let protections = report
        .protections_monthly
        .iter()
        .map(|p| ProtectionRow {
            month: p.month.clone(),
            setting: p.setting.clone(),
            accounts: p.accounts,
        })
        .collect();
    let (opt_outs_monthly, opt_outs_source, monthly_mismatch) =
        opt_outs_monthly(report, ledger.as_ref())?;
    let requests = deletions::requests(report).map_err(internal)?;
    let deletions = deletions::rows(&requests).map_err(internal)?;
    for p in &mut partners {
        // A sum over the few (partner, month) rows polars already aggregated.
        let mine = deletions.iter().filter(|d| d.partner == p.partner);
        p.deletion_requests = mine.clone().map(|d| d.requests).sum();
        p.deletion_items = mine.map(|d| d.items).sum();
    }
    let findings = findings::compute(
        report,
        &findings::Inputs {
            shared: &shared,
            counted: &counted,
            monthly_mismatch: &monthly_mismatch,
            requests: &requests,
            partners: &partners,
        },
    )?;
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
        opt_outs_source,
        scopes,
        protections,
        deletions,
        findings,
    })
}

/// A small deterministic generator (xorshift) for the unit tests, so that failures reproduce.
#[cfg(test)]
pub(crate) struct TestRng(pub(crate) u64);

#[cfg(test)]
impl TestRng {
    /// The next number below `n`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn internal(e: PolarsError) -> Error {
    Error::Internal(format!("aggregation failed: {e}"))
}

/// What counting one export found besides its shared-items rows.
#[derive(Debug, Clone)]
pub(crate) struct ExportCounts {
    /// Its rows of `shared-items` (SPEC columns).
    pub(crate) frame: DataFrame,
    /// Items created outside the content window, and whether the count is exact (from items)
    /// or a lower bound (from declared counts, by whole years).
    pub(crate) outside_window: Option<(u64, bool)>,
    /// Declared counts that differ from the listing: (cells, declared items, listed items).
    pub(crate) mismatch: Option<(u64, u64, u64)>,
    /// Items of the listing whose owner is opted out for the partner at the report's date
    /// (listing and ledger needed).
    pub(crate) opted_out_now: Option<u64>,
}

/// Counts every export; collects the problems of all listings and count tables at once.
fn count_exports(
    report: &Report,
    ledger: Option<&Ledger>,
    cache: Option<&cache::Cache>,
) -> Result<Vec<ExportCounts>> {
    let mut problems = Problems::default();
    let mut out = Vec::new();
    let categories = report.meta.category_ids();
    for export in &report.exports {
        let partner = report.partner(export.partner.as_str());
        match export_counts(
            &categories,
            export,
            partner,
            ledger,
            report_now(report),
            cache,
        ) {
            Ok(c) => out.push(c),
            Err(p) => problems.extend(p),
        }
    }
    problems.finish(out)
}

/// The content window as `[from, to)` in UTC microseconds: from the first day's midnight to the
/// midnight after the last day.
fn window_micros(export: &Export) -> (Option<i64>, Option<i64>) {
    let micros = |d: chrono::NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .map(|dt| dt.and_utc().timestamp_micros())
    };
    match export.content_window {
        Some((from, to)) => (
            from.and_then(micros),
            to.and_then(micros)
                .map(|t| t.saturating_add(MICROS_PER_DAY)),
        ),
        None => (None, None),
    }
}

fn declared_rows(
    categories: &[CategoryId],
    counts: Option<&DeclaredCounts>,
) -> std::result::Result<Option<Vec<CountRow>>, Vec<Problem>> {
    Ok(match counts {
        Some(DeclaredCounts::Inline(rows)) => Some(rows.clone()),
        Some(DeclaredCounts::Table(table)) => Some(listings::read_count_table(table, categories)?),
        None => None,
    })
}

/// Counts of one export: from its item listing when it has one (the truth, joined with the
/// ledger), else its declared counts.
fn export_counts(
    categories: &[CategoryId],
    export: &Export,
    partner: Option<&crate::model::Partner>,
    ledger: Option<&Ledger>,
    now: i64,
    cache: Option<&cache::Cache>,
) -> std::result::Result<ExportCounts, Vec<Problem>> {
    let ledger = ledger.zip(partner);
    let fail = |e: PolarsError| vec![Problem::new(&export.manifest, e.to_string())];
    let declared = declared_rows(categories, export.counts.as_ref())?;
    let window = window_micros(export);
    let mut opted_out_now = None;
    let (frame, outside_window, mismatch) = if let Some(items) = &export.items {
        let context = ListingContext {
            ledger,
            exported_at: export.exported_at.timestamp_micros(),
            now,
            window,
        };
        let count = || listings::aggregate_listing(items, categories, &context);
        let listed = match (cache, partner) {
            (Some(cache), Some(partner)) => cache.aggregate(
                items,
                &cache::KeyParts {
                    partner,
                    exported_at: export.exported_at.timestamp_micros(),
                    now,
                    window,
                    categories,
                },
                &listings::aggregate_columns(),
                count,
            )?,
            _ => count()?,
        };
        let outside = listed
            .column(OUTSIDE_WINDOW)
            .and_then(|c| Ok(c.u64()?.sum().unwrap_or(0)))
            .map_err(fail)?;
        let mismatch = match &declared {
            Some(rows) => compare_declared(&listed, rows).map_err(fail)?,
            None => None,
        };
        opted_out_now = listed
            .column(listings::OPTED_OUT_NOW)
            .and_then(|c| Ok(c.u64()?.sum()))
            .map_err(fail)?
            .filter(|_| ledger.is_some());
        (listed.lazy(), Some((outside, true)), mismatch)
    } else {
        let rows = declared.unwrap_or_default();
        let outside = declared_outside_window(export, &rows);
        (count_rows_frame(&rows).map_err(fail)?, outside, None)
    };
    let frame = frame
        .with_columns([
            lit(export.partner.as_str()).alias(PARTNER),
            lit(export.id.as_str()).alias(EXPORT),
        ])
        .select(shared_items_columns())
        .collect()
        .map_err(fail)?;
    Ok(ExportCounts {
        frame,
        outside_window: outside_window.filter(|(n, _)| *n > 0),
        mismatch,
        opted_out_now,
    })
}

/// Items in declared cells whose whole year lies outside the content window: a lower bound.
fn declared_outside_window(export: &Export, rows: &[CountRow]) -> Option<(u64, bool)> {
    use chrono::Datelike;
    let (from, to) = export.content_window?;
    let n = rows
        .iter()
        .filter(|r| {
            from.is_some_and(|f| r.year < f.year()) || to.is_some_and(|t| r.year > t.year())
        })
        .map(|r| r.items)
        .sum();
    Some((n, false))
}

/// Compares declared counts with the counts computed from the listing, cell by cell, in the
/// columns the manifest declares: (cells that differ, declared items, listed items), or `None`
/// when they agree. A flag the manifest does not declare is not compared (it is not 0).
fn compare_declared(
    listed: &DataFrame,
    declared: &[CountRow],
) -> PolarsResult<Option<(u64, u64, u64)>> {
    const D: &str = "__declared";
    let flag_declared = |f: &str| {
        declared.iter().any(|r| match f {
            PRIVATE => r.private.is_some(),
            DELETED => r.deleted.is_some(),
            SUSPENDED => r.suspended.is_some(),
            EXPLICIT => r.explicit.is_some(),
            _ => r.minor.is_some(),
        })
    };
    let mut compared = vec![ITEMS];
    compared.extend(FLAGS.iter().copied().filter(|f| flag_declared(f)));
    let declared_frame = count_rows_frame(declared)?.select(
        [col(CATEGORY), col(YEAR)]
            .into_iter()
            .chain(compared.iter().map(|c| col(*c).alias(format!("{c}{D}"))))
            .chain([col(OPTED_OUT).alias(format!("{OPTED_OUT}{D}"))])
            .collect::<Vec<_>>(),
    );
    // A cell differs when any declared count differs; a cell on one side only compares with
    // zeros. `opted_out` is compared only where both sides have it.
    let differs = compared
        .iter()
        .map(|c| {
            col(*c)
                .fill_null(lit(0u64))
                .neq(col(format!("{c}{D}")).fill_null(lit(0u64)))
        })
        .chain([col(OPTED_OUT)
            .neq(col(format!("{OPTED_OUT}{D}")))
            .fill_null(lit(false))])
        .fold(lit(false), Expr::or);
    // SELECT count(*) FILTER (WHERE differs), sum(declared.items), sum(listed.items)
    // FROM listed FULL JOIN declared USING (category, year)
    let out = listed
        .clone()
        .lazy()
        .join(
            declared_frame,
            [col(CATEGORY), col(YEAR)],
            [col(CATEGORY), col(YEAR)],
            JoinArgs::new(JoinType::Full).with_coalesce(JoinCoalesce::CoalesceColumns),
        )
        .select([
            differs.cast(DataType::UInt64).sum().alias("cells"),
            col(format!("{ITEMS}{D}"))
                .sum()
                .cast(DataType::UInt64)
                .alias("declared"),
            col(ITEMS).sum().cast(DataType::UInt64).alias("listed"),
        ])
        .collect()?;
    let get = |c: &str| -> PolarsResult<u64> { Ok(out.column(c)?.u64()?.get(0).unwrap_or(0)) };
    let cells = get("cells")?;
    Ok((cells > 0).then_some((cells, get("declared")?, get("listed")?)))
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
    let flag = |f: fn(&CountRow) -> Option<u64>| rows.iter().map(f).collect::<Vec<Option<u64>>>();
    let df = df!(
        CATEGORY => rows.iter().map(|r| r.category.as_str()).collect::<Vec<_>>(),
        YEAR => rows.iter().map(|r| r.year).collect::<Vec<i32>>(),
        ITEMS => rows.iter().map(|r| r.items).collect::<Vec<u64>>(),
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
fn shared_items_frame(counted: &[ExportCounts]) -> Result<DataFrame> {
    if counted.is_empty() {
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
    let frames: Vec<LazyFrame> = counted.iter().map(|c| c.frame.clone().lazy()).collect();
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
                private: private.get(i),
                deleted: deleted.get(i),
                suspended: suspended.get(i),
                explicit: explicit.get(i),
                minor: minor.get(i),
                opted_out: opted_out.get(i),
                not_declared: String::new(),
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
                exported_at: crate::time::format_utc(&e.exported_at),
                items,
                categories,
                first_year,
                last_year,
                opt_outs_in_force: None,
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
                opt_outs_in_force: None,
                items_opted_out_now: None,
                deletion_requests: 0,
                deletion_items: 0,
                purposes_dpv: p
                    .purposes
                    .iter()
                    .filter_map(|x| x.dpv())
                    .collect::<Vec<_>>()
                    .join(";"),
                legal_basis_dpv: p.legal_basis.dpv().map(str::to_owned),
            })
        })
        .collect()
}

/// The last microsecond of the report's day (UTC): the "now" of every as-of figure.
fn report_now(report: &Report) -> i64 {
    crate::load::deletions::end_of(report.meta.published)
        .map_or(i64::MAX, |d| d.timestamp_micros() - 1)
}

/// Fills `opt_outs_in_force`: owners opted out for the partner at each export, and at the
/// report's date for each partner.
fn in_force(
    report: &Report,
    ledger: &Ledger,
    exports: &mut [ExportRow],
    partners: &mut [PartnerRow],
) -> PolarsResult<()> {
    let now = report_now(report);
    for (row, partner) in partners.iter_mut().zip(&report.partners) {
        // One query per partner: its exports' instants, then the report's date.
        let mine: Vec<usize> = (0..report.exports.len())
            .filter(|&i| report.exports[i].partner == partner.id)
            .collect();
        let mut instants: Vec<i64> = mine
            .iter()
            .map(|&i| report.exports[i].exported_at.timestamp_micros())
            .collect();
        instants.push(now);
        let counts = ledger.in_force(partner, &instants)?;
        for (&i, &n) in mine.iter().zip(&counts) {
            exports[i].opt_outs_in_force = Some(n);
        }
        row.opt_outs_in_force = counts.last().copied();
    }
    Ok(())
}

/// `opt-out-scopes`: owners with an active opt-out of each scope at the report's date; every
/// scope kind and every partner is listed, with zeros.
fn scope_rows(report: &Report, ledger: &Ledger) -> PolarsResult<Vec<ScopeRow>> {
    let active: std::collections::BTreeMap<String, u64> = ledger
        .active_by_scope(report_now(report))?
        .into_iter()
        .collect();
    let get = |k: &str| active.get(k).copied().unwrap_or(0);
    let mut rows = vec![
        ScopeRow {
            scope: ledger::ALL_THIRD_PARTIES.to_owned(),
            partner: String::new(),
            active: get(ledger::ALL_THIRD_PARTIES),
        },
        ScopeRow {
            scope: ledger::AI_TRAINING.to_owned(),
            partner: String::new(),
            active: get(ledger::AI_TRAINING),
        },
    ];
    rows.extend(report.partners.iter().map(|p| ScopeRow {
        scope: "partner".to_owned(),
        partner: p.id.to_string(),
        active: get(p.id.as_str()),
    }));
    Ok(rows)
}

/// New opt-outs per month number and signal (in the order of [`crate::model::SIGNALS`]), from
/// the ledger.
fn signals_by_month(
    ledger: &Ledger,
) -> PolarsResult<std::collections::BTreeMap<i32, [Option<u64>; 6]>> {
    let df = ledger.monthly_by_signal()?;
    let month = df.column(ledger::MONTH_NO)?.i32()?;
    let signal = df.column(ledger::SIGNAL)?.str()?;
    let n = df.column(OPTED_OUT)?.u64()?;
    let mut out = std::collections::BTreeMap::new();
    for i in 0..df.height() {
        let (Some(m), Some(s)) = (month.get(i), signal.get(i)) else {
            continue;
        };
        let slot: &mut [Option<u64>; 6] = out.entry(m).or_insert([Some(0); 6]);
        if let Some(k) = crate::model::SIGNALS.iter().position(|x| *x == s) {
            slot[k] = Some(n.get(i).unwrap_or(0));
        }
    }
    Ok(out)
}

/// The opt-out table, where it came from, and the months where `monthly.csv` and the ledger
/// disagree.
type MonthlyResult = (Vec<OptOutMonthRow>, OptOutSource, Vec<String>);

/// `opt-outs-monthly`. From the ledger when there is one (the truth: `active` counts distinct
/// owners opted out at month end), with `accounts` taken from `monthly.csv`; else from
/// `monthly.csv`, with `active` as the running balance of opt-outs and withdrawals.
fn opt_outs_monthly(report: &Report, ledger: Option<&Ledger>) -> Result<MonthlyResult> {
    let Some(ledger) = ledger else {
        return match &report.opt_outs_monthly {
            Some(rows) => Ok((monthly_from_table(rows)?, OptOutSource::Monthly, Vec::new())),
            None => Ok((Vec::new(), OptOutSource::None, Vec::new())),
        };
    };
    let events = ledger.monthly().map_err(internal)?;
    let table = report.opt_outs_monthly.as_deref().unwrap_or_default();
    let months_of = |df: &DataFrame| -> PolarsResult<Vec<i32>> {
        Ok(df
            .column(ledger::MONTH_NO)?
            .i32()?
            .into_no_null_iter()
            .collect())
    };
    let ledger_months = months_of(&events).map_err(internal)?;
    let signals = signals_by_month(ledger).map_err(internal)?;
    let table_months: Vec<i32> = table
        .iter()
        .filter_map(|r| crate::time::month_number(&r.month))
        .collect();
    let all = ledger_months.iter().chain(&table_months);
    let (Some(first), Some(last)) = (all.clone().min().copied(), all.max().copied()) else {
        return Ok((Vec::new(), OptOutSource::Ledger, Vec::new()));
    };
    let declared = df!(
        ledger::MONTH_NO => table_months,
        "__declared_opted_out" => table.iter().map(|r| r.opted_out).collect::<Vec<u64>>(),
        "__declared_withdrawn" => table.iter().map(|r| r.withdrawn).collect::<Vec<u64>>(),
        ACCOUNTS => table.iter().map(|r| r.accounts).collect::<Vec<Option<u64>>>(),
    )
    .map_err(internal)?;
    let left = JoinArgs::new(JoinType::Left);
    // SELECT m.month, e.opted_out, e.withdrawn, sum(e.change) OVER (ORDER BY m.month) AS active,
    //        d.accounts, (e.opted_out, e.withdrawn) <> (d.opted_out, d.withdrawn) AS differs
    // FROM every_month m LEFT JOIN ledger_events e USING (month) LEFT JOIN monthly_csv d USING (month)
    let df = df!(ledger::MONTH_NO => (first..=last).collect::<Vec<i32>>())
        .and_then(|months| {
            months
                .lazy()
                .join(
                    events.lazy(),
                    [col(ledger::MONTH_NO)],
                    [col(ledger::MONTH_NO)],
                    left.clone(),
                )
                .join(
                    declared.lazy(),
                    [col(ledger::MONTH_NO)],
                    [col(ledger::MONTH_NO)],
                    left,
                )
                .sort([ledger::MONTH_NO], SortMultipleOptions::default())
                .select([
                    col(ledger::MONTH_NO),
                    col(OPTED_OUT).fill_null(lit(0u64)),
                    col(WITHDRAWN).fill_null(lit(0u64)),
                    col(ledger::CHANGE)
                        .fill_null(lit(0i64))
                        .cum_sum(false)
                        .alias(ACTIVE),
                    col(ACCOUNTS),
                    col(OPTED_OUT)
                        .fill_null(lit(0u64))
                        .neq(col("__declared_opted_out").fill_null(lit(0u64)))
                        .or(col(WITHDRAWN)
                            .fill_null(lit(0u64))
                            .neq(col("__declared_withdrawn").fill_null(lit(0u64))))
                        .alias("__differs"),
                ])
                .collect()
        })
        .map_err(internal)?;
    let get = || -> PolarsResult<(Vec<OptOutMonthRow>, Vec<String>)> {
        let month = df.column(ledger::MONTH_NO)?.i32()?;
        let opted = df.column(OPTED_OUT)?.u64()?;
        let withdrawn = df.column(WITHDRAWN)?.u64()?;
        let active = df.column(ACTIVE)?.i64()?;
        let accounts = df.column(ACCOUNTS)?.u64()?;
        let differs = df.column("__differs")?.bool()?;
        let mut rows = Vec::new();
        let mut mismatched = Vec::new();
        for i in 0..df.height() {
            let m = crate::time::month_text(month.get(i).unwrap_or(0));
            if differs.get(i).unwrap_or(false) {
                mismatched.push(m.clone());
            }
            rows.push(
                OptOutMonthRow::new(
                    m,
                    opted.get(i).unwrap_or(0),
                    withdrawn.get(i).unwrap_or(0),
                    active.get(i).unwrap_or(0).max(0) as u64,
                    accounts.get(i),
                )
                .with_signals(
                    signals
                        .get(&month.get(i).unwrap_or(0))
                        .copied()
                        .unwrap_or([Some(0); 6]),
                ),
            );
        }
        Ok((rows, mismatched))
    };
    let (rows, mut mismatched) = get().map_err(internal)?;
    // Where monthly.csv gives signals, each signal's new opt-outs must agree too.
    for r in table {
        let (Some(declared), Some(m)) = (r.by_signal, crate::time::month_number(&r.month)) else {
            continue;
        };
        let ledger_counts = signals.get(&m).copied().unwrap_or([Some(0); 6]);
        if declared
            .iter()
            .zip(ledger_counts)
            .any(|(d, l)| Some(*d) != l)
            && !mismatched.contains(&r.month)
        {
            mismatched.push(r.month.clone());
        }
    }
    mismatched.sort();
    if report.opt_outs_monthly.is_some() {
        Ok((rows, OptOutSource::Both, mismatched))
    } else {
        Ok((rows, OptOutSource::Ledger, Vec::new()))
    }
}

/// `opt-outs-monthly` from `monthly.csv` alone: `active` is the running balance of opt-outs and
/// withdrawals.
fn monthly_from_table(rows: &[crate::model::MonthlyOptOuts]) -> Result<Vec<OptOutMonthRow>> {
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
            OptOutMonthRow::new(r.month.clone(), r.opted_out, r.withdrawn, a.max(0) as u64, r.accounts)
            .with_signals(r.by_signal.map_or([None; 6], |b| b.map(Some)))
        })
        .collect();
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(Error::invalid(problems))
    }
}
