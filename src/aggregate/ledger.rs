//! The opt-out ledger (`data/opt-outs/ledger.*`): checked and normalised with polars, then joined
//! with every item listing and turned into monthly statistics.
//!
//! An owner is *opted out at time t* when any of their rows has `opted_out_at <= t` and
//! (`withdrawn_at` empty or `withdrawn_at > t`); an item counts once however many rows match.

use polars::prelude::*;

use super::columns::{OPTED_OUT_AT, OWNER_ID, WITHDRAWN_AT};
use super::listings::{instant_expr, read_problem, scan, utc_month};
use crate::error::Problem;
use crate::model::{TableFile, TableFormat};

const FROM: &str = "__from";
const TO: &str = "__to";
const INVALID: &str = "__invalid";
const ROW: &str = "__row";
const DELTA: &str = "__delta";
const LEVEL: &str = "__level";
const TIME: &str = "__time";
/// The month number column of [`Ledger::monthly`]: `year * 12 + month - 1`.
pub(crate) const MONTH_NO: &str = "__month";
/// Change in the number of opted-out owners within a month, in [`Ledger::monthly`].
pub(crate) const CHANGE: &str = "__change";
const MAX_ROW_PROBLEMS: u32 = 20;
const COLUMNS_HELP: &str =
    "the ledger's columns are owner_id, opted_out_at and optionally withdrawn_at";

/// The checked ledger: `owner_id` (text), `__from` and `__to` (UTC microseconds; `__to` null while
/// the opt-out stands).
#[derive(Debug, Clone)]
pub(crate) struct Ledger {
    rows: DataFrame,
}

/// The checks of the ledger's rows, as expressions over the raw columns.
struct Checks {
    from: Expr,
    to: Expr,
    bad_owner: Expr,
    bad_from: Expr,
    bad_to: Expr,
    bad_order: Expr,
}

impl Checks {
    fn new(table: &TableFile, schema: &Schema) -> Result<Self, Vec<Problem>> {
        let mut problems = Vec::new();
        let located = |p: Problem| {
            if table.format == TableFormat::Csv {
                p.at(1, None)
            } else {
                p
            }
        };
        for name in [OWNER_ID, OPTED_OUT_AT] {
            if schema.get(name).is_none() {
                problems.push(located(
                    Problem::new(&table.display, format!("missing column `{name}`"))
                        .help(COLUMNS_HELP),
                ));
            }
        }
        for name in schema.iter_names() {
            if ![OWNER_ID, OPTED_OUT_AT, WITHDRAWN_AT].contains(&name.as_str()) {
                problems.push(located(
                    Problem::new(&table.display, format!("unknown column `{name}`"))
                        .help(COLUMNS_HELP),
                ));
            }
        }
        let instant = |name: &str, problems: &mut Vec<Problem>| -> Expr {
            let dtype = schema.get(name).cloned().unwrap_or(DataType::Null);
            instant_expr(name, &dtype).unwrap_or_else(|| {
                problems.push(
                    Problem::new(
                        &table.display,
                        format!("column `{name}` has type {dtype}, not a date or datetime"),
                    )
                    .help(format!("write `{name}` as a date or an RFC 3339 datetime")),
                );
                lit(NULL)
            })
        };
        let from = instant(OPTED_OUT_AT, &mut problems);
        let (to, raw_to) = if schema.get(WITHDRAWN_AT).is_some() {
            (instant(WITHDRAWN_AT, &mut problems), col(WITHDRAWN_AT))
        } else {
            (lit(NULL).cast(DataType::Int64), lit(NULL))
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Checks {
            bad_owner: col(OWNER_ID).is_null(),
            bad_from: from.clone().is_null(),
            bad_to: raw_to.is_not_null().and(to.clone().is_null()),
            bad_order: to.clone().lt(from.clone()).fill_null(lit(false)),
            from,
            to,
        })
    }

    fn invalid(&self) -> Expr {
        self.bad_owner
            .clone()
            .or(self.bad_from.clone())
            .or(self.bad_to.clone())
            .or(self.bad_order.clone())
    }
}

