//! Findings as published: their rows of `data/findings.csv` and their sentences, written with
//! the numbers the publish stage decided (never the raw ones).

use serde::Serialize;

use crate::aggregate::findings::{Detail, Finding};
use crate::error::Result;
use crate::i18n::{Arg, Lang};
use crate::model::{HonoursOptOut, Report, Severity};
use crate::publish::{Count, Shown};

/// One row of `data/findings.csv` (SPEC column order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PublishedFinding {
    pub(crate) id: &'static str,
    pub(crate) severity: Severity,
    pub(crate) partner: String,
    pub(crate) export: String,
    pub(crate) flag: String,
    pub(crate) count: Count,
    pub(crate) message: String,
    /// When the platform responded (`data/responses.yaml`), as `YYYY-MM-DD`.
    pub(crate) response_date: Option<String>,
    /// The platform's response, in Markdown as written.
    pub(crate) response: Option<String>,
}

/// "12 items", "1 item", or "a suppressed number of items".
fn items_text(lang: &Lang, n: Count) -> Result<String> {
    match n {
        Count::Exact(n) => lang.f("finding.items", &[("n", n.into())]),
        Count::Band(..) => lang.f("finding.items_band", &[("band", lang.count(n).into())]),
        Count::Hidden(_) | Count::NotDeclared => lang.t("finding.items_suppressed"),
    }
}

/// " N deletion requests naming this batch for <reason> asked for …": what was asked to be
/// deleted of a batch's opted-out or sensitive items (empty when the report's requests name no
/// batch).
fn requested_text(
    lang: &Lang,
    requested: Option<(u64, Count, u64)>,
    reason: &str,
) -> Result<String> {
    let Some((requests, items, completed)) = requested else {
        return Ok(String::new());
    };
    let reason = lang.t(&format!("finding.reason.{reason}"))?;
    let text = if requests == 0 {
        lang.f("finding.requested_none", &[("reason", reason.into())])?
    } else {
        lang.f(
            "finding.requested",
            &[
                ("n", requests.into()),
                ("reason", reason.into()),
                ("items", items_text(lang, items)?.into()),
                ("completed", completed.into()),
            ],
        )?
    };
    Ok(format!(" {text}"))
}

/// The value that chooses a sentence's plural form: the count, or none when it is suppressed
/// (the "other" form, as for "a suppressed number of items … were").
fn n_of(n: Count) -> Arg {
    n.exact().map_or_else(|| Arg::S(String::new()), Arg::N)
}

