//! Aggregate stage: checked [`Report`] → [`Tables`], every count computed with polars.
//!
//! Each published table has one function named after it. Every polars chain carries the SQL it
//! computes in a comment above it.

pub(crate) mod cache;
pub(crate) mod columns;
mod counts;
pub(crate) mod deletions;
mod exports;
mod figures;
pub(crate) mod findings;
pub(crate) mod ids;
mod ledger;
mod listings;
mod opt_outs;
pub(crate) mod owners;
mod records;
mod responses;
mod scan;
mod tables;
mod tallies;

use polars::prelude::*;

use self::columns::*;
pub(crate) use self::exports::ExportCounts;
use self::exports::{count_exports, shared_item_rows, shared_items_frame};
pub(crate) use self::listings::{RECEIPT_OPTED, RECEIPT_OPTED_NOW};
use self::opt_outs::{in_force, opt_outs_monthly, scope_rows};
pub(crate) use self::records::owner_records;
pub(crate) use self::tables::*;
use crate::error::{Error, Result};
use crate::model::Report;

/// What `sharelog cache prune` did (or would do, with `dry_run`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Pruned {
    /// Entries the report's next build reads.
    pub kept: usize,
    /// Entries removed.
    pub removed: usize,
    /// Their bytes.
    pub bytes: u64,
}

/// Removes from the cache in `dir` every entry (and leftover temporary file) that a build of
/// `report` would not read.
pub(crate) fn prune_cache(report: &Report, dir: &std::path::Path, dry_run: bool) -> Result<Pruned> {
    let ledger = match report
        .ledger
        .as_ref()
        .map(|t| ledger::load(t, &report.partners, report.partners_read))
    {
        Some(Ok(l)) => Some(l),
        Some(Err(p)) => return Err(Error::invalid(p)),
        None => None,
    };
    let mut used = exports::cache_entries(report, ledger.as_ref(), dir)?;
    for partner in &report.partners {
        used.extend(owners::cache_entry(report, partner, ledger.as_ref(), dir)?);
    }
    if let Some(ledger) = &ledger {
        used.insert(cache::ledger_summary_path(
            dir,
            &ledger.summary_key(&report.partners),
        ));
    }
    let mut pruned = Pruned::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(pruned),
        Err(e) => return Err(crate::fs::io_error(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| crate::fs::io_error(dir, e))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        // Only what the cache writes: `<64 hex>.slc|.slo` entries, and the temporary files
        // `.<entry>.<pid>.tmp` a killed build left.
        let is_entry = |n: &str| {
            n.len() == 68
                && n[..64]
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
                && (n.ends_with(".slc") || n.ends_with(".slo"))
        };
        let temporary = name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(".tmp"))
            .and_then(|n| n.rsplit_once('.'))
            .is_some_and(|(e, pid)| {
                is_entry(e) && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())
            });
        let ours = is_entry(&name) || temporary;
        let regular = entry.file_type().is_ok_and(|t| t.is_file());
        if !ours || !regular {
            continue;
        }
        if used.contains(&path) {
            pruned.kept += 1;
            continue;
        }
        let bytes = entry.metadata().map_or(0, |m| m.len());
        if !dry_run {
            std::fs::remove_file(&path).map_err(|e| crate::fs::io_error(&path, e))?;
        }
        pruned.removed += 1;
        pruned.bytes += bytes;
    }
    Ok(pruned)
}

