//! `data/corrections.yaml` → [`Correction`]s: the report's errata log (optional).

use serde::Deserialize;

use super::raw::Text;
use super::{Ctx, yaml};
use crate::error::{Problem, Problems};
use crate::model::Correction;

const FILE: &str = "data/corrections.yaml";

/// `data/corrections.yaml[]`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCorrection {
    /// When the correction was made (YYYY-MM-DD; not after `published`).
    #[schemars(with = "crate::schema::types::Date")]
    date: Text,
    /// What was wrong and what it is now.
    #[schemars(with = "crate::schema::types::Text")]
    what: Text,
    /// Why it was wrong.
    #[schemars(with = "crate::schema::types::Text")]
    why: Text,
}

/// Loads the corrections, newest first (in file order within a day). `published` bounds the
/// dates: a correction after the report's date is an input error.
pub(crate) fn load(
    ctx: &Ctx<'_>,
    published: Option<chrono::NaiveDate>,
    problems: &mut Problems,
) -> Vec<Correction> {
    let path = ctx.root.join(FILE);
    if std::fs::symlink_metadata(&path).is_err() {
        return Vec::new();
    }
    let Some(text) = ctx.read_text(&path, problems) else {
        return Vec::new();
    };
    let raw: Vec<RawCorrection> = match yaml::parse(FILE, &text, 0) {
        Ok(raw) => raw,
        Err(p) => {
            problems.push(*p);
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (i, c) in raw.into_iter().enumerate() {
        let Some(date) = super::entry_date(
            FILE,
            &c.date,
            &format!("[{i}].date"),
            published,
            "a correction",
            problems,
        ) else {
            continue;
        };
        let mut ok = true;
        for (key, v) in [("what", &c.what), ("why", &c.why)] {
            if v.value.trim().is_empty() {
                problems.push(
                    Problem::new(FILE, format!("correction {} has an empty `{key}`", i + 1))
                        .at(v.referenced.line(), Some(v.referenced.column()))
                        .key(format!("[{i}].{key}"))
                        .help("say what changed and why, in a sentence each"),
                );
                ok = false;
            }
        }
        if ok {
            out.push(Correction {
                date,
                what: c.what.value.trim().to_owned(),
                why: c.why.value.trim().to_owned(),
                number: i + 1,
            });
        }
    }
    out.sort_by(|a, b| b.date.cmp(&a.date).then(a.number.cmp(&b.number)));
    out
}
