//! The opt-out ledger (`data/opt-outs/ledger.*`): checked and normalised with polars, then joined
//! with every item listing and turned into monthly statistics.
//!
//! An owner is *opted out at time t* when any of their rows has `opted_out_at <= t` and
//! (`withdrawn_at` empty or `withdrawn_at > t`); an item counts once however many rows match.
//!
//! The optional `signal` column says how the owner opted out (default `account-setting`) and the
//! optional `scope` column what the opt-out covers (default `all-third-parties`; `ai-training`
//! covers partners whose purposes include AI training; a partner id covers that partner). An owner
//! is opted out *for a partner* at t when a row whose scope covers the partner is active at t —
//! the rule every use of the ledger follows.

mod checks;

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use polars::prelude::*;

use self::checks::{Checks, row_problems, scope_code};
use super::columns::{OPTED_OUT_AT, OWNER_ID, WITHDRAWN_AT};
use super::lock;
use super::scan::{BadRows, MAX_ROW_PROBLEMS, ROW, instant_expr, read_problem, scan, utc_month};
use crate::error::Problem;
use crate::model::{Partner, Purpose, TableFile};

/// How an owner opted out (`signal`).
pub(crate) const SIGNAL: &str = "signal";
/// What an opt-out covers (`scope`).
pub(crate) const SCOPE: &str = "scope";
pub(crate) use crate::model::SIGNALS;
/// Scope of an opt-out from every third party (the default).
pub(crate) const ALL_THIRD_PARTIES: &str = "all-third-parties";
/// Scope of an opt-out from AI training only.
pub(crate) const AI_TRAINING: &str = "ai-training";

const FROM: &str = "__from";
const TO: &str = "__to";
const INVALID: &str = "__invalid";
const DELTA: &str = "__delta";
const LEVEL: &str = "__level";
const TIME: &str = "__time";
/// The month number column of [`Ledger::monthly`]: `year * 12 + month - 1`.
pub(crate) const MONTH_NO: &str = "__month";
/// Change in the number of opted-out owners within a month, in [`Ledger::monthly`].
pub(crate) const CHANGE: &str = "__change";
const COLUMNS_HELP: &str =
    "the ledger's columns are owner_id, opted_out_at and optionally withdrawn_at, signal and scope";
const OPTIONAL: [&str; 3] = [WITHDRAWN_AT, SIGNAL, SCOPE];

/// The scope code column: 0 for `all-third-parties`, 1 for `ai-training`, 2 + i for the i-th
/// partner of `partners.yaml`, so that coverage is decided on integers, not text.
const SCOPE_CODE: &str = "__scope";

/// The checked ledger: `owner_id` (as the file types it: an integer type or text), `__from` and
/// `__to` (UTC microseconds; `__to` null while the opt-out stands), `signal` and `scope` (defaults
/// filled in) and `__scope` (the scope's code).
#[derive(Debug)]
pub(crate) struct Ledger {
    rows: DataFrame,
    /// Every row's opening (+1 at `opted_out_at`) and closing (-1 at `withdrawn_at`) as
    /// `owner_id`, `__time`, `__delta`, `__scope`, sorted by owner, time and delta: sorted once,
    /// and every subset (a filter keeps the order) is still sorted.
    events: DataFrame,
    /// The partner ids in the order of their scope codes (code 2 + i).
    partners: Vec<String>,
    /// Sets of owners already collected by [`Ledger::opted_out_kept`], by (partner, instant,
    /// key type).
    kept: Mutex<BTreeMap<(String, i64, String), DataFrame>>,
    /// Every row's instants and scope: made on first use.
    facts: OnceLock<Facts>,
    /// Every row's owner as a 128-bit hash, for [`Ledger::fingerprint`]: made on first use.
    hashes: OnceLock<Vec<(u64, u64)>>,
    /// Every row's owner as `Int64` (null where it is not an integer that fits), for
    /// [`Ledger::opted_out_ids`]: made on first use.
    ints: OnceLock<Vec<Option<i64>>>,
    /// Integer owner ids opted out, by (partner, instant), least recently used first: see
    /// [`Ledger::opted_out_ids`].
    id_sets: Mutex<Vec<((String, i64), IdSet)>>,
    /// Fingerprints computed by [`Ledger::prepare_fingerprints`], by (partner, instant).
    fingerprints: Mutex<BTreeMap<(String, i64), String>>,
}

/// A set of integer owner ids, shared by the listings that probe it.
pub(crate) type IdSet = std::sync::Arc<Ids>;

/// Integer owner ids: a bitmap over their range when it is at most [`Ids::MAX_BITS`] wide (one
/// bit read per probe, and small enough to stay in the processor's cache), else a hash set.
#[derive(Debug)]
pub(crate) enum Ids {
    Bits { min: i64, bits: Vec<u64> },
    Hash(PlHashSet<i64>),
}

