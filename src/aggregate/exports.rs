//! Counting each export batch: from its item listing (joined with the ledger) when it has one,
//! else from its declared counts; and `shared-items`, the union of every batch's rows.

use polars::prelude::*;

use super::cache;
use super::columns::*;
use super::ledger::Ledger;
use super::listings::{self, ListingContext};
use super::scan::KeptOwners;
use super::scan::MICROS_PER_DAY;
use super::{SharedItemRow, internal, report_now};
use crate::error::{Problem, Problems, Result};
use crate::model::{CategoryId, CountRow, DeclaredCounts, Export, Partner, Report, TableFormat};

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
pub(crate) fn count_exports(
    report: &Report,
    ledger: Option<&Ledger>,
    cache: Option<&cache::Cache>,
    kept: Option<&KeptOwners>,
) -> Result<Vec<ExportCounts>> {
    let mut problems = Problems::default();
    let mut out = Vec::new();
    let categories = report.meta.category_ids();
    if let (Some(ledger), Some(_)) = (ledger, cache) {
        prepare_fingerprints(report, ledger)?;
    }
    if let Some(ledger) = ledger.filter(|l| listings::ledger_probes(l)) {
        // Every partner's owners opted out at the report's date, made in one pass when the
        // first listing needs them: each listing's items are probed in them.
        let now = report_now(report);
        let wanted: Vec<_> = report.partners.iter().map(|p| (p, now)).collect();
        ledger.expect_sets(&wanted);
    }
    let known: Vec<&str> = report.exports.iter().map(|e| e.id.as_str()).collect();
    let with = Counting {
        categories: &categories,
        ledger,
        now: report_now(report),
        cache,
        known: &known,
        kept,
    };
    // A CSV listing is read whole on every core already: one at a time, beside the others.
    let whole_reads = std::sync::Mutex::new(());
    let counted = super::on_threads_taking(&counting_order(report, &with), |i| {
        let export = &report.exports[i];
        let csv = export
            .items
            .iter()
            .flat_map(|i| &i.files)
            .any(|f| f.format == TableFormat::Csv);
        let _one = csv.then(|| super::lock(&whole_reads));
        export_counts(export, report.partner(export.partner.as_str()), &with)
    });
    for result in counted {
        match result {
            Ok(c) => out.push(c),
            Err(p) => problems.extend(p),
        }
    }
    problems.finish(out)
}

/// The order exports are started in: with a cache, those with a listing part that has no
/// aggregate entry first (what the build must count: after one new export, the new one, which
/// would otherwise be counted alone at the end while the other thread waits), then the rest;
/// without one, the report's order. Finding the entries hashes the listings, as counting would.
fn counting_order(report: &Report, with: &Counting) -> Vec<usize> {
    let all = 0..report.exports.len();
    let Some(cache) = with.cache else {
        return all.collect();
    };
    let missing = super::in_order_on_threads(report.exports.len(), |i| {
        let export = &report.exports[i];
        let (Some(items), Some(partner)) = (&export.items, report.partner(export.partner.as_str()))
        else {
            return false;
        };
        let Ok(at_export) =
            fingerprint(with.ledger, partner, export.exported_at.timestamp_micros())
        else {
            // Counting reports it.
            return true;
        };
        let key = key_parts(partner, export, &at_export, with.categories);
        items
            .files
            .iter()
            .any(|part| !cache.has_aggregate(part, &key))
    });
    let (first, rest): (Vec<usize>, Vec<usize>) = all.partition(|&i| missing[i]);
    first.into_iter().chain(rest).collect()
}

/// The fingerprint of the ledger rows a cache entry of `partner`'s listing depends on at `t`
/// (`-` without a ledger).
pub(crate) fn fingerprint(
    ledger: Option<&Ledger>,
    partner: &Partner,
    t: i64,
) -> PolarsResult<String> {
    match ledger {
        Some(l) => l.fingerprint(partner, t),
        None => Ok("-".to_owned()),
    }
}

/// What a cache entry of `export`'s listing is keyed by besides the listing's bytes.
pub(crate) fn key_parts<'a>(
    partner: &'a Partner,
    export: &Export,
    fingerprint: &'a str,
    categories: &'a [CategoryId],
) -> cache::KeyParts<'a> {
    cache::KeyParts {
        partner,
        exported_at: export.exported_at.timestamp_micros(),
        ledger: fingerprint,
        window: window_micros(export),
        categories,
    }
}

