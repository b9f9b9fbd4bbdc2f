//! Regenerates the example report's synthetic data: the item listings under `data/exports/items/`,
//! the declared counts of `lumen-2024-02`, the opt-out ledger and the monthly opt-out table.
//!
//! `cargo run --example example_data` writes the same bytes every time: the numbers come from a
//! fixed-seed generator, not from any real platform. Each listing is written in the format its
//! manifest names (CSV, Parquet or NDJSON).
//!
//! The ledger uses every signal and all three kinds of scope, and `monthly.csv` has one row per
//! month and signal. Two discrepancies are planted on purpose, so that the example shows those findings: the
//! declared counts of `lumen-2024-02` miss 40 text posts of 2023 (declared-count-mismatch), and
//! `monthly.csv` counts 25 more opt-outs in 2023-11 than the ledger holds
//! (opt-out-statistics-mismatch).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use polars::prelude::*;

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

impl Rng {
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

struct Listing {
    file: &'static str,
    seed: u64,
    items: usize,
    first_year: i32,
    last_year: i32,
    /// Per-mille rates of private, deleted, suspended, explicit, minor.
    rates: [u64; 5],
}

const CATEGORIES: [(&str, u64); 5] = [
    ("text", 45),
    ("photo", 30),
    ("video", 10),
    ("audio", 5),
    ("ask", 10),
];

fn frame(l: &Listing) -> PolarsResult<DataFrame> {
    let mut rng = Rng(l.seed);
    let mut item_id = Vec::new();
    let mut owner_id = Vec::new();
    let mut category = Vec::new();
    let mut created_at = Vec::new();
    let mut flags: [Vec<bool>; 5] = Default::default();
    let years = (l.last_year - l.first_year + 1) as u64;
    for i in 0..l.items {
        item_id.push(format!("{}-{:06}", &l.file[..3], i + 1));
        owner_id.push(1000 + rng.below(l.items as u64 / 3) as i64);
        let mut pick = rng.below(100);
        let mut cat = CATEGORIES[0].0;
        for (c, weight) in CATEGORIES {
            if pick < weight {
                cat = c;
                break;
            }
            pick -= weight;
        }
        category.push(cat);
        // Later years hold more posts, as on a growing platform.
        let year = l.first_year + (years as f64 * (rng.below(1000) as f64 / 1000.0).sqrt()) as i32;
        let month = 1 + rng.below(12);
        let day = 1 + rng.below(28);
        // Mix bare dates, UTC datetimes and datetimes with offsets, as real exports do.
        created_at.push(match rng.below(3) {
            0 => format!("{year}-{month:02}-{day:02}"),
            1 => format!(
                "{year}-{month:02}-{day:02}T{:02}:{:02}:00Z",
                rng.below(24),
                rng.below(60)
            ),
            _ => format!(
                "{year}-{month:02}-{day:02}T{:02}:{:02}:00+02:00",
                rng.below(24),
                rng.below(60)
            ),
        });
        for (k, rate) in l.rates.iter().enumerate() {
            flags[k].push(rng.chance(*rate));
        }
    }
    let [private, deleted, suspended, explicit, minor] = flags;
    df!(
        "item_id" => item_id,
        "owner_id" => owner_id,
        "category" => category,
        "created_at" => created_at,
        "private" => private,
        "deleted" => deleted,
        "suspended" => suspended,
        "explicit" => explicit,
        "minor" => minor,
    )
}

/// Owners on the platform (ids 1000 up); the listings' owners are the first few hundred of them.
const OWNERS: u64 = 60_000;

/// The opt-out ledger: one row per opt-out, from the setting's launch in May 2023 to June 2024.
/// Returns the rows as (owner_id, opted_out_at, withdrawn_at) texts and the per-month counts.
/// One ledger row: owner_id, opted_out_at, withdrawn_at, signal, scope.
type LedgerRow = (i64, String, String, &'static str, &'static str);
/// Ledger rows and, per (month, signal), (opted out, withdrawn).
type Ledger = (Vec<LedgerRow>, BTreeMap<(String, &'static str), (u64, u64)>);

/// How people opted out, with per-mille weights.
const SIGNALS: [(&str, u64); 6] = [
    ("account-setting", 600),
    ("support-request", 80),
    ("robots-txt", 120),
    ("tdmrep", 50),
    ("gpc", 120),
    ("other", 30),
];

/// What the opt-outs cover, with per-mille weights: most object to every third party, many only
/// to AI training, a few to one company.
const SCOPES: [(&str, u64); 4] = [
    ("all-third-parties", 700),
    ("ai-training", 220),
    ("northwind-labs", 50),
    ("pellucid-ai", 30),
];

fn pick(rng: &mut Rng, weights: &[(&'static str, u64)]) -> &'static str {
    let mut n = rng.below(weights.iter().map(|w| w.1).sum());
    for (value, weight) in weights {
        if n < *weight {
            return value;
        }
        n -= weight;
    }
    weights[0].0
}

fn ledger(rng: &mut Rng) -> Ledger {
    use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};
    // New opt-outs per month: a rush when the setting launched, another when the second licence
    // deal was reported (2024-01/02).
    let per_month: [(i32, u32, u64); 14] = [
        (2023, 5, 1845),
        (2023, 6, 912),
        (2023, 7, 523),
        (2023, 8, 401),
        (2023, 9, 339),
        (2023, 10, 287),
        (2023, 11, 250),
        (2023, 12, 221),
        (2024, 1, 642),
        (2024, 2, 890),
        (2024, 3, 312),
        (2024, 4, 248),
        (2024, 5, 219),
        (2024, 6, 197),
    ];
    let end = Utc
        .with_ymd_and_hms(2024, 7, 1, 0, 0, 0)
        .single()
        .expect("valid");
    let plus2 = FixedOffset::east_opt(2 * 3600).expect("valid");
    let text = |t: DateTime<Utc>, style: u64| match style {
        0 => t.format("%Y-%m-%d").to_string(),
        1 => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        _ => t.with_timezone(&plus2).to_rfc3339(),
    };
    let month_of = |t: DateTime<Utc>| t.format("%Y-%m").to_string();
    let mut rows = Vec::new();
    let mut months: BTreeMap<(String, &'static str), (u64, u64)> = BTreeMap::new();
    let mut opted: std::collections::BTreeSet<i64> = Default::default();
    for (year, month, n) in per_month {
        let start = Utc
            .with_ymd_and_hms(year, month, 1, 0, 0, 0)
            .single()
            .expect("valid");
        for _ in 0..n {
            // An owner opts out once at a time: draw until one is not opted out already.
            let owner = loop {
                let o = 1000 + rng.below(OWNERS) as i64;
                if opted.insert(o) {
                    break o;
                }
            };
            let style = rng.below(3);
            let signal = pick(rng, &SIGNALS);
            let scope = pick(rng, &SCOPES);
            // Bare dates are midnight UTC; datetimes fall anywhere in the month.
            let at = if style == 0 {
                start + Duration::days(rng.below(28) as i64)
            } else {
                start + Duration::minutes(rng.below(28 * 24 * 60) as i64)
            };
            months.entry((month_of(at), signal)).or_default().0 += 1;
            // About one in twelve withdraws a few weeks later; some of them opt out again.
            let mut withdrawn = String::new();
            if rng.chance(85) {
                let back = at + Duration::hours(24 * 14 + rng.below(24 * 120) as i64);
                if back < end {
                    months.entry((month_of(back), signal)).or_default().1 += 1;
                    withdrawn = text(back, 1);
                    opted.remove(&owner);
                    if rng.chance(300) {
                        let again = back + Duration::hours(24 * 7 + rng.below(24 * 60) as i64);
                        if again < end {
                            months.entry((month_of(again), signal)).or_default().0 += 1;
                            opted.insert(owner);
                            rows.push((owner, text(again, 2), String::new(), signal, scope));
                        }
                    }
                }
            }
            rows.push((owner, text(at, style), withdrawn, signal, scope));
        }
    }
    rows.sort();
    (rows, months)
}

fn write_ledger(rng: &mut Rng) -> Result<(), Box<dyn std::error::Error>> {
    let (rows, months) = ledger(rng);
    let dir = Path::new("data/opt-outs");
    std::fs::create_dir_all(dir)?;
    let mut csv = String::from("owner_id,opted_out_at,withdrawn_at,signal,scope\n");
    for (owner, at, withdrawn, signal, scope) in &rows {
        // The defaults are left empty, as a platform's export would.
        let signal = if *signal == "account-setting" {
            ""
        } else {
            signal
        };
        let scope = if *scope == "all-third-parties" {
            ""
        } else {
            scope
        };
        csv.push_str(&format!("{owner},{at},{withdrawn},{signal},{scope}\n"));
    }
    std::fs::write(dir.join("ledger.csv"), csv)?;
    println!("wrote data/opt-outs/ledger.csv ({} opt-outs)", rows.len());
    let month_list: Vec<String> = months
        .keys()
        .map(|(m, _)| m.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut monthly = String::from("month,signal,opted_out,withdrawn,accounts\n");
    for (i, month) in month_list.iter().enumerate() {
        let accounts = 184_410 + 410 * i as u64;
        for (signal, _) in SIGNALS {
            let (opted_out, withdrawn) = months
                .get(&(month.clone(), signal))
                .copied()
                .unwrap_or((0, 0));
            // The planted discrepancy: the platform's own table counts 25 opt-outs too many here.
            let opted_out = if month == "2023-11" && signal == "account-setting" {
                opted_out + 25
            } else {
                opted_out
            };
            monthly.push_str(&format!(
                "{month},{signal},{opted_out},{withdrawn},{accounts}\n"
            ));
        }
    }
    std::fs::write(dir.join("monthly.csv"), monthly)?;
    println!(
        "wrote data/opt-outs/monthly.csv ({} months)",
        month_list.len()
    );
    write_protections(&month_list)
}

/// Accounts with each site-level protection on at month end: AI-crawler discouragement launched
/// with the opt-out in May 2023 and grew; search-indexing discouragement is older and steady.
fn write_protections(months: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let mut out = String::from("month,setting,accounts\n");
    let mut ai = 0u64;
    for (i, month) in months.iter().enumerate() {
        ai += if i == 0 {
            9_200
        } else {
            2_600 / (i as u64 + 1) + 310
        };
        out.push_str(&format!("{month},discourage-ai-crawlers,{ai}\n"));
        out.push_str(&format!(
            "{month},discourage-search-indexing,{}\n",
            21_450 + 37 * i as u64
        ));
    }
    std::fs::write("data/opt-outs/protections-monthly.csv", out)?;
    println!("wrote data/opt-outs/protections-monthly.csv");
    Ok(())
}

/// The declared counts of `lumen-2024-02`, computed from its listing the way a warehouse would,
/// with 40 text posts of 2023 missing.
fn write_lumen_counts(df: &DataFrame) -> Result<(), Box<dyn std::error::Error>> {
    let flags = ["private", "deleted", "suspended", "explicit", "minor"];
    let category = df.column("category")?.str()?;
    let created = df.column("created_at")?.str()?;
    let flag_columns = flags
        .iter()
        .map(|f| Ok(df.column(f)?.bool()?.clone()))
        .collect::<PolarsResult<Vec<_>>>()?;
    let mut cells: BTreeMap<(String, i32), [u64; 6]> = BTreeMap::new();
    for i in 0..df.height() {
        let year = created
            .get(i)
            .and_then(sharelog::time::utc_year)
            .ok_or("unreadable created_at")?;
        let cell = cells
            .entry((category.get(i).unwrap_or_default().to_owned(), year))
            .or_default();
        cell[0] += 1;
        for (k, f) in flag_columns.iter().enumerate() {
            cell[k + 1] += u64::from(f.get(i).unwrap_or(false));
        }
    }
    let mut out = String::from("category,year,items,private,deleted,suspended,explicit,minor\n");
    for ((category, year), mut n) in cells {
        if category == "text" && year == 2023 {
            n[0] -= 40;
        }
        let n: Vec<String> = n.iter().map(u64::to_string).collect();
        out.push_str(&format!("{category},{year},{}\n", n.join(",")));
    }
    let path = Path::new("data/exports/counts/lumen-2024-02.csv");
    std::fs::write(path, out)?;
    println!("wrote {}", path.display());
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listings = [
        Listing {
            file: "pellucid-2023-01.csv",
            seed: 11,
            items: 2400,
            first_year: 2014,
            last_year: 2022,
            rates: [40, 25, 10, 30, 5],
        },
        Listing {
            file: "pellucid-2024-01.parquet",
            seed: 23,
            items: 1800,
            first_year: 2016,
            last_year: 2023,
            rates: [0, 0, 0, 20, 0],
        },
        Listing {
            file: "lumen-2024-02.ndjson",
            seed: 37,
            items: 1500,
            first_year: 2018,
            last_year: 2023,
            rates: [0, 15, 5, 0, 0],
        },
    ];
    let dir = Path::new("data/exports/items");
    std::fs::create_dir_all(dir)?;
    for l in &listings {
        let mut df = frame(l)?;
        let path = dir.join(l.file);
        let file = File::create(&path)?;
        match path.extension().and_then(|e| e.to_str()) {
            Some("csv") => CsvWriter::new(file).finish(&mut df)?,
            Some("parquet") => {
                ParquetWriter::new(file).finish(&mut df)?;
            }
            _ => JsonWriter::new(file)
                .with_json_format(JsonFormat::JsonLines)
                .finish(&mut df)?,
        }
        println!("wrote {} ({} items)", path.display(), l.items);
        if l.file.starts_with("lumen") {
            write_lumen_counts(&df)?;
        }
    }
    write_ledger(&mut Rng(4242))?;
    Ok(())
}
