//! `data/opt-outs/`: `monthly.csv` → [`MonthlyOptOuts`] rows sorted by month, and the ledger's file.

use std::collections::BTreeSet;

use super::{Ctx, csv_table};
use crate::error::{Problem, Problems};
use crate::model::{MonthlyOptOuts, TableFile, TableFormat};
use crate::time::parse_month;

const FILE: &str = "data/opt-outs/monthly.csv";
const LEDGER: &str = "data/opt-outs/ledger";
const REQUIRED: [&str; 3] = ["month", "opted_out", "withdrawn"];
const OPTIONAL: [&str; 1] = ["accounts"];

/// Loads the monthly opt-out table, if the root has one.
pub(crate) fn load_monthly(ctx: &Ctx<'_>, problems: &mut Problems) -> Option<Vec<MonthlyOptOuts>> {
    let path = ctx.root.join(FILE);
    if !path.exists() {
        return None;
    }
    let before = problems.len();
    let table = csv_table::read(ctx, &path, &REQUIRED, &OPTIONAL, problems)?;
    let mut rows = Vec::new();
    let mut months = BTreeSet::new();
    for row in &table {
        let month = row.get("month");
        if parse_month(month).is_none() {
            problems.push(
                Problem::new(FILE, format!("month `{month}` is not a month"))
                    .at(row.line, None)
                    .key("month")
                    .help("write YYYY-MM, e.g. 2023-04"),
            );
        } else if !months.insert(month.to_owned()) {
            problems.push(
                Problem::new(FILE, format!("month `{month}` appears twice"))
                    .at(row.line, None)
                    .key("month")
                    .help("write one row per month"),
            );
        }
        let opted_out = csv_table::count(FILE, row, "opted_out", true, problems);
        let withdrawn = csv_table::count(FILE, row, "withdrawn", true, problems);
        let accounts = csv_table::count(FILE, row, "accounts", false, problems);
        if let (Ok(Some(opted_out)), Ok(Some(withdrawn)), Ok(accounts)) =
            (opted_out, withdrawn, accounts)
        {
            rows.push(MonthlyOptOuts {
                month: month.to_owned(),
                opted_out,
                withdrawn,
                accounts,
            });
        }
    }
    if problems.len() > before {
        return None;
    }
    rows.sort_by(|a, b| a.month.cmp(&b.month));
    Some(rows)
}

/// Finds the opt-out ledger, if the root has one: `data/opt-outs/ledger.{csv,parquet,ndjson,jsonl}`.
/// Its rows are checked by the aggregate stage, which reads it with polars.
pub(crate) fn find_ledger(ctx: &Ctx<'_>, problems: &mut Problems) -> Option<TableFile> {
    let found: Vec<TableFile> = ["csv", "parquet", "ndjson", "jsonl"]
        .iter()
        .map(|ext| ctx.root.join(format!("{LEDGER}.{ext}")))
        .filter(|p| p.exists())
        .filter_map(|path| {
            let format = TableFormat::from_path(&path)?;
            Some(TableFile {
                display: ctx.rel(&path),
                path,
                format,
            })
        })
        .collect();
    match found.as_slice() {
        [] => None,
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