/// The ledger fingerprints the cache keys of `report` need, for every partner in one pass.
fn prepare_fingerprints(report: &Report, ledger: &Ledger) -> Result<()> {
    let now = report_now(report);
    let wanted: Vec<_> = report
        .partners
        .iter()
        .map(|partner| {
            let instants = report
                .exports
                .iter()
                .filter(|e| e.partner == partner.id && e.items.is_some())
                .map(|e| e.exported_at.timestamp_micros())
                .chain([now])
                .collect();
            (partner, instants)
        })
        .collect();
    ledger.prepare_fingerprints_all(&wanted).map_err(internal)
}

/// Every cache entry a build of `report` reads (its aggregates, counts opted out now and owner
/// tallies, per listing and part file): what `sharelog cache prune` keeps.
pub(crate) fn cache_entries(
    report: &Report,
    ledger: Option<&Ledger>,
    dir: &std::path::Path,
) -> Result<std::collections::BTreeSet<std::path::PathBuf>> {
    let categories = report.meta.category_ids();
    let now = report_now(report);
    if let Some(ledger) = ledger {
        prepare_fingerprints(report, ledger)?;
    }
    let mut out = std::collections::BTreeSet::new();
    for export in &report.exports {
        let (Some(items), Some(partner)) = (&export.items, report.partner(export.partner.as_str()))
        else {
            continue;
        };
        let at = |t: i64| fingerprint(ledger, partner, t).map_err(internal);
        let (at_export, at_now) = (at(export.exported_at.timestamp_micros())?, at(now)?);
        for part in &items.files {
            let key = |ledger| key_parts(partner, export, ledger, &categories);
            out.extend(cache::entry_path(dir, "aggregate", part, &key(&at_export)));
            out.extend(cache::tallies_entry_path(dir, part));
            if ledger.is_some() {
                out.extend(cache::entry_path(
                    dir,
                    listings::OPTED_OUT_NOW,
                    part,
                    &key(&at_now),
                ));
            }
        }
    }
    Ok(out)
}

/// The content window as `[from, to)` in UTC microseconds: from the first day's midnight to the
/// midnight after the last day.
pub(crate) fn window_micros(export: &Export) -> (Option<i64>, Option<i64>) {
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

pub(crate) fn declared_rows(
    categories: &[CategoryId],
    export: &Export,
    known: &[&str],
) -> std::result::Result<Option<Vec<CountRow>>, Vec<Problem>> {
    let batch = (export.id.as_str(), export.partner.as_str());
    Ok(match export.counts.as_ref() {
        Some(DeclaredCounts::Inline(rows)) => Some(rows.clone()),
        Some(DeclaredCounts::Table(parts)) => {
            // Each part is read and checked on its own (problems name the part); a cell may be
            // in only one part.
            let mut rows: Vec<CountRow> = Vec::new();
            let mut from: std::collections::BTreeMap<(String, i32), &str> = Default::default();
            let mut problems = Vec::new();
            let mut several = false;
            for table in &parts.files {
                match super::counts::read_count_table(table, categories, batch, known) {
                    Ok((part, by_batch)) => {
                        several |= by_batch;
                        for row in part {
                            let cell = (row.category.as_str().to_owned(), row.year);
                            if let Some(other) = from.insert(cell, &table.display) {
                                problems.push(
                                    Problem::new(
                                        &table.display,
                                        format!(
                                            "category `{}` and year {} are also in {other}",
                                            row.category.as_str(),
                                            row.year
                                        ),
                                    )
                                    .help("write each cell in one part only"),
                                );
                            }
                            rows.push(row);
                        }
                    }
                    Err(more) => problems.extend(more),
                }
            }
            if problems.is_empty() && rows.is_empty() {
                let message = if several {
                    format!(
                        "no row has export `{}`, the batch whose manifest names the table",
                        export.id
                    )
                } else {
                    "the table has no rows: it declares a batch of no items".to_owned()
                };
                problems.push(
                    Problem::new(&parts.display, message)
                        .help("count the batch with the query `sharelog sql` prints (its items must be in the items relation), or correct the export ids"),
                );
            }
            if !problems.is_empty() {
                return Err(problems);
            }
            Some(rows)
        }
        None => None,
    })
}

/// What every export of a build is counted with.
pub(crate) struct Counting<'a> {
    pub(crate) categories: &'a [CategoryId],
    pub(crate) ledger: Option<&'a Ledger>,
    /// The end of the report's date (UTC microseconds).
    pub(crate) now: i64,
    pub(crate) cache: Option<&'a cache::Cache>,
    /// Every export's id, for declared counts that name exports.
    pub(crate) known: &'a [&'a str],
    /// Where CSV listings keep their owner columns for the owners pass.
    pub(crate) kept: Option<&'a KeptOwners>,
}

