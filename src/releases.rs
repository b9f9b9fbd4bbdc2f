//! `build --previous DIR`: the release history. DIR is the site as it is published now; the new
//! site carries it forward:
//!
//! - `releases/<date>/data/…`: the previous release's data files, byte for byte, and every
//!   earlier release the previous site carried (copied unchanged);
//! - `releases/releases.json`: every earlier release, oldest first, with its date, the SHA-256
//!   of its `SHA256SUMS`, and the SHA-256 of its predecessor's `SHA256SUMS`: a hash chain that a
//!   reader holding an old `SHA256SUMS` can follow to this release;
//! - `releases/index.html`: the list, and what changed since the last release (the `diff`).
//!
//! The history DIR carries is checked before it is carried on: every release's `SHA256SUMS`
//! must hash to its entry and every entry must name its predecessor's hash, or the build stops.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Problem, Result};
use crate::render::Site;

/// One earlier release in `releases/releases.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Release {
    /// The release's date (its report.yaml `published`).
    pub(crate) published: String,
    /// Where its data files are, relative to the site's root.
    pub(crate) path: String,
    /// The SHA-256 of its `data/SHA256SUMS`.
    pub(crate) sums_sha256: String,
    /// The SHA-256 of the previous release's `SHA256SUMS` (`null` for the first).
    pub(crate) previous_sums_sha256: Option<String>,
}

/// `releases/releases.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct History {
    description: String,
    releases: Vec<Release>,
}

const LARGEST_FILE: u64 = 1 << 30;

fn problem(previous: &Path, message: impl Into<String>) -> Error {
    Error::invalid(vec![
        Problem::new(previous.display().to_string(), message).help(
            "give --previous the site as it is published now (a folder `sharelog build` wrote, e.g. downloaded from the static host)",
        ),
    ])
}

fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Every regular file under `dir` as (`/`-separated relative path, bytes); links and special
/// files are refused.
fn files(dir: &Path, previous: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| problem(previous, format!("cannot be read: {e}")))?;
        if entry.file_type().is_dir() {
            continue;
        }
        let bytes = crate::fs::read_regular(entry.path(), LARGEST_FILE, false).map_err(|e| {
            problem(
                previous,
                format!("{} cannot be read: {e}", entry.path().display()),
            )
        })?;
        out.insert(crate::fs::display_rel(dir, entry.path()), bytes);
    }
    Ok(out)
}

/// The predecessor a release's `data/report.json` names, if any: (date, SHA256SUMS hash).
fn named_predecessor(report: Option<&Vec<u8>>) -> Option<(String, String)> {
    let v: serde_json::Value = serde_json::from_slice(report?).ok()?;
    let p = v.get("previous_release")?;
    Some((
        p["published"].as_str()?.to_owned(),
        p["sums_sha256"].as_str()?.to_owned(),
    ))
}

/// The site as published now, read and checked: what a new release carries forward.
#[derive(Debug)]
pub(crate) struct Previous {
    dir: std::path::PathBuf,
    /// Its date.
    pub(crate) date: chrono::NaiveDate,
    /// Its `data/` files (names without `data/`).
    data: BTreeMap<String, Vec<u8>>,
    /// The earlier releases it carries (paths under `releases/`), checked.
    carried: BTreeMap<String, Vec<u8>>,
    /// Every earlier release, oldest first, ending with the previous release itself.
    history: History,
}

impl Previous {
    /// The previous release's date and the SHA-256 of its `SHA256SUMS`: what the new release's
    /// `data/report.json` commits to.
    pub(crate) fn head(&self) -> (String, String) {
        let last = self.history.releases.last();
        (
            self.date.to_string(),
            last.map(|r| r.sums_sha256.clone()).unwrap_or_default(),
        )
    }

    /// Every earlier release, newest first.
    pub(crate) fn releases(&self) -> impl Iterator<Item = &Release> {
        self.history.releases.iter().rev()
    }

    /// The previous release's published tables, for the diff.
    pub(crate) fn side(&self) -> crate::diff::Side {
        let tables = self
            .data
            .iter()
            .filter(|(name, _)| !name.contains('/'))
            .map(|(n, b)| (n.clone(), b.clone()))
            .collect();
        crate::diff::Side::from_files(format!("release of {}", self.date), tables)
    }

    /// A release dated `published` may follow this one only if it is later.
    pub(crate) fn check_before(&self, published: chrono::NaiveDate) -> Result<()> {
        if self.date >= published {
            return Err(problem(
                &self.dir,
                format!(
                    "was published {}, not before this release ({published})",
                    self.date
                ),
            ));
        }
        Ok(())
    }

    /// Adds the history to `site`: every earlier release's files and `releases/releases.json`.
    pub(crate) fn carry(&self, site: &mut Site) -> Result<()> {
        for (path, bytes) in &self.carried {
            if path != "releases.json" && path != "index.html" {
                site.files.insert(format!("releases/{path}"), bytes.clone());
            }
        }
        for (path, bytes) in &self.data {
            site.files
                .insert(format!("releases/{}/data/{path}", self.date), bytes.clone());
        }
        let json = serde_json::to_vec_pretty(&self.history)
            .map_err(|e| Error::Internal(format!("releases.json: {e}")))?;
        site.files.insert("releases/releases.json".to_owned(), json);
        Ok(())
    }
}

