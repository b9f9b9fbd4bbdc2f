//! The ledger's statistics carried from one build to the next: a ledger usually grows by rows
//! appended at its end (new opt-outs, withdrawals written as new rows), and every statistic is a
//! sum over owners of what that owner's rows give. So the statistics of the grown ledger are the
//! last build's, less what the owners named by the new rows gave then, plus what they give now:
//! two small ledgers of those owners' rows are all that is counted again.
//!
//! The summary names how many rows it was made from and a digest of them; it is used only when
//! the current ledger's first rows have that digest (any other change, a row edited, removed or
//! reordered, makes the build count everything, as without it). The digest covers exactly what
//! the statistics read of a row: its owner (as the fingerprints hash it), its instants, its
//! scope's code (and text, for a scope without one) and its signal's place in [`SIGNALS`].

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::SIGNALS;

/// Fingerprint sums: two wrapping 64-bit sums of hashes and a count of rows.
pub(super) type Sums = (u64, u64, i64);

/// Values by partner id, then instant.
pub(super) type ByInstant<V> = BTreeMap<String, BTreeMap<i64, V>>;

/// Statistics of a ledger, by what they were asked for. Counts are signed: a difference of two
/// is one.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Stats {
    /// By partner id, then instant: [`super::Ledger::fingerprint`]'s sums.
    pub(super) fingerprints: ByInstant<Sums>,
    /// By partner id, then instant: owners opted out for the partner.
    pub(super) in_force: ByInstant<i64>,
    /// By instant, then scope: owners with an active opt-out of the scope.
    pub(super) scopes: BTreeMap<i64, BTreeMap<String, [i64; 1]>>,
    /// By month number: new opt-outs, withdrawals, change in owners opted out.
    pub(super) monthly: Option<BTreeMap<i32, [i64; 3]>>,
    /// By month number: new opt-outs per signal (in the order of [`SIGNALS`], then any other).
    pub(super) signals: Option<BTreeMap<i32, [i64; 7]>>,
}

/// What the cache keeps: the statistics, and the rows they were made from.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Stored {
    /// Format of this record.
    pub(super) version: u32,
    /// How many of the ledger's first rows.
    pub(super) rows: u64,
    /// Their [`prefix_digest`], hex.
    pub(super) digest: String,
    pub(super) stats: Stats,
}

/// The version of [`Stored`] this build writes and reads.
pub(super) const VERSION: u32 = 1;

impl Stored {
    pub(super) fn encode(&self) -> Option<Vec<u8>> {
        serde_json::to_vec(self).ok()
    }

    /// `None` for anything but a record of this version whose statistics a ledger of its rows
    /// could give (see [`Stats::possible`]) with scopes among `scopes`.
    pub(super) fn decode(bytes: &[u8], scopes: &[&str]) -> Option<Stored> {
        serde_json::from_slice::<Stored>(bytes)
            .ok()
            .filter(|s| s.version == VERSION && s.stats.possible(scopes, s.rows))
    }
}