/// How many bytes of owner sets a ledger keeps made (beyond the few it always keeps).
const SETS_BYTES: usize = 64 << 20;

impl Ids {
    const MAX_BITS: u64 = 1 << 27;

    fn new(ids: &[i64]) -> Self {
        let (Some(&min), Some(&max)) = (ids.iter().min(), ids.iter().max()) else {
            return Ids::Hash(PlHashSet::default());
        };
        let width = max.abs_diff(min);
        if width >= Self::MAX_BITS {
            return Ids::Hash(ids.iter().copied().collect());
        }
        let mut bits = vec![0u64; (width / 64 + 1) as usize];
        for &id in ids {
            let at = id.abs_diff(min);
            bits[(at / 64) as usize] |= 1 << (at % 64);
        }
        Ids::Bits { min, bits }
    }

    /// About how many bytes the set holds.
    fn bytes(&self) -> usize {
        match self {
            Ids::Bits { bits, .. } => bits.len() * 8,
            Ids::Hash(set) => set.capacity() * 16,
        }
    }

    /// Whether `id` is in the set.
    pub(crate) fn contains(&self, id: i64) -> bool {
        match self {
            Ids::Bits { min, bits } => {
                id >= *min && {
                    let at = id.abs_diff(*min);
                    bits.get((at / 64) as usize)
                        .is_some_and(|w| w & (1 << (at % 64)) != 0)
                }
            }
            Ids::Hash(set) => set.contains(&id),
        }
    }
}

/// The rows as plain vectors: `__from`, `__to` and `__scope`.
#[derive(Debug, Clone)]
struct Facts {
    from: Vec<i64>,
    to: Vec<Option<i64>>,
    scope: Vec<u32>,
}

impl Facts {
    /// The rows active at `t` whose scope is one of `codes`.
    fn active<'a>(&'a self, codes: &'a [u32], t: i64) -> impl Iterator<Item = usize> + 'a {
        (0..self.scope.len()).filter(move |&i| {
            codes.contains(&self.scope[i])
                && self.from[i] <= t
                && self.to[i].is_none_or(|to| to > t)
        })
    }
}

/// SplitMix64's finaliser: a bijection of u64 that mixes every bit.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Reads and checks the ledger; every bad row (up to a limit) is a located problem.
///
/// `partners_read`: whether `data/partners.yaml` loaded; if not, a scope is not checked against
/// its partner ids (the broken file is the problem, not every row that names a partner).
pub(crate) fn load(
    table: &TableFile,
    partners: &[Partner],
    partners_read: bool,
) -> Result<Ledger, Vec<Problem>> {
    super::scan::guarded(table, || load_unguarded(table, partners, partners_read))
}

fn load_unguarded(
    table: &TableFile,
    partners: &[Partner],
    partners_read: bool,
) -> Result<Ledger, Vec<Problem>> {
    let mut lf = scan(table).map_err(|e| vec![read_problem(table, &e)])?;
    let schema = lf
        .collect_schema()
        .map_err(|e| vec![read_problem(table, &e)])?;
    let checks = Checks::new(table, &schema, partners, partners_read)?;
    // SELECT owner_id (by value), utc_micros(opted_out_at),
    //        utc_micros(withdrawn_at), signal, scope, scope_code(scope), <invalid>
    // FROM ledger
    // Owner ids by value: integers keep their type, so that integer listings join them as
    // integers, and a float id is the integer it holds (see `ids`).
    let owner = super::ids::value(OWNER_ID, checks.owner_kind);
    let rows = lf
        .select([
            owner.alias(OWNER_ID),
            checks.from.clone().alias(FROM),
            checks.to.clone().alias(TO),
            checks.signal.clone().alias(SIGNAL),
            checks.scope.clone().alias(SCOPE),
            scope_code(&checks.scope, &checks.scopes).alias(SCOPE_CODE),
            checks.invalid().alias(INVALID),
        ])
        .collect()
        .map_err(|e| vec![read_problem(table, &e)])?;
    let bad = rows
        .column(INVALID)
        .and_then(|c| c.bool().map(|b| b.sum().unwrap_or(0)))
        .map_err(|e| vec![read_problem(table, &e)])?;
    if bad > 0 {
        return Err(row_problems(table, &checks, bad as u64));
    }
    let rows = rows
        .drop(INVALID)
        .map_err(|e| vec![read_problem(table, &e)])?;
    Ledger::new(rows, partners.iter().map(|p| p.id.to_string()).collect())
        .map_err(|e| vec![read_problem(table, &e)])
}

