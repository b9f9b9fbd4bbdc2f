//! Receipts: a public commitment per export batch, and a private proof for each owner that they
//! are counted in it (issue 22).
//!
//! For every export with an item listing whose `items` and `owners` the site publishes exactly, a
//! Merkle sum tree over its owners ([`tree`]): a leaf per owner is `SHA-256(0x00 ‖ record)` with
//! the owner's sums (`items`, `owners` = 1, `owners_opted_out` = 0 or 1), where the record is the
//! canonical JSON of what the batch held of theirs, salted with `HMAC-SHA256(key, owner id)`.
//! `data/commitments.json` publishes each tree's root hash and sums, which equal the batch's
//! published totals. `build --receipts DIR` stores the trees and the records outside the site;
//! `sharelog receipt` assembles one owner's receipt from them and `sharelog verify` checks one
//! against a site, as `verify/index.html` does in the browser.

mod batch;
pub(crate) mod tree;
pub mod verify;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use hmac::{Hmac, KeyInit};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Problem, Result};
use crate::model::Report;
use crate::progress::Progress;
use crate::publish::{Count, Publication};

type HmacSha256 = Hmac<Sha256>;

/// What `data/commitments.json` says its scheme is.
pub const SCHEME: &str = "sharelog-commitments/1";
/// A receipt's format.
pub const RECEIPT: &str = "sharelog-receipt/1";
/// The receipts folder's format.
const FOLDER: &str = "sharelog-receipts/1";
/// The receipts folder's index.
const INDEX: &str = "receipts.json";
/// The fewest bytes a receipt key may have.
const MIN_KEY: usize = 16;
/// The most bytes a receipt key file may have.
const MAX_KEY: u64 = 64 << 10;
/// The summed counts, in tree order; `owners_opted_out` only with a ledger.
const SUMS: [&str; 3] = ["items", "owners", "owners_opted_out"];

/// The secret the salts are derived from.
pub struct Key(Vec<u8>);

impl Key {
    /// Reads a key file: its bytes, as they are (at least 16, at most 64 KiB), from a regular
    /// file, as the cache and signing keys are read (`/dev/zero` would never end).
    pub fn read(path: &Path) -> Result<Key> {
        let bytes = crate::fs::read_regular(path, MAX_KEY, true).map_err(|e| {
            Error::invalid(vec![
                Problem::new(
                    path.display().to_string(),
                    format!("the receipt key cannot be read: {e}"),
                )
                .help("give a regular file of at least 16 bytes, e.g. one made with `head -c 32 /dev/urandom > receipt.key`"),
            ])
        })?;
        if bytes.len() < MIN_KEY {
            return Err(Error::invalid(vec![
                Problem::new(
                    path.display().to_string(),
                    format!(
                        "the receipt key has {} bytes; it needs at least {MIN_KEY}",
                        bytes.len()
                    ),
                )
                .help("make one with `head -c 32 /dev/urandom > receipt.key`, keep it secret, and keep it: another key gives other commitments"),
            ]));
        }
        Ok(Key(bytes))
    }

    fn mac(&self) -> Result<HmacSha256> {
        HmacSha256::new_from_slice(&self.0)
            .map_err(|e| Error::Internal(format!("the receipt key cannot key HMAC: {e}")))
    }
}

/// `data/commitments.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commitments {
    /// [`SCHEME`].
    pub scheme: String,
    /// How leaves and nodes are hashed, in words.
    pub hashing: String,
    /// The report the commitments belong to.
    pub report: ReportRef,
    /// One per export batch, in the report's order.
    pub exports: Vec<ExportCommitment>,
}

/// The report a commitment or receipt belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRef {
    /// Its title.
    pub title: String,
    /// Its date (`YYYY-MM-DD`).
    pub published: String,
}

/// One export batch's commitment, or why it has none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportCommitment {
    /// The batch.
    pub export: String,
    /// Its partner.
    pub partner: String,
    /// When it was exported (RFC 3339, UTC).
    pub exported_at: String,
    /// Whether a tree is committed to.
    pub committed: bool,
    /// Why not: `no-listing` (declared counts only: nobody's items can be listed), `empty` (its
    /// listing has no item) or `hidden` (its items or owners are not published exactly, and a
    /// receipt's sums would tell them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Leaves (owners).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree_size: Option<u64>,
    /// The root hash, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    /// The summed counts, in the order nodes hold them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sums: Vec<String>,
    /// The root's sums by name: the batch's published totals.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub totals: BTreeMap<String, u64>,
}

