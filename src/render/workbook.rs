//! Every published table in one file, for the tools journalists use: a workbook
//! (`data/report.xlsx`, a sheet per table) for spreadsheets and a database (`data/report.sqlite`,
//! a table per table) for SQL tools such as Datasette. Both hold the same rows as the CSV, JSON
//! and Parquet downloads, with the dictionary's column types, and the data dictionary itself.

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::Value;

use super::dictionary::{TableDoc, Type};
use crate::error::{Error, Result};

/// A table as it was written: its dictionary entry (as this build writes it: banded columns
/// are text) and its rows as JSON objects keyed by column name.
pub(crate) struct Written {
    pub(crate) doc: TableDoc,
    pub(crate) rows: Vec<Value>,
}

/// A cell, typed by its column.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    /// Suppressed, or not applicable: what the dictionary says an empty cell means.
    Empty,
    Integer(i64),
    Text(String),
    Date(NaiveDate),
    Instant(NaiveDateTime),
}

fn cell(value: Option<&Value>, kind: Type) -> Cell {
    let text = match value {
        None | Some(Value::Null) => return Cell::Empty,
        Some(Value::String(s)) if s.is_empty() => return Cell::Empty,
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) if kind == Type::Integer => {
            if let Some(i) = n.as_i64() {
                return Cell::Integer(i);
            }
            n.to_string()
        }
        Some(other) => other.to_string(),
    };
    match kind {
        Type::Date => crate::time::parse_date(&text).map_or(Cell::Text(text), Cell::Date),
        Type::Datetime => crate::time::parse_instant(&text)
            .map_or(Cell::Text(text), |t| Cell::Instant(t.naive_utc())),
        Type::Integer => text.parse().map_or(Cell::Text(text), Cell::Integer),
        Type::String | Type::Yearmonth | Type::List => Cell::Text(text),
    }
}

/// The data dictionary as rows: (table, column, type, unit, description, suppressed, what an
/// empty cell means, band width).
type DictionaryRow = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    bool,
    Option<&'static str>,
    Option<u64>,
);

const DICTIONARY_COLUMNS: [&str; 8] = [
    "table_name",
    "column_name",
    "type",
    "unit",
    "description",
    "suppressed",
    "empty_means",
    "band_width",
];

fn dictionary_rows(tables: &[Written]) -> Vec<DictionaryRow> {
    tables
        .iter()
        .flat_map(|t| {
            t.doc.columns.iter().map(|c| {
                (
                    t.doc.name,
                    c.name,
                    c.kind.slug(),
                    c.unit,
                    c.description,
                    c.suppressed,
                    c.empty,
                    c.band,
                )
            })
        })
        .collect()
}

fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> Error {
    Error::Internal(format!("writing data/report.xlsx failed: {e}"))
}

