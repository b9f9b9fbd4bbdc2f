//! `sharelog diff OLD NEW`: what changed between two built sites (or two report roots): export
//! batches added or removed, items per partner, category and year, findings new or resolved.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Cursor;
use std::path::Path;

use polars::prelude::*;

use crate::error::{Error, Problem, Result};
use crate::render::format::thousands;

/// The published data of one side: `data/*` file name → bytes.
pub struct Side {
    /// What the side was given as, for the heading.
    pub label: String,
    files: BTreeMap<String, Vec<u8>>,
}

/// Reads a side: a built site (a folder with `data/shared-items.csv`) or a report root (a folder
/// with `report.yaml`, built in memory).
pub fn read_side(path: &Path) -> Result<Side> {
    let label = path.display().to_string();
    let mut files = BTreeMap::new();
    if path.join("report.yaml").is_file() {
        let (site, _) = crate::render_site(path)?;
        for (name, bytes) in site.files {
            if let Some(rest) = name.strip_prefix("data/") {
                files.insert(rest.to_owned(), bytes);
            }
        }
    } else if path.join("data/shared-items.csv").is_file() {
        let dir = path.join("data");
        let entries = std::fs::read_dir(&dir).map_err(|e| crate::fs::io_error(&dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| crate::fs::io_error(&dir, e))?;
            let file = entry.path();
            if file.is_dir() {
                continue;
            }
            // A FIFO or device would block or never end: an error naming it, like a file that
            // cannot be read.
            let bytes = crate::fs::read_regular(&file, 1 << 30, true)
                .map_err(|e| crate::fs::io_error(&file, e))?;
            files.insert(entry.file_name().to_string_lossy().into_owned(), bytes);
        }
        // A site without one of its main tables is not one to compare: its rows would all
        // look added or removed.
        for table in ["exports.csv", "shared-items.csv", "findings.csv"] {
            if !files.contains_key(table) {
                return Err(crate::fs::io_error(
                    &dir.join(table),
                    std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "a built site has this table",
                    ),
                ));
            }
        }
    } else {
        return Err(Error::invalid(vec![
            Problem::new(&label, "is neither a built site nor a report root")
                .help("name a folder that `sharelog build` wrote (it has data/shared-items.csv), or a report root (it has report.yaml)"),
        ]));
    }
    Ok(Side { label, files })
}

impl Side {
    /// A side from a site's `data/` files, already read (`name` → bytes, names without `data/`).
    pub(crate) fn from_files(label: String, files: BTreeMap<String, Vec<u8>>) -> Side {
        Side { label, files }
    }

    /// A side from a site rendered in memory.
    pub(crate) fn from_site(label: String, site: &crate::render::Site) -> Side {
        let files = site
            .files
            .iter()
            .filter_map(|(name, bytes)| {
                let rest = name.strip_prefix("data/")?;
                (!rest.contains('/')).then(|| (rest.to_owned(), bytes.clone()))
            })
            .collect();
        Side { label, files }
    }
}

/// Output format of `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Plain text for a terminal or a log.
    Text,
    /// Markdown for a pull-request comment.
    Markdown,
}

/// One export batch as `exports.csv` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ExportLine {
    partner: String,
    exported_at: String,
    items: String,
}

/// (partner, category, year).
type CellKey = (String, String, String);
/// The sum of a cell's published counts, and whether any of them is suppressed (the sum is then
/// a lower bound).
type CellValue = (u64, bool);
/// Items per (partner, category, year).
type Cells = BTreeMap<CellKey, CellValue>;
/// A finding's key: (id, partner, export, flag).
type FindingKey = (String, String, String, String);
/// A finding's (severity, count, message, response date, response).
type FindingValue = (String, String, String, String, String);
type Findings = BTreeMap<FindingKey, FindingValue>;