/// What a batch held of one owner's items: the leaf's preimage. Fields in sorted order, so that
/// serialising it gives its canonical JSON (keys sorted, no spaces), as the browser's verifier
/// rebuilds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Items per category and year.
    pub cells: Vec<Cell>,
    /// The batch.
    pub export: String,
    /// When it was exported.
    pub exported_at: String,
    /// The owner's items in it.
    pub items: u64,
    /// Whether an opt-out covering the partner was in force at the export (`null` without a
    /// ledger). Required, `null` or not: the leaf hashes it.
    #[serde(deserialize_with = "Option::deserialize")]
    pub opted_out_at_export: Option<bool>,
    /// Whether one is in force at the end of the report's date.
    #[serde(deserialize_with = "Option::deserialize")]
    pub opted_out_now: Option<bool>,
    /// The owner's id, in its compared form (an integer's digits).
    pub owner: String,
    /// The partner.
    pub partner: String,
    /// `HMAC-SHA256(key, owner)`, hex: makes the leaf's hash impossible to guess.
    pub salt: String,
}

/// One (category, year) of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cell {
    /// The category id.
    pub category: String,
    /// Of the items, deleted ones.
    pub deleted: u64,
    /// Explicit ones.
    pub explicit: u64,
    /// Items of this category and year.
    pub items: u64,
    /// Items of owners known to be minors.
    pub minor: u64,
    /// Private ones.
    pub private: u64,
    /// Suspended ones.
    pub suspended: u64,
    /// The UTC year the items were created.
    pub year: i32,
}

impl Record {
    /// The canonical JSON the leaf hashes.
    pub fn canonical(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self)
            .map_err(|e| Error::Internal(format!("a record could not be written: {e}")))
    }

    /// The leaf's sums for the named counts; `None` for a name it has no value for.
    fn sums(&self, names: &[String]) -> Option<Vec<u64>> {
        names
            .iter()
            .map(|n| Sum::named(n)?.of(self.items, self.opted_out_at_export))
            .collect()
    }
}

/// A count a tree sums ([`SUMS`]).
#[derive(Debug, Clone, Copy)]
enum Sum {
    Items,
    Owners,
    OwnersOptedOut,
}

impl Sum {
    fn named(name: &str) -> Option<Sum> {
        match name {
            "items" => Some(Sum::Items),
            "owners" => Some(Sum::Owners),
            "owners_opted_out" => Some(Sum::OwnersOptedOut),
            _ => None,
        }
    }

    /// A leaf's value: its items, 1 (an owner), or whether it was opted out at the export
    /// (`None` without a ledger).
    fn of(self, items: u64, opted_out_at_export: Option<bool>) -> Option<u64> {
        match self {
            Sum::Items => Some(items),
            Sum::Owners => Some(1),
            Sum::OwnersOptedOut => opted_out_at_export.map(u64::from),
        }
    }
}

/// One owner's receipt: what `sharelog receipt` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// [`RECEIPT`].
    pub receipt: String,
    /// The owner.
    pub owner: String,
    /// The report.
    pub report: ReportRef,
    /// Per batch that held some of the owner's items.
    pub exports: Vec<Entry>,
}

/// A receipt's entry for one batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The batch.
    pub export: String,
    /// Whether the site commits to the batch (else there is nothing to check against).
    pub committed: bool,
    /// The leaf's place among the tree's leaves (sorted by hash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf_index: Option<u64>,
    /// The tree's leaves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree_size: Option<u64>,
    /// The summed counts, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sums: Vec<String>,
    /// What the batch held of the owner's items.
    pub record: Record,
    /// The sibling nodes from the leaf up (RFC 9162's audit path).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<PathNode>,
}

/// A sibling on a path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathNode {
    /// Its hash, hex.
    pub hash: String,
    /// Its sums, in the entry's order.
    pub sums: Vec<u64>,
}

/// A receipts folder being written beside its final place; moved there by [`Staged::install`]
/// once the site is written, removed when dropped otherwise. It holds the folder's lock from
/// before the staging folder is made until it is dropped, so that two builds of one folder
/// take turns and whatever a killed build left is known to be stale.
#[derive(Debug)]
pub(crate) struct Staged {
    dir: PathBuf,
    staging: PathBuf,
    previous: PathBuf,
    installed: AtomicBool,
    _lock: crate::write::Lock,
}