impl Stats {
    /// Whether a ledger of `rows` rows could give these statistics: every count between 0 and
    /// `rows` (the owners opted out at a month's end too, as the months' changes add up; the
    /// rows opened, and withdrawn, in all months together), months that name a date, scopes
    /// among `scopes`. An entry is signed with the cache's key, but its numbers are not taken
    /// on trust beyond that: a month number far out made the monthly table billions of rows
    /// long.
    fn possible(&self, scopes: &[&str], rows: u64) -> bool {
        let rows = i64::try_from(rows).unwrap_or(i64::MAX);
        let count = |n: i64| (0..=rows).contains(&n);
        let (first, last) = super::timeline::month_range();
        let months = super::timeline::month_of(first).unwrap_or(0)
            ..=super::timeline::month_of(last).unwrap_or(0);
        let fingerprints = self
            .fingerprints
            .values()
            .flat_map(|by| by.values())
            .all(|s| count(s.2));
        let in_force = self
            .in_force
            .values()
            .flat_map(|by| by.values())
            .all(|&n| count(n));
        let by_scope = self
            .scopes
            .values()
            .flat_map(|by| by.iter())
            .all(|(scope, [n])| count(*n) && scopes.contains(&scope.as_str()));
        let monthly = self.monthly.as_ref().is_none_or(|monthly| {
            // Running sums, in month order, that must stay counts.
            let (mut opened, mut withdrawn, mut level) = (0i64, 0i64, 0i64);
            monthly.iter().all(|(m, [o, w, change])| {
                opened = opened.saturating_add(*o);
                withdrawn = withdrawn.saturating_add(*w);
                level = level.saturating_add(*change);
                months.contains(m)
                    && count(*o)
                    && count(*w)
                    && count(opened)
                    && count(withdrawn)
                    && count(level)
            })
        });
        let signals = self.signals.as_ref().is_none_or(|signals| {
            let mut all = 0i64;
            signals.iter().all(|(m, counts)| {
                all = counts.iter().fold(all, |a, n| a.saturating_add(*n));
                months.contains(m) && counts.iter().all(|&n| count(n)) && count(all)
            })
        });
        fingerprints && in_force && by_scope && monthly && signals
    }
}

/// Month (or scope) tables corrected: every key of the three, `base - old + new`, without the
/// keys where nothing is left (a full count lists only months, or scopes, with something in
/// them).
pub(super) fn corrected_table<K: Ord + Clone, const N: usize>(
    base: &BTreeMap<K, [i64; N]>,
    old: &BTreeMap<K, [i64; N]>,
    new: &BTreeMap<K, [i64; N]>,
    kept: impl Fn(&[i64; N]) -> bool,
) -> BTreeMap<K, [i64; N]> {
    let mut out = base.clone();
    for (k, v) in old {
        let slot = out.entry(k.clone()).or_insert([0; N]);
        slot.iter_mut().zip(v).for_each(|(s, v)| *s -= v);
    }
    for (k, v) in new {
        let slot = out.entry(k.clone()).or_insert([0; N]);
        slot.iter_mut().zip(v).for_each(|(s, v)| *s += v);
    }
    out.retain(|_, v| kept(v));
    out
}

/// Rows per digested chunk: chunks are hashed on every core, and the digest of the first `n`
/// rows reuses every whole chunk below `n`.
pub(super) const CHUNK: usize = 1 << 16;

/// What the statistics read of the ledger's rows, in plain vectors.
pub(super) struct RowFacts<'a> {
    /// The owner's two hashes (see `Ledger::hashes`).
    pub(super) owner: &'a [(u64, u64)],
    pub(super) from: &'a [i64],
    pub(super) to: &'a [Option<i64>],
    /// The scope's code (`u32::MAX` for none).
    pub(super) scope: &'a [u32],
    /// The scope's text, asked for rows without a code only.
    pub(super) scope_text: &'a (dyn Fn(usize) -> String + Sync),
    /// The signal's place in [`SIGNALS`] (its length for any other).
    pub(super) signal: &'a [u32],
}