/// Reads the site as published now (`build --previous DIR`) and checks the history it carries.
pub(crate) fn read(previous: &Path) -> Result<Previous> {
    let data = files(&previous.join("data"), previous)?;
    let report: serde_json::Value = data
        .get("report.json")
        .and_then(|b| serde_json::from_slice(b).ok())
        .filter(|v: &serde_json::Value| v["generator"]["name"] == "sharelog")
        .ok_or_else(|| {
            problem(
                previous,
                "is not a site sharelog built: it has no data/report.json naming sharelog",
            )
        })?;
    let date = report["published"]
        .as_str()
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .ok_or_else(|| problem(previous, "data/report.json has no `published` date"))?;
    let sums = data
        .get("SHA256SUMS")
        .ok_or_else(|| problem(previous, "has no data/SHA256SUMS"))?;
    // The history the previous site carries, checked before it is carried on.
    let carried = files(&previous.join("releases"), previous)?;
    let mut history = match carried.get("releases.json") {
        Some(bytes) => serde_json::from_slice::<History>(bytes).map_err(|e| {
            problem(
                previous,
                format!("releases/releases.json cannot be read: {e}"),
            )
        })?,
        None => History {
            description: String::new(),
            releases: Vec::new(),
        },
    };
    let mut before: Option<&str> = None;
    let mut before_date: Option<&str> = None;
    for r in &history.releases {
        let prefix = r.path.strip_prefix("releases/").ok_or_else(|| {
            problem(
                previous,
                format!("release {} has the path {}", r.published, r.path),
            )
        })?;
        let sums = carried.get(&format!("{prefix}data/SHA256SUMS"));
        let held = sums.map(|b| hex_sha256(b));
        // Every file its SHA256SUMS lists is the one listed, and its report.json is of the date
        // the entry says.
        let files_hold = sums.is_some_and(|sums| {
            String::from_utf8_lossy(sums).lines().all(|line| {
                line.split_once("  ").is_some_and(|(hash, name)| {
                    carried
                        .get(&format!("{prefix}data/{name}"))
                        .is_some_and(|b| hex_sha256(b) == hash)
                })
            })
        });
        let report = carried.get(&format!("{prefix}data/report.json"));
        let dated = report
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
            .is_some_and(|v| v["published"] == r.published.as_str());
        // The release's own signed data names its predecessor: the history cannot lose its
        // first releases unnoticed.
        let linked = named_predecessor(report)
            == before_date
                .zip(before)
                .map(|(d, h)| (d.to_owned(), h.to_owned()));
        if held.as_deref() != Some(r.sums_sha256.as_str())
            || r.previous_sums_sha256.as_deref() != before
            || !files_hold
            || !dated
            || !linked
            || r.path != format!("releases/{}/", r.published)
        {
            return Err(problem(
                previous,
                format!(
                    "releases/releases.json does not match the release of {} it lists: the history was changed",
                    r.published
                ),
            ));
        }
        before = Some(r.sums_sha256.as_str());
        before_date = Some(r.published.as_str());
    }
    // And the previous release itself names the last one the history holds.
    if named_predecessor(data.get("report.json"))
        != before_date
            .zip(before)
            .map(|(d, h)| (d.to_owned(), h.to_owned()))
    {
        return Err(problem(
            previous,
            "its data/report.json names an earlier release that releases/releases.json does not hold: the history was changed or removed",
        ));
    }
    let entry = Release {
        published: date.to_string(),
        path: format!("releases/{date}/"),
        sums_sha256: hex_sha256(sums),
        previous_sums_sha256: before.map(str::to_owned),
    };
    history.releases.push(entry);
    history.description = "Every earlier release of this report, oldest first: its date, where its data files are, the SHA-256 of its data/SHA256SUMS and of its predecessor's. Hash a SHA256SUMS you saved and follow the chain to check that the releases since are the ones published.".to_owned();

    // Only what the checked history holds is carried: each release's SHA256SUMS and the files
    // it lists. Anything else in the old site's releases/ (a page or script put there by hand)
    // stops the build rather than being published on the site's origin.
    let mut listed: std::collections::BTreeSet<String> = ["releases.json", "index.html"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    for r in &history.releases {
        let prefix = r.path.trim_start_matches("releases/");
        let sums_path = format!("{prefix}data/SHA256SUMS");
        if let Some(sums) = carried.get(&sums_path) {
            for line in String::from_utf8_lossy(sums).lines() {
                if let Some((_, name)) = line.split_once("  ") {
                    listed.insert(format!("{prefix}data/{name}"));
                }
            }
        }
        listed.insert(sums_path);
        // Its signature, when it was signed: not in its SHA256SUMS (it signs that file), and
        // carried only when it is one.
        let signature = format!("{prefix}data/SHA256SUMS.minisig");
        if carried.get(&signature).is_some_and(|b| {
            b.len() < 4096
                && std::str::from_utf8(b)
                    .is_ok_and(|t| minisign::SignatureBox::from_string(t).is_ok())
        }) {
            listed.insert(signature);
        }
    }
    if let Some(extra) = carried.keys().find(|p| !listed.contains(*p)) {
        return Err(problem(
            previous,
            format!("releases/{extra} is in no release's SHA256SUMS: the history was changed"),
        ));
    }
    Ok(Previous {
        dir: previous.to_owned(),
        date,
        data,
        carried,
        history,
    })
}
