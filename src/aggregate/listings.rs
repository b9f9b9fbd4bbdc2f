//! Item listings and count tables (CSV, Parquet, NDJSON) → per-(category, year) counts, with polars.
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
use super::ledger::Ledger;
use crate::error::Problem;
use crate::model::{CategoryId, CountRow, Partner, TableFile, TableFormat};

const INVALID: &str = "__invalid";
/// The row index column of a second pass over bad rows.
pub(crate) const ROW: &str = "__row";
const TS: &str = "__ts";
const OPTED: &str = "__opted";
const OPTED_NOW: &str = "__opted_now";
/// Items whose owner is opted out for the partner at the report's date.
pub(crate) const OPTED_OUT_NOW: &str = "opted_out_now";
/// How many bad rows of one file are listed one by one.
pub(crate) const MAX_ROW_PROBLEMS: u32 = 20;
const TRUE_WORDS: [&str; 4] = ["true", "1", "TRUE", "True"];
const FALSE_WORDS: [&str; 5] = ["false", "0", "FALSE", "False", ""];

/// Scans a table file lazily; CSV columns are all read as text so that every check sees the raw value.
pub(crate) fn scan(table: &TableFile) -> PolarsResult<LazyFrame> {
    let path = PlRefPath::try_from_path(&table.path)?;
    match table.format {
        TableFormat::Csv => LazyCsvReader::new(path)
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .finish(),
        TableFormat::Parquet => LazyFrame::scan_parquet(path, ScanArgsParquet::default()),
        TableFormat::Ndjson => LazyJsonLineReader::new(path).finish(),
    }
}

/// A problem naming the file for a polars error (polars' own messages do not name it).
pub(crate) fn read_problem(table: &TableFile, e: &PolarsError) -> Problem {
    let kind = match table.format {
        TableFormat::Csv => "CSV",
        TableFormat::Parquet => "Parquet",
        TableFormat::Ndjson => "NDJSON",
    };
    let detail = e.to_string();
    let detail = detail.lines().next().unwrap_or("").trim().to_owned();
    Problem::new(
        &table.display,
        format!("cannot be read as {kind}: {detail}"),
    )
    .help(format!("check that the file is complete, valid {kind}"))
}

fn missing_columns(table: &TableFile, schema: &Schema, required: &[&str]) -> Vec<Problem> {
    required
        .iter()
        .filter(|c| schema.get(c).is_none())
        .map(|c| {
            let p = Problem::new(&table.display, format!("missing column `{c}`")).help(format!(
                "the columns are {} and optionally {}",
                required.join(", "),
                FLAGS.join(", ")
            ));
            if table.format == TableFormat::Csv {
                p.at(1, None)
            } else {
                p
            }
        })
        .collect()
}

/// A date or datetime column → UTC microseconds since the epoch (Int64), null where it cannot be
/// read. Text goes through [`crate::time::parse_instant`], so every format reads the same way.
pub(crate) fn instant_expr(name: &str, dtype: &DataType) -> Option<Expr> {
    let int64 = |_: &Schema, f: &Field| Ok(Field::new(f.name().clone(), DataType::Int64));
    match dtype {
        DataType::String => Some(col(name).map(micros_from_text, int64)),
        DataType::Date => Some(col(name).cast(DataType::Int64) * lit(MICROS_PER_DAY)),
        // The physical value of a datetime is UTC whatever its zone.
        DataType::Datetime(TimeUnit::Microseconds, _) => Some(col(name).cast(DataType::Int64)),
        // Other units go through a closure: polars' floor division needs a feature sharelog does
        // not build with (it panics without it).
        DataType::Datetime(unit, _) => {
            let unit = *unit;
            Some(
                col(name)
                    .cast(DataType::Int64)
                    .map(move |c| micros_from_epoch(c, unit), int64),
            )
        }
        // A column with no values at all (every cell empty) reads as null: every row is missing.
        DataType::Null => Some(lit(NULL).cast(DataType::Int64)),
        _ => None,
    }
}

