//! The listing cache: one item listing's aggregate (a row per category and year), stored under a
//! key made of everything it depends on, so that a rebuild after one new export reads and joins
//! only the new listing.
//!
//! The key hashes: the cache format and sharelog's build ([`BUILD`]); what the entry holds; the listing's
//! (or part file's) bytes and format; the partner (its id and whether it trains AI decide which
//! opt-outs cover it); the export's instant and content window; the category ids; and a
//! fingerprint of the ledger rows the entry depends on ([`Ledger::fingerprint`]), not the whole
//! ledger: the aggregate depends on the owners opted out for the partner at the export, and is
//! kept when opt-outs are added or withdrawn after it (what happens between two exports); the
//! count of items opted out at the report's date is a separate entry keyed by the owners opted
//! out then, and when only it misses, only the listing's owner column is read again.
//!
//! [`Ledger::fingerprint`]: super::ledger::Ledger::fingerprint An entry is
//! the aggregate as JSON columns (parsed by serde, never by a Parquet reader) followed by an HMAC-SHA256 of the entry's key and those bytes, and a
//! magic trailer. Entries are written to a temporary file of this process's own and renamed into
//! place, so that two builds sharing a cache never see half an entry.
//!
//! **Trust.** Whoever can write to the cache folder must not be able to change a published
//! number. The MAC's secret ([`CacheSecret`]) never lives in the cache: it comes from
//! `--cache-key FILE`, the `SHARELOG_CACHE_KEY` environment variable, or a key generated once per
//! user outside the cache. An entry whose MAC does not verify under this build's secret (forged,
//! copied under another listing's name, written with another key, truncated or corrupt) is not
//! trusted: the listing is counted again and the entry rewritten. Entries are opened without
//! following links and read only when they are regular files of at most [`MAX_ENTRY_BYTES`], so
//! a FIFO, a device or a link to one cannot hang the build or fill memory.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use hmac::{Hmac, KeyInit, Mac};
use polars::prelude::*;
use sha2::{Digest, Sha256};

use super::tallies::Tallies;
use crate::error::{Error, Problem, Result};
use crate::model::{CategoryId, Partner, Purpose, TableFile};

/// The end of every entry: the format's name and version.
const MAGIC: &[u8; 8] = b"SLCACHE6";

/// The largest entry read: an aggregate has a row per category and year, a few kilobytes.
pub(crate) const MAX_ENTRY_BYTES: u64 = 16 << 20;

/// The largest owner tallies entry read: about 2 to 4 bytes per distinct owner of a listing.
const MAX_TALLIES_BYTES: u64 = 256 << 20;

/// The environment variable that holds the cache's secret (at least [`MIN_SECRET_BYTES`]).
pub(crate) const KEY_ENV: &str = "SHARELOG_CACHE_KEY";

/// This build of sharelog: its version and a hash of its sources and locked dependencies
/// (`build.rs`). Every entry is keyed by it, so that entries another build wrote (one that
/// counted differently, even under the same version number) are counted again, never trusted.
const BUILD: &str = concat!(env!("CARGO_PKG_VERSION"), "+", env!("SHARELOG_BUILD_ID"));

/// The shortest secret accepted.
const MIN_SECRET_BYTES: usize = 16;

type HmacSha256 = Hmac<Sha256>;

/// The secret that authenticates cache entries, and where it came from.
#[derive(Clone)]
pub(crate) struct CacheSecret {
    bytes: Vec<u8>,
    /// For messages: the key file, the environment variable, or the generated per-user file.
    pub(crate) origin: String,
}

impl std::fmt::Debug for CacheSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CacheSecret({})", self.origin)
    }
}

impl CacheSecret {
    /// The secret for a cache in `cache_dir`: `--cache-key FILE` when given, else
    /// `SHARELOG_CACHE_KEY`, else the per-user key (generated on first use). A key the user gave
    /// that is unusable is an error; `Ok(None)` when there is none to be had (no home folder, or
    /// one where the key cannot be written or read): the build then runs without the cache.
    pub(crate) fn resolve(
        explicit: Option<&Path>,
        cache_dir: &Path,
    ) -> Result<Option<CacheSecret>> {
        if let Some(file) = explicit {
            return Self::from_file(file, cache_dir).map(Some);
        }
        // Empty counts as unset: what a CI secret gives a run that may not read it.
        if let Some(text) = std::env::var_os(KEY_ENV).filter(|v| !v.is_empty()) {
            let bytes = text.as_encoded_bytes().to_vec();
            return Self::checked(bytes, KEY_ENV.to_owned(), KEY_ENV).map(Some);
        }
        Ok(user_key_path().and_then(|path| Self::user_key(&path, cache_dir).ok()))
    }

