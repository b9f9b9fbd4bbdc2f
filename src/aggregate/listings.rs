//! Item listings (CSV, Parquet, NDJSON) → per-(category, year) counts, with polars.
//!
//! One lazy query per listing normalises the columns (`created_at` as UTC microseconds and its UTC
//! year, flags as booleans, owners as text), left-joins the owners opted out at export time from the
//! ledger, and groups by category and year. Rows that fail a check land in their own group, so a valid
//! listing is read once; only when a group of bad rows exists does a second query fetch their row
//! numbers for the error messages.

use polars::prelude::*;

use super::columns::{
    CATEGORY, CREATED_AT, FLAGS, ITEM_ID, ITEMS, LISTING_REQUIRED, OPTED_OUT, OUTSIDE_WINDOW,
    OWNER_ID, YEAR,
};
use super::ids::{self, IdKind};
use super::ledger::{IdSet, Ledger};
use super::scan::{
    BadRows, KeptOwners, MAX_ROW_PROBLEMS, ROW, guarded, in_slices, instant_expr, missing_columns,
    read_problem, scan_listing, utc_year,
};
use super::tallies::Tallies;
use crate::error::Problem;
use crate::model::{CategoryId, Partner, TableFile};

const INVALID: &str = "__invalid";
const TS: &str = "__ts";
const OPTED: &str = "__opted";
const OPTED_NOW: &str = "__opted_now";
/// Items whose owner is opted out for the partner at the report's date.
pub(crate) const OPTED_OUT_NOW: &str = "opted_out_now";
/// A text flag as a code, in one pass over the column: [`FLAG_TRUE`] for `true` in any letter
/// case or `1`, [`FLAG_FALSE`] for `false` in any letter case, `0` or nothing, [`FLAG_NEITHER`]
/// for any other text; null stays null. (Polars' boolean reader, which reads a CSV listing's
/// flags when its first rows allow, takes the same words but for `1` and `0`.)
fn flag_codes(c: Column) -> PolarsResult<Column> {
    let codes =
        |text: &StringChunked| -> UInt32Chunked { text.iter().map(|v| v.map(flag_code)).collect() };
    let out = in_slices(c.str()?, codes)?;
    Ok(out.with_name(c.name().clone()).into_column())
}

/// One text flag's code (see [`flag_codes`]).
pub(crate) fn flag_code(v: &str) -> u32 {
    if v == "1" || v.eq_ignore_ascii_case("true") {
        FLAG_TRUE
    } else if v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false") {
        FLAG_FALSE
    } else {
        FLAG_NEITHER
    }
}

pub(crate) const FLAG_FALSE: u32 = 0;
pub(crate) const FLAG_TRUE: u32 = 1;
const FLAG_NEITHER: u32 = 2;

/// True where a category is one of `known`; null stays null. One comparison with each known
/// category: polars compares a short text's view with a literal without reading the text, which
/// measured a few percent faster than one pass comparing each text with every category.
fn known_category(e: Expr, known: &[CategoryId]) -> Expr {
    known
        .iter()
        .fold(lit(false), |any, k| any.or(e.clone().eq(lit(k.as_str()))))
}

/// (value, invalid) from "the value means true" and "the value means false": a value that is
/// neither, and not null, is invalid; null is false.
fn flag_from(c: Expr, yes: Expr, no: Expr) -> (Expr, Expr) {
    let invalid = yes
        .clone()
        .or(no)
        .not()
        .and(c.is_not_null())
        .fill_null(lit(false));
    (yes.fill_null(lit(false)), invalid)
}

/// A flag column → (value as boolean, "the value is not a boolean" as boolean).
fn flag_exprs(name: &str, dtype: Option<&DataType>) -> Option<(Expr, Expr)> {
    let c = col(name);
    match dtype {
        None | Some(DataType::Null) => Some((lit(false), lit(false))),
        Some(DataType::Boolean) => Some((c.fill_null(lit(false)), lit(false))),
        Some(DataType::String) => {
            let code = c.clone().map(flag_codes, |_: &Schema, f: &Field| {
                Ok(Field::new(f.name().clone(), DataType::UInt32))
            });
            Some(flag_from(
                c,
                code.clone().eq(lit(FLAG_TRUE)),
                code.eq(lit(FLAG_FALSE)),
            ))
        }
        Some(dt) if dt.is_integer() => {
            Some(flag_from(c.clone(), c.clone().eq(lit(1)), c.eq(lit(0))))
        }
        Some(_) => None,
    }
}

