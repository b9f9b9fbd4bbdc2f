//! Receipts (issue 22): every owner's receipt verifies against the site's commitments, receipts
//! add up to the published totals, any change to a receipt makes it fail, nothing of a receipt
//! reaches the site, and builds with one key are byte-identical while another key changes every
//! root.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use sharelog::receipts::verify::{Outcome, check};
use sharelog::receipts::{Commitments, Receipt, receipt};

use crate::support::{contents, example_copy, fixture_copy, sharelog};

/// `sharelog verify FILE --site SITE`.
fn verify_cli(file: &Path, site: &Path) -> std::process::Output {
    sharelog(&[
        "verify",
        file.to_str().expect("utf-8"),
        "--site",
        site.to_str().expect("utf-8"),
    ])
}

/// Writes a key file of `byte` repeated.
fn key(dir: &Path, name: &str, byte: u8) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, [byte; 32]).expect("key");
    path
}

/// The arguments of `sharelog build` with receipts.
fn build_args(root: &Path, out: &Path, receipts: &Path, key: &Path, extra: &[&str]) -> Vec<String> {
    let s = |p: &Path| p.to_str().expect("utf-8").to_owned();
    let mut args = vec![
        "build".to_owned(),
        "-q".into(),
        "--no-cache".into(),
        "--root".into(),
        s(root),
        "--out".into(),
        s(out),
        "--receipt-key".into(),
        s(key),
        "--receipts".into(),
        s(receipts),
    ];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    args
}