impl Ledger {
    /// The ledger of checked rows; `partners` are the ids in the order of their scope codes.
    fn new(rows: DataFrame, partners: Vec<String>) -> PolarsResult<Self> {
        let events = events(rows.clone().lazy())?.collect()?;
        Ok(Ledger {
            rows,
            events,
            partners,
            kept: Mutex::default(),
            facts: OnceLock::new(),
            hashes: OnceLock::new(),
            ints: OnceLock::new(),
            id_sets: Mutex::default(),
            fingerprints: Mutex::default(),
        })
    }

    fn facts(&self) -> PolarsResult<&Facts> {
        if let Some(f) = self.facts.get() {
            return Ok(f);
        }
        let facts = Facts {
            from: self
                .rows
                .column(FROM)?
                .i64()?
                .iter()
                .map(|v| v.unwrap_or(i64::MAX))
                .collect(),
            to: self.rows.column(TO)?.i64()?.iter().collect(),
            scope: self
                .rows
                .column(SCOPE_CODE)?
                .u32()?
                .iter()
                .map(|v| v.unwrap_or(u32::MAX))
                .collect(),
        };
        Ok(self.facts.get_or_init(|| facts))
    }

    fn hashes(&self) -> PolarsResult<&[(u64, u64)]> {
        if let Some(h) = self.hashes.get() {
            return Ok(h);
        }
        let owner = self.rows.column(OWNER_ID)?;
        let pair = |x: u64| (mix(x), mix(x ^ 0x5bd1_e995_d1b5_4a32));
        let hash: Vec<(u64, u64)> = if owner.dtype() == &DataType::UInt64 {
            // Every u64 as itself: a cast to i64 would make ids of 2^63 and above null, and
            // all alike.
            owner
                .u64()?
                .iter()
                .map(|v| v.map_or((0, 0), pair))
                .collect()
        } else if owner.dtype().is_integer() {
            owner
                .cast(&DataType::Int64)?
                .i64()?
                .iter()
                .map(|v| v.map_or((0, 0), |v| pair(v as u64)))
                .collect()
        } else {
            owner
                .cast(&DataType::String)?
                .str()?
                .iter()
                .map(|v| {
                    use std::hash::{Hash, Hasher};
                    let one = |salt: u8| {
                        let mut h = std::hash::DefaultHasher::new();
                        salt.hash(&mut h);
                        v.hash(&mut h);
                        h.finish()
                    };
                    (one(1), one(2))
                })
                .collect()
        };
        Ok(self.hashes.get_or_init(|| hash))
    }

    fn ints(&self) -> PolarsResult<&[Option<i64>]> {
        if let Some(v) = self.ints.get() {
            return Ok(v);
        }
        let ints = self
            .rows
            .column(OWNER_ID)?
            .cast(&DataType::Int64)?
            .i64()?
            .iter()
            .collect();
        Ok(self.ints.get_or_init(|| ints))
    }

    /// The scope codes that cover `partner`: `all-third-parties` (0), the partner's own id
    /// (2 + i), and `ai-training` (1) when the partner's purposes include AI training.
    fn codes(&self, partner: &Partner) -> Vec<u32> {
        let mut codes = vec![0u32];
        if let Some(i) = self.partners.iter().position(|p| p == partner.id.as_str()) {
            codes.push(i as u32 + 2);
        }
        if partner.purposes.contains(&Purpose::AiTraining) {
            codes.push(1);
        }
        codes
    }

    /// A fingerprint of the rows active for `partner` at `t` (their owners, as a multiset, and
    /// how they are typed): equal fingerprints mean the same owners opted out for the partner at
    /// `t`, so a listing's join with them gives the same counts. Rows added or withdrawn after
    /// `t`, or for other partners, leave it unchanged; a backdated row or an earlier withdrawal
    /// changes it. Two 64-bit sums of independent hashes of each active row's owner, and the
    /// count: order-independent, and computed in one pass over the rows.
    pub(crate) fn fingerprint(&self, partner: &Partner, t: i64) -> PolarsResult<String> {
        let key = (partner.id.to_string(), t);
        if let Some(f) = lock(&self.fingerprints).get(&key) {
            return Ok(f.clone());
        }
        self.prepare_fingerprints(partner, &[t])?;
        Ok(lock(&self.fingerprints)
            .get(&key)
            .cloned()
            .unwrap_or_default())
    }

