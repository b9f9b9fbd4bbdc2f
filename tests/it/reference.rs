//! Property test: a naive reference implementation (plain loops over the rows) checked against the
//! polars pipeline on randomly generated listings and ledgers, in all three formats.
//!
//! Times are drawn around the export instant and across New Year, written with offsets, as bare
//! dates and without offsets; some opt-outs start or are withdrawn exactly at the export instant.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, Datelike, Duration, FixedOffset, TimeZone, Utc};
use polars::prelude::*;

const CATEGORIES: [&str; 3] = ["text", "photo", "ask"];
pub(crate) const FLAGS: [&str; 5] = ["private", "deleted", "suspended", "explicit", "minor"];
const FORMATS: [&str; 3] = ["csv", "parquet", "ndjson"];

/// SplitMix64: small, deterministic, no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// An instant and the text it is written as.
#[derive(Clone)]
pub(crate) struct Instant {
    pub(crate) at: DateTime<Utc>,
    text: String,
}

/// Writes an instant in one of the accepted forms, chosen at random.
fn written(rng: &mut Rng, at: DateTime<Utc>) -> Instant {
    let offsets = [0, 5 * 3600 + 1800, -8 * 3600, 14 * 3600, -11 * 3600];
    let text = if at.time() == chrono::NaiveTime::MIN && rng.chance(50) {
        at.format("%Y-%m-%d").to_string()
    } else {
        match rng.below(3) {
            0 => at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            1 => at.format("%Y-%m-%d %H:%M:%S").to_string(),
            _ => {
                let offset = offsets[rng.below(offsets.len() as u64) as usize];
                let zone = FixedOffset::east_opt(offset).expect("valid offset");
                at.with_timezone(&zone).to_rfc3339()
            }
        }
    };
    Instant { at, text }
}

fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
        .single()
        .expect("valid date")
}

pub(crate) struct Item {
    id: u64,
    owner: u64,
    category: &'static str,
    pub(crate) created: Instant,
    flags: [bool; 5],
}

pub(crate) struct OptOut {
    owner: u64,
    from: Instant,
    to: Option<Instant>,
    /// `None`: the cell is empty (the default, account-setting).
    signal: Option<&'static str>,
    /// `None`: the cell is empty (the default, all-third-parties).
    scope: Option<&'static str>,
}

pub(crate) const SIGNALS: [&str; 6] = [
    "account-setting",
    "support-request",
    "robots-txt",
    "tdmrep",
    "gpc",
    "other",
];
/// Scopes the generator draws: the two kinds, the export's partner `p` and another partner `q`.
const SCOPES: [&str; 4] = ["all-third-parties", "ai-training", "p", "q"];

pub(crate) struct Case {
    /// Whether the ledger has the optional `signal` and `scope` columns (old ledgers do not).
    pub(crate) with_columns: bool,
    /// Whether partner `p` (the export's) trains AI.
    pub(crate) p_trains_ai: bool,
    pub(crate) exported_at: Instant,
    /// The content window as dates.
    pub(crate) window: (chrono::NaiveDate, chrono::NaiveDate),
    pub(crate) filters: [bool; 5],
    pub(crate) items: Vec<Item>,
    pub(crate) ledger: Vec<OptOut>,
}

/// A time near `center`: sometimes exactly it, else within a few days either side, sometimes at
/// midnight UTC.
fn near(rng: &mut Rng, center: DateTime<Utc>) -> DateTime<Utc> {
    match rng.below(6) {
        0 => center,
        1 => center
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc(),
        _ => center + Duration::minutes(rng.below(8 * 24 * 60) as i64 - 4 * 24 * 60),
    }
}

