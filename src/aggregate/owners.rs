//! Owners: how many distinct owners had items in each export and in everything a partner
//! received, and how many of them were opted out for the partner when their items were exported.
//!
//! Distinct counts do not add up over part files, exports or partners, so they are counted from
//! the listings' owner columns, per partner in one query: the pairs (owner, export) first, then
//! their counts per export and the union over the partner's exports. The result is cached per
//! partner, keyed by the aggregate entries of every listing it was counted from.

use polars::prelude::*;

use super::cache::Cache;
use super::columns::{EXPORT, OWNER_ID};
use super::exports::{fingerprint, key_parts, window_micros};
use super::ids;
use super::ledger::{IdSet, Ledger};
use super::listings::{self, ListingContext};
use super::scan::KeptOwners;
use super::tallies::{Tallies, union_counts};
use super::{internal, report_now};
use crate::error::{Error, Result};
use crate::model::{Export, Partner, Report};

/// Distinct owners, and how many of them were opted out for the partner at the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OwnerCount {
    /// Owners with at least one item.
    pub(crate) owners: u64,
    /// Of them, owners with an opt-out covering the partner in force when (one of) their items
    /// was exported; `None` without a ledger.
    pub(crate) opted_out: Option<u64>,
}

/// [`OwnerCount`]s per export (in `report.exports` order) and per partner (in
/// `report.partners` order); `None` where they cannot be counted: an export without an item
/// listing, a partner with an export that has none.
#[derive(Debug, Clone, Default)]
pub(crate) struct OwnerCounts {
    pub(crate) exports: Vec<Option<OwnerCount>>,
    pub(crate) partners: Vec<Option<OwnerCount>>,
}

/// The column of distinct owners.
pub(crate) const OWNERS: &str = "owners";
/// The column of distinct owners opted out at the export.
pub(crate) const OWNERS_OPTED_OUT: &str = "owners_opted_out";
const OPTED: &str = "__opted";
const BATCH: &str = "__export";
/// The cache entry's name, and the `export` of its row for the partner's union.
const WHAT: &str = "owners";
const UNION: &str = "";

/// Counts the owners of every export and partner. Run after the listings were counted (and so
/// checked): their rows are valid.
pub(crate) fn count(
    report: &Report,
    ledger: Option<&Ledger>,
    cache: Option<&Cache>,
    kept: Option<&KeptOwners>,
) -> Result<OwnerCounts> {
    let mut out = OwnerCounts {
        exports: vec![None; report.exports.len()],
        partners: Vec::with_capacity(report.partners.len()),
    };
    // Each partner's exports, and those of them with a listing.
    type Exports<'a> = Vec<(usize, &'a Export)>;
    let groups: Vec<(Exports, Exports)> = report
        .partners
        .iter()
        .map(|partner| {
            let mine: Exports = report
                .exports
                .iter()
                .enumerate()
                .filter(|(_, e)| e.partner == partner.id)
                .collect();
            let listed = mine
                .iter()
                .copied()
                .filter(|(_, e)| e.items.is_some())
                .collect();
            (mine, listed)
        })
        .collect();
    // Each partner's table, side by side; used in the partners' order.
    let tables = super::in_order_on_threads(report.partners.len(), |p| {
        let listed = &groups[p].1;
        (!listed.is_empty())
            .then(|| partner_table(report, &report.partners[p], listed, ledger, cache, kept))
            .transpose()
    });
    for ((mine, listed), table) in groups.iter().zip(tables) {
        let Some(df) = table? else {
            // No export at all: nobody's items were shared with it.
            out.partners.push(mine.is_empty().then_some(OwnerCount {
                owners: 0,
                opted_out: ledger.map(|_| 0),
            }));
            continue;
        };
        let rows = read_rows(&df).map_err(internal)?;
        for (i, export) in listed {
            out.exports[*i] = Some(rows.iter().find(|(id, _)| id == export.id.as_str()).map_or(
                OwnerCount {
                    owners: 0,
                    opted_out: ledger.map(|_| 0),
                },
                |r| r.1,
            ));
        }
        let union = rows.iter().find(|(id, _)| id == UNION).map(|r| r.1);
        // A batch with declared counts only has owners nobody can count.
        out.partners
            .push(union.filter(|_| listed.len() == mine.len()));
    }
    Ok(out)
}

