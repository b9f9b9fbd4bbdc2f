//! Load stage: report root → checked [`Report`]. Reads every input, collects every problem.

mod content;
pub(crate) mod corrections;
mod csv_table;
pub(crate) mod deletions;
mod manifests;
mod opt_outs;
mod partners;
pub(crate) mod raw;
mod report;
pub(crate) mod responses;
pub(crate) mod yaml;

pub(crate) use manifests::check_count_row;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_saphyr::Spanned;

use crate::error::{Problem, Problems};
use crate::fs;
use crate::model::{Report, ReportMeta};

/// Reads and checks everything under `root`, collecting every problem. Returns what could be
/// loaded even when there are problems (without the manifests that had them), so that the listings
/// and tables of the rest can still be checked in the same run. The report is `None` only when
/// report.yaml itself could not be read.
///
/// `language` replaces report.yaml's `language` (`build --language`).
pub(crate) fn load_partial(root: &Path, language: Option<&str>) -> (Option<Report>, Vec<Problem>) {
    let mut problems = Problems::default();
    let ctx = Ctx {
        root,
        real_root: std::fs::canonicalize(root).unwrap_or_else(|_| fs::normalize(root)),
        warnings: Default::default(),
    };

    let mut meta = report::load(&ctx, &mut problems);
    if let (Some(m), Some(tag)) = (meta.as_mut(), language) {
        if report::is_language_tag(tag) {
            m.language = tag.to_owned();
        } else {
            problems.push(
                Problem::new(
                    "--language",
                    format!("`{tag}` is not a BCP 47 language tag"),
                )
                .help("give a tag such as en, de or en-GB"),
            );
        }
    }
    let before = problems.len();
    let partners = partners::load(&ctx, &mut problems);
    // References are only checked against files that could be read without a problem: a broken
    // report.yaml or partners.yaml (even one bad entry, which is then left out) is one problem,
    // not one per reference to it.
    let partners_ok = partners.is_some() && problems.len() == before;
    let categories = meta.as_ref().map(ReportMeta::category_ids);
    let before = problems.len();
    let exports = manifests::load(
        &ctx,
        partners.as_deref().filter(|_| partners_ok),
        categories.as_deref(),
        &mut problems,
    );
    // Deletion requests name export ids: only checked against manifests that all loaded.
    let exports_ok = partners_ok && problems.len() == before;
    let partners = partners.unwrap_or_default();
    let opt_outs_monthly = opt_outs::load_monthly(&ctx, &mut problems);
    let protections_monthly = opt_outs::load_protections(&ctx, &mut problems);
    let ledger = opt_outs::find_ledger(&ctx, &mut problems);
    let deletions = deletions::load(
        &ctx,
        Some(partners.as_slice()).filter(|_| partners_ok),
        Some(exports.as_slice()).filter(|_| exports_ok),
        meta.as_ref().map(|m| m.published),
        &mut problems,
    );
    let corrections = corrections::load(&ctx, meta.as_ref().map(|m| m.published), &mut problems);
    let responses = responses::load(&ctx, meta.as_ref().map(|m| m.published), &mut problems);
    let pages = content::load(&ctx, &mut problems);
    let template_overrides = load_template_overrides(&ctx, &mut problems);
    let catalogue = meta
        .as_ref()
        .map(|m| load_catalogue(&ctx, &m.language, &mut problems));

    if meta.is_none() && problems.is_empty() {
        problems.push(Problem::new("report.yaml", "the report could not be read"));
    }
    let report = meta.zip(catalogue).map(|(meta, catalogue)| Report {
        meta,
        partners,
        exports,
        opt_outs_monthly,
        protections_monthly,
        ledger,
        deletions,
        corrections,
        responses,
        previous_release: None,
        partners_read: partners_ok,
        signed: false,
        warnings: ctx
            .warnings
            .borrow()
            .iter()
            .map(|w| {
                let text = w.to_string();
                text.strip_prefix("error: ")
                    .map_or(text.clone(), str::to_owned)
            })
            .collect(),
        pages,
        template_overrides,
        catalogue,
    });
    (report, problems.into_vec())
}