pub(crate) fn generate(seed: u64) -> Case {
    let mut rng = Rng(seed);
    // Exports at New Year, so that offsets move instants across the year boundary.
    let exported = utc(2021, 1, 1, 0) + Duration::minutes(rng.below(48 * 60) as i64 - 24 * 60);
    let exported_at = written(&mut rng, exported);
    let owners = 1 + rng.below(25);
    let items = (0..rng.below(160))
        .map(|id| {
            // Created around New Year 2020/2021 or earlier in 2020.
            let created = if rng.chance(50) {
                utc(2020, 12, 31, 12) + Duration::minutes(rng.below(36 * 60) as i64 - 18 * 60)
            } else {
                utc(2020, 1, 1, 0) + Duration::minutes(rng.below(366 * 24 * 60) as i64 - 24 * 60)
            };
            let created = if created > exported {
                exported
            } else {
                created
            };
            Item {
                id,
                owner: rng.below(owners),
                category: CATEGORIES[rng.below(3) as usize],
                created: written(&mut rng, created),
                flags: std::array::from_fn(|_| rng.chance(15)),
            }
        })
        .collect();
    let ledger = (0..rng.below(30))
        .map(|_| {
            let from = near(&mut rng, exported);
            let to = rng.chance(40).then(|| {
                let to = if rng.chance(30) {
                    exported.max(from)
                } else {
                    from + Duration::minutes(rng.below(6 * 24 * 60) as i64)
                };
                written(&mut rng, to)
            });
            OptOut {
                owner: rng.below(owners + 3),
                from: written(&mut rng, from),
                to,
                signal: rng.chance(70).then(|| SIGNALS[rng.below(6) as usize]),
                scope: rng.chance(70).then(|| SCOPES[rng.below(4) as usize]),
            }
        })
        .collect();
    let from = chrono::NaiveDate::from_ymd_opt(2020, 1 + rng.below(3) as u32, 1).expect("date");
    let to = chrono::NaiveDate::from_ymd_opt(2020, 12, 30 + rng.below(2) as u32).expect("date");
    let with_columns = !seed.is_multiple_of(4);
    let mut ledger: Vec<OptOut> = ledger;
    if !with_columns {
        for o in &mut ledger {
            o.signal = None;
            o.scope = None;
        }
    }
    Case {
        with_columns,
        p_trains_ai: rng.chance(50),
        exported_at,
        window: (from, to),
        filters: std::array::from_fn(|_| rng.chance(50)),
        items,
        ledger,
    }
}

impl OptOut {
    fn signal(&self) -> &'static str {
        self.signal.unwrap_or("account-setting")
    }

    /// Naive: does this opt-out cover partner `p`?
    fn covers_p(&self, p_trains_ai: bool) -> bool {
        match self.scope.unwrap_or("all-third-parties") {
            "all-third-parties" | "p" => true,
            "ai-training" => p_trains_ai,
            _ => false,
        }
    }
}

fn write_listing(case: &Case, path: &Path, format: &str) {
    let it = &case.items;
    match format {
        "csv" => {
            let mut out = String::from("item_id,owner_id,category,created_at,");
            out.push_str(&FLAGS.join(","));
            out.push('\n');
            for i in it {
                let flags: Vec<&str> = i
                    .flags
                    .iter()
                    .enumerate()
                    .map(|(k, f)| match (f, (i.id + k as u64) % 3) {
                        (true, 0) => "1",
                        (true, _) => "true",
                        (false, 0) => "",
                        (false, 1) => "0",
                        (false, _) => "false",
                    })
                    .collect();
                out.push_str(&format!(
                    "i{},{},{},{},{}\n",
                    i.id,
                    i.owner,
                    i.category,
                    i.created.text,
                    flags.join(",")
                ));
            }
            std::fs::write(path, out).expect("write csv");
        }
        "ndjson" => {
            let mut out = String::new();
            for i in it {
                let mut row = serde_json::json!({
                    "item_id": format!("i{}", i.id),
                    "owner_id": i.owner,
                    "category": i.category,
                    "created_at": i.created.text,
                });
                for (f, v) in FLAGS.iter().zip(i.flags) {
                    row[*f] = serde_json::Value::Bool(v);
                }
                out.push_str(&row.to_string());
                out.push('\n');
            }
            std::fs::write(path, out).expect("write ndjson");
        }
        _ => {
            let mut columns = vec![
                Column::new(
                    "item_id".into(),
                    it.iter().map(|i| format!("i{}", i.id)).collect::<Vec<_>>(),
                ),
                Column::new(
                    "owner_id".into(),
                    it.iter().map(|i| i.owner as i64).collect::<Vec<_>>(),
                ),
                Column::new(
                    "category".into(),
                    it.iter().map(|i| i.category).collect::<Vec<_>>(),
                ),
                Column::new(
                    "created_at".into(),
                    it.iter()
                        .map(|i| i.created.text.clone())
                        .collect::<Vec<_>>(),
                ),
            ];
            for (k, f) in FLAGS.iter().enumerate() {
                columns.push(Column::new(
                    (*f).into(),
                    it.iter().map(|i| i.flags[k]).collect::<Vec<_>>(),
                ));
            }
            let mut df = DataFrame::new_infer_height(columns).expect("frame");
            let file = std::fs::File::create(path).expect("create parquet");
            ParquetWriter::new(file)
                .finish(&mut df)
                .expect("write parquet");
        }
    }
}