    fn checked(bytes: Vec<u8>, origin: String, shown: &str) -> Result<CacheSecret> {
        let trimmed = bytes.trim_ascii().to_vec();
        if trimmed.len() < MIN_SECRET_BYTES {
            return Err(Error::invalid(vec![
                Problem::new(
                    shown,
                    format!(
                        "the cache key has {} bytes; it needs at least {MIN_SECRET_BYTES}",
                        trimmed.len()
                    ),
                )
                .help("use 32 random bytes, e.g. the output of `openssl rand -hex 32`"),
            ]));
        }
        Ok(CacheSecret {
            bytes: trimmed,
            origin,
        })
    }

    fn from_file(file: &Path, cache_dir: &Path) -> Result<CacheSecret> {
        let shown = file.display().to_string();
        if inside(file, cache_dir) {
            return Err(Error::invalid(vec![
                Problem::new(
                    &shown,
                    "the cache key is inside the cache folder, where whoever writes entries can read it",
                )
                .help("keep the key file outside --cache, e.g. in a CI secret written to a temporary file"),
            ]));
        }
        let bytes = crate::fs::read_regular(file, 64 << 10, true).map_err(|e| {
            Error::invalid(vec![
                Problem::new(&shown, format!("the cache key cannot be read: {e}"))
                    .help("give a regular file of at least 16 bytes (kept outside the cache), or leave out --cache-key"),
            ])
        })?;
        Self::checked(bytes, shown.clone(), &shown)
    }

    /// The per-user key: read, or created with 32 random bytes (hex) when missing.
    fn user_key(path: &Path, cache_dir: &Path) -> Result<CacheSecret> {
        if inside(path, cache_dir) {
            // Never made where whoever writes entries could read it.
            return Self::from_file(path, cache_dir);
        }
        if std::fs::symlink_metadata(path).is_err() {
            create_user_key(path).map_err(|source| crate::fs::io_error(path, source))?;
        }
        Self::from_file(path, cache_dir)
    }
}

/// `$XDG_CONFIG_HOME/sharelog/cache-key`, else `$HOME/.config/sharelog/cache-key`.
fn user_key_path() -> Option<PathBuf> {
    // A relative XDG_CONFIG_HOME is ignored, as the XDG specification says (it would put the
    // key in whatever folder the build runs in, such as the repository).
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|h| h.is_absolute())
                .map(|h| h.join(".config"))
        })?;
    Some(config.join("sharelog").join("cache-key"))
}

/// Writes a new random key to `path`, readable by its owner only; a key another build created
/// first is kept.
fn create_user_key(path: &Path) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| std::io::Error::other(e.to_string()))?;
    let tmp = dir.join(format!(".cache-key.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(format!("{}\n", hex::encode(secret)).as_bytes())?;
    file.sync_all()?;
    drop(file);
    // A hard link fails when the key exists: the first build's key wins.
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    }
}

/// Whether `path` lies inside `dir` (both as they would be once resolved).
fn inside(path: &Path, dir: &Path) -> bool {
    crate::fs::resolved(path).starts_with(crate::fs::resolved(dir))
}

/// Where entries live, and what was used.
#[derive(Debug)]
pub(crate) struct Cache {
    dir: PathBuf,
    /// Authenticates entries.
    secret: CacheSecret,
    /// The BLAKE3 hash of each listing (part) file, hashed once per build: every entry of a
    /// listing is keyed by it.
    hashes: std::sync::Mutex<std::collections::HashMap<PathBuf, Option<String>>>,
    /// Listings read from the cache in this build.
    pub(crate) hits: AtomicUsize,
    /// Listings counted (and stored) in this build.
    pub(crate) misses: AtomicUsize,
}