/// The rows of a partner's table: (export id, or `""` for the union; counts).
fn read_rows(df: &DataFrame) -> PolarsResult<Vec<(String, OwnerCount)>> {
    let ids = df.column(EXPORT)?.str()?;
    let owners = df.column(OWNERS)?.u64()?;
    let opted = df.column(OWNERS_OPTED_OUT)?.u64()?;
    Ok((0..df.height())
        .map(|i| {
            (
                ids.get(i).unwrap_or_default().to_owned(),
                OwnerCount {
                    owners: owners.get(i).unwrap_or(0),
                    opted_out: opted.get(i),
                },
            )
        })
        .collect())
}

/// The cache entries a partner's owner counts are read from (for `cache prune`).
pub(crate) fn cache_entry(
    report: &Report,
    partner: &Partner,
    ledger: Option<&Ledger>,
    dir: &std::path::Path,
) -> Result<Option<std::path::PathBuf>> {
    let listed: Vec<&Export> = report
        .exports
        .iter()
        .filter(|e| e.partner == partner.id && e.items.is_some())
        .collect();
    if listed.is_empty() {
        return Ok(None);
    }
    let categories = report.meta.category_ids();
    let fingerprints = fingerprints(&listed, partner, ledger)?;
    let mut paths = Vec::new();
    for (export, fingerprint) in listed.iter().zip(&fingerprints) {
        for part in export.items.iter().flat_map(|i| &i.files) {
            let key = key_parts(partner, export, fingerprint, &categories);
            match super::cache::entry_path(dir, "aggregate", part, &key) {
                Some(p) => paths.push(p),
                None => return Ok(None),
            }
        }
    }
    Ok(Some(super::cache::combined_path(
        dir,
        &entry_what(&listed),
        &paths,
    )))
}

/// What a partner's owners entry holds, for its key: its rows are looked up by export id, so
/// the ids are part of the key (an export renamed, or two ids swapped, must miss).
fn entry_what(exports: &[&Export]) -> String {
    let ids: Vec<&str> = exports.iter().map(|e| e.id.as_str()).collect();
    format!("{WHAT}\n{}", ids.join("\n"))
}

fn fingerprints(
    listed: &[&Export],
    partner: &Partner,
    ledger: Option<&Ledger>,
) -> Result<Vec<String>> {
    listed
        .iter()
        .map(|e| fingerprint(ledger, partner, e.exported_at.timestamp_micros()).map_err(internal))
        .collect()
}

/// One partner's owner counts: a row per listed export and one (`export` empty) for the union.
fn partner_table(
    report: &Report,
    partner: &Partner,
    listed: &[(usize, &Export)],
    ledger: Option<&Ledger>,
    cache: Option<&Cache>,
    kept: Option<&KeptOwners>,
) -> Result<DataFrame> {
    let categories = report.meta.category_ids();
    let exports: Vec<&Export> = listed.iter().map(|(_, e)| *e).collect();
    let entry = match cache {
        Some(cache) => {
            let fingerprints = fingerprints(&exports, partner, ledger)?;
            let inputs: Vec<_> = exports
                .iter()
                .zip(&fingerprints)
                .flat_map(|(export, fingerprint)| {
                    let key = |part| (part, key_parts(partner, export, fingerprint, &categories));
                    export.items.iter().flat_map(|i| &i.files).map(key)
                })
                .collect();
            cache.combined_entry(&entry_what(&exports), &inputs)
        }
        None => None,
    };
    let compute = || -> Result<DataFrame> {
        if let Some(df) = counts_from_tallies(&exports, partner, ledger, cache, kept)? {
            return Ok(df);
        }
        // Each part's owner column, scanned once; every part's owners are read as one key
        // type: the ledger's and theirs joined.
        let mut columns = Vec::new();
        let mut key = ledger.map(Ledger::owner_type);
        for (j, export) in exports.iter().enumerate() {
            for part in export.items.iter().flat_map(|i| &i.files) {
                let column = listings::owner_column(part, kept).map_err(Error::invalid)?;
                key = Some(match key {
                    Some(k) => ids::join_type(&k, &column.key),
                    None => column.key.clone(),
                });
                columns.push((j, column));
            }
        }
        let key = key.unwrap_or(DataType::String);
        let mut frames = Vec::new();
        for (j, column) in columns {
            let export = exports[j];
            let context = ListingContext {
                ledger: ledger.map(|l| (l, partner)),
                exported_at: export.exported_at.timestamp_micros(),
                now: report_now(report),
                window: window_micros(export),
                kept: None,
            };
            let rows = listings::owner_rows(column, &key, &context, OPTED).map_err(internal)?;
            let rows = if ledger.is_none() {
                rows.with_column(lit(false).alias(OPTED))
            } else {
                rows
            };
            frames.push(rows.select([
                col(OWNER_ID),
                lit(j as u32).cast(DataType::UInt32).alias(BATCH),
                col(OPTED),
            ]));
        }
        // Integer ids, and text ids that are all integers' digits (CSV listings), by sorting
        // integers; other text by grouping.
        let integers = ids::fits_i64(&key);
        if (integers || key == DataType::String)
            && let Some(df) =
                counts_of_integers(frames.clone(), &exports, ledger.is_some()).map_err(internal)?
        {
            return Ok(df);
        }
        counts(frames, &exports, ledger.is_some()).map_err(internal)
    };
    match cache {
        Some(cache) => cache.table(entry, &[EXPORT, OWNERS, OWNERS_OPTED_OUT], compute),
        None => compute(),
    }
}