/// Microseconds in a day.
pub(crate) const MICROS_PER_DAY: i64 = 86_400_000_000;

fn micros_from_text(c: Column) -> PolarsResult<Column> {
    let out: Int64Chunked = c
        .str()?
        .iter()
        .map(|v| {
            v.and_then(crate::time::parse_instant)
                .map(|d| d.timestamp_micros())
        })
        .collect();
    Ok(out.with_name(c.name().clone()).into_column())
}

fn micros_from_epoch(c: Column, unit: TimeUnit) -> PolarsResult<Column> {
    let out: Int64Chunked = c
        .i64()?
        .iter()
        .map(|v| {
            v.map(|v| match unit {
                TimeUnit::Nanoseconds => v.div_euclid(1000),
                TimeUnit::Microseconds => v,
                TimeUnit::Milliseconds => v.saturating_mul(1000),
            })
        })
        .collect();
    Ok(out.with_name(c.name().clone()).into_column())
}

/// UTC microseconds → the UTC year (Int32).
pub(crate) fn utc_year(micros: Expr) -> Expr {
    micros
        .cast(DataType::Datetime(TimeUnit::Microseconds, None))
        .dt()
        .year()
}

/// UTC microseconds → a month number, `year * 12 + month - 1` (Int32), for grouping by month.
pub(crate) fn utc_month(micros: Expr) -> Expr {
    let dt = micros.cast(DataType::Datetime(TimeUnit::Microseconds, None));
    dt.clone().dt().year() * lit(12) + dt.dt().month().cast(DataType::Int32) - lit(1)
}

