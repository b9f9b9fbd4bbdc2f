//! Reading table files (CSV, Parquet, NDJSON) with polars, shared by the listings and the ledger:
//! the lazy scan, instants as UTC microseconds, and the second pass that locates bad rows.

use chrono::Datelike;
use polars::prelude::*;

use super::columns::{FLAGS, ITEM_ID, OWNER_ID};
use crate::error::Problem;
use crate::model::{TableFile, TableFormat};

/// The row index column of a second pass over bad rows.
pub(crate) const ROW: &str = "__row";
/// How many bad rows of one file are listed one by one.
pub(crate) const MAX_ROW_PROBLEMS: u32 = 20;

/// Scans a table file lazily; CSV columns are all read as text so that every check sees the raw value.
pub(crate) fn scan(table: &TableFile) -> PolarsResult<LazyFrame> {
    with_hive(scan_file(table)?, table)
}

/// A CSV file up to this size is read whole by [`scan_listing`]; a larger one is scanned.
const READ_WHOLE_MAX: u64 = 512 << 20;
/// How many rows [`scan_listing`] looks at to decide how an id column is read.
const SNIFF_ROWS: usize = 100;

/// A listing as [`scan`] reads it, faster for CSV. A CSV file (up to 512 MiB) is read whole
/// with polars' parallel reader, and only its `columns` when given (the lazy scan counts its
/// lines on one thread first, and parsed each file twice: for the counts and for the owners).
/// In a file without quote characters, its `item_id` and `owner_id` are read as 64-bit
/// integers when its first rows hold nothing but integers there: an id is compared by value
/// (see [`super::ids`]), and a text id that is an integer (`+0012`) is that integer, so this
/// reads every id the way the text does. Its flags are read as booleans when its first rows
/// hold nothing but `true` and `false` words there (in any letter case, as the text is read).
/// Any other value (`12.0`, ` 12 `, `ab`, beyond 2^63; `1` or `yes` as a flag) fails that read,
/// and the file is read again with its ids alone typed, then as text. Whatever fails to read
/// this way is scanned as [`scan`] does, so errors read the same.
///
/// With `kept`, a file read whole keeps its owner column there, and a later read of the owner
/// column alone takes it from there instead of parsing the file again.
pub(crate) fn scan_listing(
    table: &TableFile,
    columns: Option<&[&str]>,
    kept: Option<&KeptOwners>,
) -> PolarsResult<LazyFrame> {
    if table.format != TableFormat::Csv
        || !std::fs::metadata(&table.path).is_ok_and(|m| m.len() <= READ_WHOLE_MAX)
    {
        return scan(table);
    }
    if columns == Some(&[OWNER_ID])
        && let Some(column) = kept.and_then(|k| k.take(table))
    {
        return with_hive(DataFrame::new(column.len(), vec![column])?.lazy(), table);
    }
    let read = |rows: Option<usize>, typed: &[(&str, DataType)], columns: Option<&[&str]>| {
        let overwrite = (!typed.is_empty()).then(|| {
            Arc::new(Schema::from_iter(
                typed
                    .iter()
                    .map(|(c, dtype)| Field::new((*c).into(), dtype.clone())),
            ))
        });
        CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .with_n_rows(rows)
            .with_schema_overwrite(overwrite)
            .with_columns(columns.map(|c| c.iter().map(|s| PlSmallStr::from(*s)).collect()))
            .try_into_reader_with_file_path(Some(table.path.clone()))?
            .finish()
    };
    let unquoted = unquoted(&table.path);
    let whole = || -> PolarsResult<DataFrame> {
        if !unquoted {
            return read(None, &[], columns);
        }
        let first = read(Some(SNIFF_ROWS), &[], None)?;
        let wanted = |c: &&str| columns.is_none_or(|cs| cs.contains(c));
        let ids: Vec<(&str, DataType)> = [ITEM_ID, OWNER_ID]
            .into_iter()
            .filter(wanted)
            .filter(|c| first.column(c).is_ok_and(plain_integers))
            .map(|c| (c, DataType::Int64))
            .collect();
        let flags: Vec<(&str, DataType)> = FLAGS
            .into_iter()
            .filter(wanted)
            .filter(|c| first.column(c).is_ok_and(boolean_words))
            .map(|c| (c, DataType::Boolean))
            .collect();
        // Ids and flags typed, then ids alone, then all text: a later row that the typed
        // reader refuses (`1` as a flag, `12.0` as an id) fails the read, and the next is tried.
        let both = [ids.as_slice(), flags.as_slice()].concat();
        let mut tries = vec![both.as_slice()];
        if !flags.is_empty() {
            tries.push(ids.as_slice());
        }
        for typed in tries {
            if !typed.is_empty()
                && let Ok(df) = read(None, typed, columns)
            {
                return Ok(df);
            }
        }
        read(None, &[], columns)
    };
    match std::panic::catch_unwind(whole) {
        Ok(Ok(df)) => {
            if let (None, Some(kept), Ok(owners)) = (columns, kept, df.column(OWNER_ID)) {
                kept.keep(table, owners);
            }
            with_hive(df.lazy(), table)
        }
        _ => scan(table),
    }
}