impl Staged {
    /// Takes the folder's lock (waiting for another build of it), puts back a previous folder
    /// that a killed build had moved aside, and removes a staging folder a killed build left.
    fn begin(dir: &Path, progress: &Progress) -> Result<Staged> {
        // Its parents are made, as `--out`'s are.
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| crate::fs::io_error(parent, e))?;
        }
        let lock = crate::write::Lock::acquire(&beside(dir, "lock"), progress)?;
        let staged = Staged {
            dir: dir.to_path_buf(),
            staging: beside(dir, "new"),
            previous: beside(dir, "old"),
            installed: AtomicBool::new(false),
            _lock: lock,
        };
        let is_folder = |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
        if std::fs::symlink_metadata(dir).is_err() && is_folder(&staged.previous) {
            crate::fs::rename(&staged.previous, dir)?;
            // Checked as DIR was: a stray file in it stops the build rather than being deleted.
            check_receipts_dir(dir)?;
        }
        clear(&staged.staging)?;
        for d in [
            staged.staging.clone(),
            staged.staging.join("trees"),
            staged.staging.join("owners"),
        ] {
            private_dir(&d)?;
        }
        Ok(staged)
    }

    /// Moves the receipts into place, replacing an earlier receipts folder.
    pub(crate) fn install(&self) -> Result<()> {
        clear(&self.previous)?;
        if std::fs::symlink_metadata(&self.dir).is_ok() {
            crate::fs::rename(&self.dir, &self.previous)?;
        }
        if let Err(e) = std::fs::rename(&self.staging, &self.dir) {
            // Put the old folder back.
            let _ = std::fs::rename(&self.previous, &self.dir);
            return Err(crate::fs::io_error(&self.dir, e));
        }
        self.installed.store(true, Ordering::SeqCst);
        let _ = clear(&self.previous);
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.installed.load(Ordering::SeqCst) {
            let _ = clear(&self.staging);
        }
    }
}

/// Removes what is at one of a receipts folder's own names beside it (a link itself, not what
/// it points to).
fn clear(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => crate::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path).map_err(|e| crate::fs::io_error(path, e)),
        Err(_) => Ok(()),
    }
}

/// `.NAME.receipts-WHAT` beside `dir`: its staging folder (`new`), the folder it replaces while
/// it is replaced (`old`), and its lock (`lock`).
fn beside(dir: &Path, what: &str) -> PathBuf {
    let name = dir
        .file_name()
        .map_or_else(|| "receipts".into(), |n| n.to_string_lossy().into_owned());
    dir.with_file_name(format!(".{name}.receipts-{what}"))
}

/// Creates a folder only its owner can read (the receipts hold every owner's id and salt).
fn private_dir(path: &Path) -> Result<()> {
    let mut b = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(path).map_err(|e| crate::fs::io_error(path, e))
}

/// Creates a file only its owner can read.
fn create_private(path: &Path) -> Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path).map_err(|e| crate::fs::io_error(path, e))
}

/// Opens a regular file (not a pipe, device or folder, which could block or never end).
pub(crate) fn open_regular(path: &Path) -> Result<File> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => File::open(path).map_err(|e| crate::fs::io_error(path, e)),
        Ok(_) => Err(Error::invalid(vec![
            Problem::new(path.display().to_string(), "not a regular file")
                .help("name a file (not a folder, pipe or device)"),
        ])),
        Err(e) => Err(crate::fs::io_error(path, e)),
    }
}

/// Reads a regular file of at most `cap` bytes.
pub(crate) fn read_regular(path: &Path, cap: u64) -> Result<Vec<u8>> {
    let f = open_regular(path)?;
    let mut bytes = Vec::new();
    f.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| crate::fs::io_error(path, e))?;
    if bytes.len() as u64 > cap {
        return Err(Error::invalid(vec![
            Problem::new(
                path.display().to_string(),
                format!("larger than {} MiB: not a file sharelog wrote", cap >> 20),
            )
            .help("name the receipt or site sharelog wrote"),
        ]));
    }
    Ok(bytes)
}

