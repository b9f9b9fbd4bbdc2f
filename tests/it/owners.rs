//! Distinct owners per export and per partner, and how many were opted out at the export
//! (issue 20, part 5): counted over part files, across exports and across owner id types, the
//! same with and without the cache, and protected like every other count.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::support::{build_exact, build_with_args, fixture_copy, read};

/// A small deterministic generator, so that a failure reproduces.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// One ledger row: owner, opted out at (day of 2023), withdrawn at (day), scope.
type LedgerRow = (u64, u32, Option<u32>, &'static str);

fn date(day: u32) -> String {
    let d = chrono::NaiveDate::from_yo_opt(2023, day).expect("day of 2023");
    d.format("%Y-%m-%d").to_string()
}

/// The owners of `partner` (trains AI or not) opted out at `day`, by the ledger's rules.
fn opted_at(ledger: &[LedgerRow], partner: &str, trains_ai: bool, day: u32) -> BTreeSet<u64> {
    ledger
        .iter()
        .filter(|(_, from, to, scope)| {
            *from <= day
                && to.is_none_or(|t| t > day)
                && (*scope == "all-third-parties"
                    || *scope == partner
                    || (*scope == "ai-training" && trains_ai))
        })
        .map(|(owner, ..)| *owner)
        .collect()
}

/// Writes a listing with an item of each of `owners` (ids written by `id`); a `.parquet` path
/// gets integer owner ids (`id` unused).
fn listing(path: &Path, owners: &[u64], id: impl Fn(u64) -> String, first_item: usize) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    if path.extension().is_some_and(|e| e == "parquet") {
        use polars::prelude::*;
        let n = owners.len();
        let mut df = df!(
            "item_id" => (first_item as i64..(first_item + n) as i64).collect::<Vec<_>>(),
            "owner_id" => owners.iter().map(|o| *o as i64).collect::<Vec<_>>(),
            "category" => vec!["text"; n],
            "created_at" => (0..n).map(|i| format!("2022-0{}-01", 1 + i % 9)).collect::<Vec<_>>(),
        )
        .expect("frame");
        ParquetWriter::new(std::fs::File::create(path).expect("create"))
            .finish(&mut df)
            .expect("parquet");
        return;
    }
    let mut text = String::from("item_id,owner_id,category,created_at\n");
    for (i, o) in owners.iter().enumerate() {
        text.push_str(&format!(
            "{},{},text,2022-0{}-01\n",
            first_item + i,
            id(*o),
            1 + i % 9
        ));
    }
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn column(csv: &str, key: &str, name: &str) -> String {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let at = header.iter().position(|h| *h == name).expect(name);
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|cells| cells[0] == key)
        .map(|cells| cells[at].to_owned())
        .expect(key)
}

#[test]
fn owners_are_counted_once_per_export_and_partner_and_opt_outs_at_the_export() {
    owners_counted(false);
}

/// The same with Parquet listings and ledger of integer owner ids: counted by sorting integers,
/// not by grouping, and it must give the same figures.
#[test]
fn owners_of_integer_ids_are_counted_alike() {
    owners_counted(true);
}

