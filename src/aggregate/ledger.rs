//! The opt-out ledger (`data/opt-outs/ledger.*`): checked and normalised with polars, then joined
//! with every item listing and turned into monthly statistics.
//!
//! An owner is *opted out at time t* when any of their rows has `opted_out_at <= t` and
//! (`withdrawn_at` empty or `withdrawn_at > t`); an item counts once however many rows match.
//!
//! The optional `signal` column says how the owner opted out (default `account-setting`) and the
//! optional `scope` column what the opt-out covers (default `all-third-parties`; `ai-training`
//! covers partners whose purposes include AI training; a partner id covers that partner). An owner
//! is opted out *for a partner* at t when a row whose scope covers the partner is active at t —
//! the rule every use of the ledger follows.

use polars::prelude::*;

use super::columns::{OPTED_OUT_AT, OWNER_ID, WITHDRAWN_AT};
use super::listings::{
    BadRows, MAX_ROW_PROBLEMS, ROW, instant_expr, read_problem, scan, utc_month,
};
use crate::error::Problem;
use crate::model::{Partner, Purpose, TableFile, TableFormat};

/// How an owner opted out (`signal`).
pub(crate) const SIGNAL: &str = "signal";
/// What an opt-out covers (`scope`).
pub(crate) const SCOPE: &str = "scope";
pub(crate) use crate::model::SIGNALS;
/// Scope of an opt-out from every third party (the default).
pub(crate) const ALL_THIRD_PARTIES: &str = "all-third-parties";
/// Scope of an opt-out from AI training only.
pub(crate) const AI_TRAINING: &str = "ai-training";

const FROM: &str = "__from";
const TO: &str = "__to";
const INVALID: &str = "__invalid";
const DELTA: &str = "__delta";
const LEVEL: &str = "__level";
const TIME: &str = "__time";
/// The month number column of [`Ledger::monthly`]: `year * 12 + month - 1`.
pub(crate) const MONTH_NO: &str = "__month";
/// Change in the number of opted-out owners within a month, in [`Ledger::monthly`].
pub(crate) const CHANGE: &str = "__change";
const COLUMNS_HELP: &str =
    "the ledger's columns are owner_id, opted_out_at and optionally withdrawn_at, signal and scope";
const OPTIONAL: [&str; 3] = [WITHDRAWN_AT, SIGNAL, SCOPE];

/// The checked ledger: `owner_id` (text), `__from` and `__to` (UTC microseconds; `__to` null while
/// the opt-out stands), `signal` and `scope` (defaults filled in).
#[derive(Debug, Clone)]
pub(crate) struct Ledger {
    rows: DataFrame,
}

/// The checks of the ledger's rows, as expressions over the raw columns.
struct Checks {
    from: Expr,
    to: Expr,
    signal: Expr,
    scope: Expr,
    bad_owner: Expr,
    bad_from: Expr,
    bad_to: Expr,
    bad_order: Expr,
    bad_signal: Expr,
    bad_scope: Expr,
    /// The scopes a row may have: the two kinds plus every partner id.
    scopes: Vec<String>,
}

/// A text column with a default for empty cells (absent column: the default everywhere).
fn text_or(schema: &Schema, name: &str, default: &str) -> Expr {
    if schema.get(name).is_some() {
        col(name)
            .cast(DataType::String)
            .str_strip_or_null()
            .fill_null(lit(default.to_owned()))
    } else {
        lit(default.to_owned())
    }
}

trait StripOrNull {
    fn str_strip_or_null(self) -> Expr;
}

impl StripOrNull for Expr {
    /// An empty text (as NDJSON or Parquet may hold) counts as missing, like an empty CSV cell.
    fn str_strip_or_null(self) -> Expr {
        when(self.clone().eq(lit("")))
            .then(lit(NULL).cast(DataType::String))
            .otherwise(self)
    }
}

fn one_of(e: &Expr, values: &[String]) -> Expr {
    values
        .iter()
        .fold(lit(false), |acc, v| acc.or(e.clone().eq(lit(v.clone()))))
}