/// `sharelog build` with receipts; panics unless it succeeds.
fn build(root: &Path, out: &Path, receipts: &Path, key: &Path, extra: &[&str]) {
    let args = build_args(root, out, receipts, key, extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = sharelog(&args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

fn commitments(site: &Path) -> Commitments {
    serde_json::from_slice(&std::fs::read(site.join("data/commitments.json")).expect("read"))
        .expect("commitments.json parses")
}

/// The published exact totals of `data/exports.json`: (export, column, value).
fn published(site: &Path) -> Vec<(String, String, u64)> {
    let rows: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_slice(&std::fs::read(site.join("data/exports.json")).expect("read"))
            .expect("exports.json");
    let mut out = Vec::new();
    for row in rows {
        for name in ["items", "owners", "owners_opted_out"] {
            if let Some(n) = row.get(name).and_then(serde_json::Value::as_u64) {
                out.push((
                    row["export"].as_str().expect("id").to_owned(),
                    name.to_owned(),
                    n,
                ));
            }
        }
    }
    out
}

/// Every owner with a receipt, from the folder's shards.
fn owners(receipts: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(receipts.join("owners")).expect("owners folder") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("shard");
        for line in text.lines() {
            let (owner, _) = line.split_once('\t').expect("a tab-separated line");
            let owner: String = serde_json::from_str(owner).expect("the owner, a JSON string");
            out.insert(owner);
        }
    }
    out
}

/// Every receipt verifies, and per committed batch the receipts' records add up to its totals,
/// which are the published ones. Returns the receipts.
fn all_verify(site: &Path, receipts: &Path) -> Vec<Receipt> {
    let c = commitments(site);
    let shown = published(site);
    let mut sums: BTreeMap<(String, &str), u64> = BTreeMap::new();
    let mut all = Vec::new();
    for owner in owners(receipts) {
        let r = receipt(receipts, &owner)
            .expect("receipt reads")
            .expect("an owner in the shards has a receipt");
        match check(&r, &c, Some(&shown)) {
            Outcome::Verified { checked, unchecked } => {
                assert_eq!(checked.len() + unchecked.len(), r.exports.len());
                assert_eq!(
                    checked.len(),
                    r.exports.iter().filter(|e| e.committed).count()
                );
            }
            // Only an owner whose batches all have no tree has nothing to check.
            Outcome::Unchecked(lines) => {
                assert_eq!(lines.len(), r.exports.len());
                assert!(r.exports.iter().all(|e| !e.committed), "{owner}");
            }
            Outcome::Failed(why) => panic!("the receipt of {owner} fails: {why:?}"),
        }
        for e in r.exports.iter().filter(|e| e.committed) {
            *sums.entry((e.export.clone(), "items")).or_default() += e.record.items;
            *sums.entry((e.export.clone(), "owners")).or_default() += 1;
            *sums
                .entry((e.export.clone(), "owners_opted_out"))
                .or_default() += u64::from(e.record.opted_out_at_export == Some(true));
        }
        all.push(r);
    }
    let committed: Vec<_> = c.exports.iter().filter(|e| e.committed).collect();
    assert!(!committed.is_empty(), "some batch is committed to");
    for e in committed {
        for (name, total) in &e.totals {
            assert_eq!(
                sums.get(&(e.export.clone(), name.as_str())),
                Some(total),
                "{} {name}",
                e.export
            );
            let published = shown
                .iter()
                .find(|(x, n, _)| *x == e.export && n == name)
                .map(|r| r.2);
            assert_eq!(published, Some(*total), "{} {name} is published", e.export);
        }
        assert_eq!(e.tree_size, e.totals.get("owners").copied());
    }
    all
}

#[test]
fn every_receipt_of_the_example_verifies_and_adds_up_to_the_published_totals() {
    let (dir, root) = example_copy();
    let (site, receipts) = (dir.path().join("site"), dir.path().join("receipts"));
    let k = key(dir.path(), "key", 7);
    build(&root, &site, &receipts, &k, &[]);
    let all = all_verify(&site, &receipts);
    assert!(all.len() > 500, "{} receipts", all.len());
    // Declared-counts batches have no tree, and say why.
    let c = commitments(&site);
    assert!(
        c.exports
            .iter()
            .any(|e| !e.committed && e.reason.as_deref() == Some("no-listing"))
    );
    // The command line agrees, for one owner: `receipt` prints it, `verify` passes it.
    let owner = &all[0].owner;
    let printed = sharelog(&[
        "receipt",
        "--receipts",
        receipts.to_str().expect("utf-8"),
        "--owner",
        owner,
    ]);
    assert!(printed.status.success());
    let file = dir.path().join("receipt.json");
    std::fs::write(&file, &printed.stdout).expect("write");
    let verified = sharelog(&[
        "verify",
        file.to_str().expect("utf-8"),
        "--site",
        site.to_str().expect("utf-8"),
    ]);
    let text = String::from_utf8_lossy(&verified.stdout);
    assert_eq!(verified.status.code(), Some(0), "{text}");
    assert!(
        text.contains("were in export") || text.contains("was in export"),
        "{text}"
    );
    // An owner nobody's batch held: exit 1, nothing printed.
    let none = sharelog(&[
        "receipt",
        "--receipts",
        receipts.to_str().expect("utf-8"),
        "--owner",
        "no-such-owner",
    ]);
    assert_eq!(none.status.code(), Some(1));
    assert!(none.stdout.is_empty());
    // The data page explains the commitments; the verify page embeds them.
    let data = std::fs::read_to_string(site.join("data/index.html")).expect("data page");
    assert!(data.contains("id=\"commitments\""));
    let page = std::fs::read_to_string(site.join("verify/index.html")).expect("verify page");
    for e in c.exports.iter().filter_map(|e| e.root.as_ref()) {
        assert!(page.contains(e.as_str()));
    }
}

/// Every change to a receipt's numbers, ids, salt, index or siblings makes it fail.
#[test]
fn a_changed_receipt_fails() {
    let (dir, root) = example_copy();
    let (site, receipts) = (dir.path().join("site"), dir.path().join("receipts"));
    let k = key(dir.path(), "key", 9);
    build(&root, &site, &receipts, &k, &[]);
    let c = commitments(&site);
    let shown = published(&site);
    // An owner with a committed entry of two cells at least and a path of two siblings.
    let r = owners(&receipts)
        .into_iter()
        .filter_map(|o| receipt(&receipts, &o).expect("reads"))
        .find(|r| {
            r.exports
                .iter()
                .any(|e| e.committed && e.record.cells.len() > 1 && e.path.len() > 1)
        })
        .expect("such an owner");
    assert!(matches!(
        check(&r, &c, Some(&shown)),
        Outcome::Verified { .. }
    ));
    let at = r
        .exports
        .iter()
        .position(|e| e.committed && e.record.cells.len() > 1)
        .expect("entry");
    type Change = Box<dyn Fn(&mut Receipt)>;
    let changes: Vec<(&str, Change)> = vec![
        ("items", Box::new(move |r| r.exports[at].record.items += 1)),
        (
            "a cell's items",
            Box::new(move |r| {
                r.exports[at].record.cells[0].items += 1;
                r.exports[at].record.items += 1;
            }),
        ),
        (
            "two cells' items traded",
            Box::new(move |r| {
                let cells = &mut r.exports[at].record.cells;
                let (a, b) = (cells[0].items, cells[1].items);
                if a == b {
                    cells[0].items += 1;
                    cells[1].items -= 1;
                } else {
                    cells[0].items = b;
                    cells[1].items = a;
                }
            }),
        ),
        (
            "a flag",
            Box::new(move |r| {
                let cell = &mut r.exports[at].record.cells[0];
                cell.private = if cell.private == 0 { 1 } else { 0 };
            }),
        ),
        (
            "a year",
            Box::new(move |r| r.exports[at].record.cells[0].year -= 1),
        ),
        (
            "a category",
            Box::new(move |r| r.exports[at].record.cells[0].category.push('x')),
        ),
        (
            "opted out at the export",
            Box::new(move |r| {
                let o = &mut r.exports[at].record.opted_out_at_export;
                *o = o.map(|b| !b);
            }),
        ),
        (
            "opted out now",
            Box::new(move |r| {
                let o = &mut r.exports[at].record.opted_out_now;
                *o = o.map(|b| !b);
            }),
        ),
        (
            "the owner",
            Box::new(|r| {
                r.owner.push('0');
                for e in &mut r.exports {
                    e.record.owner.push('0');
                }
            }),
        ),
        (
            "the salt",
            Box::new(move |r| {
                let s = &mut r.exports[at].record.salt;
                let first = if s.starts_with('0') { "1" } else { "0" };
                s.replace_range(0..1, first);
            }),
        ),
        (
            "the batch",
            Box::new(move |r| r.exports[at].record.export.push('x')),
        ),
        (
            "a sibling's hash",
            Box::new(move |r| {
                let h = &mut r.exports[at].path[0].hash;
                let last = if h.ends_with('0') { "1" } else { "0" };
                h.replace_range(63..64, last);
            }),
        ),
        (
            "a sibling's sum",
            Box::new(move |r| r.exports[at].path[0].sums[0] += 1),
        ),
        (
            "a sibling's sums traded with a total",
            Box::new(move |r| {
                let p = &mut r.exports[at].path;
                let n = p.len() - 1;
                p[n].sums[0] += 1;
                p[0].sums[0] = p[0].sums[0].saturating_sub(1);
            }),
        ),
        (
            "the top sibling's owners",
            Box::new(move |r| {
                let p = &mut r.exports[at].path;
                let n = p.len() - 1;
                p[n].sums[1] += 1;
            }),
        ),
        (
            "siblings swapped",
            Box::new(move |r| r.exports[at].path.swap(0, 1)),
        ),
        (
            "a sibling dropped",
            Box::new(move |r| {
                r.exports[at].path.remove(0);
            }),
        ),
        (
            "the leaf index",
            Box::new(move |r| {
                let e = &mut r.exports[at];
                e.leaf_index = e.leaf_index.map(|i| if i == 0 { 1 } else { i - 1 });
            }),
        ),
        (
            "the tree size",
            Box::new(move |r| r.exports[at].tree_size = r.exports[at].tree_size.map(|n| n + 1)),
        ),
        (
            "not committed",
            Box::new(move |r| {
                let e = &mut r.exports[at];
                e.committed = false;
                e.path.clear();
                e.leaf_index = None;
            }),
        ),
        (
            "the report's date",
            Box::new(|r| r.report.published = "2024-10-01".to_owned()),
        ),
    ];
    let cli_dir = dir.path().join("changed");
    std::fs::create_dir_all(&cli_dir).expect("mkdir");
    for (i, (what, change)) in changes.iter().enumerate() {
        let mut changed = r.clone();
        change(&mut changed);
        assert_ne!(changed, r, "{what} changes nothing");
        assert!(
            matches!(check(&changed, &c, Some(&shown)), Outcome::Failed(_)),
            "a receipt with {what} changed still verifies"
        );
        // And on the command line: exit 1.
        let file = cli_dir.join(format!("{i}.json"));
        std::fs::write(&file, serde_json::to_vec(&changed).expect("json")).expect("write");
        let run = sharelog(&[
            "verify",
            file.to_str().expect("utf-8"),
            "--site",
            site.to_str().expect("utf-8"),
        ]);
        assert_eq!(run.status.code(), Some(1), "{what}");
    }
    // A site whose commitments were changed: its totals no longer match the exports table.
    let mut tampered = c.clone();
    if let Some(e) = tampered.exports.iter_mut().find(|e| e.committed)
        && let Some(n) = e.totals.get_mut("items")
    {
        *n += 1;
    }
    assert!(matches!(
        check(&r, &tampered, Some(&shown)),
        Outcome::Failed(_)
    ));
}

/// Writes a listing of text owner ids (distinctive, so that a search of the site finds any) and
/// integer ones, as two part files, with a ledger; `small` adds a batch of 2 owners, below
/// `min_count`.
fn generated_root(dir: &Path) -> PathBuf {
    let (tmp, root) = fixture_copy("basic");
    let root_here = dir.join("root");
    crate::support::copy_tree(&root, &root_here);
    drop(tmp);
    let data = root_here.join("data");
    std::fs::remove_dir_all(data.join("exports")).expect("clear exports");
    std::fs::remove_file(data.join("opt-outs/monthly.csv")).expect("no monthly file");
    std::fs::create_dir_all(data.join("exports/a1")).expect("mkdir");
    let id = |o: u32| {
        if o.is_multiple_of(3) {
            (5_000_000 + o).to_string()
        } else {
            format!("acct-{o:04}-qz")
        }
    };
    let mut seed = 0x2545_f491_u64;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let categories = ["text", "photo"];
    for part in 0..2 {
        let mut text = String::from("item_id,owner_id,category,created_at,private,explicit\n");
        for i in 0..400u64 {
            let owner = next(90) as u32;
            text.push_str(&format!(
                "{},{},{},20{}-03-0{}T10:00:00Z,{},{}\n",
                part * 1000 + i,
                id(owner),
                categories[next(2) as usize],
                18 + next(5),
                1 + next(8),
                next(5) == 0,
                next(7) == 0
            ));
        }
        std::fs::write(data.join(format!("exports/a1/part-{part}.csv")), text).expect("part");
    }
    let mut small = String::from("item_id,owner_id,category,created_at\n");
    for i in 0..4 {
        small.push_str(&format!("{},{},text,2021-05-01\n", 9000 + i, id(1 + i % 2)));
    }
    std::fs::write(data.join("exports/small.csv"), small).expect("small");
    std::fs::write(
        data.join("exports/empty.csv"),
        "item_id,owner_id,category,created_at\n",
    )
    .expect("empty");
    for (name, partner, at, items) in [
        ("alpha-1", "alpha-ai", "2023-04-01", "a1/"),
        ("alpha-2", "alpha-ai", "2023-09-01", "small.csv"),
        ("alpha-3", "alpha-ai", "2023-10-01", "empty.csv"),
    ] {
        std::fs::write(
            data.join(format!("exports/{name}.yaml")),
            format!("id: {name}\npartner: {partner}\nexported_at: {at}\nitems: {items}\n"),
        )
        .expect("manifest");
    }
    let mut ledger = String::from("owner_id,opted_out_at,withdrawn_at,scope\n");
    for o in 0..90u32 {
        match o % 5 {
            0 => ledger.push_str(&format!("{},2023-02-01,,all-third-parties\n", id(o))),
            1 => ledger.push_str(&format!("{},2023-06-01,,alpha-ai\n", id(o))),
            2 if o.is_multiple_of(2) => {
                ledger.push_str(&format!("{},2023-01-01,2023-05-01,ai-training\n", id(o)))
            }
            _ => {}
        }
    }
    std::fs::write(data.join("opt-outs/ledger.csv"), ledger).expect("ledger");
    root_here
}

/// Nothing of any receipt reaches the site: no owner id, salt, leaf or sibling hash, record;
/// a batch below `min_count` has no tree.
#[test]
fn no_receipt_content_reaches_the_site() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = generated_root(dir.path());
    let (site, receipts) = (dir.path().join("site"), dir.path().join("receipts"));
    let k = key(dir.path(), "key", 3);
    build(&root, &site, &receipts, &k, &[]);
    let all = all_verify(&site, &receipts);
    let c = commitments(&site);
    let batch = |id: &str| c.exports.iter().find(|e| e.export == id).expect(id);
    let small = batch("alpha-2");
    assert!(!small.committed);
    assert_eq!(small.reason.as_deref(), Some("hidden"));
    // A listing without items: no owner, no tree.
    let empty = batch("alpha-3");
    assert!(!empty.committed);
    assert_eq!(empty.reason.as_deref(), Some("empty"));
    // Opt-outs at the export and now both occur.
    let records: Vec<_> = all
        .iter()
        .flat_map(|r| &r.exports)
        .map(|e| &e.record)
        .collect();
    assert!(records.iter().any(|r| r.opted_out_at_export == Some(true)));
    assert!(records.iter().any(|r| r.opted_out_at_export == Some(false)));
    assert!(
        records
            .iter()
            .any(|r| r.opted_out_now == Some(true) && r.opted_out_at_export == Some(false))
    );
    let mut secrets: BTreeSet<String> = BTreeSet::new();
    for r in &all {
        if r.owner.starts_with("acct-") {
            secrets.insert(r.owner.clone());
        }
        for e in &r.exports {
            secrets.insert(e.record.salt.clone());
            secrets.insert(String::from_utf8(e.record.canonical().expect("json")).expect("utf-8"));
            for p in &e.path {
                secrets.insert(p.hash.clone());
            }
        }
    }
    assert!(secrets.iter().any(|s| s.starts_with("acct-")));
    for (path, bytes) in contents(&site) {
        let text = String::from_utf8_lossy(&bytes);
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "{path} holds {s}");
        }
    }
    // An auditor's build commits to the small batch too: nothing is hidden.
    let (site2, receipts2) = (dir.path().join("site2"), dir.path().join("receipts2"));
    build(&root, &site2, &receipts2, &k, &["--unsuppressed"]);
    assert!(
        commitments(&site2)
            .exports
            .iter()
            .all(|e| e.committed || e.reason.as_deref() == Some("empty"))
    );
    all_verify(&site2, &receipts2);
}

