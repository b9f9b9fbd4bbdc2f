//! Small CSV inputs read row by row (the csv crate): header checks and located cells, shared by
//! `monthly.csv` and the deletion requests.

use std::collections::BTreeMap;
use std::path::Path;

use super::Ctx;
use crate::error::{Problem, Problems};

/// One data row: its line number and its cells by column name.
pub(crate) struct Row {
    /// The physical line the row starts on.
    pub(crate) line: u64,
    cells: BTreeMap<String, String>,
}

impl Row {
    /// Whether the table has this column.
    pub(crate) fn has(&self, column: &str) -> bool {
        self.cells.contains_key(column)
    }

    /// A cell, trimmed; empty when the column is absent.
    pub(crate) fn get(&self, column: &str) -> &str {
        self.cells.get(column).map_or("", |s| s.trim())
    }
}

/// Reads a CSV file with a header row. Missing required columns and unknown columns are problems
/// (unknown columns are usually typos); `None` when the file cannot be used at all.
pub(crate) fn read(
    ctx: &Ctx<'_>,
    path: &Path,
    required: &[&str],
    optional: &[&str],
    problems: &mut Problems,
) -> Option<Vec<Row>> {
    let file = ctx.rel(path);
    let columns = || {
        if optional.is_empty() {
            format!("the columns are {}", required.join(", "))
        } else {
            format!(
                "the columns are {} and optionally {}",
                required.join(", "),
                optional.join(", ")
            )
        }
    };
    let text = ctx.read_text(path, problems)?;
    if text.trim().is_empty() {
        problems.push(Problem::new(&file, "empty file").help(format!(
            "write a header row ({}), or delete the file",
            columns()
        )));
        return None;
    }
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            problems.push(Problem::new(&file, format!("unreadable header: {e}")).at(1, None));
            return None;
        }
    };
    let before = problems.len();
    for name in required {
        if !headers.iter().any(|h| h == *name) {
            problems.push(
                Problem::new(&file, format!("missing column `{name}`"))
                    .at(1, None)
                    .help(columns()),
            );
        }
    }
    for h in headers.iter() {
        if !required.contains(&h) && !optional.contains(&h) {
            problems.push(
                Problem::new(&file, format!("unknown column `{h}`"))
                    .at(1, None)
                    .help(columns()),
            );
        }
    }
    if problems.len() > before {
        return None;
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        match record {
            Ok(r) => rows.push(Row {
                line: r.position().map_or(0, |p| p.line()),
                cells: headers
                    .iter()
                    .zip(r.iter())
                    .map(|(h, v)| (h.to_owned(), v.to_owned()))
                    .collect(),
            }),
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problems.push(
                    Problem::new(&file, format!("malformed row: {e}"))
                        .at(line, None)
                        .help("every row needs the same columns as the header"),
                );
            }
        }
    }
    Some(rows)
}

/// Parses a count cell (a whole number ≥ 0); `None` with a problem when it is not one. An empty
/// optional cell is `Ok(None)`.
pub(crate) fn count(
    file: &str,
    row: &Row,
    column: &str,
    required: bool,
    problems: &mut Problems,
) -> Result<Option<u64>, ()> {
    let text = row.get(column);
    if text.is_empty() && !required {
        return Ok(None);
    }
    text.parse::<u64>().map(Some).map_err(|_| {
        let message = if text.is_empty() {
            "missing".to_owned()
        } else {
            format!("`{text}` is not a count")
        };
        problems.push(
            Problem::new(file, message)
                .at(row.line, None)
                .key(column)
                .help("write a whole number, 0 or more"),
        );
    })
}
