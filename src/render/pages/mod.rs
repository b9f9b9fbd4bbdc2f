//! The pages: one module per page type, each rendering its template from the publication. The
//! shared context (navigation, the site's facts) and the lists several pages show live here.

mod content;
mod corrections;
mod data;
mod export;
mod findings;
mod opt_outs;
mod overview;
mod partner;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::charts::Chart;
use super::charts::year_range;
use super::findings::PublishedFinding;
use super::{dictionary, feeds, markdown, package, partner_name, safe_url, templates};
use crate::aggregate::Tables;
use crate::error::Result;
use crate::i18n::Lang;
use crate::model::{Export, Partner, Report};
use crate::publish::protect::Protection;
use crate::publish::{Count, Rules};

/// The finding ids, for the findings page's "what each check means".
const FINDING_KINDS: [&str; 8] = [
    "opted-out-content-shared",
    "sensitive-content-shared",
    "declared-count-mismatch",
    "outside-content-window",
    "checksum-mismatch",
    "deletion-overdue",
    "opt-out-not-honoured",
    "opt-out-statistics-mismatch",
];

/// Page rendering with the shared context.
pub(crate) struct Pages<'a> {
    pub(crate) report: &'a Report,
    pub(crate) t: &'a Tables<Count>,
    pub(crate) engine: &'a templates::Engine,
    pub(crate) findings: &'a [PublishedFinding],
    pub(crate) protection: &'a Protection,
    /// An auditor's build: exact counts, marked "not for publication".
    pub(crate) exact: bool,
    /// The rules the publication was made by (for the labels that describe it).
    pub(crate) rules: &'a Rules,
    /// The tables as this build writes them.
    pub(crate) docs: &'a [dictionary::TableDoc],
    /// The report's language.
    pub(crate) lang: &'a Lang,
}

