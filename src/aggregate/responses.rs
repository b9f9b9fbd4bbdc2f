//! Matching `data/responses.yaml` to the findings: each response must name exactly one finding
//! of this report (by its id and any of partner, export and flag), and no finding may have two.
//! Every mismatch is a problem at the response's line, like any other input problem.

use super::findings::{Finding, Kind};
use crate::error::{Error, Problem, Result};
use crate::model::{Response, Spot};

/// The responses file, as problems name it.
const FILE: &str = "data/responses.yaml";

fn problem(spot: &Spot, message: String) -> Problem {
    Problem::new(FILE, message)
        .at(spot.line, Some(spot.column))
        .key(spot.key.clone())
}

/// The finding's key as a response would write it.
fn key_of(f: &Finding) -> String {
    let mut parts = vec![format!("id: {}", f.kind.id())];
    if !f.partner.is_empty() {
        parts.push(format!("partner: {}", f.partner));
    }
    if let Some(e) = &f.export {
        parts.push(format!("export: {e}"));
    }
    if let Some(flag) = &f.flag {
        parts.push(format!("flag: {flag}"));
    }
    format!("{{{}}}", parts.join(", "))
}

/// Gives each finding its response; a response that names no finding, several, or one that
/// another response already answers is a problem.
pub(crate) fn attach(findings: &mut [Finding], responses: &[Response]) -> Result<()> {
    let mut problems = Vec::new();
    let mut answered: Vec<Option<&Response>> = vec![None; findings.len()];
    for r in responses {
        let key = &r.key;
        if !Kind::ALL.iter().any(|k| k.id() == key.id) {
            problems.push(
                problem(&r.spot, format!("`{}` is not a finding id", key.id)).help(format!(
                    "use one of: {}",
                    Kind::ALL.map(Kind::id).join(", ")
                )),
            );
            continue;
        }
        let matches: Vec<usize> = findings
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                f.kind.id() == key.id
                    && key.partner.as_ref().is_none_or(|p| *p == f.partner)
                    && key
                        .export
                        .as_ref()
                        .is_none_or(|e| f.export.as_ref() == Some(e))
                    && key.flag.as_ref().is_none_or(|g| f.flag.as_ref() == Some(g))
            })
            .map(|(i, _)| i)
            .collect();
        match matches.as_slice() {
            [] => {
                let same_id: Vec<String> = findings
                    .iter()
                    .filter(|f| f.kind.id() == key.id)
                    .take(5)
                    .map(key_of)
                    .collect();
                let help = if same_id.is_empty() {
                    format!("this report has no `{}` finding; remove the response, or check the id", key.id)
                } else {
                    format!("this report's `{}` findings are: {}", key.id, same_id.join("; "))
                };
                problems.push(
                    problem(&r.spot, format!("the response to {key} matches no finding of this report"))
                        .help(help),
                );
            }
            [i] => match answered[*i] {
                Some(first) => problems.push(
                    problem(
                        &r.spot,
                        format!(
                            "a second response to the finding {}; the first is at line {}",
                            key_of(&findings[*i]),
                            first.spot.line
                        ),
                    )
                    .help("keep one response per finding: edit the first one when the platform does more"),
                ),
                // A response covers what the platform answered, not more: a count above the
                // finding's would let its growth pass the gate unseen. (The finding's count is
                // not printed: it may be one the site suppresses, and CI logs are public.)
                None if r.count > findings[*i].count => problems.push(
                    problem(
                        &r.spot,
                        format!(
                            "the response to the finding {} covers {} items, more than the finding counts",
                            key_of(&findings[*i]),
                            r.count
                        ),
                    )
                    .help("write the finding's own count (the count its response answers): a larger one would hide growth from `--fail-on`"),
                ),
                None => answered[*i] = Some(r),
            },
            many => {
                let keys: Vec<String> = many.iter().take(5).map(|i| key_of(&findings[*i])).collect();
                problems.push(
                    problem(
                        &r.spot,
                        format!("the response to {key} matches {} findings: {}{}", many.len(), keys.join("; "), if many.len() > 5 { "; …" } else { "" }),
                    )
                    .help("add the partner, export or flag that names one finding"),
                );
            }
        }
    }
    if !problems.is_empty() {
        return Err(Error::invalid(problems));
    }
    for (f, r) in findings.iter_mut().zip(answered) {
        f.response = r.cloned();
    }
    Ok(())
}