/// The reader's sentence for a finding, with its published count (`count`) and, for a declared
/// count mismatch, the export's published total (`listed`).
fn message(report: &Report, lang: &Lang, f: &Finding, shown: &Shown) -> Result<String> {
    let Shown {
        count,
        listed_total,
        declared_total,
        overdue_items,
        requested,
    } = *shown;
    let partner = report
        .partner(&f.partner)
        .map_or(f.partner.as_str(), |p| p.name.as_str());
    let export = f.export.as_deref().unwrap_or("");
    let date = report
        .exports
        .iter()
        .find(|e| e.id.as_str() == export)
        .map(|e| lang.instant(&e.exported_at))
        .unwrap_or_default();
    let items = items_text(lang, count)?;
    let common = |extra: Vec<(&'static str, Arg)>| -> Vec<(&'static str, Arg)> {
        let mut args: Vec<(&'static str, Arg)> = vec![
            ("n", n_of(count)),
            ("items", items.clone().into()),
            ("partner", partner.into()),
            ("export", export.into()),
        ];
        args.extend(extra);
        args
    };
    Ok(match &f.detail {
        Detail::OptedOut {
            claimed,
            declared,
            partial,
        } => {
            let key = match (declared, partial) {
                (true, true) => "finding.opted_out_declared_partial",
                (true, false) => "finding.opted_out_declared",
                _ => "finding.opted_out",
            };
            let mut s = lang.f(key, &common(vec![("date", date.into())]))?;
            if *claimed {
                s.push(' ');
                s.push_str(&lang.t("finding.opted_out_claimed")?);
            }
            s.push_str(&requested_text(lang, requested, "opt_out")?);
            s
        }
        Detail::Sensitive { claimed } => {
            let flag = f.flag.as_deref().unwrap_or("");
            let what = lang.t(&format!("finding.flag.{flag}"))?;
            let s = match claimed {
                Some(filter) => lang.f(
                    "finding.sensitive_claimed",
                    &common(vec![("what", what.into()), ("filter", (*filter).into())]),
                )?,
                None => lang.f("finding.sensitive", &common(vec![("what", what.into())]))?,
            };
            s + &requested_text(lang, requested, "sensitive")?
        }
        Detail::Mismatch { .. } => {
            // How the totals compare follows from the two when both are published; when either
            // is hidden, even "more" or "the same" would tell something about it.
            let diff = match (declared_total.exact(), listed_total.exact()) {
                (Some(declared), Some(listed)) => {
                    let amount = |n: u64| items_text(lang, Count::Exact(n));
                    if listed > declared {
                        lang.f(
                            "finding.diff_more",
                            &[("items", amount(listed - declared)?.into())],
                        )?
                    } else if declared > listed {
                        lang.f(
                            "finding.diff_fewer",
                            &[("items", amount(declared - listed)?.into())],
                        )?
                    } else {
                        lang.t("finding.diff_same")?
                    }
                }
                _ => lang.t("finding.diff_hidden")?,
            };
            lang.f(
                "finding.mismatch",
                &[
                    ("n", n_of(count)),
                    ("export", export.into()),
                    ("declared", items_text(lang, declared_total)?.into()),
                    ("listed", items_text(lang, listed_total)?.into()),
                    ("diff", diff.into()),
                ],
            )?
        }
        Detail::OutsideWindow { exact, window } => {
            let window = match *window {
                (Some(a), Some(b)) => lang.f(
                    "format.range",
                    &[("from", lang.date(a).into()), ("to", lang.date(b).into())],
                )?,
                (Some(a), None) => {
                    lang.f("finding.window_from", &[("from", lang.date(a).into())])?
                }
                (None, Some(b)) => lang.f("finding.window_to", &[("to", lang.date(b).into())])?,
                (None, None) => String::new(),
            };
            let key = match (exact, count) {
                (true, _) => "finding.outside",
                (false, Count::Exact(_)) => "finding.outside_at_least",
                (false, _) => "finding.outside_suppressed",
            };
            lang.f(key, &common(vec![("window", window.into())]))?
        }
        Detail::Checksum { files } => lang.f(
            "finding.checksum",
            &[
                ("n", n_of(count)),
                ("export", export.into()),
                ("files", files.join(", ").into()),
            ],
        )?,
        Detail::Deletion {
            late, open, days, ..
        } => {
            let mut parts = Vec::new();
            if *late > 0 {
                parts.push(lang.f("finding.completed_late", &[("n", (*late).into())])?);
            }
            if *open > 0 {
                parts.push(lang.f(
                    "finding.still_open",
                    &[
                        ("n", (*open).into()),
                        ("date", lang.date(report.meta.published).into()),
                    ],
                )?);
            }
            lang.f(
                "finding.deletion",
                &[
                    ("n", n_of(count)),
                    ("partner", partner.into()),
                    ("items", items_text(lang, overdue_items)?.into()),
                    (
                        "days",
                        lang.counted("deadline_days", Count::Exact(u64::from(*days)))
                            .into(),
                    ),
                    ("parts", parts.join(", ").into()),
                ],
            )?
        }
        Detail::NotHonoured { stance } => match stance {
            HonoursOptOut::No => lang.f("finding.not_honoured_no", &common(vec![]))?,
            _ => lang.f("finding.not_honoured_unknown", &common(vec![]))?,
        },
        Detail::Statistics { months } => {
            let shown: Vec<String> = months.iter().take(6).map(|m| lang.month(m)).collect();
            let more = if months.len() > shown.len() {
                lang.f(
                    "finding.and_more",
                    &[("n", (months.len() - shown.len()).into())],
                )?
            } else {
                String::new()
            };
            lang.f(
                "finding.statistics",
                &[
                    ("n", n_of(count)),
                    ("months", shown.join(", ").into()),
                    ("more", more.into()),
                ],
            )?
        }
    })
}

/// The sentence with its first letter upper-case ("fewer than 10 items…" → "Fewer than 10 items…").
fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// Findings as published: their numbers as the publish stage decided them (`shown`, in the
/// same order), sentences written.
pub(crate) fn publish(
    report: &Report,
    lang: &Lang,
    findings: &[Finding],
    shown: &[Shown],
) -> Result<Vec<PublishedFinding>> {
    findings
        .iter()
        .zip(shown)
        .map(|(f, shown)| {
            let count = shown.count;
            Ok(PublishedFinding {
                id: f.kind.id(),
                severity: f.severity,
                partner: f.partner.clone(),
                export: f.export.clone().unwrap_or_default(),
                flag: f.flag.clone().unwrap_or_default(),
                count,
                message: capitalise(&message(report, lang, f, shown)?),
                response_date: f.response.as_ref().map(|r| r.date.to_string()),
                response: f.response.as_ref().map(|r| r.text.clone()),
            })
        })
        .collect()
}
