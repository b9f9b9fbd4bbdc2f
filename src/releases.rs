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

pub(crate) fn hex_sha256(bytes: &[u8]) -> String {
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
    /// Its `data/` files that its `SHA256SUMS` lists, that file and its signature (names without
    /// `data/`), each checked.
    data: BTreeMap<String, Vec<u8>>,
    /// The earlier releases it carries (paths under `releases/`), checked.
    carried: BTreeMap<String, Vec<u8>>,
    /// Every release before it, oldest first, checked.
    history: History,
    /// Its own entry: what a later release adds to the history.
    entry: Release,
}

impl Previous {
    /// Whether a release dated `published` republishes this one (the same date) rather than
    /// following it: it then carries the same history and may not change the data.
    pub(crate) fn republished_by(&self, published: chrono::NaiveDate) -> bool {
        self.date == published
    }

    /// The release the new one names as its predecessor in `data/report.json` (date and the
    /// SHA-256 of its `SHA256SUMS`): this one, or, when republished, the one before it.
    pub(crate) fn head(&self, published: chrono::NaiveDate) -> Option<(String, String)> {
        let last = if self.republished_by(published) {
            self.history.releases.last()
        } else {
            Some(&self.entry)
        };
        last.map(|r| (r.published.clone(), r.sums_sha256.clone()))
    }

    /// The history a release dated `published` publishes, oldest first.
    fn history_for(&self, published: chrono::NaiveDate) -> Vec<&Release> {
        let mut out: Vec<&Release> = self.history.releases.iter().collect();
        if !self.republished_by(published) {
            out.push(&self.entry);
        }
        out
    }

    /// Every earlier release, newest first.
    pub(crate) fn releases(&self, published: chrono::NaiveDate) -> Vec<&Release> {
        let mut out = self.history_for(published);
        out.reverse();
        out
    }

    /// The published tables of the release a release dated `published` follows, for "what
    /// changed": `None` for a republished first release.
    pub(crate) fn side(&self, published: chrono::NaiveDate) -> Option<crate::diff::Side> {
        let (date, files): (&str, BTreeMap<String, Vec<u8>>) = if self.republished_by(published) {
            let last = self.history.releases.last()?;
            let prefix = format!("{}/data/", last.published);
            let files = self
                .carried
                .iter()
                .filter_map(|(name, bytes)| {
                    Some((name.strip_prefix(&prefix)?.to_owned(), bytes.clone()))
                })
                .collect();
            (&last.published, files)
        } else {
            (&self.entry.published, self.data.clone())
        };
        let tables = files
            .into_iter()
            .filter(|(name, _)| !name.contains('/'))
            .collect();
        Some(crate::diff::Side::from_files(
            format!("release of {date}"),
            tables,
        ))
    }

    /// A release dated `published` may follow this one, or republish it (the same date), but
    /// not come before it.
    pub(crate) fn check_before(&self, published: chrono::NaiveDate) -> Result<()> {
        if self.date > published {
            return Err(problem(
                &self.dir,
                format!(
                    "was published {}, after this release ({published})",
                    self.date
                ),
            ));
        }
        Ok(())
    }

    /// A release that republishes this one (the same date) must publish the same data: a change
    /// to published numbers is a new release, with its own date.
    pub(crate) fn check_republished(
        &self,
        published: chrono::NaiveDate,
        sums: Option<&Vec<u8>>,
    ) -> Result<()> {
        if self.republished_by(published) && sums != self.data.get("SHA256SUMS") {
            return Err(Error::invalid(vec![
                Problem::new(
                    self.dir.display().to_string(),
                    format!(
                        "was published {published}, the date of this release, but this release's data differ from it"
                    ),
                )
                .help("a release that changes published data needs its own date: set a later `published` in report.yaml (and say what changed in data/corrections.yaml); a rebuild with the same date may change pages only"),
            ]));
        }
        Ok(())
    }

    /// Adds the history to `site`: every earlier release's files and `releases/releases.json`.
    /// Nothing for a republished first release.
    pub(crate) fn carry(&self, site: &mut Site, published: chrono::NaiveDate) -> Result<()> {
        let releases: Vec<Release> = self.history_for(published).into_iter().cloned().collect();
        if releases.is_empty() {
            return Ok(());
        }
        for (path, bytes) in &self.carried {
            if path != "releases.json" && path != "index.html" {
                site.files.insert(format!("releases/{path}"), bytes.clone());
            }
        }
        if !self.republished_by(published) {
            for (path, bytes) in &self.data {
                site.files
                    .insert(format!("releases/{}/data/{path}", self.date), bytes.clone());
            }
        }
        let history = History {
            description: "Every earlier release of this report, oldest first: its date, where its data files are, the SHA-256 of its data/SHA256SUMS and of its predecessor's. Hash a SHA256SUMS you saved and follow the chain to check that the releases since are the ones published.".to_owned(),
            releases,
        };
        let json = serde_json::to_vec_pretty(&history)
            .map_err(|e| Error::Internal(format!("releases.json: {e}")))?;
        site.files.insert("releases/releases.json".to_owned(), json);
        Ok(())
    }
}