fn write_ledger(case: &Case, path: &Path, format: &str) {
    let l = &case.ledger;
    match format {
        "csv" => {
            let mut out = String::from("owner_id,opted_out_at,withdrawn_at");
            out.push_str(if case.with_columns {
                ",signal,scope\n"
            } else {
                "\n"
            });
            for o in l {
                out.push_str(&format!(
                    "{},{},{}",
                    o.owner,
                    o.from.text,
                    o.to.as_ref().map_or("", |t| t.text.as_str())
                ));
                if case.with_columns {
                    out.push_str(&format!(
                        ",{},{}",
                        o.signal.unwrap_or(""),
                        o.scope.unwrap_or("")
                    ));
                }
                out.push('\n');
            }
            std::fs::write(path, out).expect("write csv");
        }
        "ndjson" => {
            let mut out = String::new();
            for o in l {
                let mut row = serde_json::json!({
                    "owner_id": o.owner,
                    "opted_out_at": o.from.text,
                    "withdrawn_at": o.to.as_ref().map(|t| t.text.clone()),
                });
                if case.with_columns {
                    row["signal"] = serde_json::json!(o.signal);
                    row["scope"] = serde_json::json!(o.scope);
                }
                out.push_str(&row.to_string());
                out.push('\n');
            }
            std::fs::write(path, out).expect("write ndjson");
        }
        _ => {
            let mut df = df!(
                "owner_id" => l.iter().map(|o| o.owner as i64).collect::<Vec<_>>(),
                "opted_out_at" => l.iter().map(|o| o.from.text.clone()).collect::<Vec<_>>(),
                "withdrawn_at" => l.iter().map(|o| o.to.as_ref().map(|t| t.text.clone())).collect::<Vec<_>>(),
            )
            .expect("frame");
            if case.with_columns {
                df.with_column(Column::new(
                    "signal".into(),
                    l.iter().map(|o| o.signal).collect::<Vec<_>>(),
                ))
                .expect("signal");
                df.with_column(Column::new(
                    "scope".into(),
                    l.iter().map(|o| o.scope).collect::<Vec<_>>(),
                ))
                .expect("scope");
            }
            let file = std::fs::File::create(path).expect("create parquet");
            ParquetWriter::new(file)
                .finish(&mut df)
                .expect("write parquet");
        }
    }
}

