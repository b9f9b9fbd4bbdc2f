//! sharelog: a transparency report about user data shared with AI companies, as a static site.
//!
//! The pipeline is one data flow — **load → validate → aggregate → publish → render → write** —
//! and [`build`] is that flow. `load` reads and checks every input (a problem stops the build
//! before anything is written), `aggregate` computes every count with polars, `publish` decides
//! how each count is published (exact, banded, hidden or not declared: the only stage that
//! decides privacy), `render` presents the publication as every file in memory, and `write`
//! swaps the finished site into place.

mod aggregate;
pub use aggregate::Pruned;
pub mod cli;
pub mod diff;
pub mod error;
mod fs;
pub mod i18n;
mod load;
pub mod model;
pub mod progress;
mod publish;
pub mod receipts;

pub use publish::HiddenShare;
mod releases;
mod render;
mod scaffold;
pub mod schema;
pub mod serve;
pub mod sign;
pub mod time;
pub mod urls;
pub mod warehouse;
mod write;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use error::{Error, ExitCode, Problem, Result};
pub use model::Severity;
pub use progress::Progress;
pub use render::Site;
pub use scaffold::new_root;

/// Checked options of `sharelog build`.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The report root.
    pub root: PathBuf,
    /// The output folder.
    pub out: PathBuf,
    /// An auditor's build: exact counts, every page and file marked "not for publication".
    pub unsuppressed: bool,
    /// No stage reports on stderr.
    pub quiet: bool,
    /// Build in this language instead of report.yaml's `language` (one root, several editions).
    pub language: Option<String>,
    /// The listing cache's folder; `None` counts every listing afresh.
    pub cache: Option<PathBuf>,
    /// The file with the cache's secret; `None`: `SHARELOG_CACHE_KEY`, else the per-user key.
    pub cache_key: Option<PathBuf>,
    /// A minisign secret key: sign `data/SHA256SUMS` into `data/SHA256SUMS.minisig`.
    pub sign: Option<PathBuf>,
    /// The site as published now: carried forward as the release history.
    pub previous: Option<PathBuf>,
    /// The receipt key: publish `data/commitments.json` and the `verify/` page.
    pub receipt_key: Option<PathBuf>,
    /// Where every owner's receipt goes (needs `receipt_key`; never under `out`).
    pub receipts: Option<PathBuf>,
}

/// How a site is rendered in memory.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// An auditor's build: exact counts, every page and file marked "not for publication".
    pub unsuppressed: bool,
    /// Build in this language instead of report.yaml's `language`.
    pub language: Option<String>,
    /// The listing cache's folder: a listing whose aggregate is there is not read again.
    pub cache: Option<PathBuf>,
    /// The file with the cache's secret; `None`: `SHARELOG_CACHE_KEY`, else the per-user key.
    pub cache_key: Option<PathBuf>,
    /// The site as published now (`build --previous`): carried forward as the release history,
    /// with a page of what changed since.
    pub previous: Option<PathBuf>,
    /// The build will sign `data/SHA256SUMS` (`build --sign`).
    pub sign: bool,
    /// The receipt key: commit to every listed batch's owners (`data/commitments.json`).
    pub receipt_key: Option<PathBuf>,
    /// Write every owner's receipt to a staging folder beside this one (moved in by `build`).
    pub receipts: Option<PathBuf>,
}

/// What a build or check produced, for the summary line.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Partners in the report.
    pub partners: usize,
    /// Export batches in the report.
    pub exports: usize,
    /// Items shared in all.
    pub items: u64,
    /// Files written (0 for `check`).
    pub files: usize,
    /// Things worth a look that do not stop the build (SPEC: exports outside the period).
    pub warnings: Vec<String>,
    /// Findings per severity (severities without findings are absent).
    pub findings: BTreeMap<Severity, usize>,
    /// Every finding, as the `--fail-on` gate sees it, in the findings' order.
    pub gate: Vec<GateFinding>,
    /// The report's title.
    pub title: String,
    /// The report's date (`published`).
    pub published: chrono::NaiveDate,
    /// The minisign public key the report publishes, if any.
    pub signing_key: Option<String>,
    /// Per published table, how many of its counts are hidden.
    pub hidden: Vec<HiddenShare>,
    /// The receipts written beside their folder, moved in once the site is.
    pub(crate) receipts: Option<std::sync::Arc<receipts::Staged>>,
    /// Batches committed to (`--receipt-key`), and of them owners.
    pub committed: Option<(usize, u64)>,
}