/// What every loader needs: where the root is.
pub(crate) struct Ctx<'a> {
    pub(crate) root: &'a Path,
    /// The root with every link resolved: where every input must lead.
    pub(crate) real_root: PathBuf,
    /// Things worth a look that do not stop the build, located like problems.
    pub(crate) warnings: std::cell::RefCell<Vec<Problem>>,
}

impl Ctx<'_> {
    /// An address from `file` that is published (`where_shown` says where): kept when it is an
    /// absolute http(s) address, else left out with a located warning, so that older roots
    /// still build.
    pub(crate) fn web_address(
        &self,
        file: &str,
        address: Option<Spanned<String>>,
        key: &str,
        where_shown: &str,
        example: &str,
    ) -> Option<String> {
        let u = address?;
        if crate::urls::is_web_address(&u.value) {
            return Some(u.value);
        }
        self.warn(
            at(
                file,
                &u,
                key,
                format!(
                    "`{}` is not an http(s) address; it is left out of {where_shown}",
                    u.value.escape_debug()
                ),
            )
            .help(format!("write a full address such as {example}")),
        );
        None
    }

    /// Records a warning: printed, and the build goes on.
    pub(crate) fn warn(&self, problem: Problem) {
        self.warnings.borrow_mut().push(problem);
    }

    /// A root-relative display path.
    pub(crate) fn rel(&self, path: &Path) -> String {
        fs::display_rel(&fs::normalize(self.root), &fs::normalize(path))
    }

    /// The one rule for every input: a file or folder may be a symbolic link, but where it leads
    /// must be inside the report root. Records a problem (naming the file, never reading it) and
    /// returns `false` otherwise; a path that does not exist passes (its reader says so).
    pub(crate) fn confine(&self, path: &Path, problems: &mut Problems) -> bool {
        if std::fs::symlink_metadata(path).is_err() {
            return true;
        }
        match std::fs::canonicalize(path) {
            Ok(_) if fs::is_special(path) => {
                problems.push(
                    Problem::new(
                        self.rel(path),
                        "is not a regular file: a FIFO, socket or device cannot be an input",
                    )
                    .help("replace it with a regular file"),
                );
                false
            }
            Ok(real) if real.starts_with(&self.real_root) => true,
            Ok(_) => {
                problems.push(
                    Problem::new(self.rel(path), "is a symbolic link that leads outside the report root")
                        .help("copy the file into the report root instead of linking to it; sharelog reads only what is inside the root"),
                );
                false
            }
            Err(e) => {
                problems.push(
                    Problem::new(
                        self.rel(path),
                        format!("is a symbolic link that leads nowhere: {e}"),
                    )
                    .help("point the link at a file inside the report root, or remove it"),
                );
                false
            }
        }
    }

    /// Every file under `dir` (at most `max_depth` folders down), sorted by name, following links
    /// that stay inside the root: a link that leads out of it, nowhere, or round in a loop is a
    /// problem, never skipped without a word.
    pub(crate) fn walk(
        &self,
        dir: &Path,
        max_depth: usize,
        problems: &mut Problems,
    ) -> Vec<PathBuf> {
        let mut files = Vec::new();
        if !self.confine(dir, problems) {
            return files;
        }
        let mut entries = walkdir::WalkDir::new(dir)
            .follow_links(true)
            .max_depth(max_depth)
            .sort_by_file_name()
            .into_iter();
        while let Some(entry) = entries.next() {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    let at = e.path().map_or_else(|| self.rel(dir), |p| self.rel(p));
                    let help = if e.loop_ancestor().is_some() {
                        "a folder link leads back to a folder that holds it; remove the link"
                    } else {
                        "check the file's permissions, or remove a link that leads nowhere"
                    };
                    problems.push(Problem::new(at, format!("cannot be read: {e}")).help(help));
                    continue;
                }
            };
            if entry.path_is_symlink() && !self.confine(entry.path(), problems) {
                if entry.file_type().is_dir() {
                    entries.skip_current_dir();
                }
                continue;
            }
            if entry.file_type().is_file() {
                files.push(entry.into_path());
            } else if !entry.file_type().is_dir() {
                // A FIFO would block the build, a device never end: named, never skipped.
                problems.push(
                    Problem::new(
                        self.rel(entry.path()),
                        "is not a regular file: a FIFO, socket or device cannot be an input",
                    )
                    .help("replace it with a regular file, or move it out of the report root"),
                );
            }
        }
        files
    }

    /// Reads a UTF-8 text file, recording a problem when it is missing, unreadable, not UTF-8 or
    /// a link out of the root.
    pub(crate) fn read_text(&self, path: &Path, problems: &mut Problems) -> Option<String> {
        if !self.confine(path, problems) {
            return None;
        }
        let rel = self.rel(path);
        if path.is_dir() {
            problems.push(
                Problem::new(rel, "is a folder, not a file")
                    .help("name a file here, or move the folder"),
            );
            return None;
        }
        // Text inputs are read whole; a table too big for that belongs in a listing or a counts
        // table, which are scanned, not read.
        if let Ok(meta) = std::fs::metadata(path)
            && meta.len() > yaml::MAX_YAML_BYTES
        {
            problems.push(
                Problem::new(
                    rel,
                    format!(
                        "is {} MB; text inputs like this are read whole, up to {} MB",
                        meta.len() / (1024 * 1024),
                        yaml::MAX_YAML_BYTES / (1024 * 1024)
                    ),
                )
                .help("move large numbers into a counts table or an item listing (CSV or Parquet), which sharelog scans instead"),
            );
            return None;
        }
        let bytes = match fs::read_regular(path, yaml::MAX_YAML_BYTES, true) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                problems.push(
                    Problem::new(rel, "file not found")
                        .help("create it (see the README's input contract), or check --root"),
                );
                return None;
            }
            Err(e) => {
                problems.push(
                    Problem::new(rel, format!("cannot be read: {e}"))
                        .help("check the file's permissions"),
                );
                return None;
            }
        };
        match String::from_utf8(bytes) {
            Ok(text) => {
                // A leading byte-order mark is harmless; drop it so parsers see clean text.
                Some(
                    text.strip_prefix('\u{feff}')
                        .map(str::to_owned)
                        .unwrap_or(text),
                )
            }
            Err(e) => {
                let offset = e.utf8_error().valid_up_to();
                let valid = &e.as_bytes()[..offset];
                let line = valid.iter().filter(|b| **b == b'\n').count() as u64 + 1;
                problems.push(
                    Problem::new(rel, "is not valid UTF-8 text")
                        .at(line, None)
                        .help("save the file as UTF-8"),
                );
                None
            }
        }
    }

    /// Resolves a path written in an input, relative to `base`, and checks that it stays inside
    /// the report root. Records a problem and returns `None` otherwise.
    pub(crate) fn resolve_inside(
        &self,
        file: &str,
        key: &str,
        base: &Path,
        written: &Spanned<String>,
        problems: &mut Problems,
    ) -> Option<PathBuf> {
        self.resolve(file, key, base, written, problems, true)
    }

    /// Like [`Ctx::resolve_inside`], but a path that does not exist is not a problem: it gives
    /// `None` quietly (a shipped file that is not kept under the root cannot be verified).
    pub(crate) fn resolve_optional(
        &self,
        file: &str,
        key: &str,
        base: &Path,
        written: &Spanned<String>,
        problems: &mut Problems,
    ) -> Option<PathBuf> {
        self.resolve(file, key, base, written, problems, false)
    }

    fn resolve(
        &self,
        file: &str,
        key: &str,
        base: &Path,
        written: &Spanned<String>,
        problems: &mut Problems,
        must_exist: bool,
    ) -> Option<PathBuf> {
        let here = |p: Problem| p.at(written.referenced.line(), Some(written.referenced.column()));
        let text = written.value.trim();
        if text.is_empty() || Path::new(text).is_absolute() {
            problems.push(here(
                Problem::new(file, format!("`{text}` must be a relative path"))
                    .key(key)
                    .help("write the path relative to the manifest's folder"),
            ));
            return None;
        }
        let path = fs::normalize(&base.join(text));
        let root = fs::normalize(self.root);
        let outside = || {
            here(
                Problem::new(file, format!("`{text}` points outside the report root"))
                    .key(key)
                    .help("keep every input file inside the report root; paths are relative to the manifest's folder"),
            )
        };
        if !path.starts_with(&root) {
            problems.push(outside());
            return None;
        }
        match (std::fs::canonicalize(&path), std::fs::canonicalize(&root)) {
            // A symbolic link inside the root may still lead outside it.
            (Ok(real), Ok(real_root)) if !real.starts_with(&real_root) => {
                problems.push(outside());
                None
            }
            (Ok(_), _) if fs::is_special(&path) => {
                problems.push(here(
                    Problem::new(file, format!("`{text}` is not a regular file: a FIFO, socket or device cannot be an input"))
                        .key(key)
                        .help("replace it with a regular file"),
                ));
                None
            }
            (Ok(_), _) => Some(path),
            (Err(_), _) if !must_exist => None,
            (Err(_), _) => {
                problems.push(here(
                    Problem::new(file, format!("`{text}` does not exist"))
                        .key(key)
                        .help(format!(
                            "create `{}`, or correct the path (it is relative to the manifest's folder)",
                            fs::display_rel(&root, &path)
                        )),
                ));
                None
            }
        }
    }
}

