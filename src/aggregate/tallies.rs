//! A listing's owner tallies: its distinct integer owner ids, sorted, each with how many of the
//! listing's items are theirs. They depend on the listing's bytes alone, not on the ledger, so
//! they are cached per listing (part) file and survive every new opt-out: when the owners opted
//! out change, the items opted out now are a probe per owner of the tallies, and the owners of a
//! partner's exports a merge of sorted lists, instead of a new read of every listing.
//!
//! Only listings whose owner ids are integers that fit `Int64` (every integer type but
//! `UInt64`, and floats holding whole numbers) have tallies; others are counted from the
//! listing as before.

use polars::prelude::*;

use super::ledger::Ids;

/// The distinct owner ids of a listing, ascending, and the number of items of each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tallies {
    pub(crate) ids: Vec<i64>,
    pub(crate) items: Vec<u64>,
}

/// The first bytes of an encoded tally list: its format and version.
const FORMAT: &[u8; 8] = b"SLTALLY1";

/// Ids over a range at most this wide are counted in an array (one slot per id in the range);
/// wider ones by sorting.
const MAX_DENSE: u64 = 1 << 25;

impl Tallies {
    /// The tallies of a listing's owner ids (nulls, which a checked listing does not have, are
    /// skipped).
    pub(crate) fn of(ids: &Int64Chunked) -> Self {
        let (Some(min), Some(max)) = (ids.min(), ids.max()) else {
            return Tallies::default();
        };
        let width = max.abs_diff(min);
        if width < MAX_DENSE && width <= 8 * ids.len() as u64 {
            let mut counts = vec![0u32; width as usize + 1];
            let mut big: Vec<i64> = Vec::new();
            for id in ids.iter().flatten() {
                let slot = &mut counts[id.abs_diff(min) as usize];
                match slot.checked_add(1) {
                    Some(n) => *slot = n,
                    // An owner with 2^32 items or more: counted apart.
                    None => big.push(id),
                }
            }
            let mut out = Tallies::default();
            for (at, &n) in counts.iter().enumerate() {
                if n > 0 {
                    let id = min.wrapping_add(at as i64);
                    let extra = big.iter().filter(|&&b| b == id).count() as u64;
                    out.ids.push(id);
                    out.items.push(u64::from(n) + extra);
                }
            }
            return out;
        }
        let mut sorted: Vec<i64> = ids.iter().flatten().collect();
        sorted.sort_unstable();
        let mut out = Tallies::default();
        for id in sorted {
            match out.ids.last() {
                Some(&last) if last == id => {
                    if let Some(n) = out.items.last_mut() {
                        *n += 1;
                    }
                }
                _ => {
                    out.ids.push(id);
                    out.items.push(1);
                }
            }
        }
        out
    }

    /// The items whose owner is in `set`.
    pub(crate) fn items_in(&self, set: &Ids) -> u64 {
        self.ids
            .iter()
            .zip(&self.items)
            .filter(|(id, _)| set.contains(**id))
            .map(|(_, n)| n)
            .sum()
    }

    /// The bytes of a cache entry's body: the format, the count, then each id as the varint of
    /// its difference from the one before (the first zigzagged) and its items as a varint.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.ids.len() * 3);
        out.extend_from_slice(FORMAT);
        varint(&mut out, self.ids.len() as u64);
        let mut last: Option<i64> = None;
        for (&id, &n) in self.ids.iter().zip(&self.items) {
            let step = match last {
                None => ((id << 1) ^ (id >> 63)) as u64,
                Some(last) => id.wrapping_sub(last) as u64,
            };
            varint(&mut out, step);
            varint(&mut out, n);
            last = Some(id);
        }
        out
    }

    /// Tallies from [`Tallies::encode`]'s bytes; `None` for anything it would not write (ids
    /// not ascending, a count of 0, bytes left over or missing).
    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        let mut out = Tallies::default();
        walk(bytes, |n, id, items| {
            if out.ids.is_empty() {
                out.ids.reserve_exact(n);
                out.items.reserve_exact(n);
            }
            out.ids.push(id);
            out.items.push(items);
        })?;
        Some(out)
    }

    /// [`Tallies::items_in`] of the tallies whose bytes are `bytes`, read as they are decoded
    /// (no list is made); `None` where [`Tallies::decode`] gives `None`.
    pub(crate) fn items_in_encoded(bytes: &[u8], set: &Ids) -> Option<u64> {
        let mut sum = 0u64;
        walk(bytes, |_, id, items| {
            if set.contains(id) {
                sum += items;
            }
        })?;
        Some(sum)
    }
}

