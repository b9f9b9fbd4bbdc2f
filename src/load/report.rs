//! `report.yaml` → [`ReportMeta`].

use std::collections::BTreeSet;

use super::raw::RawReport;
use super::{Ctx, at, yaml};
use crate::error::{Problem, Problems};
use crate::model::{
    BANDABLE, Bands, Category, CategoryId, License, Platform, ReportMeta, Source, is_slug,
};

const FILE: &str = "report.yaml";

/// Loads and checks `report.yaml`.
pub(crate) fn load(ctx: &Ctx<'_>, problems: &mut Problems) -> Option<ReportMeta> {
    let path = ctx.root.join(FILE);
    if std::fs::symlink_metadata(&path).is_err() {
        problems.push(Problem::new(FILE, "file not found").help(
            "run sharelog in a report root (a folder with report.yaml), pass --root DIR, or create one with the README's example",
        ));
        return None;
    }
    let text = ctx.read_text(&path, problems)?;
    let raw: RawReport = match yaml::parse(FILE, &text, 0) {
        Ok(raw) => raw,
        Err(p) => {
            problems.push(*p);
            return None;
        }
    };
    let before = problems.len();
    let published = super::date(FILE, &raw.published, "published", problems);
    let from = super::date(FILE, &raw.period.from, "period.from", problems);
    let to = super::date(FILE, &raw.period.to, "period.to", problems);
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        problems.push(
            at(
                FILE,
                &raw.period.to,
                "period.to",
                format!("`{t}` is before period.from `{f}`"),
            )
            .help("swap the dates, or correct one of them"),
        );
    }
    if raw.categories.is_empty() {
        problems.push(Problem::new(FILE, "no categories").key("categories").help(
            "list the content categories manifests may use, e.g. `- {id: text, label: Text posts}`",
        ));
    }
    let mut seen = BTreeSet::new();
    let mut categories = Vec::new();
    for (i, c) in raw.categories.iter().enumerate() {
        let key = format!("categories[{i}].id");
        if !is_slug(&c.id.value) {
            problems.push(
                at(FILE, &c.id, &key, format!("`{}` is not a slug", c.id.value))
                    .help("use lowercase letters, digits and `-`, starting with a letter or digit"),
            );
        } else if !seen.insert(c.id.value.clone()) {
            problems.push(
                at(
                    FILE,
                    &c.id,
                    &key,
                    format!("duplicate category `{}`", c.id.value),
                )
                .help("each category id may appear once"),
            );
        }
        categories.push(Category {
            id: CategoryId(c.id.value.clone()),
            label: c.label.clone(),
            description: c.description.clone(),
        });
    }
    let min_count = match raw.privacy.as_ref().and_then(|p| p.min_count.as_ref()) {
        Some(m) if m.value == 0 => {
            problems.push(
                at(
                    FILE,
                    m,
                    "privacy.min_count",
                    "must be at least 1".to_owned(),
                )
                .help("use 1 to publish every count, or a higher threshold to suppress small ones"),
            );
            1
        }
        // With 2, every count hidden for being small is 1: a reader would know each of them.
        Some(m) if m.value == 2 => {
            problems.push(
                at(
                    FILE,
                    m,
                    "privacy.min_count",
                    "2 would hide only counts of 1, so every hidden small count could be read as 1"
                        .to_owned(),
                )
                .help("use 1 to publish every count, or 3 or more to suppress small ones"),
            );
            2
        }
        Some(m) => m.value,
        None => 10,
    };
    let bands = raw
        .privacy
        .as_ref()
        .and_then(|p| p.bands.as_ref())
        .and_then(|b| {
            let before = problems.len();
            if b.width.value < min_count.max(2) {
                problems.push(
                    at(
                        FILE,
                        &b.width,
                        "privacy.bands.width",
                        format!(
                            "a band {} wide would show counts below min_count ({min_count}) almost exactly",
                            b.width.value
                        ),
                    )
                    .help(format!("use a width of at least {}, e.g. 250", min_count.max(2))),
                );
            }
            for (i, t) in b.tables.iter().enumerate() {
                if !BANDABLE.contains(&t.value.as_str()) {
                    problems.push(
                        at(
                            FILE,
                            t,
                            &format!("privacy.bands.tables[{i}]"),
                            format!("`{}` cannot be banded", t.value),
                        )
                        .help(format!("band one of: {}", BANDABLE.join(", "))),
                    );
                }
            }
            (problems.len() == before).then(|| Bands {
                width: b.width.value,
                tables: b.tables.iter().map(|t| t.value.clone()).collect(),
            })
        });
    // base_url becomes the absolute URLs of feed.xml, sitemap.xml and CITATION.cff: an http(s)
    // URL, or a path from the host's root.
    if let Some(b) = &raw.base_url
        && !is_base_url(&b.value)
    {
        problems.push(
            at(
                FILE,
                b,
                "base_url",
                format!("`{}` is not an http(s) URL or a path from the site's root", b.value.escape_debug()),
            )
            .help("write the address the site is published at, e.g. https://transparency.example.com/"),
        );
    }
    let language = match &raw.language {
        Some(l) if !is_language_tag(&l.value) => {
            problems.push(
                at(
                    FILE,
                    l,
                    "language",
                    format!("`{}` is not a BCP 47 language tag", l.value),
                )
                .help("write e.g. `en`, `de` or `en-GB`"),
            );
            "en".to_owned()
        }
        Some(l) => l.value.clone(),
        None => "en".to_owned(),
    };
    if let Some(l) = &raw.license
        && !is_spdx_id(&l.id.value)
    {
        problems.push(
            at(
                FILE,
                &l.id,
                "license.id",
                format!("`{}` is not an SPDX licence identifier", l.id.value),
            )
            .help("write an identifier from https://spdx.org/licenses/, e.g. `CC-BY-4.0` or `ODbL-1.0`"),
        );
    }
    // Addresses are published in the data package and on pages: one that is not an http(s)
    // address (or, for the contact, an e-mail address) is left out, with a located warning, so
    // that older roots still build.
    let web = |u: Option<super::raw::Text>, key: &str| {
        ctx.web_address(
            FILE,
            u,
            key,
            "the site and the data package",
            "https://example.org/page",
        )
    };
    let license = raw.license.map(|l| License {
        id: l.id.value,
        url: web(l.url, "license.url"),
        title: l.title,
    });
    let sources = raw
        .sources
        .into_iter()
        .enumerate()
        .map(|(i, s)| Source {
            title: s.title,
            url: web(s.url, &format!("sources[{i}].url")),
            description: s.description,
        })
        .collect();
    let platform_url = web(raw.platform.url, "platform.url");
    let contact = raw.platform.contact.and_then(|c| {
        if crate::urls::is_contact(&c.value) {
            return Some(c.value);
        }
        ctx.warn(
            at(
                FILE,
                &c,
                "platform.contact",
                format!("`{}` is not an e-mail or http(s) address; it is left out of the site and the data package", c.value.escape_debug()),
            )
            .help("write e.g. privacy@example.com or https://example.com/contact"),
        );
        None
    });
    if let Some(k) = &raw.signing_key
        && minisign::PublicKey::from_base64(k.value.trim()).is_err()
    {
        problems.push(
            at(FILE, k, "signing_key", format!("`{}` is not a minisign public key", k.value.escape_debug()))
                .help("copy the second line of the public key file that `minisign -G` wrote (it starts with RW)"),
        );
    }
    if problems.len() > before {
        return None;
    }
    Some(ReportMeta {
        bands,
        quarters: raw.privacy.as_ref().is_some_and(|p| p.quarters),
        description: raw.description,
        license,
        sources,
        title: raw.title,
        platform: Platform {
            name: raw.platform.name,
            url: platform_url,
            contact,
        },
        period_from: from?,
        period_to: to?,
        published: published?,
        base_url: raw
            .base_url
            .map(|b| b.value)
            .filter(|b| is_base_url(b))
            .unwrap_or_else(|| "/".to_owned()),
        language,
        categories,
        min_count,
        signing_key: raw.signing_key.map(|k| k.value.trim().to_owned()),
    })
}