/// Two builds with one key give the same commitments and receipts, byte for byte; another key
/// gives other roots. A bad key, a receipts folder in the site, or a folder that is not a
/// receipts folder is refused, and a failed build leaves the receipts as they were.
#[test]
fn one_key_is_deterministic_another_changes_every_root_and_bad_setups_are_refused() {
    let (dir, root) = example_copy();
    let d = dir.path();
    let (k1, k2) = (key(d, "k1", 1), key(d, "k2", 2));
    build(&root, &d.join("s1"), &d.join("r1"), &k1, &[]);
    build(&root, &d.join("s2"), &d.join("r2"), &k1, &[]);
    build(&root, &d.join("s3"), &d.join("r3"), &k2, &[]);
    assert_eq!(contents(&d.join("s1")), contents(&d.join("s2")));
    assert_eq!(contents(&d.join("r1")), contents(&d.join("r2")));
    let (c1, c3) = (commitments(&d.join("s1")), commitments(&d.join("s3")));
    for (a, b) in c1.exports.iter().zip(&c3.exports) {
        assert_eq!(a.totals, b.totals);
        if a.committed {
            assert_ne!(a.root, b.root, "{}", a.export);
        }
    }
    let s = |p: PathBuf| p.to_str().expect("utf-8").to_owned();
    let run = |args: &[String]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        sharelog(&args)
    };
    let base = |out: &str, receipts: PathBuf, key: PathBuf| {
        vec![
            "build".to_owned(),
            "-q".into(),
            "--no-cache".into(),
            "--root".into(),
            s(root.clone()),
            "--out".into(),
            s(d.join(out)),
            "--receipt-key".into(),
            s(key),
            "--receipts".into(),
            s(receipts),
        ]
    };
    // --receipts without a key: a usage error.
    let no_key = sharelog(&[
        "build",
        "--root",
        &s(root.clone()),
        "--out",
        &s(d.join("x")),
        "--receipts",
        &s(d.join("r9")),
    ]);
    assert_eq!(no_key.status.code(), Some(2));
    // A key too short.
    std::fs::write(d.join("short"), b"0123456789").expect("short key");
    let short = run(&base("s4", d.join("r4"), d.join("short")));
    assert_eq!(short.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&short.stderr).contains("needs at least 16"));
    // Receipts inside the site.
    let inside = run(&base("s1", d.join("s1/receipts"), k1.clone()));
    assert_eq!(inside.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&inside.stderr).contains("--receipts is inside --out"));
    // A folder of other files.
    std::fs::create_dir_all(d.join("mine")).expect("mkdir");
    std::fs::write(d.join("mine/notes.txt"), "mine").expect("write");
    let foreign = run(&base("s5", d.join("mine"), k1.clone()));
    assert_eq!(foreign.status.code(), Some(1));
    assert!(d.join("mine/notes.txt").exists());
    // A build that fails keeps the receipts and the site as they were.
    let before = contents(&d.join("r1"));
    std::fs::write(root.join("report.yaml"), "title: [broken").expect("break");
    let failed = run(&base("s1", d.join("r1"), k1.clone()));
    assert_eq!(failed.status.code(), Some(1));
    assert_eq!(contents(&d.join("r1")), before);
    assert!(
        std::fs::read_dir(d).expect("list").all(|e| !e
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .contains(".receipts-")),
        "no staging folder or lock is left behind"
    );
}