/// Problem at a spanned value's position.
pub(crate) fn at<T>(file: &str, spanned: &Spanned<T>, key: &str, message: String) -> Problem {
    Problem::new(file, message)
        .at(spanned.referenced.line(), Some(spanned.referenced.column()))
        .key(key)
}

/// The interface strings for the report's language: the built-in catalogue with the root's
/// `i18n/<language>.yaml` on top (required for a language that is not built in).
fn load_catalogue(
    ctx: &Ctx<'_>,
    language: &str,
    problems: &mut Problems,
) -> crate::i18n::Catalogue {
    let file = format!("i18n/{language}.yaml");
    let path = ctx.root.join(&file);
    let text = if std::fs::symlink_metadata(&path).is_ok() {
        ctx.read_text(&path, problems)
    } else {
        None
    };
    match crate::i18n::load(language, text.as_deref().map(|t| (file.as_str(), t))) {
        Ok(catalogue) => catalogue,
        Err(found) => {
            problems.extend(found);
            crate::i18n::Catalogue::fallback()
        }
    }
}

/// Reads `templates/*.html` of the root: each overrides the built-in template of that name.
fn load_template_overrides(ctx: &Ctx<'_>, problems: &mut Problems) -> BTreeMap<String, String> {
    let dir = ctx.root.join("templates");
    let mut out = BTreeMap::new();
    if !dir.is_dir() {
        return out;
    }
    for path in ctx.walk(&dir, 1, problems) {
        if path.extension().is_some_and(|e| e == "html")
            && let (Some(name), Some(text)) = (
                path.file_name().and_then(|n| n.to_str()),
                ctx.read_text(&path, problems),
            )
        {
            out.insert(name.to_owned(), text);
        }
    }
    out
}

/// A dated entry's date (a correction's, a response's): an existing `YYYY-MM-DD` not after the
/// report's date `published`, or a located problem. `what` names the entry in the help.
pub(crate) fn entry_date(
    file: &str,
    v: &Spanned<String>,
    key: &str,
    published: Option<chrono::NaiveDate>,
    what: &str,
    problems: &mut Problems,
) -> Option<chrono::NaiveDate> {
    let d = date(file, v, key, problems)?;
    if let Some(p) = published
        && d > p
    {
        problems.push(
            at(file, v, key, format!("`{d}` is after the report's date `{p}`")).help(format!(
                "{what} is dated when it was made; move `published` in report.yaml forward, or fix the date"
            )),
        );
        return None;
    }
    Some(d)
}

/// Parses a spanned date, recording a located problem when it is not an existing `YYYY-MM-DD`.
pub(crate) fn date(
    file: &str,
    v: &Spanned<String>,
    key: &str,
    problems: &mut Problems,
) -> Option<chrono::NaiveDate> {
    let d = crate::time::parse_date(&v.value);
    if d.is_none() {
        problems.push(
            at(file, v, key, format!("`{}` is not a date", v.value))
                .help("write an existing date as YYYY-MM-DD"),
        );
    }
    d
}