/// What else a listing's aggregate depends on.
pub(crate) struct KeyParts<'a> {
    pub(crate) partner: &'a Partner,
    pub(crate) exported_at: i64,
    /// The fingerprint of the ledger rows the entry depends on (`-` without a ledger).
    pub(crate) ledger: &'a str,
    pub(crate) window: (Option<i64>, Option<i64>),
    pub(crate) categories: &'a [CategoryId],
}

/// The BLAKE3 hash of a file's bytes, hex; `None` when it cannot be read (the build reports
/// that). BLAKE3, not SHA-256: every build hashes every listing to find its entries, and BLAKE3
/// hashes several times faster on one core (a rebuild of 10M items hashes 115 MB).
fn file_hash(path: &Path) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut hasher = blake3::Hasher::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer).ok()?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Some(hasher.finalize().to_hex().to_string())
}

impl Cache {
    /// A cache in `dir` (created when the first entry is written) for a report with this ledger.
    pub(crate) fn new(dir: &Path, secret: CacheSecret) -> Self {
        Cache {
            dir: dir.to_owned(),
            secret,
            hashes: Default::default(),
            hits: Default::default(),
            misses: Default::default(),
        }
    }

    /// The entry's file for a listing, or `None` when the listing cannot be read (no caching).
    fn entry(&self, what: &str, listing: &TableFile, parts: &KeyParts<'_>) -> Option<PathBuf> {
        entry_path_hashed(&self.dir, what, listing, &self.hash(listing)?, Some(parts))
    }

    /// The BLAKE3 hash of a listing (part) file, hashed once per build.
    fn hash(&self, listing: &TableFile) -> Option<String> {
        if let Some(h) = super::lock(&self.hashes).get(&listing.path) {
            return h.clone();
        }
        // Hashed without the lock, so that threads hash their listings side by side (two that
        // hash the same file get the same hash).
        let hash = file_hash(&listing.path);
        super::lock(&self.hashes)
            .entry(listing.path.clone())
            .or_insert(hash)
            .clone()
    }

    /// Whether `listing` has an aggregate entry under this key (not yet whether it verifies):
    /// what the build counts first is what it must count.
    pub(crate) fn has_aggregate(&self, listing: &TableFile, parts: &KeyParts<'_>) -> bool {
        self.entry("aggregate", listing, parts)
            .and_then(|e| std::fs::symlink_metadata(e).ok())
            .is_some_and(|m| m.is_file())
    }

