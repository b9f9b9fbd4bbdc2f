//! One batch's owner records as columns, read once from its owner table: each record's canonical
//! JSON is written straight into a reused buffer, byte for byte as `serde_json` writes a
//! [`Record`](super::Record), and its leaf hashed from it, so that no record is built as a struct
//! of strings (8.8M of them at 10M items, each allocated, serialised and freed again).

use hmac::Mac;
use polars::prelude::*;
use sha2::{Digest, Sha256};

use super::{HmacSha256, tree};
use crate::error::{Error, Result};

/// Per row of the owner table, beside its category's index and year: `items` and the flags'
/// counts in the order an owner line writes them (private, deleted, suspended, explicit, minor).
type Counts = [u64; 6];

/// A batch's owner records.
pub(crate) struct Batch {
    /// Each owner's id in its compared form, one after the other ([`Batch::owner`]).
    owner_text: String,
    /// Where each owner's id ends in `owner_text`.
    owner_ends: Vec<usize>,
    /// Each owner's rows, `start..end`.
    runs: Vec<(usize, usize)>,
    /// Each owner's opt-out marks: at the export, at the report's date.
    marks: Vec<(Option<bool>, Option<bool>)>,
    /// Per row: the category's index in the report's categories, the year, and the counts.
    cells: Vec<(usize, i32, Counts)>,
    /// Whether the ids are integers' digits.
    integers: bool,
}

/// What every record of a batch shares, written as JSON once: the parts of a record between
/// the ones that change.
pub(crate) struct Shared {
    /// Per category (in the report's order): `{"category":"…","deleted":`.
    cells: Vec<Vec<u8>>,
    /// `],"export":"…","exported_at":"…","items":`.
    middle: Vec<u8>,
    /// `,"partner":"…","salt":"`.
    tail: Vec<u8>,
}

impl Shared {
    /// The shared parts of a batch's records.
    pub(crate) fn new(
        export: &str,
        exported_at: &str,
        partner: &str,
        categories: &[String],
    ) -> Result<Shared> {
        let json = |s: &str| {
            serde_json::to_vec(s)
                .map_err(|e| Error::Internal(format!("a record could not be written: {e}")))
        };
        let mut cells = Vec::with_capacity(categories.len());
        for c in categories {
            cells.push([&b"{\"category\":"[..], &json(c)?, b",\"deleted\":"].concat());
        }
        Ok(Shared {
            cells,
            middle: [
                &b"],\"export\":"[..],
                &json(export)?,
                b",\"exported_at\":",
                &json(exported_at)?,
                b",\"items\":",
            ]
            .concat(),
            tail: [&b",\"partner\":"[..], &json(partner)?, b",\"salt\":\""].concat(),
        })
    }
}

/// One record's leaf parts: its hash, salt and item count.
pub(crate) struct Leaf {
    /// `SHA-256(0x00 ‖ record)`.
    pub(crate) hash: [u8; tree::HASH],
    /// `HMAC-SHA256(key, owner)`.
    pub(crate) salt: [u8; 32],
    /// The owner's items in the batch.
    pub(crate) items: u64,
}