/// The checks of one listing, as expressions over the raw columns.
struct Checks {
    category: Expr,
    /// `created_at` as UTC microseconds.
    ts: Expr,
    flags: Vec<(Expr, Expr)>,
    unknown_category: Expr,
    /// A missing or unusable `item_id` (see [`ids`]).
    bad_item: Expr,
    /// A missing or unusable `owner_id`.
    bad_owner: Expr,
    /// How `owner_id` is read.
    owner_kind: IdKind,
}

impl Checks {
    fn new(
        table: &TableFile,
        schema: &Schema,
        categories: &[CategoryId],
    ) -> Result<Self, Vec<Problem>> {
        let mut problems = missing_columns(table, schema, &LISTING_REQUIRED);
        if !problems.is_empty() {
            return Err(problems);
        }
        let wrong_type = |name: &str, dtype: &DataType, want: &str| {
            Problem::new(
                &table.display,
                format!("column `{name}` has type {dtype}, not {want}"),
            )
            .help(format!("write `{name}` as {want}"))
        };
        let created = schema.get(CREATED_AT).cloned().unwrap_or(DataType::Null);
        let ts = instant_expr(CREATED_AT, &created);
        if ts.is_none() {
            problems.push(wrong_type(CREATED_AT, &created, "a date or datetime"));
        }
        let mut kinds = [IdKind::Text; 2];
        for (kind, name) in kinds.iter_mut().zip([ITEM_ID, OWNER_ID]) {
            let dtype = schema.get(name).cloned().unwrap_or(DataType::Null);
            match IdKind::of(&dtype) {
                Some(k) => *kind = k,
                None => problems.push(wrong_type(name, &dtype, ids::ID_TYPES)),
            }
        }
        let [item_kind, owner_kind] = kinds;
        let category_type = schema.get(CATEGORY).cloned().unwrap_or(DataType::Null);
        if category_type != DataType::String {
            problems.push(wrong_type(CATEGORY, &category_type, "text"));
        }
        let mut flags = Vec::new();
        for flag in FLAGS {
            match flag_exprs(flag, schema.get(flag)) {
                Some(exprs) => flags.push(exprs),
                None => problems.push(wrong_type(
                    flag,
                    schema.get(flag).unwrap_or(&DataType::Null),
                    "a boolean (true/false/1/0)",
                )),
            }
        }
        let (Some(ts), true) = (ts, problems.is_empty()) else {
            return Err(problems);
        };
        let category = col(CATEGORY);
        let known = known_category(category.clone(), categories);
        Ok(Checks {
            unknown_category: known.fill_null(lit(false)).not(),
            category,
            ts,
            flags,
            bad_item: col(ITEM_ID).is_null().or(ids::bad(ITEM_ID, item_kind)),
            bad_owner: col(OWNER_ID).is_null().or(ids::bad(OWNER_ID, owner_kind)),
            owner_kind,
        })
    }

    /// Normalised columns (`created_at` as `__ts`, and `owner_id` cast to `owner` when it is
    /// joined with the ledger) plus the `__invalid` marker (every check but the category's).
    fn normalised(&self, owner: Option<&DataType>) -> Vec<Expr> {
        let mut out = vec![
            self.category.clone().alias(CATEGORY),
            utc_year(self.ts.clone()).alias(YEAR),
            self.ts.clone().alias(TS),
        ];
        if let Some(key) = owner {
            out.push(
                ids::value(OWNER_ID, self.owner_kind)
                    .cast(key.clone())
                    .alias(OWNER_ID),
            );
        }
        for (flag, (value, _)) in FLAGS.iter().zip(&self.flags) {
            out.push(value.clone().alias(*flag));
        }
        let invalid = self.flags.iter().fold(
            self.unknown_category
                .clone()
                .or(self.ts.clone().is_null())
                .or(self.bad_item.clone())
                .or(self.bad_owner.clone()),
            |acc, (_, bad)| acc.or(bad.clone()),
        );
        out.push(invalid.alias(INVALID));
        out
    }
}

