//! Declared figures (`figures:` in a manifest): what an item listing gives beyond the counts
//! (distinct owners, owners opted out at the export, items opted out at the report's date, items
//! outside the content window), counted where the items are, by the query `sharelog sql
//! --figures` prints. A batch with declared counts only then shows every figure a listed one
//! does.
//!
//! A figures table may hold the rows of several batches (an `export` column) and of partners
//! (`export` empty: everything the partner received, whose distinct owners are not a sum of its
//! batches'). Every row is checked: it names a batch whose manifest names the table, the
//! batch's partner, whole numbers within the bounds the batch's counts set, and the report's
//! date for the figure that depends on it. Where the batch has a listing too, each declared
//! figure must equal the listing's.

use std::collections::BTreeMap;
use std::path::PathBuf;

use polars::prelude::*;

use super::scan::{TextCells, guarded, read_problem, scan};
use crate::error::Problem;
use crate::model::{DeclaredFigures, FigureRow, Report, TableFile};

/// The columns of a figures table.
pub(crate) const PARTNER: &str = "partner";
pub(crate) const EXPORT: &str = "export";
pub(crate) const OWNERS: &str = "owners";
pub(crate) const OWNERS_OPTED_OUT: &str = "owners_opted_out";
pub(crate) const ITEMS_OPTED_OUT_NOW: &str = "items_opted_out_now";
pub(crate) const OUTSIDE_WINDOW: &str = "outside_window";
pub(crate) const AS_OF: &str = "as_of";
const COLUMNS: [&str; 7] = [
    PARTNER,
    EXPORT,
    OWNERS,
    OWNERS_OPTED_OUT,
    ITEMS_OPTED_OUT_NOW,
    OUTSIDE_WINDOW,
    AS_OF,
];

/// One declared row and where it was written.
#[derive(Debug, Clone)]
pub(crate) struct Placed {
    pub(crate) row: FigureRow,
    /// A problem located at the row, without its message.
    here: Problem,
}

impl Placed {
    /// A problem about this row.
    pub(crate) fn problem(&self, message: String, help: &str) -> Problem {
        let mut p = self.here.clone();
        p.message = message;
        p.help(help)
    }
}

/// Declared figures per export (in `report.exports` order) and per partner (in
/// `report.partners` order).
#[derive(Debug, Clone, Default)]
pub(crate) struct Declared {
    pub(crate) exports: Vec<Option<Placed>>,
    pub(crate) partners: Vec<Option<Placed>>,
}