fn owners_counted(parquet: bool) {
    let ext = if parquet { "parquet" } else { "csv" };
    let (_dir, root) = fixture_copy("basic");
    let data = root.join("data");
    std::fs::remove_dir_all(data.join("exports")).expect("clear exports");
    std::fs::remove_file(data.join("opt-outs/monthly.csv")).expect("no monthly file");
    let mut rng = Rng(0x05ee_d0f0_e1e5);
    let mut pick = |n: usize| -> Vec<u64> { (0..n).map(|_| rng.below(60)).collect() };
    // alpha-1: two part files with integer owners; alpha-2: text owners, some of them the
    // digits of an integer owner of alpha-1 (the same owner); beta-1: integer owners.
    let (a1p0, a1p1, mut a2, b1) = (pick(90), pick(70), pick(80), pick(50));
    // One owner id that is no number makes alpha-2's column text: its digits still match.
    if !parquet {
        a2.push(60);
    }
    listing(
        &data.join(format!("exports/a1/part-0.{ext}")),
        &a1p0,
        |o| o.to_string(),
        0,
    );
    listing(
        &data.join(format!("exports/a1/part-1.{ext}")),
        &a1p1,
        |o| o.to_string(),
        1000,
    );
    let text_id = |o: u64| {
        if o == 60 {
            "u-60".to_owned()
        } else {
            o.to_string()
        }
    };
    listing(&data.join(format!("exports/a2.{ext}")), &a2, text_id, 2000);
    listing(
        &data.join(format!("exports/b1.{ext}")),
        &b1,
        |o| o.to_string(),
        3000,
    );
    let (a2_file, b1_file) = (format!("a2.{ext}"), format!("b1.{ext}"));
    let exports = [
        ("alpha-1", "alpha-ai", 60u32, "a1/"),
        ("alpha-2", "alpha-ai", 200, a2_file.as_str()),
        ("beta-1", "beta-research", 150, b1_file.as_str()),
    ];
    for (id, partner, day, items) in exports {
        std::fs::write(
            data.join(format!("exports/{id}.yaml")),
            format!(
                "id: {id}\npartner: {partner}\nexported_at: {}\nitems: {items}\n",
                date(day)
            ),
        )
        .expect("manifest");
    }
    // Opt-outs from every scope, before, between and after the exports, some withdrawn.
    let scopes = [
        "all-third-parties",
        "ai-training",
        "alpha-ai",
        "beta-research",
    ];
    let mut ledger: Vec<LedgerRow> = Vec::new();
    for owner in 0..60u64 {
        if rng.below(3) == 0 {
            continue;
        }
        let from = 1 + rng.below(300) as u32;
        let to = (rng.below(3) == 0).then(|| from + 1 + rng.below(50) as u32);
        ledger.push((owner, from, to, scopes[rng.below(4) as usize]));
    }
    let mut text = String::from("owner_id,opted_out_at,withdrawn_at,scope\n");
    for (owner, from, to, scope) in &ledger {
        text.push_str(&format!(
            "{owner},{},{},{scope}\n",
            date(*from),
            to.map(date).unwrap_or_default()
        ));
    }
    if parquet {
        use polars::prelude::*;
        let mut df = df!(
            "owner_id" => ledger.iter().map(|r| r.0 as i64).collect::<Vec<_>>(),
            "opted_out_at" => ledger.iter().map(|r| date(r.1)).collect::<Vec<_>>(),
            "withdrawn_at" => ledger.iter().map(|r| r.2.map(date)).collect::<Vec<_>>(),
            "scope" => ledger.iter().map(|r| r.3).collect::<Vec<_>>(),
        )
        .expect("ledger frame");
        ParquetWriter::new(
            std::fs::File::create(data.join("opt-outs/ledger.parquet")).expect("create"),
        )
        .finish(&mut df)
        .expect("parquet");
    } else {
        std::fs::write(data.join("opt-outs/ledger.csv"), text).expect("ledger");
    }

    // What a reader should see, worked out here from the rows written above.
    let set =
        |v: &[&[u64]]| -> BTreeSet<u64> { v.iter().flat_map(|x| x.iter().copied()).collect() };
    let a1: BTreeSet<u64> = set(&[&a1p0, &a1p1]);
    let a2: BTreeSet<u64> = set(&[&a2]);
    let b1: BTreeSet<u64> = set(&[&b1]);
    let opted = |owners: &BTreeSet<u64>, partner, trains_ai, day| -> BTreeSet<u64> {
        owners
            .intersection(&opted_at(&ledger, partner, trains_ai, day))
            .copied()
            .collect()
    };
    let (o1, o2, ob) = (
        opted(&a1, "alpha-ai", true, 60),
        opted(&a2, "alpha-ai", true, 200),
        opted(&b1, "beta-research", false, 150),
    );
    let want: BTreeMap<&str, (usize, usize)> = [
        ("alpha-1", (a1.len(), o1.len())),
        ("alpha-2", (a2.len(), o2.len())),
        ("beta-1", (b1.len(), ob.len())),
    ]
    .into();
    let alpha = (a1.union(&a2).count(), o1.union(&o2).count());
    let beta = (b1.len(), ob.len());
    assert!(
        alpha.0 < a1.len() + a2.len() && alpha.1 > 0,
        "the data has owners in both alpha exports and opted-out owners"
    );

    let (_d1, exact) = build_exact(&root);
    let cache = _d1.path().join("cache");
    let cache = cache.to_str().expect("utf-8");
    let exports_csv = read(&exact, "data/exports.csv");
    let partners_csv = read(&exact, "data/partners.csv");
    for (id, (owners, opted)) in &want {
        assert_eq!(
            column(&exports_csv, id, "owners"),
            owners.to_string(),
            "{id}"
        );
        assert_eq!(
            column(&exports_csv, id, "owners_opted_out"),
            opted.to_string(),
            "{id}"
        );
    }
    for (id, (owners, opted)) in [("alpha-ai", alpha), ("beta-research", beta)] {
        assert_eq!(
            column(&partners_csv, id, "owners"),
            owners.to_string(),
            "{id}"
        );
        assert_eq!(
            column(&partners_csv, id, "owners_opted_out"),
            opted.to_string(),
            "{id}"
        );
    }
    // The same numbers when they come from the cache (a second build reads every entry).
    for _ in 0..2 {
        let (_d, cached) = build_with_args(&root, &["--unsuppressed", "--cache", cache]);
        assert_eq!(read(&cached, "data/exports.csv"), exports_csv);
        assert_eq!(read(&cached, "data/partners.csv"), partners_csv);
    }
    // Published: a count from 1 to min_count − 1 (3 in this fixture) is never shown.
    let (_d2, site) = build_with_args(&root, &[]);
    let published = read(&site, "data/exports.csv");
    for (id, (_, opted)) in &want {
        let shown = column(&published, id, "owners_opted_out");
        if (1..3).contains(opted) {
            assert_eq!(shown, "", "{id}: {opted} is small");
        }
    }
}

