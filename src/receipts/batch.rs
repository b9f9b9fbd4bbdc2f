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

/// A cell's keys after `deleted`, in sorted order up to `year`, with their count's place in
/// [`Counts`].
const CELL_KEYS: [(&[u8], usize); 5] = [
    (b",\"explicit\":", 4),
    (b",\"items\":", 0),
    (b",\"minor\":", 5),
    (b",\"private\":", 1),
    (b",\"suspended\":", 3),
];

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
    /// Groups a batch's rows (one per item; see `aggregate::owner_records`) by owner, category
    /// and year: owners in order (integers by value, text by its bytes), each owner's cells by
    /// category id (its text) and year, as `ORDER BY owner_id, category, year` puts them.
    pub(crate) fn of(df: &DataFrame, export: &str, categories: &[String]) -> Result<Batch> {
        use rayon::prelude::*;
        let fail = |e: PolarsError| Error::Internal(format!("the owners of {export}: {e}"));
        let missing = || Error::Internal(format!("an owner row of {export} has a null"));
        let height = df.height();
        let rows = u32::try_from(height)
            .map_err(|_| Error::Internal(format!("{export} has more than 2^32 items")))?;
        // Each row's category, as its index in the report's categories.
        let texts = df
            .column("category")
            .and_then(|c| c.str().cloned())
            .map_err(fail)?;
        let index: Vec<u16> = texts
            .iter()
            .map(|c| {
                let c = c.ok_or_else(missing)?;
                categories
                    .iter()
                    .position(|x| x == c)
                    .and_then(|k| u16::try_from(k).ok())
                    .ok_or_else(|| Error::Internal(format!("unknown category {c}")))
            })
            .collect::<Result<_>>()?;
        // A category's place among the category ids sorted as text.
        let mut by_text: Vec<usize> = (0..categories.len()).collect();
        by_text.sort_by(|a, b| categories[*a].cmp(&categories[*b]));
        let mut rank = vec![0u16; categories.len()];
        for (r, k) in by_text.into_iter().enumerate() {
            rank[k] = u16::try_from(r).map_err(|_| Error::Internal("categories".into()))?;
        }
        let years = df
            .column("year")
            .and_then(|c| c.cast(&DataType::Int32))
            .map_err(fail)?;
        let years: Vec<i32> = years
            .i32()
            .map_err(fail)?
            .iter()
            .map(|y| y.ok_or_else(missing))
            .collect::<Result<_>>()?;
        // Each row's flags, as bits in the order of an owner line's counts after `items`.
        let mut bits = vec![0u8; height];
        for (k, name) in ["private", "deleted", "suspended", "explicit", "minor"]
            .iter()
            .enumerate()
        {
            let flag = df
                .column(name)
                .and_then(|c| c.cast(&DataType::Boolean))
                .map_err(fail)?;
            for (b, f) in bits.iter_mut().zip(flag.bool().map_err(fail)?.iter()) {
                *b |= u8::from(f == Some(true)) << k;
            }
        }
        let mark = |name: &str| {
            df.column(name)
                .and_then(|c| c.bool().cloned())
                .map(|c| c.rechunk().into_owned())
                .map_err(fail)
        };
        let opted = mark(crate::aggregate::RECEIPT_OPTED)?;
        let now = mark(crate::aggregate::RECEIPT_OPTED_NOW)?;
        // The rows in owner, category and year order (the row last, so the order is total).
        // Integer ids stay integers (sorted as such); a record holds their digits.
        let column = df.column("owner_id").map_err(fail)?;
        let integers = column.dtype().is_integer();
        let mut strs: Vec<&str> = Vec::new();
        // Each row as (owner, category's place, year, flags, row), in that order: for integer
        // ids the id itself, for text the id's place among the batch's ids. The walk below reads
        // them in order, not the columns at random.
        let sorted: Vec<(i64, u16, i32, u8, u32)> = if integers {
            let cast = column.cast(&DataType::Int64).map_err(fail)?;
            let ints = cast.i64().map_err(fail)?.rechunk();
            let ints = ints.cont_slice().map_err(|_| missing())?;
            let mut keys: Vec<(i64, u16, i32, u8, u32)> = (0..rows)
                .into_par_iter()
                .map(|i| {
                    let r = i as usize;
                    (ints[r], rank[usize::from(index[r])], years[r], bits[r], i)
                })
                .collect();
            keys.par_sort_unstable();
            keys
        } else {
            strs = column
                .str()
                .map_err(fail)?
                .iter()
                .map(|v| v.ok_or_else(missing))
                .collect::<Result<_>>()?;
            let mut order: Vec<u32> = (0..rows).collect();
            order.par_sort_unstable_by(|&a, &b| {
                let (a, b) = (a as usize, b as usize);
                strs[a]
                    .cmp(strs[b])
                    .then(rank[usize::from(index[a])].cmp(&rank[usize::from(index[b])]))
                    .then(years[a].cmp(&years[b]))
                    .then(a.cmp(&b))
            });
            let mut place = 0i64;
            let mut last: Option<&str> = None;
            order
                .into_iter()
                .map(|i| {
                    let r = i as usize;
                    if last.is_some_and(|l| l != strs[r]) {
                        place += 1;
                    }
                    last = Some(strs[r]);
                    (place, rank[usize::from(index[r])], years[r], bits[r], i)
                })
                .collect()
        };
        // From a category's place back to its index.
        let mut of_rank = vec![0usize; categories.len()];
        for (k, r) in rank.iter().enumerate() {
            of_rank[usize::from(*r)] = k;
        }
        let mut owner_text = String::new();
        let mut owner_ends = Vec::new();
        let mut runs: Vec<(usize, usize)> = Vec::new();
        let mut marks = Vec::new();
        let mut cells: Vec<(usize, i32, Counts)> = Vec::new();
        let mut digits = itoa::Buffer::new();
        let mut last: Option<i64> = None;
        for &(owner, rank, year, bits, i) in &sorted {
            let i = i as usize;
            let new_owner = last != Some(owner);
            if new_owner {
                if let Some(run) = runs.last_mut() {
                    run.1 = cells.len();
                }
                runs.push((cells.len(), 0));
                owner_text.push_str(if integers {
                    digits.format(owner)
                } else {
                    strs[i]
                });
                owner_ends.push(owner_text.len());
                // The marks are the owner's: every row of theirs has the same.
                marks.push((opted.get(i), now.get(i)));
                last = Some(owner);
            }
            let category = of_rank[usize::from(rank)];
            let cell = match cells.last_mut() {
                Some(c) if !new_owner && c.0 == category && c.1 == year => c,
                _ => {
                    cells.push((category, year, [0; 6]));
                    cells.last_mut().ok_or_else(missing)?
                }
            };
            cell.2[0] += 1;
            for k in 0..5 {
                cell.2[k + 1] += u64::from((bits >> k) & 1);
            }
        }
        if let Some(run) = runs.last_mut() {
            run.1 = cells.len();
        }
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
            // Keys in sorted order: category, deleted (both in the prefix), then the rest.
            out.extend_from_slice(prefix);
            out.extend_from_slice(n.format(c[2]).as_bytes());
            for (key, at) in CELL_KEYS {
                out.extend_from_slice(key);
                out.extend_from_slice(n.format(c[at]).as_bytes());
            }
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
        self.owner_json(r, out)?;
        out.extend_from_slice(&shared.tail);
        hex_into(salt, out)?;
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
    pub(crate) fn line_into(
        &self,
        r: usize,
        batch: usize,
        leaf: Option<u64>,
        salt: &[u8; 32],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let mut n = itoa::Buffer::new();
        let mark = |b: Option<bool>| match b {
            Some(true) => b't',
            Some(false) => b'f',
            None => b'-',
        };
        self.owner_json(r, out)?;
        out.push(b'\t');
        out.extend_from_slice(n.format(batch).as_bytes());
        out.push(b'\t');
        match leaf {
            Some(l) => out.extend_from_slice(n.format(l).as_bytes()),
            None => out.push(b'-'),
        }
        out.push(b'\t');
        hex_into(salt, out)?;
        let (opted, now) = self.marks[r];
        out.extend_from_slice(&[b'\t', mark(opted), mark(now), b'\t']);
        for (k, (category, year, c)) in self.cells(r).iter().enumerate() {
            if k > 0 {
                out.push(b';');
            }
            out.extend_from_slice(n.format(*category).as_bytes());
            out.push(b',');
            out.extend_from_slice(n.format(*year).as_bytes());
            for v in c {
                out.push(b',');
                out.extend_from_slice(n.format(*v).as_bytes());
            }
        }
        out.push(b'\n');
        Ok(())
    }

    /// Owner `r`'s id as a JSON string (as `serde_json` writes it).
    fn owner_json(&self, r: usize, out: &mut Vec<u8>) -> Result<()> {
        if self.integers {
            // Digits need no escaping.
            out.push(b'"');
            out.extend_from_slice(self.owner(r).as_bytes());
            out.push(b'"');
            Ok(())
        } else {
            serde_json::to_writer(&mut *out, self.owner(r))
                .map_err(|e| Error::Internal(format!("a record could not be written: {e}")))
        }
    }
}

