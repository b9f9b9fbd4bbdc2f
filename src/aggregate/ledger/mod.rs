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
mod summary;
mod timeline;

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use polars::prelude::*;
use rayon::prelude::*;

use self::checks::{Checks, row_problems};
use super::columns::{OPTED_OUT_AT, OWNER_ID, WITHDRAWN_AT};
use super::lock;
use super::scan::{BadRows, MAX_ROW_PROBLEMS, ROW, instant_expr, read_problem, scan};
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
    /// The rows grouped by owner: made on first use.
    groups: OnceLock<timeline::Groups>,
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
    /// Sets of owners a build will likely ask for ([`Ledger::expect_sets`]): made together with
    /// the first one asked for, in the same pass.
    expected: Mutex<Vec<Expected>>,
    /// Fingerprints computed by [`Ledger::prepare_fingerprints`], by (partner, instant).
    fingerprints: Mutex<BTreeMap<(String, i64), String>>,
    /// Every row's signal as its place in [`SIGNALS`] (its length for any other): set by the
    /// load, made on first use for a ledger of some of its rows.
    signal_codes: OnceLock<Vec<u32>>,
    /// The hashes of the rows' whole chunks (see [`summary::RowFacts::whole_chunks`]): made on
    /// first use.
    chunks: OnceLock<Vec<[u8; 32]>>,
    /// The statistics of an earlier build of this ledger's first rows, when they were carried
    /// over ([`Ledger::carry_from`]).
    base: OnceLock<Base>,
    /// The statistics this build computed: what the next build carries over.
    computed: Mutex<summary::Stats>,
}

/// A set of owners expected: (partner id, instant) and the partner's scope codes.
type Expected = ((String, i64), Vec<u32>);

/// Statistics carried over from an earlier build: see [`summary`].
#[derive(Debug)]
struct Base {
    stats: summary::Stats,
    /// The rows of the owners named by the rows appended since: (among the rows the statistics
    /// were made from, all of them now). `None` when no row was appended.
    delta: Option<Box<(Ledger, Ledger)>>,
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
    /// Up to this width of the ledger's ids, a set is made as a bitmap directly, a bitmap per
    /// slice of rows on each core (2 MiB each at most).
    const DIRECT_BITS: u64 = 1 << 24;