/// A finding as the `--fail-on` gate sees it: its key, its count as published, and the count
/// the platform's response covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateFinding {
    /// Its severity.
    pub severity: Severity,
    /// Its id, e.g. `opted-out-content-shared`.
    pub id: &'static str,
    /// The partner's id (empty for a platform-wide finding).
    pub partner: String,
    /// The export's id, if any.
    pub export: String,
    /// The flag, if any.
    pub flag: String,
    /// The count as the site publishes it: a number, a band, or "hidden".
    pub count: String,
    /// The count the platform's response covers; `None` without a response.
    pub covered: Option<u64>,
    /// New for the gate: no response, or a count larger than the one the response covers.
    pub new: bool,
}

impl std::fmt::Display for GateFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.severity.slug(), self.id)?;
        for (name, v) in [
            ("partner", &self.partner),
            ("export", &self.export),
            ("flag", &self.flag),
        ] {
            if !v.is_empty() {
                write!(f, " {name}={v}")?;
            }
        }
        write!(f, ": count {}", self.count)?;
        match self.covered {
            Some(n) if self.new => write!(f, "; its response covers {n}"),
            Some(n) => write!(f, "; responded to (covers {n})"),
            None => write!(f, "; no response"),
        }
    }
}

impl Summary {
    /// How many findings are at or above `threshold` (`high` is the most serious).
    pub fn findings_at_or_above(&self, threshold: Severity) -> usize {
        self.findings
            .iter()
            .filter(|(s, _)| **s <= threshold)
            .map(|(_, n)| n)
            .sum()
    }

    /// The findings at or above `threshold` that the gate counts: every one when `any`, else
    /// those without a response covering their count.
    pub fn gated(&self, threshold: Severity, any: bool) -> Vec<&GateFinding> {
        self.gate
            .iter()
            .filter(|g| g.severity <= threshold && (any || g.new))
            .collect()
    }

