//! `data/exports/**/*.yaml` → [`Export`]s, walked recursively in sorted order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::raw::{RawCounts, RawExport, RawFigures};
use super::{Ctx, at, yaml};
use crate::error::{Problem, Problems};
use crate::model::{
    CategoryId, CountRow, DeclaredCounts, DeclaredFigures, Export, ExportId, FigureRow, Filters,
    Partner, PartnerId, Parts, ShippedFile, TableFile, TableFormat, is_slug,
};
use crate::time::parse_instant;

const DIR: &str = "data/exports";

/// Loads every manifest under `data/exports/`, sorted by id.
pub(crate) fn load(
    ctx: &Ctx<'_>,
    partners: Option<&[Partner]>,
    categories: Option<&[CategoryId]>,
    problems: &mut Problems,
) -> Vec<Export> {
    let dir = ctx.root.join(DIR);
    if !dir.is_dir() {
        problems.push(
            Problem::new(DIR, "folder not found")
                .help("create data/exports/ with one YAML manifest per export batch"),
        );
        return Vec::new();
    }
    let mut exports = Vec::new();
    let mut first_seen: BTreeMap<String, String> = BTreeMap::new();
    for path in ctx.walk(&dir, usize::MAX, problems) {
        let path = path.as_path();
        let is_yaml = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e == "yaml" || e == "yml");
        if !is_yaml {
            continue;
        }
        if let Some(export) = load_one(ctx, path, partners, categories, problems) {
            let file = export.manifest.clone();
            if let Some(other) = first_seen.get(export.id.as_str()) {
                problems.push(
                    Problem::new(&file, format!("duplicate export id `{}`", export.id))
                        .key("id")
                        .help(format!(
                            "`{other}` already uses this id; ids are unique across manifests"
                        )),
                );
                continue;
            }
            first_seen.insert(export.id.0.clone(), file);
            exports.push(export);
        }
    }
    if exports.is_empty() && problems.is_empty() {
        problems
            .push(Problem::new(DIR, "no manifests").help("add one YAML manifest per export batch"));
    }
    exports.sort_by(|a, b| a.id.cmp(&b.id));
    exports
}