/// Owner columns of CSV listings read whole for their counts, kept for the owners pass (which
/// would parse each file a second time for them), up to [`KEPT_MAX`] bytes in all; one build's.
#[derive(Default)]
pub(crate) struct KeptOwners(
    std::sync::Mutex<(std::collections::HashMap<std::path::PathBuf, Column>, usize)>,
);

/// How much [`KeptOwners`] holds at most: 10M integer ids are 80 MB.
const KEPT_MAX: usize = 256 << 20;

impl KeptOwners {
    fn keep(&self, table: &TableFile, owners: &Column) {
        let mut kept = super::lock(&self.0);
        // A file named by two manifests is read again for the second: its column once.
        if let Some(old) = kept.0.remove(&table.path) {
            kept.1 -= size(&old);
        }
        if kept.1 + size(owners) <= KEPT_MAX {
            kept.1 += size(owners);
            kept.0.insert(table.path.clone(), owners.clone());
        }
    }

    fn take(&self, table: &TableFile) -> Option<Column> {
        let mut kept = super::lock(&self.0);
        let column = kept.0.remove(&table.path)?;
        kept.1 -= size(&column);
        Some(column)
    }
}

fn size(column: &Column) -> usize {
    column.as_materialized_series().estimated_size()
}

/// Whether every cell of a text column is empty or an integer of at most 18 digits (which
/// polars' integer reader takes as written).
fn plain_integers(c: &Column) -> bool {
    let Ok(text) = c.str() else {
        return false;
    };
    text.iter().flatten().all(|v| {
        let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
        !digits.is_empty() && digits.len() <= 18 && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Whether a file holds no quote character at all (read in pieces; `false` when it cannot be
/// read). Polars' integer and boolean CSV readers take a quoted field's first and last bytes off
/// without checking that the last is a quote, so a file that ends inside a quote never closed
/// (`…,"12` or `…,"true`) would read as if it were closed, where its text reader refuses it:
/// [`scan_listing`] reads ids and flags typed only from a file without quotes.
fn unquoted(path: &std::path::Path) -> bool {
    use std::io::Read;
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => return true,
            Ok(n) if memchr::memchr(b'"', &buffer[..n]).is_some() => return false,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

/// Whether every cell of a text column is empty or `true` or `false` in any letter case: what
/// polars' boolean reader takes, and reads as sharelog's flags read those words.
fn boolean_words(c: &Column) -> bool {
    let Ok(text) = c.str() else {
        return false;
    };
    text.iter()
        .flatten()
        .all(|v| v.is_empty() || v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"))
}

fn with_hive(mut lf: LazyFrame, table: &TableFile) -> PolarsResult<LazyFrame> {
    if table.hive.is_empty() {
        return Ok(lf);
    }
    // Hive partition values (`year=2023/part-0.parquet`) are the columns the part does not hold.
    let schema = lf.collect_schema()?;
    let mut columns = Vec::new();
    for (name, value) in &table.hive {
        if schema.get(name).is_some() {
            polars_bail!(ComputeError: "column `{name}` is both in the file and in {HIVE_CONFLICT} `{name}=…`");
        }
        let value = match value {
            Some(v) => lit(v.as_str()),
            None => lit(NULL).cast(DataType::String),
        };
        columns.push(value.alias(name.as_str()));
    }
    Ok(lf.with_columns(columns))
}

fn scan_file(table: &TableFile) -> PolarsResult<LazyFrame> {
    let path = PlRefPath::try_from_path(&table.path)?;
    match table.format {
        TableFormat::Csv => LazyCsvReader::new(path)
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .with_glob(false)
            .finish(),
        // The path is one file, read as it is: no glob expansion of its name, and no columns
        // from `key=value` folders it lies in (sharelog gives a part's hive columns itself, and
        // only from folders under the manifest's).
        TableFormat::Parquet => LazyFrame::scan_parquet(
            path,
            ScanArgsParquet {
                hive_options: polars::io::HiveOptions::new_disabled(),
                glob: false,
                ..ScanArgsParquet::default()
            },
        ),
        // Every row decides the column types, so that an id written as a float (or as text)
        // far down the file is read as the README says, not refused by a guess from the first
        // rows.
        TableFormat::Ndjson => LazyJsonLineReader::new(path)
            .with_infer_schema_length(None)
            .finish(),
    }
}

/// Runs `read` on `table`, turning a panic inside polars into a problem naming the file: its
/// readers panic on some damaged files (a Parquet footer with a broken field, found by fuzzing),
/// and bad input must never end the process.
pub(crate) fn guarded<T>(
    table: &TableFile,
    read: impl FnOnce() -> Result<T, Vec<Problem>>,
) -> Result<T, Vec<Problem>> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)) {
        Ok(result) => result,
        Err(payload) => {
            let detail = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let kind = kind(table);
            Err(vec![
                Problem::new(
                    &table.display,
                    format!("cannot be read as {kind}: the reader failed on it ({detail})"),
                )
                .help(format!(
                    "check that the file is complete, valid {kind}; write it again from its source"
                )),
            ])
        }
    }
}

fn kind(table: &TableFile) -> &'static str {
    match table.format {
        TableFormat::Csv => "CSV",
        TableFormat::Parquet => "Parquet",
        TableFormat::Ndjson => "NDJSON",
    }
}

/// How [`scan`]'s error for a hive column the part also holds ends, so that its help says what to do.
const HIVE_CONFLICT: &str = "the name of a folder it lies in";

/// A problem naming the file for a polars error (polars' own messages do not name it).
pub(crate) fn read_problem(table: &TableFile, e: &PolarsError) -> Problem {
    let kind = kind(table);
    let detail = e.to_string();
    let detail = detail.lines().next().unwrap_or("").trim().to_owned();
    if detail.contains(HIVE_CONFLICT) {
        return Problem::new(&table.display, detail.replace("computation failed: ", ""))
            .help("write the column either in the part files or in the folder names (hive partitioning), not both");
    }
    Problem::new(
        &table.display,
        format!("cannot be read as {kind}: {detail}"),
    )
    .help(format!("check that the file is complete, valid {kind}"))
}

/// A problem per required column the table lacks.
pub(crate) fn missing_columns(
    table: &TableFile,
    schema: &Schema,
    required: &[&str],
) -> Vec<Problem> {
    required
        .iter()
        .filter(|c| schema.get(c).is_none())
        .map(|c| {
            let p = Problem::new(&table.display, format!("missing column `{c}`")).help(format!(
                "the columns are {} and optionally {}",
                required.join(", "),
                FLAGS.join(", ")
            ));
            if table.format == TableFormat::Csv {
                p.at(1, None)
            } else {
                p
            }
        })
        .collect()
}

/// A date or datetime column → UTC microseconds since the epoch (Int64), null where it cannot be
/// read. Text goes through [`crate::time::parse_instant`], so every format reads the same way.
pub(crate) fn instant_expr(name: &str, dtype: &DataType) -> Option<Expr> {
    let int64 = |_: &Schema, f: &Field| Ok(Field::new(f.name().clone(), DataType::Int64));
    match dtype {
        DataType::String => Some(col(name).map(micros_from_text, int64)),
        DataType::Date => Some(col(name).cast(DataType::Int64) * lit(MICROS_PER_DAY)),
        // The physical value of a datetime is UTC whatever its zone.
        DataType::Datetime(TimeUnit::Microseconds, _) => Some(col(name).cast(DataType::Int64)),
        // Other units go through a closure: polars' floor division needs a feature sharelog does
        // not build with (it panics without it).
        DataType::Datetime(unit, _) => {
            let unit = *unit;
            Some(
                col(name)
                    .cast(DataType::Int64)
                    .map(move |c| micros_from_epoch(c, unit), int64),
            )
        }
        // A column with no values at all (every cell empty) reads as null: every row is missing.
        DataType::Null => Some(lit(NULL).cast(DataType::Int64)),
        _ => None,
    }
}

/// Microseconds in a day.
pub(crate) const MICROS_PER_DAY: i64 = 86_400_000_000;

fn micros_from_text(c: Column) -> PolarsResult<Column> {
    let micros = |text: &StringChunked| -> Int64Chunked {
        text.iter()
            .map(|v| {
                v.and_then(crate::time::parse_instant)
                    .map(|d| d.timestamp_micros())
            })
            .collect()
    };
    let out = in_slices(c.str()?, micros)?;
    Ok(out.with_name(c.name().clone()).into_column())
}

/// `f` over slices of `text` on every core, the results in order: for the per-row parsing of a
/// whole column (a CSV listing's every `created_at`), which one expression would run on one.
pub(crate) fn in_slices<T: PolarsNumericType>(
    text: &StringChunked,
    f: impl Fn(&StringChunked) -> ChunkedArray<T> + Sync,
) -> PolarsResult<ChunkedArray<T>>
where
    ChunkedArray<T>: Send,
{
    use rayon::prelude::*;
    const SLICE: usize = 1 << 16;
    let n = text.len();
    let slices = n.div_ceil(SLICE).clamp(1, rayon::current_num_threads() * 4);
    let mut parts: Vec<ChunkedArray<T>> = (0..slices)
        .into_par_iter()
        .map(|i| {
            let (from, to) = (n * i / slices, n * (i + 1) / slices);
            f(&text.slice(from as i64, to - from))
        })
        .collect();
    let mut out = parts.remove(0);
    for part in &parts {
        out.append(part)?;
    }
    Ok(out)
}

fn micros_from_epoch(c: Column, unit: TimeUnit) -> PolarsResult<Column> {
    let out: Int64Chunked = c
        .i64()?
        .iter()
        .map(|v| {
            v.map(|v| match unit {
                TimeUnit::Nanoseconds => v.div_euclid(1000),
                TimeUnit::Microseconds => v,
                TimeUnit::Milliseconds => v.saturating_mul(1000),
            })
        })
        .collect();
    Ok(out.with_name(c.name().clone()).into_column())
}

/// UTC microseconds → the UTC year (Int32).
pub(crate) fn utc_year(micros: Expr) -> Expr {
    utc_date_part(micros, |d| d.year())
}

/// UTC microseconds → a month number, `year * 12 + month - 1` (Int32), for grouping by month.
pub(crate) fn utc_month(micros: Expr) -> Expr {
    utc_date_part(micros, |d| d.year() * 12 + d.month0() as i32)
}

/// A small table a manifest declares (counts, figures), read with every column as text.
pub(crate) struct TextCells<'a> {
    table: &'a TableFile,
    df: DataFrame,
}

impl<'a> TextCells<'a> {
    /// `columns` of `lf` (a scan of `table`), cast to text.
    pub(crate) fn read(
        table: &'a TableFile,
        lf: LazyFrame,
        columns: &[&str],
    ) -> Result<Self, Vec<Problem>> {
        let df = lf
            .select(
                columns
                    .iter()
                    .map(|c| col(*c).cast(DataType::String))
                    .collect::<Vec<_>>(),
            )
            .collect()
            .map_err(|e| vec![read_problem(table, &e)])?;
        Ok(TextCells { table, df })
    }

    /// How many rows.
    pub(crate) fn height(&self) -> usize {
        self.df.height()
    }

    /// Row `i`'s cell of column `name`, without surrounding spaces; `None` when null or absent.
    pub(crate) fn cell(&self, name: &str, i: usize) -> Option<String> {
        self.df
            .column(name)
            .ok()?
            .str()
            .ok()?
            .get(i)
            .map(|s| s.trim().to_owned())
    }

    /// `p` located at row `i`: its line for CSV, its row number otherwise.
    pub(crate) fn place(&self, i: usize, p: Problem) -> Problem {
        match self.table.format {
            TableFormat::Csv => p.at(i as u64 + 2, None),
            _ => p.row(i as u64 + 1),
        }
    }
}

/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01.
pub(crate) const UNIX_EPOCH_FROM_CE: i64 = 719_163;

/// `part` of the UTC date of each instant (null beyond chrono's range). The date comes from its
/// day number (chrono's constant-time conversion), not through a datetime per value, which
/// walks the calendar and took a tenth of a build's time on tens of millions of rows.
fn utc_date_part(micros: Expr, part: fn(chrono::NaiveDate) -> i32) -> Expr {
    let date_part = move |c: Column| -> PolarsResult<Column> {
        let out: Int32Chunked = c
            .i64()?
            .iter()
            .map(|v| {
                let day = v?.div_euclid(MICROS_PER_DAY) + UNIX_EPOCH_FROM_CE;
                chrono::NaiveDate::from_num_days_from_ce_opt(i32::try_from(day).ok()?).map(part)
            })
            .collect();
        Ok(out.with_name(c.name().clone()).into_column())
    };
    micros
        .cast(DataType::Int64)
        .map(date_part, |_: &Schema, f: &Field| {
            Ok(Field::new(f.name().clone(), DataType::Int32))
        })
}

/// The bad rows a second pass fetched (with their `__row` index): typed access to their cells,
/// their place in the file, and the note for rows beyond the listed ones. Shared by listings and
/// the ledger.
pub(crate) struct BadRows<'a> {
    pub(crate) table: &'a TableFile,
    pub(crate) df: DataFrame,
}