/// Refuses a receipts folder that is not sharelog's to replace: a file, or a folder with
/// anything in it but what `build --receipts` writes (an index naming any version of the folder
/// format, `owners/*.tsv` and `trees/*.bin`), so that replacing it loses nothing else.
pub(crate) fn check_receipts_dir(dir: &Path) -> Result<()> {
    let refuse = |why: String| {
        Err(Error::invalid(vec![
            Problem::new(dir.display().to_string(), why)
                .help("name a new folder, or one an earlier `build --receipts` wrote and nothing else added to"),
        ]))
    };
    // The folder is replaced by renaming: it needs a name of its own (not `.`, `..` or `/`,
    // nor `dir/.`, whose last component Rust's `components` drops).
    let text = dir.to_string_lossy();
    let last = text.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    if matches!(last, "" | "." | "..")
        || !matches!(
            dir.components().next_back(),
            Some(std::path::Component::Normal(_))
        )
    {
        return refuse(
            "--receipts must name a folder (not `.`, `..` or the root): it is replaced whole"
                .to_owned(),
        );
    }
    match std::fs::symlink_metadata(dir) {
        Err(_) => Ok(()),
        Ok(m) if !m.is_dir() => refuse("--receipts is not a folder".to_owned()),
        Ok(_) => {
            let names = |d: &Path| -> Result<Vec<(String, std::fs::FileType)>> {
                let mut out = Vec::new();
                for e in std::fs::read_dir(d).map_err(|e| crate::fs::io_error(d, e))? {
                    let e = e.map_err(|e| crate::fs::io_error(d, e))?;
                    let t = e
                        .file_type()
                        .map_err(|err| crate::fs::io_error(&e.path(), err))?;
                    out.push((e.file_name().to_string_lossy().into_owned(), t));
                }
                Ok(out)
            };
            let top = names(dir)?;
            if top.is_empty() {
                return Ok(());
            }
            // Any version's folder: its index names the format, and the batches its trees are of.
            let index = read_regular(&dir.join(INDEX), 1 << 30)
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .filter(|i| {
                    i.get("format")
                        .and_then(serde_json::Value::as_str)
                        .is_some_and(|f| f.starts_with("sharelog-receipts/"))
                });
            let Some(index) = index else {
                return refuse(
                    "--receipts holds files sharelog did not write (no receipts.json of a receipts folder); it would be replaced".to_owned(),
                );
            };
            let batches: Vec<String> = index
                .pointer("/commitments/exports")
                .and_then(serde_json::Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e.get("export")?.as_str().map(|x| format!("{x}.bin")))
                        .collect()
                })
                .unwrap_or_default();
            let is_shard = |n: &str| {
                n.len() == 6
                    && n.ends_with(".tsv")
                    && n.bytes()
                        .take(2)
                        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            };
            for (name, t) in top {
                let stray = match name.as_str() {
                    INDEX if t.is_file() => None,
                    "owners" | "trees" if t.is_dir() => names(&dir.join(&name))?
                        .into_iter()
                        .find(|(n, t)| {
                            let ours = if name == "owners" {
                                is_shard(n)
                            } else {
                                batches.contains(n)
                            };
                            !(t.is_file() && ours)
                        })
                        .map(|(n, _)| format!("{name}/{n}")),
                    _ => Some(name),
                };
                if let Some(stray) = stray {
                    return refuse(format!(
                        "--receipts holds {stray:?}, which sharelog did not write there; replacing the folder would delete it"
                    ));
                }
            }
            Ok(())
        }
    }
}

/// The receipts folder's index: the commitments, and how the owners are sharded.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Index {
    format: String,
    /// The category ids the owner lines number.
    categories: Vec<String>,
    commitments: Commitments,
}

/// A line of an owner shard read back: (batch index, leaf, record); `None` when it is not one.
fn parse_line(
    line: &str,
    owner: &str,
    categories: &[String],
    commitments: &Commitments,
) -> Option<(usize, Option<u64>, Record)> {
    let mut f = line.split('\t');
    let (_, batch, leaf, salt, marks, cells) = (
        f.next()?,
        f.next()?,
        f.next()?,
        f.next()?,
        f.next()?,
        f.next()?,
    );
    if f.next().is_some() {
        return None;
    }
    let batch: usize = batch.parse().ok()?;
    let c = commitments.exports.get(batch)?;
    let leaf = match leaf {
        "-" => None,
        l => Some(l.parse().ok()?),
    };
    let mark = |b: u8| match b {
        b't' => Some(Some(true)),
        b'f' => Some(Some(false)),
        b'-' => Some(None),
        _ => None,
    };
    let marks = marks.as_bytes();
    if marks.len() != 2 {
        return None;
    }
    let mut record = Record {
        cells: Vec::new(),
        export: c.export.clone(),
        exported_at: c.exported_at.clone(),
        items: 0,
        opted_out_at_export: mark(marks[0])?,
        opted_out_now: mark(marks[1])?,
        owner: owner.to_owned(),
        partner: c.partner.clone(),
        salt: salt.to_owned(),
    };
    for cell in cells.split(';') {
        let n: Vec<&str> = cell.split(',').collect();
        if n.len() != 8 {
            return None;
        }
        let u = |i: usize| n[i].parse::<u64>().ok();
        let cell = Cell {
            category: categories.get(n[0].parse::<usize>().ok()?)?.clone(),
            year: n[1].parse().ok()?,
            items: u(2)?,
            private: u(3)?,
            deleted: u(4)?,
            suspended: u(5)?,
            explicit: u(6)?,
            minor: u(7)?,
        };
        record.items = record.items.checked_add(cell.items)?;
        record.cells.push(cell);
    }
    Some((batch, leaf, record))
}