/// Appends a salt's hex to `out`.
fn hex_into(salt: &[u8; 32], out: &mut Vec<u8>) -> Result<()> {
    let mut hex = [0u8; 64];
    hex::encode_to_slice(salt, &mut hex)
        .map_err(|e| Error::Internal(format!("a salt could not be written: {e}")))?;
    out.extend_from_slice(&hex);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::{Cell, Record};
    use super::*;

    /// One item: owner, category, year, flags (private, deleted, suspended, explicit, minor).
    type Item<'a> = (&'a str, &'a str, i32, [bool; 5]);

    /// A batch's rows as `aggregate::owner_records` gives them (integer ids when every id parses).
    fn rows(items: &[Item], marks: &BTreeMap<String, [Option<bool>; 2]>) -> DataFrame {
        let n = items.len();
        let ints: Option<Vec<i64>> = items.iter().map(|i| i.0.parse().ok()).collect();
        let owners = match ints {
            Some(ints) => Column::new("owner_id".into(), ints),
            None => Column::new(
                "owner_id".into(),
                items.iter().map(|i| i.0).collect::<Vec<_>>(),
            ),
        };
        let mut columns = vec![
            owners,
            Column::new(
                "category".into(),
                items.iter().map(|i| i.1).collect::<Vec<_>>(),
            ),
            Column::new("year".into(), items.iter().map(|i| i.2).collect::<Vec<_>>()),
        ];
        for (k, name) in ["private", "deleted", "suspended", "explicit", "minor"]
            .iter()
            .enumerate()
        {
            columns.push(Column::new(
                (*name).into(),
                items.iter().map(|i| i.3[k]).collect::<Vec<_>>(),
            ));
        }
        for (k, name) in [
            crate::aggregate::RECEIPT_OPTED,
            crate::aggregate::RECEIPT_OPTED_NOW,
        ]
        .iter()
        .enumerate()
        {
            columns.push(Column::new(
                (*name).into(),
                items.iter().map(|i| marks[i.0][k]).collect::<Vec<_>>(),
            ));
        }
        DataFrame::new(n, columns).expect("frame")
    }

    /// The records of `items`, grouped naively, in the owners' order (integers by value).
    fn expected(
        items: &[Item],
        marks: &BTreeMap<String, [Option<bool>; 2]>,
        shared: (&str, &str, &str),
        mac: &HmacSha256,
    ) -> Vec<Record> {
        let integers = items.iter().all(|i| i.0.parse::<i64>().is_ok());
        type Cells<'a> = BTreeMap<(&'a str, i32), [u64; 6]>;
        let mut groups: BTreeMap<(i64, &str), Cells> = BTreeMap::new();
        for (owner, category, year, flags) in items {
            let key = if integers {
                (owner.parse().expect("int"), "")
            } else {
                (0, *owner)
            };
            let c = groups
                .entry(key)
                .or_default()
                .entry((category, *year))
                .or_default();
            c[0] += 1;
            for k in 0..5 {
                c[k + 1] += u64::from(flags[k]);
            }
        }
        groups
            .into_iter()
            .map(|((int, text), cells)| {
                let owner = if integers {
                    int.to_string()
                } else {
                    text.to_owned()
                };
                let mut m = mac.clone();
                m.update(owner.as_bytes());
                Record {
                    items: cells.values().map(|c| c[0]).sum(),
                    cells: cells
                        .into_iter()
                        .map(|((category, year), c)| Cell {
                            category: category.to_owned(),
                            deleted: c[2],
                            explicit: c[4],
                            items: c[0],
                            minor: c[5],
                            private: c[1],
                            suspended: c[3],
                            year,
                        })
                        .collect(),
                    export: shared.0.to_owned(),
                    exported_at: shared.1.to_owned(),
                    opted_out_at_export: marks[&owner][0],
                    opted_out_now: marks[&owner][1],
                    partner: shared.2.to_owned(),
                    salt: hex::encode(m.finalize().into_bytes()),
                    owner,
                }
            })
            .collect()
    }

    /// Checks a batch of `items` against the naive records, byte for byte.
    fn check(items: &[Item], marks: &BTreeMap<String, [Option<bool>; 2]>, categories: &[String]) {
        let names = ("e-1\"x", "2024-01-01T00:00:00Z", "p</script>");
        let shared = Shared::new(names.0, names.1, names.2, categories).expect("shared");
        let mac = <HmacSha256 as hmac::KeyInit>::new_from_slice(b"0123456789abcdef").expect("key");
        let batch = Batch::of(&rows(items, marks), "e", categories).expect("batch");
        let leaves = batch.leaves(&mac, &shared).expect("leaves");
        let want = expected(items, marks, names, &mac);
        assert_eq!(batch.len(), want.len());
        for (r, record) in want.iter().enumerate() {
            assert_eq!(batch.owner(r), record.owner);
            let json = record.canonical().expect("serde");
            let mut got = Vec::new();
            batch
                .canonical_into(r, &leaves[r].salt, &shared, &mut got)
                .expect("written");
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&json)
            );
            assert_eq!(hex::encode(leaves[r].salt), record.salt);
            assert_eq!(leaves[r].items, record.items);
            assert_eq!(&leaves[r].hash[..], &tree::leaf(&json, &[])[..tree::HASH]);
            // The owner line, as the first version wrote it with `format!`.
            let mark = |b: Option<bool>| b.map_or('-', |b| if b { 't' } else { 'f' });
            let cells: Vec<String> = record
                .cells
                .iter()
                .map(|c| {
                    let k = categories
                        .iter()
                        .position(|x| *x == c.category)
                        .expect("known");
                    format!(
                        "{k},{},{},{},{},{},{},{}",
                        c.year, c.items, c.private, c.deleted, c.suspended, c.explicit, c.minor
                    )
                })
                .collect();
            for leaf in [None, Some(r as u64 * 1000)] {
                let want = format!(
                    "{}\t7\t{}\t{}\t{}{}\t{}\n",
                    serde_json::to_string(&record.owner).expect("json"),
                    leaf.map_or("-".to_owned(), |l| l.to_string()),
                    record.salt,
                    mark(record.opted_out_at_export),
                    mark(record.opted_out_now),
                    cells.join(";")
                );
                let mut got = Vec::new();
                batch
                    .line_into(r, 7, leaf, &leaves[r].salt, &mut got)
                    .expect("line");
                assert_eq!(String::from_utf8_lossy(&got), want);
            }
        }
    }

    fn marks_of(owners: &[&str], k: usize) -> BTreeMap<String, [Option<bool>; 2]> {
        let choices = [Some(true), Some(false), None];
        owners
            .iter()
            .enumerate()
            .map(|(j, o)| {
                (
                    (*o).to_owned(),
                    [choices[(j + k) % 3], choices[(j + 2 * k) % 3]],
                )
            })
            .collect()
    }

    #[test]
    fn records_are_grouped_and_written_as_serde_writes_them() {
        // Category ids whose text order is not the report's.
        let categories: Vec<String> = ["text", "photo\"s", "vidéo\\", "Audio"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let odd = "a\"b\\c\u{1}\u{7f}é\u{2028}";
        let f = [false; 5];
        let t = [true, false, true, false, true];
        for owners in [[odd, "z", "Z"], ["-7", "12345678901234", "9"]] {
            let items: Vec<Item> = vec![
                (owners[1], "vidéo\\", 2024, t),
                (owners[0], "text", 2019, f),
                (owners[1], "text", -5, t),
                (owners[0], "photo\"s", 2019, t),
                (owners[2], "Audio", 2020, f),
                (owners[0], "photo\"s", 2019, f),
                (owners[0], "photo\"s", 2018, t),
                (owners[2], "text", 2020, t),
            ];
            for k in 0..3 {
                check(&items, &marks_of(&owners, k), &categories);
            }
        }
    }

    #[test]
    fn random_batches_agree_with_grouping_row_by_row() {
        let categories: Vec<String> = ["text", "photo", "Audio", "aa", "a"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let texts = ["b", "a", "ab", "é", "B", "a\u{0}", "", "10", "9"];
        let ints = [
            "3",
            "-3",
            "0",
            "9223372036854775807",
            "-9223372036854775808",
            "10",
            "9",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for case in 0..200 {
            let owners: &[&str] = if case % 2 == 0 { &texts } else { &ints };
            let count = 1 + next(40);
            let items: Vec<Item> = (0..count)
                .map(|_| {
                    (
                        owners[next(owners.len())],
                        categories[next(categories.len())].as_str(),
                        2018 + next(3) as i32,
                        std::array::from_fn(|_| next(2) == 1),
                    )
                })
                .collect();
            check(&items, &marks_of(owners, case), &categories);
        }
    }

    #[test]
    fn a_null_or_an_unknown_category_is_an_error_not_a_record() {
        let categories = vec!["text".to_owned()];
        let marks = marks_of(&["1"], 0);
        let df = rows(&[("1", "text", 2019, [false; 5])], &marks);
        assert!(Batch::of(&df, "e", &categories).is_ok());
        let nulls = df
            .clone()
            .lazy()
            .with_column(lit(NULL).cast(DataType::Int64).alias("owner_id"))
            .collect()
            .expect("nulls");
        assert!(Batch::of(&nulls, "e", &categories).is_err());
        let df = rows(&[("1", "other", 2019, [false; 5])], &marks);
        assert!(Batch::of(&df, "e", &categories).is_err());
    }
}