impl BadRows<'_> {
    /// How many rows were fetched.
    pub(crate) fn len(&self) -> usize {
        self.df.height()
    }

    /// A text cell (empty when null).
    pub(crate) fn text(&self, name: &str, i: usize) -> String {
        self.df
            .column(name)
            .ok()
            .and_then(|c| c.str().ok()?.get(i).map(str::to_owned))
            .unwrap_or_default()
    }

    /// A boolean cell (false when null).
    pub(crate) fn flag(&self, name: &str, i: usize) -> bool {
        self.df
            .column(name)
            .ok()
            .and_then(|c| c.bool().ok()?.get(i))
            .unwrap_or(false)
    }

    /// A problem about row `i` of the file: its line for CSV and NDJSON, its row number for Parquet.
    pub(crate) fn problem(&self, i: usize, message: String) -> Problem {
        let row = self
            .df
            .column(ROW)
            .ok()
            .and_then(|c| c.idx().ok()?.get(i))
            .unwrap_or(0) as u64;
        let p = Problem::new(&self.table.display, message);
        match self.table.format {
            TableFormat::Csv => p.at(row + 2, None),
            TableFormat::Ndjson => p.at(row + 1, None),
            TableFormat::Parquet => p.row(row + 1),
        }
    }

    /// "N more bad rows not listed", when there are more than were fetched.
    pub(crate) fn more(&self, bad: u64) -> Option<Problem> {
        let listed = self.len() as u64;
        (bad > listed).then(|| {
            Problem::new(
                &self.table.display,
                format!(
                    "{} more bad {} not listed",
                    bad - listed,
                    crate::noun(bad - listed, "row", "rows")
                ),
            )
            .help("fix the rows above and run `sharelog check` again to see the rest")
            .summary()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::ids::{TextId, classify};

    /// A CSV listing `name` in `dir`: `header`, `rows` rows as `row` writes them, and `last`
    /// as it is (no newline added).
    fn csv_listing(
        dir: &std::path::Path,
        name: &str,
        header: &str,
        rows: usize,
        row: impl Fn(usize) -> String,
        last: &str,
    ) -> TableFile {
        let mut body = format!("{header}\n");
        for n in 0..rows {
            body.push_str(&row(n));
            body.push('\n');
        }
        body.push_str(last);
        let path = dir.join(name);
        std::fs::write(&path, body).unwrap_or_else(|e| panic!("{e}"));
        TableFile {
            path,
            display: name.to_owned(),
            format: TableFormat::Csv,
            hive: Vec::new(),
        }
    }

    /// A scan's rows, or a panic naming `case`.
    fn collected(lf: PolarsResult<LazyFrame>, case: &str) -> DataFrame {
        lf.and_then(LazyFrame::collect)
            .unwrap_or_else(|e| panic!("{case:?}: {e}"))
    }

    /// A CSV listing read whole takes its ids as integers only where every id reads as that
    /// integer's text would: any value the integer reader takes is the value the text compares
    /// as; any other sends the file to the text reader. Each value comes after more rows of
    /// plain integers than the first look at the file sees.
    #[test]
    fn csv_ids_read_as_integers_only_where_the_text_reads_the_same() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let cases = [
            "12",
            "+12",
            "-12",
            "0012",
            "-0",
            "+0",
            "000",
            " 12",
            "12 ",
            "\"12\"",
            "\" 12\"",
            "12.0",
            "1e3",
            "0x10",
            "+-1",
            "-+1",
            "--1",
            "+",
            "-",
            "1_000",
            "\u{663}",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "00000000000000000000000000012",
            "",
        ];
        let (mut typed, mut text) = (0, 0);
        for (i, case) in cases.iter().enumerate() {
            let table = csv_listing(
                dir.path(),
                &format!("l{i}.csv"),
                "item_id,owner_id",
                SNIFF_ROWS + 50,
                |row| format!("{row},7"),
                &format!("999,{case}\n"),
            );
            let df = collected(scan_listing(&table, None, None), case);
            let reference = collected(scan(&table), case);
            let owners = df.column(OWNER_ID).unwrap_or_else(|e| panic!("{e}"));
            let raw = reference
                .column(OWNER_ID)
                .and_then(|c| Ok(c.str()?.get(SNIFF_ROWS + 50).map(str::to_owned)))
                .unwrap_or_else(|e| panic!("{e}"));
            if owners.dtype() == &DataType::Int64 {
                typed += 1;
                let got = owners.i64().ok().and_then(|c| c.get(SNIFF_ROWS + 50));
                let want = match raw.as_deref().map(classify) {
                    Some(TextId::Whole(digits)) => digits.parse::<i64>().ok(),
                    None | Some(TextId::Empty) => None,
                    other => panic!("{case:?} read as an integer {got:?}, its text as {other:?}"),
                };
                assert_eq!(got, want, "{case:?}");
            } else {
                text += 1;
                assert_eq!(owners.dtype(), &DataType::String, "{case:?}");
                assert_eq!(
                    owners.str().ok().and_then(|c| c.get(SNIFF_ROWS + 50)),
                    raw.as_deref(),
                    "{case:?}"
                );
            }
        }
        assert!(typed >= 8 && text >= 8, "typed {typed}, text {text}");
    }

    /// A CSV listing's flags are read as booleans only where every flag reads as its text
    /// would: each value the boolean reader takes means what the text means, and any other
    /// sends the flags back to the text reader (the ids stay integers). Each value comes after
    /// more rows of plain words than the first look at the file sees.
    #[test]
    fn csv_flags_read_as_booleans_only_where_the_text_reads_the_same() {
        use crate::aggregate::listings::{FLAG_FALSE, FLAG_TRUE, flag_code};
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let cases = [
            "true",
            "false",
            "TRUE",
            "False",
            "tRuE",
            "fAlSe",
            "\"true\"",
            "\"FALSE\"",
            "\"\"",
            "",
            "1",
            "0",
            " true",
            "false ",
            "yes",
            "t",
            "truee",
            "\"tr\"\"ue\"",
            "\u{422}RUE",
            "tru\u{c9}",
            "2",
        ];
        let (mut typed, mut text) = (0, 0);
        for (i, case) in cases.iter().enumerate() {
            let table = csv_listing(
                dir.path(),
                &format!("f{i}.csv"),
                "item_id,owner_id,private",
                SNIFF_ROWS + 50,
                |row| format!("{row},7,{}", if row % 3 == 0 { "True" } else { "false" }),
                &format!("999,8,{case}\n"),
            );
            let df = collected(scan_listing(&table, None, None), case);
            let reference = collected(scan(&table), case);
            // A file with a quote is read as text (see `unquoted`).
            let owners = if case.contains('"') {
                DataType::String
            } else {
                DataType::Int64
            };
            assert_eq!(
                df.column(OWNER_ID).map(Column::dtype).ok(),
                Some(&owners),
                "{case:?}"
            );
            let flags = df.column("private").unwrap_or_else(|e| panic!("{e}"));
            let raw: Vec<Option<String>> = reference
                .column("private")
                .and_then(|c| Ok(c.str()?.iter().map(|v| v.map(str::to_owned)).collect()))
                .unwrap_or_else(|e| panic!("{e}"));
            // What the text means: a missing cell is false, as an empty one.
            let meant = |v: &Option<String>| v.as_deref().map_or(FLAG_FALSE, flag_code);
            if flags.dtype() == &DataType::Boolean {
                typed += 1;
                let got: Vec<Option<bool>> = flags
                    .bool()
                    .map(|c| c.iter().collect())
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(got.len(), raw.len(), "{case:?}");
                for (g, r) in got.iter().zip(&raw) {
                    let code = if g.unwrap_or(false) {
                        FLAG_TRUE
                    } else {
                        FLAG_FALSE
                    };
                    assert_eq!(code, meant(r), "{case:?} read as {g:?}, its text as {r:?}");
                }
            } else {
                text += 1;
                assert_eq!(flags.dtype(), &DataType::String, "{case:?}");
                let got: Vec<Option<String>> = flags
                    .str()
                    .map(|c| c.iter().map(|v| v.map(str::to_owned)).collect())
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(got, raw, "{case:?}");
            }
        }
        assert!(typed >= 6 && text >= 8, "typed {typed}, text {text}");
    }

    /// A CSV listing that ends inside a quote never closed is refused, as its text reader
    /// refuses it, whichever column the quote opens: never read as if the quote were closed
    /// (polars' typed readers take a quoted field's last byte off unchecked). Many rows before
    /// it, so that the first look at the file does not reach it.
    #[test]
    fn a_csv_listing_ending_inside_an_open_quote_is_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let cases = [
            ("item_id,owner_id,private", "{row},7,false", "999,8,\"true"),
            (
                "item_id,owner_id,private",
                "{row},7,TRUE",
                "999,8,\"false\n",
            ),
            ("item_id,owner_id,private", "{row},7,false", "999,8,\""),
            ("item_id,private,owner_id", "{row},false,7", "999,true,\"12"),
            (
                "item_id,private,owner_id",
                "{row},false,7",
                "999,true,\"123\n",
            ),
        ];
        for (i, (header, row, last)) in cases.iter().enumerate() {
            let table = csv_listing(
                dir.path(),
                &format!("q{i}.csv"),
                header,
                50_000,
                |n| row.replace("{row}", &n.to_string()),
                last,
            );
            assert!(
                scan(&table).and_then(LazyFrame::collect).is_err(),
                "{last:?}: the text reader refuses it"
            );
            let got = scan_listing(&table, None, None).and_then(LazyFrame::collect);
            assert!(got.is_err(), "{last:?} was read: {got:?}");
        }
    }

    #[test]
    fn years_and_months_from_day_numbers_agree_with_polars_datetimes() {
        // Instants around the epoch, leap days, year ends and far dates, and random ones; the
        // reference is polars' own datetime → year/month.
        let mut rng = crate::aggregate::TestRng(0x5eed_1234_abcd);
        let mut micros: Vec<Option<i64>> = vec![None, Some(0), Some(-1), Some(1)];
        for day in [
            -719_162, -1, 0, 59, 365, 10_956, 11_016, 11_017, 19_782, 2_932_896,
        ] {
            for offset in [-1, 0, 1, MICROS_PER_DAY - 1] {
                micros.push(Some(day * MICROS_PER_DAY + offset));
            }
        }
        micros.extend((0..5_000).map(|_| {
            Some(
                rng.below(200_000 * 366 * MICROS_PER_DAY as u64) as i64
                    - 100_000 * 366 * MICROS_PER_DAY,
            )
        }));
        let df = DataFrame::new_infer_height(vec![Column::new("t".into(), &micros)])
            .and_then(|df| {
                let dt = col("t").cast(DataType::Datetime(TimeUnit::Microseconds, None));
                df.lazy()
                    .select([
                        utc_year(col("t")).alias("year"),
                        utc_month(col("t")).alias("month"),
                        dt.clone().dt().year().alias("want_year"),
                        (dt.clone().dt().year() * lit(12) + dt.dt().month().cast(DataType::Int32)
                            - lit(1))
                        .alias("want_month"),
                    ])
                    .collect()
            })
            .expect("query");
        let get = |c: &str| df.column(c).expect(c).i32().expect(c).to_vec();
        assert_eq!(get("year"), get("want_year"));
        assert_eq!(get("month"), get("want_month"));
        assert_eq!(get("year")[0], None);
    }
}
