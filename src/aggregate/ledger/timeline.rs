//! The ledger's statistics over time, computed on plain vectors: the rows grouped by owner once
//! (one sort of the owner column), then each question is one parallel pass over the groups.
//!
//! An owner is opted out (for a set of scopes) while more of their covering rows have opened
//! than closed; only the moments that count crosses zero change the number of owners opted
//! out. Per owner, the covering rows' openings (+1 at `opted_out_at`) and closings (-1 at
//! `withdrawn_at`) are sorted by time, a closing before an opening at the same instant (a row
//! that opens at t is active at t; one withdrawn at t is not), and the crossings are summed.

use std::collections::BTreeMap;

use polars::prelude::*;
use rayon::prelude::*;

use super::Facts;
use chrono::Datelike;

use crate::aggregate::scan::MICROS_PER_DAY;

/// The rows grouped by owner, their instants and scope codes laid out in that order (each pass
/// reads memory in order): the g-th owner's rows are `starts[g]..starts[g + 1]`.
#[derive(Debug)]
pub(super) struct Groups {
    from: Vec<i64>,
    to: Vec<Option<i64>>,
    scope: Vec<u32>,
    /// Each row's index in the ledger.
    row: Vec<IdxSize>,
    starts: Vec<usize>,
}

/// Groups per task of a parallel pass.
const GROUPS_PER_TASK: usize = 1 << 14;

impl Groups {
    /// Groups the rows of `facts` by the values of `owner` (equal values, whatever their type,
    /// are one owner).
    pub(super) fn new(owner: &Column, facts: &Facts) -> PolarsResult<Self> {
        let (row, starts) = match integer_keys(owner)? {
            Some(keys) => by_integer(&keys),
            None => by_value(owner)?,
        };
        Ok(Groups {
            from: row.iter().map(|&r| facts.from[r as usize]).collect(),
            to: row.iter().map(|&r| facts.to[r as usize]).collect(),
            scope: row.iter().map(|&r| facts.scope[r as usize]).collect(),
            row,
            starts,
        })
    }

    fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// Each owner's rows, in ledger order: owners in any order.
    #[cfg(test)]
    fn owners(&self) -> Vec<Vec<IdxSize>> {
        (0..self.len())
            .map(|g| {
                let mut rows = self.row[self.starts[g]..self.starts[g + 1]].to_vec();
                rows.sort_unstable();
                rows
            })
            .collect()
    }

    /// Folds every owner's crossings (time, +1 or -1) into an `A`, in parallel, for each of
    /// `sets` sets of rows (row r is in set k when `covers(k, scope code of r)`): `add` takes
    /// one crossing of a set, `merge` joins two partial results. One pass over the rows for
    /// all the sets.
    pub(super) fn crossings<A: Send>(
        &self,
        sets: usize,
        covers: impl Fn(usize, u32) -> bool + Sync,
        init: impl Fn() -> A + Sync + Send,
        add: impl Fn(&mut A, usize, i64, i64) + Sync + Send,
        merge: impl Fn(A, A) -> A + Sync + Send,
    ) -> A {
        (0..self.len())
            .into_par_iter()
            .with_min_len(GROUPS_PER_TASK)
            .fold(
                || (init(), Vec::new()),
                |(mut acc, mut events), g| {
                    let rows = self.starts[g]..self.starts[g + 1];
                    for k in 0..sets {
                        if rows.len() == 1 {
                            // One row: crossings at its opening and closing, if it covers and
                            // is not withdrawn when made.
                            let r = rows.start;
                            if covers(k, self.scope[r])
                                && self.to[r].is_none_or(|to| to > self.from[r])
                            {
                                add(&mut acc, k, self.from[r], 1);
                                if let Some(to) = self.to[r] {
                                    add(&mut acc, k, to, -1);
                                }
                            }
                            continue;
                        }
                        events.clear();
                        for r in rows.clone() {
                            if covers(k, self.scope[r]) {
                                events.push((self.from[r], 1i64));
                                if let Some(to) = self.to[r] {
                                    events.push((to, -1));
                                }
                            }
                        }
                        events.sort_unstable();
                        let mut level = 0i64;
                        for &(t, delta) in &events {
                            let before = level;
                            level += delta;
                            let change = i64::from(level > 0) - i64::from(before > 0);
                            if change != 0 {
                                add(&mut acc, k, t, change);
                            }
                        }
                    }
                    (acc, events)
                },
            )
            .map(|(acc, _)| acc)
            .reduce(&init, merge)
    }

