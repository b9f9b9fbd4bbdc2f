//! Render stage: checked report + [`Publication`] → [`Site`], every file in memory. Render only
//! presents: every count arrives decided (exact, banded, hidden or not declared) and is shown as
//! it is. Nothing here touches disk.
//!
//! `pages/` has one module per page type, `charts/` draws the charts and builds each from the
//! publication, `downloads` writes the tables, `dictionary` describes them and `package` turns
//! that description into the Data Package and Croissant metadata.

mod charts;
pub(crate) mod dictionary;
mod downloads;
mod feeds;
mod findings;
pub(crate) mod format;
pub(crate) mod markdown;
mod package;
mod pages;
mod templates;
mod workbook;

use std::collections::BTreeMap;

use self::charts::{
    deletion_chart, opt_out_chart, overview_charts, partner_chart, protection_chart, signal_chart,
};
use self::downloads::{Output, add_downloads, doc_for};
use self::pages::Pages;
use crate::error::Result;
use crate::i18n::Lang;
use crate::model::Report;
use crate::publish::Publication;

/// The `verify/` page's script.
const VERIFY_JS: &str = include_str!("../../templates/verify.js");

/// The built site: output paths (with `/`) → bytes, in sorted order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Site {
    /// Every file of the site.
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Site {
    fn add(&mut self, path: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.files.insert(path.into(), bytes.into());
    }
}

/// Renders every page, chart and download of a publication: every count is shown as the
/// publish stage decided it.
pub(crate) fn render(
    report: &Report,
    publication: &Publication,
    previous: Option<&crate::releases::Previous>,
) -> Result<Site> {
    let exact = publication.rules.is_auditor();
    let rules = &publication.rules;
    let t = &publication.tables;
    let lang = std::sync::Arc::new(Lang::new(report.catalogue.clone())?);
    let engine = templates::Engine::new(&report.template_overrides, &lang)?;
    let mut site = Site::default();

    site.add("assets/style.css", engine.stylesheet().as_bytes().to_vec());
    let published_findings = findings::publish(report, &lang, &t.findings, &publication.findings)?;
    let output = Output {
        rules,
        hides_any: publication.hides_any,
    };
    let totals = downloads::item_totals(t);
    let files = downloads::shipped_files(report, &t.findings);
    add_downloads(
        &mut site,
        report,
        t,
        &published_findings,
        &totals,
        &files,
        output,
    )?;
    let docs: Vec<_> = dictionary::all()
        .into_iter()
        .map(|d| doc_for(d, output))
        .collect();

    let lang: &Lang = &lang;
    let overview_charts = overview_charts(report, rules, t, lang)?;
    let band = |table: &str| rules.bands_for(table).map(|b| b.width);
    let opt_out_chart = opt_out_chart(t, band("opt-outs-monthly"), lang)?;
    let signal_chart = signal_chart(rules, t, band("opt-outs-monthly"), lang)?;
    let protection_chart = protection_chart(rules, t, band("protections-monthly"), lang)?;
    let partner_charts = report
        .partners
        .iter()
        .map(|p| partner_chart(report, rules, t, p, lang))
        .collect::<Result<Vec<_>>>()?;
    let deletion_charts = report
        .partners
        .iter()
        .map(|p| deletion_chart(t, p, lang))
        .collect::<Result<Vec<_>>>()?;
    for chart in overview_charts
        .iter()
        .chain(&opt_out_chart)
        .chain(&signal_chart)
        .chain(&protection_chart)
        .chain(&partner_charts)
        .chain(deletion_charts.iter().flatten())
    {
        if chart.drawn {
            site.add(chart.file.clone(), chart.svg.clone().into_bytes());
        }
    }

    let pages = Pages {
        report,
        t,
        engine: &engine,
        findings: &published_findings,
        protection: &publication.protection,
        exact,
        rules,
        hides_any: publication.hides_any,
        docs: &docs,
        files: &files,
        lang,
        hidden: &publication.hidden,
        commitments: publication.commitments.as_ref(),
    };
    site.add("index.html", pages.overview(&overview_charts)?);
    for ((partner, chart), deletions) in report
        .partners
        .iter()
        .zip(&partner_charts)
        .zip(&deletion_charts)
    {
        site.add(
            format!("partners/{}/index.html", partner.id),
            pages.partner(partner, chart, deletions.as_ref())?,
        );
    }
    for export in &report.exports {
        site.add(
            format!("exports/{}/index.html", export.id),
            pages.export(export)?,
        );
    }
    site.add(
        "opt-outs/index.html",
        pages.opt_outs([&opt_out_chart, &signal_chart, &protection_chart])?,
    );
    site.add("findings/index.html", pages.findings()?);
    site.add("data/index.html", pages.data()?);
    let rows: BTreeMap<&str, usize> = [
        ("shared-items", t.shared_items.len()),
        ("item-totals", totals.len()),
        ("shipped-files", files.len()),
        ("exports", t.exports.len()),
        ("partners", t.partners.len()),
        ("opt-outs-monthly", t.opt_outs_monthly.len()),
        ("opt-out-scopes", t.scopes.len()),
        ("protections-monthly", t.protections.len()),
        ("deletions", t.deletions.len()),
        ("deletions-by-export", t.deletions_by_export.len()),
        ("findings", published_findings.len()),
    ]
    .into_iter()
    .collect();
    site.add(
        "data/about.html",
        pages.about_data(&rows, !report.corrections.is_empty())?,
    );
    site.add("corrections/index.html", pages.corrections()?);
    if let Some(c) = &publication.commitments {
        site.add("data/commitments.json", downloads::json(c)?);
        site.add("verify/index.html", pages.verify(c)?);
        site.add("assets/verify.js", VERIFY_JS);
    }
    site.add("CITATION.cff", citation(report, rules));
    for page in &report.pages {
        site.add(format!("{}/index.html", page.slug), pages.content(page)?);
    }
    site.add("feed.xml", feeds::feed(report, &t.exports, lang)?);
    let summary = feeds::summary(report, publication, &published_findings);
    site.add("data/report.json", downloads::json(&summary)?);
    let version = env!("CARGO_PKG_VERSION");
    let package = package::datapackage(report, &docs, &site, version, publication);
    site.add("data/datapackage.json", downloads::json(&package)?);
    let croissant = package::croissant(report, &docs, &site, publication);
    site.add("data/croissant.json", downloads::json(&croissant)?);
    let sitemap = feeds::sitemap(report, &site);
    site.add("sitemap.xml", sitemap);
    if exact {
        mark_not_for_publication(&mut site);
    }
    // Last: the checksums cover every other file in data/.
    let mut sums = feeds::checksums(&site);
    if exact {
        sums = format!("# {}\n{sums}", dictionary::NOT_FOR_PUBLICATION_TEXT);
    }
    site.add("data/SHA256SUMS", sums);
    if let Some(previous) = previous {
        // The release history, and what changed since the last release (from the published
        // tables of both): after the checksums, whose hash the releases page shows.
        let published = report.meta.published;
        previous.check_republished(published, site.files.get("data/SHA256SUMS"))?;
        previous.carry(&mut site, published)?;
        if let Some(side) = previous.side(published) {
            let changes =
                crate::diff::compare(&side, &crate::diff::Side::from_site(String::new(), &site))?;
            let sums = site
                .files
                .get("data/SHA256SUMS")
                .map_or_else(String::new, |b| crate::releases::hex_sha256(b));
            site.add(
                "releases/index.html",
                pages.releases(previous, &changes, &sums)?,
            );
            let mut sitemap = feeds::sitemap(report, &site).into_bytes();
            if exact {
                mark_file("sitemap.xml", &mut sitemap);
            }
            site.add("sitemap.xml", sitemap);
        }
    }
    Ok(site)
}