impl RowFacts<'_> {
    /// The BLAKE3 hash of rows `range`, each written out in full (fixed-width fields; a scope
    /// text with its length).
    fn chunk(&self, range: std::ops::Range<usize>) -> [u8; 32] {
        let mut bytes = Vec::with_capacity(range.len() * 48);
        for i in range {
            let (a, b) = self.owner[i];
            bytes.extend_from_slice(&a.to_le_bytes());
            bytes.extend_from_slice(&b.to_le_bytes());
            bytes.extend_from_slice(&self.from[i].to_le_bytes());
            match self.to[i] {
                Some(t) => {
                    bytes.push(1);
                    bytes.extend_from_slice(&t.to_le_bytes());
                }
                None => bytes.push(0),
            }
            bytes.extend_from_slice(&self.scope[i].to_le_bytes());
            if self.scope[i] == u32::MAX {
                let text = (self.scope_text)(i);
                bytes.extend_from_slice(&(text.len() as u64).to_le_bytes());
                bytes.extend_from_slice(text.as_bytes());
            }
            bytes.extend_from_slice(&self.signal[i].min(SIGNALS.len() as u32).to_le_bytes());
        }
        *blake3::hash(&bytes).as_bytes()
    }

    /// The hash of every whole chunk, on every core.
    pub(super) fn whole_chunks(&self) -> Vec<[u8; 32]> {
        let n = self.from.len();
        (0..n / CHUNK)
            .into_par_iter()
            .map(|c| self.chunk(c * CHUNK..(c + 1) * CHUNK))
            .collect()
    }

    /// The digest of the first `n` rows: their count and their chunks' hashes (the last one
    /// partial), hashed. `whole` is [`RowFacts::whole_chunks`].
    pub(super) fn prefix_digest(&self, whole: &[[u8; 32]], n: usize) -> String {
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"sharelog ledger rows\n");
        hasher.update(&(n as u64).to_le_bytes());
        for h in &whole[..n / CHUNK] {
            hasher.update(h);
        }
        if !n.is_multiple_of(CHUNK) {
            hasher.update(&self.chunk(n / CHUNK * CHUNK..n));
        }
        hasher.finalize().to_hex().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A test row: (owner, from, to, scope code, signal code).
    type Row = (u64, i64, Option<i64>, u32, u32);

    /// The rows' columns, as [`RowFacts`] reads them.
    type Columns = (
        Vec<(u64, u64)>,
        Vec<i64>,
        Vec<Option<i64>>,
        Vec<u32>,
        Vec<u32>,
    );

    fn facts_of(rows: &[Row]) -> Columns {
        (
            rows.iter().map(|r| (r.0, r.0 ^ 7)).collect(),
            rows.iter().map(|r| r.1).collect(),
            rows.iter().map(|r| r.2).collect(),
            rows.iter().map(|r| r.3).collect(),
            rows.iter().map(|r| r.4).collect(),
        )
    }

    /// The digest of the first n rows changes with any field of any of them, and with n; rows
    /// after n leave it alone; chunks computed once serve every prefix.
    #[test]
    fn prefix_digests_cover_every_field_of_the_first_rows_only() {
        let base: Vec<Row> = (0..(CHUNK as u64 * 2 + 100))
            .map(|i| {
                (
                    i % 977,
                    i as i64 * 3,
                    (i % 5 == 0).then_some(i as i64 * 4),
                    (i % 3) as u32,
                    (i % 7) as u32,
                )
            })
            .collect();
        let text = |_: usize| "zz".to_owned();
        let digest = |rows: &[Row], n: usize| {
            let (owner, from, to, scope, signal) = facts_of(rows);
            let facts = RowFacts {
                owner: &owner,
                from: &from,
                to: &to,
                scope: &scope,
                scope_text: &text,
                signal: &signal,
            };
            facts.prefix_digest(&facts.whole_chunks(), n)
        };
        for n in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 50] {
            let d = digest(&base, n);
            // Rows after n: another digest of the same prefix.
            let mut longer = base.clone();
            longer.push((1, 2, None, 0, 0));
            assert_eq!(digest(&longer, n), d, "n {n}");
            if n + 1 < base.len() {
                let mut later = base.clone();
                later[n].1 += 1;
                assert_eq!(digest(&later, n), d, "n {n}: row n is not in it");
                assert_ne!(digest(&base, n + 1), d, "n {n}: one more row");
            }
            if n == 0 {
                continue;
            }
            for i in [0, n / 2, n - 1] {
                let changes: [fn(&mut Row); 6] = [
                    |r| r.0 += 1,
                    |r| r.1 -= 1,
                    |r| r.2 = r.2.map_or(Some(9), |_| None),
                    |r| r.3 = u32::MAX,
                    |r| r.3 = r.3.wrapping_add(1) % 3,
                    |r| r.4 = (r.4 + 1) % 7,
                ];
                for (c, change) in changes.iter().enumerate() {
                    let mut rows = base.clone();
                    change(&mut rows[i]);
                    assert_ne!(digest(&rows, n), d, "n {n}, row {i}, change {c}");
                }
            }
        }
    }

    #[test]
    fn tables_are_corrected_and_emptied_keys_dropped() {
        let base = BTreeMap::from([(1, [3, 1]), (2, [1, 0])]);
        let old = BTreeMap::from([(2, [1, 0]), (1, [1, 0])]);
        let new = BTreeMap::from([(3, [0, 2]), (1, [1, 1])]);
        let got = corrected_table(&base, &old, &new, |v| v.iter().any(|&x| x != 0));
        assert_eq!(got, BTreeMap::from([(1, [3, 2]), (3, [0, 2])]));
    }

    #[test]
    fn stored_summaries_round_trip_and_other_versions_are_refused() {
        let mut stats = Stats::default();
        stats
            .fingerprints
            .entry("a".into())
            .or_default()
            .insert(-5, (u64::MAX, 1, 3));
        stats.in_force.entry("b".into()).or_default().insert(7, 2);
        stats.monthly = Some(BTreeMap::from([(-3, [2, 1, 1])]));
        stats.signals = Some(BTreeMap::from([(24_000, [1, 0, 0, 0, 0, 0, 2])]));
        stats
            .scopes
            .entry(9)
            .or_default()
            .insert("ai-training".into(), [4]);
        let stored = Stored {
            version: VERSION,
            rows: 12,
            digest: "ab".into(),
            stats: stats.clone(),
        };
        let scopes = ["ai-training", "all-third-parties", "a"];
        let bytes = stored.encode().expect("encode");
        let back = Stored::decode(&bytes, &scopes).expect("decode");
        assert_eq!(
            (back.rows, back.digest.as_str(), &back.stats),
            (12, "ab", &stats)
        );
        let other = Stored {
            version: VERSION + 1,
            ..back
        };
        assert!(Stored::decode(&other.encode().expect("encode"), &scopes).is_none());
        assert!(Stored::decode(&bytes[..bytes.len() - 1], &scopes).is_none());
        // Statistics no ledger could give: refused.
        let impossible: [fn(&mut Stats); 11] = [
            |s| s.monthly = Some(BTreeMap::from([(0, [13, 0, 1])])),
            |s| s.monthly = Some(BTreeMap::from([(0, [7, 7, 0]), (1, [6, 6, 0])])),
            |s| s.monthly = Some(BTreeMap::from([(0, [1, 0, 1]), (1, [0, 1, -2])])),
            |s| {
                s.scopes
                    .entry(1)
                    .or_default()
                    .insert("a".into(), [i64::MAX]);
            },
            |s| s.monthly = Some(BTreeMap::from([(i32::MAX, [1, 0, 1])])),
            |s| s.monthly = Some(BTreeMap::from([(0, [-1, 0, 1])])),
            |s| s.signals = Some(BTreeMap::from([(i32::MIN, [1, 0, 0, 0, 0, 0, 0])])),
            |s| s.signals = Some(BTreeMap::from([(0, [1, 0, 0, -1, 0, 0, 0])])),
            |s| {
                s.in_force.entry("a".into()).or_default().insert(1, -1);
            },
            |s| {
                s.scopes
                    .entry(1)
                    .or_default()
                    .insert("elsewhere".into(), [1]);
            },
            |s| {
                s.fingerprints
                    .entry("a".into())
                    .or_default()
                    .insert(1, (0, 0, -1));
            },
        ];
        for (i, change) in impossible.iter().enumerate() {
            let mut stats = stats.clone();
            change(&mut stats);
            let forged = Stored {
                version: VERSION,
                rows: 12,
                digest: "ab".into(),
                stats,
            };
            let bytes = forged.encode().expect("encode");
            assert!(Stored::decode(&bytes, &scopes).is_none(), "change {i}");
        }
    }
}
