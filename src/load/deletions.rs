//! `data/deletions/*.csv` → [`DeletionRequest`]s: the deletion requests sent to partners.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::{Ctx, csv_table};
use crate::error::{Problem, Problems};
use crate::model::{DeletionReason, DeletionRequest, Export, ExportId, Partner, PartnerId};
use crate::time::{format_instant, parse_instant};

const DIR: &str = "data/deletions";
const REQUIRED: [&str; 4] = ["request_id", "partner", "sent_at", "items"];
const OPTIONAL: [&str; 4] = ["acknowledged_at", "completed_at", "export", "reason"];

/// The end of the report's day: every event must happen before it (the build's only "now").
pub(crate) fn end_of(published: NaiveDate) -> Option<DateTime<Utc>> {
    published
        .succ_opt()?
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc())
}

/// Loads every `*.csv` under `data/deletions/`, sorted by partner, sent_at and request id.
pub(crate) fn load(
    ctx: &Ctx<'_>,
    partners: Option<&[Partner]>,
    exports: Option<&[Export]>,
    published: Option<NaiveDate>,
    problems: &mut Problems,
) -> Vec<DeletionRequest> {
    let dir = ctx.root.join(DIR);
    if !dir.is_dir() {
        return Vec::new();
    }
    let now = published.and_then(end_of);
    let mut out = Vec::new();
    let mut seen: BTreeMap<String, (String, u64)> = BTreeMap::new();
    for path in ctx.walk(&dir, usize::MAX, problems) {
        let path = path.as_path();
        if path.extension().is_none_or(|e| e != "csv") {
            // A table in another format would be skipped in silence, and its overdue requests
            // with it.
            let table = path.extension().is_some_and(|e| {
                ["parquet", "ndjson", "jsonl", "json", "tsv", "xlsx"]
                    .contains(&e.to_string_lossy().to_ascii_lowercase().as_str())
            });
            if table {
                problems.push(
                    Problem::new(ctx.rel(path), "is not read: deletion requests are read from CSV files only")
                        .help("write the requests as CSV (request_id, partner, sent_at, items[, acknowledged_at, completed_at, export, reason])"),
                );
            }
            continue;
        }
        let file = ctx.rel(path);
        let Some(rows) = csv_table::read(ctx, path, &REQUIRED, &OPTIONAL, problems) else {
            continue;
        };
        for row in &rows {
            let here = |column: &str, message: String| {
                Problem::new(&file, message).at(row.line, None).key(column)
            };
            let id = row.get("request_id").to_owned();
            if id.is_empty() {
                problems.push(
                    here("request_id", "missing".into())
                        .help("give every request the platform's own reference"),
                );
            } else if let Some((other, line)) = seen.get(&id) {
                problems.push(
                    here("request_id", format!("request `{id}` appears twice")).help(format!(
                        "{other}:{line} already has it; list each request once"
                    )),
                );
            } else {
                seen.insert(id.clone(), (file.clone(), row.line));
            }
            let partner = row.get("partner");
            if let Some(ps) = partners.filter(|ps| !ps.iter().any(|p| p.id.as_str() == partner)) {
                let known: Vec<_> = ps.iter().map(|p| p.id.as_str()).collect();
                problems.push(
                    here("partner", format!("unknown partner `{partner}`")).help(format!(
                        "add it to data/partners.yaml, or use one of: {}",
                        known.join(", ")
                    )),
                );
            }
            // The batch it is about: one of the partner's (a batch of another partner's is a
            // mistake the report could not catch later).
            let export = match row.get("export") {
                "" => Ok(None),
                id => match exports.map(|es| es.iter().find(|e| e.id.as_str() == id)) {
                    // (A partner that is unknown is its own problem, reported above.)
                    Some(Some(e))
                        if e.partner.as_str() != partner
                            && partners
                                .is_none_or(|ps| ps.iter().any(|p| p.id.as_str() == partner)) =>
                    {
                        problems.push(
                            here("export", format!("export `{id}` went to `{}`, not `{partner}`", e.partner))
                                .help("name an export batch of the partner the request was sent to, or leave the cell empty"),
                        );
                        Err(())
                    }
                    Some(None) => {
                        let mine: Vec<_> = exports
                            .unwrap_or_default()
                            .iter()
                            .filter(|e| e.partner.as_str() == partner)
                            .map(|e| e.id.as_str())
                            .collect();
                        problems.push(
                            here("export", format!("unknown export `{id}`")).help(if mine.is_empty() {
                                "name the id of an export manifest in data/exports/, or leave the cell empty".to_owned()
                            } else {
                                format!("use one of the partner's exports: {}, or leave the cell empty", mine.join(", "))
                            }),
                        );
                        Err(())
                    }
                    _ => Ok(Some(ExportId(id.to_owned()))),
                },
            };
            let reason = match row.get("reason") {
                "" => Ok(None),
                text => DeletionReason::from_slug(text).map(Some).ok_or_else(|| {
                    let known: Vec<_> = DeletionReason::ALL.iter().map(|r| r.slug()).collect();
                    problems.push(here("reason", format!("unknown reason `{text}`")).help(
                        format!("use one of: {}, or leave the cell empty", known.join(", ")),
                    ));
                }),
            };
            let mut instant = |column: &str, required: bool| -> Result<Option<DateTime<Utc>>, ()> {
                let text = row.get(column);
                if text.is_empty() {
                    if required {
                        problems.push(here(column, "missing".into()).help(
                            "write YYYY-MM-DD or an RFC 3339 datetime such as 2024-03-01T12:00:00Z",
                        ));
                        return Err(());
                    }
                    return Ok(None);
                }
                let Some(at) = parse_instant(text) else {
                    problems.push(
                        here(column, format!("`{text}` is not a date or datetime")).help(
                            "write YYYY-MM-DD or an RFC 3339 datetime such as 2024-03-01T12:00:00Z",
                        ),
                    );
                    return Err(());
                };
                if let Some(now) = now.filter(|now| at >= *now) {
                    let day = now.date_naive().pred_opt().unwrap_or(now.date_naive());
                    problems.push(
                        here(column, format!("{} is after the report's date {day}", format_instant(&at)))
                            .help("the report describes the world as of `published` in report.yaml; raise it, or leave out later events"),
                    );
                    return Err(());
                }
                Ok(Some(at))
            };
            let sent_at = instant("sent_at", true);
            let acknowledged_at = instant("acknowledged_at", false);
            let completed_at = instant("completed_at", false);
            let items = csv_table::count(&file, row, "items", true, problems);
            for (column, at) in [
                ("acknowledged_at", &acknowledged_at),
                ("completed_at", &completed_at),
            ] {
                if let (Ok(Some(sent_at)), Ok(Some(at))) = (&sent_at, at)
                    && at < sent_at
                {
                    let (at, sent_at) = (*at, *sent_at);
                    problems.push(
                        here(
                            column,
                            format!(
                                "{} is before sent_at {}",
                                format_instant(&at),
                                format_instant(&sent_at)
                            ),
                        )
                        .help("a partner cannot answer a request before it was sent; correct one of the dates"),
                    );
                }
            }
            let (
                Ok(Some(sent_at)),
                Ok(acknowledged_at),
                Ok(completed_at),
                Ok(Some(items)),
                Ok(export),
                Ok(reason),
            ) = (
                sent_at,
                acknowledged_at,
                completed_at,
                items,
                export,
                reason,
            )
            else {
                continue;
            };
            // A request about a batch cannot be sent before the batch left.
            let batch = export
                .as_ref()
                .and_then(|id| exports?.iter().find(|e| e.id == *id));
            if let Some(e) = batch.filter(|e| e.exported_at > sent_at) {
                problems.push(
                    here(
                        "sent_at",
                        format!(
                            "{} is before export `{}` was exported ({})",
                            format_instant(&sent_at),
                            e.id,
                            format_instant(&e.exported_at)
                        ),
                    )
                    .help("correct sent_at or export: a request can only ask to delete items the partner already has"),
                );
                continue;
            }
            out.push(DeletionRequest {
                request_id: id,
                partner: PartnerId(partner.to_owned()),
                sent_at,
                items,
                acknowledged_at,
                completed_at,
                export,
                reason,
            });
        }
    }
    out.sort_by(|a, b| {
        (&a.partner, a.sent_at, &a.request_id).cmp(&(&b.partner, b.sent_at, &b.request_id))
    });
    out
}
