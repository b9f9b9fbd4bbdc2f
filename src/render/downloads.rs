//! Published tables → `data/*.csv`, `data/*.json` and `data/*.parquet`, with exactly the SPEC's
//! columns and row order, all three from the data dictionary.

use serde::Serialize;

use super::Site;
use super::dictionary::{self, TableDoc, Type};
use super::findings::PublishedFinding;
use super::workbook::{self, Written};
use crate::aggregate::Tables;
use crate::error::{Error, Result};
use crate::model::Bands;
use crate::publish::{Count, Rules};

/// One row of `data/item-totals.csv`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ItemTotalRow {
    grouping: &'static str,
    partner: Option<String>,
    category: Option<String>,
    year: Option<i32>,
    items: crate::publish::Count,
}

/// One row of `data/shipped-files.csv`: a file a manifest says was shipped, and whether its
/// checksum was verified.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ShippedFileRow {
    pub(crate) export: String,
    pub(crate) partner: String,
    pub(crate) path: String,
    pub(crate) sha256: String,
    pub(crate) bytes: Option<u64>,
    /// `verified`, `differs` (the file under the root does not match), or `not-kept` (it is not
    /// under the report root, so it cannot be checked).
    pub(crate) status: &'static str,
}

/// Every shipped file of every manifest, in export order then file order.
pub(crate) fn shipped_files(
    report: &crate::model::Report,
    findings: &[crate::aggregate::findings::Finding],
) -> Vec<ShippedFileRow> {
    use crate::aggregate::findings::Detail;
    report
        .exports
        .iter()
        .flat_map(|export| {
            let differing: Vec<&str> = findings
                .iter()
                .filter(|f| f.export.as_deref() == Some(export.id.as_str()))
                .filter_map(|f| match &f.detail {
                    Detail::Checksum { files } => Some(files.iter().map(String::as_str)),
                    _ => None,
                })
                .flatten()
                .collect();
            export.files.iter().map(move |f| ShippedFileRow {
                export: export.id.to_string(),
                partner: export.partner.to_string(),
                path: f.path.clone(),
                sha256: f.sha256.clone(),
                bytes: f.bytes,
                status: if f.local.is_none() {
                    "not-kept"
                } else if differing.contains(&f.path.as_str()) {
                    "differs"
                } else {
                    "verified"
                },
            })
        })
        .collect()
}

/// A grouping of `item-totals`: its name, its totals, and where partner, category and year sit
/// in their keys.
type Grouping<'a> = (
    &'static str,
    &'a [crate::aggregate::Total<Count>],
    [Option<usize>; 3],
);

/// The rows of `data/item-totals.csv`: the published totals, grouping by grouping.
pub(crate) fn item_totals(
    t: &crate::aggregate::Tables<crate::publish::Count>,
) -> Vec<ItemTotalRow> {
    // (grouping, its totals, the positions of partner, category and year in their keys)
    let groupings: [Grouping<'_>; 5] = [
        (
            "partner-category-year",
            &t.by_partner_category_year,
            [Some(0), Some(1), Some(2)],
        ),
        ("partner-year", &t.by_partner_year, [Some(0), None, Some(1)]),
        (
            "partner-category",
            &t.by_partner_category,
            [Some(0), Some(1), None],
        ),
        ("year", &t.by_year, [None, None, Some(0)]),
        ("category", &t.by_category, [None, Some(0), None]),
    ];
    let mut rows: Vec<ItemTotalRow> = groupings
        .iter()
        .flat_map(|(grouping, totals, [p, c, y])| {
            totals.iter().map(move |total| {
                let key = |k: &Option<usize>| k.and_then(|i| total.key.get(i)).cloned();
                ItemTotalRow {
                    grouping,
                    partner: key(p),
                    category: key(c),
                    year: key(y).and_then(|y| y.parse().ok()),
                    items: total.items,
                }
            })
        })
        .collect();
    rows.push(ItemTotalRow {
        grouping: "all",
        partner: None,
        category: None,
        year: None,
        items: t.total_items,
    });
    rows
}

/// CSV with a header row; `None` cells are empty.
pub(crate) fn csv<T: Serialize>(rows: &[T], header: &[&str]) -> Result<Vec<u8>> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    writer.write_record(header).map_err(csv_error)?;
    for row in rows {
        writer.serialize(row).map_err(csv_error)?;
    }
    writer
        .into_inner()
        .map_err(|e| Error::Internal(format!("writing CSV failed: {e}")))
}