/// Runs sharelog with a time limit: a command that would block on a pipe fails the test
/// instead of hanging it.
fn sharelog_within(args: &[&str], secs: u64) -> std::process::Output {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sharelog"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    let start = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed().as_secs() > secs {
            let _ = child.kill();
            panic!("sharelog {args:?} did not finish in {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

/// What an attacker or a careless platform can hand to `verify` and `receipt`, and what the
/// verifier makes of it: a receipt of unchecked batches proves nothing, and says so; the
/// receipt file is read strictly (as the page reads it); nothing blocks, nothing reaches the
/// terminal as a control sequence; a damaged receipts folder hands out nothing; a receipts
/// folder with someone else's files is not replaced; the folder is private.
#[test]
fn hostile_receipts_sites_and_folders() {
    let (dir, root) = example_copy();
    let d = dir.path();
    let (site, receipts) = (d.join("site"), d.join("receipts"));
    let k = key(d, "key", 5);
    build(&root, &site, &receipts, &k, &[]);
    let c = commitments(&site);
    let shown = published(&site);
    let good = owners(&receipts)
        .into_iter()
        .filter_map(|o| receipt(&receipts, &o).expect("reads"))
        .find(|r| r.exports.iter().any(|e| e.committed && e.path.len() > 1))
        .expect("an owner with a path");
    let write = |name: &str, bytes: &[u8]| {
        let p = d.join(name);
        std::fs::write(&p, bytes).expect("write");
        p
    };
    let good_text = serde_json::to_string_pretty(&good).expect("json");
    let ok = verify_cli(&write("good.json", good_text.as_bytes()), &site);
    let out = String::from_utf8_lossy(&ok.stdout).into_owned();
    assert_eq!(ok.status.code(), Some(0), "{out}");
    // The opt-out state names the report's date, and says once when there is no ledger.
    assert!(
        out.contains(&format!("on {} (the report's date)", c.report.published))
            || out.matches("not known").count() == good.exports.len(),
        "{out}"
    );

    // 1. Only batches without a tree: nothing was checked, exit 1, never "verified". The
    //    example's batches without a tree have declared counts only, which hold no owner's
    //    records: an entry for one is a forgery. A copy of the site whose batch is "hidden"
    //    instead (as a batch below min_count is) gives the honest case.
    let bare = c
        .exports
        .iter()
        .find(|e| !e.committed)
        .expect("a batch without a tree");
    assert_eq!(bare.reason.as_deref(), Some("no-listing"));
    let mut forged = good.clone();
    let mut entry = forged.exports[0].clone();
    entry.export = bare.export.clone();
    entry.committed = false;
    entry.leaf_index = None;
    entry.tree_size = None;
    entry.sums.clear();
    entry.path.clear();
    entry.record.export = bare.export.clone();
    entry.record.partner = bare.partner.clone();
    entry.record.exported_at = bare.exported_at.clone();
    forged.exports = vec![entry.clone()];
    assert!(matches!(
        check(&forged, &c, Some(&shown)),
        Outcome::Failed(_)
    ));
    let mut with_bare = good.clone();
    with_bare.exports.push(entry.clone());
    assert!(matches!(
        check(&with_bare, &c, Some(&shown)),
        Outcome::Failed(_)
    ));
    let hidden_site = d.join("hidden-site");
    crate::support::copy_tree(&site, &hidden_site);
    let mut c = c.clone();
    for e in c.exports.iter_mut().filter(|e| e.export == bare.export) {
        e.reason = Some("hidden".to_owned());
    }
    std::fs::write(
        hidden_site.join("data/commitments.json"),
        serde_json::to_vec(&c).expect("json"),
    )
    .expect("write");
    assert!(matches!(
        check(&forged, &c, Some(&shown)),
        Outcome::Unchecked(_)
    ));
    let run = verify_cli(
        &write(
            "unchecked.json",
            &serde_json::to_vec(&forged).expect("json"),
        ),
        &hidden_site,
    );
    let text = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "{text}");
    assert!(text.starts_with("nothing checked"), "{text}");
    // Tree fields on an entry without a tree: not a receipt sharelog writes.
    let mut sized = forged.clone();
    sized.exports[0].tree_size = Some(u64::MAX);
    assert!(matches!(
        check(&sized, &c, Some(&shown)),
        Outcome::Failed(_)
    ));
    // Beside checked batches it verifies, and its line is apart and says it was not checked.
    let mut mixed = good.clone();
    mixed.exports.push(entry);
    match check(&mixed, &c, Some(&shown)) {
        Outcome::Verified { checked, unchecked } => {
            assert_eq!(checked.len(), good.exports.len());
            assert!(unchecked.len() == 1 && unchecked[0].contains("Not checked"));
        }
        other => panic!("{other:?}"),
    }

    // 2. The file is read as strictly as the page reads it.
    let owner = serde_json::to_string(&good.owner).expect("json");
    let items = format!("\"items\": {}", good.exports[0].record.items);
    let hash = &good
        .exports
        .iter()
        .find(|e| !e.path.is_empty())
        .expect("a path")
        .path[0]
        .hash;
    let salt = &good.exports[0].record.salt;
    let variants: Vec<(&str, String, i32)> = vec![
        ("a byte order mark", format!("\u{feff}{good_text}"), 0),
        (
            "a count written 2.0",
            good_text.replacen(&items, &format!("{items}.0"), 1),
            1,
        ),
        (
            "a count written with an exponent",
            good_text.replacen(&items, &format!("{items}e0"), 1),
            1,
        ),
        (
            "a duplicate key",
            good_text.replacen(
                &format!("\"owner\": {owner}"),
                &format!("\"owner\": {owner},\n  \"owner\": {owner}"),
                1,
            ),
            1,
        ),
        (
            "an extra field",
            good_text.replacen("{", "{\n  \"note\": \"x\",", 1),
            1,
        ),
        (
            "an uppercase sibling hash",
            good_text.replacen(hash.as_str(), &hash.to_uppercase(), 1),
            1,
        ),
        (
            "an uppercase salt",
            good_text.replacen(salt.as_str(), &salt.to_uppercase(), 1),
            1,
        ),
        (
            "no opted_out_now",
            {
                let mut v: serde_json::Value = serde_json::from_str(&good_text).expect("json");
                v["exports"][0]["record"]
                    .as_object_mut()
                    .expect("record")
                    .remove("opted_out_now");
                serde_json::to_string(&v).expect("json")
            },
            1,
        ),
        (
            "a count above 2^53 - 1",
            good_text.replacen(&items, "\"items\": 9007199254740993", 1),
            1,
        ),
    ];
    for (i, (what, text, code)) in variants.iter().enumerate() {
        assert_ne!(*text, good_text, "{what} changes nothing");
        let run = verify_cli(&write(&format!("v{i}.json"), text.as_bytes()), &site);
        assert_eq!(
            run.status.code(),
            Some(*code),
            "{what}: {}",
            String::from_utf8_lossy(&run.stdout)
        );
    }

    // 3. Receipt text never reaches the terminal as control sequences.
    let mut evil = good.clone();
    evil.report.title = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{202e}".to_owned();
    evil.exports[0].export = "\u{1b}[31mred".to_owned();
    let run = verify_cli(
        &write("evil.json", &serde_json::to_vec(&evil).expect("json")),
        &site,
    );
    assert_eq!(run.status.code(), Some(1));
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(text.contains("\\u{1b}"), "{text}");
    assert!(
        !text
            .chars()
            .any(|ch| (ch.is_control() && ch != '\n') || ch == '\u{202e}'),
        "{text:?}"
    );

    // 4. Pipes, devices and folders are refused without blocking; a missing site is an I/O
    //    error; an unreadable exports table fails instead of skipping the comparison.
    let site_arg = site.to_str().expect("utf-8");
    #[cfg(unix)]
    {
        let fifo = d.join("fifo.json");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        let run = sharelog_within(
            &["verify", fifo.to_str().expect("utf-8"), "--site", site_arg],
            30,
        );
        assert_eq!(run.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&run.stderr).contains("not a regular file"));
        let run = sharelog_within(&["verify", "/dev/zero", "--site", site_arg], 30);
        assert_eq!(run.status.code(), Some(1));
    }
    let good_file = d.join("good.json");
    let run = verify_cli(&good_file, &d.join("no-such-site"));
    assert_eq!(run.status.code(), Some(3));
    let broken = d.join("broken-site");
    crate::support::copy_tree(&site, &broken);
    std::fs::write(broken.join("data/exports.json"), "{ not json").expect("write");
    let run = verify_cli(&good_file, &broken);
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stdout).contains("exports.json"));

    // 5. A damaged folder hands out no receipt: a changed tree, a newer format.
    let print = |dir: &Path| {
        sharelog_within(
            &[
                "receipt",
                "--receipts",
                dir.to_str().expect("utf-8"),
                "--owner",
                &good.owner,
            ],
            60,
        )
    };
    assert_eq!(print(&receipts).status.code(), Some(0));
    let damaged = d.join("damaged");
    crate::support::copy_tree(&receipts, &damaged);
    let batch = &good
        .exports
        .iter()
        .find(|e| e.path.len() > 1)
        .expect("a path")
        .export;
    let tree_file = damaged.join(format!("trees/{batch}.bin"));
    let mut bytes = std::fs::read(&tree_file).expect("tree");
    for b in bytes.iter_mut() {
        *b ^= 0x55;
    }
    std::fs::write(&tree_file, bytes).expect("write");
    let run = print(&damaged);
    assert_eq!(run.status.code(), Some(1));
    assert!(run.stdout.is_empty());
    assert!(String::from_utf8_lossy(&run.stderr).contains("build the receipts again"));
    // With several owners, the others' receipts are still printed.
    let other = owners(&receipts)
        .into_iter()
        .find(|o| {
            receipt(&receipts, o)
                .ok()
                .flatten()
                .is_some_and(|r| r.exports.iter().all(|e| e.export != *batch))
        })
        .expect("an owner outside that batch");
    let print_both = || {
        sharelog_within(
            &[
                "receipt",
                "--receipts",
                damaged.to_str().expect("utf-8"),
                "--owner",
                &good.owner,
                "--owner",
                &other,
            ],
            60,
        )
    };
    let both = print_both();
    assert_eq!(both.status.code(), Some(1));
    let printed: Vec<Receipt> = String::from_utf8_lossy(&both.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a receipt a line"))
        .collect();
    assert_eq!(printed.len(), 1);
    assert_eq!(printed[0].owner, other);
    // A tree that cannot be read at all: exit 3, and the other owner still printed.
    std::fs::remove_file(&tree_file).expect("remove");
    let both = print_both();
    assert_eq!(both.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&both.stdout).lines().count(), 1);
    assert!(!String::from_utf8_lossy(&both.stderr).contains("error: error:"));
    let newer = d.join("newer");
    crate::support::copy_tree(&receipts, &newer);
    let index = std::fs::read_to_string(newer.join("receipts.json")).expect("index");
    std::fs::write(
        newer.join("receipts.json"),
        index.replace("sharelog-receipts/1", "sharelog-receipts/2"),
    )
    .expect("write");
    let run = print(&newer);
    assert_eq!(run.status.code(), Some(1));
    assert!(run.stdout.is_empty());

    // `build --receipts DIR` of the example into `out` (under the temporary folder).
    let build_into = |receipts: &Path, out: &str| {
        sharelog(&[
            "build",
            "-q",
            "--no-cache",
            "--root",
            root.to_str().expect("utf-8"),
            "--out",
            d.join(out).to_str().expect("utf-8"),
            "--receipt-key",
            k.to_str().expect("utf-8"),
            "--receipts",
            receipts.to_str().expect("utf-8"),
        ])
    };

    // 6. A receipts folder holding anything sharelog did not write there is not replaced.
    for stray in [
        "notes.txt",
        "owners/keep.txt",
        "owners/my-notes.tsv",
        "trees/sub/x.bin",
        "trees/diary.bin",
    ] {
        let folder = d.join(format!("stray-{}", stray.replace('/', "-")));
        crate::support::copy_tree(&receipts, &folder);
        let path = folder.join(stray);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, "mine").expect("write");
        let run = build_into(&folder, "s-stray");
        assert_eq!(run.status.code(), Some(1), "{stray}");
        assert!(path.exists(), "{stray} was deleted");
    }

    // `.` or `..` cannot be replaced by renaming: refused before anything is written.
    for dots in [d.join("nested").join(".."), d.join("nested2/.")] {
        let run = build_into(&dots, "s-dots");
        assert_eq!(run.status.code(), Some(1), "{}", dots.display());
        assert!(!d.join("s-dots").exists());
    }

    // 7. Only the folder's owner can read it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o077;
        assert_eq!(mode(&receipts), 0);
        assert_eq!(mode(&receipts.join("receipts.json")), 0);
        let shard = std::fs::read_dir(receipts.join("owners"))
            .expect("owners")
            .next()
            .expect("a shard")
            .expect("entry")
            .path();
        assert_eq!(mode(&shard), 0);
    }
}