fn load_one(
    ctx: &Ctx<'_>,
    path: &Path,
    partners: Option<&[Partner]>,
    categories: Option<&[CategoryId]>,
    problems: &mut Problems,
) -> Option<Export> {
    let file = ctx.rel(path);
    let text = ctx.read_text(path, problems)?;
    if text.trim().is_empty() {
        problems.push(
            Problem::new(&file, "empty manifest")
                .help("write id, partner, exported_at and items or counts, or delete the file"),
        );
        return None;
    }
    let raw: RawExport = match yaml::parse(&file, &text, 0) {
        Ok(raw) => raw,
        Err(p) => {
            problems.push(*p);
            return None;
        }
    };
    let before = problems.len();
    let base = path.parent().unwrap_or(ctx.root);

    if !is_slug(&raw.id.value) {
        problems.push(
            at(
                &file,
                &raw.id,
                "id",
                format!("`{}` is not a slug", raw.id.value),
            )
            .help("use lowercase letters, digits and `-`, starting with a letter or digit"),
        );
    }
    if let Some(partners) =
        partners.filter(|ps| !ps.iter().any(|p| p.id.as_str() == raw.partner.value))
    {
        let known: Vec<_> = partners.iter().map(|p| p.id.as_str()).collect();
        problems.push(
            at(
                &file,
                &raw.partner,
                "partner",
                format!("unknown partner `{}`", raw.partner.value),
            )
            .help(format!(
                "add it to data/partners.yaml, or use one of: {}",
                known.join(", ")
            )),
        );
    }
    let exported_at = parse_instant(&raw.exported_at.value);
    if exported_at.is_none() {
        problems.push(
            at(
                &file,
                &raw.exported_at,
                "exported_at",
                format!("`{}` is not a date or datetime", raw.exported_at.value),
            )
            .help("write YYYY-MM-DD or an RFC 3339 datetime such as 2024-03-01T12:00:00Z"),
        );
    }
    let content_window = raw.content_window.as_ref().map(|w| {
        let from = w
            .from
            .as_ref()
            .and_then(|v| super::date(&file, v, "content_window.from", problems));
        let to =
            w.to.as_ref()
                .and_then(|v| super::date(&file, v, "content_window.to", problems));
        if let (Some(f), Some(t), Some(to_text)) = (from, to, w.to.as_ref())
            && f > t
        {
            problems.push(
                at(
                    &file,
                    to_text,
                    "content_window.to",
                    format!("`{t}` is before content_window.from `{f}`"),
                )
                .help("swap the dates, or correct one of them"),
            );
        }
        (from, to)
    });
    let filters = raw
        .filters
        .as_ref()
        .map_or(Filters::default(), |f| Filters {
            public_only: f.public_only,
            exclude_opted_out: f.exclude_opted_out,
            exclude_deleted: f.exclude_deleted,
            exclude_explicit: f.exclude_explicit,
            exclude_minors: f.exclude_minors,
        });

    let items = raw
        .items
        .as_ref()
        .and_then(|written| table_file(ctx, &file, "items", base, written, problems, true));
    let counts = raw.counts.as_ref().and_then(|counts| match &counts.value {
        RawCounts::Inline(rows) => Some(DeclaredCounts::Inline(inline_counts(
            &file, rows, categories, problems,
        ))),
        RawCounts::Path(p) => {
            let written = serde_saphyr::Spanned::new(p.clone(), counts.referenced, counts.defined);
            table_file(ctx, &file, "counts", base, &written, problems, false)
                .map(DeclaredCounts::Table)
        }
    });
    let figures = raw
        .figures
        .as_ref()
        .and_then(|figures| match &figures.value {
            RawFigures::Inline(row) => {
                let mut n = |name: &str, v: Option<i64>| -> Option<u64> {
                    let v = v?;
                    u64::try_from(v).ok().or_else(|| {
                        problems.push(
                            at(
                                &file,
                                figures,
                                &format!("figures.{name}"),
                                format!("{v} is negative"),
                            )
                            .help("figures are whole numbers, 0 or more"),
                        );
                        None
                    })
                };
                let row = FigureRow {
                    owners: n("owners", row.owners),
                    owners_opted_out: n("owners_opted_out", row.owners_opted_out),
                    items_opted_out_now: n("items_opted_out_now", row.items_opted_out_now),
                    outside_window: n("outside_window", row.outside_window),
                    as_of: row
                        .as_of
                        .as_ref()
                        .and_then(|v| super::date(&file, v, "figures.as_of", problems)),
                };
                Some(DeclaredFigures::Inline {
                    row,
                    line: figures.referenced.line(),
                })
            }
            RawFigures::Path(p) => {
                let written =
                    serde_saphyr::Spanned::new(p.clone(), figures.referenced, figures.defined);
                table_file(ctx, &file, "figures", base, &written, problems, false)
                    .map(DeclaredFigures::Table)
            }
        });
    if raw.items.is_none() && raw.counts.is_none() {
        problems.push(
            at(
                &file,
                &raw.id,
                "items",
                "neither `items` nor `counts` is given".to_owned(),
            )
            .help("name an item listing with `items: path`, or declare `counts`"),
        );
    }
    let mut files = Vec::new();
    for (i, f) in raw.files.iter().flatten().enumerate() {
        let sha = f.sha256.value.to_ascii_lowercase();
        if sha.len() != 64 || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
            problems.push(
                at(
                    &file,
                    &f.sha256,
                    &format!("files[{i}].sha256"),
                    format!("`{}` is not a SHA-256 digest", f.sha256.value),
                )
                .help("write the 64 hexadecimal digits that `sha256sum FILE` prints"),
            );
        }
        let key = format!("files[{i}].path");
        let local = ctx.resolve_optional(&file, &key, base, &f.path, problems);
        if local.as_ref().is_some_and(|p| p.is_dir()) {
            problems.push(
                at(
                    &file,
                    &f.path,
                    &key,
                    format!("`{}` is a folder, not a file", f.path.value),
                )
                .help("list each shipped file on its own"),
            );
        }
        files.push(ShippedFile {
            path: f.path.value.clone(),
            sha256: sha,
            bytes: f.bytes,
            local,
        });
    }
    if problems.len() > before {
        return None;
    }
    Some(Export {
        id: ExportId(raw.id.value),
        partner: PartnerId(raw.partner.value),
        exported_at: exported_at?,
        description: raw.description,
        content_window,
        filters,
        items,
        counts,
        figures,
        files,
        manifest: file,
    })
}