/// What a listing is checked against besides its own rows.
pub(crate) struct ListingContext<'a> {
    /// The ledger and the export's partner, when the report has a ledger: the owners opted out
    /// for the partner at `exported_at` and at `now` are joined with the listing.
    pub(crate) ledger: Option<(&'a Ledger, &'a Partner)>,
    /// The export's `exported_at` (UTC microseconds).
    pub(crate) exported_at: i64,
    /// The end of the report's date (UTC microseconds): the deletion expectation.
    pub(crate) now: i64,
    /// The content window as `[from, to)` in UTC microseconds.
    pub(crate) window: (Option<i64>, Option<i64>),
    /// Where a listing read whole keeps its owner column for the owners pass.
    pub(crate) kept: Option<&'a KeptOwners>,
}

/// The columns of [`aggregate_listing`]'s frame, in order.
pub(crate) fn aggregate_columns() -> Vec<&'static str> {
    let mut out = vec![CATEGORY, YEAR, ITEMS];
    out.extend(FLAGS);
    out.extend([OPTED_OUT, OUTSIDE_WINDOW, OPTED_OUT_NOW]);
    out
}

/// Aggregates one item listing into (category, year, items, flags…, opted_out, outside_window),
/// sorted by category and year. `opted_out` is null without a ledger.
pub(crate) fn aggregate_listing(
    table: &TableFile,
    categories: &[CategoryId],
    context: &ListingContext,
) -> Result<DataFrame, Vec<Problem>> {
    guarded(table, || aggregate_unguarded(table, categories, context))
}

fn aggregate_unguarded(
    table: &TableFile,
    categories: &[CategoryId],
    context: &ListingContext,
) -> Result<DataFrame, Vec<Problem>> {
    let mut lf =
        scan_listing(table, None, context.kept).map_err(|e| vec![read_problem(table, &e)])?;
    let schema = lf
        .collect_schema()
        .map_err(|e| vec![read_problem(table, &e)])?;
    let checks = Checks::new(table, &schema, categories)?;

    // Owners are joined by value: as integers when the listing and the ledger both hold integers
    // (a float id is the integer it holds), else as text (an integer's text is its digits).
    let key = context.ledger.map(|(ledger, _)| {
        let listing_type = schema.get(OWNER_ID).cloned().unwrap_or(DataType::Null);
        ids::join_type(
            &ids::key_type(&listing_type, checks.owner_kind),
            &ledger.owner_type(),
        )
    });
    let rows = lf.select(checks.normalised(key.as_ref()));
    let ledger = context.ledger.zip(key.as_ref());
    let owners = |t: i64| {
        ledger
            .map(|((l, partner), key)| Owners::of(l, partner, t, key))
            .transpose()
            .map_err(|e| vec![read_problem(table, &e)])
    };
    // The owners opted out at the report's date are the same for every export of the partner
    // (kept by the ledger).
    let (at_export, now) = (owners(context.exported_at)?, owners(context.now)?);
    let (rows, opted_out) = mark_owners(rows, at_export, OPTED);
    let (rows, opted_out_now) = mark_owners(rows, now, OPTED_NOW);
    let (from, to) = context.window;
    let outside = from
        .map(|f| col(TS).lt(lit(f)))
        .into_iter()
        .chain(to.map(|t| col(TS).gt_eq(lit(t))))
        .fold(lit(false), Expr::or)
        .fill_null(lit(false));

    // SELECT category, year, __invalid, count(*) AS items, sum(private) AS private, ...,
    //        sum(__opted) AS opted_out, sum(__ts < :from OR __ts >= :to) AS outside_window
    // FROM rows GROUP BY category, year, __invalid
    let mut aggs = vec![len().cast(DataType::UInt64).alias(ITEMS)];
    aggs.extend(
        FLAGS
            .iter()
            .map(|f| col(*f).sum().cast(DataType::UInt64).alias(*f)),
    );
    aggs.push(opted_out.alias(OPTED_OUT));
    aggs.push(outside.sum().cast(DataType::UInt64).alias(OUTSIDE_WINDOW));
    aggs.push(opted_out_now.alias(OPTED_OUT_NOW));
    // ... then a group whose category is not one of report.yaml's is invalid as a whole.
    let grouped = rows
        .group_by([col(CATEGORY), col(YEAR), col(INVALID)])
        .agg(aggs)
        .with_column(col(INVALID).or(checks.unknown_category.clone()))
        .collect()
        .map_err(|e| vec![read_problem(table, &e)])?;
    let invalid = grouped
        .column(INVALID)
        .and_then(|c| c.bool().map(|b| b.sum().unwrap_or(0)))
        .map_err(|e| vec![read_problem(table, &e)])?;
    if invalid > 0 {
        let bad_rows: u64 = grouped
            .clone()
            .lazy()
            .filter(col(INVALID))
            .select([col(ITEMS).sum()])
            .collect()
            .ok()
            .and_then(|df| df.column(ITEMS).ok()?.u64().ok()?.get(0))
            .unwrap_or(0);
        return Err(row_problems(table, &checks, categories, bad_rows));
    }
    // SELECT category, year, items, flags..., opted_out, outside_window ORDER BY category, year
    grouped
        .lazy()
        .drop(by_name([INVALID], true, false))
        .sort([CATEGORY, YEAR], SortMultipleOptions::default())
        .collect()
        .map_err(|e| vec![read_problem(table, &e)])
}