/// [`counts`] from each part's owner tallies (cached per part, whatever the ledger holds; see
/// [`super::tallies`]): per export, its parts' owners merged, and those opted out at the export
/// probed in the ledger's set; the partner's union merged from all of them. `None` when a part's
/// owner ids (or the ledger's) do not fit `Int64`.
fn counts_from_tallies(
    exports: &[&Export],
    partner: &Partner,
    ledger: Option<&Ledger>,
    cache: Option<&Cache>,
    kept: Option<&KeptOwners>,
) -> Result<Option<DataFrame>> {
    if ledger.is_some_and(|l| !listings::ledger_probes(l)) {
        return Ok(None);
    }
    // (export index, the part's tallies)
    let mut lists: Vec<(usize, Tallies)> = Vec::new();
    for (j, export) in exports.iter().enumerate() {
        for part in export.items.iter().flat_map(|i| &i.files) {
            let compute = || listings::owner_tallies(part, kept);
            let tallies = match cache {
                Some(cache) => cache.tallies(part, compute),
                None => compute(),
            }
            .map_err(Error::invalid)?;
            match tallies {
                Some(t) => lists.push((j, t)),
                None => return Ok(None),
            }
        }
    }
    // Every export's set made in one pass over the ledger.
    let wanted: Vec<(&Partner, i64)> = exports
        .iter()
        .map(|e| (partner, e.exported_at.timestamp_micros()))
        .collect();
    let sets: Vec<Option<IdSet>> = match ledger {
        Some(l) => l
            .opted_out_sets(&wanted)
            .map_err(internal)?
            .into_iter()
            .map(Some)
            .collect(),
        None => vec![None; exports.len()],
    };
    // Whether the id of the k-th list of `of` was opted out at that list's export.
    let marked = |of: &[&(usize, Tallies)], k: usize, id: i64| {
        sets[of[k].0].as_ref().is_some_and(|s| s.contains(id))
    };
    let counted = |of: &[&(usize, Tallies)]| {
        let tallies: Vec<&Tallies> = of.iter().map(|(_, t)| t).collect();
        union_counts(&tallies, |k, id| marked(of, k, id))
    };
    // The partner's union, and each list's own counts, in one pass: an export of one part
    // has that part's counts.
    let every = lists.iter().collect::<Vec<_>>();
    let union = counted(&every);
    let (mut ids, mut n_owners, mut n_opted) = (Vec::new(), Vec::new(), Vec::new());
    for (j, export) in exports.iter().enumerate() {
        let parts: Vec<usize> = (0..lists.len()).filter(|&k| lists[k].0 == j).collect();
        let (owners, opted) = match parts.as_slice() {
            [one] => union.each[*one],
            _ => counted(&parts.iter().map(|&k| &lists[k]).collect::<Vec<_>>()).all,
        };
        // Only exports with rows, as the grouping gives them.
        if owners == 0 {
            continue;
        }
        ids.push(export.id.to_string());
        n_owners.push(owners);
        n_opted.push(ledger.map(|_| opted));
    }
    let (owners, opted) = union.all;
    ids.push(UNION.to_owned());
    n_owners.push(owners);
    n_opted.push(ledger.map(|_| opted));
    df!(EXPORT => ids, OWNERS => n_owners, OWNERS_OPTED_OUT => n_opted)
        .map(Some)
        .map_err(internal)
}