#[test]
fn what_a_killed_build_left_is_tidied_and_keys_ids_and_parents_are_taken_as_given() {
    let (dir, root) = example_copy();
    let d = dir.path();
    let k = key(d, "k", 7);
    let receipts = d.join("private/rec");
    // A parent that does not exist yet is made, as --out's is.
    build(&root, &d.join("s1"), &receipts, &k, &[]);
    let good = contents(&receipts);
    // `build` of the example into `out`, with the key and the receipts folder.
    let args = |out: &str, extra: &[&str]| build_args(&root, &d.join(out), &receipts, &k, extra);
    let run = |args: Vec<String>| sharelog(&args.iter().map(String::as_str).collect::<Vec<_>>());
    // A build killed while writing left its staging folder (every owner's id and salt): the next
    // build of the folder, holding its lock, removes it.
    let staging = d.join("private/.rec.receipts-new");
    std::fs::create_dir_all(staging.join("owners")).expect("stale staging");
    std::fs::write(staging.join("owners/00.tsv"), "\"1\"\t0\t0\tsalt\n").expect("stale line");
    build(&root, &d.join("s2"), &receipts, &k, &[]);
    assert!(
        !staging.exists(),
        "a killed build's staging folder is removed"
    );
    assert_eq!(contents(&receipts), good);
    // A build killed between moving the previous folder aside and moving the new one in: the
    // next build puts it back before it writes anything, so one that then fails (here: signing
    // with a key that is not there) leaves the previous folder in place.
    let aside = d.join("private/.rec.receipts-old");
    std::fs::rename(&receipts, &aside).expect("move aside");
    let no_key = d.join("no-such-key");
    let failed = run(args("s3", &["--sign", no_key.to_str().expect("utf-8")]));
    assert!(!failed.status.success());
    assert_eq!(contents(&receipts), good);
    assert!(!aside.exists());
    build(&root, &d.join("s3"), &receipts, &k, &[]);
    assert!(!aside.exists());
    assert_eq!(contents(&receipts), good);
    // Only a folder is put back: a link at that name (to nowhere) is removed, not followed.
    std::fs::remove_dir_all(&receipts).expect("remove");
    #[cfg(unix)]
    std::os::unix::fs::symlink(d.join("nowhere"), &aside).expect("link");
    build(&root, &d.join("s4"), &receipts, &k, &[]);
    assert_eq!(contents(&receipts), good);
    assert!(std::fs::symlink_metadata(&aside).is_err());
    // A folder at the old name holding a file sharelog did not write is put back and refused,
    // as the folder itself would be, not deleted.
    std::fs::remove_dir_all(&receipts).expect("remove");
    std::fs::create_dir_all(&aside).expect("aside");
    std::fs::write(aside.join("notes.txt"), "mine").expect("notes");
    let stray = run(args("s4", &[]));
    assert_eq!(stray.status.code(), Some(1));
    assert!(receipts.join("notes.txt").exists());
    std::fs::remove_dir_all(&receipts).expect("remove");
    build(&root, &d.join("s4"), &receipts, &k, &[]);
    // Two builds of one folder at once take turns: both succeed, and the folder is whole.
    let spawn = |out: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_sharelog"))
            .args(args(out, &[]))
            .spawn()
            .expect("spawn")
    };
    let (mut a, mut b) = (spawn("s5"), spawn("s6"));
    assert!(a.wait().expect("wait").success());
    assert!(b.wait().expect("wait").success());
    assert_eq!(contents(&receipts), good);
    let beside: Vec<String> = std::fs::read_dir(d.join("private"))
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        beside,
        vec!["rec".to_owned()],
        "nothing is left beside the folder"
    );
    // An id that begins with `-` is an id, not an option.
    let negative = sharelog(&[
        "receipt",
        "--receipts",
        receipts.to_str().expect("utf-8"),
        "--owner",
        "-5",
    ]);
    assert_eq!(
        negative.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&negative.stderr)
    );
    assert!(String::from_utf8_lossy(&negative.stderr).contains("-5"));
    // A key is a regular file of at most 64 KiB: /dev/zero (which never ends) and a huge file
    // are refused.
    std::fs::write(d.join("huge"), vec![1u8; (64 << 10) + 1]).expect("huge key");
    for key in [PathBuf::from("/dev/zero"), d.join("huge")] {
        let run = sharelog_within(
            &[
                "build",
                "-q",
                "--no-cache",
                "--root",
                root.to_str().expect("utf-8"),
                "--out",
                d.join("s4").to_str().expect("utf-8"),
                "--receipt-key",
                key.to_str().expect("utf-8"),
            ],
            60,
        );
        assert_eq!(run.status.code(), Some(1), "{}", key.display());
        assert!(String::from_utf8_lossy(&run.stderr).contains("the receipt key cannot be read"));
    }
}