    /// Computes [`Ledger::fingerprint`] for `partner` at each of `instants` in one pass over the
    /// rows: a row adds its owner's hash at the first instant at or after `opted_out_at` and
    /// takes it away at the first at or after `withdrawn_at`; running sums give each instant's.
    pub(crate) fn prepare_fingerprints(
        &self,
        partner: &Partner,
        instants: &[i64],
    ) -> PolarsResult<()> {
        let facts = self.facts()?;
        let hashes = self.hashes()?;
        let mut times: Vec<i64> = instants.to_vec();
        times.sort_unstable();
        times.dedup();
        let codes = self.codes(partner);
        // (a, b, n) changes at each instant's index; one slot past the end for "never".
        let mut delta = vec![(0u64, 0u64, 0i64); times.len() + 1];
        for (i, &(h1, h2)) in hashes.iter().enumerate() {
            if !codes.contains(&facts.scope[i]) {
                continue;
            }
            // Active at t when from <= t and (to is empty or to > t).
            let on = times.partition_point(|&t| t < facts.from[i]);
            let off = facts.to[i].map_or(times.len(), |to| times.partition_point(|&t| t < to));
            if on >= off {
                continue;
            }
            delta[on].0 = delta[on].0.wrapping_add(h1);
            delta[on].1 = delta[on].1.wrapping_add(h2);
            delta[on].2 += 1;
            delta[off].0 = delta[off].0.wrapping_sub(h1);
            delta[off].1 = delta[off].1.wrapping_sub(h2);
            delta[off].2 -= 1;
        }
        let owner_type = self.owner_type();
        let (mut a, mut b, mut n) = (0u64, 0u64, 0i64);
        let mut out = lock(&self.fingerprints);
        for (k, t) in times.iter().enumerate() {
            a = a.wrapping_add(delta[k].0);
            b = b.wrapping_add(delta[k].1);
            n += delta[k].2;
            out.insert(
                (partner.id.to_string(), *t),
                format!("{owner_type}:{n}:{a:016x}{b:016x}"),
            );
        }
        Ok(())
    }

    /// Whether a row's scope covers `partner`: `all-third-parties`, the partner's own id, or
    /// `ai-training` when the partner's purposes include AI training.
    fn covers(&self, partner: &Partner) -> Expr {
        // The codes of [`Ledger::codes`], the one place that decides coverage.
        self.codes(partner)
            .into_iter()
            .fold(lit(false), |e, c| e.or(col(SCOPE_CODE).eq(lit(c))))
    }

    /// Rows active at `t`: `opted_out_at <= t AND (withdrawn_at IS NULL OR withdrawn_at > t)`.
    fn active(t: i64) -> Expr {
        col(FROM)
            .lt_eq(lit(t))
            .and(col(TO).is_null().or(col(TO).gt(lit(t))))
    }

    /// The type of `owner_id`: an integer type when the ledger's file types it so, else text.
    pub(crate) fn owner_type(&self) -> DataType {
        self.rows
            .column(OWNER_ID)
            .map(|c| c.dtype().clone())
            .unwrap_or(DataType::String)
    }

    /// The owners opted out for `partner` at `t` (UTC microseconds), each once, with `owner_id` as
    /// `key`: the right side of the join with an item listing.
    pub(crate) fn opted_out_at(&self, t: i64, partner: &Partner, key: &DataType) -> LazyFrame {
        // SELECT DISTINCT CAST(owner_id AS :key) FROM ledger
        // WHERE opted_out_at <= :t AND (withdrawn_at IS NULL OR withdrawn_at > :t)
        //   AND scope IN ('all-third-parties', :partner, 'ai-training' if the partner trains AI)
        self.rows
            .clone()
            .lazy()
            .filter(Self::active(t).and(self.covers(partner)))
            .select([col(OWNER_ID).cast(key.clone())])
            .unique(None, UniqueKeepStrategy::Any)
    }

    /// [`Ledger::opted_out_at`], collected once and kept: every export of a partner joins the same
    /// owners opted out at the report's date.
    pub(crate) fn opted_out_kept(
        &self,
        t: i64,
        partner: &Partner,
        key: &DataType,
    ) -> PolarsResult<LazyFrame> {
        let k = (partner.id.to_string(), t, key.to_string());
        if let Some(df) = lock(&self.kept).get(&k) {
            return Ok(df.clone().lazy());
        }
        let df = self.opted_out_at(t, partner, key).collect()?;
        lock(&self.kept).insert(k, df.clone());
        Ok(df.lazy())
    }

