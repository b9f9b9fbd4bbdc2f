//! `data/opt-outs/monthly.csv` → [`MonthlyOptOuts`] rows, sorted by month.

use std::collections::BTreeSet;

use super::Ctx;
use crate::error::{Problem, Problems};
use crate::model::MonthlyOptOuts;
use crate::time::parse_month;

const FILE: &str = "data/opt-outs/monthly.csv";
const REQUIRED: [&str; 3] = ["month", "opted_out", "withdrawn"];
const OPTIONAL: [&str; 1] = ["accounts"];

/// Loads the monthly opt-out table, if the root has one.
pub(crate) fn load_monthly(ctx: &Ctx<'_>, problems: &mut Problems) -> Option<Vec<MonthlyOptOuts>> {
    let path = ctx.root.join(FILE);
    if !path.exists() {
        return None;
    }
    let text = ctx.read_text(&path, problems)?;
    if text.trim().is_empty() {
        problems.push(
            Problem::new(FILE, "empty file")
                .help("write a header row `month,opted_out,withdrawn,accounts` and one row per month, or delete the file"),
        );
        return None;
    }
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            problems.push(Problem::new(FILE, format!("unreadable header: {e}")).at(1, None));
            return None;
        }
    };
    let before = problems.len();
    for required in REQUIRED {
        if !headers.iter().any(|h| h == required) {
            problems.push(
                Problem::new(FILE, format!("missing column `{required}`"))
                    .at(1, None)
                    .help("the columns are month, opted_out, withdrawn and (optionally) accounts"),
            );
        }
    }
    for h in headers.iter() {
        if !REQUIRED.contains(&h) && !OPTIONAL.contains(&h) {
            problems.push(
                Problem::new(FILE, format!("unknown column `{h}`"))
                    .at(1, None)
                    .help("the columns are month, opted_out, withdrawn and (optionally) accounts"),
            );
        }
    }
    if problems.len() > before {
        return None;
    }
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(month_i), Some(opted_i), Some(withdrawn_i)) =
        (col("month"), col("opted_out"), col("withdrawn"))
    else {
        return None;
    };
    let accounts_i = col("accounts");
    let mut rows = Vec::new();
    let mut months = BTreeSet::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problems.push(
                    Problem::new(FILE, format!("malformed row: {e}"))
                        .at(line, None)
                        .help("every row needs the same columns as the header"),
                );
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let cell = |i: usize| record.get(i).unwrap_or("").trim();
        let month = cell(month_i);
        if parse_month(month).is_none() {
            problems.push(
                Problem::new(FILE, format!("month `{month}` is not a month"))
                    .at(line, None)
                    .key("month")
                    .help("write YYYY-MM, e.g. 2023-04"),
            );
        } else if !months.insert(month.to_owned()) {
            problems.push(
                Problem::new(FILE, format!("month `{month}` appears twice"))
                    .at(line, None)
                    .key("month")
                    .help("write one row per month"),
            );
        }
        let mut number = |name: &str, i: usize, required: bool| -> Option<u64> {
            let text = cell(i);
            if text.is_empty() && !required {
                return None;
            }
            match text.parse::<u64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    problems.push(
                        Problem::new(FILE, format!("`{text}` is not a count"))
                            .at(line, None)
                            .key(name)
                            .help("write a whole number, 0 or more"),
                    );
                    None
                }
            }
        };
        let opted_out = number("opted_out", opted_i, true);
        let withdrawn = number("withdrawn", withdrawn_i, true);
        let accounts = accounts_i.and_then(|i| number("accounts", i, false));
        if let (Some(opted_out), Some(withdrawn)) = (opted_out, withdrawn) {
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