/// Computes every table from the checked report.
pub(crate) fn aggregate(report: &Report, cache: Option<&cache::Cache>) -> Result<Tables> {
    // A bad ledger and bad listings are reported together: the listings are still checked.
    let (ledger, ledger_problems) = match report
        .ledger
        .as_ref()
        .map(|t| ledger::load(t, &report.partners, report.partners_read))
    {
        Some(Ok(l)) => (Some(l), Vec::new()),
        Some(Err(p)) => (None, p),
        None => (None, Vec::new()),
    };
    // The ledger's statistics of the last build, corrected by the rows appended since.
    let carried = ledger.as_ref().zip(cache).map(|(l, c)| {
        let key = l.summary_key(&report.partners);
        let bytes = c.ledger_summary(&key);
        (l, c, key, bytes)
    });
    if let Some((l, _, _, Some(bytes))) = &carried {
        l.carry_from(bytes).map_err(internal)?;
    }
    let (declared, mut problems) = match figures::read(report) {
        Ok(d) => (d, ledger_problems),
        Err(mut p) => {
            p.extend(ledger_problems);
            (figures::Declared::default(), p)
        }
    };
    // CSV listings keep their owner columns from the counting for the owners pass.
    let kept = scan::KeptOwners::default();
    let mut counted = match count_exports(report, ledger.as_ref(), cache, Some(&kept)) {
        Ok(c) if problems.is_empty() => c,
        Ok(_) => return Err(Error::invalid(problems)),
        Err(Error::Invalid(p)) => {
            problems.extend(p);
            return Err(Error::invalid(problems));
        }
        Err(e) => return Err(e),
    };
    let mut owners = owners::count(report, ledger.as_ref(), cache, Some(&kept))?;
    drop(kept);
    figures::apply(
        report,
        &declared,
        &mut counted,
        &mut owners,
        ledger.is_some(),
    )
    .map_err(Error::invalid)?;
    let shared = shared_items_frame(&counted)?;
    let mut exports = exports(report, &shared)?;
    let mut partners = partners(report, &exports)?;
    for (row, n) in exports.iter_mut().zip(&owners.exports) {
        row.owners = n.map(|n| n.owners);
        row.owners_opted_out = n.and_then(|n| n.opted_out);
    }
    for (row, n) in partners.iter_mut().zip(&owners.partners) {
        row.owners = n.map(|n| n.owners);
        row.owners_opted_out = n.and_then(|n| n.opted_out);
    }
    let mut scopes = Vec::new();
    if let Some(ledger) = &ledger {
        in_force(report, ledger, &mut exports, &mut partners).map_err(internal)?;
        for (row, partner) in partners.iter_mut().zip(&report.partners) {
            // Known when every batch it received has an item listing or declared figures: a
            // sum over some of them would be a lower bound shown as the figure.
            row.items_opted_out_now = report
                .exports
                .iter()
                .zip(&counted)
                .filter(|(e, _)| e.partner == partner.id)
                .map(|(_, c)| c.opted_out_now)
                .sum::<Option<u64>>()
                .filter(|_| row.exports > 0);
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
    let deletions_by_export = deletions::by_export(&requests).map_err(internal)?;
    for p in &mut partners {
        // A sum over the few (partner, month) rows polars already aggregated.
        let mine = deletions.iter().filter(|d| d.partner == p.partner);
        p.deletion_requests = mine.clone().map(|d| d.requests).sum();
        p.deletion_items = mine.map(|d| d.items).sum();
    }
    let mut findings = findings::compute(
        report,
        &findings::Inputs {
            shared: &shared,
            counted: &counted,
            monthly_mismatch: &monthly_mismatch,
            requests: &requests,
            partners: &partners,
        },
    )?;
    responses::attach(&mut findings, &report.responses)?;
    if let Some((l, c, key, _)) = carried
        && let Some(body) = l.carried().map_err(internal)?
    {
        c.store_ledger_summary(&key, body);
    }
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
        deletions_by_export,
        findings,
    })
}

/// `f(0)`, …, `f(n - 1)` on up to [`COUNTING_THREADS`] threads at once, the results in order.
/// Exports (and partners' owners) are counted side by side: one listing's query leaves cores
/// idle (its per-row checks and ledger probes each run on one), and the results do not depend
/// on the order they finish.
pub(crate) fn in_order_on_threads<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    on_threads_taking(&(0..n).collect::<Vec<_>>(), f)
}

/// [`in_order_on_threads`], started in the order of `first` (a permutation of `0..n`): the
/// threads take `first[0]`, `first[1]`, … as each becomes free, so that the longest work can be
/// started first instead of being left to one thread at the end. The results are in index order
/// whatever the order of starting.
pub(crate) fn on_threads_taking<T: Send>(first: &[usize], f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let n = first.len();
    // As many as rayon's threads (the cores, or `RAYON_NUM_THREADS`).
    let threads = rayon::current_num_threads()
        .clamp(1, COUNTING_THREADS)
        .min(n);
    if threads <= 1 {
        let mut out: Vec<(usize, T)> = first.iter().map(|&i| (i, f(i))).collect();
        out.sort_by_key(|(i, _)| *i);
        return out.into_iter().map(|(_, t)| t).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut out: Vec<(usize, T)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&i) = first.get(k) else {
                            return mine;
                        };
                        mine.push((i, f(i)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, t)| t).collect()
}

/// A lock whose value stays valid if a thread panicked holding it (the build's memos and
/// counters: each step leaves them whole).
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How many exports are counted at once at most: each holds one listing's rows while it is
/// counted, so memory grows with it (at 100M items in 20 Parquet exports, two at once peak at
/// 2.68 GiB against 2.42 GiB one at a time: bench/RESULTS.md).
const COUNTING_THREADS: usize = 2;

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
                owners: None,
                owners_opted_out: None,
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
                owners: None,
                owners_opted_out: None,
            })
        })
        .collect()
}

/// The last microsecond of the report's day (UTC): the "now" of every as-of figure.
fn report_now(report: &Report) -> i64 {
    crate::load::deletions::end_of(report.meta.published)
        .map_or(i64::MAX, |d| d.timestamp_micros() - 1)
}