impl Batch {
    /// Reads an owner table (one row per owner, category and year, sorted by owner; see
    /// `aggregate::owner_records`).
    pub(crate) fn of(df: &DataFrame, export: &str, categories: &[String]) -> Result<Batch> {
        let fail = |e: PolarsError| Error::Internal(format!("the owners of {export}: {e}"));
        let missing = || Error::Internal(format!("an owner row of {export} has a null"));
        let height = df.height();
        let u = |name: &str| -> Result<Vec<u64>> {
            let c = df
                .column(name)
                .and_then(|c| c.cast(&DataType::UInt64))
                .map_err(fail)?;
            let c = c.u64().map_err(fail)?;
            // A null flag count is 0 (as the aggregate's sums read it); a null `items` is not.
            Ok(c.iter().map(|v| v.unwrap_or(0)).collect())
        };
        let items_column = df
            .column(crate::aggregate::columns::ITEMS)
            .and_then(|c| c.cast(&DataType::UInt64))
            .map_err(fail)?;
        if items_column.null_count() > 0 {
            return Err(missing());
        }
        let counts: [Vec<u64>; 6] = [
            u(crate::aggregate::columns::ITEMS)?,
            u("private")?,
            u("deleted")?,
            u("suspended")?,
            u("explicit")?,
            u("minor")?,
        ];
        let years = df
            .column("year")
            .and_then(|c| c.cast(&DataType::Int32))
            .map_err(fail)?;
        let years = years.i32().map_err(fail)?;
        let texts = df
            .column("category")
            .and_then(|c| c.str().cloned())
            .map_err(fail)?;
        let mut cells = Vec::with_capacity(height);
        for (i, (category, year)) in texts.iter().zip(years.iter()).enumerate() {
            let category = category.ok_or_else(missing)?;
            let index = categories
                .iter()
                .position(|c| c == category)
                .ok_or_else(|| Error::Internal(format!("unknown category {category}")))?;
            cells.push((
                index,
                year.ok_or_else(missing)?,
                std::array::from_fn(|k| counts[k][i]),
            ));
        }
        let flag = |name: &str| {
            df.column(name)
                .and_then(|c| c.bool().cloned())
                .map(|c| c.rechunk().into_owned())
                .map_err(fail)
        };
        let opted = flag(crate::aggregate::RECEIPT_OPTED)?;
        let now = flag(crate::aggregate::RECEIPT_OPTED_NOW)?;
        // Rows are sorted by owner: each owner's rows are one run. Integer ids stay integers
        // (grouped and sorted as such); a record holds their digits.
        let column = df.column("owner_id").map_err(fail)?;
        let mut owner_text = String::new();
        let mut owner_ends = Vec::new();
        let mut runs: Vec<(usize, usize)> = Vec::new();
        let mut push = |i: usize, id: &str| {
            if let Some(run) = runs.last_mut() {
                run.1 = i;
            }
            runs.push((i, height));
            owner_text.push_str(id);
            owner_ends.push(owner_text.len());
        };
        let integers = column.dtype().is_integer();
        if integers {
            let ints = column.cast(&DataType::Int64).map_err(fail)?;
            let mut last = None;
            let mut digits = itoa::Buffer::new();
            for (i, id) in ints.i64().map_err(fail)?.iter().enumerate() {
                let id = id.ok_or_else(missing)?;
                if last != Some(id) {
                    push(i, digits.format(id));
                    last = Some(id);
                }
            }
        } else {
            let mut last = None;
            for (i, id) in column.str().map_err(fail)?.iter().enumerate() {
                let id = id.ok_or_else(missing)?;
                if last != Some(id) {
                    push(i, id);
                    last = Some(id);
                }
            }
        }
        let marks = runs
            .iter()
            .map(|&(start, _)| (opted.get(start), now.get(start)))
            .collect();
        Ok(Batch {
            owner_text,
            owner_ends,
            runs,
            marks,
            cells,
            integers,
        })
    }

    /// How many owners (records).
    pub(crate) fn len(&self) -> usize {
        self.runs.len()
    }

    /// Owner `r`'s id.
    pub(crate) fn owner(&self, r: usize) -> &str {
        let start = if r == 0 { 0 } else { self.owner_ends[r - 1] };
        &self.owner_text[start..self.owner_ends[r]]
    }

    /// Owner `r`'s opt-out marks: at the export, at the report's date.
    pub(crate) fn marks(&self, r: usize) -> (Option<bool>, Option<bool>) {
        self.marks[r]
    }

    /// Owner `r`'s cells: (category index, year, counts).
    fn cells(&self, r: usize) -> &[(usize, i32, Counts)] {
        let (start, end) = self.runs[r];
        &self.cells[start..end]
    }

    /// Owner `r`'s items.
    fn items(&self, r: usize) -> Result<u64> {
        self.cells(r)
            .iter()
            .try_fold(0u64, |sum, c| sum.checked_add(c.2[0]))
            .ok_or_else(|| Error::Internal("an owner's items overflow".into()))
    }

    /// Writes owner `r`'s record as its canonical JSON (what [`super::Record::canonical`] gives
    /// for it) to `out`.
    pub(crate) fn canonical_into(
        &self,
        r: usize,
        salt: &[u8; 32],
        shared: &Shared,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let mut n = itoa::Buffer::new();
        let mark = |b: Option<bool>| match b {
            Some(true) => &b"true"[..],
            Some(false) => b"false",
            None => b"null",
        };
        out.extend_from_slice(b"{\"cells\":[");
        for (k, (category, year, c)) in self.cells(r).iter().enumerate() {
            if k > 0 {
                out.push(b',');
            }
            let prefix = shared
                .cells
                .get(*category)
                .ok_or_else(|| Error::Internal(format!("no category {category}")))?;
            // Keys in sorted order: category, deleted, explicit, items, minor, private,
            // suspended, year.
            out.extend_from_slice(prefix);
            out.extend_from_slice(n.format(c[2]).as_bytes());
            out.extend_from_slice(b",\"explicit\":");
            out.extend_from_slice(n.format(c[4]).as_bytes());
            out.extend_from_slice(b",\"items\":");
            out.extend_from_slice(n.format(c[0]).as_bytes());
            out.extend_from_slice(b",\"minor\":");
            out.extend_from_slice(n.format(c[5]).as_bytes());
            out.extend_from_slice(b",\"private\":");
            out.extend_from_slice(n.format(c[1]).as_bytes());
            out.extend_from_slice(b",\"suspended\":");
            out.extend_from_slice(n.format(c[3]).as_bytes());
            out.extend_from_slice(b",\"year\":");
            out.extend_from_slice(n.format(*year).as_bytes());
            out.push(b'}');
        }
        out.extend_from_slice(&shared.middle);
        out.extend_from_slice(n.format(self.items(r)?).as_bytes());
        let (opted, now) = self.marks[r];
        out.extend_from_slice(b",\"opted_out_at_export\":");
        out.extend_from_slice(mark(opted));
        out.extend_from_slice(b",\"opted_out_now\":");
        out.extend_from_slice(mark(now));
        out.extend_from_slice(b",\"owner\":");
        if self.integers {
            // Digits need no escaping.
            out.push(b'"');
            out.extend_from_slice(self.owner(r).as_bytes());
            out.push(b'"');
        } else {
            serde_json::to_writer(&mut *out, self.owner(r))
                .map_err(|e| Error::Internal(format!("a record could not be written: {e}")))?;
        }
        out.extend_from_slice(&shared.tail);
        let mut hex = [0u8; 64];
        hex::encode_to_slice(salt, &mut hex)
            .map_err(|e| Error::Internal(format!("a salt could not be written: {e}")))?;
        out.extend_from_slice(&hex);
        out.extend_from_slice(b"\"}");
        Ok(())
    }

