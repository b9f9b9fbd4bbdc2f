//! `feed.xml` (Atom 1.0), `sitemap.xml`, `data/report.json` and `data/SHA256SUMS`: the files
//! that tell readers and machines what the site holds. Absolute URLs come from `base_url`.

use sha2::{Digest, Sha256};

use super::Site;
use crate::aggregate::ExportRow;
use crate::error::Result;
use crate::i18n::Lang;
use crate::model::Report;
use crate::publish::Count;

/// XML text or attribute value, escaped.
fn x(text: &str) -> String {
    // Characters XML 1.0 does not allow (NUL and the other C0 controls but tab, LF and CR; the
    // noncharacters U+FFFE and U+FFFF) would make the feed unreadable: they become U+FFFD.
    let text: String = text
        .chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect();
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// `base_url` with exactly one trailing slash.
fn base(report: &Report) -> String {
    format!("{}/", report.meta.base_url.trim_end_matches('/'))
}

/// An instant as Atom wants it: a date becomes midnight UTC.
fn atom_time(text: &str) -> String {
    if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_owned()
    }
}

/// The Atom feed: one entry for the report's publication and one per export batch, newest first,
/// with ids that stay the same from build to build.
pub(crate) fn feed(report: &Report, exports: &[ExportRow<Count>], lang: &Lang) -> Result<String> {
    let base = base(report);
    let published = atom_time(&report.meta.published.to_string());
    let mut entries: Vec<(String, String)> = exports
        .iter()
        .map(|e| -> Result<_> {
            let partner = report
                .partner(&e.partner)
                .map_or(e.partner.as_str(), |p| p.name.as_str());
            let url = format!("{base}exports/{}/", e.export);
            let updated = atom_time(&e.exported_at);
            let entry = format!(
                "  <entry>\n    <id>{id}</id>\n    <title>{title}</title>\n    <link href=\"{id}\"/>\n    <updated>{updated}</updated>\n    <summary>{summary}</summary>\n  </entry>\n",
                id = x(&url),
                title = x(&lang.f(
                    "feed.export_title",
                    &[("export", e.export.as_str().into()), ("partner", partner.into())]
                )?),
                summary = x(&lang.f(
                    "feed.export_summary",
                    &[
                        ("items", lang.counted("items", e.items).into()),
                        ("date", lang.instant_text(&e.exported_at).into()),
                        ("partner", partner.into()),
                    ]
                )?),
            );
            Ok((updated, entry))
        })
        .collect::<Result<_>>()?;
    entries.push((
        published.clone(),
        format!(
            "  <entry>\n    <id>{id}</id>\n    <title>{title}</title>\n    <link href=\"{home}\"/>\n    <updated>{published}</updated>\n    <summary>{summary}</summary>\n  </entry>\n",
            id = x(&format!("{base}#published-{}", report.meta.published)),
            home = x(&base),
            title = x(&lang.f(
                "feed.published_title",
                &[("title", report.meta.title.as_str().into())]
            )?),
            summary = x(&lang.f(
                "feed.published_summary",
                &[
                    ("from", lang.date(report.meta.period_from).into()),
                    ("to", lang.date(report.meta.period_to).into()),
                    ("date", lang.date(report.meta.published).into()),
                ]
            )?),
        ),
    ));
    for c in &report.corrections {
        let updated = atom_time(&c.date.to_string());
        entries.push((
            updated.clone(),
            format!(
                "  <entry>\n    <id>{id}</id>\n    <title>{title}</title>\n    <link href=\"{id}\"/>\n    <updated>{updated}</updated>\n    <summary>{summary}</summary>\n  </entry>\n",
                id = x(&format!("{base}corrections/#{}", correction_anchor(c))),
                title = x(&lang.f("feed.correction_title", &[("date", lang.date(c.date).into())])?),
                summary = x(&lang.f(
                    "feed.correction_summary",
                    &[("what", c.what.as_str().into()), ("why", c.why.as_str().into())]
                )?),
            ),
        ));
    }
    // Newest first; the same instant keeps a stable order by entry text.
    entries.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let updated = entries
        .first()
        .map_or(published.clone(), |(t, _)| t.clone())
        .max(published);
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"{lang}\">\n  <id>{id}</id>\n  <title>{title}</title>\n  <link href=\"{id}\"/>\n  <link rel=\"self\" href=\"{id}feed.xml\"/>\n  <updated>{updated}</updated>\n  <author><name>{author}</name></author>\n",
        id = x(&base),
        title = x(&report.meta.title),
        author = x(&report.meta.platform.name),
        lang = x(lang.tag()),
    );
    for (_, entry) in entries {
        out.push_str(&entry);
    }
    out.push_str("</feed>\n");
    Ok(out)
}

