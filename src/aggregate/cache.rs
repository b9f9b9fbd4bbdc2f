//! The listing cache: one item listing's aggregate (a row per category and year), stored under a
//! key made of everything it depends on, so that a rebuild after one new export reads and joins
//! only the new listing.
//!
//! The key hashes: the cache format and sharelog's version; the listing's bytes and format; the
//! ledger's bytes; the partner (its id and whether it trains AI decide which opt-outs cover it);
//! the export's instant, the report's date and the content window; the category ids. An entry is
//! the aggregate as Parquet followed by the SHA-256 of those bytes and a magic trailer: an entry
//! that is missing, truncated, corrupt or of another shape is not trusted; the listing is counted
//! again and the entry rewritten. Entries are written to a temporary file and renamed into place,
//! so that two builds sharing a cache never see half an entry.

use std::cell::Cell;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use sha2::{Digest, Sha256};

use crate::model::{CategoryId, Partner, Purpose, TableFile};

/// The end of every entry: the format's name and version.
const MAGIC: &[u8; 8] = b"SLCACHE2";

/// Where entries live, and what was used.
#[derive(Debug)]
pub(crate) struct Cache {
    dir: PathBuf,
    /// The ledger's SHA-256 ("-" without a ledger): part of every key.
    ledger: String,
    /// Listings read from the cache in this build.
    pub(crate) hits: Cell<usize>,
    /// Listings counted (and stored) in this build.
    pub(crate) misses: Cell<usize>,
}

/// What else a listing's aggregate depends on.
pub(crate) struct KeyParts<'a> {
    pub(crate) partner: &'a Partner,
    pub(crate) exported_at: i64,
    pub(crate) now: i64,
    pub(crate) window: (Option<i64>, Option<i64>),
    pub(crate) categories: &'a [CategoryId],
}

/// The SHA-256 of a file's bytes, hex; `None` when it cannot be read (the build reports that).
fn file_hash(path: &Path) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer).ok()?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Some(hex::encode(hasher.finalize()))
}

impl Cache {
    /// A cache in `dir` (created when the first entry is written) for a report with this ledger.
    pub(crate) fn new(dir: &Path, ledger: Option<&TableFile>) -> Self {
        Cache {
            dir: dir.to_owned(),
            ledger: ledger
                .and_then(|t| file_hash(&t.path))
                .unwrap_or_else(|| "-".to_owned()),
            hits: Default::default(),
            misses: Default::default(),
        }
    }

    /// The entry's file for a listing, or `None` when the listing cannot be read (no caching).
    fn entry(&self, listing: &TableFile, parts: &KeyParts<'_>) -> Option<PathBuf> {
        let mut key = Sha256::new();
        let mut line = |s: &str| {
            key.update(s.as_bytes());
            key.update(b"\n");
        };
        line(std::str::from_utf8(MAGIC).unwrap_or_default());
        line(env!("CARGO_PKG_VERSION"));
        line(&file_hash(&listing.path)?);
        line(&format!("{:?}", listing.format));
        line(&self.ledger);
        line(parts.partner.id.as_str());
        line(
            &parts
                .partner
                .purposes
                .contains(&Purpose::AiTraining)
                .to_string(),
        );
        line(&parts.exported_at.to_string());
        line(&parts.now.to_string());
        line(&format!("{:?}", parts.window));
        for c in parts.categories {
            line(c.as_str());
        }
        Some(
            self.dir
                .join(format!("{}.slc", hex::encode(key.finalize()))),
        )
    }

    /// The cached aggregate of `listing`, if a sound entry exists; else `compute` it and store it.
    pub(crate) fn aggregate<E>(
        &self,
        listing: &TableFile,
        parts: &KeyParts<'_>,
        expected: &[&str],
        compute: impl FnOnce() -> Result<DataFrame, E>,
    ) -> Result<DataFrame, E> {
        let Some(entry) = self.entry(listing, parts) else {
            return compute();
        };
        if let Some(df) = read_entry(&entry, expected) {
            self.hits.set(self.hits.get() + 1);
            return Ok(df);
        }
        let df = compute()?;
        self.misses.set(self.misses.get() + 1);
        // A cache that cannot be written only costs time: the build goes on without it.
        let _ = write_entry(&self.dir, &entry, &df);
        Ok(df)
    }
}

/// Reads an entry; `None` unless it is whole, its checksum holds and it has the expected columns.
fn read_entry(path: &Path, expected: &[&str]) -> Option<DataFrame> {
    let bytes = std::fs::read(path).ok()?;
    let body_len = bytes.len().checked_sub(32 + MAGIC.len())?;
    let (body, trailer) = bytes.split_at(body_len);
    if &trailer[32..] != MAGIC || Sha256::digest(body).as_slice() != &trailer[..32] {
        return None;
    }
    let df = ParquetReader::new(Cursor::new(body)).finish().ok()?;
    let names: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
    (names == expected).then_some(df)
}

fn write_entry(dir: &Path, path: &Path, df: &DataFrame) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut body = Vec::new();
    ParquetWriter::new(&mut body)
        .finish(&mut df.clone())
        .map_err(std::io::Error::other)?;
    let digest = Sha256::digest(&body);
    body.extend_from_slice(&digest);
    body.extend_from_slice(MAGIC);
    // A name of this process's own, then an atomic rename over the entry.
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("entry");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, &body)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_damaged_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("e.slc");
        let df =
            polars::df!("category" => ["text", "photo"], "items" => [3u64, 4]).unwrap_or_default();
        write_entry(dir.path(), &path, &df).unwrap_or_else(|e| panic!("{e}"));
        let back = read_entry(&path, &["category", "items"]);
        assert_eq!(back.as_ref(), Some(&df));
        assert!(
            read_entry(&path, &["category", "items", "more"]).is_none(),
            "shape"
        );
        let bytes = std::fs::read(&path).unwrap_or_default();
        // Truncated.
        std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap_or_default();
        assert!(
            read_entry(&path, &["category", "items"]).is_none(),
            "truncated"
        );
        // One byte changed in the middle.
        let mut flipped = bytes.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x55;
        std::fs::write(&path, &flipped).unwrap_or_default();
        assert!(
            read_entry(&path, &["category", "items"]).is_none(),
            "corrupt"
        );
        // Empty.
        std::fs::write(&path, b"").unwrap_or_default();
        assert!(read_entry(&path, &["category", "items"]).is_none(), "empty");
    }
}