/// Reads and checks the ledger; every bad row (up to a limit) is a located problem.
pub(crate) fn load(table: &TableFile) -> Result<Ledger, Vec<Problem>> {
    let mut lf = scan(table).map_err(|e| vec![read_problem(table, &e)])?;
    let schema = lf
        .collect_schema()
        .map_err(|e| vec![read_problem(table, &e)])?;
    let checks = Checks::new(table, &schema)?;
    // SELECT CAST(owner_id AS TEXT), utc_micros(opted_out_at), utc_micros(withdrawn_at), <invalid>
    // FROM ledger
    let rows = lf
        .select([
            col(OWNER_ID).cast(DataType::String).alias(OWNER_ID),
            checks.from.clone().alias(FROM),
            checks.to.clone().alias(TO),
            checks.invalid().alias(INVALID),
        ])
        .collect()
        .map_err(|e| vec![read_problem(table, &e)])?;
    let bad = rows
        .column(INVALID)
        .and_then(|c| c.bool().map(|b| b.sum().unwrap_or(0)))
        .map_err(|e| vec![read_problem(table, &e)])?;
    if bad > 0 {
        return Err(row_problems(table, &checks, bad as u64));
    }
    let rows = rows
        .drop(INVALID)
        .map_err(|e| vec![read_problem(table, &e)])?;
    Ok(Ledger { rows })
}

fn row_problems(table: &TableFile, checks: &Checks, bad: u64) -> Vec<Problem> {
    let raw = |name: &str, present: bool| {
        if present {
            col(name).cast(DataType::String)
        } else {
            lit(NULL).cast(DataType::String)
        }
    };
    let result = scan(table).and_then(|mut lf| {
        let schema = lf.collect_schema()?;
        lf.with_row_index(ROW, None)
            .filter(checks.invalid())
            .limit(MAX_ROW_PROBLEMS)
            .select([
                col(ROW),
                checks.bad_owner.clone().alias("__bad_owner"),
                checks.bad_from.clone().alias("__bad_from"),
                checks.bad_to.clone().alias("__bad_to"),
                checks.bad_order.clone().alias("__bad_order"),
                raw(OPTED_OUT_AT, true).alias("__raw_from"),
                raw(WITHDRAWN_AT, schema.get(WITHDRAWN_AT).is_some()).alias("__raw_to"),
            ])
            .collect()
    });
    let df = match result {
        Ok(df) => df,
        Err(e) => return vec![read_problem(table, &e)],
    };
    let text = |name: &str, i: usize| -> String {
        df.column(name)
            .ok()
            .and_then(|c| c.str().ok()?.get(i).map(str::to_owned))
            .unwrap_or_default()
    };
    let flag = |name: &str, i: usize| -> bool {
        df.column(name)
            .ok()
            .and_then(|c| c.bool().ok()?.get(i))
            .unwrap_or(false)
    };
    let date_help = "write YYYY-MM-DD or an RFC 3339 datetime such as 2023-06-01T12:00:00Z";
    let mut out = Vec::new();
    for i in 0..df.height() {
        let row = df
            .column(ROW)
            .ok()
            .and_then(|c| c.idx().ok()?.get(i))
            .unwrap_or(0) as u64;
        let place = |p: Problem| match table.format {
            TableFormat::Csv => p.at(row + 2, None),
            TableFormat::Ndjson => p.at(row + 1, None),
            TableFormat::Parquet => p.key(format!("row {}", row + 1)),
        };
        if flag("__bad_owner", i) {
            out.push(place(
                Problem::new(&table.display, format!("{OWNER_ID}: missing"))
                    .help("every opt-out belongs to an owner"),
            ));
        }
        if flag("__bad_from", i) {
            let value = text("__raw_from", i);
            let message = if value.is_empty() {
                format!("{OPTED_OUT_AT}: missing")
            } else {
                format!("{OPTED_OUT_AT}: `{value}` is not a date or datetime")
            };
            out.push(place(Problem::new(&table.display, message).help(date_help)));
        }
        if flag("__bad_to", i) {
            let value = text("__raw_to", i);
            out.push(place(
                Problem::new(
                    &table.display,
                    format!("{WITHDRAWN_AT}: `{value}` is not a date or datetime"),
                )
                .help(format!(
                    "{date_help}, or leave it empty while the opt-out stands"
                )),
            ));
        }
        if flag("__bad_order", i) {
            out.push(place(
                Problem::new(
                    &table.display,
                    format!(
                        "{WITHDRAWN_AT} `{}` is before {OPTED_OUT_AT} `{}`",
                        text("__raw_to", i),
                        text("__raw_from", i)
                    ),
                )
                .help("an opt-out is withdrawn after it was made; a new opt-out after a withdrawal is a new row"),
            ));
        }
    }
    let listed = df.height() as u64;
    if bad > listed {
        out.push(
            Problem::new(
                &table.display,
                format!("{} more bad rows not listed", bad - listed),
            )
            .help("fix the rows above and run `sharelog check` again to see the rest"),
        );
    }
    out
}

