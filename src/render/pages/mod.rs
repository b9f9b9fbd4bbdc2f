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
mod releases;
mod verify;

use std::collections::BTreeMap;

use serde::Serialize;

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
    /// Whether any count may be hidden (see `Publication::hides_any`).
    pub(crate) hides_any: bool,
    /// The tables as this build writes them.
    pub(crate) docs: &'a [dictionary::TableDoc],
    /// Every shipped file and whether its checksum was verified.
    pub(crate) files: &'a [super::downloads::ShippedFileRow],
    /// The report's language.
    pub(crate) lang: &'a Lang,
    /// Per table, how many of its counts are hidden.
    pub(crate) hidden: &'a [crate::publish::HiddenShare],
    /// The receipts' commitments, when the build makes them.
    pub(crate) commitments: Option<&'a crate::receipts::Commitments>,
}

/// A link of the main navigation.
#[derive(Serialize)]
pub(crate) struct NavItem {
    title: String,
    href: String,
    current: bool,
}

/// The report's facts every page shows (header, footer, labels).
#[derive(Serialize)]
pub(crate) struct SiteView {
    title: String,
    platform: String,
    platform_url: Option<String>,
    contact: Option<String>,
    contact_url: Option<String>,
    published: String,
    period_from: String,
    period_to: String,
    published_text: String,
    period_from_text: String,
    period_to_text: String,
    language: String,
    /// The largest count hidden for being small; `None` when nothing is (auditor's build,
    /// `min_count: 1`), so that no label claims suppression.
    hides_up_to: Option<u64>,
    /// Whether any count may be hidden: small ones, or ones hidden to protect a band (with
    /// `min_count: 1` and bands).
    hides_any: bool,
    auditor: bool,
    /// The threshold in force (1 when nothing is suppressed). Kept so that template overrides
    /// written before `hides_up_to` still render; new templates use `hides_up_to`.
    min_count: u64,
    /// The minisign public key that verifies `data/SHA256SUMS.minisig`, if the report publishes one.
    signing_key: Option<String>,
    /// Whether the site carries earlier releases (`build --previous`): pages link to them.
    releases: bool,
}

/// The context every page gets.
#[derive(Serialize)]
pub(crate) struct Base {
    /// The relative path back to the site root.
    root: String,
    page_title: String,
    not_for_publication: bool,
    nav: Vec<NavItem>,
    site: SiteView,
}

/// A page's whole context: the shared part and the page's own view.
#[derive(Serialize)]
struct Context<'a, V: Serialize> {
    #[serde(flatten)]
    base: Base,
    #[serde(flatten)]
    view: &'a V,
}

/// A finding as the pages list it.
#[derive(Serialize)]
pub(crate) struct FindingView {
    id: &'static str,
    severity: &'static str,
    severity_label: String,
    partner: Option<String>,
    partner_href: Option<String>,
    export: Option<String>,
    export_href: Option<String>,
    flag: Option<String>,
    count: String,
    message: String,
    /// The platform's response: its date and its sanitised HTML.
    response: Option<ResponseView>,
}

/// A finding's response on a page.
#[derive(Serialize)]
pub(crate) struct ResponseView {
    label: String,
    html: String,
}

/// How many findings of one severity.
#[derive(Serialize)]
pub(crate) struct SeverityCount {
    severity: &'static str,
    label: String,
    n: usize,
}

/// An export batch as the overview and partner pages list it.
#[derive(Serialize)]
pub(crate) struct ExportSummary {
    id: String,
    href: String,
    partner: String,
    partner_href: String,
    exported_at: String,
    items: String,
    categories: String,
    opt_outs_in_force: Option<String>,
    years: String,
}