/// A row as (column, value) pairs in the dictionary's order, serialised as a JSON object in that
/// order: the rows of a banded table, whose counts have become band labels.
pub(crate) struct OrderedRow(pub(crate) Vec<(&'static str, serde_json::Value)>);

impl Serialize for OrderedRow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// The rows of a banded table (`doc` from `dictionary::banded`), in the dictionary's column
/// order: the publish stage's bands are labels `first-last` already.
pub(crate) fn banded_rows<T: Serialize>(rows: &[T], doc: &TableDoc) -> Result<Vec<OrderedRow>> {
    rows.iter()
        .map(|row| {
            let value = serde_json::to_value(row)
                .map_err(|e| Error::Internal(format!("writing a banded table failed: {e}")))?;
            Ok(OrderedRow(
                doc.columns
                    .iter()
                    .map(|c| {
                        let v = value
                            .get(c.name)
                            .cloned()
                            .unwrap_or(serde_json::Value::Null);
                        // Bands are already labels; an exact count in a banded column (a
                        // known zero) is written as text too, so the column keeps one type.
                        let v = match (c.band, v.as_u64()) {
                            (Some(_), Some(n)) => serde_json::Value::String(n.to_string()),
                            _ => v,
                        };
                        (c.name, v)
                    })
                    .collect(),
            ))
        })
        .collect()
}

/// CSV of ordered rows with a header row; nulls are empty cells.
pub(crate) fn csv_ordered(rows: &[OrderedRow], header: &[&str]) -> Result<Vec<u8>> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    writer.write_record(header).map_err(csv_error)?;
    for row in rows {
        let cells: Vec<String> = row
            .0
            .iter()
            .map(|(_, v)| match v {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        writer.write_record(&cells).map_err(csv_error)?;
    }
    writer
        .into_inner()
        .map_err(|e| Error::Internal(format!("writing CSV failed: {e}")))
}

/// A JSON array of objects, pretty-printed, ending in a newline; `None` is `null`.
pub(crate) fn json<T: Serialize + ?Sized>(rows: &T) -> Result<Vec<u8>> {
    let mut out = serde_json::to_vec_pretty(rows)
        .map_err(|e| Error::Internal(format!("writing JSON failed: {e}")))?;
    out.push(b'\n');
    Ok(out)
}

/// A CSV file with each record passed through `change` (given the record's index: 0 is the
/// header).
fn rewrite(
    csv: &[u8],
    mut change: impl FnMut(usize, csv::StringRecord) -> csv::StringRecord,
) -> Result<Vec<u8>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv);
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    for (i, record) in reader.records().enumerate() {
        let record = change(i, record.map_err(csv_error)?);
        writer.write_record(&record).map_err(csv_error)?;
    }
    writer
        .into_inner()
        .map_err(|e| Error::Internal(format!("writing CSV failed: {e}")))
}

/// The CSV with one more column, `name`, holding `value` in every row.
pub(crate) fn append_column(csv: &[u8], name: &str, value: &str) -> Result<Vec<u8>> {
    rewrite(csv, |i, mut record| {
        record.push_field(if i == 0 { name } else { value });
        record
    })
}

/// The first characters that make a spreadsheet read a cell as a formula (OWASP's list).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A CSV file with every cell that a spreadsheet would take for a formula written as text: a
/// leading apostrophe (OWASP's advice against CSV injection). Counts never start with one of
/// those characters (they are never negative), so only text cells change; the header is
/// sharelog's own. JSON and Parquet keep the text as it is.
pub(crate) fn neutralise(csv: &[u8]) -> Result<Vec<u8>> {
    rewrite(csv, |i, record| {
        if i == 0 {
            return record;
        }
        record
            .iter()
            .map(|cell| {
                if cell.starts_with(FORMULA_STARTS) {
                    format!("'{cell}")
                } else {
                    cell.to_owned()
                }
            })
            .collect()
    })
}

fn csv_error(e: csv::Error) -> Error {
    Error::Internal(format!("writing CSV failed: {e}"))
}

/// Parquet with one typed column per dictionary column: integers as Int64, dates as Date,
/// date-times as UTC microseconds, everything else (lists too, joined by `;`) as strings. Empty
/// cells (suppressed or not applicable) are nulls. Zstd-compressed, one row group, no timestamps,
/// so the bytes depend only on the rows.
pub(crate) fn parquet<T: Serialize>(rows: &[T], doc: &TableDoc) -> Result<Vec<u8>> {
    use polars::prelude::*;

    let values: Vec<serde_json::Value> = rows
        .iter()
        .map(serde_json::to_value)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::Internal(format!("writing Parquet failed: {e}")))?;
    let cell = |row: &serde_json::Value, name: &str| -> Option<String> {
        match row.get(name)? {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) if s.is_empty() => None,
            serde_json::Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    };
    let mut columns = Vec::with_capacity(doc.columns.len());
    for c in &doc.columns {
        let name = PlSmallStr::from_static(c.name);
        let texts: Vec<Option<String>> = values.iter().map(|r| cell(r, c.name)).collect();
        let column = match c.kind {
            Type::Integer => {
                let ints: Vec<Option<i64>> = texts
                    .iter()
                    .map(|t| t.as_deref().and_then(|t| t.parse().ok()))
                    .collect();
                Column::new(name, ints)
            }
            Type::Date => {
                let days: Vec<Option<i32>> = texts
                    .iter()
                    .map(|t| {
                        t.as_deref()
                            .and_then(crate::time::parse_date)
                            .and_then(|d| {
                                let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
                                i32::try_from((d - epoch).num_days()).ok()
                            })
                    })
                    .collect();
                Column::new(name, days)
                    .cast(&DataType::Date)
                    .map_err(parquet_error)?
            }
            Type::Datetime => {
                let micros: Vec<Option<i64>> = texts
                    .iter()
                    .map(|t| {
                        t.as_deref()
                            .and_then(crate::time::parse_instant)
                            .map(|i| i.timestamp_micros())
                    })
                    .collect();
                Column::new(name, micros)
                    .cast(&DataType::Datetime(
                        TimeUnit::Microseconds,
                        Some(TimeZone::UTC),
                    ))
                    .map_err(parquet_error)?
            }
            // Lists stay `;`-joined text as in the CSV and JSON: pyarrow cannot turn the list of
            // string views polars writes into pandas objects.
            Type::String | Type::Yearmonth | Type::List => Column::new(name, texts),
        };
        columns.push(column);
    }
    let mut df = DataFrame::new(values.len(), columns).map_err(parquet_error)?;
    let mut out = Vec::new();
    ParquetWriter::new(&mut out)
        .with_compression(ParquetCompression::Zstd(None))
        .with_statistics(StatisticsOptions::full())
        .finish(&mut df)
        .map_err(parquet_error)?;
    Ok(out)
}