fn any_eq(e: Expr, words: &[&str]) -> Expr {
    words
        .iter()
        .fold(lit(false), |acc, w| acc.or(e.clone().eq(lit(*w))))
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
        Some(DataType::String) => Some(flag_from(
            c.clone(),
            any_eq(c.clone(), &TRUE_WORDS),
            any_eq(c, &FALSE_WORDS),
        )),
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
    bad_ids: Expr,
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
        let known = categories.iter().fold(lit(false), |acc, c| {
            acc.or(category.clone().eq(lit(c.as_str())))
        });
        Ok(Checks {
            unknown_category: known.fill_null(lit(false)).not(),
            category,
            ts,
            flags,
            bad_ids: col(ITEM_ID).is_null().or(col(OWNER_ID).is_null()),
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
            out.push(col(OWNER_ID).cast(key.clone()).alias(OWNER_ID));
        }
        for (flag, (value, _)) in FLAGS.iter().zip(&self.flags) {
            out.push(value.clone().alias(*flag));
        }
        let invalid = self.flags.iter().fold(
            self.unknown_category
                .clone()
                .or(self.ts.clone().is_null())
                .or(self.bad_ids.clone()),
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
    let mut lf = scan(table).map_err(|e| vec![read_problem(table, &e)])?;
    let schema = lf
        .collect_schema()
        .map_err(|e| vec![read_problem(table, &e)])?;
    let checks = Checks::new(table, &schema, categories)?;

    // Owners are joined as integers when the listing and the ledger both type them as the same
    // integers, else as text (the text of an integer is its decimal digits either way).
    let key = context.ledger.map(|(ledger, _)| {
        let ledger_type = ledger.owner_type();
        match schema.get(OWNER_ID) {
            Some(t) if *t == ledger_type && t.is_integer() => ledger_type,
            _ => DataType::String,
        }
    });
    let rows = lf.select(checks.normalised(key.as_ref()));
    let ledger = context.ledger.zip(key.as_ref());
    let at_export =
        ledger.map(|((l, partner), key)| l.opted_out_at(context.exported_at, partner, key));
    // The owners opted out at the report's date are the same for every export of the partner.
    let now = ledger
        .map(|((l, partner), key)| l.opted_out_kept(context.now, partner, key))
        .transpose()
        .map_err(|e| vec![read_problem(table, &e)])?;
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

/// Marks the listing's rows whose owner is in `owners` with the boolean column `flag`, and gives
/// the count of marked rows as an aggregate (null when there is no ledger, so no set).
fn mark_owners(rows: LazyFrame, owners: Option<LazyFrame>, flag: &str) -> (LazyFrame, Expr) {
    match owners {
        // SELECT listing.*, owners.owner_id IS NOT NULL AS :flag
        // FROM listing LEFT JOIN owners USING (owner_id)
        Some(owners) => (
            rows.join(
                owners.with_column(lit(true).alias(flag)),
                [col(OWNER_ID)],
                [col(OWNER_ID)],
                JoinArgs::new(JoinType::Left),
            )
            .with_column(col(flag).fill_null(lit(false))),
            col(flag).sum().cast(DataType::UInt64),
        ),
        None => (rows, lit(NULL).cast(DataType::UInt64)),
    }
}

/// The bad rows a second pass fetched (with their `__row` index): typed access to their cells,
/// their place in the file, and the note for rows beyond the listed ones. Shared by listings and
/// the ledger.
pub(crate) struct BadRows<'a> {
    pub(crate) table: &'a TableFile,
    pub(crate) df: DataFrame,
}

impl BadRows<'_> {
    /// How many rows were fetched.
    pub(crate) fn len(&self) -> usize {
        self.df.height()
    }

    /// A text cell (empty when null).
    pub(crate) fn text(&self, name: &str, i: usize) -> String {
        self.df
            .column(name)
            .ok()
            .and_then(|c| c.str().ok()?.get(i).map(str::to_owned))
            .unwrap_or_default()
    }

    /// A boolean cell (false when null).
    pub(crate) fn flag(&self, name: &str, i: usize) -> bool {
        self.df
            .column(name)
            .ok()
            .and_then(|c| c.bool().ok()?.get(i))
            .unwrap_or(false)
    }

    /// A problem about row `i` of the file: its line for CSV and NDJSON, its row number for Parquet.
    pub(crate) fn problem(&self, i: usize, message: String) -> Problem {
        let row = self
            .df
            .column(ROW)
            .ok()
            .and_then(|c| c.idx().ok()?.get(i))
            .unwrap_or(0) as u64;
        let p = Problem::new(&self.table.display, message);
        match self.table.format {
            TableFormat::Csv => p.at(row + 2, None),
            TableFormat::Ndjson => p.at(row + 1, None),
            TableFormat::Parquet => p.key(format!("row {}", row + 1)),
        }
    }

    /// "N more bad rows not listed", when there are more than were fetched.
    pub(crate) fn more(&self, bad: u64) -> Option<Problem> {
        let listed = self.len() as u64;
        (bad > listed).then(|| {
            Problem::new(
                &self.table.display,
                format!("{} more bad rows not listed", bad - listed),
            )
            .help("fix the rows above and run `sharelog check` again to see the rest")
        })
    }
}

/// The second pass over a listing with bad rows: their row numbers and what is wrong with each.
fn row_problems(
    table: &TableFile,
    checks: &Checks,
    categories: &[CategoryId],
    bad_rows: u64,
) -> Vec<Problem> {
    let result = scan(table).and_then(|mut lf| {
        let schema = lf.collect_schema()?;
        let mut bad = vec![
            checks.unknown_category.clone(),
            checks.ts.clone().is_null(),
            col(ITEM_ID).is_null(),
            col(OWNER_ID).is_null(),
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
                problems.push(
                    place(format!("{id}: missing")).help(format!("every item needs an `{id}`")),
                );
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

/// Reads a declared-count table (CSV or Parquet with the `counts` columns) into checked rows.
pub(crate) fn read_count_table(
    table: &TableFile,
    categories: &[CategoryId],
) -> Result<Vec<CountRow>, Vec<Problem>> {
    let mut lf = scan(table).map_err(|e| vec![read_problem(table, &e)])?;
    let schema = lf
        .collect_schema()
        .map_err(|e| vec![read_problem(table, &e)])?;
    let mut problems = missing_columns(table, &schema, &[CATEGORY, YEAR, ITEMS]);
    let optional: Vec<&str> = FLAGS.iter().copied().chain([OPTED_OUT]).collect();
    for name in schema.iter_names() {
        if ![CATEGORY, YEAR, ITEMS].contains(&name.as_str()) && !optional.contains(&name.as_str()) {
            problems.push(
                Problem::new(&table.display, format!("unknown column `{name}`"))
                    .help("count tables have category, year, items and optionally private, deleted, suspended, explicit, minor, opted_out"),
            );
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let present: Vec<&str> = [CATEGORY, YEAR, ITEMS]
        .into_iter()
        .chain(optional.iter().copied())
        .filter(|c| schema.get(c).is_some())
        .collect();
    let df = lf
        .select(
            present
                .iter()
                .map(|c| col(*c).cast(DataType::String))
                .collect::<Vec<_>>(),
        )
        .collect()
        .map_err(|e| vec![read_problem(table, &e)])?;
    let cell = |name: &str, i: usize| -> Option<String> {
        df.column(name)
            .ok()?
            .str()
            .ok()?
            .get(i)
            .map(|s| s.trim().to_owned())
    };
    let mut rows = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..df.height() {
        let place = |p: Problem| match table.format {
            TableFormat::Csv => p.at(i as u64 + 2, None),
            _ => p.key(format!("row {}", i + 1)),
        };
        let mut number = |name: &str, required: bool| -> Option<u64> {
            match cell(name, i).filter(|s| !s.is_empty()) {
                None if !required => Some(0),
                None => {
                    problems.push(place(
                        Problem::new(&table.display, format!("{name}: missing"))
                            .help("write a whole number, 0 or more"),
                    ));
                    None
                }
                Some(s) => match s.parse::<u64>() {
                    Ok(n) => Some(n),
                    Err(_) => {
                        problems.push(place(
                            Problem::new(&table.display, format!("{name}: `{s}` is not a count"))
                                .help("write a whole number, 0 or more"),
                        ));
                        None
                    }
                },
            }
        };
        let year_text = cell(YEAR, i).unwrap_or_default();
        let year = year_text.parse::<i32>().ok();
        let items = number(ITEMS, true);
        // A flag column the table does not have is not declared (`Some(None)`); `None` is a
        // bad cell.
        let flags: Vec<Option<Option<u64>>> = FLAGS
            .iter()
            .map(|f| {
                if present.contains(f) {
                    number(f, false).map(Some)
                } else {
                    Some(None)
                }
            })
            .collect();
        let opted_out =
            if present.contains(&OPTED_OUT) && cell(OPTED_OUT, i).is_some_and(|s| !s.is_empty()) {
                number(OPTED_OUT, true)
            } else {
                None
            };
        let Some(year) = year else {
            problems.push(place(
                Problem::new(
                    &table.display,
                    format!("{YEAR}: `{year_text}` is not a year"),
                )
                .help("write the four-digit UTC year the items were created"),
            ));
            continue;
        };
        let (
            Some(items),
            [
                Some(private),
                Some(deleted),
                Some(suspended),
                Some(explicit),
                Some(minor),
            ],
        ) = (items, flags.as_slice())
        else {
            continue;
        };
        let row = CountRow {
            category: CategoryId(cell(CATEGORY, i).unwrap_or_default()),
            year,
            items,
            private: *private,
            deleted: *deleted,
            suspended: *suspended,
            explicit: *explicit,
            minor: *minor,
            opted_out,
        };
        for (key, message, help) in crate::load::check_count_row(&row, Some(categories)) {
            problems.push(place(
                Problem::new(&table.display, format!("{key}: {message}")).help(help),
            ));
        }
        if !seen.insert((row.category.clone(), row.year)) {
            problems.push(place(
                Problem::new(
                    &table.display,
                    format!(
                        "category `{}` and year {} appear twice",
                        row.category, row.year
                    ),
                )
                .help("declare each (category, year) cell once"),
            ));
        }
        rows.push(row);
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}