/// A partner with a batch of declared counts only has owners nobody can count: its figure is
/// empty (not 0), while its listed batch's is given.
#[test]
fn a_partner_with_declared_counts_only_has_no_owner_figure() {
    let (_dir, root) = fixture_copy("basic");
    let (_d, site) = build_exact(&root);
    let exports = read(&site, "data/exports.csv");
    let partners = read(&site, "data/partners.csv");
    assert_eq!(column(&exports, "alpha-1", "owners"), "");
    assert_eq!(column(&partners, "alpha-ai", "owners"), "");
    // beta-1 has an item listing and no ledger: owners, but no opted-out figure.
    assert_ne!(column(&exports, "beta-1", "owners"), "");
    assert_eq!(column(&exports, "beta-1", "owners_opted_out"), "");
    assert_eq!(
        column(&partners, "beta-research", "owners"),
        column(&exports, "beta-1", "owners")
    );
}

/// A partner's owners are at most the sum of its batches' owners, and equal to it when the
/// batches share no owner: a reader could then subtract. A small (hidden) batch figure keeps
/// another figure of that sum hidden too.
#[test]
fn a_hidden_owner_count_cannot_be_worked_out_from_the_partner_total() {
    let (_dir, root) = fixture_copy("basic");
    let data = root.join("data");
    std::fs::remove_dir_all(data.join("exports")).expect("clear exports");
    // Two owners with four items each in one batch, fifty others in another: no owner in both.
    let small: Vec<u64> = (0..8).map(|i| i % 2).collect();
    let large: Vec<u64> = (100..150).collect();
    listing(&data.join("exports/s.csv"), &small, |o| o.to_string(), 0);
    listing(&data.join("exports/l.csv"), &large, |o| o.to_string(), 100);
    for (id, items) in [("small", "s.csv"), ("large", "l.csv")] {
        std::fs::write(
            data.join(format!("exports/{id}.yaml")),
            format!("id: {id}\npartner: alpha-ai\nexported_at: 2023-05-01\nitems: {items}\n"),
        )
        .expect("manifest");
    }
    let (_d, exact) = build_exact(&root);
    let exact_exports = read(&exact, "data/exports.csv");
    assert_eq!(column(&exact_exports, "small", "owners"), "2");
    assert_eq!(column(&exact_exports, "large", "owners"), "50");
    assert_eq!(
        column(&read(&exact, "data/partners.csv"), "alpha-ai", "owners"),
        "52"
    );
    let (_d2, site) = build_with_args(&root, &[]);
    let exports = read(&site, "data/exports.csv");
    let partners = read(&site, "data/partners.csv");
    assert_eq!(
        column(&exports, "small", "owners"),
        "",
        "2 is below min_count"
    );
    let shown = |v: String| !v.is_empty();
    assert!(
        !(shown(column(&exports, "large", "owners"))
            && shown(column(&partners, "alpha-ai", "owners"))),
        "50 and 52 would give the hidden 2 away:\n{exports}\n{partners}"
    );
}