/// The table a manifest's `items` or `counts` names: one file, a folder of part files, or a glob
/// of them (relative to the manifest's folder). Parts are read in sorted order; files and folders
/// whose name starts with `.` or `_` (Spark's `_SUCCESS`, `.crc` files, `_temporary/`) are not
/// parts; folder names `key=value` give each part's hive partition columns.
fn table_file(
    ctx: &Ctx<'_>,
    file: &str,
    key: &str,
    base: &Path,
    written: &serde_saphyr::Spanned<String>,
    problems: &mut Problems,
    ndjson_allowed: bool,
) -> Option<Parts> {
    let allowed = if ndjson_allowed {
        ".csv, .parquet or .ndjson"
    } else {
        ".csv or .parquet"
    };
    let text = written.value.trim();
    let here = |message: String| at(file, written, key, message);
    let format_of = |path: &Path| {
        TableFormat::from_path(path).filter(|f| ndjson_allowed || *f != TableFormat::Ndjson)
    };
    // A glob: the folder before its first wildcard is walked, and every file under it whose
    // path (relative to the manifest's folder) matches is a part.
    let (folder, matcher) = if text.contains(['*', '?', '[', '{']) {
        let literal: Vec<&str> = text
            .split('/')
            .take_while(|c| !c.contains(['*', '?', '[', '{']))
            .collect();
        let matcher = match globset::GlobBuilder::new(text)
            .literal_separator(true)
            .build()
        {
            Ok(glob) => glob.compile_matcher(),
            Err(e) => {
                problems.push(
                    here(format!("`{text}` is not a valid glob: {e}"))
                        .help("write a path, a folder, or a glob such as `parts/*.parquet` or `parts/**/*.parquet`"),
                );
                return None;
            }
        };
        let prefix = if literal.is_empty() {
            ".".to_owned()
        } else {
            literal.join("/")
        };
        let spanned =
            serde_saphyr::Spanned::new(prefix.clone(), written.referenced, written.defined);
        let folder = ctx.resolve_inside(file, key, base, &spanned, problems)?;
        (folder, Some((matcher, prefix)))
    } else {
        let path = ctx.resolve_inside(file, key, base, written, problems)?;
        if !path.is_dir() {
            let Some(format) = format_of(&path) else {
                problems.push(
                    here(format!("`{text}` is not a table sharelog reads")).help(format!(
                        "use a file ending in {allowed}, or a folder of them"
                    )),
                );
                return None;
            };
            return Some(Parts {
                display: ctx.rel(&path),
                files: vec![TableFile {
                    display: ctx.rel(&path),
                    path,
                    format,
                    hive: Vec::new(),
                }],
            });
        }
        (path, None)
    };

    let mut files = Vec::new();
    let mut formats = std::collections::BTreeSet::new();
    for path in ctx.walk(&folder, usize::MAX, problems) {
        let Ok(rel) = path.strip_prefix(&folder) else {
            continue;
        };
        let components: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if components
            .iter()
            .any(|c| c.starts_with('.') || c.starts_with('_'))
        {
            continue;
        }
        // The path as the glob sees it: relative to the manifest's folder, spelt from the
        // glob's own literal folder (whatever form --root was given in).
        let literal = match &matcher {
            Some((_, prefix)) if prefix != "." => Path::new(prefix).to_path_buf(),
            _ => Path::new("").to_path_buf(),
        };
        if let Some((m, _)) = &matcher
            && !m.is_match(literal.join(rel))
        {
            continue;
        }
        // A part of no rows written as an empty file (Spark writes them for empty partitions).
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == 0) {
            continue;
        }
        let Some(format) = format_of(&path) else {
            problems.push(
                Problem::new(
                    ctx.rel(&path),
                    format!("is in the folder of parts `{text}` but is not a table sharelog reads"),
                )
                .help(format!(
                    "every part ends in {allowed}; move other files out of the folder (names starting with `.` or `_` are skipped)"
                )),
            );
            continue;
        };
        formats.insert(format!("{format:?}"));
        // Hive folders: those under the manifest's folder, the named folder's own included.
        let mut hive = Vec::new();
        let written: Vec<String> = if matcher.is_some() {
            literal
                .join(rel)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect()
        } else {
            Path::new(text)
                .join(rel)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect()
        };
        for folder_name in &written[..written.len().saturating_sub(1)] {
            if let Some((k, v)) = folder_name.split_once('=')
                && !k.is_empty()
            {
                let value = percent_encoding::percent_decode_str(v)
                    .decode_utf8_lossy()
                    .into_owned();
                let value = (value != "__HIVE_DEFAULT_PARTITION__").then_some(value);
                hive.push((k.to_owned(), value));
            }
        }
        files.push(TableFile {
            display: ctx.rel(&path),
            path,
            format,
            hive,
        });
    }
    if formats.len() > 1 {
        problems.push(
            here(format!(
                "the parts of `{text}` are of {} formats",
                formats.len()
            ))
            .help("write every part of one table in one format"),
        );
        return None;
    }
    if files.is_empty() {
        problems.push(here(format!("`{text}` names no table files")).help(format!(
            "put the parts (ending in {allowed}) in the folder, or correct the path or glob"
        )));
        return None;
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Some(Parts {
        display: ctx.rel(&folder),
        files,
    })
}