/// Reads [`Tallies::encode`]'s bytes: `owner(n, id, items)` for each owner, `n` the number of
/// owners; `None` for anything `encode` would not write (ids not ascending, a count of 0, bytes
/// left over or missing).
fn walk(bytes: &[u8], mut owner: impl FnMut(usize, i64, u64)) -> Option<()> {
    let mut rest = bytes.strip_prefix(FORMAT.as_slice())?;
    let n = read_varint(&mut rest)?;
    // Every owner takes two bytes at least.
    if n > rest.len() as u64 / 2 {
        return None;
    }
    let mut last: Option<i64> = None;
    for _ in 0..n {
        let step = read_varint(&mut rest)?;
        let id = match last {
            None => ((step >> 1) as i64) ^ -((step & 1) as i64),
            Some(last) => {
                let id = last.wrapping_add(step as i64);
                if step == 0 || id <= last {
                    return None;
                }
                id
            }
        };
        let items = read_varint(&mut rest)?;
        if items == 0 {
            return None;
        }
        owner(n as usize, id, items);
        last = Some(id);
    }
    rest.is_empty().then_some(())
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn read_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = bytes.split_first()?;
        *bytes = rest;
        let part = u64::from(b & 0x7f);
        if shift == 63 && part > 1 {
            return None;
        }
        v |= part << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Distinct owners over several lists of tallies, and how many of them a mark holds for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnionCounts {
    /// Over all the lists: (owners, owners marked in at least one list they appear in).
    pub(crate) all: (u64, u64),
    /// In each list alone: (owners, owners marked); exact, as a list's ids are distinct.
    pub(crate) each: Vec<(u64, u64)>,
}

/// The distinct owners of several lists of tallies, and how many of them `marked(list index,
/// id)` holds for, over all of them and in each, in one pass. Over a narrow range of ids with
/// bitmaps; else by sorting.
pub(crate) fn union_counts(lists: &[&Tallies], marked: impl Fn(usize, i64) -> bool) -> UnionCounts {
    const MAX_BITS: u64 = 1 << 27;
    let mut each = vec![(0u64, 0u64); lists.len()];
    let (Some(min), Some(max)) = (
        lists.iter().filter_map(|l| l.ids.first()).min().copied(),
        lists.iter().filter_map(|l| l.ids.last()).max().copied(),
    ) else {
        return UnionCounts { all: (0, 0), each };
    };
    let width = max.abs_diff(min);
    if width < MAX_BITS {
        let words = (width / 64 + 1) as usize;
        let (mut every, mut opted) = (vec![0u64; words], vec![0u64; words]);
        for (k, list) in lists.iter().enumerate() {
            let mut marks = 0u64;
            for &id in &list.ids {
                let at = id.abs_diff(min);
                let (w, bit) = ((at / 64) as usize, 1u64 << (at % 64));
                every[w] |= bit;
                if marked(k, id) {
                    opted[w] |= bit;
                    marks += 1;
                }
            }
            each[k] = (list.ids.len() as u64, marks);
        }
        let ones = |v: &[u64]| v.iter().map(|w| u64::from(w.count_ones())).sum();
        return UnionCounts {
            all: (ones(&every), ones(&opted)),
            each,
        };
    }
    let mut all: Vec<(i64, bool)> = Vec::new();
    for (k, list) in lists.iter().enumerate() {
        let start = all.len();
        all.extend(list.ids.iter().map(|&id| (id, marked(k, id))));
        let marks = all[start..].iter().filter(|(_, m)| *m).count() as u64;
        each[k] = (list.ids.len() as u64, marks);
    }
    all.sort_unstable();
    let (mut owners, mut opted) = (0u64, 0u64);
    for (i, &(id, m)) in all.iter().enumerate() {
        // Sorted with `true` last: the last pair of an id says whether any list marked it.
        if all.get(i + 1).is_none_or(|next| next.0 != id) {
            owners += 1;
            opted += u64::from(m);
        }
    }
    UnionCounts {
        all: (owners, opted),
        each,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::TestRng as Rng;

    fn naive(ids: &[Option<i64>]) -> Tallies {
        let mut map = std::collections::BTreeMap::<i64, u64>::new();
        for id in ids.iter().flatten() {
            *map.entry(*id).or_default() += 1;
        }
        Tallies {
            ids: map.keys().copied().collect(),
            items: map.values().copied().collect(),
        }
    }

    /// Dense and sorted counting agree with a map, and every encoding decodes to itself;
    /// damaged encodings do not decode to other tallies silently (each is refused or differs
    /// detectably by its own check).
    #[test]
    fn tallies_count_each_owner_and_survive_their_encoding() {
        let mut rng = Rng(0x7a11_1e50_0001);
        for spread in [1u64, 5, 1000, 1 << 30, u64::MAX] {
            for case in 0..40 {
                let ids: Vec<Option<i64>> = (0..rng.below(300))
                    .map(|_| {
                        (rng.below(20) > 0).then(|| match spread {
                            u64::MAX => rng.below(u64::MAX) as i64,
                            s => rng.below(s) as i64 - (s / 2) as i64,
                        })
                    })
                    .collect();
                let chunked = Int64Chunked::from_iter_options("o".into(), ids.iter().copied());
                let tallies = Tallies::of(&chunked);
                assert_eq!(tallies, naive(&ids), "spread {spread}, case {case}");
                let bytes = tallies.encode();
                assert_eq!(Tallies::decode(&bytes).as_ref(), Some(&tallies));
                // Probed as they are read: the items of the owners in a set (about half).
                let half: Vec<i64> = ids
                    .iter()
                    .flatten()
                    .copied()
                    .filter(|id| id % 2 == 0)
                    .collect();
                let set = Ids::new(&half);
                assert_eq!(
                    Tallies::items_in_encoded(&bytes, &set),
                    Some(tallies.items_in(&set)),
                    "spread {spread}, case {case}"
                );
                // Cut short, or with a byte more: refused.
                if !bytes.is_empty() {
                    assert_eq!(Tallies::decode(&bytes[..bytes.len() - 1]), None);
                    assert_eq!(
                        Tallies::items_in_encoded(&bytes[..bytes.len() - 1], &set),
                        None
                    );
                }
                let mut longer = bytes.clone();
                longer.push(0);
                assert_eq!(Tallies::decode(&longer), None);
                assert_eq!(Tallies::items_in_encoded(&longer, &set), None);
            }
        }
        for extreme in [i64::MIN, i64::MAX, 0, -1] {
            let chunked = Int64Chunked::from_slice("o".into(), &[extreme, extreme, i64::MIN]);
            let tallies = Tallies::of(&chunked);
            assert_eq!(Tallies::decode(&tallies.encode()), Some(tallies));
        }
    }

    #[test]
    fn the_union_of_tallies_counts_each_owner_once_and_marks_any_list() {
        let mut rng = Rng(0x7a11_1e50_0002);
        for case in 0..100 {
            let lists: Vec<Tallies> = (0..rng.below(5))
                .map(|_| {
                    // Narrow ids (bitmaps) or spread over all of i64 (sorting).
                    let ids: Vec<Option<i64>> = (0..rng.below(30))
                        .map(|_| match case % 2 {
                            0 => Some(rng.below(40) as i64),
                            _ => Some((rng.below(40) as i64 - 20) * (i64::MAX / 20)),
                        })
                        .collect();
                    naive(&ids)
                })
                .collect();
            let refs: Vec<&Tallies> = lists.iter().collect();
            // Marked: even ids in even lists.
            let marked = |k: usize, id: i64| k.is_multiple_of(2) && id % 2 == 0;
            let mut all = std::collections::BTreeSet::new();
            let mut opted = std::collections::BTreeSet::new();
            for (k, l) in lists.iter().enumerate() {
                for &id in &l.ids {
                    all.insert(id);
                    if marked(k, id) {
                        opted.insert(id);
                    }
                }
            }
            let each: Vec<(u64, u64)> = lists
                .iter()
                .enumerate()
                .map(|(k, l)| {
                    let mine: std::collections::BTreeSet<i64> = l.ids.iter().copied().collect();
                    let marks = mine.iter().filter(|&&id| marked(k, id)).count();
                    (mine.len() as u64, marks as u64)
                })
                .collect();
            assert_eq!(
                union_counts(&refs, marked),
                UnionCounts {
                    all: (all.len() as u64, opted.len() as u64),
                    each,
                },
                "case {case}"
            );
        }
    }
}