/// Writes a report root for the case: one partner, one export with the listing, the ledger.
pub(crate) fn write_root(case: &Case, root: &Path, listing_format: &str, ledger_format: &str) {
    std::fs::create_dir_all(root.join("data/exports")).expect("mkdir");
    std::fs::create_dir_all(root.join("data/opt-outs")).expect("mkdir");
    std::fs::write(
        root.join("report.yaml"),
        "title: Property\nplatform:\n  name: P\nperiod:\n  from: 2019-01-01\n  to: 2022-12-31\npublished: 2022-12-31\ncategories:\n  - {id: text, label: Text}\n  - {id: photo, label: Photo}\n  - {id: ask, label: Ask}\nprivacy:\n  min_count: 1\n",
    )
    .expect("write report");
    let purpose = if case.p_trains_ai {
        "ai-training"
    } else {
        "search-indexing"
    };
    std::fs::write(
        root.join("data/partners.yaml"),
        format!(
            "- id: p\n  name: P Labs\n  purposes: [{purpose}]\n  agreement: {{signed: 2019-01-01}}\n  honours_opt_out: \"yes\"\n- id: q\n  name: Q Labs\n  purposes: [ai-training]\n  agreement: {{signed: 2019-01-01}}\n  honours_opt_out: \"yes\"\n"
        ),
    )
    .expect("write partners");
    let filters: Vec<String> = [
        "public_only",
        "exclude_deleted",
        "exclude_explicit",
        "exclude_minors",
        "exclude_opted_out",
    ]
    .iter()
    .zip(case.filters)
    .map(|(f, on)| format!("  {f}: {on}\n"))
    .collect();
    if !case.items.is_empty() {
        write_listing(
            case,
            &root.join(format!("data/exports/items.{listing_format}")),
            listing_format,
        );
    }
    let source = if case.items.is_empty() {
        "counts: []\n".to_owned()
    } else {
        format!("items: items.{listing_format}\n")
    };
    std::fs::write(
        root.join("data/exports/e.yaml"),
        format!(
            "id: e\npartner: p\nexported_at: \"{}\"\ncontent_window:\n  from: {}\n  to: {}\nfilters:\n{}{source}",
            case.exported_at.text,
            case.window.0,
            case.window.1,
            filters.concat()
        ),
    )
    .expect("write manifest");
    if !case.ledger.is_empty() {
        write_ledger(
            case,
            &root.join(format!("data/opt-outs/ledger.{ledger_format}")),
            ledger_format,
        );
    }
}

fn active(o: &OptOut, t: DateTime<Utc>) -> bool {
    o.from.at <= t && o.to.as_ref().is_none_or(|w| w.at > t)
}

/// Naive: is the owner opted out at `t` (any scope)?
fn opted_out(ledger: &[OptOut], owner: u64, t: DateTime<Utc>) -> bool {
    ledger.iter().any(|o| o.owner == owner && active(o, t))
}

/// Naive: is the owner opted out for partner `p` at `t`?
fn opted_out_for_p(case: &Case, owner: u64, t: DateTime<Utc>) -> bool {
    case.ledger
        .iter()
        .any(|o| o.owner == owner && active(o, t) && o.covers_p(case.p_trains_ai))
}

pub(crate) type Cells = BTreeMap<(String, i32), [u64; 7]>;

/// Naive shared-items cells: (category, year) → [items, flags…, opted_out].
pub(crate) fn reference_cells(case: &Case) -> Cells {
    let mut cells = Cells::new();
    for i in &case.items {
        let cell = cells
            .entry((i.category.to_owned(), i.created.at.year()))
            .or_default();
        cell[0] += 1;
        for k in 0..5 {
            cell[k + 1] += u64::from(i.flags[k]);
        }
        cell[6] += u64::from(opted_out_for_p(case, i.owner, case.exported_at.at));
    }
    cells
}