fn parquet_error(e: polars::error::PolarsError) -> Error {
    Error::Internal(format!("writing Parquet failed: {e}"))
}

/// Every table as `data/<name>.{csv,json,parquet}`, then all of them in `data/report.xlsx`
/// and `data/report.sqlite` (tables in the data page's order, then the dictionary).
pub(crate) fn add_downloads(
    site: &mut Site,
    report: &crate::model::Report,
    t: &Tables<Count>,
    findings: &[PublishedFinding],
    totals: &[ItemTotalRow],
    files: &[ShippedFileRow],
    o: Output<'_>,
) -> Result<()> {
    let mut written = vec![
        add_table(site, dictionary::shared_items(), &t.shared_items, o)?,
        add_table(site, dictionary::item_totals(), totals, o)?,
        add_table(site, dictionary::shipped_files(), files, o)?,
        add_table(site, dictionary::exports(), &t.exports, o)?,
        add_table(site, dictionary::partners(), &t.partners, o)?,
        add_table(site, dictionary::opt_outs_monthly(), &t.opt_outs_monthly, o)?,
        add_table(site, dictionary::opt_out_scopes(), &t.scopes, o)?,
        add_table(site, dictionary::protections_monthly(), &t.protections, o)?,
        add_table(site, dictionary::deletions(), &t.deletions, o)?,
        add_table(
            site,
            dictionary::deletions_by_export(),
            &t.deletions_by_export,
            o,
        )?,
        add_table(site, dictionary::findings(), findings, o)?,
    ];
    let order: Vec<&str> = dictionary::all().iter().map(|d| d.name).collect();
    written.sort_by_key(|w| order.iter().position(|n| *n == w.doc.name));
    site.add(
        WORKBOOK,
        workbook::xlsx(&written, &report.meta.title, report.meta.published)?,
    );
    site.add(DATABASE, workbook::sqlite(&written)?);
    Ok(())
}