    /// Every record's salt, leaf hash and items, in the owners' order (in parallel).
    pub(crate) fn leaves(&self, mac: &HmacSha256, shared: &Shared) -> Result<Vec<Leaf>> {
        use rayon::prelude::*;
        (0..self.len())
            .into_par_iter()
            .map_init(
                || Vec::with_capacity(1024),
                |buf, r| {
                    let mut m = mac.clone();
                    m.update(self.owner(r).as_bytes());
                    let salt: [u8; 32] = m.finalize().into_bytes().into();
                    buf.clear();
                    self.canonical_into(r, &salt, shared, buf)?;
                    let mut h = Sha256::new();
                    h.update([0u8]);
                    h.update(&buf[..]);
                    Ok(Leaf {
                        hash: h.finalize().into(),
                        salt,
                        items: self.items(r)?,
                    })
                },
            )
            .collect()
    }

    /// Owner `r`'s line in an owner shard, for one (owner, batch), tab-separated: the owner id
    /// (as a JSON string), the batch's index in the commitments, the leaf's index (`-` without
    /// a tree), the salt, the two opt-out marks (`t`, `f` or `-` each), and the cells
    /// (`category index,year,items,private,deleted,suspended,explicit,minor`, `;`-separated).
    /// The record is rebuilt from it and the commitments (`super::parse_line`).
    pub(crate) fn line(
        &self,
        r: usize,
        batch: usize,
        leaf: Option<u64>,
        salt: &[u8; 32],
        out: &mut String,
    ) -> Result<()> {
        use std::fmt::Write as _;
        let mark = |b: Option<bool>| match b {
            Some(true) => 't',
            Some(false) => 'f',
            None => '-',
        };
        let owner = serde_json::to_string(self.owner(r))
            .map_err(|e| Error::Internal(format!("an owner id: {e}")))?;
        let leaf = leaf.map_or_else(|| "-".to_owned(), |l| l.to_string());
        let (opted, now) = self.marks[r];
        let _ = write!(
            out,
            "{owner}\t{batch}\t{leaf}\t{}\t{}{}\t",
            hex::encode(salt),
            mark(opted),
            mark(now)
        );
        for (k, (category, year, c)) in self.cells(r).iter().enumerate() {
            let _ = write!(
                out,
                "{}{category},{year},{},{},{},{},{},{}",
                if k > 0 { ";" } else { "" },
                c[0],
                c[1],
                c[2],
                c[3],
                c[4],
                c[5]
            );
        }
        out.push('\n');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Cell, Record};
    use super::*;

    /// An owner table as `aggregate::owner_records` gives it.
    fn table(
        owners: Column,
        rows: &[(&str, i32, [u64; 6])],
        marks: [Option<bool>; 2],
    ) -> DataFrame {
        let n = rows.len();
        let mut columns = vec![
            owners,
            Column::new(
                "category".into(),
                rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            ),
            Column::new("year".into(), rows.iter().map(|r| r.1).collect::<Vec<_>>()),
        ];
        for (k, name) in [
            "items",
            "private",
            "deleted",
            "suspended",
            "explicit",
            "minor",
        ]
        .iter()
        .enumerate()
        {
            columns.push(Column::new(
                (*name).into(),
                rows.iter().map(|r| r.2[k]).collect::<Vec<_>>(),
            ));
        }
        columns.push(Column::new(
            crate::aggregate::RECEIPT_OPTED.into(),
            vec![marks[0]; n],
        ));
        columns.push(Column::new(
            crate::aggregate::RECEIPT_OPTED_NOW.into(),
            vec![marks[1]; n],
        ));
        DataFrame::new(n, columns).expect("frame")
    }