/// Naive findings of the export: (id, flag, severity, count).
pub(crate) fn reference_findings(case: &Case) -> BTreeSet<(String, String, String, u64)> {
    let mut out = BTreeSet::new();
    let claimed = |flag: &str| match flag {
        "private" | "suspended" => case.filters[0],
        "deleted" => case.filters[1],
        "explicit" => case.filters[2],
        _ => case.filters[3],
    };
    for (k, flag) in FLAGS.iter().enumerate() {
        let n = case.items.iter().filter(|i| i.flags[k]).count() as u64;
        if n > 0 {
            let severity = if claimed(flag) { "high" } else { "medium" };
            out.insert((
                "sensitive-content-shared".into(),
                (*flag).into(),
                severity.into(),
                n,
            ));
        }
    }
    let opted = case
        .items
        .iter()
        .filter(|i| opted_out_for_p(case, i.owner, case.exported_at.at))
        .count() as u64;
    if opted > 0 {
        out.insert((
            "opted-out-content-shared".into(),
            String::new(),
            "high".into(),
            opted,
        ));
    }
    let from = case
        .window
        .0
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    let to = (case.window.1 + Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    let outside = case
        .items
        .iter()
        .filter(|i| i.created.at < from || i.created.at >= to)
        .count() as u64;
    if outside > 0 {
        out.insert((
            "outside-content-window".into(),
            String::new(),
            "medium".into(),
            outside,
        ));
    }
    out
}

/// Naive monthly statistics from the ledger: month → (opted out, withdrawn, active at month end,
/// new opt-outs per signal).
pub(crate) fn reference_monthly(ledger: &[OptOut]) -> BTreeMap<String, (u64, u64, u64, [u64; 6])> {
    let month = |t: DateTime<Utc>| t.year() * 12 + t.month0() as i32;
    let events: Vec<i32> = ledger
        .iter()
        .flat_map(|o| std::iter::once(month(o.from.at)).chain(o.to.as_ref().map(|t| month(t.at))))
        .collect();
    let (Some(first), Some(last)) = (events.iter().min(), events.iter().max()) else {
        return BTreeMap::new();
    };
    (*first..=*last)
        .map(|m| {
            let year = m.div_euclid(12);
            let mon = m.rem_euclid(12) as u32 + 1;
            let next = if mon == 12 {
                utc(year + 1, 1, 1, 0)
            } else {
                utc(year, mon + 1, 1, 0)
            };
            let end = next - Duration::microseconds(1);
            let opted = ledger.iter().filter(|o| month(o.from.at) == m).count() as u64;
            let withdrawn = ledger
                .iter()
                .filter(|o| o.to.as_ref().is_some_and(|t| month(t.at) == m))
                .count() as u64;
            let owners: BTreeSet<u64> = ledger
                .iter()
                .map(|o| o.owner)
                .filter(|owner| opted_out(ledger, *owner, end))
                .collect();
            let by_signal = std::array::from_fn(|k| {
                ledger
                    .iter()
                    .filter(|o| month(o.from.at) == m && o.signal() == SIGNALS[k])
                    .count() as u64
            });
            (
                format!("{year:04}-{mon:02}"),
                (opted, withdrawn, owners.len() as u64, by_signal),
            )
        })
        .collect()
}

pub(crate) fn csv_rows(site: &sharelog::Site, name: &str) -> Vec<BTreeMap<String, String>> {
    let bytes = site.files.get(name).expect("download exists");
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let headers = reader.headers().expect("header").clone();
    reader
        .records()
        .map(|r| {
            let r = r.expect("row");
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

fn number(row: &BTreeMap<String, String>, column: &str) -> u64 {
    row[column]
        .parse()
        .unwrap_or_else(|_| panic!("{column}: {:?}", row[column]))
}

fn check_case(seed: u64, listing_format: &str, ledger_format: &str) {
    let case = generate(seed);
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    write_root(&case, &root, listing_format, ledger_format);
    let (site, _) = sharelog::render_site(&root)
        .unwrap_or_else(|e| panic!("seed {seed} ({listing_format}/{ledger_format}): {e}"));
    let context = format!(
        "seed {seed}, listing {listing_format}, ledger {ledger_format}, export at {}",
        case.exported_at.text
    );

    // shared-items: every cell and every count.
    let got: Cells = csv_rows(&site, "data/shared-items.csv")
        .iter()
        .map(|r| {
            let mut v = [0u64; 7];
            v[0] = number(r, "items");
            for (k, f) in FLAGS.iter().enumerate() {
                v[k + 1] = number(r, f);
            }
            v[6] = if case.ledger.is_empty() {
                assert_eq!(r["opted_out"], "", "{context}: no ledger, no opted_out");
                0
            } else {
                number(r, "opted_out")
            };
            ((r["category"].clone(), r["year"].parse().expect("year")), v)
        })
        .collect();
    let mut want = reference_cells(&case);
    if case.ledger.is_empty() {
        want.values_mut().for_each(|v| v[6] = 0);
    }
    assert_eq!(got, want, "{context}: shared-items");

    // findings about the export.
    let got: BTreeSet<_> = csv_rows(&site, "data/findings.csv")
        .iter()
        .filter(|r| r["export"] == "e")
        .map(|r| {
            (
                r["id"].clone(),
                r["flag"].clone(),
                r["severity"].clone(),
                number(r, "count"),
            )
        })
        .collect();
    assert_eq!(got, reference_findings(&case), "{context}: findings");

    // opt-outs-monthly from the ledger alone.
    type Monthly = BTreeMap<String, (u64, u64, u64, [u64; 6])>;
    let got: Monthly = csv_rows(&site, "data/opt-outs-monthly.csv")
        .iter()
        .map(|r| {
            let by_signal = std::array::from_fn(|k| {
                number(r, &format!("opted_out_{}", SIGNALS[k].replace('-', "_")))
            });
            (
                r["month"].clone(),
                (
                    number(r, "opted_out"),
                    number(r, "withdrawn"),
                    number(r, "active"),
                    by_signal,
                ),
            )
        })
        .collect();
    assert_eq!(
        got,
        reference_monthly(&case.ledger),
        "{context}: opt-outs-monthly"
    );

    // Opt-outs in force for the export's partner, and per scope at the report's date.
    if !case.ledger.is_empty() && !case.items.is_empty() {
        let owners: BTreeSet<u64> = case
            .ledger
            .iter()
            .map(|o| o.owner)
            .filter(|o| opted_out_for_p(&case, *o, case.exported_at.at))
            .collect();
        let exports = csv_rows(&site, "data/exports.csv");
        assert_eq!(
            number(&exports[0], "opt_outs_in_force"),
            owners.len() as u64,
            "{context}: opt_outs_in_force"
        );
    }
    // The end of the report's date (published 2022-12-31): its last microsecond.
    let now = utc(2023, 1, 1, 0) - Duration::microseconds(1);
    // The deletion expectation: items of p's listing whose owner is opted out for p now.
    if !case.ledger.is_empty() && !case.items.is_empty() {
        let want = case
            .items
            .iter()
            .filter(|i| opted_out_for_p(&case, i.owner, now))
            .count() as u64;
        let partners = csv_rows(&site, "data/partners.csv");
        assert_eq!(
            number(&partners[0], "items_opted_out_now"),
            want,
            "{context}: items_opted_out_now"
        );
    }
    let scopes: BTreeMap<(String, String), u64> = csv_rows(&site, "data/opt-out-scopes.csv")
        .iter()
        .map(|r| {
            (
                (r["scope"].clone(), r["partner"].clone()),
                number(r, "active"),
            )
        })
        .collect();
    for (scope, partner, key) in [
        ("all-third-parties", "", "all-third-parties"),
        ("ai-training", "", "ai-training"),
        ("partner", "p", "p"),
        ("partner", "q", "q"),
    ] {
        let want: BTreeSet<u64> = case
            .ledger
            .iter()
            .filter(|o| o.scope.unwrap_or("all-third-parties") == key && active(o, now))
            .map(|o| o.owner)
            .collect();
        let got = scopes.get(&(scope.to_owned(), partner.to_owned())).copied();
        let want = (!case.ledger.is_empty()).then_some(want.len() as u64);
        assert_eq!(got, want, "{context}: opt-out-scopes {key}");
    }
}

#[test]
fn polars_results_match_a_naive_reference_on_random_listings_and_ledgers() {
    let cases: u64 = std::env::var("SHARELOG_PROPERTY_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    for seed in 0..cases {
        let listing = FORMATS[(seed % 3) as usize];
        let ledger = FORMATS[((seed / 3) % 3) as usize];
        check_case(seed, listing, ledger);
    }
}

#[test]
fn every_format_pair_gives_the_same_result() {
    for listing in FORMATS {
        for ledger in FORMATS {
            check_case(1000, listing, ledger);
        }
    }
}