/// Everything that differs.
#[derive(Debug, Default)]
pub struct Changes {
    added: Vec<(String, ExportLine)>,
    removed: Vec<(String, ExportLine)>,
    /// Batches in both whose published line changed: (id, old, new).
    changed: Vec<(String, ExportLine, ExportLine)>,
    cells: Vec<(CellKey, Option<CellValue>, Option<CellValue>)>,
    new_findings: Vec<(FindingKey, FindingValue)>,
    resolved: Vec<(FindingKey, FindingValue)>,
    /// Findings in both whose severity, count or response changed: (key, old, new).
    changed_findings: Vec<(FindingKey, FindingValue, FindingValue)>,
    /// Every published table that differs, cell by cell.
    tables: Vec<TableChange>,
}

/// How one published table changed, row by row: rows are matched by the table's key.
#[derive(Debug, Default)]
struct TableChange {
    /// The table's name, e.g. `shared-items`.
    name: String,
    /// Rows only in the new side: their key and cells.
    added: Vec<String>,
    /// Rows only in the old side.
    removed: Vec<String>,
    /// Rows in both whose cells differ: their key and each `column old → new`.
    changed: Vec<String>,
}

impl Changes {
    /// True when nothing differs.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.cells.is_empty()
            && self.new_findings.is_empty()
            && self.resolved.is_empty()
            && self.changed_findings.is_empty()
            && self.tables.is_empty()
    }
}

fn csv_records(side: &Side, name: &str) -> Result<Vec<BTreeMap<String, String>>> {
    let Some(bytes) = side.files.get(name) else {
        return Ok(Vec::new());
    };
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let headers = reader
        .headers()
        .map_err(|e| bad_table(side, name, &e.to_string()))?
        .clone();
    reader
        .records()
        .map(|r| {
            let r = r.map_err(|e| bad_table(side, name, &e.to_string()))?;
            Ok(headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect())
        })
        .collect()
}

fn bad_table(side: &Side, name: &str, detail: &str) -> Error {
    Error::invalid(vec![
        Problem::new(
            format!("{}/data/{name}", side.label),
            format!("cannot be read: {detail}"),
        )
        .help("compare two sites built by sharelog, or two report roots"),
    ])
}

fn exports(side: &Side) -> Result<BTreeMap<String, ExportLine>> {
    Ok(csv_records(side, "exports.csv")?
        .into_iter()
        .map(|r| {
            let get = |k: &str| r.get(k).cloned().unwrap_or_default();
            (
                get("export"),
                ExportLine {
                    partner: get("partner"),
                    exported_at: crate::time::display_instant(&get("exported_at")),
                    items: get("items"),
                },
            )
        })
        .collect())
}

/// Items per (partner, category, year) from `shared-items.csv`, summed with polars.
fn cells(side: &Side) -> Result<Cells> {
    let Some(bytes) = side.files.get("shared-items.csv") else {
        return Ok(Cells::new());
    };
    let fail = |e: PolarsError| bad_table(side, "shared-items.csv", &e.to_string());
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .into_reader_with_file_handle(Cursor::new(bytes.clone()))
        .finish()
        .map_err(fail)?;
    // SELECT partner, category, year, sum(items), bool_or(items IS NULL) AS suppressed
    // FROM shared_items GROUP BY partner, category, year
    let df = df
        .lazy()
        .group_by([col("partner"), col("category"), col("year")])
        .agg([
            col("items").cast(DataType::UInt64).sum().alias("items"),
            col("items").is_null().any(true).alias("suppressed"),
        ])
        .collect()
        .map_err(fail)?;
    let get = || -> PolarsResult<Cells> {
        let p = df.column("partner")?.str()?;
        let c = df.column("category")?.str()?;
        let y = df.column("year")?.str()?;
        let n = df.column("items")?.u64()?;
        let s = df.column("suppressed")?.bool()?;
        Ok((0..df.height())
            .map(|i| {
                let text = |ca: &StringChunked| ca.get(i).unwrap_or_default().to_owned();
                (
                    (text(p), text(c), text(y)),
                    (n.get(i).unwrap_or(0), s.get(i).unwrap_or(false)),
                )
            })
            .collect())
    };
    get().map_err(fail)
}