/// Reads every manifest's figures (each table once, however many manifests name it).
pub(crate) fn read(report: &Report) -> Result<Declared, Vec<Problem>> {
    let mut out = Declared {
        exports: vec![None; report.exports.len()],
        partners: vec![None; report.partners.len()],
    };
    let mut problems = Vec::new();
    // Each table file, with the exports whose manifests name it.
    let mut tables: BTreeMap<PathBuf, (TableFile, Vec<usize>)> = BTreeMap::new();
    for (i, export) in report.exports.iter().enumerate() {
        match &export.figures {
            None => {}
            Some(DeclaredFigures::Inline { row, line }) => {
                out.exports[i] = Some(Placed {
                    row: row.clone(),
                    here: Problem::new(&export.manifest, "")
                        .at(*line, None)
                        .key("figures"),
                });
            }
            Some(DeclaredFigures::Table(parts)) => {
                for file in &parts.files {
                    tables
                        .entry(file.path.clone())
                        .or_insert_with(|| (file.clone(), Vec::new()))
                        .1
                        .push(i);
                }
            }
        }
    }
    for (table, naming) in tables.values() {
        let rows = match guarded(table, || read_table(table)) {
            Ok(rows) => rows,
            Err(more) => {
                problems.extend(more);
                continue;
            }
        };
        for (partner, export, placed) in rows {
            let export = match export {
                // Without an `export` column the table is one batch's.
                None if naming.len() == 1 => {
                    naming.first().map(|i| report.exports[*i].id.0.clone())
                }
                None => {
                    problems.push(placed.problem(
                        "the table has no `export` column, and several manifests name it".into(),
                        "add an `export` column with each row's batch id (what `sharelog sql --figures` writes)",
                    ));
                    continue;
                }
                Some(e) if e.is_empty() => None,
                Some(e) => Some(e),
            };
            match export {
                Some(id) => {
                    let Some(i) = report.exports.iter().position(|e| e.id.as_str() == id) else {
                        problems.push(placed.problem(
                            format!("export `{id}` is not in the report root"),
                            "remove the row, or add the batch's manifest under data/exports/",
                        ));
                        continue;
                    };
                    let e = &report.exports[i];
                    if !naming.contains(&i) {
                        problems.push(placed.problem(
                            format!("export `{id}`'s manifest does not name this table"),
                            "add `figures:` with this table's path to its manifest, or remove the row",
                        ));
                        continue;
                    }
                    if let Some(p) = partner.filter(|p| !p.is_empty() && p != e.partner.as_str()) {
                        problems.push(placed.problem(
                            format!("partner `{p}`, but export `{id}` went to `{}`", e.partner),
                            "count the batch again with the query `sharelog sql --figures` prints",
                        ));
                        continue;
                    }
                    if out.exports[i].is_some() {
                        problems.push(placed.problem(
                            format!("export `{id}` has a row already"),
                            "write each batch's figures once",
                        ));
                        continue;
                    }
                    out.exports[i] = Some(placed);
                }
                None => {
                    let Some(p) = partner.filter(|p| !p.is_empty()) else {
                        problems.push(placed.problem(
                            "neither `export` nor `partner` is given".into(),
                            "a batch's row names its export; a partner's row names the partner and leaves export empty",
                        ));
                        continue;
                    };
                    let Some(i) = report.partners.iter().position(|x| x.id.as_str() == p) else {
                        problems.push(placed.problem(
                            format!("partner `{p}` is not in data/partners.yaml"),
                            "remove the row, or correct the partner id",
                        ));
                        continue;
                    };
                    if placed.row.outside_window.is_some() {
                        problems.push(placed.problem(
                            format!(
                                "partner `{p}`'s row gives outside_window, which only a batch has"
                            ),
                            "leave outside_window empty in a partner's row",
                        ));
                        continue;
                    }
                    if out.partners[i].is_some() {
                        problems.push(placed.problem(
                            format!("partner `{p}` has a row already"),
                            "write each partner's figures once, from one run of the query",
                        ));
                        continue;
                    }
                    out.partners[i] = Some(placed);
                }
            }
        }
    }
    // A manifest that names a table must find its batch's row there: a batch missing from the
    // warehouse's items would otherwise leave its figures (and its partner's) quietly partial.
    for (i, export) in report.exports.iter().enumerate() {
        if let (Some(DeclaredFigures::Table(parts)), None) = (&export.figures, &out.exports[i])
            && tables.values().all(|(t, _)| {
                !parts.files.iter().any(|f| f.path == t.path)
                    || problems.iter().all(|p| p.file != t.display)
            })
        {
            problems.push(
                Problem::new(
                    &export.manifest,
                    format!("its figures table `{}` has no row for export `{}`", parts.display, export.id),
                )
                .key("figures")
                .help("count the batch with the query `sharelog sql --figures` prints (its items must be in the items relation), or remove `figures`"),
            );
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The rows of one figures table: (partner, export, figures); `export` is `None` when the table
/// has no such column.
#[allow(clippy::type_complexity)]
fn read_table(
    table: &TableFile,
) -> Result<Vec<(Option<String>, Option<String>, Placed)>, Vec<Problem>> {
    let mut lf = scan(table).map_err(|e| vec![read_problem(table, &e)])?;
    let schema = lf
        .collect_schema()
        .map_err(|e| vec![read_problem(table, &e)])?;
    let mut problems = Vec::new();
    for name in schema.iter_names() {
        if !COLUMNS.contains(&name.as_str()) {
            problems.push(
                Problem::new(&table.display, format!("unknown column `{name}`"))
                    .help("figures tables have partner, export, owners, owners_opted_out, items_opted_out_now, outside_window and as_of"),
            );
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let present: Vec<&str> = COLUMNS
        .into_iter()
        .filter(|c| schema.get(c).is_some())
        .collect();
    let cells = TextCells::read(table, lf, &present)?;
    let cell = |name: &str, i: usize| cells.cell(name, i);
    let mut rows = Vec::new();
    for i in 0..cells.height() {
        let here = cells.place(i, Problem::new(&table.display, ""));
        let mut bad = false;
        let mut number = |name: &str| -> Option<u64> {
            let text = cell(name, i).filter(|s| !s.is_empty())?;
            let n = text.parse::<u64>().ok();
            if n.is_none() {
                let mut p = here.clone();
                p.message = format!("{name}: `{text}` is not a count");
                problems.push(p.help(
                    "write a whole number, 0 or more, or leave it empty where it is unknown",
                ));
                bad = true;
            }
            n
        };
        let owners = number(OWNERS);
        let owners_opted_out = number(OWNERS_OPTED_OUT);
        let items_opted_out_now = number(ITEMS_OPTED_OUT_NOW);
        let outside_window = number(OUTSIDE_WINDOW);
        let as_of = match cell(AS_OF, i).filter(|s| !s.is_empty()) {
            None => None,
            Some(text) => {
                let d = crate::time::parse_date(&text);
                if d.is_none() {
                    let mut p = here.clone();
                    p.message = format!("{AS_OF}: `{text}` is not a date");
                    problems.push(
                        p.help("write the report's date (published in report.yaml) as YYYY-MM-DD"),
                    );
                    bad = true;
                }
                d
            }
        };
        if bad {
            continue;
        }
        let export = present
            .contains(&EXPORT)
            .then(|| cell(EXPORT, i).unwrap_or_default());
        rows.push((
            cell(PARTNER, i),
            export,
            Placed {
                row: FigureRow {
                    owners,
                    owners_opted_out,
                    items_opted_out_now,
                    outside_window,
                    as_of,
                },
                here,
            },
        ));
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

/// Items per year of a batch's shared-items rows.
fn year_items(df: &DataFrame) -> Option<BTreeMap<i32, u64>> {
    let years = df
        .column(super::columns::YEAR)
        .ok()?
        .cast(&DataType::Int32)
        .ok()?;
    let items = df
        .column(super::columns::ITEMS)
        .ok()?
        .cast(&DataType::UInt64)
        .ok()?;
    let mut out = BTreeMap::new();
    for (y, n) in years.i32().ok()?.iter().zip(items.u64().ok()?.iter()) {
        *out.entry(y?).or_insert(0) += n?;
    }
    Some(out)
}

/// The sum of a column of a batch's shared-items rows; `None` when it is missing or unknown.
fn column_sum(df: &DataFrame, name: &str) -> Option<u64> {
    let c = df.column(name).ok()?.cast(&DataType::UInt64).ok()?;
    let c = c.u64().ok()?;
    (c.null_count() == 0).then(|| c.sum().unwrap_or(0))
}

const RECOUNT: &str =
    "count the batch again with the query `sharelog sql --figures` prints and write its result";

/// Checks the declared figures against the counts, and puts them where a listing's would be: the
/// owners of batches and partners, the items opted out now and those outside the content window.
/// Where a batch (or every batch of a partner) has a listing, each declared figure must equal
/// the listing's.
pub(crate) fn apply(
    report: &Report,
    declared: &Declared,
    counted: &mut [super::exports::ExportCounts],
    owners: &mut super::owners::OwnerCounts,
    ledger: bool,
) -> Result<(), Vec<Problem>> {
    use super::owners::OwnerCount;
    let mut problems = Vec::new();
    let published = report.meta.published;
    let check_date = |placed: &Placed, problems: &mut Vec<Problem>| {
        let row = &placed.row;
        match row.as_of {
            Some(d) if d != published => problems.push(placed.problem(
                format!("{AS_OF}: counted at {d}, but the report's date (published) is {published}"),
                "items opted out at the report's date change with every new opt-out: run the query `sharelog sql --figures` prints again for this edition",
            )),
            None if row.items_opted_out_now.is_some() => problems.push(placed.problem(
                format!("{ITEMS_OPTED_OUT_NOW} is given without {AS_OF}"),
                "write the report's date (published in report.yaml) it was counted at as as_of",
            )),
            _ => {}
        }
    };
    for (i, export) in report.exports.iter().enumerate() {
        let Some(placed) = &declared.exports[i] else {
            continue;
        };
        let row = &placed.row;
        check_date(placed, &mut problems);
        let items = column_sum(&counted[i].frame, super::columns::ITEMS).unwrap_or(0);
        let opted = column_sum(&counted[i].frame, super::columns::OPTED_OUT);
        if row.items_opted_out_now.is_some() && !ledger {
            problems.push(placed.problem(
                format!("{ITEMS_OPTED_OUT_NOW} is given, but the report root has no opt-out ledger"),
                "add the ledger (data/opt-outs/ledger.*) it was counted from, or leave the figure empty",
            ));
        }
        if row.owners_opted_out.is_some() && opted.is_none() {
            problems.push(placed.problem(
                format!("{OWNERS_OPTED_OUT} is given, but the batch's counts do not declare opted_out"),
                "declare opted_out in the counts (the owners opted out are bounded by those items), or leave the figure empty",
            ));
        }
        let mut bound = |ok: bool, message: String| {
            if !ok {
                problems.push(placed.problem(message, RECOUNT));
            }
        };
        if let Some(o) = row.owners {
            bound(
                o <= items,
                format!("{OWNERS}: {o} owners, but the batch holds {items} items"),
            );
            bound(
                items == 0 || o > 0,
                format!("{OWNERS}: 0 owners, but the batch holds {items} items"),
            );
        }
        if let Some(oo) = row.owners_opted_out {
            if let Some(o) = row.owners {
                bound(
                    oo <= o,
                    format!("{OWNERS_OPTED_OUT}: {oo}, more than the {o} owners"),
                );
            }
            if let Some(x) = opted {
                bound(
                    oo <= x,
                    format!(
                        "{OWNERS_OPTED_OUT}: {oo} owners, but the counts have {x} items opted out"
                    ),
                );
                bound(
                    x == 0 || oo > 0,
                    format!("{OWNERS_OPTED_OUT}: 0, but the counts have {x} items opted out"),
                );
            }
        }
        for (name, v) in [
            (ITEMS_OPTED_OUT_NOW, row.items_opted_out_now),
            (OUTSIDE_WINDOW, row.outside_window),
        ] {
            if let Some(n) = v {
                bound(
                    n <= items,
                    format!("{name}: {n} items, but the batch holds {items}"),
                );
            }
        }
        if let Some(n) = row.outside_window {
            bound(
                n == 0 || export.content_window.is_some(),
                format!(
                    "{OUTSIDE_WINDOW}: {n} items, but the batch's manifest gives no content_window"
                ),
            );
            // The counts' years bound it: at least the items of years wholly outside the
            // window, at most those of years not wholly inside it.
            if let (Some((from, to)), Some(years)) =
                (export.content_window, year_items(&counted[i].frame))
            {
                use chrono::Datelike;
                let (mut least, mut most) = (0u64, 0u64);
                for (year, n) in years {
                    let outside = from.is_some_and(|f| year < f.year())
                        || to.is_some_and(|t| year > t.year());
                    let starts_inside = from
                        .is_none_or(|f| f.year() < year || (f.year() == year && f.ordinal() == 1));
                    let ends_inside = to.is_none_or(|t| {
                        t.year() > year || (t.year() == year && (t.month(), t.day()) == (12, 31))
                    });
                    if outside {
                        least += n;
                    }
                    if !(starts_inside && ends_inside) {
                        most += n;
                    }
                }
                bound(
                    n >= least,
                    format!(
                        "{OUTSIDE_WINDOW}: {n}, but the counts have {least} items in years wholly outside the content window"
                    ),
                );
                bound(
                    n <= most,
                    format!(
                        "{OUTSIDE_WINDOW}: {n}, but the counts have only {most} items in years not wholly inside the content window"
                    ),
                );
            }
        }
        if export.items.is_some() {
            // The listing is the truth: every declared figure must be its.
            let listed = owners.exports[i];
            let outside = counted[i].outside_window.map_or(0, |(n, _)| n);
            for (name, d, l) in [
                (OWNERS, row.owners, listed.map(|c| c.owners)),
                (
                    OWNERS_OPTED_OUT,
                    row.owners_opted_out,
                    listed.and_then(|c| c.opted_out),
                ),
                (
                    ITEMS_OPTED_OUT_NOW,
                    row.items_opted_out_now,
                    counted[i].opted_out_now,
                ),
                (OUTSIDE_WINDOW, row.outside_window, Some(outside)),
            ] {
                if let (Some(d), Some(l)) = (d, l)
                    && d != l
                {
                    problems.push(placed.problem(
                        format!("{name}: {d} declared, but the item listing gives {l}"),
                        "the listing is what was shared: count again with the query `sharelog sql --figures` prints, or remove `figures`",
                    ));
                }
            }
        } else {
            if let Some(o) = row.owners {
                owners.exports[i] = Some(OwnerCount {
                    owners: o,
                    opted_out: row.owners_opted_out,
                });
            }
            if row.items_opted_out_now.is_some() {
                counted[i].opted_out_now = row.items_opted_out_now;
            }
            if let Some(n) = row.outside_window {
                counted[i].outside_window = (n > 0).then_some((n, true));
            }
        }
    }
    for (j, partner) in report.partners.iter().enumerate() {
        let mine: Vec<usize> = (0..report.exports.len())
            .filter(|i| report.exports[*i].partner == partner.id)
            .collect();
        let all_listed = mine.iter().all(|i| report.exports[*i].items.is_some());
        let Some(placed) = &declared.partners[j] else {
            // One batch: the partner's owners are the batch's.
            if let [i] = mine[..]
                && !all_listed
            {
                owners.partners[j] = owners.exports[i];
            }
            continue;
        };
        let row = &placed.row;
        check_date(placed, &mut problems);
        // Its figures can only be checked against every batch's.
        if let Some(i) = mine
            .iter()
            .find(|i| report.exports[**i].items.is_none() && declared.exports[**i].is_none())
        {
            problems.push(placed.problem(
                format!(
                    "partner `{}`'s row, but its batch `{}` has neither an item listing nor figures",
                    partner.id, report.exports[*i].id
                ),
                "declare figures for every batch of the partner (the query `sharelog sql --figures` gives them all), or remove the partner's row",
            ));
            continue;
        }
        let known: Vec<OwnerCount> = mine.iter().filter_map(|i| owners.exports[*i]).collect();
        let every = known.len() == mine.len();
        let mut bound = |ok: bool, message: String| {
            if !ok {
                problems.push(placed.problem(message, "count every batch of the partner again with the query `sharelog sql --figures` prints, in one run"));
            }
        };
        if let Some(o) = row.owners {
            let max = known.iter().map(|c| c.owners).max().unwrap_or(0);
            bound(
                o >= max,
                format!("{OWNERS}: {o}, fewer than the {max} owners of one of its batches"),
            );
            if every {
                let sum: u64 = known.iter().map(|c| c.owners).sum();
                bound(
                    o <= sum,
                    format!("{OWNERS}: {o}, more than the {sum} owners of its batches together"),
                );
            } else {
                // Nothing would bound it.
                bound(
                    false,
                    format!(
                        "{OWNERS}: given for the partner, but some batch of it has no owners figure"
                    ),
                );
            }
        }
        if let Some(oo) = row.owners_opted_out {
            if let Some(o) = row.owners {
                bound(
                    oo <= o,
                    format!("{OWNERS_OPTED_OUT}: {oo}, more than the {o} owners"),
                );
            }
            let batch: Vec<u64> = known.iter().filter_map(|c| c.opted_out).collect();
            let max = batch.iter().copied().max().unwrap_or(0);
            bound(
                oo >= max,
                format!("{OWNERS_OPTED_OUT}: {oo}, fewer than one of its batches' {max}"),
            );
            if every && batch.len() == known.len() {
                let sum: u64 = batch.iter().sum();
                bound(
                    oo <= sum,
                    format!("{OWNERS_OPTED_OUT}: {oo}, more than its batches' {sum} together"),
                );
            } else {
                bound(
                    false,
                    format!(
                        "{OWNERS_OPTED_OUT}: given for the partner, but some batch of it has no owners_opted_out figure"
                    ),
                );
            }
        }
        if let Some(n) = row.items_opted_out_now {
            let batch: Vec<u64> = mine
                .iter()
                .filter_map(|i| counted[*i].opted_out_now)
                .collect();
            if batch.len() == mine.len() {
                let sum: u64 = batch.iter().sum();
                bound(
                    n == sum,
                    format!("{ITEMS_OPTED_OUT_NOW}: {n}, but its batches' add up to {sum}"),
                );
            } else {
                bound(
                    false,
                    format!(
                        "{ITEMS_OPTED_OUT_NOW}: given for the partner, but some batch of it has no such figure"
                    ),
                );
            }
        }
        if all_listed {
            let listed = owners.partners[j];
            for (name, d, l) in [
                (OWNERS, row.owners, listed.map(|c| c.owners)),
                (
                    OWNERS_OPTED_OUT,
                    row.owners_opted_out,
                    listed.and_then(|c| c.opted_out),
                ),
            ] {
                if let (Some(d), Some(l)) = (d, l)
                    && d != l
                {
                    problems.push(placed.problem(
                        format!("{name}: {d} declared for partner `{}`, but its item listings give {l}", partner.id),
                        "the listings are what was shared: count again with the query `sharelog sql --figures` prints, or remove the row",
                    ));
                }
            }
        } else if let Some(o) = row.owners {
            owners.partners[j] = Some(OwnerCount {
                owners: o,
                opted_out: row.owners_opted_out,
            });
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
