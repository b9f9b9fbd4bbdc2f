//! `data/responses.yaml` → [`Response`]s: the platform's answer to each finding it has acted on
//! (optional). The file is checked here on its own; which finding each response answers is
//! decided once the findings exist (`aggregate::responses`), with the same file:line problems.

use serde::Deserialize;

use super::raw::Text;
use super::{Ctx, at, yaml};
use crate::error::Problems;
use crate::model::{Response, ResponseKey, Spot};

/// The file's path in a report root.
pub(crate) const FILE: &str = "data/responses.yaml";

/// `data/responses.yaml[].finding`: which finding the response answers.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKey {
    /// The finding's id.
    #[schemars(with = "crate::schema::types::FindingId")]
    id: Text,
    /// The finding's partner, when the id alone names several findings.
    #[schemars(with = "Option<crate::schema::types::Text>")]
    partner: Option<Text>,
    /// The finding's export batch.
    #[schemars(with = "Option<crate::schema::types::Text>")]
    export: Option<Text>,
    /// The finding's flag (sensitive-content-shared).
    #[schemars(with = "Option<crate::schema::types::FlagName>")]
    flag: Option<Text>,
}

/// `data/responses.yaml[]`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawResponse {
    /// Which finding the response answers: its id and any of partner, export and flag, until exactly one finding matches.
    #[schemars(with = "RawKey")]
    finding: serde_saphyr::Spanned<RawKey>,
    /// The finding's count this response covers (not published): a larger count is new again.
    #[schemars(with = "crate::schema::types::Count")]
    count: serde_saphyr::Spanned<u64>,
    /// When the platform acted (YYYY-MM-DD; not after `published`).
    #[schemars(with = "crate::schema::types::Date")]
    date: Text,
    /// What the platform did (Markdown).
    #[schemars(with = "crate::schema::types::Text")]
    response: Text,
}

/// Loads the responses in file order. `published` bounds the dates.
pub(crate) fn load(
    ctx: &Ctx<'_>,
    published: Option<chrono::NaiveDate>,
    problems: &mut Problems,
) -> Vec<Response> {
    let path = ctx.root.join(FILE);
    if std::fs::symlink_metadata(&path).is_err() {
        return Vec::new();
    }
    let Some(text) = ctx.read_text(&path, problems) else {
        return Vec::new();
    };
    let raw: Vec<RawResponse> = match yaml::parse(FILE, &text, 0) {
        Ok(raw) => raw,
        Err(p) => {
            problems.push(*p);
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (i, r) in raw.into_iter().enumerate() {
        let Some(date) = super::entry_date(
            FILE,
            &r.date,
            &format!("[{i}].date"),
            published,
            "a response",
            problems,
        ) else {
            continue;
        };
        if r.response.value.trim().is_empty() {
            problems.push(
                at(
                    FILE,
                    &r.response,
                    &format!("[{i}].response"),
                    format!("response {} is empty", i + 1),
                )
                .help("say what the platform did about the finding, in Markdown"),
            );
            continue;
        }
        if let Some((_, what)) = crate::render::markdown::too_deep(&r.response.value) {
            problems.push(
                at(
                    FILE,
                    &r.response,
                    &format!("[{i}].response"),
                    format!(
                        "{what} nest more than {} deep",
                        crate::render::markdown::MAX_NESTING
                    ),
                )
                .help("flatten the text: such nesting would take minutes to render"),
            );
            continue;
        }
        let key = r.finding.value;
        let opt = |t: Option<Text>| {
            t.map(|t| t.value.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        out.push(Response {
            key: ResponseKey {
                id: key.id.value.trim().to_owned(),
                partner: opt(key.partner),
                export: opt(key.export),
                flag: opt(key.flag),
            },
            count: r.count.value,
            date,
            text: r.response.value.trim().to_owned(),
            spot: Spot {
                line: r.finding.referenced.line(),
                column: r.finding.referenced.column(),
                key: format!("[{i}].finding"),
            },
        });
    }
    out
}