fn findings(side: &Side) -> Result<Findings> {
    Ok(csv_records(side, "findings.csv")?
        .into_iter()
        .map(|r| {
            let get = |k: &str| r.get(k).cloned().unwrap_or_default();
            (
                (get("id"), get("partner"), get("export"), get("flag")),
                (
                    get("severity"),
                    get("count"),
                    get("message"),
                    get("response_date"),
                    get("response"),
                ),
            )
        })
        .collect())
}

/// Compares two sides.
pub fn compare(old: &Side, new: &Side) -> Result<Changes> {
    let mut changes = Changes::default();
    let (a, b) = (exports(old)?, exports(new)?);
    for (id, line) in &b {
        if !a.contains_key(id) {
            changes.added.push((id.clone(), line.clone()));
        }
    }
    for (id, line) in &a {
        match b.get(id) {
            None => changes.removed.push((id.clone(), line.clone())),
            Some(other) if other != line => {
                changes
                    .changed
                    .push((id.clone(), line.clone(), other.clone()));
            }
            Some(_) => {}
        }
    }
    let (a, b) = (cells(old)?, cells(new)?);
    let keys: BTreeSet<_> = a.keys().chain(b.keys()).cloned().collect();
    for key in keys {
        let (x, y) = (a.get(&key).copied(), b.get(&key).copied());
        if x != y {
            changes.cells.push((key, x, y));
        }
    }
    let (a, b) = (findings(old)?, findings(new)?);
    for (key, v) in &b {
        if !a.contains_key(key) {
            changes.new_findings.push((key.clone(), v.clone()));
        }
    }
    for (key, v) in &a {
        match b.get(key) {
            None => changes.resolved.push((key.clone(), v.clone())),
            Some(w) if w != v => {
                changes
                    .changed_findings
                    .push((key.clone(), v.clone(), w.clone()));
            }
            Some(_) => {}
        }
    }
    // Every published table, cell by cell (findings have their own section above).
    let names: BTreeSet<&String> = old.files.keys().chain(new.files.keys()).collect();
    for name in names {
        let Some(table) = name.strip_suffix(".csv") else {
            continue;
        };
        if table == "findings" || old.files.get(name) == new.files.get(name) {
            continue;
        }
        let change = compare_table(table, &csv_records(old, name)?, &csv_records(new, name)?);
        if !(change.added.is_empty() && change.removed.is_empty() && change.changed.is_empty()) {
            changes.tables.push(change);
        }
    }
    Ok(changes)
}

/// The columns that identify a row of a published table: its primary key in the data
/// dictionary, or, for tables without one, the columns that group it.
fn key_columns(table: &str) -> Vec<&'static str> {
    match table {
        "item-totals" => vec!["grouping", "partner", "category", "year"],
        "opt-out-scopes" => vec!["scope", "partner"],
        _ => crate::render::dictionary::all()
            .into_iter()
            .find(|d| d.name == table)
            .map(|d| d.primary_key)
            .unwrap_or_default(),
    }
}

/// A cell as the site publishes it: `–` for an empty cell (suppressed, or not declared).
fn cell(v: &str) -> &str {
    if v.is_empty() { "–" } else { v }
}