impl Checks {
    fn new(table: &TableFile, schema: &Schema, partners: &[Partner]) -> Result<Self, Vec<Problem>> {
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
            if ![OWNER_ID, OPTED_OUT_AT].contains(&name.as_str())
                && !OPTIONAL.contains(&name.as_str())
            {
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
        let signal = text_or(schema, SIGNAL, SIGNALS[0]);
        let scope = text_or(schema, SCOPE, ALL_THIRD_PARTIES);
        let signals: Vec<String> = SIGNALS.iter().map(|s| (*s).to_owned()).collect();
        let scopes: Vec<String> = [ALL_THIRD_PARTIES, AI_TRAINING]
            .iter()
            .map(|s| (*s).to_owned())
            .chain(partners.iter().map(|p| p.id.to_string()))
            .collect();
        Ok(Checks {
            bad_owner: col(OWNER_ID).is_null(),
            bad_from: from.clone().is_null(),
            bad_to: raw_to.is_not_null().and(to.clone().is_null()),
            bad_order: to.clone().lt(from.clone()).fill_null(lit(false)),
            bad_signal: one_of(&signal, &signals).not(),
            bad_scope: one_of(&scope, &scopes).not(),
            from,
            to,
            signal,
            scope,
            scopes,
        })
    }

    fn invalid(&self) -> Expr {
        self.bad_owner
            .clone()
            .or(self.bad_from.clone())
            .or(self.bad_to.clone())
            .or(self.bad_order.clone())
            .or(self.bad_signal.clone())
            .or(self.bad_scope.clone())
    }
}

/// Reads and checks the ledger; every bad row (up to a limit) is a located problem.
pub(crate) fn load(table: &TableFile, partners: &[Partner]) -> Result<Ledger, Vec<Problem>> {
    let mut lf = scan(table).map_err(|e| vec![read_problem(table, &e)])?;
    let schema = lf
        .collect_schema()
        .map_err(|e| vec![read_problem(table, &e)])?;
    let checks = Checks::new(table, &schema, partners)?;
    // SELECT CAST(owner_id AS TEXT), utc_micros(opted_out_at), utc_micros(withdrawn_at), <invalid>
    // FROM ledger
    let rows = lf
        .select([
            col(OWNER_ID).cast(DataType::String).alias(OWNER_ID),
            checks.from.clone().alias(FROM),
            checks.to.clone().alias(TO),
            checks.signal.clone().alias(SIGNAL),
            checks.scope.clone().alias(SCOPE),
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
    // The whole ledger is scanned again only to locate its bad rows.
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
                checks.bad_signal.clone().alias("__bad_signal"),
                checks.bad_scope.clone().alias("__bad_scope"),
                checks.signal.clone().alias("__raw_signal"),
                checks.scope.clone().alias("__raw_scope"),
            ])
            .collect()
    });
    let rows = match result {
        Ok(df) => BadRows { table, df },
        Err(e) => return vec![read_problem(table, &e)],
    };
    let date_help = "write YYYY-MM-DD or an RFC 3339 datetime such as 2023-06-01T12:00:00Z";
    let mut out = Vec::new();
    for i in 0..rows.len() {
        let place = |message: String| rows.problem(i, message);
        if rows.flag("__bad_owner", i) {
            out.push(
                place(format!("{OWNER_ID}: missing")).help("every opt-out belongs to an owner"),
            );
        }
        if rows.flag("__bad_from", i) {
            let value = rows.text("__raw_from", i);
            let message = if value.is_empty() {
                format!("{OPTED_OUT_AT}: missing")
            } else {
                format!("{OPTED_OUT_AT}: `{value}` is not a date or datetime")
            };
            out.push(place(message).help(date_help));
        }
        if rows.flag("__bad_to", i) {
            let value = rows.text("__raw_to", i);
            out.push(
                place(format!(
                    "{WITHDRAWN_AT}: `{value}` is not a date or datetime"
                ))
                .help(format!(
                    "{date_help}, or leave it empty while the opt-out stands"
                )),
            );
        }
        if rows.flag("__bad_order", i) {
            out.push(
                place(format!(
                    "{WITHDRAWN_AT} `{}` is before {OPTED_OUT_AT} `{}`",
                    rows.text("__raw_to", i),
                    rows.text("__raw_from", i)
                ))
                .help("an opt-out is withdrawn after it was made; a new opt-out after a withdrawal is a new row"),
            );
        }
        if rows.flag("__bad_signal", i) {
            out.push(
                place(format!(
                    "{SIGNAL}: unknown signal `{}`",
                    rows.text("__raw_signal", i)
                ))
                .help(format!(
                    "use one of: {}, or leave it empty for {}",
                    SIGNALS.join(", "),
                    SIGNALS[0]
                )),
            );
        }
        if rows.flag("__bad_scope", i) {
            out.push(
                place(format!(
                    "{SCOPE}: `{}` is neither a scope nor a partner id",
                    rows.text("__raw_scope", i)
                ))
                .help(format!(
                    "use {ALL_THIRD_PARTIES} (the default), {AI_TRAINING}, or a partner id from data/partners.yaml: {}",
                    checks.scopes[2..].join(", ")
                )),
            );
        }
    }
    out.extend(rows.more(bad));
    out
}