/// The shard of an owner: the first byte of `SHA-256(owner)`, hex.
fn shard(owner: &str) -> String {
    hex::encode([shard_byte(owner)])
}

/// The first byte of `SHA-256(owner)`: which shard holds the owner's lines.
fn shard_byte(owner: &str) -> u8 {
    Sha256::digest(owner.as_bytes())[0]
}

/// The owner shards being written: a file per shard, created with its first line.
struct Shards {
    dir: PathBuf,
    files: Vec<Option<BufWriter<File>>>,
}

impl Shards {
    fn new(dir: PathBuf) -> Shards {
        Shards {
            dir,
            files: (0..256).map(|_| None).collect(),
        }
    }

    fn path(&self, shard: u8) -> PathBuf {
        self.dir.join(format!("{}.tsv", hex::encode([shard])))
    }

    /// Appends lines to a shard.
    fn write(&mut self, shard: u8, lines: &[u8]) -> Result<()> {
        let path = self.path(shard);
        let file = &mut self.files[usize::from(shard)];
        let w = match file {
            Some(w) => w,
            None => file.insert(BufWriter::with_capacity(1 << 16, create_private(&path)?)),
        };
        w.write_all(lines)
            .map_err(|e| crate::fs::io_error(&path, e))
    }

    /// Flushes every shard.
    fn finish(&mut self) -> Result<()> {
        for shard in 0..=255u8 {
            if let Some(mut w) = self.files[usize::from(shard)].take() {
                w.flush()
                    .map_err(|e| crate::fs::io_error(&self.path(shard), e))?;
            }
        }
        Ok(())
    }
}

/// The published counts a batch's tree sums: `items` and `owners` when both are exact (else no
/// tree: `None`), and `owners_opted_out` when it is exact too.
fn summed(row: &crate::aggregate::ExportRow<Count>) -> Option<Vec<(String, u64)>> {
    let exact = |c: Option<Count>| match c {
        Some(Count::Exact(n)) => Some(n),
        _ => None,
    };
    let items = exact(Some(row.items))?;
    let owners = exact(row.owners)?;
    let mut out = vec![("items".to_owned(), items), ("owners".to_owned(), owners)];
    if let Some(n) = exact(row.owners_opted_out) {
        out.push((SUMS[2].to_owned(), n));
    }
    Some(out)
}

/// Builds every batch's tree, and writes the receipts to a staging folder beside `receipts`
/// when given.
pub(crate) fn commit(
    report: &Report,
    publication: &Publication,
    key: &Key,
    receipts: Option<&Path>,
    progress: &Progress,
) -> Result<(Commitments, Option<Staged>)> {
    let base_mac = key.mac()?;
    let staged = receipts
        .map(|dir| Staged::begin(dir, progress))
        .transpose()?;
    let shards = staged
        .as_ref()
        .map(|s| Shards::new(s.staging.join("owners")));
    let mut exports: Vec<ExportCommitment> = report
        .exports
        .iter()
        .map(|e| ExportCommitment {
            export: e.id.to_string(),
            partner: e.partner.to_string(),
            exported_at: crate::time::format_utc(&e.exported_at),
            committed: false,
            reason: Some("no-listing".to_owned()),
            tree_size: None,
            root: None,
            sums: Vec::new(),
            totals: BTreeMap::new(),
        })
        .collect();
    let rows = &publication.tables.exports;
    let categories: Vec<String> = report
        .meta
        .category_ids()
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    // The receipts folder is written by a thread of its own while the next batch is counted.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Writing>(1);
    let written = std::thread::scope(|scope| {
        let writer = shards.map(|shards| scope.spawn(move || write_all(rx, shards)));
        // Sent only with a receipts folder, when the writer runs.
        let send = |job| {
            tx.send(job)
                .map_err(|_| Error::Internal("the receipts writer stopped".into()))
        };
        let trees = staged.as_ref().map(|s| s.staging.join("trees"));
        let counted = commit_batches(
            report,
            &mut exports,
            &categories,
            rows,
            &base_mac,
            send,
            trees,
        );
        drop(tx);
        let written = match writer {
            Some(w) => w
                .join()
                .unwrap_or_else(|_| Err(Error::Internal("the receipts writer failed".into()))),
            None => Ok(()),
        };
        // The writer's error first: a failed send only says that it stopped.
        written.and(counted)
    });
    written?;
    let commitments = Commitments {
        scheme: SCHEME.to_owned(),
        hashing: HASHING.to_owned(),
        report: ReportRef {
            title: report.meta.title.clone(),
            published: report.meta.published.to_string(),
        },
        exports,
    };
    if let Some(s) = &staged {
        let index = Index {
            format: FOLDER.to_owned(),
            categories: categories.clone(),
            commitments: commitments.clone(),
        };
        let path = s.staging.join(INDEX);
        let bytes = serde_json::to_vec_pretty(&index)
            .map_err(|e| Error::Internal(format!("the receipts index: {e}")))?;
        let mut f = create_private(&path)?;
        f.write_all(&bytes)
            .map_err(|e| crate::fs::io_error(&path, e))?;
    }
    Ok((commitments, staged))
}