/// `data/report.xlsx`: a sheet per table (header row frozen, filters on), integers as numbers,
/// dates and date-times (UTC) as Excel dates, every other value as text (never a formula); then
/// a `dictionary` sheet. Its dates come from the report (`created` is the report's date), so the
/// bytes depend only on the tables.
pub(crate) fn xlsx(tables: &[Written], title: &str, published: NaiveDate) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{DocProperties, Format, Workbook, Worksheet};

    let mut workbook = Workbook::new();
    let created = published.and_hms_opt(0, 0, 0).unwrap_or_default();
    workbook.set_properties(
        &DocProperties::new()
            .set_title(title)
            .set_creation_datetime(&created),
    );
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let instant = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let header = |sheet: &mut Worksheet, names: &[&str], rows: usize| -> Result<()> {
        for (c, name) in names.iter().enumerate() {
            let c = u16::try_from(c).map_err(|_| Error::Internal("too many columns".into()))?;
            sheet
                .write_string_with_format(0, c, *name, &bold)
                .map_err(xlsx_error)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
        let last = u16::try_from(names.len().saturating_sub(1)).unwrap_or(0);
        let rows = u32::try_from(rows).map_err(|_| Error::Internal("too many rows".into()))?;
        sheet.autofilter(0, 0, rows, last).map_err(xlsx_error)?;
        Ok(())
    };
    for t in tables {
        let sheet = workbook.add_worksheet();
        sheet.set_name(t.doc.name).map_err(xlsx_error)?;
        header(sheet, &t.doc.header(), t.rows.len())?;
        let mut widths: Vec<usize> = t.doc.columns.iter().map(|c| c.name.len()).collect();
        for (r, row) in t.rows.iter().enumerate() {
            let r = u32::try_from(r + 1).map_err(|_| Error::Internal("too many rows".into()))?;
            for (c, column) in t.doc.columns.iter().enumerate() {
                let width = &mut widths[c];
                let c = u16::try_from(c).unwrap_or(u16::MAX);
                match cell(row.get(column.name), column.kind) {
                    Cell::Empty => {}
                    Cell::Integer(n) => {
                        *width = (*width).max(n.to_string().len());
                        // Counts are far below 2^53, where doubles stop being exact.
                        sheet.write_number(r, c, n as f64).map_err(xlsx_error)?;
                    }
                    Cell::Text(s) => {
                        *width = (*width).max(s.chars().count());
                        sheet.write_string(r, c, &s).map_err(xlsx_error)?;
                    }
                    Cell::Date(d) => {
                        *width = (*width).max(10);
                        sheet
                            .write_datetime_with_format(r, c, d, &date)
                            .map_err(xlsx_error)?;
                    }
                    Cell::Instant(t) => {
                        *width = (*width).max(19);
                        sheet
                            .write_datetime_with_format(r, c, t, &instant)
                            .map_err(xlsx_error)?;
                    }
                }
            }
        }
        for (c, width) in widths.iter().enumerate() {
            let c = u16::try_from(c).unwrap_or(u16::MAX);
            sheet
                .set_column_width(c, (*width).clamp(6, 60) as f64 + 1.0)
                .map_err(xlsx_error)?;
        }
    }
    let rows = dictionary_rows(tables);
    let sheet = workbook.add_worksheet();
    sheet.set_name("dictionary").map_err(xlsx_error)?;
    header(sheet, &DICTIONARY_COLUMNS, rows.len())?;
    for (r, (table, column, kind, unit, description, suppressed, empty, band)) in
        rows.iter().enumerate()
    {
        let r = u32::try_from(r + 1).map_err(|_| Error::Internal("too many rows".into()))?;
        let text = [
            Some(*table),
            Some(*column),
            Some(*kind),
            *unit,
            Some(*description),
        ];
        for (c, value) in text.iter().enumerate() {
            if let Some(v) = value {
                let c = u16::try_from(c).unwrap_or(u16::MAX);
                sheet.write_string(r, c, *v).map_err(xlsx_error)?;
            }
        }
        sheet
            .write_string(r, 5, if *suppressed { "yes" } else { "no" })
            .map_err(xlsx_error)?;
        if let Some(e) = empty {
            sheet.write_string(r, 6, *e).map_err(xlsx_error)?;
        }
        if let Some(b) = band {
            sheet.write_number(r, 7, *b as f64).map_err(xlsx_error)?;
        }
    }
    for (c, width) in [20.0, 28.0, 10.0, 14.0, 80.0, 10.0, 50.0, 10.0]
        .into_iter()
        .enumerate()
    {
        let c = u16::try_from(c).unwrap_or(u16::MAX);
        sheet.set_column_width(c, width).map_err(xlsx_error)?;
    }
    workbook.save_to_buffer().map_err(xlsx_error)
}

fn sqlite_error(e: rusqlite::Error) -> Error {
    Error::Internal(format!("writing data/report.sqlite failed: {e}"))
}