/// The columns of a listing's cached aggregate: [`aggregate_columns`] but `opted_out_now`, which
/// depends on the ledger at the report's date and is cached on its own.
pub(crate) fn cached_columns() -> Vec<&'static str> {
    let mut out = aggregate_columns();
    out.retain(|c| *c != OPTED_OUT_NOW);
    out
}

/// Items of a listing whose owner is opted out for the partner at the report's date: what
/// [`aggregate_listing`]'s `opted_out_now` sums, from the listing's owner column alone (for a
/// listing whose aggregate came from the cache). 0 without a ledger.
pub(crate) fn opted_out_now(
    table: &TableFile,
    context: &ListingContext,
) -> Result<u64, Vec<Problem>> {
    guarded(table, || {
        let Some((ledger, partner)) = context.ledger else {
            return Ok(0);
        };
        let fail = |e: PolarsError| vec![read_problem(table, &e)];
        let (lf, listing_type, kind) = owner_scan(table, None)?;
        let key = ids::join_type(&ids::key_type(&listing_type, kind), &ledger.owner_type());
        let owner = ids::value(OWNER_ID, kind).cast(key.clone()).alias(OWNER_ID);
        if probes(&key) {
            // Integer ids: one probe per item into the partner's set, made once per build.
            let set = ledger.opted_out_ids(context.now, partner).map_err(fail)?;
            let ids = int_ids(lf, owner).map_err(fail)?;
            return Ok(ids.iter().flatten().filter(|id| set.contains(*id)).count() as u64);
        }
        let owners = ledger
            .opted_out_kept(context.now, partner, &key)
            .map_err(fail)?;
        // SELECT count(*) FROM listing JOIN owners USING (owner_id)   (owners are distinct)
        let df = lf
            .select([owner])
            .join(
                owners,
                [col(OWNER_ID)],
                [col(OWNER_ID)],
                JoinArgs::new(JoinType::Inner),
            )
            .select([len().cast(DataType::UInt64).alias(ITEMS)])
            .collect()
            .map_err(fail)?;
        df.column(ITEMS)
            .and_then(|c| Ok(c.u64()?.get(0).unwrap_or(0)))
            .map_err(fail)
    })
}

/// The owner tallies of a listing whose rows were checked already (see [`super::tallies`]):
/// `None` when its owner ids are not integers that fit `Int64`.
pub(crate) fn owner_tallies(
    table: &TableFile,
    kept: Option<&KeptOwners>,
) -> Result<Option<Tallies>, Vec<Problem>> {
    guarded(table, || {
        let fail = |e: PolarsError| vec![read_problem(table, &e)];
        let (lf, listing_type, kind) = owner_scan(table, kept)?;
        if !probes(&ids::key_type(&listing_type, kind)) {
            return Ok(None);
        }
        let owner = ids::value(OWNER_ID, kind).alias(OWNER_ID);
        Ok(Some(Tallies::of(&int_ids(lf, owner).map_err(fail)?)))
    })
}

/// The owner column `owner` of a listing's scan `lf`, as `Int64`.
fn int_ids(lf: LazyFrame, owner: Expr) -> PolarsResult<Int64Chunked> {
    let df = lf
        .select([owner.cast(DataType::Int64).alias(OWNER_ID)])
        .collect()?;
    Ok(df.column(OWNER_ID)?.i64()?.clone())
}

/// Whether listings whose ids fit `Int64` are matched with `ledger`'s owners by probing its
/// sets of integers (what [`Tallies`] need): when the ledger's ids fit `Int64` too.
pub(crate) fn ledger_probes(ledger: &Ledger) -> bool {
    probes(&ledger.owner_type())
}