    /// The cached aggregate of `listing`, if a sound entry exists; else `compute` it and store it.
    pub(crate) fn aggregate<E>(
        &self,
        listing: &TableFile,
        parts: &KeyParts<'_>,
        expected: &[&str],
        compute: impl FnOnce() -> Result<DataFrame, E>,
    ) -> Result<DataFrame, E> {
        let Some(entry) = self.entry("aggregate", listing, parts) else {
            return compute();
        };
        if let Some(df) = read_entry(&entry, &self.secret, expected) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(df);
        }
        let df = compute()?;
        self.misses.fetch_add(1, Ordering::Relaxed);
        // A cache that cannot be written only costs time: the build goes on without it.
        let _ = write_entry(&self.dir, &entry, &self.secret, &df);
        Ok(df)
    }

    /// The file of an entry computed from several listings (`what` names it), keyed by the
    /// aggregate entries of its inputs: it misses whenever one of them would. `None` when an
    /// input cannot be read (no caching).
    pub(crate) fn combined_entry(
        &self,
        what: &str,
        inputs: &[(&TableFile, KeyParts<'_>)],
    ) -> Option<PathBuf> {
        let paths = inputs
            .iter()
            .map(|(listing, parts)| self.entry("aggregate", listing, parts))
            .collect::<Option<Vec<_>>>()?;
        Some(combined_path(&self.dir, what, &paths))
    }

    /// The small table stored at `entry` (from [`Cache::combined_entry`]), if a sound one with
    /// the `expected` columns exists; else `compute` it and store it.
    pub(crate) fn table<E>(
        &self,
        entry: Option<PathBuf>,
        expected: &[&str],
        compute: impl FnOnce() -> Result<DataFrame, E>,
    ) -> Result<DataFrame, E> {
        let Some(entry) = entry else {
            return compute();
        };
        if let Some(df) = read_entry(&entry, &self.secret, expected) {
            return Ok(df);
        }
        let df = compute()?;
        let _ = write_entry(&self.dir, &entry, &self.secret, &df);
        Ok(df)
    }

    /// The owner tallies of `listing` (see [`super::tallies`]), if a sound entry exists; else
    /// `compute` them and store them. Keyed by the listing's bytes and how it is read alone:
    /// they hold no opt-out, so no ledger change makes them miss. `compute` gives `None` for a
    /// listing without tallies (owner ids that are not `Int64`'s): nothing is stored.
    pub(crate) fn tallies<E>(
        &self,
        listing: &TableFile,
        compute: impl FnOnce() -> Result<Option<Tallies>, E>,
    ) -> Result<Option<Tallies>, E> {
        self.with_tallies(listing, Tallies::decode, |t| t, compute)
    }

    /// How many of `listing`'s items have an owner in `set`, from its owner tallies (read as
    /// they are decoded, when a sound entry exists; else `compute`d and stored); `None` for a
    /// listing without tallies.
    pub(crate) fn items_in_tallies<E>(
        &self,
        listing: &TableFile,
        set: &super::ledger::Ids,
        compute: impl FnOnce() -> Result<Option<Tallies>, E>,
    ) -> Result<Option<u64>, E> {
        self.with_tallies(
            listing,
            |bytes| Tallies::items_in_encoded(bytes, set),
            |t| t.items_in(set),
            compute,
        )
    }

    /// `read` of the body of `listing`'s tallies entry when it is sound; else `made` of the
    /// tallies `compute` gives, which are stored.
    fn with_tallies<T, E>(
        &self,
        listing: &TableFile,
        read: impl FnOnce(&[u8]) -> Option<T>,
        made: impl FnOnce(Tallies) -> T,
        compute: impl FnOnce() -> Result<Option<Tallies>, E>,
    ) -> Result<Option<T>, E> {
        let Some(entry) = self
            .hash(listing)
            .and_then(|h| entry_path_hashed(&self.dir, TALLIES, listing, &h, None))
        else {
            return Ok(compute()?.map(made));
        };
        let found = crate::fs::read_regular(&entry, MAX_TALLIES_BYTES, false)
            .ok()
            .and_then(|bytes| read(verified_body(&entry, &self.secret, &bytes)?));
        if let Some(t) = found {
            return Ok(Some(t));
        }
        let tallies = compute()?;
        if let Some(t) = &tallies {
            let _ = write_body(&self.dir, &entry, &self.secret, t.encode());
        }
        Ok(tallies.map(made))
    }

    /// The ledger's carried statistics for `key` (see [`ledger_summary_path`]), if a sound entry
    /// exists.
    pub(crate) fn ledger_summary(&self, key: &str) -> Option<Vec<u8>> {
        let entry = ledger_summary_path(&self.dir, key);
        let bytes = crate::fs::read_regular(&entry, MAX_ENTRY_BYTES, false).ok()?;
        verified_body(&entry, &self.secret, &bytes).map(<[u8]>::to_vec)
    }

    /// Stores the ledger's statistics for the next build (a cache that cannot be written only
    /// costs time).
    pub(crate) fn store_ledger_summary(&self, key: &str, body: Vec<u8>) {
        let entry = ledger_summary_path(&self.dir, key);
        let _ = write_body(&self.dir, &entry, &self.secret, body);
    }

    /// One count of a listing (`what` names it), stored like an aggregate.
    pub(crate) fn count<E>(
        &self,
        what: &str,
        listing: &TableFile,
        parts: &KeyParts<'_>,
        compute: impl FnOnce() -> Result<u64, E>,
    ) -> Result<u64, E> {
        let Some(entry) = self.entry(what, listing, parts) else {
            return compute();
        };
        let read = read_entry(&entry, &self.secret, &[what])
            .and_then(|df| df.column(what).ok()?.u64().ok()?.get(0));
        if let Some(n) = read {
            return Ok(n);
        }
        let n = compute()?;
        if let Ok(df) = DataFrame::new_infer_height(vec![Column::new(what.into(), [n])]) {
            let _ = write_entry(&self.dir, &entry, &self.secret, &df);
        }
        Ok(n)
    }
}

/// The MAC of an entry: its file name (so that an entry copied under another listing's name does
/// not verify) and its body.
/// The file of the entry `what` (`aggregate`, or a count's name) of `listing` in `dir`; `None`
/// when the listing cannot be read (no caching).
pub(crate) fn entry_path(
    dir: &Path,
    what: &str,
    listing: &TableFile,
    parts: &KeyParts<'_>,
) -> Option<PathBuf> {
    entry_path_hashed(dir, what, listing, &file_hash(&listing.path)?, Some(parts))
}

/// [`entry_path`] for a listing whose BLAKE3 hash is `hash`. Without `parts` (owner tallies),
/// the key is the listing's bytes and how it is read alone.
fn entry_path_hashed(
    dir: &Path,
    what: &str,
    listing: &TableFile,
    hash: &str,
    parts: Option<&KeyParts<'_>>,
) -> Option<PathBuf> {
    let mut key = Sha256::new();
    let mut line = |s: &str| {
        key.update(s.as_bytes());
        key.update(b"\n");
    };
    line(std::str::from_utf8(MAGIC).unwrap_or_default());
    line(BUILD);
    line(what);
    line(hash);
    line(&format!("{:?}", listing.format));
    line(&format!("{:?}", listing.hive));
    if let Some(parts) = parts {
        line(parts.ledger);
        line(parts.partner.id.as_str());
        line(
            &parts
                .partner
                .purposes
                .contains(&Purpose::AiTraining)
                .to_string(),
        );
        line(&parts.exported_at.to_string());
        line(&format!("{:?}", parts.window));
        for c in parts.categories {
            line(c.as_str());
        }
    }
    // Aggregates end in `.slc`, counts in `.slo`.
    let extension = if what == "aggregate" { "slc" } else { "slo" };
    Some(dir.join(format!("{}.{extension}", hex::encode(key.finalize()))))
}

/// The file of the ledger's carried statistics (see `ledger::summary`) in `dir`, for a ledger
/// and partners described by `key`. One per root: each build replaces it.
pub(crate) fn ledger_summary_path(dir: &Path, key: &str) -> PathBuf {
    combined_path(dir, &format!("ledger-summary\n{key}"), &[])
}

/// What names owner tallies entries in their key.
const TALLIES: &str = "owner-tallies";

/// The file of a listing's owner tallies in `dir`, for `cache prune`; `None` when the listing
/// cannot be read.
pub(crate) fn tallies_entry_path(dir: &Path, listing: &TableFile) -> Option<PathBuf> {
    entry_path_hashed(dir, TALLIES, listing, &file_hash(&listing.path)?, None)
}

/// The file of an entry computed from the listings whose aggregate entries are `inputs`.
pub(crate) fn combined_path(dir: &Path, what: &str, inputs: &[PathBuf]) -> PathBuf {
    let mut key = Sha256::new();
    key.update(MAGIC);
    key.update(BUILD.as_bytes());
    key.update(b"\ncombined\n");
    key.update(what.as_bytes());
    for path in inputs {
        key.update(b"\n");
        key.update(
            path.file_name()
                .map(|n| n.as_encoded_bytes())
                .unwrap_or_default(),
        );
    }
    dir.join(format!("{}.slo", hex::encode(key.finalize())))
}

fn mac(secret: &CacheSecret, path: &Path) -> Option<HmacSha256> {
    let name = path.file_name()?.to_str()?;
    let mut mac = HmacSha256::new_from_slice(&secret.bytes).ok()?;
    mac.update(MAGIC);
    mac.update(name.as_bytes());
    mac.update(b"\n");
    Some(mac)
}

/// Reads an entry; `None` unless it is a regular file of a sane size, its MAC verifies under
/// `secret` and it has the expected columns.
fn read_entry(path: &Path, secret: &CacheSecret, expected: &[&str]) -> Option<DataFrame> {
    let bytes = crate::fs::read_regular(path, MAX_ENTRY_BYTES, false).ok()?;
    entry_from_bytes(path, secret, &bytes, expected)
}

/// An entry's aggregate from its bytes: `None` unless the MAC verifies, the body is a well-formed
/// aggregate and its columns are `expected`.
fn entry_from_bytes(
    path: &Path,
    secret: &CacheSecret,
    bytes: &[u8],
    expected: &[&str],
) -> Option<DataFrame> {
    let body = verified_body(path, secret, bytes)?;
    let df = decode(body)?;
    let names: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
    (names == expected).then_some(df)
}

/// A column of an entry's body: its name, its type and its values (JSON, parsed by serde: no
/// Parquet reader ever sees a cache body, so a damaged or hostile one cannot reach its panics
/// or its allocations).
#[derive(serde::Serialize, serde::Deserialize)]
struct EntryColumn {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    values: serde_json::Value,
}

/// The aggregate as the entry's body: its columns, in order. Only the types an aggregate has
/// (text, Int32, UInt64) are written.
fn encode(df: &DataFrame) -> Option<Vec<u8>> {
    let columns = df
        .columns()
        .iter()
        .map(|c| {
            let (kind, values) = match c.dtype() {
                DataType::String => (
                    "str",
                    serde_json::to_value(c.str().ok()?.iter().collect::<Vec<_>>()).ok()?,
                ),
                DataType::Int32 => ("i32", serde_json::to_value(c.i32().ok()?.to_vec()).ok()?),
                DataType::UInt64 => ("u64", serde_json::to_value(c.u64().ok()?.to_vec()).ok()?),
                _ => return None,
            };
            Some(EntryColumn {
                name: c.name().to_string(),
                kind: kind.to_owned(),
                values,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    serde_json::to_vec(&columns).ok()
}

/// The aggregate from an entry's body; `None` for anything [`encode`] would not write.
fn decode(body: &[u8]) -> Option<DataFrame> {
    let columns: Vec<EntryColumn> = serde_json::from_slice(body).ok()?;
    let mut height = None;
    let mut out = Vec::with_capacity(columns.len());
    for c in columns {
        let name = PlSmallStr::from(c.name.as_str());
        let series = match c.kind.as_str() {
            "str" => Series::new(
                name,
                serde_json::from_value::<Vec<Option<String>>>(c.values).ok()?,
            ),
            "i32" => Series::new(
                name,
                serde_json::from_value::<Vec<Option<i32>>>(c.values).ok()?,
            ),
            "u64" => Series::new(
                name,
                serde_json::from_value::<Vec<Option<u64>>>(c.values).ok()?,
            ),
            _ => return None,
        };
        // Every column of one frame has the same length.
        if *height.get_or_insert(series.len()) != series.len() {
            return None;
        }
        out.push(series.into_column());
    }
    DataFrame::new_infer_height(out).ok()
}

/// For the fuzz target `cache_entry`: reads `bytes` as the entry `name` under `key`, both as they
/// are and, when `sign` is set, with a valid MAC appended (so that arbitrary bodies reach the
/// body's decoders: the aggregate's, and the owner tallies'). Returns whether an aggregate or a
/// tally list came out.
pub(crate) fn fuzz_entry(name: &str, key: &[u8], bytes: &[u8], sign: bool) -> bool {
    let secret = CacheSecret {
        bytes: key.to_vec(),
        origin: "fuzz".to_owned(),
    };
    let path = Path::new(name);
    let expected = ["category", "year", "items"];
    let mut entry = bytes.to_vec();
    if sign && let Some(mut mac) = mac(&secret, path) {
        mac.update(bytes);
        entry.extend_from_slice(&mac.finalize().into_bytes());
        entry.extend_from_slice(MAGIC);
    }
    entry_from_bytes(path, &secret, &entry, &expected).is_some()
        || verified_body(path, &secret, &entry)
            .and_then(Tallies::decode)
            .is_some()
}

/// The entry's body when its trailer is whole and its MAC verifies.
fn verified_body<'a>(path: &Path, secret: &CacheSecret, bytes: &'a [u8]) -> Option<&'a [u8]> {
    let body_len = bytes.len().checked_sub(32 + MAGIC.len())?;
    let (body, trailer) = bytes.split_at(body_len);
    if &trailer[32..] != MAGIC {
        return None;
    }
    let mut mac = mac(secret, path)?;
    mac.update(body);
    mac.verify_slice(&trailer[..32]).ok()?;
    Some(body)
}

fn write_entry(
    dir: &Path,
    path: &Path,
    secret: &CacheSecret,
    df: &DataFrame,
) -> std::io::Result<()> {
    let body = encode(df).ok_or_else(|| std::io::Error::other("an aggregate of other types"))?;
    write_body(dir, path, secret, body)
}

/// Writes an entry: `body`, its MAC and the trailer.
fn write_body(
    dir: &Path,
    path: &Path,
    secret: &CacheSecret,
    mut body: Vec<u8>,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut mac = mac(secret, path).ok_or_else(|| std::io::Error::other("entry name"))?;
    mac.update(&body);
    body.extend_from_slice(&mac.finalize().into_bytes());
    body.extend_from_slice(MAGIC);
    // A new file of this process's own (never through a link someone left at the name), then an
    // atomic rename over the entry.
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("entry");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| f.write_all(&body));
    written
        .and_then(|()| std::fs::rename(&tmp, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> CacheSecret {
        CacheSecret {
            bytes: text.as_bytes().to_vec(),
            origin: "test".to_owned(),
        }
    }

    /// Entries are keyed by this build: the version and the hash `build.rs` made of the
    /// sources and the locked dependencies.
    #[test]
    fn entries_are_keyed_by_the_build() {
        let id = BUILD
            .strip_prefix(concat!(env!("CARGO_PKG_VERSION"), "+"))
            .expect("the version first");
        assert_eq!(id.len(), 32, "{BUILD}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{BUILD}");
        let dir = Path::new("/cache");
        let key = |build: &str| {
            let mut hash = Sha256::new();
            hash.update(MAGIC);
            hash.update(build.as_bytes());
            hash.update(b"\ncombined\nledger-summary\nk");
            dir.join(format!("{}.slo", hex::encode(hash.finalize())))
        };
        assert_eq!(ledger_summary_path(dir, "k"), key(BUILD));
        assert_ne!(
            ledger_summary_path(dir, "k"),
            key(env!("CARGO_PKG_VERSION"))
        );
    }

    #[test]
    fn entries_round_trip_and_damaged_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("e.slc");
        let key = secret("0123456789abcdef0123");
        let df =
            polars::df!("category" => ["text", "photo"], "items" => [3u64, 4]).unwrap_or_default();
        write_entry(dir.path(), &path, &key, &df).unwrap_or_else(|e| panic!("{e}"));
        let back = read_entry(&path, &key, &["category", "items"]);
        assert_eq!(back.as_ref(), Some(&df));
        assert!(
            read_entry(&path, &key, &["category", "items", "more"]).is_none(),
            "shape"
        );
        let bytes = std::fs::read(&path).unwrap_or_default();
        // Truncated.
        std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap_or_default();
        assert!(
            read_entry(&path, &key, &["category", "items"]).is_none(),
            "truncated"
        );
        // One byte changed in the middle.
        let mut flipped = bytes.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x55;
        std::fs::write(&path, &flipped).unwrap_or_default();
        assert!(
            read_entry(&path, &key, &["category", "items"]).is_none(),
            "corrupt"
        );
        // Written with another key, or copied under another entry's name.
        write_entry(dir.path(), &path, &secret("another key, 16+ bytes"), &df)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            read_entry(&path, &key, &["category", "items"]).is_none(),
            "other key"
        );
        write_entry(dir.path(), &path, &key, &df).unwrap_or_else(|e| panic!("{e}"));
        let moved = dir.path().join("f.slc");
        std::fs::rename(&path, &moved).unwrap_or_default();
        assert!(
            read_entry(&moved, &key, &["category", "items"]).is_none(),
            "renamed"
        );
        std::fs::rename(&moved, &path).unwrap_or_default();
        assert!(
            read_entry(&path, &key, &["category", "items"]).is_some(),
            "back"
        );
        // Empty.
        std::fs::write(&path, b"").unwrap_or_default();
        assert!(
            read_entry(&path, &key, &["category", "items"]).is_none(),
            "empty"
        );
    }
}