impl Pages<'_> {
    pub(crate) fn count(&self, n: Count) -> String {
        self.lang.count(n)
    }

    /// A partner's purposes in the report's language.
    pub(crate) fn purposes(&self, partner: &Partner) -> Result<Vec<String>> {
        partner
            .purposes
            .iter()
            .map(|p| self.lang.t(&format!("purpose.{}", p.slug())))
            .collect()
    }

    pub(crate) fn severity_label(&self, s: crate::model::Severity) -> Result<String> {
        self.lang.t(&format!("severity.{}", s.slug()))
    }

    /// The context every page gets; `root` is the relative path back to the site root.
    pub(crate) fn base(&self, root: &str, current: &str, title: &str) -> Result<Value> {
        let m = &self.report.meta;
        let l = self.lang;
        let mut nav = vec![
            json!({"title": l.t("nav.overview")?, "href": format!("{root}index.html"), "current": current == "index"}),
            json!({"title": l.t("nav.findings")?, "href": format!("{root}findings/index.html"), "current": current == "findings"}),
            json!({"title": l.t("nav.opt_outs")?, "href": format!("{root}opt-outs/index.html"), "current": current == "opt-outs"}),
            json!({"title": l.t("nav.data")?, "href": format!("{root}data/index.html"), "current": current == "data"}),
        ];
        for page in self.report.pages.iter().filter(|p| p.in_nav) {
            nav.push(json!({
                "title": page.title,
                "href": format!("{root}{}/index.html", page.slug),
                "current": current == page.slug,
            }));
        }
        Ok(json!({
            "root": root,
            "page_title": title,
            "not_for_publication": self.exact,
            "nav": nav,
            "site": {
                "title": m.title,
                "platform": m.platform.name,
                "platform_url": safe_url(m.platform.url.as_deref()),
                "contact": m.platform.contact,
                "contact_url": m.platform.contact.as_deref().and_then(|c| {
                    if c.contains('@') && !c.contains(':') { Some(format!("mailto:{c}")) } else { safe_url(Some(c)) }
                }),
                "published": m.published.to_string(),
                "period_from": m.period_from.to_string(),
                "period_to": m.period_to.to_string(),
                "published_text": l.date(m.published),
                "period_from_text": l.date(m.period_from),
                "period_to_text": l.date(m.period_to),
                "language": l.tag(),
                "hides_up_to": self.rules.hides_up_to(),
                "auditor": self.exact,
            },
        }))
    }

    pub(crate) fn render(
        &self,
        template: &str,
        ctx: Result<Value>,
        extra: Value,
    ) -> Result<Vec<u8>> {
        let mut ctx = ctx?;
        if let (Some(ctx), Some(extra)) = (ctx.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                ctx.insert(k.clone(), v.clone());
            }
        }
        self.engine.render(template, &ctx).map(String::into_bytes)
    }

    /// Findings for the templates, filtered by `keep`.
    pub(crate) fn finding_list(
        &self,
        root: &str,
        keep: impl Fn(&PublishedFinding) -> bool,
    ) -> Result<Vec<Value>> {
        self.findings
            .iter()
            .filter(|f| keep(f))
            .map(|f| {
                Ok(json!({
                    "id": f.id,
                    "severity": f.severity.slug(),
                    "severity_label": self.severity_label(f.severity)?,
                    "partner": (!f.partner.is_empty()).then(|| partner_name(self.report, &f.partner)),
                    "partner_href": (!f.partner.is_empty()).then(|| format!("{root}partners/{}/index.html", f.partner)),
                    "export": (!f.export.is_empty()).then_some(&f.export),
                    "export_href": (!f.export.is_empty()).then(|| format!("{root}exports/{}/index.html", f.export)),
                    "flag": if f.flag.is_empty() { None } else { Some(self.lang.t(&format!("flag.{}", f.flag))?) },
                    "count": self.count(f.count),
                    "message": f.message,
                }))
            })
            .collect()
    }

    /// Findings per severity, for summaries: [{severity, label, n}] for each severity.
    pub(crate) fn finding_counts(
        &self,
        keep: impl Fn(&PublishedFinding) -> bool,
    ) -> Result<Vec<Value>> {
        use crate::model::Severity;
        [Severity::High, Severity::Medium, Severity::Info]
            .iter()
            .map(|s| {
                let n = self
                    .findings
                    .iter()
                    .filter(|f| f.severity == *s && keep(f))
                    .count();
                Ok(json!({"severity": s.slug(), "label": self.severity_label(*s)?, "n": n}))
            })
            .collect()
    }

    pub(crate) fn export_summary(
        &self,
        root: &str,
        e: &crate::aggregate::ExportRow<Count>,
    ) -> Result<Value> {
        Ok(json!({
            "id": e.export,
            "href": format!("{root}exports/{}/index.html", e.export),
            "partner": partner_name(self.report, &e.partner),
            "partner_href": format!("{root}partners/{}/index.html", e.partner),
            "exported_at": self.lang.instant_text(&e.exported_at),
            "items": self.count(e.items),
            "categories": self.lang.number(e.categories),
            "opt_outs_in_force": e.opt_outs_in_force.map(|n| self.count(n)),
            "years": match (e.first_year, e.last_year) {
                (Some(a), Some(b)) if a == b => a.to_string(),
                (Some(a), Some(b)) => format!("{a}–{b}"),
                _ => "–".to_owned(),
            },
        }))
    }

    /// "12 High, 10 Medium, 2 Info" from [`Pages::finding_counts`], for the overview's sentence.
    pub(crate) fn findings_phrase(&self, counts: &[Value]) -> Result<String> {
        let parts = counts
            .iter()
            .filter(|c| c["n"].as_u64().unwrap_or(0) > 0)
            .map(|c| {
                self.lang.f(
                    "index.findings_part",
                    &[
                        ("n", c["n"].as_u64().unwrap_or(0).into()),
                        ("severity", c["label"].as_str().unwrap_or("").into()),
                    ],
                )
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(parts.join(&self.lang.t("format.list_separator")?))
    }
}