    /// [`Ledger::opted_out_at`] as a set of integer ids: counting a listing's items opted out is
    /// then one probe per item, without building a join's hash table for every listing. The
    /// sets last used are kept (the report's date is the same instant for every export of a
    /// partner, and the parts of an export share theirs); a hash set of a wide id range can be
    /// large, so only a few.
    pub(crate) fn opted_out_ids(&self, t: i64, partner: &Partner) -> PolarsResult<IdSet> {
        let k = (partner.id.to_string(), t);
        let mut sets = lock(&self.id_sets);
        if let Some(at) = sets.iter().position(|(key, _)| *key == k) {
            // Most recently used last.
            let entry = sets.remove(at);
            let set = entry.1.clone();
            sets.push(entry);
            return Ok(set);
        }
        // The owners of `opted_out_at`'s rows, in one pass over plain vectors.
        let owners = self.ints()?;
        let codes = self.codes(partner);
        let ids: Vec<i64> = self
            .facts()?
            .active(&codes, t)
            .filter_map(|i| owners[i])
            .collect();
        let set = std::sync::Arc::new(Ids::new(&ids));
        // At least each partner's set at the report's date and at the export being counted, and
        // one more; beyond that as many as fit in SETS_BYTES, so that the owners pass, which asks
        // for every export's set again after the counting, finds them made.
        let floor = 2 * self.partners.len() + 2;
        let mut held: usize = sets.iter().map(|(_, s)| s.bytes()).sum::<usize>() + set.bytes();
        while sets.len() >= floor && held > SETS_BYTES {
            held -= sets.remove(0).1.bytes();
        }
        sets.push((k, set.clone()));
        Ok(set)
    }

    /// How many owners were opted out for `partner` at each of `instants`, in one query.
    pub(crate) fn in_force(&self, partner: &Partner, instants: &[i64]) -> PolarsResult<Vec<u64>> {
        let changes = crossings(self.events.clone().lazy().filter(self.covers(partner)));
        count_at(changes, instants, PROBES_BY_FILTER)
    }

    /// Owners opted out at `t` per scope, sorted by scope: an owner with opt-outs of two scopes
    /// counts under each.
    pub(crate) fn active_by_scope(&self, t: i64) -> PolarsResult<Vec<(String, u64)>> {
        // SELECT scope, count(DISTINCT owner_id) FROM ledger WHERE <active at :t> GROUP BY scope
        let df = self
            .rows
            .clone()
            .lazy()
            .filter(Self::active(t))
            .group_by([col(SCOPE)])
            .agg([col(OWNER_ID).n_unique().cast(DataType::UInt64).alias("n")])
            .sort([SCOPE], SortMultipleOptions::default())
            .collect()?;
        let scope = df.column(SCOPE)?.str()?;
        let n = df.column("n")?.u64()?;
        Ok((0..df.height())
            .map(|i| {
                (
                    scope.get(i).unwrap_or_default().to_owned(),
                    n.get(i).unwrap_or(0),
                )
            })
            .collect())
    }

    /// New opt-outs per month and signal: `__month`, `signal`, `opted_out`.
    pub(crate) fn monthly_by_signal(&self) -> PolarsResult<DataFrame> {
        // SELECT month(opted_out_at), signal, count(*) GROUP BY 1, 2 ORDER BY 1, 2
        self.rows
            .clone()
            .lazy()
            .group_by([utc_month(col(FROM)).alias(MONTH_NO), col(SIGNAL)])
            .agg([len()
                .cast(DataType::UInt64)
                .alias(super::columns::OPTED_OUT)])
            .sort([MONTH_NO, SIGNAL], SortMultipleOptions::default())
            .collect()
    }

    /// Per month with any event: new opt-outs, withdrawals, and the change in the number of
    /// distinct owners opted out (so that a running sum gives the owners opted out at month end).
    /// Columns: `__month` (see [`utc_month`]), `opted_out`, `withdrawn` (UInt64), `__change` (Int64).
    pub(crate) fn monthly(&self) -> PolarsResult<DataFrame> {
        let rows = self.rows.clone().lazy();
        // SELECT month(time), sum(change) FROM crossings(ledger) GROUP BY month(time)
        let crossings = crossings(self.events.clone().lazy())
            .group_by([utc_month(col(TIME)).alias(MONTH_NO)])
            .agg([col(CHANGE).sum()]);
        // SELECT month(opted_out_at), count(*) GROUP BY 1; the same for withdrawn_at
        let count_by_month = |c: &str, name: &str| {
            rows.clone()
                .filter(col(c).is_not_null())
                .group_by([utc_month(col(c)).alias(MONTH_NO)])
                .agg([len().cast(DataType::UInt64).alias(name)])
        };
        let opened = count_by_month(FROM, super::columns::OPTED_OUT);
        let closed = count_by_month(TO, super::columns::WITHDRAWN);
        let full = JoinArgs::new(JoinType::Full).with_coalesce(JoinCoalesce::CoalesceColumns);
        crossings
            .join(opened, [col(MONTH_NO)], [col(MONTH_NO)], full.clone())
            .join(closed, [col(MONTH_NO)], [col(MONTH_NO)], full)
            .select([
                col(MONTH_NO),
                col(super::columns::OPTED_OUT).fill_null(lit(0u64)),
                col(super::columns::WITHDRAWN).fill_null(lit(0u64)),
                col(CHANGE).fill_null(lit(0i64)),
            ])
            .sort([MONTH_NO], SortMultipleOptions::default())
            .collect()
    }
}