/// How `data/commitments.json` says its trees are hashed.
const HASHING: &str = "SHA-256. Leaf: SHA-256(0x00 || record), the record being the owner's canonical JSON (keys sorted, no spaces, UTF-8); its sums: items, owners = 1, owners_opted_out = 1 if opted_out_at_export. Node: SHA-256(0x01 || left || right), each child its 32-byte hash followed by its sums as 64-bit big-endian unsigned integers in the order of `sums`; a node's sums are its children's added. Leaves are sorted by hash; the tree's shape and audit paths are RFC 9162's (section 2.1).";

/// What the receipts writer writes, in the order it is sent.
enum Writing {
    /// A tree's levels, leaves first, to its file.
    Tree(PathBuf, Vec<Vec<u8>>),
    /// A batch's owner lines (see [`format_lines`]).
    Lines(Vec<Lines>),
}

/// Writes what it is sent, then flushes the shards.
fn write_all(rx: std::sync::mpsc::Receiver<Writing>, mut shards: Shards) -> Result<()> {
    for job in rx {
        match job {
            Writing::Tree(path, levels) => {
                let mut f = BufWriter::new(create_private(&path)?);
                for level in &levels {
                    f.write_all(level)
                        .map_err(|e| crate::fs::io_error(&path, e))?;
                }
                f.flush().map_err(|e| crate::fs::io_error(&path, e))?;
            }
            Writing::Lines(chunks) => {
                for (lines, ends) in chunks {
                    let mut start = 0;
                    for (shard, end) in ends {
                        shards.write(shard, &lines[start..end])?;
                        start = end;
                    }
                }
            }
        }
    }
    shards.finish()
}

