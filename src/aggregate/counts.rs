//! Declared-count tables (CSV or Parquet with the `counts` columns of a manifest) → checked rows.

use super::columns::{CATEGORY, EXPORT, FLAGS, ITEMS, OPTED_OUT, PARTNER, YEAR};
use super::scan::{TextCells, missing_columns, read_problem, scan};
use crate::error::Problem;
use crate::model::{CategoryId, CountRow, TableFile};

/// Reads a declared-count table (CSV or Parquet with the `counts` columns) into checked rows.
///
/// A table may also have `partner` and `export` columns (what `sharelog sql` gives for every
/// batch at once, or a folder `export=<id>/` of a table partitioned by batch): only the rows of
/// `batch` (its id and partner) are read, and every row must name a batch of `known`. Returns
/// the rows and whether the table has an `export` column.
pub(crate) fn read_count_table(
    table: &TableFile,
    categories: &[CategoryId],
    batch: (&str, &str),
    known: &[&str],
) -> Result<(Vec<CountRow>, bool), Vec<Problem>> {
    super::scan::guarded(table, || read_unguarded(table, categories, batch, known))
}

fn read_unguarded(
    table: &TableFile,
    categories: &[CategoryId],
    (id, partner): (&str, &str),
    known: &[&str],
) -> Result<(Vec<CountRow>, bool), Vec<Problem>> {
    let mut lf = scan(table).map_err(|e| vec![read_problem(table, &e)])?;
    let schema = lf
        .collect_schema()
        .map_err(|e| vec![read_problem(table, &e)])?;
    let mut problems = missing_columns(table, &schema, &[CATEGORY, YEAR, ITEMS]);
    let optional: Vec<&str> = FLAGS
        .iter()
        .copied()
        .chain([OPTED_OUT, PARTNER, EXPORT])
        .collect();
    for name in schema.iter_names() {
        if ![CATEGORY, YEAR, ITEMS].contains(&name.as_str()) && !optional.contains(&name.as_str()) {
            problems.push(
                Problem::new(&table.display, format!("unknown column `{name}`"))
                    .help("count tables have category, year, items and optionally private, deleted, suspended, explicit, minor, opted_out (and partner, export)"),
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
    let cells = TextCells::read(table, lf, &present)?;
    let cell = |name: &str, i: usize| cells.cell(name, i);
    let mut rows = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let by_batch = present.contains(&EXPORT);
    for i in 0..cells.height() {
        let place = |p: Problem| cells.place(i, p);
        if by_batch {
            let export = cell(EXPORT, i).unwrap_or_default();
            if !known.contains(&export.as_str()) {
                problems.push(place(
                    Problem::new(
                        &table.display,
                        if export.is_empty() {
                            "export: missing".to_owned()
                        } else {
                            format!("export `{export}` is not in the report root")
                        },
                    )
                    .help(
                        "every row of a table of several batches names one of the report's batches",
                    ),
                ));
                continue;
            }
            // Another batch's row of a table of several.
            if export != id {
                continue;
            }
            if let Some(p) = cell(PARTNER, i).filter(|p| !p.is_empty() && p != partner) {
                problems.push(place(
                    Problem::new(
                        &table.display,
                        format!("partner `{p}`, but export `{id}` went to `{partner}`"),
                    )
                    .help("count the batch again with the query `sharelog sql` prints"),
                ));
                continue;
            }
        }
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
        Ok((rows, by_batch))
    } else {
        Err(problems)
    }
}
