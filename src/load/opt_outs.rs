//! `data/opt-outs/`: `monthly.csv` → [`MonthlyOptOuts`] rows sorted by month, and the ledger's file.

use std::collections::{BTreeMap, BTreeSet};

use std::path::Path;

use super::{Ctx, csv_table};
use crate::error::{Problem, Problems};
use crate::model::{MonthlyOptOuts, ProtectionMonth, SIGNALS, TableFile, TableFormat, is_slug};
use crate::time::parse_month;

const FILE: &str = "data/opt-outs/monthly.csv";
const LEDGER: &str = "data/opt-outs/ledger";
const REQUIRED: [&str; 3] = ["month", "opted_out", "withdrawn"];
const OPTIONAL: [&str; 2] = ["accounts", "signal"];
const PROTECTIONS: &str = "data/opt-outs/protections-monthly.csv";

/// Loads the monthly opt-out table, if the root has one. With a `signal` column it has one row per
/// month and signal; the rows of a month are added up, and kept per signal.
pub(crate) fn load_monthly(ctx: &Ctx<'_>, problems: &mut Problems) -> Option<Vec<MonthlyOptOuts>> {
    let path = ctx.root.join(FILE);
    if std::fs::symlink_metadata(&path).is_err() {
        return None;
    }
    let before = problems.len();
    let table = csv_table::read(ctx, &path, &REQUIRED, &OPTIONAL, problems)?;
    let has_signal = table.first().is_some_and(|r| r.has("signal"));
    let mut months: BTreeMap<String, MonthlyOptOuts> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for row in &table {
        let month = row.get("month");
        let signal = if has_signal {
            match row.get("signal") {
                "" => SIGNALS[0],
                s => s,
            }
        } else {
            ""
        };
        let signal_index = SIGNALS.iter().position(|s| *s == signal);
        if has_signal && signal_index.is_none() {
            problems.push(
                Problem::new(FILE, format!("unknown signal `{signal}`"))
                    .at(row.line, None)
                    .key("signal")
                    .help(format!("use one of: {}", SIGNALS.join(", "))),
            );
        }
        if parse_month(month).is_none() {
            problems.push(
                Problem::new(FILE, format!("month `{month}` is not a month"))
                    .at(row.line, None)
                    .key("month")
                    .help("write YYYY-MM, e.g. 2023-04"),
            );
        } else if !seen.insert((month.to_owned(), signal.to_owned())) {
            let what = if has_signal {
                format!("month `{month}` and signal `{signal}` appear twice")
            } else {
                format!("month `{month}` appears twice")
            };
            problems.push(
                Problem::new(FILE, what)
                    .at(row.line, None)
                    .key("month")
                    .help(if has_signal {
                        "write one row per month and signal"
                    } else {
                        "write one row per month"
                    }),
            );
        }
        let opted_out = csv_table::count(FILE, row, "opted_out", true, problems);
        let withdrawn = csv_table::count(FILE, row, "withdrawn", true, problems);
        let accounts = csv_table::count(FILE, row, "accounts", false, problems);
        let (Ok(Some(opted_out)), Ok(Some(withdrawn)), Ok(accounts)) =
            (opted_out, withdrawn, accounts)
        else {
            continue;
        };
        let entry = months
            .entry(month.to_owned())
            .or_insert_with(|| MonthlyOptOuts {
                month: month.to_owned(),
                opted_out: 0,
                withdrawn: 0,
                accounts: None,
                by_signal: has_signal.then_some([0; 6]),
            });
        entry.opted_out += opted_out;
        entry.withdrawn += withdrawn;
        if let (Some(by_signal), Some(i)) = (entry.by_signal.as_mut(), signal_index) {
            by_signal[i] += opted_out;
        }
        match (entry.accounts, accounts) {
            (Some(a), Some(b)) if a != b => problems.push(
                Problem::new(FILE, format!("accounts {b} differs from {a} on another row of {month}"))
                    .at(row.line, None)
                    .key("accounts")
                    .help("accounts counts the whole month; write the same number on every row of the month, or on one"),
            ),
            (None, Some(b)) => entry.accounts = Some(b),
            _ => {}
        }
    }
    if problems.len() > before {
        return None;
    }
    Some(months.into_values().collect())
}