/// Builds every batch's tree into `exports`, and sends what a receipts folder holds of it to
/// `send` when `trees` (the folder's trees) is given.
fn commit_batches(
    report: &Report,
    exports: &mut [ExportCommitment],
    categories: &[String],
    rows: &[crate::aggregate::ExportRow<Count>],
    base_mac: &HmacSha256,
    send: impl Fn(Writing) -> Result<()>,
    trees: Option<PathBuf>,
) -> Result<()> {
    crate::aggregate::owner_records(report, |i, df| {
        let c = &mut exports[i];
        let batch = batch::Batch::of(&df, &c.export, categories)?;
        drop(df);
        let shared = batch::Shared::new(&c.export, &c.exported_at, &c.partner, categories)?;
        let leaves = batch.leaves(base_mac, &shared)?;
        let published = rows.iter().find(|r| r.export == c.export).and_then(summed);
        if leaves.is_empty() {
            // An empty listing: no owner, nothing to commit to.
            c.reason = Some("empty".to_owned());
        } else if let Some(published) = &published {
            let names: Vec<String> = published.iter().map(|(n, _)| n.clone()).collect();
            let width = tree::node_len(names.len());
            // Each record's place among the leaves sorted by hash (hashes are distinct: each
            // record names its owner, and salts differ). Sorted on the hash's first 8 bytes, the
            // whole hash only where those tie.
            use rayon::prelude::*;
            let prefix = |l: &batch::Leaf| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&l.hash[..8]);
                u64::from_be_bytes(b)
            };
            let mut keyed: Vec<(u64, usize)> = leaves
                .par_iter()
                .enumerate()
                .map(|(j, l)| (prefix(l), j))
                .collect();
            keyed.par_sort_unstable_by(|a, b| {
                a.0.cmp(&b.0)
                    .then_with(|| leaves[a.1].hash.cmp(&leaves[b.1].hash))
            });
            let kinds: Vec<Sum> = names
                .iter()
                .map(|n| Sum::named(n).ok_or_else(|| Error::Internal(format!("no sum {n}"))))
                .collect::<Result<_>>()?;
            let mut nodes = vec![0u8; leaves.len() * width];
            nodes
                .par_chunks_mut(width)
                .zip(keyed.par_iter())
                .try_for_each(|(node, &(_, j))| {
                    let leaf = &leaves[j];
                    node[..tree::HASH].copy_from_slice(&leaf.hash);
                    for (k, kind) in kinds.iter().enumerate() {
                        let sum = kind.of(leaf.items, batch.marks(j).0)?;
                        node[tree::HASH + 8 * k..tree::HASH + 8 * (k + 1)]
                            .copy_from_slice(&sum.to_be_bytes());
                    }
                    Some(())
                })
                .ok_or_else(|| {
                    Error::Internal(format!("a record of {} lacks a summed count", c.export))
                })?;
            let mut index = vec![0u64; leaves.len()];
            for (k, (_, j)) in keyed.iter().enumerate() {
                index[*j] = k as u64;
            }
            drop(keyed);
            let built = tree::Tree::from_sorted(nodes, width).ok_or_else(|| {
                Error::Internal(format!("the tree of {} could not be built", c.export))
            })?;
            let root = built.root();
            let sums = tree::sums_of(root);
            let totals: Vec<u64> = published.iter().map(|(_, n)| *n).collect();
            if sums != totals {
                return Err(Error::Internal(format!(
                    "the owners' records of {} add up to {sums:?}, not the published {totals:?}",
                    c.export
                )));
            }
            c.committed = true;
            c.reason = None;
            c.tree_size = Some(built.size());
            c.root = Some(hex::encode(&root[..tree::HASH]));
            c.sums = names;
            c.totals = published.iter().cloned().collect();
            if let Some(trees) = &trees {
                let path = trees.join(format!("{}.bin", c.export));
                send(Writing::Tree(path, built.into_levels()))?;
                send(Writing::Lines(format_lines(
                    i,
                    &batch,
                    &leaves,
                    Some(&index),
                )?))?;
            }
        } else {
            c.reason = Some("hidden".to_owned());
            if trees.is_some() {
                send(Writing::Lines(format_lines(i, &batch, &leaves, None)?))?;
            }
        }
        Ok(())
    })
    .map(|_| ())
}

/// A run of owner lines, and where each ends, with its shard.
type Lines = (Vec<u8>, Vec<(u8, usize)>);

/// A batch's owner lines, made in parallel (4,096 records per task), in the records' order.
fn format_lines(
    number: usize,
    batch: &batch::Batch,
    leaves: &[batch::Leaf],
    index: Option<&[u64]>,
) -> Result<Vec<Lines>> {
    use rayon::prelude::*;
    const CHUNK: usize = 4096;
    leaves
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(c, chunk)| {
            let mut lines = Vec::with_capacity(chunk.len() * 128);
            let mut ends = Vec::with_capacity(chunk.len());
            for (k, leaf) in chunk.iter().enumerate() {
                let j = c * CHUNK + k;
                let at = index.and_then(|ix| ix.get(j).copied());
                batch.line_into(j, number, at, &leaf.salt, &mut lines)?;
                ends.push((shard_byte(batch.owner(j)), lines.len()));
            }
            Ok((lines, ends))
        })
        .collect()
}

/// An owner id as receipts hold it: as listings compare ids (a number's digits).
pub fn owner_key(id: &str) -> Option<String> {
    use crate::aggregate::ids::{TextId, classify};
    match classify(id) {
        TextId::Text(t) => Some(t.to_owned()),
        TextId::Whole(d) => Some(d.into_owned()),
        TextId::NotWhole | TextId::Empty => None,
    }
}

