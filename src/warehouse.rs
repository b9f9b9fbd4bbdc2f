//! `sharelog sql`: the warehouse query that counts an export batch by sharelog's own rules, with
//! every parameter (the export's instant, its partner, whether the partner trains AI and so which
//! opt-out scopes cover it) taken from the report root, so that nobody substitutes them by hand.
//!
//! The query reads two relations: the items (the columns of an item listing: `item_id, owner_id,
//! category, created_at` and the five flag columns, `NULL` where the warehouse has none; for every
//! export at once, also `export`) and the opt-out ledger (`owner_id, opted_out_at, withdrawn_at,
//! scope`). Its result is a declared counts table (`category, year, items`, the flags and
//! `opted_out`; `partner, export` first for every export at once).

use std::path::Path;

use crate::error::{Error, Problem, Result};
use crate::model::{Export, Purpose, Report};

/// The SQL dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// DuckDB.
    Duckdb,
    /// Spark SQL (3.4 or later).
    Spark,
}

/// What `sharelog sql` prints.
#[derive(Debug, Clone)]
pub struct SqlOptions<'a> {
    /// The report root.
    pub root: &'a Path,
    /// The dialect.
    pub engine: Engine,
    /// One export's id; every export when `None`.
    pub export: Option<&'a str>,
    /// The relation that holds the items.
    pub items: &'a str,
    /// The relation that holds the ledger.
    pub ledger: &'a str,
    /// The figures beyond the counts (owners, items opted out at the report's date, items
    /// outside the content window) instead of the counts.
    pub figures: bool,
}

const FLAGS: [&str; 5] = ["private", "deleted", "suspended", "explicit", "minor"];