/// Loads `protections-monthly.csv`, sorted by month and setting; empty when absent.
pub(crate) fn load_protections(ctx: &Ctx<'_>, problems: &mut Problems) -> Vec<ProtectionMonth> {
    let path = ctx.root.join(PROTECTIONS);
    if std::fs::symlink_metadata(&path).is_err() {
        return Vec::new();
    }
    let Some(table) = csv_table::read(ctx, &path, &["month", "setting", "accounts"], &[], problems)
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for row in &table {
        let (month, setting) = (row.get("month"), row.get("setting"));
        let here = |p: Problem, key: &str| p.at(row.line, None).key(key);
        if parse_month(month).is_none() {
            problems.push(here(
                Problem::new(PROTECTIONS, format!("month `{month}` is not a month"))
                    .help("write YYYY-MM, e.g. 2023-04"),
                "month",
            ));
            continue;
        }
        if !is_slug(setting) {
            problems.push(here(
                Problem::new(PROTECTIONS, format!("setting `{setting}` is not a slug"))
                    .help("use discourage-ai-crawlers, discourage-search-indexing, or another slug of lowercase letters, digits and `-`"),
                "setting",
            ));
            continue;
        }
        if !seen.insert((month.to_owned(), setting.to_owned())) {
            problems.push(here(
                Problem::new(
                    PROTECTIONS,
                    format!("month `{month}` and setting `{setting}` appear twice"),
                )
                .help("write one row per month and setting"),
                "setting",
            ));
            continue;
        }
        if let Ok(Some(accounts)) = csv_table::count(PROTECTIONS, row, "accounts", true, problems) {
            out.push(ProtectionMonth {
                month: month.to_owned(),
                setting: setting.to_owned(),
                accounts,
            });
        }
    }
    out.sort_by(|a, b| (&a.month, &a.setting).cmp(&(&b.month, &b.setting)));
    out
}

/// Finds the opt-out ledger, if the root has one: `data/opt-outs/ledger.{csv,parquet,ndjson,jsonl}`.
/// Its rows are checked by the aggregate stage, which reads it with polars.
pub(crate) fn find_ledger(ctx: &Ctx<'_>, problems: &mut Problems) -> Option<TableFile> {
    let found: Vec<TableFile> = ["csv", "parquet", "ndjson", "jsonl"]
        .iter()
        .map(|ext| ctx.root.join(format!("{LEDGER}.{ext}")))
        .filter(|p| std::fs::symlink_metadata(p).is_ok())
        .filter(|p| ctx.confine(p, problems))
        .filter_map(|path| {
            let format = TableFormat::from_path(&path)?;
            Some(TableFile {
                display: ctx.rel(&path),
                path,
                format,
                hive: Vec::new(),
            })
        })
        .collect();
    match found.as_slice() {
        [] => {
            // A ledger under a name sharelog does not read (`ledger.json`, `ledger.tsv`) must not
            // be skipped in silence: without it, every opt-out finding would vanish.
            let dir = ctx.root.join(LEDGER).parent().map(Path::to_path_buf);
            let others = dir
                .and_then(|d| std::fs::read_dir(d).ok())
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_stem()
                        .is_some_and(|s| s.to_string_lossy().eq_ignore_ascii_case("ledger"))
                });
            let mut others: Vec<_> = others.collect();
            others.sort();
            for other in others {
                problems.push(
                    Problem::new(ctx.rel(&other), "is not read as the opt-out ledger: sharelog reads a ledger as .csv, .parquet, .ndjson or .jsonl")
                        .help("write the ledger as data/opt-outs/ledger.csv, ledger.parquet, ledger.ndjson or ledger.jsonl"),
                );
            }
            None
        }
        [one] if one.path.is_dir() => {
            problems.push(
                Problem::new(&one.display, "is a folder, not a file")
                    .help("the ledger is one table file"),
            );
            None
        }
        [one] => Some(one.clone()),
        many => {
            let names: Vec<_> = many.iter().map(|t| t.display.as_str()).collect();
            problems.push(
                Problem::new(
                    LEDGER,
                    format!("{} ledgers found: {}", many.len(), names.join(", ")),
                )
                .help("keep one ledger file; sharelog would not know which one is current"),
            );
            None
        }
    }
}