/// `CITATION.cff` (Citation File Format 1.2.0) at the site root, so the data can be cited.
fn citation(report: &Report, rules: &crate::publish::Rules) -> String {
    let m = &report.meta;
    // YAML double-quoted scalars: escape backslashes and quotes, keep it on one line.
    let q = |s: &str| {
        format!(
            "\"{}\"",
            s.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace(['\n', '\r'], " ")
        )
    };
    let mut out = String::from(
        "# This file lets you cite the report and its data: https://citation-file-format.github.io/\n",
    );
    out.push_str("cff-version: 1.2.0\n");
    out.push_str("message: \"If you use these data, please cite them as below.\"\n");
    out.push_str("type: dataset\n");
    out.push_str(&format!("title: {}\n", q(&m.title)));
    out.push_str(&format!("authors:\n  - name: {}\n", q(&m.platform.name)));
    if let Some(url) = safe_url(m.platform.url.as_deref()) {
        out.push_str(&format!("    website: {}\n", q(&url)));
    }
    if let Some(mail) = m
        .platform
        .contact
        .as_deref()
        .filter(|c| c.contains('@') && !c.contains(':'))
    {
        out.push_str(&format!("    email: {}\n", q(mail)));
    }
    out.push_str(&format!("date-released: {}\n", m.published));
    out.push_str(&format!("version: {}\n", q(&m.published.to_string())));
    if m.base_url.starts_with("http") {
        out.push_str(&format!("url: {}\n", q(&m.base_url)));
    }
    if let Some(l) = &m.license {
        out.push_str(&format!("license: {}\n", q(&l.id)));
    }
    out.push_str(&format!(
        "abstract: {}\n",
        q(&package::description(report, rules))
    ));
    out.push_str(
        "keywords:\n  - transparency report\n  - AI training data\n  - data sharing\n  - opt-out\n",
    );
    out
}

/// Marks the files an auditor's build has not marked yet (stylesheet, charts, feed, sitemap,
/// citation) with a comment; pages carry a banner and the tables a column.
fn mark_not_for_publication(site: &mut Site) {
    for (path, bytes) in &mut site.files {
        mark_file(path, bytes);
    }
}

/// Marks one file of an auditor's build (see [`mark_not_for_publication`]).
fn mark_file(path: &str, bytes: &mut Vec<u8>) {
    let text = dictionary::NOT_FOR_PUBLICATION_TEXT;
    {
        let comment = if path.ends_with(".css") {
            format!("/* {text} */\n")
        } else if path.ends_with(".cff") {
            format!("# {text}\n")
        } else if path.ends_with(".svg") || path.ends_with(".xml") {
            format!("<!-- {text} -->\n")
        } else {
            return;
        };
        // After an XML declaration, which must come first.
        let at = if bytes.starts_with(b"<?xml") {
            bytes.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1)
        } else {
            0
        };
        bytes.splice(at..at, comment.into_bytes());
    }
}

/// A URL from the input that may become a link: only http(s) and mailto.
pub(crate) fn safe_url(url: Option<&str>) -> Option<String> {
    let url = url?.trim();
    let lower = url.to_ascii_lowercase();
    ["https://", "http://", "mailto:"]
        .iter()
        .any(|s| lower.starts_with(s))
        .then(|| url.to_owned())
}

pub(crate) fn partner_name<'a>(report: &'a Report, id: &'a str) -> &'a str {
    report.partner(id).map_or(id, |p| p.name.as_str())
}