/// The workbook with every table, under the site's root.
pub(crate) const WORKBOOK: &str = "data/report.xlsx";
/// The SQLite database with every table.
pub(crate) const DATABASE: &str = "data/report.sqlite";

/// How the tables are written: an auditor's build, or with some tables banded.
#[derive(Clone, Copy)]
pub(crate) struct Output<'a> {
    pub(crate) rules: &'a Rules,
    /// Whether any count may be hidden (see `Publication::hides_any`).
    pub(crate) hides_any: bool,
}

impl Output<'_> {
    /// The bands `table` is written in by this build, if any.
    fn bands(&self, table: &str) -> Option<&Bands> {
        self.rules.bands_for(table)
    }

    /// An auditor's build.
    fn exact(&self) -> bool {
        self.rules.is_auditor()
    }
}

/// A table's dictionary entry as this build writes it: no column is suppressed in an auditor's
/// build, nor with `min_count: 1` unless a count was hidden to protect a band.
pub(crate) fn doc_for(doc: dictionary::TableDoc, o: Output<'_>) -> dictionary::TableDoc {
    if o.exact() {
        return dictionary::marked(dictionary::exact(doc));
    }
    let doc = match o.bands(doc.name) {
        Some(b) => dictionary::banded(doc, b.width),
        None => doc,
    };
    if !o.hides_any {
        dictionary::exact(doc)
    } else {
        doc
    }
}

/// A row of an auditor's build: the row's fields, then the "not for publication" mark.
#[derive(serde::Serialize)]
struct Marked<'a, T> {
    #[serde(flatten)]
    row: &'a T,
    not_for_publication: &'static str,
}

/// One published table as `data/<name>.csv` (with the dictionary's header), `.json` and
/// `.parquet`; in an auditor's build every row ends with the "not for publication" mark.
fn add_table<T: serde::Serialize>(
    site: &mut Site,
    doc: dictionary::TableDoc,
    rows: &[T],
    o: Output<'_>,
) -> Result<Written> {
    if o.bands(doc.name).is_some() {
        let doc = doc_for(doc, o);
        let rows = banded_rows(rows, &doc)?;
        site.add(
            format!("data/{}.csv", doc.name),
            neutralise(&csv_ordered(&rows, &doc.header())?)?,
        );
        site.add(format!("data/{}.json", doc.name), json(&rows)?);
        site.add(format!("data/{}.parquet", doc.name), parquet(&rows, &doc)?);
        return written(&doc, &rows);
    }
    if o.exact() {
        let doc = doc_for(doc, o);
        let marked: Vec<Marked<'_, T>> = rows
            .iter()
            .map(|row| Marked {
                row,
                not_for_publication: dictionary::NOT_FOR_PUBLICATION_TEXT,
            })
            .collect();
        let csv = csv(rows, &doc.header()[..doc.columns.len() - 1])?;
        site.add(
            format!("data/{}.csv", doc.name),
            neutralise(&append_column(
                &csv,
                dictionary::NOT_FOR_PUBLICATION,
                dictionary::NOT_FOR_PUBLICATION_TEXT,
            )?)?,
        );
        site.add(format!("data/{}.json", doc.name), json(&marked)?);
        site.add(
            format!("data/{}.parquet", doc.name),
            parquet(&marked, &doc)?,
        );
        return written(&doc, &marked);
    }
    site.add(
        format!("data/{}.csv", doc.name),
        neutralise(&csv(rows, &doc.header())?)?,
    );
    site.add(format!("data/{}.json", doc.name), json(rows)?);
    site.add(format!("data/{}.parquet", doc.name), parquet(rows, &doc)?);
    written(&doc_for(doc, o), rows)
}

/// A table as written, its rows as JSON objects (for the workbook and the database).
fn written<T: Serialize>(doc: &TableDoc, rows: &[T]) -> Result<Written> {
    Ok(Written {
        doc: doc.clone(),
        rows: rows
            .iter()
            .map(serde_json::to_value)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::Internal(format!("writing a table failed: {e}")))?,
    })
}