/// Up to this many instants, [`count_at`] sums the changes up to each instant in one pass each;
/// beyond it, it sorts the changes by time once.
const PROBES_BY_FILTER: usize = 32;

/// The number of owners opted out at each of `instants`: the sum of the `changes` (from
/// [`crossings`]) at or before it. A row that opens at t is active at t; one withdrawn at t is not.
fn count_at(changes: LazyFrame, instants: &[i64], by_filter: usize) -> PolarsResult<Vec<u64>> {
    if instants.is_empty() {
        return Ok(Vec::new());
    }
    let column = |df: &DataFrame, name: &str| -> PolarsResult<Vec<u64>> {
        Ok(df
            .column(name)?
            .cast(&DataType::UInt64)?
            .u64()?
            .iter()
            .map(|v| v.unwrap_or(0))
            .collect())
    };
    if instants.len() <= by_filter {
        // SELECT sum(change) FILTER (WHERE time <= :t1), sum(change) FILTER (WHERE time <= :t2), …
        let sums: Vec<Expr> = instants
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                col(CHANGE)
                    .filter(col(TIME).lt_eq(lit(t)))
                    .sum()
                    .alias(format!("{LEVEL}{i}"))
            })
            .collect();
        let df = changes.select(sums).collect()?;
        let mut out = Vec::with_capacity(instants.len());
        for i in 0..instants.len() {
            out.extend(column(&df, &format!("{LEVEL}{i}"))?);
        }
        return Ok(out);
    }
    const PROBE: &str = "__probe";
    let probes = DataFrame::new(
        instants.len(),
        vec![
            Column::new(TIME.into(), instants),
            Column::new(CHANGE.into(), vec![0i64; instants.len()]),
            Column::new(
                PROBE.into(),
                (0..instants.len() as IdxSize).collect::<Vec<_>>(),
            ),
        ],
    )?
    .lazy();
    // Each instant is a probe sorted after every change at the same time; the running sum of
    // the changes up to it is the number of owners opted out then.
    // SELECT sum(change) OVER (ORDER BY time, probe IS NOT NULL) FROM changes UNION ALL probes
    // WHERE probe IS NOT NULL ORDER BY probe
    let df = concat(
        [
            changes.with_column(lit(NULL).cast(IDX_DTYPE).alias(PROBE)),
            probes,
        ],
        UnionArgs::default(),
    )?
    .sort_by_exprs(
        [col(TIME), col(PROBE).is_not_null()],
        SortMultipleOptions::default(),
    )
    .with_column(col(CHANGE).cum_sum(false).alias(LEVEL))
    .filter(col(PROBE).is_not_null())
    .sort([PROBE], SortMultipleOptions::default())
    .collect()?;
    column(&df, LEVEL)
}

/// The ledger's events: each row opens (+1) at `opted_out_at` and closes (-1) at `withdrawn_at`.
fn events(rows: LazyFrame) -> PolarsResult<LazyFrame> {
    // SELECT owner_id, time, delta, scope FROM (opens UNION ALL closes)
    // ORDER BY owner_id, time, delta
    let opens = rows.clone().select([
        col(OWNER_ID),
        col(FROM).alias(TIME),
        lit(1i64).alias(DELTA),
        col(SCOPE_CODE),
    ]);
    let closes = rows.filter(col(TO).is_not_null()).select([
        col(OWNER_ID),
        col(TO).alias(TIME),
        lit(-1i64).alias(DELTA),
        col(SCOPE_CODE),
    ]);
    Ok(concat([opens, closes], UnionArgs::default())?
        .sort([OWNER_ID, TIME, DELTA], SortMultipleOptions::default()))
}