/// [`counts`] for integer owner ids, by sorting instead of hashing: per export, its owners (and
/// those opted out) sorted and deduplicated; the partner's union merged from them. A hash table
/// of (owner, export) pairs, grown to millions of groups, cost more than counting the items.
/// `None` when an id is text that is no integer's digits (ids read as text are already in their
/// compared form: `0123` is `123`).
fn counts_of_integers(
    frames: Vec<LazyFrame>,
    exports: &[&Export],
    ledger: bool,
) -> PolarsResult<Option<DataFrame>> {
    let mut owners: Vec<Vec<i64>> = vec![Vec::new(); exports.len()];
    let mut opted: Vec<Vec<i64>> = vec![Vec::new(); exports.len()];
    for frame in frames {
        let df = frame
            .select([col(OWNER_ID), col(BATCH), col(OPTED).fill_null(lit(false))])
            .collect()?;
        let column = df.column(OWNER_ID)?;
        let parsed;
        let ids = if column.dtype() == &DataType::String {
            // The digits of an integer, as it prints: else the ids are compared as text.
            let text = column.str()?;
            let mut out: Vec<Option<i64>> = Vec::with_capacity(text.len());
            for v in text.iter() {
                match v {
                    None => out.push(None),
                    Some(v) => match v.parse::<i64>().ok().filter(|n| n.to_string() == v) {
                        Some(n) => out.push(Some(n)),
                        None => return Ok(None),
                    },
                }
            }
            parsed = Int64Chunked::from_iter_options(OWNER_ID.into(), out.into_iter());
            &parsed
        } else {
            parsed = column.cast(&DataType::Int64)?.i64()?.clone();
            &parsed
        };
        let batch = df.column(BATCH)?.u32()?;
        let marked = df.column(OPTED)?.bool()?;
        for ((id, j), m) in ids.iter().zip(batch.iter()).zip(marked.iter()) {
            let (Some(id), Some(j)) = (id, j) else {
                continue;
            };
            let j = j as usize;
            if let Some(all) = owners.get_mut(j) {
                all.push(id);
                if m == Some(true) {
                    opted[j].push(id);
                }
            }
        }
    }
    let (per_export, union_all) = distinct_counts(&owners);
    let (per_export_opted, union_opted) = distinct_counts(&opted);
    let mut ids = Vec::new();
    let mut n_owners = Vec::new();
    let mut n_opted = Vec::new();
    for (j, export) in exports.iter().enumerate() {
        // Only exports with rows, as the grouping gives them.
        if owners[j].is_empty() {
            continue;
        }
        ids.push(export.id.to_string());
        n_owners.push(per_export[j]);
        n_opted.push(ledger.then_some(per_export_opted[j]));
    }
    ids.push(UNION.to_owned());
    n_owners.push(union_all);
    n_opted.push(ledger.then_some(union_opted));
    df!(EXPORT => ids, OWNERS => n_owners, OWNERS_OPTED_OUT => n_opted).map(Some)
}

/// The distinct values of each list, and of all of them together. Over a narrow range of ids
/// (what a platform's account ids are) with bitmaps, in one pass; else by sorting.
fn distinct_counts(lists: &[Vec<i64>]) -> (Vec<u64>, u64) {
    const MAX_BITS: u64 = 1 << 27;
    let all = lists.iter().flatten();
    let (Some(min), Some(max)) = (all.clone().min().copied(), all.max().copied()) else {
        return (vec![0; lists.len()], 0);
    };
    let width = max.abs_diff(min);
    if width < MAX_BITS {
        let words = (width / 64 + 1) as usize;
        let (mut one, mut every) = (vec![0u64; words], vec![0u64; words]);
        let mut union = 0u64;
        let per_list = lists
            .iter()
            .map(|list| {
                let mut n = 0u64;
                for &id in list {
                    let at = id.abs_diff(min);
                    let (w, bit) = ((at / 64) as usize, 1u64 << (at % 64));
                    if one[w] & bit == 0 {
                        one[w] |= bit;
                        n += 1;
                    }
                    if every[w] & bit == 0 {
                        every[w] |= bit;
                        union += 1;
                    }
                }
                // Cleared by the same ids, not by the whole bitmap.
                for &id in list {
                    let at = id.abs_diff(min);
                    one[(at / 64) as usize] = 0;
                }
                n
            })
            .collect();
        return (per_list, union);
    }
    let mut sorted: Vec<Vec<i64>> = lists.to_vec();
    let per_list = sorted
        .iter_mut()
        .map(|v| {
            v.sort_unstable();
            v.dedup();
            v.len() as u64
        })
        .collect();
    let mut all: Vec<i64> = sorted.into_iter().flatten().collect();
    all.sort_unstable();
    all.dedup();
    (per_list, all.len() as u64)
}

