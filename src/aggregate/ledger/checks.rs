//! The ledger's checks: every rule a row must follow, as polars expressions over the raw columns,
//! and the second pass that names each bad row and what is wrong with it.

use polars::prelude::*;

use super::*;
use crate::aggregate::ids::{self, IdKind};
use crate::model::TableFormat;

/// The checks of the ledger's rows, as expressions over the raw columns.
pub(super) struct Checks {
    pub(super) from: Expr,
    pub(super) to: Expr,
    pub(super) signal: Expr,
    pub(super) scope: Expr,
    pub(super) bad_owner: Expr,
    /// How `owner_id` is read.
    pub(super) owner_kind: IdKind,
    pub(super) bad_from: Expr,
    pub(super) bad_to: Expr,
    pub(super) bad_order: Expr,
    /// An instant outside the dates the monthly table can place (chrono's, years -262143 to
    /// 262142): a Parquet timestamp can hold one.
    pub(super) bad_range: Expr,
    pub(super) bad_signal: Expr,
    pub(super) bad_scope: Expr,
    /// The scopes a row may have: the two kinds plus every partner id.
    pub(super) scopes: Vec<String>,
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

/// The code of a scope (its index in `scopes`: the two kinds, then the partner ids), null when it
/// is none of them.
fn scope_code(scope: &Expr, scopes: &[String]) -> Expr {
    scopes
        .iter()
        .enumerate()
        .rev()
        .fold(lit(NULL).cast(DataType::UInt32), |acc, (i, v)| {
            when(scope.clone().eq(lit(v.clone())))
                .then(lit(i as u32))
                .otherwise(acc)
        })
}

impl Checks {
    pub(super) fn new(
        table: &TableFile,
        schema: &Schema,
        partners: &[Partner],
        partners_read: bool,
    ) -> Result<Self, Vec<Problem>> {
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
        let owner_type = schema.get(OWNER_ID).cloned().unwrap_or(DataType::Null);
        let owner_kind = IdKind::of(&owner_type).unwrap_or_else(|| {
            problems.push(
                Problem::new(
                    &table.display,
                    format!(
                        "column `{OWNER_ID}` has type {owner_type}, not {}",
                        ids::ID_TYPES
                    ),
                )
                .help(format!("write `{OWNER_ID}` as {}", ids::ID_TYPES)),
            );
            IdKind::Text
        });
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
            bad_owner: col(OWNER_ID).is_null().or(ids::bad(OWNER_ID, owner_kind)),
            owner_kind,
            bad_from: from.clone().is_null(),
            bad_to: raw_to.is_not_null().and(to.clone().is_null()),
            bad_order: to.clone().lt(from.clone()).fill_null(lit(false)),
            bad_range: out_of_range(&from).or(out_of_range(&to)),
            bad_signal: one_of(&signal, &signals).not(),
            bad_scope: if partners_read {
                scope_code(&scope, &scopes).is_null()
            } else {
                lit(false)
            },
            from,
            to,
            signal,
            scope,
            scopes,
        })
    }

    /// [`Checks::invalid`] but for the signal and the scope, which the load checks by their
    /// codes (as `bad_signal` and `bad_scope` do).
    pub(super) fn invalid_but_texts(&self) -> Expr {
        self.bad_owner
            .clone()
            .or(self.bad_from.clone())
            .or(self.bad_to.clone())
            .or(self.bad_order.clone())
            .or(self.bad_range.clone())
    }

    /// Whether a row breaks any rule.
    pub(super) fn invalid(&self) -> Expr {
        self.invalid_but_texts()
            .or(self.bad_signal.clone())
            .or(self.bad_scope.clone())
    }
}

/// True where the instant (UTC microseconds) lies outside chrono's dates; null is not.
fn out_of_range(micros: &Expr) -> Expr {
    let (first, last) = super::timeline::month_range();
    micros
        .clone()
        .lt(lit(first))
        .or(micros.clone().gt(lit(last)))
        .fill_null(lit(false))
}

pub(super) fn row_problems(table: &TableFile, checks: &Checks, bad: u64) -> Vec<Problem> {
    // The whole ledger is scanned again only to locate its bad rows.
    let raw = |name: &str, present: bool| if present { col(name) } else { lit(NULL) };
    let raw_instant = |raw: Expr, micros: &Expr| {
        when(out_of_range(micros))
            .then(lit(NULL))
            .otherwise(raw)
            .cast(DataType::String)
    };
    let result = scan(table).and_then(|mut lf| {
        let schema = lf.collect_schema()?;
        lf.with_row_index(ROW, None)
            .filter(checks.invalid())
            .limit(MAX_ROW_PROBLEMS)
            .select([
                col(ROW),
                checks.bad_owner.clone().alias("__bad_owner"),
                raw(OWNER_ID, true)
                    .cast(DataType::String)
                    .alias("__raw_owner"),
                checks.bad_from.clone().alias("__bad_from"),
                checks.bad_to.clone().alias("__bad_to"),
                checks.bad_order.clone().alias("__bad_order"),
                checks.bad_range.clone().alias("__bad_range"),
                // An instant beyond chrono's dates is no text polars can write (it panics):
                // such a cell reads as empty, and its microseconds are shown instead.
                raw_instant(raw(OPTED_OUT_AT, true), &checks.from).alias("__raw_from"),
                raw_instant(
                    raw(WITHDRAWN_AT, schema.get(WITHDRAWN_AT).is_some()),
                    &checks.to,
                )
                .alias("__raw_to"),
                checks
                    .from
                    .clone()
                    .cast(DataType::String)
                    .alias("__micros_from"),
                checks
                    .to
                    .clone()
                    .cast(DataType::String)
                    .alias("__micros_to"),
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
            let value = rows.text("__raw_owner", i);
            out.push(if value.trim().is_empty() {
                place(format!("{OWNER_ID}: missing")).help("every opt-out belongs to an owner")
            } else {
                place(ids::not_whole(OWNER_ID, &value)).help(ids::NOT_WHOLE_HELP)
            });
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
        if rows.flag("__bad_range", i) {
            let values: Vec<String> = [
                (OPTED_OUT_AT, rows.text("__micros_from", i)),
                (WITHDRAWN_AT, rows.text("__micros_to", i)),
            ]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(name, v)| format!("{name} {v} µs after 1970"))
            .collect();
            out.push(
                place(format!(
                    "{}: beyond the years sharelog can place in a month (-262143 to 262142)",
                    values.join(", ")
                ))
                .help(format!(
                    "{date_help}; a timestamp this far off is usually a unit or encoding error"
                )),
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