impl Pages<'_> {
    pub(crate) fn count(&self, n: Count) -> String {
        self.lang.count(n)
    }

    /// A response's `YYYY-MM-DD` date in the report's language.
    fn response_date(&self, iso: &str) -> String {
        chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d")
            .map_or_else(|_| iso.to_owned(), |d| self.lang.date(d))
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
    pub(crate) fn base(&self, root: &str, current: &str, title: &str) -> Result<Base> {
        let m = &self.report.meta;
        let l = self.lang;
        let item = |title: String, href: String, here: bool| NavItem {
            title,
            href,
            current: here,
        };
        let mut nav = vec![
            item(
                l.t("nav.overview")?,
                format!("{root}index.html"),
                current == "index",
            ),
            item(
                l.t("nav.findings")?,
                format!("{root}findings/index.html"),
                current == "findings",
            ),
            item(
                l.t("nav.opt_outs")?,
                format!("{root}opt-outs/index.html"),
                current == "opt-outs",
            ),
            item(
                l.t("nav.data")?,
                format!("{root}data/index.html"),
                current == "data",
            ),
        ];
        for page in self.report.pages.iter().filter(|p| p.in_nav) {
            nav.push(item(
                page.title.clone(),
                format!("{root}{}/index.html", page.slug),
                current == page.slug,
            ));
        }
        let contact_url = m.platform.contact.as_deref().and_then(|c| {
            if c.contains('@') && !c.contains(':') {
                Some(format!("mailto:{c}"))
            } else {
                safe_url(Some(c))
            }
        });
        Ok(Base {
            root: root.to_owned(),
            page_title: title.to_owned(),
            not_for_publication: self.exact,
            nav,
            site: SiteView {
                title: m.title.clone(),
                platform: m.platform.name.clone(),
                platform_url: safe_url(m.platform.url.as_deref()),
                contact: m.platform.contact.clone(),
                contact_url,
                published: m.published.to_string(),
                period_from: m.period_from.to_string(),
                period_to: m.period_to.to_string(),
                published_text: l.date(m.published),
                period_from_text: l.date(m.period_from),
                period_to_text: l.date(m.period_to),
                language: l.tag().to_owned(),
                hides_up_to: self.rules.hides_up_to(),
                hides_any: self.hides_any,
                auditor: self.exact,
                min_count: self.rules.hides_up_to().map_or(1, |m| m + 1),
                signing_key: m.signing_key.clone().filter(|_| self.report.signed),
                releases: self.report.previous_release.is_some(),
            },
        })
    }

    /// Renders `template` with the shared context and the page's view.
    pub(crate) fn render<V: Serialize>(
        &self,
        template: &str,
        base: Result<Base>,
        view: &V,
    ) -> Result<Vec<u8>> {
        let context = Context { base: base?, view };
        let value = serde_json::to_value(&context).map_err(|e| {
            crate::error::Error::Internal(format!("the context of {template} failed: {e}"))
        })?;
        self.engine.render(template, &value).map(String::into_bytes)
    }

    /// Findings for the templates, filtered by `keep`.
    pub(crate) fn finding_list(
        &self,
        root: &str,
        keep: impl Fn(&PublishedFinding) -> bool,
    ) -> Result<Vec<FindingView>> {
        self.findings
            .iter()
            .filter(|f| keep(f))
            .map(|f| {
                let partner = (!f.partner.is_empty()).then_some(f.partner.as_str());
                let export = (!f.export.is_empty()).then_some(f.export.as_str());
                Ok(FindingView {
                    id: f.id,
                    severity: f.severity.slug(),
                    severity_label: self.severity_label(f.severity)?,
                    partner: partner.map(|p| partner_name(self.report, p).to_owned()),
                    partner_href: partner.map(|p| format!("{root}partners/{p}/index.html")),
                    export: export.map(str::to_owned),
                    export_href: export.map(|e| format!("{root}exports/{e}/index.html")),
                    flag: match f.flag.as_str() {
                        "" => None,
                        flag => Some(self.lang.t(&format!("flag.{flag}"))?),
                    },
                    count: self.count(f.count),
                    message: f.message.clone(),
                    response: match (&f.response_date, &f.response) {
                        (Some(date), Some(text)) => Some(ResponseView {
                            label: self.lang.f(
                                "finding.response",
                                &[("date", self.response_date(date).into())],
                            )?,
                            html: crate::render::markdown::render(text).html,
                        }),
                        _ => None,
                    },
                })
            })
            .collect()
    }

    /// Findings per severity, for summaries, most serious first.
    pub(crate) fn finding_counts(
        &self,
        keep: impl Fn(&PublishedFinding) -> bool,
    ) -> Result<Vec<SeverityCount>> {
        use crate::model::Severity;
        [Severity::High, Severity::Medium, Severity::Info]
            .iter()
            .map(|s| {
                Ok(SeverityCount {
                    severity: s.slug(),
                    label: self.severity_label(*s)?,
                    n: self
                        .findings
                        .iter()
                        .filter(|f| f.severity == *s && keep(f))
                        .count(),
                })
            })
            .collect()
    }

    pub(crate) fn export_summary(
        &self,
        root: &str,
        e: &crate::aggregate::ExportRow<Count>,
    ) -> ExportSummary {
        ExportSummary {
            id: e.export.clone(),
            href: format!("{root}exports/{}/index.html", e.export),
            partner: partner_name(self.report, &e.partner).to_owned(),
            partner_href: format!("{root}partners/{}/index.html", e.partner),
            exported_at: self.lang.instant_text(&e.exported_at),
            items: self.count(e.items),
            categories: self.lang.number(e.categories),
            opt_outs_in_force: e.opt_outs_in_force.map(|n| self.count(n)),
            years: match (e.first_year, e.last_year) {
                (Some(a), Some(b)) if a == b => a.to_string(),
                (Some(a), Some(b)) => format!("{a}–{b}"),
                _ => "–".to_owned(),
            },
        }
    }

    /// "12 High, 10 Medium, 2 Info" from [`Pages::finding_counts`], for the overview's sentence.
    pub(crate) fn findings_phrase(&self, counts: &[SeverityCount]) -> Result<String> {
        let parts = counts
            .iter()
            .filter(|c| c.n > 0)
            .map(|c| {
                self.lang.f(
                    "index.findings_part",
                    &[("n", c.n.into()), ("severity", c.label.as_str().into())],
                )
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(parts.join(&self.lang.t("format.list_separator")?))
    }
}
