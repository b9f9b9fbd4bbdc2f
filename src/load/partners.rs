//! `data/partners.yaml` → [`Partner`]s.

use std::collections::BTreeSet;

use super::raw::RawPartner;
use super::{Ctx, at, yaml};
use crate::error::{Problem, Problems};
use crate::model::{Partner, PartnerId, is_slug};

const FILE: &str = "data/partners.yaml";

/// The file's top-level list entries as (lines before the entry, its text), when the file is a
/// block list whose entries each start with `-` in the first column (what `new` writes and the
/// docs show), with nothing but comments and blank lines before the first; `None` otherwise.
fn entries(text: &str) -> Option<Vec<(u64, &str)>> {
    let mut starts = Vec::new();
    let mut offset = 0usize;
    let mut preamble = true;
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let body = line.trim_end();
        if body == "-" || body.starts_with("- ") {
            starts.push((n as u64, offset));
            preamble = false;
        } else if preamble && !(body.is_empty() || body.starts_with('#') || body == "---") {
            return None;
        }
        offset += line.len();
    }
    if starts.len() < 2 {
        return None;
    }
    let ends = starts.iter().skip(1).map(|s| s.1).chain([text.len()]);
    Some(
        starts
            .iter()
            .zip(ends)
            .map(|((line, from), to)| (*line, &text[*from..to]))
            .collect(),
    )
}

/// Loads and checks the partner list.
/// `None` when the file could not be read or parsed at all.
pub(crate) fn load(ctx: &Ctx<'_>, problems: &mut Problems) -> Option<Vec<Partner>> {
    let text = ctx.read_text(&ctx.root.join(FILE), problems)?;
    let mut read_whole = true;
    // Each entry with its position in the list.
    let raw: Vec<(usize, RawPartner)> = match yaml::parse::<Vec<RawPartner>>(FILE, &text, 0) {
        Ok(raw) => raw.into_iter().enumerate().collect(),
        Err(p) => match entries(&text) {
            // One entry's mistake does not hide the others': each is read on its own, its
            // problems reported, and the entries that read are checked as usual.
            Some(chunks) => {
                read_whole = false;
                let mut raw = Vec::new();
                for (i, (offset, chunk)) in chunks.into_iter().enumerate() {
                    // Blank lines before the entry, so that every position in it (problems
                    // found later too) is its line in the file.
                    let padded = "\n".repeat(offset as usize) + chunk;
                    match yaml::parse::<Vec<RawPartner>>(FILE, &padded, 0) {
                        Ok(one) => raw.extend(one.into_iter().map(|p| (i, p))),
                        Err(p) => problems.push(*p),
                    }
                }
                raw
            }
            None => {
                problems.push(*p);
                return None;
            }
        },
    };
    if raw.is_empty() && read_whole {
        problems.push(Problem::new(FILE, "no partners").help(
            "list every partner that received data, e.g. `- {id: acme-ai, name: Acme AI Ltd, ...}`",
        ));
    }
    let mut seen = BTreeSet::new();
    let mut partners = Vec::new();
    for (i, p) in raw {
        let key = |k: &str| format!("[{i}].{k}");
        if !is_slug(&p.id.value) {
            problems.push(
                at(
                    FILE,
                    &p.id,
                    &key("id"),
                    format!("`{}` is not a slug", p.id.value),
                )
                .help("use lowercase letters, digits and `-`, starting with a letter or digit"),
            );
        } else if !seen.insert(p.id.value.clone()) {
            problems.push(
                at(
                    FILE,
                    &p.id,
                    &key("id"),
                    format!("duplicate partner `{}`", p.id.value),
                )
                .help("each partner id may appear once"),
            );
        }
        if let Some(c) = &p.country
            && (c.value.len() != 2 || !c.value.chars().all(|ch| ch.is_ascii_uppercase()))
        {
            problems.push(
                at(
                    FILE,
                    c,
                    &key("country"),
                    format!("`{}` is not an ISO 3166-1 alpha-2 code", c.value),
                )
                .help("write two capital letters, e.g. `US`, `DE`, `IE`"),
            );
        }
        if p.purposes.is_empty() {
            problems.push(
                at(FILE, &p.id, &key("purposes"), "no purposes".to_owned()).help(
                    "list what the data is for: ai-training, ai-evaluation, research, search-indexing, other",
                ),
            );
        }
        let signed = super::date(
            FILE,
            &p.agreement.signed,
            &key("agreement.signed"),
            problems,
        );
        let ends = p
            .agreement
            .ends
            .as_ref()
            .and_then(|e| super::date(FILE, e, &key("agreement.ends"), problems));
        if let (Some(s), Some(e), Some(ends_text)) = (signed, ends, p.agreement.ends.as_ref())
            && e < s
        {
            problems.push(
                at(
                    FILE,
                    ends_text,
                    &key("agreement.ends"),
                    format!("`{e}` is before agreement.signed `{s}`"),
                )
                .help("correct one of the dates"),
            );
        }
        let mut purposes = p.purposes.clone();
        purposes.sort();
        purposes.dedup();
        if let Some((line, what)) = p
            .description
            .as_deref()
            .and_then(crate::render::markdown::too_deep)
        {
            problems.push(
                Problem::new(
                    FILE,
                    format!(
                        "{what} nest more than {} deep (line {line} of the description)",
                        crate::render::markdown::MAX_NESTING
                    ),
                )
                .key(format!("{}.description", p.id.value))
                .help("flatten the text: such nesting would take minutes to render"),
            );
        }
        // Shown as links on the partner's page: one that is not an http(s) address is left out,
        // with a located warning (older roots still build).
        let web = |u: Option<super::raw::Text>, key: &str| {
            ctx.web_address(
                FILE,
                u,
                &format!("{}.{key}", p.id.value),
                "the site",
                "https://example.org/agreement.pdf",
            )
        };
        let agreement_url = web(p.agreement.url.clone(), "agreement.url");
        let ai_act_summary_url = web(p.ai_act_summary_url.clone(), "ai_act_summary_url");
        if let Some(signed) = signed {
            partners.push(Partner {
                id: PartnerId(p.id.value),
                name: p.name,
                country: p.country.map(|c| c.value),
                purposes,
                agreement_signed: signed,
                agreement_ends: ends,
                agreement_url,
                honours_opt_out: p.honours_opt_out,
                deletion_deadline_days: p.deletion_deadline_days,
                legal_basis: p.legal_basis.unwrap_or_default(),
                ai_act_summary_url,
                description: p.description,
            });
        }
    }
    Some(partners)
}