/// Whether `text` may be the site's base URL: `http://` or `https://` and a host, or a path that
/// starts with `/` (not `//`), without spaces, control characters or quotes.
pub(crate) fn is_base_url(text: &str) -> bool {
    let clean = !text
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>' | '\\'));
    let lower = text.to_ascii_lowercase();
    let absolute = ["http://", "https://"].iter().any(|scheme| {
        lower
            .strip_prefix(scheme)
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
    });
    let rooted = text.starts_with('/') && !text.starts_with("//");
    clean && (absolute || rooted)
}

/// A loose BCP 47 check: letters, digits and `-`, starting with 2–3 letters.
pub(crate) fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or_default();
    (2..=3).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_alphabetic())
        && parts
            .all(|p| !p.is_empty() && p.len() <= 8 && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// An SPDX licence identifier's shape: letters, digits, `.`, `-` and `+`.
fn is_spdx_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
}

#[cfg(test)]
mod base_url_tests {
    use super::is_base_url;

    #[test]
    fn accepts_only_http_urls_and_rooted_paths_as_base_url() {
        for ok in [
            "/",
            "/report/",
            "https://transparency.example/",
            "http://example.org/r",
            "HTTPS://Example.org",
        ] {
            assert!(is_base_url(ok), "{ok}");
        }
        for bad in [
            "",
            "javascript:alert(1)//",
            "//evil.example/",
            "https://",
            "https:///x",
            "report/",
            "data:text/html,x",
            "https://a.example/\u{0}",
            "https://a.example/ x",
            "https://a.example/\"onload=\"",
            "/\\evil.example/",
        ] {
            assert!(!is_base_url(bad), "{bad:?}");
        }
    }
}