/// A listing's owner column alone, of a listing whose rows were checked already: the scan, the
/// column's type and how its ids are read.
fn owner_scan(
    table: &TableFile,
    kept: Option<&KeptOwners>,
) -> Result<(LazyFrame, DataType, IdKind), Vec<Problem>> {
    let fail = |e: PolarsError| vec![read_problem(table, &e)];
    let mut lf = scan_listing(table, Some(&[OWNER_ID]), kept).map_err(fail)?;
    let schema = lf.collect_schema().map_err(fail)?;
    let dtype = schema.get(OWNER_ID).cloned().unwrap_or(DataType::Null);
    match IdKind::of(&dtype) {
        Some(kind) => Ok((lf, dtype, kind)),
        // Not reached for a checked listing.
        None => Err(vec![
            Problem::new(
                &table.display,
                format!(
                    "column `{OWNER_ID}` has type {dtype}, not {}",
                    ids::ID_TYPES
                ),
            )
            .help(format!("write `{OWNER_ID}` as {}", ids::ID_TYPES)),
        ]),
    }
}

/// A listing's owner column, scanned once: the scan, how its ids are read, and the type they
/// are matched as on their own (see [`ids`]).
pub(crate) struct OwnerColumn {
    lf: LazyFrame,
    kind: IdKind,
    /// The key type of this listing's ids alone.
    pub(crate) key: DataType,
}

/// The owner column of a listing whose rows were checked already (its aggregate counted).
pub(crate) fn owner_column(
    table: &TableFile,
    kept: Option<&KeptOwners>,
) -> Result<OwnerColumn, Vec<Problem>> {
    guarded(table, || {
        let (lf, listing_type, kind) = owner_scan(table, kept)?;
        Ok(OwnerColumn {
            key: ids::key_type(&listing_type, kind),
            kind,
            lf,
        })
    })
}

/// The owner column as `key` (`owner_id`), one row per item, with `opted` (a boolean column of
/// that name) marking the owners opted out for the partner at `exported_at` when the report has
/// a ledger.
pub(crate) fn owner_rows(
    column: OwnerColumn,
    key: &DataType,
    context: &ListingContext,
    opted: &str,
) -> PolarsResult<LazyFrame> {
    let rows = column.lf.select([ids::value(OWNER_ID, column.kind)
        .cast(key.clone())
        .alias(OWNER_ID)]);
    let owners = context
        .ledger
        .map(|(l, partner)| Owners::of(l, partner, context.exported_at, key))
        .transpose()?;
    Ok(match owners {
        Some(owners) => mark_owners(rows, Some(owners), opted).0,
        None => rows,
    })
}

/// The column of [`receipt_rows`] marking owners opted out at `exported_at`.
pub(crate) const RECEIPT_OPTED: &str = "__opted";
/// The column of [`receipt_rows`] marking owners opted out at the report's date.
pub(crate) const RECEIPT_OPTED_NOW: &str = "__opted_now";

/// One row per item of a listing whose rows were checked already, for receipts: `owner_id` as
/// text in its compared form (an integer's digits), `category`, `year`, the flags, and whether
/// the owner was opted out for the partner at `exported_at` ([`RECEIPT_OPTED`]) and at the
/// report's date ([`RECEIPT_OPTED_NOW`]), null without a ledger. Owners are matched with the
/// ledger as [`aggregate_listing`] matches them.
pub(crate) fn receipt_rows(
    table: &TableFile,
    categories: &[CategoryId],
    context: &ListingContext,
) -> Result<LazyFrame, Vec<Problem>> {
    guarded(table, || {
        let fail = |e: PolarsError| vec![read_problem(table, &e)];
        let mut lf = scan_listing(table, None, None).map_err(fail)?;
        let schema = lf.collect_schema().map_err(fail)?;
        let checks = Checks::new(table, &schema, categories)?;
        let listing_type = schema.get(OWNER_ID).cloned().unwrap_or(DataType::Null);
        let own = ids::key_type(&listing_type, checks.owner_kind);
        let key = match context.ledger {
            Some((ledger, _)) => ids::join_type(&own, &ledger.owner_type()),
            None => own,
        };
        let rows = lf.select(checks.normalised(Some(&key)));
        let owners = |t: i64| {
            context
                .ledger
                .map(|(l, partner)| Owners::of(l, partner, t, &key))
                .transpose()
                .map_err(fail)
        };
        // Integer keys stay integers (a receipt writes their digits); others are text.
        let owner_type = if ids::fits_i64(&key) {
            DataType::Int64
        } else {
            DataType::String
        };
        let mut out = vec![
            col(OWNER_ID).cast(owner_type).alias(OWNER_ID),
            col(CATEGORY).cast(DataType::String).alias(CATEGORY),
            col(YEAR),
        ];
        out.extend(FLAGS.iter().map(|f| col(*f)));
        let rows = if context.ledger.is_some() {
            let (rows, _) = mark_owners(rows, owners(context.exported_at)?, OPTED);
            let (rows, _) = mark_owners(rows, owners(context.now)?, OPTED_NOW);
            out.push(col(OPTED).alias(RECEIPT_OPTED));
            out.push(col(OPTED_NOW).alias(RECEIPT_OPTED_NOW));
            rows
        } else {
            out.push(lit(NULL).cast(DataType::Boolean).alias(RECEIPT_OPTED));
            out.push(lit(NULL).cast(DataType::Boolean).alias(RECEIPT_OPTED_NOW));
            rows
        };
        Ok(rows.select(out))
    })
}