/// Checks a release's signature file: it must be a minisign signature, and when the release's
/// `report.json` names the key that signed it, one that verifies `sums` with that key. A
/// release whose `report.json` says it was signed must have one.
fn check_signature(
    previous: &Path,
    what: &str,
    report: &serde_json::Value,
    sums: &[u8],
    signature: Option<&Vec<u8>>,
) -> Result<()> {
    let signed = report["signed"].as_bool().unwrap_or(false);
    let Some(signature) = signature else {
        if signed {
            return Err(problem(
                previous,
                format!(
                    "{what}: its data/report.json says it was signed, but its SHA256SUMS.minisig is missing"
                ),
            ));
        }
        return Ok(());
    };
    let text = std::str::from_utf8(signature)
        .ok()
        .filter(|_| signature.len() < 4096);
    let boxed = text.and_then(|t| minisign::SignatureBox::from_string(t).ok());
    let Some(boxed) = boxed else {
        return Err(problem(
            previous,
            format!("{what}: SHA256SUMS.minisig is not a minisign signature"),
        ));
    };
    if let Some(key) = report["signing_key"].as_str() {
        let verified = minisign::PublicKey::from_base64(key)
            .ok()
            .is_some_and(|pk| {
                minisign::verify(&pk, &boxed, std::io::Cursor::new(sums), true, false, false)
                    .is_ok()
            });
        if !verified {
            return Err(problem(
                previous,
                format!(
                    "{what}: SHA256SUMS.minisig does not verify with the signing key its data/report.json names"
                ),
            ));
        }
    }
    Ok(())
}

/// The files a release's `SHA256SUMS` lists, checked against `files` (its `data/` files by
/// name): every one present and matching, or a problem naming the first that is not.
fn listed_files<'a>(
    previous: &Path,
    what: &str,
    sums: &[u8],
    files: &dyn Fn(&str) -> Option<&'a [u8]>,
) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for line in String::from_utf8_lossy(sums).lines() {
        let Some((hash, name)) = line.split_once("  ") else {
            return Err(problem(
                previous,
                format!("{what}: data/SHA256SUMS has a line that is not `HASH  NAME`"),
            ));
        };
        match files(name) {
            Some(bytes) if hex_sha256(bytes) == hash => names.push(name.to_owned()),
            Some(_) => {
                return Err(problem(
                    previous,
                    format!(
                        "{what}: data/{name} does not match its SHA-256 in data/SHA256SUMS: the site was changed after it was built"
                    ),
                ));
            }
            None => {
                return Err(problem(
                    previous,
                    format!("{what}: data/{name}, which data/SHA256SUMS lists, is missing"),
                ));
            }
        }
    }
    Ok(names)
}

/// Reads the site as published now (`build --previous DIR`) and checks it and the history it
/// carries.
pub(crate) fn read(previous: &Path) -> Result<Previous> {
    let all = files(&previous.join("data"), previous)?;
    let report: serde_json::Value = all
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
    let sums = all
        .get("SHA256SUMS")
        .ok_or_else(|| problem(previous, "has no data/SHA256SUMS"))?
        .clone();
    if report["not_for_publication"] == true || sums.starts_with(b"#") {
        return Err(problem(
            previous,
            "is an auditor's build (--unsuppressed): its exact counts are not for publication, and never part of the history",
        ));
    }
    // Only what its SHA256SUMS lists (each file checked), that file, and its signature.
    let what = format!("the release of {date}");
    let names = listed_files(previous, &what, &sums, &|n| all.get(n).map(Vec::as_slice))?;
    check_signature(
        previous,
        &what,
        &report,
        &sums,
        all.get("SHA256SUMS.minisig"),
    )?;
    let mut data: BTreeMap<String, Vec<u8>> = names
        .into_iter()
        .filter_map(|n| all.get(&n).map(|b| (n, b.clone())))
        .collect();
    data.insert("SHA256SUMS".to_owned(), sums.clone());
    if let Some(signature) = all.get("SHA256SUMS.minisig") {
        data.insert("SHA256SUMS.minisig".to_owned(), signature.clone());
    }
    let sums = &sums;

    // The history the previous site carries, checked before it is carried on.
    let carried = files(&previous.join("releases"), previous)?;
    let history = match carried.get("releases.json") {
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
            listed_files(previous, &r.published, sums, &|name| {
                carried
                    .get(&format!("{prefix}data/{name}"))
                    .map(Vec::as_slice)
            })
            .is_ok()
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
        // carried only when it verifies with the key its report.json names.
        let signature = format!("{prefix}data/SHA256SUMS.minisig");
        let report: serde_json::Value = carried
            .get(&format!("{prefix}data/report.json"))
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_default();
        if let Some(sums) = carried.get(&format!("{prefix}data/SHA256SUMS")) {
            check_signature(
                previous,
                &format!("the release of {}", r.published),
                &report,
                sums,
                carried.get(&signature),
            )?;
        }
        if carried.contains_key(&signature) {
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
        entry,
    })
}