/// The counts from every listed row's (owner, export index, opted out at that export).
fn counts(frames: Vec<LazyFrame>, exports: &[&Export], ledger: bool) -> PolarsResult<DataFrame> {
    // SELECT DISTINCT owner_id, __export, __opted FROM listings   (__opted is the owner's at
    // that export: the same for every row of the pair)
    let pairs = concat(frames, UnionArgs::default())?
        .group_by([col(OWNER_ID), col(BATCH)])
        .agg([col(OPTED).any(false).alias(OPTED)])
        .collect()?;
    // SELECT __export, count(*), count(*) FILTER (WHERE __opted) FROM pairs GROUP BY __export
    let per_export = pairs
        .clone()
        .lazy()
        .group_by([col(BATCH)])
        .agg([
            len().cast(DataType::UInt64).alias(OWNERS),
            col(OPTED)
                .sum()
                .cast(DataType::UInt64)
                .alias(OWNERS_OPTED_OUT),
        ])
        .sort([BATCH], SortMultipleOptions::default())
        .collect()?;
    // SELECT count(*), count(*) FILTER (WHERE opted) FROM (SELECT owner_id, bool_or(__opted)
    // AS opted FROM pairs GROUP BY owner_id)
    let union = pairs
        .lazy()
        .group_by([col(OWNER_ID)])
        .agg([col(OPTED).any(false).alias(OPTED)])
        .select([
            len().cast(DataType::UInt64).alias(OWNERS),
            col(OPTED)
                .sum()
                .cast(DataType::UInt64)
                .alias(OWNERS_OPTED_OUT),
        ])
        .collect()?;
    let batch = per_export.column(BATCH)?.u32()?;
    let owners = per_export.column(OWNERS)?.u64()?;
    let opted = per_export.column(OWNERS_OPTED_OUT)?.u64()?;
    let mut ids = Vec::new();
    let mut n_owners = Vec::new();
    let mut n_opted = Vec::new();
    for i in 0..per_export.height() {
        let Some(export) = batch.get(i).and_then(|j| exports.get(j as usize)) else {
            continue;
        };
        ids.push(export.id.to_string());
        n_owners.push(owners.get(i).unwrap_or(0));
        n_opted.push(opted.get(i).filter(|_| ledger));
    }
    ids.push(UNION.to_owned());
    n_owners.push(union.column(OWNERS)?.u64()?.get(0).unwrap_or(0));
    n_opted.push(
        union
            .column(OWNERS_OPTED_OUT)?
            .u64()?
            .get(0)
            .filter(|_| ledger)
            .or(ledger.then_some(0)),
    );
    df!(EXPORT => ids, OWNERS => n_owners, OWNERS_OPTED_OUT => n_opted)
}

#[cfg(test)]
mod tests {
    use super::distinct_counts;

    #[test]
    fn distinct_counts_by_bitmap_and_by_sorting_agree_with_sets() {
        let mut rng = crate::aggregate::TestRng(0xd157_1ac7);
        // A narrow range (bitmaps) and one wider than any bitmap (sorting), with repeats,
        // negative ids and empty lists.
        for spread in [1_000u64, 1 << 40] {
            let lists: Vec<Vec<i64>> = (0..6)
                .map(|k| {
                    (0..(k * 300) as u64)
                        .map(|_| rng.below(spread) as i64 - (spread / 3) as i64)
                        .collect()
                })
                .collect();
            let want: Vec<u64> = lists
                .iter()
                .map(|l| l.iter().collect::<std::collections::BTreeSet<_>>().len() as u64)
                .collect();
            let union = lists
                .iter()
                .flatten()
                .collect::<std::collections::BTreeSet<_>>()
                .len() as u64;
            assert_eq!(distinct_counts(&lists), (want, union), "spread {spread}");
        }
        assert_eq!(distinct_counts(&[vec![], vec![]]), (vec![0, 0], 0));
    }
}