/// The aggregate of a listing written as parts: the parts' aggregates summed per category and
/// year (a column null in every part, `opted_out` without a ledger, stays null).
pub(crate) fn sum_parts(mut parts: Vec<DataFrame>) -> PolarsResult<DataFrame> {
    if parts.len() == 1 {
        return Ok(parts.remove(0));
    }
    let columns = cached_columns();
    let frames: Vec<LazyFrame> = parts.into_iter().map(DataFrame::lazy).collect();
    // SELECT category, year, sum(items), ... FROM parts GROUP BY category, year
    concat(frames, UnionArgs::default())?
        .group_by([col(CATEGORY), col(YEAR)])
        .agg(
            columns[2..]
                .iter()
                .map(|c| {
                    when(col(*c).is_null().all(true))
                        .then(lit(NULL).cast(DataType::UInt64))
                        .otherwise(col(*c).sum().cast(DataType::UInt64))
                        .alias(*c)
                })
                .collect::<Vec<_>>(),
        )
        .select(columns.iter().map(|c| col(*c)).collect::<Vec<_>>())
        .sort([CATEGORY, YEAR], SortMultipleOptions::default())
        .collect()
}

/// Whether owners joined as `key` are matched by probing a set of integers ([`Owners::Ids`]):
/// every integer type but `UInt64` holds its values as `Int64` too.
fn probes(key: &DataType) -> bool {
    ids::fits_i64(key)
}

/// The owners opted out for a partner at an instant, as the listing's rows are matched with them.
enum Owners {
    /// Integer ids: a set made once per (partner, instant) and probed once per item, without
    /// building a join's hash table for every listing.
    Ids(IdSet),
    /// Other keys (text, `UInt64`): the distinct owners, joined.
    Frame(Box<LazyFrame>),
}

impl Owners {
    fn of(ledger: &Ledger, partner: &Partner, t: i64, key: &DataType) -> PolarsResult<Self> {
        Ok(if probes(key) {
            Owners::Ids(ledger.opted_out_ids(t, partner)?)
        } else {
            Owners::Frame(Box::new(ledger.opted_out_kept(t, partner, key)?))
        })
    }
}

/// Marks the listing's rows whose owner is in `owners` with the boolean column `flag`, and gives
/// the count of marked rows as an aggregate (null when there is no ledger, so no set).
fn mark_owners(rows: LazyFrame, owners: Option<Owners>, flag: &str) -> (LazyFrame, Expr) {
    let count = col(flag).sum().cast(DataType::UInt64);
    match owners {
        // SELECT listing.*, owner_id IN (:owners) AS :flag FROM listing
        Some(Owners::Ids(set)) => {
            let probe = move |c: Column| -> PolarsResult<Column> {
                let ids = c.i64()?;
                let marked: BooleanChunked = ids
                    .iter()
                    .map(|v| v.is_some_and(|id| set.contains(id)))
                    .collect();
                Ok(marked.with_name(c.name().clone()).into_column())
            };
            let marked = col(OWNER_ID)
                .cast(DataType::Int64)
                .map(probe, |_: &Schema, f: &Field| {
                    Ok(Field::new(f.name().clone(), DataType::Boolean))
                });
            (rows.with_column(marked.alias(flag)), count)
        }
        // SELECT listing.*, owners.owner_id IS NOT NULL AS :flag
        // FROM listing LEFT JOIN owners USING (owner_id)
        Some(Owners::Frame(owners)) => (
            rows.join(
                owners.with_column(lit(true).alias(flag)),
                [col(OWNER_ID)],
                [col(OWNER_ID)],
                JoinArgs::new(JoinType::Left),
            )
            .with_column(col(flag).fill_null(lit(false))),
            count,
        ),
        None => (rows, lit(NULL).cast(DataType::UInt64)),
    }
}