/// A correction's stable anchor: its date and a hash of what changed, so that adding another
/// correction above it in the file does not change it.
pub(crate) fn correction_anchor(c: &crate::model::Correction) -> String {
    let hash = hex::encode(Sha256::digest(c.what.as_bytes()));
    format!("c-{}-{}", c.date, &hash[..8])
}

/// The sitemap: every page of the site, as its folder URL.
pub(crate) fn sitemap(report: &Report, site: &Site) -> String {
    let base = base(report);
    let lastmod = report.meta.published;
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    // Earlier releases' pages are archives, not this release's pages.
    let current = |p: &&String| !p.starts_with("releases/") || p.as_str() == "releases/index.html";
    for path in site
        .files
        .keys()
        .filter(|p| p.ends_with(".html"))
        .filter(current)
    {
        let page = path.trim_end_matches("index.html");
        out.push_str(&format!(
            "  <url><loc>{}</loc><lastmod>{lastmod}</lastmod></url>\n",
            x(&format!("{base}{page}"))
        ));
    }
    out.push_str("</urlset>\n");
    out
}

/// `data/report.json`: a machine-readable summary for dashboards that follow many platforms.
pub(crate) fn summary(
    report: &Report,
    publication: &crate::publish::Publication,
    findings: &[crate::render::findings::PublishedFinding],
) -> serde_json::Value {
    let (rules, t, p) = (
        &publication.rules,
        &publication.tables,
        &publication.protection,
    );
    let exact = rules.is_auditor();
    use crate::model::Severity;
    let m = &report.meta;
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let mut json = serde_json::json!({
        "not_for_publication": exact,
        "status": if exact { super::dictionary::NOT_FOR_PUBLICATION_TEXT } else { "published" },
        "platform": {"name": m.platform.name, "url": m.platform.url},
        "title": m.title,
        "period": {"from": m.period_from.to_string(), "to": m.period_to.to_string()},
        "published": m.published.to_string(),
        "base_url": m.base_url,
        "min_count": rules.hides_up_to().map_or(1, |m| m + 1),
        // What the publish stage did: counts hidden for being small, hidden so that those cannot
        // be worked out, and published as bands.
        "suppression": {"primary": p.primary, "secondary": p.secondary, "banded": p.banded},
        // Per table, its counts (those the inputs give; not the platform's own records) and how
        // many of them are hidden, with the share in whole percent, rounded up.
        "hidden": publication.hidden.iter().map(|h| serde_json::json!({
            "table": h.table,
            "counts": h.counts,
            "hidden": h.hidden,
            "percent": h.percent(),
        })).collect::<Vec<_>>(),
        // The tables published in bands, and the bands' width.
        "bands": match rules {
            crate::publish::Rules::Public { bands: Some(b), .. } => {
                serde_json::json!({"width": b.width, "tables": b.tables})
            }
            _ => serde_json::Value::Null,
        },
        "totals": {
            "items": t.total_items,
            "partners": report.partners.len(),
            "exports": report.exports.len(),
        },
        "partners": t.partners.iter().map(|p| serde_json::json!({
            "partner": p.partner,
            "name": p.name,
            "exports": p.exports,
            "items": p.items,
            "honours_opt_out": p.honours_opt_out,
        })).collect::<Vec<_>>(),
        "findings": {
            "high": count(Severity::High),
            "medium": count(Severity::Medium),
            "info": count(Severity::Info),
        },
        "generator": {"name": "sharelog", "version": env!("CARGO_PKG_VERSION")},
    });
    // Whether this release is signed, and with which key: a later release carrying it checks
    // that its signature is there and verifies.
    if let Some(object) = json.as_object_mut()
        && report.signed
    {
        object.insert("signed".to_owned(), serde_json::json!(true));
        if let Some(key) = &report.meta.signing_key {
            object.insert("signing_key".to_owned(), serde_json::json!(key));
        }
    }
    // Each release commits, through its signed checksums, to the one before it.
    if let (Some((date, sums)), Some(object)) = (&report.previous_release, json.as_object_mut()) {
        object.insert(
            "previous_release".to_owned(),
            serde_json::json!({"published": date, "sums_sha256": sums}),
        );
    }
    json
}

/// `data/SHA256SUMS`: every other file in `data/`, in the format `sha256sum -c` reads, sorted.
pub(crate) fn checksums(site: &Site) -> String {
    site.files
        .iter()
        .filter_map(|(path, bytes)| {
            let name = path.strip_prefix("data/")?;
            (!name.contains('/') && name != "SHA256SUMS")
                .then(|| format!("{}  {name}\n", hex::encode(Sha256::digest(bytes))))
        })
        .collect()
}