/// Rows matched by key; every cell that differs is named with its old and new value.
fn compare_table(
    table: &str,
    old: &[BTreeMap<String, String>],
    new: &[BTreeMap<String, String>],
) -> TableChange {
    let keys = key_columns(table);
    let key_of = |r: &BTreeMap<String, String>| -> String {
        if keys.is_empty() {
            // No key: the whole row is its identity (changes show as removed and added).
            return r
                .iter()
                .map(|(k, v)| format!("{k}={}", cell(v)))
                .collect::<Vec<_>>()
                .join(" ");
        }
        keys.iter()
            .map(|k| format!("{k}={}", cell(r.get(*k).map_or("", String::as_str))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let index = |rows: &[BTreeMap<String, String>]| -> BTreeMap<String, BTreeMap<String, String>> {
        rows.iter().map(|r| (key_of(r), r.clone())).collect()
    };
    let (a, b) = (index(old), index(new));
    let values = |r: &BTreeMap<String, String>| -> String {
        r.iter()
            .filter(|(k, _)| !keys.contains(&k.as_str()))
            .map(|(k, v)| format!("{k} {}", cell(v)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut change = TableChange {
        name: table.to_owned(),
        ..TableChange::default()
    };
    for (key, row) in &b {
        if !a.contains_key(key) {
            change.added.push(format!("{key}: {}", values(row)));
        }
    }
    for (key, row) in &a {
        match b.get(key) {
            None => change.removed.push(format!("{key}: {}", values(row))),
            Some(other) => {
                let columns: BTreeSet<&String> = row.keys().chain(other.keys()).collect();
                let cells: Vec<String> = columns
                    .into_iter()
                    .filter_map(|c| {
                        let (x, y) = (
                            row.get(c).map_or("", String::as_str),
                            other.get(c).map_or("", String::as_str),
                        );
                        (x != y).then(|| format!("{c} {} → {}", cell(x), cell(y)))
                    })
                    .collect();
                if !cells.is_empty() {
                    change.changed.push(format!("{key}: {}", cells.join(", ")));
                }
            }
        }
    }
    change
}

/// How many lines of one list are printed before "and N more".
const MAX_LISTED: usize = 25;

fn count_text(value: Option<CellValue>) -> String {
    match value {
        None => "–".to_owned(),
        Some((n, false)) => thousands(n),
        Some((0, true)) => "suppressed".to_owned(),
        Some((n, true)) => format!("≥{}", thousands(n)),
    }
}

fn change_text(x: Option<CellValue>, y: Option<CellValue>) -> String {
    let delta = match (x, y) {
        (Some((a, false)), Some((b, false))) if b >= a => format!(" (+{})", thousands(b - a)),
        (Some((a, false)), Some((b, false))) => format!(" (−{})", thousands(a - b)),
        _ => String::new(),
    };
    format!("{} → {}{delta}", count_text(x), count_text(y))
}

/// Renders the changes.
pub fn render(old: &Side, new: &Side, c: &Changes, format: Format) -> String {
    let md = format == Format::Markdown;
    let mut out = String::new();
    let heading = |out: &mut String, text: &str| {
        if md {
            let _ = writeln!(out, "\n### {text}\n");
        } else {
            let _ = writeln!(out, "\n{text}");
        }
    };
    let item = |out: &mut String, text: &str| {
        let text = if md {
            markdown_text(text)
        } else {
            plain_text(text)
        };
        let _ = writeln!(out, "{} {text}", if md { "-" } else { " " });
    };
    // A line under an item: a nested list item in Markdown, indented in text.
    let sub_item = |out: &mut String, text: &str| {
        if md {
            let _ = writeln!(out, "  - {}", markdown_text(text));
        } else {
            let _ = writeln!(out, "    {}", plain_text(text));
        }
    };
    if md {
        let _ = writeln!(
            out,
            "## sharelog diff\n\n{} → {}",
            markdown_text(&old.label),
            markdown_text(&new.label)
        );
    } else {
        let _ = writeln!(
            out,
            "sharelog diff: {} -> {}",
            plain_text(&old.label),
            plain_text(&new.label)
        );
    }
    if c.is_empty() {
        let _ = writeln!(
            out,
            "{}No differences in the published data.",
            if md { "\n" } else { "" }
        );
        return out;
    }
    heading(
        &mut out,
        &format!(
            "Export batches: {} added, {} removed, {} changed",
            c.added.len(),
            c.removed.len(),
            c.changed.len()
        ),
    );
    for (id, e) in &c.added {
        item(
            &mut out,
            &format!(
                "+ {id} ({}, {}): {}",
                e.partner,
                e.exported_at,
                display_items(&e.items)
            ),
        );
    }
    for (id, e) in &c.removed {
        item(
            &mut out,
            &format!(
                "− {id} ({}, {}): {}",
                e.partner,
                e.exported_at,
                display_items(&e.items)
            ),
        );
    }
    for (id, a, b) in &c.changed {
        let mut what = Vec::new();
        if a.items != b.items {
            what.push(format!(
                "{} → {}",
                display_items(&a.items),
                display_items(&b.items)
            ));
        }
        if a.exported_at != b.exported_at {
            what.push(format!("exported {} → {}", a.exported_at, b.exported_at));
        }
        if a.partner != b.partner {
            what.push(format!("partner {} → {}", a.partner, b.partner));
        }
        item(&mut out, &format!("~ {id}: {}", what.join(", ")));
    }
    heading(
        &mut out,
        &format!(
            "Items per partner, category and year: {} changed",
            c.cells.len()
        ),
    );
    if md && !c.cells.is_empty() {
        let _ = writeln!(
            out,
            "| partner | category | year | items |\n|---|---|---|---|"
        );
        for ((p, cat, y), x, z) in c.cells.iter().take(MAX_LISTED) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                markdown_text(p),
                markdown_text(cat),
                markdown_text(y),
                change_text(*x, *z)
            );
        }
    } else {
        for ((p, cat, y), x, z) in c.cells.iter().take(MAX_LISTED) {
            item(&mut out, &format!("{p} {cat} {y}: {}", change_text(*x, *z)));
        }
    }
    if c.cells.len() > MAX_LISTED {
        let more = format!("and {} more", c.cells.len() - MAX_LISTED);
        if md {
            let _ = writeln!(out, "\n{more}");
        } else {
            item(&mut out, &more);
        }
    }
    heading(
        &mut out,
        &format!(
            "Findings: {} new, {} resolved, {} changed",
            c.new_findings.len(),
            c.resolved.len(),
            c.changed_findings.len()
        ),
    );
    for (sign, list) in [("+", &c.new_findings), ("−", &c.resolved)] {
        for (key, (severity, _, message, _, _)) in list {
            item(
                &mut out,
                &format!("{sign} {severity} {}: {message}", place(key)),
            );
        }
    }
    for (key, a, b) in &c.changed_findings {
        let mut what = Vec::new();
        if a.0 != b.0 {
            what.push(format!("severity {} → {}", a.0, b.0));
        }
        if a.1 != b.1 {
            what.push(format!("count {} → {}", cell(&a.1), cell(&b.1)));
        }
        if a.3 != b.3 {
            what.push(format!("response {} → {}", cell(&a.3), cell(&b.3)));
        }
        if a.4 != b.4 {
            what.push(format!("response text {} → {}", quoted(&a.4), quoted(&b.4)));
        }
        if a.2 != b.2 {
            what.push(format!("sentence {} → {}", quoted(&a.2), quoted(&b.2)));
        }
        item(
            &mut out,
            &format!("~ {} {}: {}", b.0, place(key), what.join(", ")),
        );
    }
    if !c.tables.is_empty() {
        heading(
            &mut out,
            &format!(
                "Published tables: {} changed (– is a cell the site does not publish: suppressed or not declared)",
                c.tables.len()
            ),
        );
        for t in &c.tables {
            item(
                &mut out,
                &format!(
                    "data/{}.csv: {} changed, {} added, {} removed",
                    t.name,
                    rows(t.changed.len()),
                    t.added.len(),
                    t.removed.len()
                ),
            );
            for (sign, list) in [("~", &t.changed), ("+", &t.added), ("−", &t.removed)] {
                for line in list.iter().take(MAX_LISTED) {
                    sub_item(&mut out, &format!("{sign} {line}"));
                }
                if list.len() > MAX_LISTED {
                    sub_item(
                        &mut out,
                        &format!("{sign} and {} more", list.len() - MAX_LISTED),
                    );
                }
            }
        }
    }
    out
}

/// Text from the reports (partner names, findings' sentences, paths) as Markdown that shows it
/// and nothing else: every ASCII punctuation character CommonMark could read as syntax is
/// backslash-escaped, `<`, `>` and `&` become entities (no raw HTML, no `<!--` that hides the
/// rest of a comment), a word joiner follows `@` (no mentions), and line breaks become spaces.
pub fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in plain_text(text).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            // A word joiner after `@` and `#`: no mention, and no issue reference (`#12`,
            // `owner/repo#3`), which GitHub links in the rendered text, escaped or not.
            '@' => out.push_str("@\u{2060}"),
            '#' => out.push_str("\\#\u{2060}"),
            c if c.is_ascii_punctuation() => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Text from the reports as one line that shows what it says: line breaks become spaces, and
/// control characters (a terminal's escape sequences) and the invisible characters that reorder
/// or hide text (bidirectional overrides, zero-width marks) become U+FFFD.
pub fn plain_text(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() => '\u{FFFD}',
            '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => {
                '\u{FFFD}'
            }
            c => c,
        })
        .collect()
}

/// Where a finding is: its id, partner, export and flag, those it has.
fn place((id, partner, export, flag): &FindingKey) -> String {
    [id, partner, export, flag]
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A text cell in quotes, cut to 80 characters (`–` when empty).
fn quoted(text: &str) -> String {
    if text.is_empty() {
        return "–".to_owned();
    }
    let mut out: String = text.chars().take(80).collect();
    if text.chars().count() > 80 {
        out.push('…');
    }
    format!("“{out}”")
}

/// A published item count with its noun: `1 item`, `1,200 items`, `suppressed`.
fn display_items(cell: &str) -> String {
    match cell.parse::<u64>() {
        Ok(n) => format!("{} {}", thousands(n), crate::noun(n, "item", "items")),
        Err(_) => "suppressed".to_owned(),
    }
}

/// `n` rows, in the singular or the plural.
fn rows(n: usize) -> String {
    crate::counted(n as u64, "row", "rows")
}

/// The changes as the releases page shows them: every value as published, labels left to the
/// template (so the page is in the report's language).
#[derive(Debug, serde::Serialize)]
pub(crate) struct ChangesView {
    /// Nothing differs.
    pub(crate) empty: bool,
    exports: Vec<ExportChangeView>,
    cells: Vec<CellChangeView>,
    findings: Vec<FindingChangeView>,
    tables: Vec<TableChangeView>,
}

/// `sign`: `added`, `removed` or `changed`.
#[derive(Debug, serde::Serialize)]
struct ExportChangeView {
    sign: &'static str,
    id: String,
    partner: String,
    exported_at: String,
    old_items: String,
    new_items: String,
}

#[derive(Debug, serde::Serialize)]
struct CellChangeView {
    partner: String,
    category: String,
    year: String,
    old: String,
    new: String,
}

#[derive(Debug, serde::Serialize)]
struct FindingChangeView {
    sign: &'static str,
    /// The slug (`high`), for the badge's class.
    severity: String,
    /// The language's word for it.
    severity_label: String,
    place: String,
    message: String,
    /// For a changed finding: (`severity` | `count` | `response_date`, old, new).
    fields: Vec<(&'static str, String, String)>,
}

#[derive(Debug, serde::Serialize)]
struct TableChangeView {
    name: String,
    counts: (usize, usize, usize),
    /// (sign, `key: column old → new, …`), at most [`MAX_LISTED`] of each sign.
    lines: Vec<(&'static str, String)>,
    /// (sign, how many more of that sign were left out).
    more: Vec<(&'static str, usize)>,
}

impl Changes {
    /// The view of the releases page, numbers written for `lang`.
    pub(crate) fn view(
        &self,
        lang: &crate::i18n::Lang,
        severity: &dyn Fn(&str) -> String,
    ) -> ChangesView {
        let count = |v: Option<CellValue>| match v {
            None => "–".to_owned(),
            Some((n, false)) => lang.number(n),
            Some((0, true)) => lang.suppressed(),
            Some((n, true)) => format!("≥{}", lang.number(n)),
        };
        let items = |s: &str| match s.parse::<u64>() {
            Ok(n) => lang.number(n),
            Err(_) => lang.suppressed(),
        };
        let mut exports = Vec::new();
        for (sign, list) in [("added", &self.added), ("removed", &self.removed)] {
            for (id, e) in list {
                exports.push(ExportChangeView {
                    sign,
                    id: id.clone(),
                    partner: e.partner.clone(),
                    exported_at: e.exported_at.clone(),
                    old_items: if sign == "added" {
                        "–".to_owned()
                    } else {
                        items(&e.items)
                    },
                    new_items: if sign == "added" {
                        items(&e.items)
                    } else {
                        "–".to_owned()
                    },
                });
            }
        }
        for (id, a, b) in &self.changed {
            exports.push(ExportChangeView {
                sign: "changed",
                id: id.clone(),
                partner: b.partner.clone(),
                exported_at: b.exported_at.clone(),
                old_items: items(&a.items),
                new_items: items(&b.items),
            });
        }
        let cells = self
            .cells
            .iter()
            .map(|((p, c, y), x, z)| CellChangeView {
                partner: p.clone(),
                category: c.clone(),
                year: y.clone(),
                old: count(*x),
                new: count(*z),
            })
            .collect();
        let mut findings = Vec::new();
        for (sign, list) in [("added", &self.new_findings), ("removed", &self.resolved)] {
            for (key, (slug, _, message, _, _)) in list {
                findings.push(FindingChangeView {
                    sign,
                    severity: slug.clone(),
                    severity_label: severity(slug),
                    place: place(key),
                    message: message.clone(),
                    fields: Vec::new(),
                });
            }
        }
        for (key, a, b) in &self.changed_findings {
            let mut fields = Vec::new();
            for (name, x, y) in [
                ("severity", &a.0, &b.0),
                ("count", &a.1, &b.1),
                ("response_date", &a.3, &b.3),
            ] {
                if x != y {
                    fields.push((name, cell(x).to_owned(), cell(y).to_owned()));
                }
            }
            for (name, x, y) in [("response", &a.4, &b.4), ("message", &a.2, &b.2)] {
                if x != y {
                    fields.push((name, quoted(x), quoted(y)));
                }
            }
            findings.push(FindingChangeView {
                sign: "changed",
                severity: b.0.clone(),
                severity_label: severity(&b.0),
                place: place(key),
                message: b.2.clone(),
                fields,
            });
        }
        let tables = self
            .tables
            .iter()
            .map(|t| {
                let mut lines = Vec::new();
                let mut more = Vec::new();
                for (sign, list) in [
                    ("changed", &t.changed),
                    ("added", &t.added),
                    ("removed", &t.removed),
                ] {
                    lines.extend(list.iter().take(MAX_LISTED).map(|l| (sign, l.clone())));
                    if list.len() > MAX_LISTED {
                        more.push((sign, list.len() - MAX_LISTED));
                    }
                }
                TableChangeView {
                    name: t.name.clone(),
                    counts: (t.changed.len(), t.added.len(), t.removed.len()),
                    lines,
                    more,
                }
            })
            .collect();
        ChangesView {
            empty: self.is_empty(),
            exports,
            cells,
            findings,
            tables,
        }
    }
}