impl Ledger {
    /// Whether a row's scope covers `partner`.
    fn covers(partner: &Partner) -> Expr {
        let mut e = col(SCOPE)
            .eq(lit(ALL_THIRD_PARTIES))
            .or(col(SCOPE).eq(lit(partner.id.as_str())));
        if partner.purposes.contains(&Purpose::AiTraining) {
            e = e.or(col(SCOPE).eq(lit(AI_TRAINING)));
        }
        e
    }

    /// Rows active at `t`: `opted_out_at <= t AND (withdrawn_at IS NULL OR withdrawn_at > t)`.
    fn active(t: i64) -> Expr {
        col(FROM)
            .lt_eq(lit(t))
            .and(col(TO).is_null().or(col(TO).gt(lit(t))))
    }

    /// The owners opted out for `partner` at `t` (UTC microseconds), each once: the right side of
    /// the join with an item listing.
    pub(crate) fn opted_out_at(&self, t: i64, partner: &Partner) -> LazyFrame {
        // SELECT DISTINCT owner_id FROM ledger
        // WHERE opted_out_at <= :t AND (withdrawn_at IS NULL OR withdrawn_at > :t)
        //   AND scope IN ('all-third-parties', :partner, 'ai-training' if the partner trains AI)
        self.rows
            .clone()
            .lazy()
            .filter(Self::active(t).and(Self::covers(partner)))
            .select([col(OWNER_ID)])
            .unique(None, UniqueKeepStrategy::Any)
    }

    /// How many owners were opted out for `partner` at `t`.
    pub(crate) fn count_for(&self, t: i64, partner: &Partner) -> PolarsResult<u64> {
        let df = self
            .opted_out_at(t, partner)
            .select([len().cast(DataType::UInt64).alias("n")])
            .collect()?;
        Ok(df.column("n")?.u64()?.get(0).unwrap_or(0))
    }

    /// Owners opted out at `t` per scope, sorted by scope: an owner with opt-outs of two scopes
    /// counts under each.
    pub(crate) fn active_by_scope(&self, t: i64) -> PolarsResult<Vec<(String, u64)>> {
        // SELECT scope, count(DISTINCT owner_id) FROM ledger WHERE <active at :t> GROUP BY scope
        let df = self
            .rows
            .clone()
            .lazy()
            .filter(Self::active(t))
            .group_by([col(SCOPE)])
            .agg([col(OWNER_ID).n_unique().cast(DataType::UInt64).alias("n")])
            .sort([SCOPE], SortMultipleOptions::default())
            .collect()?;
        let scope = df.column(SCOPE)?.str()?;
        let n = df.column("n")?.u64()?;
        Ok((0..df.height())
            .map(|i| {
                (
                    scope.get(i).unwrap_or_default().to_owned(),
                    n.get(i).unwrap_or(0),
                )
            })
            .collect())
    }

    /// New opt-outs per month and signal: `__month`, `signal`, `opted_out`.
    pub(crate) fn monthly_by_signal(&self) -> PolarsResult<DataFrame> {
        // SELECT month(opted_out_at), signal, count(*) GROUP BY 1, 2 ORDER BY 1, 2
        self.rows
            .clone()
            .lazy()
            .group_by([utc_month(col(FROM)).alias(MONTH_NO), col(SIGNAL)])
            .agg([len()
                .cast(DataType::UInt64)
                .alias(super::columns::OPTED_OUT)])
            .sort([MONTH_NO, SIGNAL], SortMultipleOptions::default())
            .collect()
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