/// The second pass over a listing with bad rows: their row numbers and what is wrong with each.
fn row_problems(
    table: &TableFile,
    checks: &Checks,
    categories: &[CategoryId],
    bad_rows: u64,
) -> Vec<Problem> {
    let result = scan_listing(table, None, None).and_then(|mut lf| {
        let schema = lf.collect_schema()?;
        let mut bad = vec![
            checks.unknown_category.clone(),
            checks.ts.clone().is_null(),
            checks.bad_item.clone(),
            checks.bad_owner.clone(),
        ];
        bad.extend(checks.flags.iter().map(|(_, b)| b.clone()));
        let invalid = bad.iter().fold(lit(false), |acc, e| acc.or(e.clone()));
        let mut select = vec![
            col(ROW),
            bad[0].clone().alias("__bad_category"),
            bad[1].clone().alias("__bad_year"),
            bad[2].clone().alias("__bad_item_id"),
            bad[3].clone().alias("__bad_owner_id"),
            col(CATEGORY).cast(DataType::String).alias("__raw_category"),
            col(CREATED_AT)
                .cast(DataType::String)
                .alias("__raw_created_at"),
            col(ITEM_ID).cast(DataType::String).alias("__raw_item_id"),
            col(OWNER_ID).cast(DataType::String).alias("__raw_owner_id"),
        ];
        for (flag, (_, bad)) in FLAGS.iter().zip(&checks.flags) {
            select.push(bad.clone().alias(format!("__bad_{flag}")));
            let raw = if schema.get(flag).is_some() {
                col(*flag).cast(DataType::String)
            } else {
                lit(NULL).cast(DataType::String)
            };
            select.push(raw.alias(format!("__raw_{flag}")));
        }
        lf.with_row_index(ROW, None)
            .filter(invalid)
            .limit(MAX_ROW_PROBLEMS)
            .select(select)
            .collect()
    });
    let rows = match result {
        Ok(df) => BadRows { table, df },
        Err(e) => return vec![read_problem(table, &e)],
    };
    let known: Vec<_> = categories.iter().map(|c| c.as_str()).collect();
    let mut problems = Vec::new();
    for i in 0..rows.len() {
        let place = |message: String| rows.problem(i, message);
        if rows.flag("__bad_category", i) {
            let value = rows.text("__raw_category", i);
            problems.push(
                place(format!("{CATEGORY}: unknown category `{value}`")).help(format!(
                    "add it to categories in report.yaml, or use one of: {}",
                    known.join(", ")
                )),
            );
        }
        if rows.flag("__bad_year", i) {
            let value = rows.text("__raw_created_at", i);
            let message = if value.is_empty() {
                format!("{CREATED_AT}: missing")
            } else {
                format!("{CREATED_AT}: `{value}` is not a date or datetime")
            };
            problems.push(
                place(message)
                    .help("write YYYY-MM-DD or an RFC 3339 datetime such as 2021-06-01T12:00:00Z"),
            );
        }
        for id in [ITEM_ID, OWNER_ID] {
            if rows.flag(&format!("__bad_{id}"), i) {
                let value = rows.text(&format!("__raw_{id}"), i);
                problems.push(if value.trim().is_empty() {
                    place(format!("{id}: missing")).help(format!("every item needs an `{id}`"))
                } else {
                    place(ids::not_whole(id, &value)).help(ids::NOT_WHOLE_HELP)
                });
            }
        }
        for f in FLAGS {
            if rows.flag(&format!("__bad_{f}"), i) {
                let value = rows.text(&format!("__raw_{f}"), i);
                problems.push(
                    place(format!("{f}: `{value}` is not a boolean"))
                        .help("write true, false, 1, 0, or leave the cell empty for false"),
                );
            }
        }
    }
    problems.extend(rows.more(bad_rows));
    problems
}