    #[test]
    fn records_are_written_as_serde_writes_them() {
        let categories: Vec<String> = ["text", "photo\"s", "vidéo\\"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let rows = [
            ("photo\"s", 2019, [3, 1, 0, 2, 0, 1]),
            ("text", 2019, [1, 0, 0, 0, 1, 0]),
            ("vidéo\\", 2024, [u64::MAX - 10, 0, 7, 0, 0, 0]),
            ("text", -5, [2, 2, 2, 2, 2, 2]),
        ];
        let texts = Column::new(
            "owner_id".into(),
            [
                "a\"b\\c\u{1}\u{7f}é\u{2028}",
                "a\"b\\c\u{1}\u{7f}é\u{2028}",
                "z",
                "z",
            ],
        );
        let ints = Column::new(
            "owner_id".into(),
            [-7i64, -7, 12345678901234, 12345678901234],
        );
        let (export, exported_at, partner) = ("e-1\"x", "2024-01-01T00:00:00Z", "p</script>");
        let shared = Shared::new(export, exported_at, partner, &categories).expect("shared");
        let mac = <HmacSha256 as hmac::KeyInit>::new_from_slice(b"0123456789abcdef").expect("key");
        for (owners, ids) in [
            (texts, ["a\"b\\c\u{1}\u{7f}é\u{2028}", "z"]),
            (ints, ["-7", "12345678901234"]),
        ] {
            for marks in [[Some(true), None], [Some(false), Some(true)], [None, None]] {
                let batch = Batch::of(&table(owners.clone(), &rows, marks), "e", &categories)
                    .expect("batch");
                assert_eq!(batch.len(), 2);
                let leaves = batch.leaves(&mac, &shared).expect("leaves");
                for (r, (id, cells)) in ids.iter().zip([&rows[..2], &rows[2..]]).enumerate() {
                    let mut m = mac.clone();
                    m.update(id.as_bytes());
                    let salt = hex::encode(m.finalize().into_bytes());
                    let record = Record {
                        cells: cells
                            .iter()
                            .map(|(category, year, c)| Cell {
                                category: (*category).to_owned(),
                                deleted: c[2],
                                explicit: c[4],
                                items: c[0],
                                minor: c[5],
                                private: c[1],
                                suspended: c[3],
                                year: *year,
                            })
                            .collect(),
                        export: export.to_owned(),
                        exported_at: exported_at.to_owned(),
                        items: cells.iter().map(|c| c.2[0]).sum(),
                        opted_out_at_export: marks[0],
                        opted_out_now: marks[1],
                        owner: (*id).to_owned(),
                        partner: partner.to_owned(),
                        salt: salt.clone(),
                    };
                    let want = record.canonical().expect("serde");
                    let mut got = Vec::new();
                    batch
                        .canonical_into(r, &leaves[r].salt, &shared, &mut got)
                        .expect("written");
                    assert_eq!(
                        String::from_utf8_lossy(&got),
                        String::from_utf8_lossy(&want)
                    );
                    assert_eq!(hex::encode(leaves[r].salt), salt);
                    assert_eq!(leaves[r].items, record.items);
                    let leaf = tree::leaf(&want, &[]);
                    assert_eq!(&leaves[r].hash[..], &leaf[..tree::HASH]);
                }
            }
        }
    }

    #[test]
    fn a_null_or_an_overflow_is_an_error_not_a_record() {
        let categories = vec!["text".to_owned()];
        let shared = Shared::new("e", "2024-01-01T00:00:00Z", "p", &categories).expect("shared");
        let mac = <HmacSha256 as hmac::KeyInit>::new_from_slice(b"0123456789abcdef").expect("key");
        let owners = Column::new("owner_id".into(), [Some(1i64), None]);
        let df = table(
            owners,
            &[("text", 2019, [1; 6]), ("text", 2020, [1; 6])],
            [None, None],
        );
        assert!(Batch::of(&df, "e", &categories).is_err());
        let owners = Column::new("owner_id".into(), [1i64, 1]);
        let df = table(
            owners,
            &[("text", 2019, [u64::MAX; 6]), ("text", 2020, [1; 6])],
            [None, None],
        );
        let batch = Batch::of(&df, "e", &categories).expect("batch");
        assert!(batch.leaves(&mac, &shared).is_err());
        let owners = Column::new("owner_id".into(), [1i64]);
        let df = table(owners, &[("other", 2019, [1; 6])], [None, None]);
        assert!(Batch::of(&df, "e", &categories).is_err());
    }
}