    pub(crate) fn new(ids: &[i64]) -> Self {
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

    /// How many ids the set holds.
    fn count(&self) -> u64 {
        match self {
            Ids::Bits { bits, .. } => bits.iter().map(|w| u64::from(w.count_ones())).sum(),
            Ids::Hash(set) => set.len() as u64,
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
    /// Whether row `i` is active at `t` and its scope is one of `codes`.
    fn active(&self, i: usize, codes: &[u32], t: i64) -> bool {
        codes.contains(&self.scope[i]) && self.from[i] <= t && self.to[i].is_none_or(|to| to > t)
    }
}

/// A column's values (null as `None`), read array by array.
fn values<T: PolarsNumericType>(ca: &ChunkedArray<T>) -> Vec<Option<T::Native>> {
    let mut out = Vec::with_capacity(ca.len());
    for array in ca.downcast_iter() {
        match array.validity().filter(|v| v.unset_bits() > 0) {
            None => out.extend(array.values().iter().map(|v| Some(*v))),
            Some(valid) => out.extend(
                array
                    .values()
                    .iter()
                    .zip(valid.iter())
                    .map(|(v, ok)| ok.then_some(*v)),
            ),
        }
    }
    out
}

/// The instants sorted, each once.
fn sorted_distinct(instants: &[i64]) -> Vec<i64> {
    let mut times = instants.to_vec();
    times.sort_unstable();
    times.dedup();
    times
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
    //        utc_micros(withdrawn_at), signal, scope, <invalid but for signal and scope>
    // FROM ledger
    // Owner ids by value: integers keep their type, so that integer listings join them as
    // integers, and a float id is the integer it holds (see `ids`).
    let owner = super::ids::value(OWNER_ID, checks.owner_kind);
    let problem = |e: PolarsError| vec![read_problem(table, &e)];
    let rows = lf
        .select([
            owner.alias(OWNER_ID),
            checks.from.clone().alias(FROM),
            checks.to.clone().alias(TO),
            checks.signal.clone().alias(SIGNAL),
            checks.scope.clone().alias(SCOPE),
            checks.invalid_but_texts().alias(INVALID),
        ])
        .collect()
        .map_err(problem)?;
    // The signal's and the scope's codes, read from the texts' views: compared with every
    // known text in polars, row by row, they were about a third of this read.
    let signal = text_codes(
        rows.column(SIGNAL).and_then(|c| c.str()).map_err(problem)?,
        &SIGNALS,
    );
    let scope = text_codes(
        rows.column(SCOPE).and_then(|c| c.str()).map_err(problem)?,
        &checks.scopes,
    );
    let invalid = rows
        .column(INVALID)
        .and_then(|c| c.bool())
        .map_err(problem)?;
    let bad = invalid
        .iter()
        .zip(signal.iter().zip(&scope))
        .filter(|(invalid, (signal, scope))| {
            *invalid == Some(true) || signal.is_none() || (partners_read && scope.is_none())
        })
        .count();
    if bad > 0 {
        return Err(row_problems(table, &checks, bad as u64));
    }
    let mut rows = rows.drop(INVALID).map_err(problem)?;
    rows.with_column(
        UInt32Chunked::from_iter_options(SCOPE_CODE.into(), scope.into_iter()).into_column(),
    )
    .map_err(problem)?;
    let ledger =
        Ledger::new(rows, partners.iter().map(|p| p.id.to_string()).collect()).map_err(problem)?;
    let _ = ledger.signal_codes.set(signal_places(signal));
    Ok(ledger)
}

/// Each signal's place in [`SIGNALS`], its length for any other.
fn signal_places(codes: Vec<Option<u32>>) -> Vec<u32> {
    let other = SIGNALS.len() as u32;
    codes.into_iter().map(|c| c.unwrap_or(other)).collect()
}

/// Each text's place in `names` (`None` for a null or any other text), on every core, read from
/// the texts' views: a short text (12 bytes or less) is held in its view whole, so a view equal
/// to a short name's view is that name; a long text's view holds its length and first 4 bytes,
/// so only a long name with those is compared byte by byte, and a view found to hold a long name
/// is remembered (the rows of a Parquet dictionary share their views). Any other view (a short
/// text whose view differs from every name's) is compared as text, so that the codes never
/// depend on how a view was padded.
fn text_codes<S: AsRef<str> + Sync>(texts: &StringChunked, names: &[S]) -> Vec<Option<u32>> {
    let names: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
    let code = |t: &str| {
        names
            .iter()
            .position(|n| *n == t)
            .and_then(|i| u32::try_from(i).ok())
    };
    // The names as polars writes their views.
    let written = StringChunked::from_slice("names".into(), &names);
    let mut short = Vec::new();
    let mut long = Vec::new();
    let mut k = 0u32;
    for array in written.downcast_iter() {
        for view in array.views().iter() {
            if view.length <= 12 {
                short.push((view.as_u128(), k));
            } else {
                long.push(((view.length, view.prefix), k));
            }
            k += 1;
        }
    }
    let nulls = texts.null_count() > 0;
    let mut out = Vec::with_capacity(texts.len());
    for array in texts.downcast_iter() {
        let views = array.views();
        let part: Vec<Option<u32>> = (0..array.len())
            .into_par_iter()
            .with_min_len(1 << 14)
            .map_init(
                // The last view found to hold each long name: rows decoded from a Parquet
                // dictionary share their views, so most are not compared at all.
                || vec![0u128; long.len()],
                |seen, i| {
                    if nulls && array.get(i).is_none() {
                        return None;
                    }
                    let view = views[i];
                    let v = view.as_u128();
                    if view.length <= 12 {
                        if let Some((_, k)) = short.iter().find(|(s, _)| *s == v) {
                            return Some(*k);
                        }
                        return code(array.value(i));
                    }
                    // Every long name of this length and first bytes, in the names' order.
                    for (at, ((n, p), k)) in long.iter().enumerate() {
                        if *n != view.length || *p != view.prefix {
                            continue;
                        }
                        if seen[at] == v {
                            return Some(*k);
                        }
                        if names.get(*k as usize) == Some(&array.value(i)) {
                            seen[at] = v;
                            return Some(*k);
                        }
                    }
                    None
                },
            )
            .collect();
        out.extend(part);
    }
    out
}

impl Ledger {
    /// The ledger of checked rows; `partners` are the ids in the order of their scope codes.
    fn new(rows: DataFrame, partners: Vec<String>) -> PolarsResult<Self> {
        Ok(Ledger {
            rows,
            groups: OnceLock::new(),
            partners,
            kept: Mutex::default(),
            facts: OnceLock::new(),
            hashes: OnceLock::new(),
            ints: OnceLock::new(),
            id_sets: Mutex::default(),
            expected: Mutex::default(),
            fingerprints: Mutex::default(),
            signal_codes: OnceLock::new(),
            chunks: OnceLock::new(),
            base: OnceLock::new(),
            computed: Mutex::default(),
        })
    }

    /// What the carried statistics of this ledger depend on besides its rows: how its owners
    /// are typed, and the partners (their order gives the scope codes, and a partner training
    /// AI is covered by `ai-training`).
    pub(crate) fn summary_key(&self, partners: &[Partner]) -> String {
        let mut key = format!("{}\n", self.owner_type());
        for p in partners {
            key.push_str(&format!(
                "{}:{}\n",
                p.id,
                p.purposes.contains(&Purpose::AiTraining)
            ));
        }
        key
    }

    /// Carries over the statistics of an earlier build (a [`summary::Stored`] record, as
    /// [`Ledger::carried`] wrote it) when this ledger's first rows are the ones they were made
    /// from: every statistic asked for later is then the carried one corrected by the rows
    /// appended since, where it has it. Whether they were carried.
    pub(crate) fn carry_from(&self, bytes: &[u8]) -> PolarsResult<bool> {
        // The scopes a count can be of: the kinds, the partners, and any other the rows name.
        let mut scopes = vec![ALL_THIRD_PARTIES, AI_TRAINING];
        scopes.extend(self.partners.iter().map(String::as_str));
        let text = self.rows.column(SCOPE)?.str()?;
        let facts = self.facts()?;
        for (i, _) in facts
            .scope
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == u32::MAX)
        {
            if let Some(t) = text.get(i)
                && !scopes.contains(&t)
            {
                scopes.push(t);
            }
        }
        let Some(stored) = summary::Stored::decode(bytes, &scopes) else {
            return Ok(false);
        };
        let height = self.rows.height();
        let n = usize::try_from(stored.rows).unwrap_or(usize::MAX);
        // Past a quarter of the ledger appended, counting everything costs less.
        if n > height || height - n > height / 4 + 1 {
            return Ok(false);
        }
        if self.prefix_digest(n)? != stored.digest {
            return Ok(false);
        }
        let delta = if n == height {
            None
        } else {
            // Every row of an owner some appended row names (a row of another owner whose
            // hashes are the same would only be counted twice over, and cancel).
            let hashes = self.hashes()?;
            let appended: PlHashSet<(u64, u64)> = hashes[n..].iter().copied().collect();
            let named: Vec<bool> = hashes.par_iter().map(|h| appended.contains(h)).collect();
            let rows = |upto: usize| -> PolarsResult<Ledger> {
                let mask: BooleanChunked = named
                    .iter()
                    .enumerate()
                    .map(|(i, &m)| Some(m && i < upto))
                    .collect();
                Ledger::new(self.rows.filter(&mask)?, self.partners.clone())
            };
            Some(Box::new((rows(n)?, rows(height)?)))
        };
        Ok(self
            .base
            .set(Base {
                stats: stored.stats,
                delta,
            })
            .is_ok())
    }

    /// The record of this build's statistics a later build carries over (see [`summary`]).
    pub(crate) fn carried(&self) -> PolarsResult<Option<Vec<u8>>> {
        let stored = summary::Stored {
            version: summary::VERSION,
            rows: self.rows.height() as u64,
            digest: self.prefix_digest(self.rows.height())?,
            stats: lock(&self.computed).clone(),
        };
        Ok(stored.encode())
    }

    /// The digest of the first `n` rows (see [`summary::RowFacts::prefix_digest`]).
    fn prefix_digest(&self, n: usize) -> PolarsResult<String> {
        let facts = self.facts()?;
        let scope = self.rows.column(SCOPE)?.str()?;
        let scope_text = |i: usize| scope.get(i).unwrap_or_default().to_owned();
        let rows = summary::RowFacts {
            owner: self.hashes()?,
            from: &facts.from,
            to: &facts.to,
            scope: &facts.scope,
            scope_text: &scope_text,
            signal: self.signal_codes()?,
        };
        let whole = match self.chunks.get() {
            Some(c) => c,
            None => self.chunks.get_or_init(|| rows.whole_chunks()),
        };
        Ok(rows.prefix_digest(whole, n))
    }

    /// Values per partner and instant (fingerprints, counts in force): from the carried
    /// statistics where they have the (partner, instant), corrected by the appended rows'
    /// owners, else `full` over every row; each recorded for the next build.
    fn per_instant<V: Copy>(
        &self,
        wanted: &[(&Partner, Vec<i64>)],
        table: impl Fn(&summary::Stats) -> &summary::ByInstant<V>,
        record: impl Fn(&mut summary::Stats) -> &mut summary::ByInstant<V>,
        full: impl Fn(&Ledger, &[(&Partner, Vec<i64>)]) -> PolarsResult<Vec<BTreeMap<i64, V>>>,
        combine: impl Fn(V, Option<V>, Option<V>) -> V,
    ) -> PolarsResult<Vec<BTreeMap<i64, V>>> {
        let base = self.base.get();
        let none_carried = summary::ByInstant::new();
        let carried = base.map_or(&none_carried, |b| table(&b.stats));
        let mut known = Vec::new();
        let mut missing = Vec::new();
        for (partner, instants) in wanted {
            let have = carried.get(partner.id.as_str());
            let (k, m): (Vec<i64>, Vec<i64>) = instants
                .iter()
                .partition(|t| have.is_some_and(|h| h.contains_key(t)));
            known.push((*partner, k));
            missing.push((*partner, m));
        }
        let none = |list: &[(&Partner, Vec<i64>)]| list.iter().all(|(_, t)| t.is_empty());
        let mut out = if none(&missing) {
            vec![BTreeMap::new(); wanted.len()]
        } else {
            full(self, &missing)?
        };
        if !none(&known) {
            let (old, new) = match base.and_then(|b| b.delta.as_deref()) {
                Some((old, new)) => (full(old, &known)?, full(new, &known)?),
                None => (
                    vec![BTreeMap::new(); wanted.len()],
                    vec![BTreeMap::new(); wanted.len()],
                ),
            };
            for (i, (partner, instants)) in known.iter().enumerate() {
                let have = &carried[partner.id.as_str()];
                for t in instants {
                    let value = combine(have[t], old[i].get(t).copied(), new[i].get(t).copied());
                    out[i].insert(*t, value);
                }
            }
        }
        let mut computed = lock(&self.computed);
        let recorded = record(&mut computed);
        for ((partner, _), values) in wanted.iter().zip(&out) {
            recorded
                .entry(partner.id.to_string())
                .or_default()
                .extend(values.iter().map(|(t, v)| (*t, *v)));
        }
        Ok(out)
    }

    /// A whole table (by month, or by scope at an instant): the carried one corrected by the
    /// appended rows' owners when `carried` finds it, else `full` over every row.
    fn whole_table<K: Ord + Clone, const N: usize>(
        &self,
        carried: impl Fn(&summary::Stats) -> Option<&BTreeMap<K, [i64; N]>>,
        full: impl Fn(&Ledger) -> PolarsResult<BTreeMap<K, [i64; N]>>,
    ) -> PolarsResult<BTreeMap<K, [i64; N]>> {
        let Some((base, have)) = self
            .base
            .get()
            .and_then(|b| carried(&b.stats).map(|have| (b, have)))
        else {
            return full(self);
        };
        Ok(match base.delta.as_deref() {
            Some((old, new)) => summary::corrected_table(have, &full(old)?, &full(new)?, |v| {
                v.iter().any(|&x| x != 0)
            }),
            None => have.clone(),
        })
    }

    fn facts(&self) -> PolarsResult<&Facts> {
        if let Some(f) = self.facts.get() {
            return Ok(f);
        }
        let facts = Facts {
            from: values(self.rows.column(FROM)?.i64()?)
                .into_par_iter()
                .map(|v| v.unwrap_or(i64::MAX))
                .collect(),
            to: values(self.rows.column(TO)?.i64()?),
            scope: values(self.rows.column(SCOPE_CODE)?.u32()?)
                .into_par_iter()
                .map(|v| v.unwrap_or(u32::MAX))
                .collect(),
        };
        Ok(self.facts.get_or_init(|| facts))
    }

    fn groups(&self) -> PolarsResult<&timeline::Groups> {
        if let Some(g) = self.groups.get() {
            return Ok(g);
        }
        let groups = timeline::Groups::new(self.rows.column(OWNER_ID)?, self.facts()?)?;
        Ok(self.groups.get_or_init(|| groups))
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
            values(owner.u64()?)
                .into_par_iter()
                .map(|v| v.map_or((0, 0), pair))
                .collect()
        } else if super::ids::fits_i64(owner.dtype()) {
            values(owner.cast(&DataType::Int64)?.i64()?)
                .into_par_iter()
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
        let ints = values(self.rows.column(OWNER_ID)?.cast(&DataType::Int64)?.i64()?);
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

    /// Computes [`Ledger::fingerprint`] for `partner` at each of `instants`: see
    /// [`Ledger::prepare_fingerprints_all`].
    pub(crate) fn prepare_fingerprints(
        &self,
        partner: &Partner,
        instants: &[i64],
    ) -> PolarsResult<()> {
        self.prepare_fingerprints_all(&[(partner, instants.to_vec())])
    }

    /// Computes [`Ledger::fingerprint`] for each partner at each of its instants in one pass over
    /// the rows: a row adds its owner's hash at the first instant at or after `opted_out_at` and
    /// takes it away at the first at or after `withdrawn_at`; running sums give each instant's.
    pub(crate) fn prepare_fingerprints_all(
        &self,
        wanted: &[(&Partner, Vec<i64>)],
    ) -> PolarsResult<()> {
        let sums = self.per_instant(
            wanted,
            |s| &s.fingerprints,
            |s| &mut s.fingerprints,
            Ledger::fingerprint_sums,
            |base, old, new| {
                let (o, n) = (old.unwrap_or_default(), new.unwrap_or_default());
                (
                    base.0.wrapping_sub(o.0).wrapping_add(n.0),
                    base.1.wrapping_sub(o.1).wrapping_add(n.1),
                    base.2 - o.2 + n.2,
                )
            },
        )?;
        let owner_type = self.owner_type();
        let mut out = lock(&self.fingerprints);
        for ((partner, _), sums) in wanted.iter().zip(&sums) {
            for (t, (a, b, n)) in sums {
                out.insert(
                    (partner.id.to_string(), *t),
                    format!("{owner_type}:{n}:{a:016x}{b:016x}"),
                );
            }
        }
        Ok(())
    }

    /// [`Ledger::prepare_fingerprints_all`]'s sums over every row, per partner by instant.
    fn fingerprint_sums(
        &self,
        wanted: &[(&Partner, Vec<i64>)],
    ) -> PolarsResult<Vec<BTreeMap<i64, summary::Sums>>> {
        let facts = self.facts()?;
        let hashes = self.hashes()?;
        let times: Vec<Vec<i64>> = wanted.iter().map(|(_, t)| sorted_distinct(t)).collect();
        let codes: Vec<Vec<u32>> = wanted.iter().map(|(p, _)| self.codes(p)).collect();
        // Per partner, (a, b, n) changes at each instant's index; one slot past the end for
        // "never". Rows in slices on every core, their changes summed (wrapping sums: in any
        // order).
        let empty = || {
            times
                .iter()
                .map(|t| vec![(0u64, 0u64, 0i64); t.len() + 1])
                .collect::<Vec<_>>()
        };
        let delta = (0..hashes.len())
            .into_par_iter()
            .with_min_len(1 << 16)
            .fold(empty, |mut delta, i| {
                let (h1, h2) = hashes[i];
                for (k, times) in times.iter().enumerate() {
                    if !codes[k].contains(&facts.scope[i]) {
                        continue;
                    }
                    // Active at t when from <= t and (to is empty or to > t).
                    let on = times.partition_point(|&t| t < facts.from[i]);
                    let off =
                        facts.to[i].map_or(times.len(), |to| times.partition_point(|&t| t < to));
                    if on < off {
                        let d = &mut delta[k];
                        d[on].0 = d[on].0.wrapping_add(h1);
                        d[on].1 = d[on].1.wrapping_add(h2);
                        d[on].2 += 1;
                        d[off].0 = d[off].0.wrapping_sub(h1);
                        d[off].1 = d[off].1.wrapping_sub(h2);
                        d[off].2 -= 1;
                    }
                }
                delta
            })
            .reduce(empty, |mut a, b| {
                for (a, b) in a.iter_mut().zip(b) {
                    for (x, y) in a.iter_mut().zip(b) {
                        x.0 = x.0.wrapping_add(y.0);
                        x.1 = x.1.wrapping_add(y.1);
                        x.2 += y.2;
                    }
                }
                a
            });
        Ok(times
            .iter()
            .zip(&delta)
            .map(|(times, delta)| {
                let (mut a, mut b, mut n) = (0u64, 0u64, 0i64);
                times
                    .iter()
                    .enumerate()
                    .map(|(k, t)| {
                        a = a.wrapping_add(delta[k].0);
                        b = b.wrapping_add(delta[k].1);
                        n += delta[k].2;
                        (*t, (a, b, n))
                    })
                    .collect()
            })
            .collect())
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
        let mut sets = self.opted_out_sets(&[(partner, t)])?;
        sets.pop()
            .ok_or_else(|| PolarsError::ComputeError("no set made".into()))
    }

    /// Notes the sets of owners a build will likely ask for (every partner's at the report's
    /// date): they are made with the first set asked for, in one pass, and not at all when none
    /// is (a rebuild whose every count comes from the cache).
    pub(crate) fn expect_sets(&self, wanted: &[(&Partner, i64)]) {
        let mut expected = lock(&self.expected);
        for (p, t) in wanted {
            expected.push(((p.id.to_string(), *t), self.codes(p)));
        }
    }

    /// [`Ledger::opted_out_ids`] for several (partner, instant) pairs: the sets not kept are made
    /// together, in one pass over the rows.
    pub(crate) fn opted_out_sets(&self, wanted: &[(&Partner, i64)]) -> PolarsResult<Vec<IdSet>> {
        let key = |(p, t): &(&Partner, i64)| (p.id.to_string(), *t);
        let mut sets = lock(&self.id_sets);
        let mut missing: Vec<(String, i64)> = Vec::new();
        let mut codes: Vec<(Vec<u32>, i64)> = Vec::new();
        for w in wanted {
            let k = key(w);
            if !sets.iter().any(|(have, _)| *have == k) && !missing.contains(&k) {
                codes.push((self.codes(w.0), w.1));
                missing.push(k);
            }
        }
        if !missing.is_empty() {
            // The sets expected later, made in the same pass.
            for (k, c) in lock(&self.expected).drain(..) {
                if !sets.iter().any(|(have, _)| *have == k) && !missing.contains(&k) {
                    codes.push((c, k.1));
                    missing.push(k);
                }
            }
            let made = self.make_sets(&codes)?;
            // At least each partner's set at the report's date and at the export being counted,
            // and one more; beyond that as many as fit in SETS_BYTES, so that the owners pass,
            // which asks for every export's set again after the counting, finds them made.
            let floor = (2 * self.partners.len() + 2).max(missing.len());
            for (k, set) in missing.into_iter().zip(made) {
                let mut held: usize =
                    sets.iter().map(|(_, s)| s.bytes()).sum::<usize>() + set.bytes();
                while sets.len() >= floor && held > SETS_BYTES {
                    held -= sets.remove(0).1.bytes();
                }
                sets.push((k, std::sync::Arc::new(set)));
            }
        }
        let mut out = Vec::with_capacity(wanted.len());
        for w in wanted {
            let k = key(w);
            let at = sets
                .iter()
                .position(|(have, _)| *have == k)
                .ok_or_else(|| PolarsError::ComputeError("an owner set was not kept".into()))?;
            // Most recently used last.
            let entry = sets.remove(at);
            out.push(entry.1.clone());
            sets.push(entry);
        }
        Ok(out)
    }

    /// Whether every owner id is an integer and their range narrow enough for
    /// [`Ledger::make_sets`] to make bitmaps directly.
    fn narrow_ids(&self) -> PolarsResult<bool> {
        if !super::ids::fits_i64(&self.owner_type()) {
            return Ok(false);
        }
        if self.ints()?.iter().any(Option::is_none) {
            return Ok(false);
        }
        Ok(self
            .id_range()?
            .is_none_or(|(lo, hi)| hi.abs_diff(lo) < Ids::DIRECT_BITS))
    }

    /// The least and greatest integer owner id (`None` without any).
    fn id_range(&self) -> PolarsResult<Option<(i64, i64)>> {
        Ok(self
            .ints()?
            .iter()
            .flatten()
            .fold(None, |r: Option<(i64, i64)>, &id| {
                Some(r.map_or((id, id), |(lo, hi)| (lo.min(id), hi.max(id))))
            }))
    }

    /// The owners of `opted_out_at`'s rows for each (codes, instant), in one pass over plain
    /// vectors: straight into bitmaps over the ledger's id range when it is narrow (slices of
    /// rows on every core, their bitmaps joined), else collected and made into sets.
    fn make_sets(&self, wanted: &[(Vec<u32>, i64)]) -> PolarsResult<Vec<Ids>> {
        let owners = self.ints()?;
        let facts = self.facts()?;
        let range = self.id_range()?;
        let rows = || {
            (0..owners.len())
                .into_par_iter()
                .with_min_len((owners.len() / rayon::current_num_threads()).max(1 << 16))
        };
        match range {
            Some((min, max)) if max.abs_diff(min) < Ids::DIRECT_BITS => {
                let words = (max.abs_diff(min) / 64 + 1) as usize;
                let empty = || vec![vec![0u64; words]; wanted.len()];
                // Per scope code, the sets whose codes hold it, by instant: a row is in those of
                // its scope's whose instant lies in [opted_out_at, withdrawn_at), a run of them
                // (what `Facts::active` asks of each set).
                let mut by_scope: Vec<Vec<(i64, usize)>> = Vec::new();
                for (k, (codes, t)) in wanted.iter().enumerate() {
                    for &c in codes {
                        let c = c as usize;
                        if by_scope.len() <= c {
                            by_scope.resize(c + 1, Vec::new());
                        }
                        if !by_scope[c].contains(&(*t, k)) {
                            by_scope[c].push((*t, k));
                        }
                    }
                }
                by_scope.iter_mut().for_each(|sets| sets.sort_unstable());
                let bits = rows()
                    .fold(empty, |mut bits, i| {
                        let sets = by_scope.get(facts.scope[i] as usize);
                        if let (Some(id), Some(sets)) = (owners[i], sets) {
                            let at = id.abs_diff(min);
                            let (w, bit) = ((at / 64) as usize, 1u64 << (at % 64));
                            let (from, to) = (facts.from[i], facts.to[i]);
                            let first = sets.partition_point(|(t, _)| *t < from);
                            for &(t, k) in &sets[first..] {
                                if to.is_some_and(|to| to <= t) {
                                    break;
                                }
                                bits[k][w] |= bit;
                            }
                        }
                        bits
                    })
                    .reduce(empty, |mut a, b| {
                        for (a, b) in a.iter_mut().zip(b) {
                            a.iter_mut().zip(b).for_each(|(a, b)| *a |= b);
                        }
                        a
                    });
                Ok(bits
                    .into_iter()
                    .map(|bits| Ids::Bits { min, bits })
                    .collect())
            }
            _ => Ok(wanted
                .iter()
                .map(|(codes, t)| {
                    let ids: Vec<i64> = rows()
                        .filter(|&i| facts.active(i, codes, *t))
                        .filter_map(|i| owners[i])
                        .collect();
                    Ids::new(&ids)
                })
                .collect()),
        }
    }

    /// How many owners were opted out for `partner` at each of `instants`: see
    /// [`Ledger::in_force_all`].
    #[cfg(test)]
    pub(crate) fn in_force(&self, partner: &Partner, instants: &[i64]) -> PolarsResult<Vec<u64>> {
        let mut all = self.in_force_all(&[(partner, instants.to_vec())])?;
        Ok(all.pop().unwrap_or_default())
    }

    /// How many owners were opted out for each partner at each of its instants, in one pass
    /// over the rows: each owner's crossings for the partner are added at the first instant at
    /// or after them, and running sums give each instant's count.
    pub(crate) fn in_force_all(
        &self,
        wanted: &[(&Partner, Vec<i64>)],
    ) -> PolarsResult<Vec<Vec<u64>>> {
        let counts = self.per_instant(
            wanted,
            |s| &s.in_force,
            |s| &mut s.in_force,
            Ledger::in_force_counts,
            |base, old, new| base - old.unwrap_or(0) + new.unwrap_or(0),
        )?;
        Ok(wanted
            .iter()
            .zip(&counts)
            .map(|((_, instants), counts)| {
                instants
                    .iter()
                    .map(|t| counts.get(t).copied().unwrap_or(0).max(0) as u64)
                    .collect()
            })
            .collect())
    }

    /// [`Ledger::in_force_all`] over every row, per partner by instant. A few instants (a new
    /// export's, the report's date) of integer ids over a narrow range are counted in their
    /// sets of owners (kept from the counting of the listings, or made in one pass); others
    /// from every owner's crossings, whose cost does not grow with the number of instants.
    fn in_force_counts(
        &self,
        wanted: &[(&Partner, Vec<i64>)],
    ) -> PolarsResult<Vec<BTreeMap<i64, i64>>> {
        let instants: usize = wanted.iter().map(|(_, t)| sorted_distinct(t).len()).sum();
        if instants <= self.partners.len() + 2 && self.narrow_ids()? {
            self.in_force_by_sets(wanted)
        } else {
            self.in_force_by_crossings(wanted)
        }
    }

    /// [`Ledger::in_force_counts`] from sets of owners.
    fn in_force_by_sets(
        &self,
        wanted: &[(&Partner, Vec<i64>)],
    ) -> PolarsResult<Vec<BTreeMap<i64, i64>>> {
        let pairs: Vec<(&Partner, i64)> = wanted
            .iter()
            .flat_map(|(p, instants)| sorted_distinct(instants).into_iter().map(|t| (*p, t)))
            .collect();
        let mut sets = self.opted_out_sets(&pairs)?.into_iter();
        Ok(wanted
            .iter()
            .map(|(_, instants)| {
                sorted_distinct(instants)
                    .into_iter()
                    .zip(sets.by_ref())
                    .map(|(t, set)| (t, set.count() as i64))
                    .collect()
            })
            .collect())
    }

    /// [`Ledger::in_force_counts`] from every owner's crossings.
    fn in_force_by_crossings(
        &self,
        wanted: &[(&Partner, Vec<i64>)],
    ) -> PolarsResult<Vec<BTreeMap<i64, i64>>> {
        let codes: Vec<Vec<u32>> = wanted.iter().map(|(p, _)| self.codes(p)).collect();
        let times: Vec<Vec<i64>> = wanted.iter().map(|(_, t)| sorted_distinct(t)).collect();
        let delta = self.groups()?.crossings(
            wanted.len(),
            |k, scope| codes[k].contains(&scope),
            || {
                times
                    .iter()
                    .map(|t| vec![0i64; t.len() + 1])
                    .collect::<Vec<_>>()
            },
            |acc, k, t, change| acc[k][times[k].partition_point(|&x| x < t)] += change,
            |mut a, b| {
                for (a, b) in a.iter_mut().zip(b) {
                    a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
                }
                a
            },
        );
        Ok(times
            .iter()
            .zip(&delta)
            .map(|(times, delta)| {
                let mut level = 0i64;
                times
                    .iter()
                    .zip(delta)
                    .map(|(t, d)| {
                        level += d;
                        (*t, level)
                    })
                    .collect()
            })
            .collect())
    }

    /// Owners opted out at `t` per scope, sorted by scope: an owner with opt-outs of two scopes
    /// counts under each.
    pub(crate) fn active_by_scope(&self, t: i64) -> PolarsResult<Vec<(String, u64)>> {
        let counts = self.whole_table(|s| s.scopes.get(&t), |l| l.scope_counts(t))?;
        lock(&self.computed).scopes.insert(t, counts.clone());
        Ok(counts
            .into_iter()
            .map(|(scope, [n])| (scope, n.max(0) as u64))
            .collect())
    }

    /// [`Ledger::active_by_scope`] over every row.
    fn scope_counts(&self, t: i64) -> PolarsResult<BTreeMap<String, [i64; 1]>> {
        // SELECT scope, count(DISTINCT owner_id) FROM ledger WHERE <active at :t> GROUP BY scope
        let scope = self.rows.column(SCOPE)?.str()?;
        let (by_code, by_text) = self
            .groups()?
            .active_by_scope(t, |r| scope.get(r).unwrap_or_default());
        // A code is its scope's text (each text has one code: the first that matches it).
        let text = |code: u32| match code {
            0 => ALL_THIRD_PARTIES,
            1 => AI_TRAINING,
            c => self.partners.get(c as usize - 2).map_or("", |p| p.as_str()),
        };
        let mut out: BTreeMap<String, [i64; 1]> = by_text
            .into_iter()
            .map(|(scope, n)| (scope.to_owned(), [n as i64]))
            .collect();
        for (code, n) in by_code {
            out.entry(text(code).to_owned()).or_default()[0] += n as i64;
        }
        Ok(out)
    }

    /// Every row's signal as its place in [`SIGNALS`] (its length for any other).
    fn signal_codes(&self) -> PolarsResult<&[u32]> {
        if let Some(c) = self.signal_codes.get() {
            return Ok(c);
        }
        let codes = signal_places(text_codes(self.rows.column(SIGNAL)?.str()?, &SIGNALS));
        Ok(self.signal_codes.get_or_init(|| codes))
    }

    /// New opt-outs per month number and signal (in the order of [`SIGNALS`]); a month without
    /// any is absent.
    pub(crate) fn signals_by_month(&self) -> PolarsResult<BTreeMap<i32, [Option<u64>; 6]>> {
        let counts = self.whole_table(|s| s.signals.as_ref(), Ledger::signal_counts)?;
        lock(&self.computed).signals = Some(counts.clone());
        // A month with opt-outs of other signals only is listed with zeros.
        Ok(counts
            .into_iter()
            .map(|(m, n)| (m, std::array::from_fn(|k| Some(n[k].max(0) as u64))))
            .collect())
    }

    /// [`Ledger::signals_by_month`] over every row, with other signals' last.
    fn signal_counts(&self) -> PolarsResult<BTreeMap<i32, [i64; 7]>> {
        // SELECT month(opted_out_at), signal, count(*) GROUP BY 1, 2
        let facts = self.facts()?;
        let codes = self.signal_codes()?;
        let counts = facts
            .from
            .par_iter()
            .zip(codes.par_iter())
            .fold(
                PlHashMap::default,
                |mut acc: PlHashMap<i32, [i64; 7]>, (&from, &code)| {
                    if let Some(m) = timeline::month_of(from) {
                        acc.entry(m).or_default()[code.min(6) as usize] += 1;
                    }
                    acc
                },
            )
            .reduce(PlHashMap::default, |mut a, b| {
                for (m, n) in b {
                    let slot = a.entry(m).or_default();
                    slot.iter_mut().zip(n).for_each(|(s, n)| *s += n);
                }
                a
            });
        Ok(counts.into_iter().collect())
    }

    /// Per month with any event: new opt-outs, withdrawals, and the change in the number of
    /// distinct owners opted out (so that a running sum gives the owners opted out at month end).
    /// Columns: `__month` (see [`super::scan::utc_month`]), `opted_out`, `withdrawn` (UInt64), `__change` (Int64).
    pub(crate) fn monthly(&self) -> PolarsResult<DataFrame> {
        let by = self.whole_table(|s| s.monthly.as_ref(), Ledger::monthly_counts)?;
        lock(&self.computed).monthly = Some(by.clone());
        df!(
            MONTH_NO => by.keys().copied().collect::<Vec<i32>>(),
            super::columns::OPTED_OUT => by.values().map(|v| v[0].max(0) as u64).collect::<Vec<u64>>(),
            super::columns::WITHDRAWN => by.values().map(|v| v[1].max(0) as u64).collect::<Vec<u64>>(),
            CHANGE => by.values().map(|v| v[2]).collect::<Vec<i64>>(),
        )
    }

    /// [`Ledger::monthly`] over every row.
    fn monthly_counts(&self) -> PolarsResult<BTreeMap<i32, [i64; 3]>> {
        let facts = self.facts()?;
        // SELECT month(time), sum(change) FROM crossings(ledger) GROUP BY month(time)
        let changes: PlHashMap<i32, i64> = self.groups()?.crossings(
            1,
            |_, _| true,
            PlHashMap::default,
            |acc, _, t, change| {
                if let Some(m) = timeline::month_of(t) {
                    *acc.entry(m).or_default() += change;
                }
            },
            |mut a, b| {
                b.into_iter()
                    .for_each(|(m, c)| *a.entry(m).or_default() += c);
                a
            },
        );
        let mut by: BTreeMap<i32, [i64; 3]> = changes
            .into_iter()
            .map(|(m, change)| (m, [0, 0, change]))
            .collect();
        // SELECT month(opted_out_at), count(*) GROUP BY 1; the same for withdrawn_at
        let opened = facts
            .from
            .par_iter()
            .zip(facts.to.par_iter())
            .fold(
                PlHashMap::default,
                |mut acc: PlHashMap<i32, (i64, i64)>, (&from, to)| {
                    if let Some(m) = timeline::month_of(from) {
                        acc.entry(m).or_default().0 += 1;
                    }
                    if let Some(m) = to.and_then(timeline::month_of) {
                        acc.entry(m).or_default().1 += 1;
                    }
                    acc
                },
            )
            .reduce(PlHashMap::default, |mut a, b| {
                for (m, (o, w)) in b {
                    let slot = a.entry(m).or_default();
                    slot.0 += o;
                    slot.1 += w;
                }
                a
            });
        for (m, (o, w)) in opened {
            let slot = by.entry(m).or_insert([0, 0, 0]);
            slot[0] += o;
            slot[1] += w;
        }
        Ok(by)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::TestRng as Rng;
    use crate::aggregate::scan::MICROS_PER_DAY;

    #[test]
    fn text_codes_are_each_texts_place_from_views_or_bytes() {
        // Short (inline) and long texts, nulls, unknown texts and near misses, in runs and
        // alone, over several chunks: the codes are the texts' places, row by row.
        let names = [
            "all-third-parties",
            "ai-training",
            "p1",
            "a-partner-with-a-long-id",
            // The same length and first 4 bytes as the one before.
            "a-partner-with-a-long-ix",
        ];
        let pool = [
            Some("all-third-parties"),
            Some("ai-training"),
            Some("p1"),
            Some("a-partner-with-a-long-id"),
            Some("all-third-partie"),
            Some("all-third-partiesx"),
            // The length and first 4 bytes of a long name, then other bytes.
            Some("all-third-partiez"),
            Some("a-partner-with-a-long-iD"),
            Some("a-partner-with-a-long-ix"),
            Some("p1x"),
            Some("P1"),
            Some("p2"),
            Some(""),
            None,
        ];
        let mut rng = Rng(0x5eed);
        let mut column: Option<StringChunked> = None;
        let mut texts = Vec::new();
        for _ in 0..4 {
            let mut chunk = Vec::new();
            while chunk.len() < 70_000 {
                let text = pool[rng.below(pool.len() as u64) as usize];
                let run = 1 + rng.below(50) as usize;
                chunk.extend(std::iter::repeat_n(text, run));
            }
            texts.extend(chunk.iter().copied());
            let ca = StringChunked::from_iter_options("t".into(), chunk.into_iter());
            match &mut column {
                Some(c) => {
                    c.append(&ca).unwrap();
                }
                None => column = Some(ca),
            }
        }
        let column = column.unwrap();
        assert!(column.chunks().len() > 1);
        let expected: Vec<Option<u32>> = texts
            .iter()
            .map(|t| t.and_then(|t| names.iter().position(|n| *n == t).map(|i| i as u32)))
            .collect();
        assert_eq!(text_codes(&column, &names), expected);
        // The same texts through Parquet, whose dictionary gives equal rows equal views.
        let mut df = DataFrame::new(column.len(), vec![column.into_column()]).unwrap();
        let mut bytes = Vec::new();
        ParquetWriter::new(&mut bytes).finish(&mut df).unwrap();
        let read = ParquetReader::new(std::io::Cursor::new(bytes))
            .finish()
            .unwrap();
        let read = read.column("t").unwrap().str().unwrap().clone();
        assert_eq!(text_codes(&read, &names), expected);
    }

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
        let ledger = ledger_of(&rows, 1);
        (rows, ledger)
    }

    /// The scope texts of the test ledgers' codes 0 to 3, and of code 4: a scope without a code
    /// (as when `partners.yaml` did not load).
    const SCOPE_TEXTS: [&str; 5] = [ALL_THIRD_PARTIES, AI_TRAINING, "a", "b", "zz"];

    /// The ledger of `rows` for partners `a` and `b`, its instants multiplied by `scale`; signals
    /// by owner and row.
    fn ledger_of(rows: &[Row], scale: i64) -> Ledger {
        let df = df!(
            OWNER_ID => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            FROM => rows.iter().map(|r| r.1 * scale).collect::<Vec<_>>(),
            TO => rows.iter().map(|r| r.2.map(|t| t * scale)).collect::<Vec<_>>(),
            SCOPE_CODE => rows.iter().map(|r| (r.3 < 4).then_some(r.3)).collect::<Vec<_>>(),
            SCOPE => rows.iter().map(|r| SCOPE_TEXTS[r.3 as usize]).collect::<Vec<_>>(),
            SIGNAL => rows
                .iter()
                .enumerate()
                .map(|(i, r)| SIGNALS[(i + r.0 as usize) % SIGNALS.len()])
                .collect::<Vec<_>>(),
        )
        .expect("frame");
        Ledger::new(df, vec!["a".into(), "b".into()]).expect("ledger")
    }

    /// Monthly statistics and owners per scope, against counting row by row: rows of one owner
    /// overlap and touch across month ends (instants 9 days apart), scopes include one without a
    /// code.
    #[test]
    fn monthly_figures_and_scopes_agree_with_counting_row_by_row() {
        const DAY: i64 = MICROS_PER_DAY;
        let mut rng = Rng(0x3017_4a11_5c09);
        for case in 0..150 {
            let mut rows: Vec<Row> = (0..rng.below(40))
                .map(|_| {
                    let from = rng.below(30) as i64 - 8;
                    let to = (rng.below(3) > 0).then(|| from + rng.below(10) as i64);
                    (rng.below(8) as i64, from, to, rng.below(5) as u32)
                })
                .collect();
            let ledger = ledger_of(&rows, 9 * DAY);
            rows.iter_mut().for_each(|r| {
                r.1 *= 9 * DAY;
                r.2 = r.2.map(|t| t * 9 * DAY);
            });
            let all: Vec<u32> = (0..5).collect();
            // Owners opted out at t by any row, and the month of an instant.
            let level = |t: i64| naive(&rows, &all, t) as i64;
            let month = |t: i64| timeline::month_of(t).expect("month");
            let mut want: BTreeMap<i32, (u64, u64, i64)> = BTreeMap::new();
            for r in &rows {
                want.entry(month(r.1)).or_default().0 += 1;
                if let Some(to) = r.2 {
                    want.entry(month(to)).or_default().1 += 1;
                }
                // A month where the number of owners moves at an instant (and back) is listed.
                for t in [Some(r.1), r.2].into_iter().flatten() {
                    if level(t) != level(t - 1) {
                        want.entry(month(t)).or_default();
                    }
                }
            }
            // The change over a month: the level at its end, less the level at the end of the
            // month before.
            for (m, v) in want.iter_mut() {
                let end = |m: i32| {
                    let (y, m0) = (m.div_euclid(12), m.rem_euclid(12) as u32);
                    chrono::NaiveDate::from_ymd_opt(y, m0 + 1, 1)
                        .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                        .map(|d| d.and_utc().timestamp_micros() - 1)
                        .expect("month end")
                };
                v.2 = level(end(*m)) - level(end(*m - 1));
            }
            let df = ledger.monthly().expect("monthly");
            let column = |name: &str| -> Vec<i64> {
                df.column(name)
                    .and_then(|c| c.cast(&DataType::Int64))
                    .expect("column")
                    .i64()
                    .expect("i64")
                    .into_no_null_iter()
                    .collect()
            };
            let got: Vec<(i64, i64, i64, i64)> = (0..df.height())
                .map(|i| {
                    (
                        column(MONTH_NO)[i],
                        column(super::super::columns::OPTED_OUT)[i],
                        column(super::super::columns::WITHDRAWN)[i],
                        column(CHANGE)[i],
                    )
                })
                .collect();
            let want_rows: Vec<(i64, i64, i64, i64)> = want
                .iter()
                .map(|(m, v)| (i64::from(*m), v.0 as i64, v.1 as i64, v.2))
                .collect();
            assert_eq!(got, want_rows, "case {case}, monthly");
            // New opt-outs per month and signal.
            let mut signals: BTreeMap<i32, [Option<u64>; 6]> = BTreeMap::new();
            for (i, r) in rows.iter().enumerate() {
                let k = (i + r.0 as usize) % SIGNALS.len();
                let slot = signals.entry(month(r.1)).or_insert([Some(0); 6]);
                slot[k] = slot[k].map(|n| n + 1);
            }
            assert_eq!(
                ledger.signals_by_month().expect("signals"),
                signals,
                "case {case}"
            );
            // Owners per scope at a few instants.
            for t in [-100 * DAY, 0, 40 * DAY, 9 * DAY * 20, 9 * DAY * 20 - 1] {
                let want: Vec<(String, u64)> = (0..5)
                    .map(|code| {
                        (
                            SCOPE_TEXTS[code].to_owned(),
                            naive(&rows, &[code as u32], t),
                        )
                    })
                    .filter(|(_, n)| *n > 0)
                    .collect::<BTreeMap<_, _>>()
                    .into_iter()
                    .collect();
                assert_eq!(
                    ledger.active_by_scope(t).expect("scopes"),
                    want,
                    "case {case}, t {t}"
                );
            }
        }
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
    fn counts_in_force_agree_with_counting_row_by_row() {
        let mut rng = Rng(0x5eed_1234_abcd);
        for case in 0..200 {
            let (rows, _) = random_ledger(&mut rng);
            let instants: Vec<i64> = (0..rng.below(12)).map(|_| rng.below(45) as i64).collect();
            // Partner `a` (scope code 2), training AI (code 1) or not; code 0 covers all. A
            // ledger each: sets of owners are kept by partner id.
            for ai in [false, true] {
                let ledger = ledger_of(&rows, 1);
                let scopes: Vec<u32> = if ai { vec![0, 1, 2] } else { vec![0, 2] };
                let want: Vec<u64> = instants.iter().map(|&t| naive(&rows, &scopes, t)).collect();
                let got = ledger.in_force(&partner_a(ai), &instants).expect("count");
                assert_eq!(got, want, "case {case}, ai {ai}, instants {instants:?}");
                // Both ways of counting, whichever the ledger's ids choose.
                let wanted = [(&partner_a(ai), instants.clone())];
                let by_sets = ledger.in_force_by_sets(&wanted).expect("sets");
                let by_crossings = ledger.in_force_by_crossings(&wanted).expect("crossings");
                for (way, got) in [("sets", by_sets), ("crossings", by_crossings)] {
                    let got: Vec<u64> = instants.iter().map(|t| got[0][t] as u64).collect();
                    assert_eq!(got, want, "case {case}, ai {ai}, {way}");
                }
            }
        }
    }

    /// Every statistic of `ledger` for partners `a` (training AI or not) and `b` at `instants`,
    /// as text.
    fn every_statistic(ledger: &Ledger, ai: bool, instants: &[i64]) -> String {
        let mut b = partner_a(false);
        b.id = crate::model::PartnerId("b".into());
        let partners = [partner_a(ai), b];
        let wanted: Vec<(&Partner, Vec<i64>)> =
            partners.iter().map(|p| (p, instants.to_vec())).collect();
        ledger
            .prepare_fingerprints_all(&wanted)
            .expect("fingerprints");
        let fingerprints: Vec<String> = partners
            .iter()
            .flat_map(|p| instants.iter().map(move |&t| (p, t)))
            .map(|(p, t)| ledger.fingerprint(p, t).expect("fingerprint"))
            .collect();
        let in_force = ledger.in_force_all(&wanted).expect("in force");
        let scopes: Vec<_> = instants
            .iter()
            .map(|&t| ledger.active_by_scope(t).expect("scopes"))
            .collect();
        let monthly = ledger.monthly().expect("monthly");
        let monthly: Vec<Vec<String>> = monthly
            .columns()
            .iter()
            .map(|c| {
                c.as_materialized_series()
                    .iter()
                    .map(|v| v.to_string())
                    .collect()
            })
            .collect();
        let signals = ledger.signals_by_month().expect("signals");
        format!("{fingerprints:?}\n{in_force:?}\n{scopes:?}\n{monthly:?}\n{signals:?}")
    }

    /// A ledger's statistics carried over to the ledger grown by appended rows (of earlier
    /// owners and new ones; backdated, withdrawn, overlapping) and corrected by them: the same
    /// as counting every row, at the instants asked for before and at a new one; carried again
    /// from the grown ledger's own record. A ledger whose earlier rows changed, or that grew by
    /// more than a quarter, is counted afresh.
    #[test]
    fn statistics_carried_over_agree_with_counting_every_row() {
        const DAY: i64 = MICROS_PER_DAY;
        let scale = 9 * DAY;
        let mut rng = Rng(0xca22_1ed0_0042);
        let random_row = |rng: &mut Rng| -> Row {
            let from = rng.below(30) as i64 - 8;
            let to = (rng.below(3) > 0).then(|| from + rng.below(10) as i64);
            (rng.below(8) as i64, from, to, rng.below(5) as u32)
        };
        let mut carried = 0;
        for case in 0..300 {
            let ai = case % 2 == 0;
            let rows: Vec<Row> = (0..rng.below(40)).map(|_| random_row(&mut rng)).collect();
            let mut grown = rows.clone();
            for _ in 0..rng.below(8) {
                grown.push(random_row(&mut rng));
            }
            let edited = case % 5 == 0 && !rows.is_empty();
            if edited {
                let i = rng.below(rows.len() as u64) as usize;
                grown[i].1 -= 1;
            }
            let instants: Vec<i64> = (0..rng.below(6))
                .map(|_| (rng.below(45) as i64 - 8) * scale)
                .collect();
            let first = ledger_of(&rows, scale);
            every_statistic(&first, ai, &instants);
            let record = first.carried().expect("record").expect("encoded");
            let later = ledger_of(&grown, scale);
            let used = later.carry_from(&record).expect("carry");
            let appended = grown.len() - rows.len();
            assert_eq!(
                used,
                !edited && appended <= grown.len() / 4 + 1,
                "case {case}: carried"
            );
            carried += usize::from(used);
            let mut more = instants.clone();
            more.push((rng.below(45) as i64 - 8) * scale);
            let want = every_statistic(&ledger_of(&grown, scale), ai, &more);
            assert_eq!(every_statistic(&later, ai, &more), want, "case {case}");
            // The grown ledger's record, carried to the same rows: nothing appended.
            let record = later.carried().expect("record").expect("encoded");
            let again = ledger_of(&grown, scale);
            assert!(again.carry_from(&record).expect("carry"), "case {case}");
            assert_eq!(
                every_statistic(&again, ai, &more),
                want,
                "case {case}: again"
            );
        }
        assert!(carried > 100, "only {carried} cases carried over");
        // Not a record: nothing carried.
        let ledger = ledger_of(&[(1, 2, None, 0)], scale);
        assert!(!ledger.carry_from(b"{}").expect("carry"));
        assert!(!ledger.carry_from(b"\xff").expect("carry"));
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
                    let want = query_owners(&ledger, &partner, t);
                    let set = ledger.opted_out_ids(t, &partner).expect("set");
                    let got: Vec<i64> = (-1..10).filter(|&id| set.contains(id)).collect();
                    assert_eq!(got, want, "case {case}, round {round}, t {t}");
                }
            }
        }
    }

    /// The owners of the ledger query opted out for `partner` at `t`, sorted.
    fn query_owners(ledger: &Ledger, partner: &Partner, t: i64) -> Vec<i64> {
        let mut owners: Vec<i64> = ledger
            .opted_out_at(t, partner, &DataType::Int64)
            .collect()
            .expect("query")
            .column(OWNER_ID)
            .expect("owner")
            .i64()
            .expect("i64")
            .into_no_null_iter()
            .collect();
        owners.sort_unstable();
        owners
    }

    /// Sets a build expects are made with the first set asked for, and hold the owners of the
    /// ledger query; none is made while none is asked for.
    #[test]
    fn expected_sets_are_made_with_the_first_asked_for() {
        let mut rng = Rng(0x0bad_cafe_0044);
        for case in 0..40 {
            let (rows, _) = random_ledger(&mut rng);
            let ledger = ledger_of(&rows, 1);
            let a = partner_a(true);
            let b = Partner {
                id: crate::model::PartnerId("b".into()),
                ..partner_a(false)
            };
            let (t, u) = (rng.below(45) as i64, rng.below(45) as i64);
            ledger.expect_sets(&[(&a, t), (&b, t)]);
            assert!(lock(&ledger.id_sets).is_empty(), "case {case}: made early");
            let first = ledger.opted_out_ids(u, &a).expect("set");
            let made = lock(&ledger.id_sets).len();
            assert_eq!(made, if u == t { 2 } else { 3 }, "case {case}");
            let owners =
                |set: &Ids| -> Vec<i64> { (-1..10).filter(|&id| set.contains(id)).collect() };
            assert_eq!(owners(&first), query_owners(&ledger, &a, u), "case {case}");
            for p in [&a, &b] {
                let set = ledger.opted_out_ids(t, p).expect("set");
                assert_eq!(owners(&set), query_owners(&ledger, p, t), "case {case}");
            }
            assert_eq!(lock(&ledger.id_sets).len(), made, "case {case}: made again");
        }
    }

    /// Sets made together in one pass (bitmaps over a narrow id range, hash sets over a wide one)
    /// hold the owners of the ledger query, as sets made one at a time do.
    #[test]
    fn id_sets_made_together_hold_the_owners_of_the_ledger_query() {
        let mut rng = Rng(0x0bad_cafe_0043);
        for case in 0..80 {
            let (mut rows, _) = random_ledger(&mut rng);
            // Odd cases: ids 2^40 apart, wider than any bitmap.
            let spread = if case % 2 == 1 { 1i64 << 40 } else { 1 };
            rows.iter_mut().for_each(|r| r.0 *= spread);
            let ledger = ledger_of(&rows, 1);
            // Two partners (sets are kept by partner id): `a` training AI, `b` not.
            let a = partner_a(true);
            let b = Partner {
                id: crate::model::PartnerId("b".into()),
                ..partner_a(false)
            };
            let wanted: Vec<(&Partner, i64)> = (0..rng.below(8))
                .map(|i| (if i % 2 == 0 { &a } else { &b }, rng.below(45) as i64))
                .collect();
            let sets = ledger.opted_out_sets(&wanted).expect("sets");
            assert_eq!(sets.len(), wanted.len());
            for ((partner, t), set) in wanted.iter().zip(&sets) {
                let want = query_owners(&ledger, partner, *t);
                let got: Vec<i64> = (-1..10)
                    .map(|i| i * spread)
                    .filter(|&id| set.contains(id))
                    .collect();
                assert_eq!(got, want, "case {case}, t {t}");
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

    /// The fingerprint for partner `a` at instant 1 of a ledger of two owners, `owner` and 7.
    fn fingerprint_of(owner: Column) -> String {
        let seven = Column::new(OWNER_ID.into(), [7i64]).cast(owner.dtype());
        let mut owners = owner.with_name(OWNER_ID.into());
        owners.append(&seven.expect("cast")).expect("append");
        let df = DataFrame::new_infer_height(vec![
            owners,
            Column::new(FROM.into(), [0i64, 0]),
            Column::new(TO.into(), [None::<i64>, None]),
            Column::new(SCOPE_CODE.into(), [0u32, 0]),
        ])
        .expect("frame");
        let ledger = Ledger::new(df, vec!["a".into()]).expect("ledger");
        ledger
            .fingerprint(&partner_a(false), 1)
            .expect("fingerprint")
    }

    /// u64 owner ids of 2^63 and above are fingerprinted as themselves (a cast to i64 made them
    /// all null and alike, so a corrected id went unnoticed by the cache); ids beyond 64 bits
    /// (Int128) by their digits, each its own.
    #[test]
    fn large_unsigned_owner_ids_change_the_fingerprint() {
        let fingerprint = |owner: u64| fingerprint_of(Column::new("o".into(), [owner]));
        let big = (1u64 << 63) + 5;
        assert_ne!(fingerprint(big), fingerprint(big + 1));
        assert_eq!(fingerprint(big), fingerprint(big));
        let wide = |owner: i128| fingerprint_of(Column::new("o".into(), [owner]));
        let huge = 1i128 << 100;
        assert_ne!(wide(huge), wide(huge + 1));
        assert_eq!(wide(huge), wide(huge));
    }
}