/// The times at which the number of distinct owners opted out by the rows behind `events` (sorted
/// as [`events`] sorts them) changes, and by how much: `__time` (UTC microseconds) and `__change`
/// (+1 or -1; several may share a time).
///
/// Per owner, the running level says how many of their opt-outs stand; the owner is opted out
/// while it is above zero, so only crossings of zero change the number of opted-out owners.
fn crossings(events: LazyFrame) -> LazyFrame {
    // Sorted by owner, an owner's level is the running sum minus the running sum just before the
    // owner's first event (a window sum over each owner, without hashing owners):
    // level = sum(delta) OVER (PARTITION BY owner_id ORDER BY time, delta)
    let first = col(OWNER_ID)
        .neq(col(OWNER_ID).shift(lit(1)))
        .fill_null(lit(true));
    let running = col(DELTA).cum_sum(false);
    let base = when(first)
        .then(running.clone() - col(DELTA))
        .otherwise(lit(NULL).cast(DataType::Int64))
        .fill_null_with_strategy(FillNullStrategy::Forward(None));
    let before = col(LEVEL) - col(DELTA);
    // SELECT time, (level > 0) - (level - delta > 0) AS change WHERE change <> 0
    events
        .with_column((running - base).alias(LEVEL))
        .select([
            col(TIME),
            (col(LEVEL).gt(lit(0)).cast(DataType::Int64) - before.gt(lit(0)).cast(DataType::Int64))
                .alias(CHANGE),
        ])
        .filter(col(CHANGE).neq(lit(0i64)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::TestRng as Rng;

    /// Owners opted out at `t` by rows whose scope is in `scopes`, counted row by row.
    fn naive(rows: &[(i64, i64, Option<i64>, u32)], scopes: &[u32], t: i64) -> u64 {
        let mut owners: Vec<i64> = rows
            .iter()
            .filter(|(_, from, to, scope)| {
                scopes.contains(scope) && *from <= t && to.is_none_or(|to| to > t)
            })
            .map(|(owner, ..)| *owner)
            .collect();
        owners.sort_unstable();
        owners.dedup();
        owners.len() as u64
    }

    /// A ledger row in the tests: (owner, from, to, scope code).
    type Row = (i64, i64, Option<i64>, u32);

    /// A small random ledger for partners `a` and `b`: few owners and few distinct times, so
    /// that rows of one owner overlap, touch (withdrawn at the instant another opens), are empty
    /// (withdrawn when made) and share instants with the probes.
    fn random_ledger(rng: &mut Rng) -> (Vec<Row>, Ledger) {
        let rows: Vec<Row> = (0..rng.below(40))
            .map(|_| {
                let from = rng.below(30) as i64;
                let to = (rng.below(3) > 0).then(|| from + rng.below(10) as i64);
                (rng.below(8) as i64, from, to, rng.below(4) as u32)
            })
            .collect();
        let df = df!(
            OWNER_ID => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            FROM => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            TO => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            SCOPE_CODE => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
        )
        .expect("frame");
        let ledger = Ledger::new(df, vec!["a".into(), "b".into()]).expect("ledger");
        (rows, ledger)
    }

    /// Partner `a`, training AI or doing research.
    fn partner_a(ai: bool) -> Partner {
        Partner {
            id: crate::model::PartnerId("a".into()),
            name: "A".into(),
            country: None,
            purposes: vec![if ai {
                Purpose::AiTraining
            } else {
                Purpose::Research
            }],
            agreement_signed: chrono::NaiveDate::MIN,
            agreement_ends: None,
            agreement_url: None,
            honours_opt_out: crate::model::HonoursOptOut::Yes,
            deletion_deadline_days: None,
            legal_basis: Default::default(),
            ai_act_summary_url: None,
            description: None,
        }
    }

    #[test]
    fn counts_in_force_agree_with_counting_row_by_row_either_way() {
        let mut rng = Rng(0x5eed_1234_abcd);
        for case in 0..60 {
            let (rows, ledger) = random_ledger(&mut rng);
            let instants: Vec<i64> = (0..rng.below(12)).map(|_| rng.below(45) as i64).collect();
            for scopes in [vec![0, 1, 2, 3], vec![0, 2], vec![0, 1, 3], vec![1]] {
                let covered = scopes
                    .iter()
                    .fold(lit(false), |e, &s| e.or(col(SCOPE_CODE).eq(lit(s))));
                let changes = crossings(ledger.events.clone().lazy().filter(covered));
                let want: Vec<u64> = instants.iter().map(|&t| naive(&rows, &scopes, t)).collect();
                for by_filter in [0, usize::MAX] {
                    let got = count_at(changes.clone(), &instants, by_filter).expect("count");
                    assert_eq!(
                        got, want,
                        "case {case}, scopes {scopes:?}, by_filter {by_filter}"
                    );
                }
            }
        }
    }

    /// The fingerprint at t, row by row: the active rows' owner hashes summed.
    fn naive_fingerprint(
        rows: &[(i64, i64, Option<i64>, u32)],
        scopes: &[u32],
        t: i64,
    ) -> (u64, u64, u64) {
        rows.iter()
            .filter(|(_, from, to, scope)| {
                scopes.contains(scope) && *from <= t && to.is_none_or(|to| to > t)
            })
            .fold((0, 0, 0), |(a, b, n), (owner, ..)| {
                let x = *owner as u64;
                (
                    a.wrapping_add(mix(x)),
                    b.wrapping_add(mix(x ^ 0x5bd1_e995_d1b5_4a32)),
                    n + 1,
                )
            })
    }

    #[test]
    fn fingerprints_in_one_pass_agree_with_summing_row_by_row() {
        let mut rng = Rng(0x00f1_a9e4_1234);
        for case in 0..60 {
            let (rows, ledger) = random_ledger(&mut rng);
            let instants: Vec<i64> = (0..rng.below(12)).map(|_| rng.below(45) as i64).collect();
            // Partner `a` (scope code 2), training AI (code 1) or not; code 0 covers all.
            for ai in [false, true] {
                let partner = partner_a(ai);
                let scopes: Vec<u32> = if ai { vec![0, 1, 2] } else { vec![0, 2] };
                ledger
                    .prepare_fingerprints(&partner, &instants)
                    .expect("prepare");
                for &t in &instants {
                    let (a, b, n) = naive_fingerprint(&rows, &scopes, t);
                    let want = format!("{}:{n}:{a:016x}{b:016x}", ledger.owner_type());
                    assert_eq!(
                        ledger.fingerprint(&partner, t).expect("fingerprint"),
                        want,
                        "case {case}, ai {ai}, t {t}"
                    );
                }
                lock(&ledger.fingerprints).clear();
            }
        }
    }

    #[test]
    fn id_sets_hold_the_owners_of_the_ledger_query_at_each_instant() {
        let mut rng = Rng(0x0bad_cafe_0042);
        for case in 0..60 {
            let (_, ledger) = random_ledger(&mut rng);
            // More instants than the sets kept, asked for twice: evicted sets are made again,
            // kept ones reused, and each must hold the query's owners. (Sets are kept by
            // partner id, so one case asks for one partner.)
            let partner = partner_a(case % 2 == 0);
            let instants: Vec<i64> = (0..rng.below(16)).map(|_| rng.below(45) as i64).collect();
            for round in 0..2 {
                for &t in &instants {
                    let want: Vec<i64> = ledger
                        .opted_out_at(t, &partner, &DataType::Int64)
                        .collect()
                        .expect("query")
                        .column(OWNER_ID)
                        .expect("owner")
                        .i64()
                        .expect("i64")
                        .into_no_null_iter()
                        .collect();
                    let set = ledger.opted_out_ids(t, &partner).expect("set");
                    let got: Vec<i64> = (-1..10).filter(|&id| set.contains(id)).collect();
                    let mut want = want;
                    want.sort_unstable();
                    assert_eq!(got, want, "case {case}, round {round}, t {t}");
                }
            }
        }
    }

    #[test]
    fn id_sets_as_bitmaps_or_hash_sets_hold_exactly_their_ids() {
        let mut rng = Rng(0x1d5e_7000_0001);
        for spread in [10u64, 1 << 20, 1 << 40] {
            let ids: Vec<i64> = (0..500)
                .map(|_| rng.below(spread) as i64 - (spread / 2) as i64)
                .collect();
            let set = Ids::new(&ids);
            assert_eq!(
                matches!(set, Ids::Bits { .. }),
                spread < Ids::MAX_BITS,
                "{spread}"
            );
            let want: std::collections::BTreeSet<i64> = ids.iter().copied().collect();
            for _ in 0..2000 {
                let probe = rng.below(spread + 20) as i64 - (spread / 2) as i64 - 10;
                assert_eq!(
                    set.contains(probe),
                    want.contains(&probe),
                    "{spread} {probe}"
                );
            }
            for id in &ids {
                assert!(set.contains(*id));
            }
            assert!(!set.contains(i64::MIN) && !set.contains(i64::MAX));
        }
    }

    /// u64 owner ids of 2^63 and above are fingerprinted as themselves (a cast to i64 made them
    /// all null and alike, so a corrected id went unnoticed by the cache).
    #[test]
    fn large_unsigned_owner_ids_change_the_fingerprint() {
        let fingerprint = |owner: u64| {
            let df = df!(
                OWNER_ID => [owner, 7u64],
                FROM => [0i64, 0],
                TO => [None::<i64>, None],
                SCOPE_CODE => [0u32, 0],
            )
            .expect("frame");
            let ledger = Ledger::new(df, vec!["a".into()]).expect("ledger");
            let partner = partner_a(false);
            ledger.fingerprint(&partner, 1).expect("fingerprint")
        };
        let big = (1u64 << 63) + 5;
        assert_ne!(fingerprint(big), fingerprint(big + 1));
        assert_eq!(fingerprint(big), fingerprint(big));
    }
}