impl Ledger {
    /// The owners opted out at `t` (UTC microseconds), each once: the right side of the join
    /// with an item listing.
    pub(crate) fn opted_out_at(&self, t: i64) -> LazyFrame {
        // SELECT DISTINCT owner_id FROM ledger
        // WHERE opted_out_at <= :t AND (withdrawn_at IS NULL OR withdrawn_at > :t)
        self.rows
            .clone()
            .lazy()
            .filter(
                col(FROM)
                    .lt_eq(lit(t))
                    .and(col(TO).is_null().or(col(TO).gt(lit(t)))),
            )
            .select([col(OWNER_ID)])
            .unique(None, UniqueKeepStrategy::Any)
    }

    /// Per month with any event: new opt-outs, withdrawals, and the change in the number of
    /// distinct owners opted out (so that a running sum gives the owners opted out at month end).
    /// Columns: `__month` (see [`utc_month`]), `opted_out`, `withdrawn` (UInt64), `__change` (Int64).
    pub(crate) fn monthly(&self) -> PolarsResult<DataFrame> {
        let rows = self.rows.clone().lazy();
        // Each row opens (+1) at opted_out_at and closes (-1) at withdrawn_at. Per owner, the
        // running level says how many of their opt-outs stand; the owner is opted out while it is
        // above zero, so only crossings of zero change the number of opted-out owners.
        // SELECT owner_id, time, delta FROM (opens UNION ALL closes) ORDER BY owner_id, time, delta
        let opens =
            rows.clone()
                .select([col(OWNER_ID), col(FROM).alias(TIME), lit(1i64).alias(DELTA)]);
        let closes = rows.clone().filter(col(TO).is_not_null()).select([
            col(OWNER_ID),
            col(TO).alias(TIME),
            lit(-1i64).alias(DELTA),
        ]);
        let level = col(DELTA).cum_sum(false).over([col(OWNER_ID)])?;
        let before = col(LEVEL) - col(DELTA);
        let crossings = concat([opens, closes], UnionArgs::default())?
            .sort(
                [OWNER_ID, TIME, DELTA],
                SortMultipleOptions::default().with_maintain_order(true),
            )
            .with_column(level.alias(LEVEL))
            // SELECT month(time), sum((level > 0) - (level - delta > 0)) GROUP BY month(time)
            .select([
                utc_month(col(TIME)).alias(MONTH_NO),
                (col(LEVEL).gt(lit(0)).cast(DataType::Int64)
                    - before.gt(lit(0)).cast(DataType::Int64))
                .alias(CHANGE),
            ])
            .group_by([col(MONTH_NO)])
            .agg([col(CHANGE).sum()]);
        // SELECT month(opted_out_at), count(*) GROUP BY 1; the same for withdrawn_at
        let count_by_month = |c: &str, name: &str| {
            rows.clone()
                .filter(col(c).is_not_null())
                .group_by([utc_month(col(c)).alias(MONTH_NO)])
                .agg([len().cast(DataType::UInt64).alias(name)])
        };
        let opened = count_by_month(FROM, super::columns::OPTED_OUT);
        let closed = count_by_month(TO, super::columns::WITHDRAWN);
        let full = JoinArgs::new(JoinType::Full).with_coalesce(JoinCoalesce::CoalesceColumns);
        crossings
            .join(opened, [col(MONTH_NO)], [col(MONTH_NO)], full.clone())
            .join(closed, [col(MONTH_NO)], [col(MONTH_NO)], full)
            .select([
                col(MONTH_NO),
                col(super::columns::OPTED_OUT).fill_null(lit(0u64)),
                col(super::columns::WITHDRAWN).fill_null(lit(0u64)),
                col(CHANGE).fill_null(lit(0i64)),
            ])
            .sort([MONTH_NO], SortMultipleOptions::default())
            .collect()
    }
}