/// `sharelog receipt`: one owner's receipt from a receipts folder; `None` when no batch held any
/// of the owner's items.
pub fn receipt(dir: &Path, owner: &str) -> Result<Option<Receipt>> {
    let index_path = dir.join(INDEX);
    let bytes = read_regular(&index_path, 1 << 30)?;
    let index: Index = serde_json::from_slice(&bytes).map_err(|e| {
        Error::invalid(vec![
            Problem::new(
                index_path.display().to_string(),
                format!("not a receipts folder's index: {e}"),
            )
            .help("name the folder `build --receipts` wrote"),
        ])
    })?;
    if index.format != FOLDER {
        return Err(Error::invalid(vec![
            Problem::new(
                index_path.display().to_string(),
                format!(
                    "a receipts folder of the format {:?}; this sharelog reads {FOLDER:?}",
                    index.format
                ),
            )
            .help("print receipts with the sharelog that built them, or build them again"),
        ]));
    }
    let Some(owner) = owner_key(owner) else {
        return Err(Error::invalid(vec![
            Problem::new(
                "--owner",
                "not an owner id: empty, or a number that is not whole",
            )
            .help("give the id as the listings hold it"),
        ]));
    };
    let shard_path = dir.join("owners").join(format!("{}.tsv", shard(&owner)));
    let file = match open_regular(&shard_path) {
        Ok(f) => f,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    let prefix = format!(
        "{}\t",
        serde_json::to_string(&owner).map_err(|e| Error::Internal(e.to_string()))?
    );
    let mut entries = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| crate::fs::io_error(&shard_path, e))?;
        if !line.starts_with(&prefix) {
            continue;
        }
        let Some((batch, leaf, record)) =
            parse_line(&line, &owner, &index.categories, &index.commitments)
        else {
            return Err(Error::invalid(vec![
                Problem::new(
                    format!("{}:{}", shard_path.display(), n + 1),
                    "not a line of a receipts folder",
                )
                .help("build the receipts again"),
            ]));
        };
        let c = &index.commitments.exports[batch];
        let (path, committed) = match (leaf, c.tree_size) {
            (Some(leaf), Some(size)) if c.committed => (read_path(dir, c, leaf, size)?, true),
            _ => (Vec::new(), false),
        };
        entries.push(Entry {
            export: c.export.clone(),
            committed,
            leaf_index: leaf.filter(|_| committed),
            tree_size: c.tree_size.filter(|_| committed),
            sums: if committed {
                c.sums.clone()
            } else {
                Vec::new()
            },
            record,
            path,
        });
    }
    if entries.is_empty() {
        return Ok(None);
    }
    let order: Vec<&str> = index
        .commitments
        .exports
        .iter()
        .map(|c| c.export.as_str())
        .collect();
    entries.sort_by_key(|e| order.iter().position(|x| *x == e.export));
    let receipt = Receipt {
        receipt: RECEIPT.to_owned(),
        owner,
        report: index.commitments.report.clone(),
        exports: entries,
    };
    // Never hand out a receipt that fails: a changed or damaged folder is found here.
    if let verify::Outcome::Failed(why) = verify::check(&receipt, &index.commitments, None) {
        return Err(Error::invalid(vec![
            Problem::new(
                dir.display().to_string(),
                format!(
                    "the receipt it gives {:?} does not verify against its own commitments: {}",
                    receipt.owner,
                    why.join("; ")
                ),
            )
            .help("the folder was changed or damaged: build the receipts again"),
        ]));
    }
    Ok(Some(receipt))
}

/// A leaf's audit path, read from the batch's stored levels.
fn read_path(dir: &Path, c: &ExportCommitment, leaf: u64, size: u64) -> Result<Vec<PathNode>> {
    let path = dir.join("trees").join(format!("{}.bin", c.export));
    let mut f = open_regular(&path)?;
    let width = tree::node_len(c.sums.len());
    let sizes = tree::level_sizes(size);
    let mut starts = Vec::with_capacity(sizes.len());
    let mut at = 0u64;
    for n in &sizes {
        starts.push(at);
        at += n * width as u64;
    }
    let mut read = |level: usize, i: u64| -> Option<Vec<u8>> {
        let mut buf = vec![0u8; width];
        f.seek(SeekFrom::Start(starts.get(level)? + i * width as u64))
            .ok()?;
        f.read_exact(&mut buf).ok()?;
        Some(buf)
    };
    let nodes = tree::path_from(size, width, leaf, &mut read).ok_or_else(|| {
        Error::invalid(vec![
            Problem::new(
                path.display().to_string(),
                "the stored tree is shorter than its index says",
            )
            .help("build the receipts again"),
        ])
    })?;
    Ok(nodes
        .iter()
        .map(|n| PathNode {
            hash: hex::encode(&n[..tree::HASH]),
            sums: tree::sums_of(n),
        })
        .collect())
}