    /// Per scope code, how many owners have a row of that scope active at `t`: an owner counts
    /// once per scope. Rows without a code (a scope not among the known ones) are counted by
    /// their scope's text, `scope(row)`.
    pub(super) fn active_by_scope<'a>(
        &self,
        t: i64,
        scope: impl Fn(usize) -> &'a str + Sync,
    ) -> (BTreeMap<u32, u64>, BTreeMap<&'a str, u64>) {
        type Counts<'a> = (BTreeMap<u32, u64>, BTreeMap<&'a str, u64>);
        let merge = |mut a: Counts<'a>, b: Counts<'a>| {
            b.0.into_iter()
                .for_each(|(k, n)| *a.0.entry(k).or_default() += n);
            b.1.into_iter()
                .for_each(|(k, n)| *a.1.entry(k).or_default() += n);
            a
        };
        (0..self.len())
            .into_par_iter()
            .with_min_len(GROUPS_PER_TASK)
            .fold(
                || ((BTreeMap::new(), BTreeMap::new()), Vec::new()),
                |(mut acc, mut seen): (Counts<'a>, Vec<(u32, &'a str)>), g| {
                    seen.clear();
                    for r in self.starts[g]..self.starts[g + 1] {
                        if self.from[r] > t || self.to[r].is_some_and(|to| to <= t) {
                            continue;
                        }
                        let code = self.scope[r];
                        let text = if code == u32::MAX {
                            scope(self.row[r] as usize)
                        } else {
                            ""
                        };
                        if !seen.contains(&(code, text)) {
                            seen.push((code, text));
                            if code == u32::MAX {
                                *acc.1.entry(text).or_default() += 1;
                            } else {
                                *acc.0.entry(code).or_default() += 1;
                            }
                        }
                    }
                    (acc, seen)
                },
            )
            .map(|(acc, _)| acc)
            .reduce(|| (BTreeMap::new(), BTreeMap::new()), merge)
    }
}

/// Row indices and group starts (see [`Groups`]) from the rows' keys.
type Grouping = (Vec<IdxSize>, Vec<usize>);

/// Integer owner ids as `i64` keys that order and compare as the ids do (`UInt64` with its top
/// bit flipped); `None` for text ids, 128-bit ones, or any missing one.
fn integer_keys(owner: &Column) -> PolarsResult<Option<Vec<i64>>> {
    let dtype = owner.dtype();
    if owner.null_count() > 0
        || !(crate::aggregate::ids::fits_i64(dtype) || dtype == &DataType::UInt64)
    {
        return Ok(None);
    }
    Ok(Some(if owner.dtype() == &DataType::UInt64 {
        owner
            .u64()?
            .into_no_null_iter()
            .map(|v| (v ^ (1 << 63)) as i64)
            .collect()
    } else {
        owner
            .cast(&DataType::Int64)?
            .i64()?
            .into_no_null_iter()
            .collect()
    }))
}

/// Groups rows by integer keys: by counting over the keys' range when it is narrow (what
/// account ids are), else by sorting (key, row) pairs.
fn by_integer(keys: &[i64]) -> Grouping {
    let n = keys.len();
    let (Some(&min), Some(&max)) = (keys.iter().min(), keys.iter().max()) else {
        return (Vec::new(), vec![0]);
    };
    let width = max.abs_diff(min);
    let mut starts = vec![0];
    if width <= 4 * n as u64 + 1024 {
        // Rows per key; then each key's first place (and each group's end); then each row put
        // in its key's next place.
        let mut place = vec![0 as IdxSize; width as usize + 1];
        for &k in keys {
            place[k.abs_diff(min) as usize] += 1;
        }
        let mut sum: IdxSize = 0;
        for p in place.iter_mut() {
            let rows = *p;
            *p = sum;
            if rows > 0 {
                sum += rows;
                starts.push(sum as usize);
            }
        }
        let mut row = vec![0 as IdxSize; n];
        for (r, &k) in keys.iter().enumerate() {
            let slot = &mut place[k.abs_diff(min) as usize];
            row[*slot as usize] = r as IdxSize;
            *slot += 1;
        }
        return (row, starts);
    }
    let mut pairs: Vec<(i64, IdxSize)> = keys
        .iter()
        .enumerate()
        .map(|(r, &k)| (k, r as IdxSize))
        .collect();
    pairs.par_sort_unstable();
    for i in 1..n {
        if pairs[i].0 != pairs[i - 1].0 {
            starts.push(i);
        }
    }
    starts.push(n);
    (pairs.into_iter().map(|(_, r)| r).collect(), starts)
}

/// Groups rows by any values (text ids): sorted by polars, equal neighbours one owner.
fn by_value(owner: &Column) -> PolarsResult<Grouping> {
    let owner = owner.as_materialized_series();
    let order = owner.arg_sort(SortOptions::default().with_multithreaded(true));
    let sorted = owner.take(&order)?;
    let n = sorted.len();
    let mut starts = vec![0];
    if n > 1 {
        let same = sorted
            .slice(1, n - 1)
            .equal_missing(&sorted.slice(0, n - 1))?;
        starts.extend(
            same.iter()
                .enumerate()
                .filter(|(_, same)| *same != Some(true))
                .map(|(i, _)| i + 1),
        );
    }
    if n > 0 {
        starts.push(n);
    }
    Ok((order.into_no_null_iter().collect(), starts))
}

/// The first and last UTC microsecond of chrono's dates: the instants a month can be named for.
pub(super) fn month_range() -> (i64, i64) {
    let day = |d: chrono::NaiveDate| {
        (i64::from(d.num_days_from_ce()) - crate::aggregate::scan::UNIX_EPOCH_FROM_CE)
            .saturating_mul(MICROS_PER_DAY)
    };
    let first = day(chrono::NaiveDate::MIN);
    // The last microsecond of chrono's last day.
    let last = day(chrono::NaiveDate::MAX).saturating_add(MICROS_PER_DAY - 1);
    (first, last)
}