/// Counts of one export: from its item listing when it has one (the truth, joined with the
/// ledger), else its declared counts.
pub(crate) fn export_counts(
    export: &Export,
    partner: Option<&crate::model::Partner>,
    with: &Counting,
) -> std::result::Result<ExportCounts, Vec<Problem>> {
    let Counting {
        categories,
        ledger,
        now,
        cache,
        known,
        kept,
    } = *with;
    let ledger = ledger.zip(partner);
    let fail = |e: PolarsError| vec![Problem::new(&export.manifest, e.to_string())];
    let declared = declared_rows(categories, export, known)?;
    let window = window_micros(export);
    let mut opted_out_now = None;
    let (frame, outside_window, mismatch) = if let Some(items) = &export.items {
        let context = ListingContext {
            ledger,
            exported_at: export.exported_at.timestamp_micros(),
            now,
            window,
            kept,
        };
        // Each part is counted (and cached) on its own; every column of the aggregate is a sum
        // over rows, so the listing's is the sum of its parts'. The aggregate is keyed by the
        // owners opted out at the export, the count opted out now by those opted out at the
        // report's date: new opt-outs change the second only.
        let fingerprint = |t: i64| match ledger {
            Some((l, p)) => l.fingerprint(p, t).map_err(fail),
            None => Ok("-".to_owned()),
        };
        let (at_export, at_now) = match cache {
            Some(_) => (fingerprint(context.exported_at)?, fingerprint(now)?),
            None => Default::default(),
        };
        let mut counted = Vec::with_capacity(items.files.len());
        let mut now_total = 0u64;
        let mut problems = Vec::new();
        for part in &items.files {
            let mut now_from_full = None;
            let mut count = || -> std::result::Result<DataFrame, Vec<Problem>> {
                let mut df = listings::aggregate_listing(part, categories, &context)?;
                now_from_full = df
                    .column(listings::OPTED_OUT_NOW)
                    .and_then(|c| Ok(c.u64()?.sum().unwrap_or(0)))
                    .ok();
                df.drop_in_place(listings::OPTED_OUT_NOW).map_err(fail)?;
                Ok(df)
            };
            let listed = match (cache, partner) {
                (Some(cache), Some(partner)) => {
                    let key = |ledger| key_parts(partner, export, ledger, categories);
                    let (key_export, key_now) = (key(&at_export), key(&at_now));
                    cache
                        .aggregate(part, &key_export, &listings::cached_columns(), count)
                        .and_then(|df| {
                            let now = || match (now_from_full, ledger) {
                                // Counted with the aggregate just now.
                                (Some(n), _) => Ok(n),
                                // The listing's owner tallies (cached whatever the ledger
                                // holds) probed with the owners opted out now.
                                (None, Some((l, p))) if listings::ledger_probes(l) => {
                                    let set = l.opted_out_ids(now, p).map_err(fail)?;
                                    let items = cache.items_in_tallies(part, &set, || {
                                        listings::owner_tallies(part, kept)
                                    })?;
                                    match items {
                                        Some(n) => Ok(n),
                                        None => listings::opted_out_now(part, &context),
                                    }
                                }
                                (None, _) => listings::opted_out_now(part, &context),
                            };
                            let n = match ledger {
                                None => 0,
                                Some(_) => {
                                    cache.count(listings::OPTED_OUT_NOW, part, &key_now, now)?
                                }
                            };
                            Ok((df, n))
                        })
                }
                _ => count().map(|df| (df, now_from_full.unwrap_or(0))),
            };
            match listed {
                Ok((df, n)) => {
                    counted.push(df);
                    now_total += n;
                }
                Err(more) => problems.extend(more),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let listed = listings::sum_parts(counted).map_err(fail)?;
        let outside = listed
            .column(OUTSIDE_WINDOW)
            .and_then(|c| Ok(c.u64()?.sum().unwrap_or(0)))
            .map_err(fail)?;
        let mismatch = match &declared {
            Some(rows) => compare_declared(&listed, rows).map_err(fail)?,
            None => None,
        };
        opted_out_now = ledger.is_some().then_some(now_total);
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
pub(crate) fn declared_outside_window(export: &Export, rows: &[CountRow]) -> Option<(u64, bool)> {
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
pub(crate) fn compare_declared(
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

pub(crate) fn shared_items_columns() -> Vec<Expr> {
    [PARTNER, EXPORT, CATEGORY, YEAR, ITEMS]
        .iter()
        .chain(FLAGS.iter())
        .chain([OPTED_OUT].iter())
        .map(|c| col(*c))
        .collect()
}

pub(crate) fn count_rows_frame(rows: &[CountRow]) -> PolarsResult<LazyFrame> {
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
pub(crate) fn shared_items_frame(counted: &[ExportCounts]) -> Result<DataFrame> {
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

pub(crate) fn shared_item_rows(df: &DataFrame) -> Result<Vec<SharedItemRow>> {
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