/// A relation name the query may use as it is: `name` or `schema.name`, letters, digits and `_`.
fn is_relation(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// A text literal.
fn text(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// The query for `options`.
pub fn sql(options: &SqlOptions<'_>) -> Result<String> {
    for (flag, name) in [("--items", options.items), ("--ledger", options.ledger)] {
        if !is_relation(name) {
            return Err(Error::invalid(vec![
                Problem::new(flag, format!("`{name}` is not a table or view name"))
                    .help("give a name such as items or warehouse.batch_items: letters, digits, `_`, and `.` between a schema and a name"),
            ]));
        }
    }
    let (report, problems) = crate::load::load_partial(options.root, None);
    let report = match report {
        Some(r) if problems.is_empty() => r,
        _ => return Err(Error::invalid(problems)),
    };
    let exports: Vec<&Export> = match options.export {
        Some(id) => match report.exports.iter().find(|e| e.id.as_str() == id) {
            Some(e) => vec![e],
            None => {
                let known: Vec<&str> = report.exports.iter().map(|e| e.id.as_str()).collect();
                return Err(Error::invalid(vec![
                    Problem::new("--export", format!("no export `{id}` in the report root"))
                        .help(format!("use one of: {}", known.join(", "))),
                ]));
            }
        },
        None => report.exports.iter().collect(),
    };
    let ledger = report.ledger.is_some();
    let all = options.export.is_none();
    if exports.is_empty() {
        return Err(Error::invalid(vec![
            Problem::new(
                "data/exports",
                "the report root has no export batch to count",
            )
            .help("add an export manifest first"),
        ]));
    }
    let mut out = String::new();
    let d = options.engine;
    let what = if options.figures { " --figures" } else { "" };
    out.push_str(&match d {
        Engine::Duckdb => format!("-- duckdb: sharelog sql{what}\nSET TimeZone = 'UTC';\n"),
        Engine::Spark => {
            format!("-- spark: sharelog sql{what} (run with spark.sql.session.timeZone=UTC)\n")
        }
    });
    if !all {
        out.push_str(&format!(
            "-- `{}` must hold this batch's items only: this query does not filter by batch\n",
            options.items
        ));
    }
    if options.figures {
        out.push_str(&figures(&report, &exports, options, ledger, all));
        return Ok(out);
    }
    let branches: Vec<String> = exports
        .iter()
        .map(|e| branch(&report, e, options, ledger, all))
        .collect();
    let order = if all {
        "partner, export, category, year"
    } else {
        "category, year"
    };
    out.push_str(&format!(
        "SELECT * FROM (\n{}\n) AS counted\nORDER BY {order};\n",
        branches.join("\nUNION ALL\n")
    ));
    Ok(out)
}

/// An instant given as text (or a timestamp) as a timestamp of the dialect.
fn instant(engine: Engine, expr: &str) -> String {
    match engine {
        Engine::Spark => format!("to_timestamp({expr})"),
        Engine::Duckdb => format!("CAST({expr} AS TIMESTAMPTZ)"),
    }
}

/// The text type of the dialect.
fn string(engine: Engine) -> &'static str {
    match engine {
        Engine::Spark => "STRING",
        Engine::Duckdb => "VARCHAR",
    }
}

/// `pattern` matches `text` (a regular expression; `[.]` for a dot, so that no dialect's string
/// escapes matter).
fn matches(engine: Engine, text: &str, pattern: &str) -> String {
    match engine {
        Engine::Spark => format!("({text} RLIKE '{pattern}')"),
        Engine::Duckdb => format!("regexp_matches({text}, '{pattern}')"),
    }
}

/// An owner id as sharelog compares it (see `ids::classify`): the text without surrounding
/// spaces; a whole number written in decimal (`01549`, `+1549`, `1549.0`, what pandas and
/// spreadsheets write) as its digits; a float in exponent notation (Spark's text for a large
/// double) that holds an exact whole number as its digits. Empty text is no id (null).
fn owner_key(engine: Engine, expr: &str) -> String {
    let string = string(engine);
    let t = format!("trim(CAST({expr} AS {string}))");
    let magnitude = format!(
        "regexp_replace(regexp_replace(regexp_replace({t}, '^[+-]', ''), '[.].*$', ''), '^0+', '')"
    );
    let whole = matches(engine, &t, "^[+-]?([0-9]+([.]0*)?|[.]0+)$");
    let exponent = matches(
        engine,
        &t,
        "^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)[eE][+-]?[0-9]+$",
    );
    let double = format!("CAST({t} AS DOUBLE)");
    format!(
        "CASE WHEN {t} = '' THEN NULL \
         WHEN {whole} THEN (CASE WHEN {magnitude} = '' THEN '0' WHEN {t} LIKE '-%' THEN concat('-', {magnitude}) ELSE {magnitude} END) \
         WHEN {exponent} AND {double} = floor({double}) AND abs({double}) < 9007199254740992 THEN CAST(CAST({double} AS BIGINT) AS {string}) \
         ELSE {t} END"
    )
}

/// An expression that stops the query with `message` (DuckDB's `error`, Spark's `raise_error`).
fn fail(engine: Engine, message: &str) -> String {
    match engine {
        Engine::Spark => format!("raise_error({})", text(message)),
        Engine::Duckdb => format!("error({})", text(message)),
    }
}

/// Rows sharelog refuses in a listing (no item id, owner id, category or creation time): the
/// query stops on them instead of counting what sharelog would not.
fn incomplete(engine: Engine) -> String {
    let string = string(engine);
    format!(
        "i.item_id IS NULL OR trim(CAST(i.item_id AS {string})) = '' OR i.owner_id IS NULL OR trim(CAST(i.owner_id AS {string})) = '' OR i.category IS NULL OR i.created_at IS NULL OR trim(CAST(i.created_at AS {string})) = ''"
    )
}

/// The opt-out scopes that cover the export's partner: every third party, the partner, and AI
/// training when the partner trains AI.
fn covering(report: &Report, e: &Export) -> Vec<String> {
    let partner = report.partner(e.partner.as_str());
    let trains_ai = partner.is_some_and(|p| p.purposes.contains(&Purpose::AiTraining));
    let mut scopes = vec![text("all-third-parties"), text(e.partner.as_str())];
    if trains_ai {
        scopes.push(text("ai-training"));
    }
    scopes
}

/// `LEFT JOIN` of the owners opted out at `at` (a text literal) under one of `scopes`, as
/// `alias`: a ledger row active at the instant (`opted_out_at <= at`, `withdrawn_at` empty or
/// later) whose scope is one of them.
fn opted_join(o: &SqlOptions<'_>, at: &str, scopes: &[String], alias: &str) -> String {
    let string = string(o.engine);
    format!(
        "\nLEFT JOIN (\n    SELECT DISTINCT {ledger_key} AS owner_id\n    FROM {ledger}\n    WHERE {opted} <= {at_ts}\n      AND (withdrawn_at IS NULL OR CAST(withdrawn_at AS {string}) = '' OR {withdrawn} > {at_ts})\n      AND coalesce(nullif(CAST(scope AS {string}), ''), 'all-third-parties') IN ({scopes})\n) AS {alias} ON {item_key} = {alias}.owner_id",
        ledger_key = owner_key(o.engine, "owner_id"),
        item_key = owner_key(o.engine, "i.owner_id"),
        ledger = o.ledger,
        opted = instant(o.engine, "opted_out_at"),
        withdrawn = instant(o.engine, "withdrawn_at"),
        at_ts = instant(o.engine, at),
        scopes = scopes.join(", "),
    )
}

/// The figures query: per batch (and, for every batch at once, per partner with `export`
/// empty) the distinct owners, those opted out at the export, the items opted out at the end of
/// the report's date, the items outside the content window, and that date (`as_of`).
fn figures(
    report: &Report,
    exports: &[&Export],
    o: &SqlOptions<'_>,
    ledger: bool,
    all: bool,
) -> String {
    let spark = o.engine == Engine::Spark;
    let string = string(o.engine);
    let published = report.meta.published;
    // The end of the report's date: the instant `items_opted_out_now` is counted at.
    let now = text(&format!("{published}T23:59:59.999999Z"));
    let branches: Vec<String> = exports
        .iter()
        .map(|e| {
            let at = text(&crate::time::format_utc(&e.exported_at));
            let scopes = covering(report, e);
            let created = instant(o.engine, "i.created_at");
            let (from, to) = window_bounds(e);
            let mut outside = Vec::new();
            if let Some(f) = from {
                outside.push(format!("{created} < {}", instant(o.engine, &text(&f))));
            }
            if let Some(t) = to {
                outside.push(format!("{created} >= {}", instant(o.engine, &text(&t))));
            }
            let outside = if outside.is_empty() {
                "false".to_owned()
            } else {
                outside.join(" OR ")
            };
            let mut select = vec![
                format!("{} AS partner", text(e.partner.as_str())),
                format!("{} AS export", text(e.id.as_str())),
                format!("{} AS owner_id", owner_key(o.engine, "i.owner_id")),
                format!("({}) AS incomplete", incomplete(o.engine)),
            ];
            let mut from_clause = format!("FROM {} AS i", o.items);
            if ledger {
                select.push("a.owner_id IS NOT NULL AS opted_then".to_owned());
                select.push("n.owner_id IS NOT NULL AS opted_now".to_owned());
                from_clause.push_str(&opted_join(o, &at, &scopes, "a"));
                from_clause.push_str(&opted_join(o, &now, &scopes, "n"));
            }
            select.push(format!("({outside}) AS outside"));
            let filter = if all {
                format!("\nWHERE i.export = {}", text(e.id.as_str()))
            } else {
                String::new()
            };
            format!(
                "-- {id}: partner {partner}, exported {exported}\nSELECT {select}\n{from_clause}{filter}",
                id = e.id,
                partner = e.partner,
                exported = crate::time::format_utc(&e.exported_at),
                select = select.join(",\n       "),
            )
        })
        .collect();
    let count_if = |c: &str| {
        if spark {
            format!("count_if({c})")
        } else {
            format!("count(*) FILTER (WHERE {c})")
        }
    };
    let (opted_then, opted_now, as_of) = if ledger {
        (
            "count(DISTINCT CASE WHEN opted_then THEN owner_id END)".to_owned(),
            count_if("opted_now"),
            text(&published.to_string()),
        )
    } else {
        (
            "CAST(NULL AS BIGINT)".to_owned(),
            "CAST(NULL AS BIGINT)".to_owned(),
            format!("CAST(NULL AS {string})"),
        )
    };
    // A batch with a row sharelog would refuse stops the query.
    let owners = format!(
        "CASE WHEN {} > 0 THEN {} ELSE count(DISTINCT owner_id) END",
        count_if("incomplete"),
        fail(
            o.engine,
            "sharelog: some items have no item_id, owner_id, category or created_at, which sharelog refuses: fix them first"
        )
    );
    let mut groups = vec![format!(
        "SELECT partner, export, {owners} AS owners, {opted_then} AS owners_opted_out, {opted_now} AS items_opted_out_now, {outside} AS outside_window, {as_of} AS as_of\nFROM flagged\nGROUP BY partner, export",
        outside = count_if("outside"),
    )];
    if all {
        // A partner's distinct owners are not the sum of its batches': a row of their own.
        groups.push(format!(
            "SELECT partner, '' AS export, {owners} AS owners, {opted_then} AS owners_opted_out, {opted_now} AS items_opted_out_now, CAST(NULL AS BIGINT) AS outside_window, {as_of} AS as_of\nFROM flagged\nGROUP BY partner"
        ));
    }
    format!(
        "WITH flagged AS (\n{}\n)\nSELECT * FROM (\n{}\n) AS figures\nORDER BY partner, export;\n",
        branches.join("\nUNION ALL\n"),
        groups.join("\nUNION ALL\n"),
    )
}

/// The content window as `[from, to)` instants in UTC (RFC 3339 text).
fn window_bounds(e: &Export) -> (Option<String>, Option<String>) {
    let day = |d: chrono::NaiveDate| format!("{d}T00:00:00Z");
    match e.content_window {
        Some((from, to)) => (from.map(day), to.and_then(|t| t.succ_opt()).map(day)),
        None => (None, None),
    }
}

/// The counts of one export.
fn branch(report: &Report, e: &Export, o: &SqlOptions<'_>, ledger: bool, all: bool) -> String {
    let spark = o.engine == Engine::Spark;
    let instant = |expr: &str| instant(o.engine, expr);
    let scopes = covering(report, e);
    let trains_ai = scopes.len() > 2;
    let at = text(&crate::time::format_utc(&e.exported_at));
    let count_if = |condition: String| {
        if spark {
            format!("count_if({condition})")
        } else {
            format!("count(*) FILTER (WHERE {condition})")
        }
    };
    let mut select = Vec::new();
    if all {
        select.push(format!("{} AS partner", text(e.partner.as_str())));
        select.push(format!("{} AS export", text(e.id.as_str())));
    }
    let year = format!("year({})", instant("i.created_at"));
    select.push("i.category AS category".to_owned());
    select.push(format!("{year} AS year"));
    // A batch with a row sharelog would refuse stops the query.
    select.push(format!(
        "CASE WHEN {} > 0 THEN {} ELSE count(*) END AS items",
        count_if(incomplete(o.engine)),
        fail(
            o.engine,
            &format!("sharelog: batch {} has items without item_id, owner_id, category or created_at, which sharelog refuses: fix them first", e.id)
        )
    ));
    for f in FLAGS {
        select.push(format!(
            "{} AS {f}",
            count_if(format!("coalesce(CAST(i.{f} AS BOOLEAN), false)"))
        ));
    }
    let mut from = format!("FROM {} AS i", o.items);
    if ledger {
        select.push("count(o.owner_id) AS opted_out".to_owned());
        // The owners opted out for the partner at the export: a row active at the instant whose
        // scope covers the partner (every third party, AI training when it trains AI, or it).
        from.push_str(&opted_join(o, &at, &scopes, "o"));
    }
    let filter = if all {
        format!("\nWHERE i.export = {}", text(e.id.as_str()))
    } else {
        String::new()
    };
    let group = if spark {
        format!("i.category, {year}")
    } else {
        "ALL".to_owned()
    };
    format!(
        "-- {id}: partner {partner}, exported {exported}{ai}\nSELECT {select}\n{from}{filter}\nGROUP BY {group}",
        id = e.id,
        exported = crate::time::format_utc(&e.exported_at),
        partner = e.partner,
        ai = if trains_ai { ", trains AI" } else { "" },
        select = select.join(",\n       "),
    )
}

#[cfg(test)]
mod tests {
    use super::is_relation;

    #[test]
    fn relation_names_are_names_not_sql() {
        for ok in ["items", "warehouse.batch_items", "_x1"] {
            assert!(is_relation(ok), "{ok}");
        }
        for bad in [
            "",
            "items;DROP TABLE x",
            "a b",
            "1items",
            "a..b",
            "a.",
            "\"items\"",
        ] {
            assert!(!is_relation(bad), "{bad}");
        }
    }
}