/// A name quoted for SQL (table names have hyphens).
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `data/report.sqlite`: a table per published table (integers as INTEGER, everything else as
/// TEXT: dates as `YYYY-MM-DD`, date-times as UTC RFC 3339, as in the CSV; empty cells NULL),
/// with its primary key where it has one; then `dictionary` (every column of every table) and
/// `tables` (every table's title and what one row is). Built in memory; the same tables give
/// the same bytes.
pub(crate) fn sqlite(tables: &[Written]) -> Result<Vec<u8>> {
    use rusqlite::types::Value as Sql;

    let mut db = rusqlite::Connection::open_in_memory().map_err(sqlite_error)?;
    let tx = db.transaction().map_err(sqlite_error)?;
    let insert = |tx: &rusqlite::Transaction<'_>,
                  name: &str,
                  columns: &[String],
                  rows: &mut dyn Iterator<Item = Vec<Sql>>|
     -> Result<()> {
        let marks = vec!["?"; columns.len()].join(", ");
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({marks})",
            quoted(name),
            columns.join(", ")
        );
        let mut statement = tx.prepare(&sql).map_err(sqlite_error)?;
        for row in rows {
            statement
                .execute(rusqlite::params_from_iter(row))
                .map_err(sqlite_error)?;
        }
        Ok(())
    };
    for t in tables {
        let mut columns: Vec<String> = t
            .doc
            .columns
            .iter()
            .map(|c| {
                let kind = if c.kind == Type::Integer {
                    "INTEGER"
                } else {
                    "TEXT"
                };
                format!("{} {kind}", quoted(c.name))
            })
            .collect();
        if !t.doc.primary_key.is_empty() {
            let key: Vec<String> = t.doc.primary_key.iter().map(|k| quoted(k)).collect();
            columns.push(format!("PRIMARY KEY ({})", key.join(", ")));
        }
        tx.execute_batch(&format!(
            "CREATE TABLE {} ({});",
            quoted(t.doc.name),
            columns.join(", ")
        ))
        .map_err(sqlite_error)?;
        let names: Vec<String> = t.doc.columns.iter().map(|c| quoted(c.name)).collect();
        let mut rows = t.rows.iter().map(|row| {
            t.doc
                .columns
                .iter()
                .map(|c| match cell(row.get(c.name), c.kind) {
                    Cell::Empty => Sql::Null,
                    Cell::Integer(n) => Sql::Integer(n),
                    Cell::Text(s) => Sql::Text(s),
                    Cell::Date(d) => Sql::Text(d.format("%Y-%m-%d").to_string()),
                    Cell::Instant(t) => Sql::Text(t.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
                })
                .collect()
        });
        insert(&tx, t.doc.name, &names, &mut rows)?;
    }
    tx.execute_batch(
        "CREATE TABLE dictionary (table_name TEXT, column_name TEXT, type TEXT, unit TEXT, \
         description TEXT, suppressed TEXT, empty_means TEXT, band_width INTEGER, \
         PRIMARY KEY (table_name, column_name));
         CREATE TABLE tables (table_name TEXT PRIMARY KEY, title TEXT, one_row TEXT);",
    )
    .map_err(sqlite_error)?;
    let text = |s: Option<&str>| s.map_or(Sql::Null, |s| Sql::Text(s.to_owned()));
    let names: Vec<String> = DICTIONARY_COLUMNS.iter().map(|c| c.to_string()).collect();
    let mut rows = dictionary_rows(tables).into_iter().map(
        |(table, column, kind, unit, description, suppressed, empty, band)| {
            vec![
                text(Some(table)),
                text(Some(column)),
                text(Some(kind)),
                text(unit),
                text(Some(description)),
                text(Some(if suppressed { "yes" } else { "no" })),
                text(empty),
                band.map_or(Sql::Null, |b| Sql::Integer(b as i64)),
            ]
        },
    );
    insert(&tx, "dictionary", &names, &mut rows)?;
    let names = ["table_name", "title", "one_row"].map(str::to_owned);
    let mut rows = tables.iter().map(|t| {
        vec![
            text(Some(t.doc.name)),
            text(Some(t.doc.title)),
            text(Some(t.doc.row)),
        ]
    });
    insert(&tx, "tables", &names, &mut rows)?;
    tx.commit().map_err(sqlite_error)?;
    let data = db.serialize("main").map_err(sqlite_error)?;
    Ok(data.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_typed_by_their_column() {
        let v = |s: &str| Value::String(s.to_owned());
        assert_eq!(
            cell(Some(&Value::from(12)), Type::Integer),
            Cell::Integer(12)
        );
        assert_eq!(
            cell(Some(&v("250-499")), Type::String),
            Cell::Text("250-499".into())
        );
        assert_eq!(cell(Some(&Value::Null), Type::Integer), Cell::Empty);
        assert_eq!(cell(Some(&v("")), Type::String), Cell::Empty);
        assert_eq!(cell(None, Type::Integer), Cell::Empty);
        assert_eq!(
            cell(Some(&v("2024-02-12")), Type::Date),
            Cell::Date(NaiveDate::from_ymd_opt(2024, 2, 12).unwrap_or_default())
        );
        assert!(matches!(
            cell(Some(&v("2024-02-12T09:15:00Z")), Type::Datetime),
            Cell::Instant(t) if t.to_string() == "2024-02-12 09:15:00"
        ));
        assert_eq!(
            cell(Some(&v("2024-02")), Type::Yearmonth),
            Cell::Text("2024-02".into())
        );
    }
}
