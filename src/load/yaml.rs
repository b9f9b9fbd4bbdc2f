//! YAML parsing with serde-saphyr: every syntax or type error becomes a located problem.

use serde::de::DeserializeOwned;

use crate::error::Problem;

/// Parses `text` (the content of `file`, relative to the root) into `T`.
///
/// `line_offset` is added to reported lines, for YAML embedded in another file (front matter).
pub(crate) fn parse<T: DeserializeOwned>(
    file: &str,
    text: &str,
    line_offset: u64,
) -> Result<T, Box<Problem>> {
    serde_saphyr::from_str::<T>(text).map_err(|e| {
        let mut problem = Problem::new(file, message(&e)).help(
            "fix the YAML at this position; see the input contract in the README for the expected keys",
        );
        if let Some(loc) = e.location()
            && loc.line() > 0 {
                problem = problem.at(loc.line() + line_offset, Some(loc.column()));
            }
        Box::new(problem)
    })
}

/// The error's message without the source snippet and position (the problem carries those).
fn message(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    // serde-saphyr appends " at line L, column C"; the problem prints the position itself.
    let text = match text.find(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    };
    let text = text.trim().trim_end_matches('.');
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "invalid YAML".to_owned(),
    }
}
