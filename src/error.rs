//! Problems (the input is wrong: the build stops) and errors (I/O or internal), plus the exit codes.
//!
//! A *problem* is never a *finding*: findings describe valid input that shows non-compliance and are
//! published; problems describe input sharelog cannot trust and stop the build.

use std::fmt;
use std::path::PathBuf;

/// The process exit codes, documented in the README and in `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// The site was built (or `check` found nothing wrong).
    Ok = 0,
    /// The input is invalid: every problem was printed and nothing was written.
    InvalidInput = 1,
    /// The command line was wrong.
    Usage = 2,
    /// Reading or writing failed, or sharelog itself failed.
    Io = 3,
    /// Findings at or above the `--fail-on` severity exist.
    Findings = 4,
}

impl ExitCode {
    /// The numeric code handed to the operating system.
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// One thing wrong with the input, located as precisely as the input allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, relative to the report root, with `/` separators.
    pub file: String,
    /// 1-based line (YAML, CSV, NDJSON) where known.
    pub line: Option<u64>,
    /// 1-based column (YAML) where known.
    pub column: Option<u64>,
    /// Where inside the file: a key path (`counts[2].category`) or a row (`row 12`).
    pub key: Option<String>,
    /// 1-based row of a table read without lines (Parquet, NDJSON rows), set with its key
    /// (`row 12`) by [`Problem::row`]: rows sort by number (`row 8` before `row 60002`).
    pub row: Option<u64>,
    /// What is wrong, lowercase, values in backticks.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
    /// A line that sums up problems of its file not listed one by one ("N more bad rows not
    /// listed"): printed after them.
    pub summary: bool,
}

/// What problems sort by.
type SortKey<'a> = (
    &'a String,
    bool,
    Option<u64>,
    Option<u64>,
    Option<u64>,
    &'a Option<String>,
    &'a String,
    &'a Option<String>,
);

/// Problems sort by file, then line and column (or row); a file's summary line comes after its
/// problems.
impl Ord for Problem {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        fn key(p: &Problem) -> SortKey<'_> {
            (
                &p.file, p.summary, p.line, p.column, p.row, &p.key, &p.message, &p.help,
            )
        }
        key(self).cmp(&key(other))
    }
}

impl PartialOrd for Problem {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Problem {
    /// A problem with a file as a whole.
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            file: file.into(),
            line: None,
            column: None,
            key: None,
            row: None,
            message: message.into(),
            help: None,
            summary: false,
        }
    }

    /// Marks the problem as the summary of its file's problems not listed (sorted after them).
    pub fn summary(mut self) -> Self {
        self.summary = true;
        self
    }

    /// Adds a line (and column) position.
    pub fn at(mut self, line: u64, column: Option<u64>) -> Self {
        self.line = Some(line);
        self.column = column;
        self
    }

    /// Adds a key path or row label.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Locates the problem at a table's 1-based `row` (`row 12`), for a table read without
    /// lines.
    pub fn row(mut self, row: u64) -> Self {
        self.row = Some(row);
        self.key(format!("row {row}"))
    }

    /// Adds the help line.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// How much of one piece of a problem (its file, key, message or help) is printed: a value quoted
/// from the input may be megabytes long.
pub const MAX_SHOWN: usize = 400;

/// `text`, or its first [`MAX_SHOWN`] characters and a note of how many more there are.
fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(MAX_SHOWN) {
        None => std::borrow::Cow::Borrowed(text),
        Some((at, _)) => std::borrow::Cow::Owned(format!(
            "{}… ({} more characters)",
            &text[..at],
            text[at..].chars().count()
        )),
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", shown(&self.file))?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": ")?;
        if let Some(key) = &self.key {
            write!(f, "{}: ", shown(key))?;
        }
        write!(f, "{}", shown(&self.message))?;
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {}", shown(help))?;
        }
        Ok(())
    }
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is invalid; the problems are sorted by file and line.
    #[error("{} problem(s) in the input", .0.len())]
    Invalid(Vec<Problem>),
    /// An I/O operation failed on a path.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path the operation was on.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Something sharelog did failed (a template, a chart, a query on checked data).
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// The exit code this error maps to.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Invalid(_) => ExitCode::InvalidInput,
            Error::Io { .. } | Error::Internal(_) => ExitCode::Io,
        }
    }

    /// Whether this is an I/O error for a path that does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }

    /// Builds an `Invalid` error from problems, sorted by file, line and column.
    pub fn invalid(mut problems: Vec<Problem>) -> Self {
        problems.sort();
        problems.dedup();
        Error::Invalid(problems)
    }
}

/// The result type of every stage.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Collects problems while a stage goes on, so that one run reports all of them.
#[derive(Debug, Default)]
pub struct Problems(Vec<Problem>);

impl Problems {
    /// Records a problem.
    pub fn push(&mut self, problem: Problem) {
        self.0.push(problem);
    }

    /// Records several problems.
    pub fn extend(&mut self, problems: impl IntoIterator<Item = Problem>) {
        self.0.extend(problems);
    }

    /// How many problems were recorded so far.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was recorded, else the sorted problems.
    pub fn finish<T>(self, value: T) -> Result<T> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(Error::invalid(self.0))
        }
    }

    /// Takes the problems recorded so far.
    pub fn into_vec(self) -> Vec<Problem> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_problems_compiler_style() {
        let p = Problem::new("data/exports/q1.yaml", "unknown category `fiction`")
            .at(12, Some(5))
            .key("counts[2].category")
            .help("add it to categories in report.yaml");
        assert_eq!(
            p.to_string(),
            "error: data/exports/q1.yaml:12:5: counts[2].category: unknown category `fiction`\n  = help: add it to categories in report.yaml"
        );
    }

    #[test]
    fn rows_sort_by_number() {
        let err = Error::invalid(
            [60002u64, 8, 150001, 300000, 9, 222223]
                .into_iter()
                .map(|r| Problem::new("ledger.parquet", "bad").row(r))
                .collect(),
        );
        let Error::Invalid(problems) = err else {
            panic!("expected invalid");
        };
        let keys: Vec<_> = problems.iter().filter_map(|p| p.key.as_deref()).collect();
        assert_eq!(
            keys,
            [
                "row 8",
                "row 9",
                "row 60002",
                "row 150001",
                "row 222223",
                "row 300000"
            ]
        );
    }

    #[test]
    fn sorts_problems_by_file_then_line() {
        let err = Error::invalid(vec![
            Problem::new("b.yaml", "x").at(3, None),
            Problem::new("a.yaml", "y").at(9, None),
            Problem::new("b.yaml", "z").at(1, None),
            Problem::new("b.yaml", "7 more bad rows not listed").summary(),
            Problem::new("b.yaml", "missing column").at(1, None),
            Problem::new("a.yaml", "whole file"),
        ]);
        let Error::Invalid(problems) = err else {
            panic!("expected invalid");
        };
        let order: Vec<_> = problems
            .iter()
            .map(|p| (p.file.as_str(), p.line, p.message.as_str()))
            .collect();
        // A file's own problems first (one without a line before the lines), its summary of
        // problems not listed after them.
        assert_eq!(
            order,
            vec![
                ("a.yaml", None, "whole file"),
                ("a.yaml", Some(9), "y"),
                ("b.yaml", Some(1), "missing column"),
                ("b.yaml", Some(1), "z"),
                ("b.yaml", Some(3), "x"),
                ("b.yaml", None, "7 more bad rows not listed"),
            ]
        );
    }
}