fn inline_counts(
    file: &str,
    rows: &[super::raw::RawCountRow],
    categories: Option<&[CategoryId]>,
    problems: &mut Problems,
) -> Vec<CountRow> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let key = format!("counts[{i}]");
        let here = |msg: String, k: &str| at(file, &r.category, &format!("{key}.{k}"), msg);
        let mut count = |name: &str, n: i64| -> u64 {
            u64::try_from(n).unwrap_or_else(|_| {
                problems.push(
                    here(format!("{n} is negative"), name)
                        .help("counts are whole numbers, 0 or more"),
                );
                0
            })
        };
        let row = CountRow {
            category: CategoryId(r.category.value.clone()),
            year: r.year,
            items: count("items", r.items),
            private: r.private.map(|n| count("private", n)),
            deleted: r.deleted.map(|n| count("deleted", n)),
            suspended: r.suspended.map(|n| count("suspended", n)),
            explicit: r.explicit.map(|n| count("explicit", n)),
            minor: r.minor.map(|n| count("minor", n)),
            opted_out: r.opted_out.map(|n| count("opted_out", n)),
        };
        for p in check_count_row(&row, categories) {
            let (k, msg, help) = p;
            problems.push(here(msg, k).help(help));
        }
        if !seen.insert((row.category.clone(), row.year)) {
            problems.push(
                here(
                    format!(
                        "category `{}` and year {} appear twice",
                        row.category, row.year
                    ),
                    "year",
                )
                .help("declare each (category, year) cell once"),
            );
        }
        out.push(row);
    }
    declare_flags(&mut out);
    out
}

/// A flag that some row of a manifest's counts gives is declared for all of them (0 where a row
/// leaves it out); a flag that no row gives stays not declared (`None`), never 0.
pub(crate) fn declare_flags(rows: &mut [CountRow]) {
    let flags: [fn(&mut CountRow) -> &mut Option<u64>; 5] = [
        |r| &mut r.private,
        |r| &mut r.deleted,
        |r| &mut r.suspended,
        |r| &mut r.explicit,
        |r| &mut r.minor,
    ];
    for flag in flags {
        if rows.iter_mut().any(|r| flag(r).is_some()) {
            for r in rows.iter_mut() {
                flag(r).get_or_insert(0);
            }
        }
    }
}

/// Checks one declared count row; returns (key, message, help) for each problem. Shared by inline
/// counts and count tables.
pub(crate) fn check_count_row(
    row: &CountRow,
    categories: Option<&[CategoryId]>,
) -> Vec<(&'static str, String, String)> {
    let mut out = Vec::new();
    if let Some(categories) = categories.filter(|cs| !cs.contains(&row.category)) {
        let known: Vec<_> = categories.iter().map(|c| c.as_str()).collect();
        out.push((
            "category",
            format!("unknown category `{}`", row.category),
            format!(
                "add it to categories in report.yaml, or use one of: {}",
                known.join(", ")
            ),
        ));
    }
    if !(1900..=9999).contains(&row.year) {
        out.push((
            "year",
            format!("{} is not a plausible year", row.year),
            "write the four-digit UTC year the items were created".to_owned(),
        ));
    }
    let flags = [
        ("private", row.private),
        ("deleted", row.deleted),
        ("suspended", row.suspended),
        ("explicit", row.explicit),
        ("minor", row.minor),
        ("opted_out", row.opted_out),
    ];
    for (name, n) in flags.into_iter().filter_map(|(k, n)| Some((k, n?))) {
        if n > row.items {
            out.push((
                name,
                format!(
                    "{name} is {n}, more than the cell's {}",
                    crate::counted(row.items, "item", "items")
                ),
                "a flag counts items of the cell, so it cannot exceed `items`".to_owned(),
            ));
        }
    }
    out
}