    /// "suppressed: 41 of 1,310 published count cells (4%): shared-items 30 of 400 (8%), …" —
    /// the tables with a hidden count, most hidden first; `None` when nothing is hidden.
    pub fn hidden_line(&self) -> Option<String> {
        let hidden: usize = self.hidden.iter().map(|h| h.hidden).sum();
        let counts: usize = self.hidden.iter().map(|h| h.counts).sum();
        if hidden == 0 {
            return None;
        }
        let mut tables: Vec<&HiddenShare> = self.hidden.iter().filter(|h| h.hidden > 0).collect();
        tables.sort_by_key(|h| (std::cmp::Reverse(h.percent()), h.table));
        let all = HiddenShare {
            table: "",
            counts,
            hidden,
        };
        let n = |x: usize| render::format::thousands(x as u64);
        Some(format!(
            "suppressed: {} of {} published count cells ({}%): {}",
            n(hidden),
            n(counts),
            all.percent(),
            tables
                .iter()
                .map(|h| format!(
                    "{} {} of {} ({}%)",
                    h.table,
                    n(h.hidden),
                    n(h.counts),
                    h.percent()
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }

    /// "2 high, 1 info" — the findings per severity, most serious first.
    pub fn findings_line(&self) -> String {
        if self.findings.is_empty() {
            return "no findings".to_owned();
        }
        self.findings
            .iter()
            .map(|(s, n)| format!("{n} {}", s.slug()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Reads, checks and aggregates a report root and renders the site in memory.
pub fn render_site(root: &Path) -> Result<(Site, Summary)> {
    render_site_with(root, &RenderOptions::default(), &Progress::silent())
}

/// [`render_site`] with [`RenderOptions`], reporting its stages to `progress`.
pub fn render_site_with(
    root: &Path,
    options: &RenderOptions,
    progress: &Progress,
) -> Result<(Site, Summary)> {
    progress.stage("reading and checking the report root");
    let mut report = match load::load_partial(root, options.language.as_deref()) {
        (Some(report), problems) if problems.is_empty() => report,
        // Problems in the inputs: still check the listings and tables that did load, so that
        // one run lists every problem.
        (Some(mut report), mut problems) => {
            // Which finding a response answers depends on every input: with another of them
            // broken, "matches no finding" would follow from the cause, not be one. (Problems
            // in responses.yaml itself leave the other responses to be judged.)
            if problems.iter().any(|p| p.file != load::responses::FILE) {
                report.responses.clear();
            }
            if let Err(Error::Invalid(more)) = aggregate::aggregate(&report, None) {
                problems.extend(more);
            }
            return Err(Error::invalid(problems));
        }
        (None, problems) => return Err(Error::invalid(problems)),
    };
    let previous = options
        .previous
        .as_deref()
        .map(releases::read)
        .transpose()?;
    if let Some(p) = &previous {
        p.check_before(report.meta.published)?;
        report.previous_release = p.head(report.meta.published);
    }
    report.signed = options.sign;
    progress.stage(&format!(
        "counting {} and the opt-outs",
        counted(
            report.exports.len() as u64,
            "export batch",
            "export batches"
        )
    ));
    let cache = match options.cache.as_deref() {
        Some(dir) => {
            match aggregate::cache::CacheSecret::resolve(options.cache_key.as_deref(), dir)? {
                Some(secret) => Some(aggregate::cache::Cache::new(dir, secret)),
                None => {
                    progress.stage(&format!(
                        "the listing cache is off: no key (set {} or --cache-key FILE; the per-user key in ~/.config/sharelog could not be made or read)",
                        aggregate::cache::KEY_ENV
                    ));
                    None
                }
            }
        }
        None => None,
    };
    let tables = aggregate::aggregate(&report, cache.as_ref())?;
    match &cache {
        Some(c) => progress.stage(&format!(
            "suppressing small counts and rendering the site ({} from the cache, {} counted)",
            counted(
                c.hits.load(std::sync::atomic::Ordering::Relaxed) as u64,
                "listing",
                "listings"
            ),
            c.misses.load(std::sync::atomic::Ordering::Relaxed)
        )),
        None => progress.stage("suppressing small counts and rendering the site"),
    }
    let mut publication = publish::publish(&report, &tables, options.unsuppressed);
    let mut staged = None;
    if let Some(key) = &options.receipt_key {
        progress.stage("committing to every owner's records (receipts)");
        let key = receipts::Key::read(key)?;
        let (commitments, s) = receipts::commit(
            &report,
            &publication,
            &key,
            options.receipts.as_deref(),
            progress,
        )?;
        publication.commitments = Some(commitments);
        staged = s.map(std::sync::Arc::new);
    }
    let committed = publication.commitments.as_ref().map(|c| {
        let trees = c.exports.iter().filter(|e| e.committed);
        (
            trees.clone().count(),
            trees.filter_map(|e| e.tree_size).sum(),
        )
    });
    let site = render::render(&report, &publication, previous.as_ref())?;
    let gate = tables
        .findings
        .iter()
        .zip(&publication.findings)
        .map(|(f, shown)| GateFinding {
            severity: f.severity,
            id: f.kind.id(),
            partner: f.partner.clone(),
            export: f.export.clone().unwrap_or_default(),
            flag: f.flag.clone().unwrap_or_default(),
            count: publish::plain(shown.count),
            covered: f.response.as_ref().map(|r| r.count),
            new: f.response.as_ref().is_none_or(|r| f.count > r.count),
        })
        .collect();
    let summary = Summary {
        hidden: publication.hidden.clone(),
        receipts: staged,
        committed,
        gate,
        title: report.meta.title.clone(),
        published: report.meta.published,
        signing_key: report.meta.signing_key.clone(),
        partners: report.partners.len(),
        exports: report.exports.len(),
        items: tables.total_items,
        files: site.files.len(),
        findings: tables
            .findings
            .iter()
            .fold(BTreeMap::new(), |mut m, f| {
                *m.entry(f.severity).or_insert(0) += 1;
                m
            }),
        warnings: report
            .warnings
            .iter()
            .cloned()
            .chain(report.exports.iter()
            .filter(|e| !report.meta.in_period(&e.exported_at))
            .map(|e| {
                format!(
                    "{}: exported_at {} is outside the reporting period {} to {}; the export is listed and marked on its page",
                    e.manifest,
                    time::format_instant(&e.exported_at),
                    report.meta.period_from,
                    report.meta.period_to
                )
            }))
            .collect(),
    };
    Ok((site, summary))
}

/// Entry points for the fuzz targets in `fuzz/` (not a stable interface).
#[doc(hidden)]
pub mod fuzzing {
    /// The cache reader on arbitrary bytes: as a whole entry, and (with `sign`) as a body with a
    /// valid MAC, which reaches the Parquet reader. Must never panic; `true` when it gave an
    /// aggregate.
    pub fn cache_entry(name: &str, key: &[u8], bytes: &[u8], sign: bool) -> bool {
        crate::aggregate::cache::fuzz_entry(name, key, bytes, sign)
    }

    /// The URL policy on an arbitrary string. Must never panic, and what it allows must hold
    /// against a base it was not built with: an image it keeps stays on that base's origin too,
    /// and every such reference is also a safe link.
    pub fn url_policy(reference: &str) {
        let on_site = crate::urls::stays_on_site(reference);
        let link = crate::urls::is_safe_link(reference);
        if on_site {
            assert!(
                link,
                "{reference:?} stays on the site but is not a safe link"
            );
            for base in [
                "https://example.org:4443/a/b/index.html",
                "http://127.0.0.1:8000/",
                "https://report.example/deep/er/still/page.html?q#f",
            ] {
                if let Ok(base) = url::Url::parse(base) {
                    let resolved = base.join(reference);
                    assert!(
                        resolved.as_ref().is_ok_and(|r| r.origin() == base.origin()),
                        "{reference:?} leaves {base}: {resolved:?}"
                    );
                }
            }
        }
        if link && let Ok(url) = url::Url::parse(reference) {
            assert!(
                matches!(url.scheme(), "http" | "https" | "mailto"),
                "{reference:?} is a link with scheme {}",
                url.scheme()
            );
        }
    }
}

/// How many problems [`describe`] prints before it says how many more there are.
pub const MAX_PROBLEMS_SHOWN: usize = 200;

/// What an error says to the user: the problems compiler-style (at most
/// [`MAX_PROBLEMS_SHOWN`], each piece cut at `error::MAX_SHOWN` characters) and a last line, or
/// the error.
pub fn describe(e: &Error) -> String {
    describe_ending(e, "; nothing was written")
}

/// `n` and the noun for it: `1 partner`, `2 partners`, `0 partners`.
pub fn counted(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", noun(n, one, many))
}

/// The noun for `n` things, for messages in English: `one` for 1, else `many`.
pub(crate) fn noun<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// [`describe`] with the last line ending in `ending` (`build` and `check` say that nothing was
/// written; `diff` and `serve` write nothing anyway and say nothing more).
pub fn describe_ending(e: &Error, ending: &str) -> String {
    match e {
        Error::Invalid(problems) => {
            // The first problems, in order: a file with a million bad columns must not print
            // a million lines.
            let mut out: Vec<String> = problems
                .iter()
                .take(MAX_PROBLEMS_SHOWN)
                .map(|p| p.to_string())
                .collect();
            let n = problems.len();
            if n > MAX_PROBLEMS_SHOWN {
                let more = n - MAX_PROBLEMS_SHOWN;
                out.push(format!(
                    "error: {more} more {} not listed\n  = help: fix the problems above and run `sharelog check` again to see the rest",
                    noun(more as u64, "problem", "problems")
                ));
            }
            out.push(format!(
                "error: {} found{ending}",
                counted(n as u64, "problem", "problems")
            ));
            out.join("\n")
        }
        other => format!("error: {other}"),
    }
}

/// `sharelog build`: load → validate → aggregate → publish → render → write.
pub fn build(options: &BuildOptions) -> Result<Summary> {
    check_out_dir(&options.root, &options.out)?;
    if let Some(cache) = &options.cache
        && fs::resolved(cache).starts_with(fs::resolved(&options.out))
    {
        // The cache would be written into --out during the build, and the swap would then
        // refuse (or delete) it.
        return Err(Error::invalid(vec![
            Problem::new(
                cache.display().to_string(),
                "--cache is inside --out, which every build replaces",
            )
            .help("keep the cache beside the site, e.g. --cache .sharelog-cache --out public"),
        ]));
    }
    if let Some(dir) = &options.receipts {
        check_receipts_dir(&options.root, &options.out, dir)?;
    }
    let progress = Progress::new(options.quiet);
    let render = RenderOptions {
        unsuppressed: options.unsuppressed,
        language: options.language.clone(),
        cache: options.cache.clone(),
        cache_key: options.cache_key.clone(),
        previous: options.previous.clone(),
        sign: options.sign.is_some(),
        receipt_key: options.receipt_key.clone(),
        receipts: options.receipts.clone(),
    };
    let (mut site, summary) = render_site_with(&options.root, &render, &progress)?;
    if let Some(key) = &options.sign {
        progress.stage("signing data/SHA256SUMS");
        let sums = site
            .files
            .get("data/SHA256SUMS")
            .ok_or_else(|| Error::Internal("the site has no data/SHA256SUMS".into()))?;
        // One line: a title with a line break would end the comment early.
        let title: String = summary
            .title
            .chars()
            .map(|c| match c {
                c if c.is_control() => ' ',
                '"' => '\'',
                c => c,
            })
            .collect();
        let trusted = format!(
            "sharelog report \"{title}\" published {}",
            summary.published
        );
        let signature = sign::sign(sums, key, &trusted, summary.signing_key.as_deref())?;
        site.files
            .insert("data/SHA256SUMS.minisig".to_owned(), signature);
    }
    progress.stage(&format!("writing {} files", site.files.len()));
    write::write(&site, &options.out, &progress)?;
    if let Some(staged) = &summary.receipts {
        progress.stage("moving the receipts into place");
        staged.install()?;
    }
    progress.finish();
    Ok(summary)
}

/// Refuses a receipts folder under (or holding) `--out`, or among the report's inputs: receipts
/// must never be published with the site or read as input.
fn check_receipts_dir(root: &Path, out: &Path, dir: &Path) -> Result<()> {
    let (dir_abs, out_abs, root_abs) = (fs::resolved(dir), fs::resolved(out), fs::resolved(root));
    let inputs = ["data", "content", "templates", "i18n"];
    let problem = if dir_abs.starts_with(&out_abs) || out_abs.starts_with(&dir_abs) {
        Some("--receipts is inside --out (or holds it): receipts would be published with the site")
    } else if root_abs.starts_with(&dir_abs)
        || inputs.iter().any(|i| dir_abs.starts_with(root_abs.join(i)))
    {
        Some("--receipts is the report root or a folder of its inputs")
    } else {
        None
    };
    if let Some(why) = problem {
        return Err(Error::invalid(vec![
            Problem::new(dir.display().to_string(), why).help(
                "keep the receipts in a private folder of their own, e.g. --receipts ../receipts",
            ),
        ]));
    }
    receipts::check_receipts_dir(dir)
}

/// `sharelog check`: everything `build` does except writing.
pub fn check(root: &Path) -> Result<Summary> {
    let (_, summary) = render_site(root)?;
    Ok(Summary {
        files: 0,
        ..summary
    })
}

/// `sharelog cache prune`: removes from the cache in `cache` every entry a build of `root`
/// would not read (entries of listings since changed or removed, or counted with opt-outs since
/// changed). The root must load without problems.
pub fn prune_cache(root: &Path, cache: &Path, dry_run: bool) -> Result<Pruned> {
    // Never a folder of inputs: the root, or one inside it that the report reads.
    let (root_real, cache_real) = (fs::resolved(root), fs::resolved(cache));
    let inputs = ["data", "content", "templates", "i18n"];
    if cache_real == root_real
        || root_real.starts_with(&cache_real)
        || inputs
            .iter()
            .any(|i| cache_real.starts_with(root_real.join(i)))
    {
        return Err(Error::invalid(vec![
            Problem::new(
                cache.display().to_string(),
                "--cache is the report root or a folder of its inputs, not a cache",
            )
            .help("name the folder `build --cache` writes, e.g. --cache .sharelog-cache"),
        ]));
    }
    let report = match load::load_partial(root, None) {
        (Some(report), problems) if problems.is_empty() => report,
        (_, problems) => return Err(Error::invalid(problems)),
    };
    aggregate::prune_cache(&report, cache, dry_run)
}

/// Refuses an output folder that is the root itself, holds the root, lies inside an input folder,
/// or is not sharelog's to replace (see `write`): checked before the work, and again at the swap.
fn check_out_dir(root: &Path, out: &Path) -> Result<()> {
    let root_abs = std::fs::canonicalize(root).unwrap_or_else(|_| fs::normalize(root));
    let out_abs = fs::normalize(out);
    let out_abs = out_abs
        .parent()
        .and_then(|p| std::fs::canonicalize(p).ok())
        .zip(out_abs.file_name())
        .map_or(out_abs.clone(), |(p, n)| p.join(n));
    let inputs = ["data", "content", "templates", "i18n"];
    let bad = root_abs.starts_with(&out_abs)
        || inputs.iter().any(|i| out_abs.starts_with(root_abs.join(i)))
        || out_abs.join("report.yaml").exists();
    if bad {
        return Err(Error::invalid(vec![
            Problem::new(
                out.display().to_string(),
                "--out would overwrite the report's inputs",
            )
            .help("write the site to its own folder, e.g. --out public"),
        ]));
    }
    write::check_replaceable(out)
}