/// The UTC month number (`year * 12 + month - 1`) of UTC microseconds, as `scan::utc_month`
/// computes it with chrono (`None` outside chrono's dates), by integer arithmetic alone (Howard
/// Hinnant's `civil_from_days`): the ledger's monthly statistics ask for millions of them.
pub(super) fn month_of(micros: i64) -> Option<i32> {
    let (first, last) = month_range();
    if micros < first || micros > last {
        return None;
    }
    let day = micros.div_euclid(MICROS_PER_DAY);
    // Days since 0000-03-01, in 400-year eras of 146,097 days.
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    // Months from March: 0 is March, 11 February.
    let mp = (5 * doy + 2) / 153;
    let month0 = if mp < 10 { mp + 2 } else { mp - 10 };
    let year = yoe + era * 400 + i64::from(month0 < 2);
    i32::try_from(year * 12 + month0).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::TestRng as Rng;
    use crate::aggregate::scan::utc_month;

    /// Grouping by counting (narrow ids), by sorting integer keys (wide ones, `UInt64` past
    /// 2^63) and by polars' sort of text gives the same owners with the same rows.
    #[test]
    fn owners_grouped_three_ways_hold_the_same_rows() {
        let mut rng = Rng(0x6d0_7e55_0002);
        for case in 0..150 {
            let pool: Vec<u64> = (0..8)
                .map(|_| match case % 3 {
                    0 => rng.below(5),
                    1 => rng.below(1 << 40),
                    _ => rng.below(1000) + (rng.below(2) << 63),
                })
                .collect();
            let ids: Vec<u64> = (0..rng.below(50))
                .map(|_| pool[rng.below(8) as usize])
                .collect();
            let n = ids.len();
            let facts = Facts {
                from: vec![0; n],
                to: vec![None; n],
                scope: vec![0; n],
            };
            let grouped = |c: Column| {
                let mut g = Groups::new(&c, &facts).expect("groups").owners();
                g.sort();
                g
            };
            let mut want: Vec<Vec<IdxSize>> = Vec::new();
            for v in pool.iter().collect::<std::collections::BTreeSet<_>>() {
                let rows: Vec<IdxSize> = (0..n)
                    .filter(|&r| ids[r] == *v)
                    .map(|r| r as IdxSize)
                    .collect();
                if !rows.is_empty() {
                    want.push(rows);
                }
            }
            want.sort();
            let as_i64: Vec<i64> = ids.iter().map(|&v| v as i64).collect();
            let as_text: Vec<String> = ids.iter().map(|v| v.to_string()).collect();
            // Beyond 64 bits (what an NDJSON ledger's large ids are read as): grouped by value,
            // never as one owner of ids that do not fit.
            let as_i128: Vec<i128> = ids.iter().map(|&v| i128::from(v) << 64).collect();
            assert_eq!(
                grouped(Column::new("o".into(), as_i128)),
                want,
                "case {case}"
            );
            assert_eq!(
                grouped(Column::new("o".into(), ids.clone())),
                want,
                "case {case}"
            );
            assert_eq!(
                grouped(Column::new("o".into(), as_i64)),
                want,
                "case {case}"
            );
            assert_eq!(
                grouped(Column::new("o".into(), as_text)),
                want,
                "case {case}"
            );
        }
    }

    #[test]
    fn months_by_arithmetic_agree_with_the_month_expression() {
        let mut rng = Rng(0x6d0_7e55_0001);
        // Runs of nearby instants (every day of some months) and jumps anywhere, including before
        // 1970, before year 0, and the first and last days chrono represents.
        let mut micros: Vec<i64> = Vec::new();
        for _ in 0..400 {
            let base = rng.below(1 << 52) as i64 - (1 << 51);
            for _ in 0..20 {
                micros.push(base + rng.below(90 * MICROS_PER_DAY as u64) as i64);
            }
        }
        micros.extend([
            i64::MIN,
            i64::MAX,
            0,
            -1,
            1,
            MICROS_PER_DAY - 1,
            -MICROS_PER_DAY,
        ]);
        for edge in [chrono::NaiveDate::MIN, chrono::NaiveDate::MAX] {
            let day =
                i64::from(edge.num_days_from_ce()) - crate::aggregate::scan::UNIX_EPOCH_FROM_CE;
            for d in -2..=2 {
                micros.extend([(day + d) * MICROS_PER_DAY, (day + d) * MICROS_PER_DAY - 1]);
            }
        }
        let df = df!("t" => micros.clone())
            .and_then(|df| df.lazy().select([utc_month(col("t"))]).collect())
            .expect("months");
        let want: Vec<Option<i32>> = df
            .column("t")
            .expect("column")
            .i32()
            .expect("i32")
            .iter()
            .collect();
        let got: Vec<Option<i32>> = micros.iter().map(|&t| month_of(t)).collect();
        assert_eq!(got, want);
    }
}
