//! YAML parsing with serde-saphyr: every syntax or type error becomes a located problem.

use serde::de::DeserializeOwned;
use serde_saphyr::options::AliasLimits;

use crate::error::Problem;

/// The largest text input (YAML, CSV tables read whole, Markdown) sharelog reads: far above any
/// real manifest (10 MB of inline counts is about 170,000 rows), far below what could exhaust
/// memory.
pub(crate) const MAX_YAML_BYTES: u64 = 64 * 1024 * 1024;

/// Explicit limits, so that hostile YAML ends in a clear error within bounded time and memory:
/// - nesting: sharelog's inputs are at most 4 levels deep, so 32 is generous and stops stack
///   exhaustion;
/// - aliases: inputs have no reason to use many; a few are allowed (readers may share a
///   `filters` block), and an alias bomb stops after 100,000 replayed events;
/// - size: up to 12 million parser events and 4 million nodes, so a 10 MB counts list (about
///   1.4 million nodes) loads.
fn options() -> serde_saphyr::Options {
    let mut alias_limits = AliasLimits::default();
    alias_limits.max_total_replayed_events = 100_000;
    alias_limits.max_replay_stack_depth = 16;
    alias_limits.max_alias_expansions_per_anchor = 1_000;
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: 32,
            max_aliases: 1_000,
            max_anchors: 1_000,
            max_events: 12_000_000,
            max_nodes: 4_000_000,
            max_documents: 1,
        },
        alias_limits: alias_limits,
    }
}

/// Parses `text` (the content of `file`, relative to the root) into `T`.
///
/// `line_offset` is added to reported lines, for YAML embedded in another file (front matter).
pub(crate) fn parse<T: DeserializeOwned>(
    file: &str,
    text: &str,
    line_offset: u64,
) -> Result<T, Box<Problem>> {
    serde_saphyr::from_str_with_options::<T>(text, options()).map_err(|e| {
        // Front matter has no schema of its own; its four keys are quickly said.
        let help = if file.ends_with(".md") {
            "fix the front matter at this position; its keys are title, description, weight and nav (docs/input.md)"
        } else {
            "fix the YAML at this position; docs/input.md lists every key, and `sharelog schema` writes JSON Schemas that editors check as you type"
        };
        let mut problem = Problem::new(file, message(&e)).help(help);
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
    // serde's terse type errors, said the way the input contract says them.
    let text = match text {
        "invalid u64" | "invalid u32" | "invalid u16" | "invalid u8" => {
            "expected a whole number, 0 or more"
        }
        "invalid i64" | "invalid i32" => "expected a whole number",
        "invalid bool" => "expected true or false",
        "invalid f64" | "invalid f32" => "expected a number",
        other => other,
    };
    // serde's "unknown variant `true`, expected one of yes, no, unknown" is jargon: say which
    // values the key takes.
    let plain;
    let text = match text
        .strip_prefix("unknown variant ")
        .and_then(|rest| rest.split_once(", expected one of "))
    {
        Some((value, allowed)) => {
            plain = format!("{value} is not one of the values this key takes: {allowed}");
            plain.as_str()
        }
        None => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "invalid YAML".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn an_unknown_value_is_named_with_the_values_the_key_takes() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Partner {
            honours_opt_out: crate::model::HonoursOptOut,
        }
        let problem =
            parse::<Partner>("partners.yaml", "honours_opt_out: true\n", 0).expect_err("refused");
        assert_eq!(
            problem.message,
            "`true` is not one of the values this key takes: yes, no, unknown"
        );
    }

    /// The classic "billion laughs": nine levels of ten aliases each would expand to 10^9 nodes.
    fn alias_bomb() -> String {
        let mut text = String::from("a0: &a0 [\"lol\"]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        text
    }

    #[test]
    fn an_alias_bomb_is_refused_not_expanded() {
        let start = std::time::Instant::now();
        let result = parse::<serde_json::Value>("bomb.yaml", &alias_bomb(), 0);
        let problem = result.expect_err("refused");
        let message = problem.to_string();
        assert!(
            message.contains("alias") || message.contains("budget"),
            "{message}"
        );
        // Bounded: refusing it does not expand it (expansion would take minutes and gigabytes).
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let depth = 100_000;
        let text = format!("x: {}{}\n", "[".repeat(depth), "]".repeat(depth));
        let problem = parse::<serde_json::Value>("deep.yaml", &text, 0).expect_err("refused");
        assert!(problem.to_string().contains("deep.yaml"), "{problem}");
        let blocks: String = (0..200)
            .map(|i| format!("{}k{i}:\n", "  ".repeat(i)))
            .collect();
        assert!(parse::<serde_json::Value>("deep.yaml", &blocks, 0).is_err());
    }

    #[test]
    fn ten_megabytes_of_counts_still_load() {
        let mut text = String::from("id: big\npartner: p\nexported_at: 2023-05-01\ncounts:\n");
        let mut rows = 0;
        while text.len() < 10 * 1024 * 1024 {
            text.push_str(&format!(
                "  - {{category: c{}, year: {}, items: {}, private: 1, explicit: 2}}\n",
                rows / 100,
                1950 + rows % 100,
                1000 + rows
            ));
            rows += 1;
        }
        let raw: crate::load::raw::RawExport = parse("big.yaml", &text, 0).expect("loads");
        let n = match raw.counts.map(|c| c.value) {
            Some(crate::load::raw::RawCounts::Inline(rows)) => rows.len(),
            _ => 0,
        };
        assert_eq!(n, rows);
    }
}
