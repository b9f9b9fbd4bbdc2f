//! The listing cache: the same site with and without it, and damaged entries never trusted.

use std::path::Path;

use crate::support::{contents, example_copy, sharelog_with_env};

/// The cache's secret in these tests (a CI secret would hold 32 random bytes).
const KEY: &str = "test-key-0123456789abcdef";

/// Builds `root` into `out` with `cache` (`None`: `--no-cache`); returns stderr's stage lines.
fn build(root: &Path, out: &Path, cache: Option<&Path>) -> String {
    build_keyed(root, out, cache, KEY)
}

/// [`build`] with the cache's secret `key` in `SHARELOG_CACHE_KEY`.
fn build_keyed(root: &Path, out: &Path, cache: Option<&Path>, key: &str) -> String {
    let mut args = vec![
        "build",
        "--root",
        root.to_str().unwrap_or_default(),
        "--out",
        out.to_str().unwrap_or_default(),
    ];
    match cache {
        Some(dir) => args.extend(["--cache", dir.to_str().unwrap_or_default()]),
        None => args.push("--no-cache"),
    }
    let o = sharelog_with_env(&[("SHARELOG_CACHE_KEY", key)], &args);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{stderr}");
    stderr
}

/// The cache's aggregate entries (`.slc`), one per listing.
fn entries(dir: &Path) -> Vec<std::path::PathBuf> {
    entries_ending(dir, "slc")
}

/// The cache's entries that end in `extension` (`slo`: counts opted out at the report's date).
fn entries_ending(dir: &Path, extension: &str) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    out.retain(|p| p.extension().is_some_and(|e| e == extension));
    out.sort();
    out
}

#[test]
fn the_site_is_byte_identical_with_and_without_the_cache_and_damage_is_not_trusted() {
    let (dir, root) = example_copy();
    let cache = dir.path().join("cache");
    let out = |name: &str| dir.path().join(name);

    let cold = build(&root, &out("cold"), Some(&cache));
    let n = entries(&cache).len();
    assert!(n >= 2, "one entry per listing: {n}");
    assert!(
        cold.contains(&format!("(0 listings from the cache, {n} counted)")),
        "{cold}"
    );
    let warm = build(&root, &out("warm"), Some(&cache));
    assert!(
        warm.contains(&format!("({n} listings from the cache, 0 counted)")),
        "{warm}"
    );
    build(&root, &out("none"), None);
    let want = contents(&out("none"));
    assert_eq!(contents(&out("cold")), want, "a cold cache changes nothing");
    assert_eq!(contents(&out("warm")), want, "a warm cache changes nothing");

    // Truncated, one byte changed, emptied: each entry is recounted and rewritten, same site.
    for (i, entry) in entries(&cache).iter().enumerate() {
        let mut bytes = std::fs::read(entry).unwrap_or_default();
        match i % 3 {
            0 => bytes.truncate(bytes.len() / 2),
            1 => {
                let mid = bytes.len() / 3;
                bytes[mid] ^= 0x20;
            }
            _ => bytes.clear(),
        }
        std::fs::write(entry, bytes).unwrap_or_default();
    }
    let damaged = build(&root, &out("damaged"), Some(&cache));
    assert!(
        damaged.contains(&format!("(0 listings from the cache, {n} counted)")),
        "{damaged}"
    );
    assert_eq!(contents(&out("damaged")), want);
    let healed = build(&root, &out("healed"), Some(&cache));
    assert!(
        healed.contains(&format!("({n} listings from the cache, 0 counted)")),
        "{healed}"
    );
}

/// Appends rows to a CSV ledger.
fn append_ledger(ledger: &Path, rows: &[&str]) {
    let mut text = std::fs::read_to_string(ledger).expect("a CSV ledger");
    if !text.ends_with('\n') {
        text.push('\n');
    }
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    std::fs::write(ledger, text).expect("write");
}

/// Writes the CSV ledger `csv` (owner_id,opted_out_at,withdrawn_at,signal,scope) as the root's
/// ledger: as it is, or as Parquet with integer owner ids (matched by probing integer sets, and
/// counted opted out now from the listings' owner tallies), the other ledger removed.
fn install_ledger(csv: &Path, root: &Path, parquet: bool) {
    use polars::prelude::*;
    let dir = root.join("data/opt-outs");
    let _ = std::fs::remove_file(dir.join("ledger.csv"));
    let _ = std::fs::remove_file(dir.join("ledger.parquet"));
    let text = std::fs::read_to_string(csv).expect("read");
    if !parquet {
        std::fs::write(dir.join("ledger.csv"), text).expect("write");
        return;
    }
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let cell = |i: usize| -> Vec<Option<String>> {
        rows.iter()
            .map(|r| r.get(i).filter(|c| !c.is_empty()).map(|c| (*c).to_owned()))
            .collect()
    };
    let mut df = df!(
        "owner_id" => rows.iter().map(|r| r[0].parse::<i64>().expect("an integer id")).collect::<Vec<_>>(),
        "opted_out_at" => cell(1),
        "withdrawn_at" => cell(2),
        "signal" => cell(3),
        "scope" => cell(4),
    )
    .expect("ledger frame");
    ParquetWriter::new(std::fs::File::create(dir.join("ledger.parquet")).expect("create"))
        .finish(&mut df)
        .expect("parquet");
}

/// The cache's owner tallies entries (`.slo` entries whose body is a tally list).
fn tallies_entries(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = entries_ending(dir, "slo");
    out.retain(|p| std::fs::read(p).is_ok_and(|b| b.starts_with(b"SLTALLY1")));
    out
}

/// Issue 19: a report's life, step by step, each built with the cache and without it. Every
/// site is the cold build's, byte for byte, and the cache counts again only the listings a step
/// can change: opt-outs recorded after an export leave its aggregate valid (only the count opted
/// out at the report's date is read again), a backdated opt-out or an earlier withdrawal
/// recounts the exports it reaches, a corrected listing is counted again.
#[test]
fn every_step_of_a_reports_life_gives_the_cold_builds_site() {
    a_reports_life(false);
}

/// The same life with a Parquet ledger of integer owner ids: the items opted out at the report's
/// date come from the listings' owner tallies whenever the ledger changes.
#[test]
fn every_step_of_a_reports_life_gives_the_cold_builds_site_with_owner_tallies() {
    a_reports_life(true);
}

fn a_reports_life(parquet: bool) {
    let (dir, root) = example_copy();
    let cache = dir.path().join("cache");
    // The ledger is edited as CSV outside the root and installed before each build.
    let ledger = dir.path().join("ledger.csv");
    std::fs::rename(root.join("data/opt-outs/ledger.csv"), &ledger).expect("move");
    let mut step = 0;
    let mut check = |what: &str, expect: &str| {
        install_ledger(&ledger, &root, parquet);
        step += 1;
        let warm = dir.path().join(format!("warm-{step}"));
        let cold = dir.path().join(format!("cold-{step}"));
        let log = build(&root, &warm, Some(&cache));
        build(&root, &cold, None);
        assert!(
            contents(&warm) == contents(&cold),
            "{what}: the site differs from a cold build"
        );
        assert!(log.contains(expect), "{what}: {log}");
        // A tally list per listing file (four once the new export's is counted) with integer
        // ids; none is needed with text ones.
        let tallies = tallies_entries(&cache).len();
        if parquet {
            assert!(tallies >= 3, "{what}: {tallies} tally lists");
        } else {
            assert_eq!(tallies, 0, "{what}");
        }
    };
    check("the first build", "(0 listings from the cache, 3 counted)");
    check(
        "the same root again",
        "(3 listings from the cache, 0 counted)",
    );

    // A new export: its listing is the only one counted.
    let exports = root.join("data/exports");
    std::fs::copy(
        exports.join("items/pellucid-2024-01.parquet"),
        exports.join("items/pellucid-2024-06.parquet"),
    )
    .expect("copy");
    let manifest = std::fs::read_to_string(exports.join("pellucid-2024-01.yaml")).expect("read");
    std::fs::write(
        exports.join("pellucid-2024-06.yaml"),
        manifest
            .replace("id: pellucid-2024-01", "id: pellucid-2024-06")
            .replace(
                "exported_at: 2024-01-22T08:00:00Z",
                "exported_at: 2024-06-03T08:00:00Z",
            )
            .replace("pellucid-2024-01.parquet", "pellucid-2024-06.parquet"),
    )
    .expect("write");
    check("a new export", "(3 listings from the cache, 1 counted)");

    // New opt-outs after every export (owners of the listings among them), as arrive between
    // two builds: every aggregate stays; the count opted out at the report's date changes.
    let owner = std::fs::read_to_string(exports.join("items/pellucid-2023-01.csv"))
        .expect("read")
        .lines()
        .nth(5)
        .and_then(|l| l.split(',').nth(1).map(str::to_owned))
        .expect("an owner");
    append_ledger(
        &ledger,
        &[
            &format!("{owner},2024-07-01T00:00:00Z,,,"),
            "1348,2024-07-02T00:00:00Z,,gpc,",
            "99999001,2024-07-03T00:00:00Z,,,ai-training",
        ],
    );
    check(
        "opt-outs after every export",
        "(4 listings from the cache, 0 counted)",
    );

    // A backdated opt-out that covers one partner only: that partner's exports after its date.
    append_ledger(&ledger, &["1348,2023-06-01T00:00:00Z,,,lumen-search"]);
    check(
        "a backdated opt-out for one partner",
        "(3 listings from the cache, 1 counted)",
    );

    // A withdrawal after every export, then one before the later exports.
    let text = std::fs::read_to_string(&ledger).expect("read");
    std::fs::write(
        &ledger,
        text.replace(
            &format!("{owner},2024-07-01T00:00:00Z,,,"),
            &format!("{owner},2024-07-01T00:00:00Z,2024-08-01T00:00:00Z,,"),
        ),
    )
    .expect("write");
    check(
        "a withdrawal after every export",
        "(4 listings from the cache, 0 counted)",
    );
    let text = std::fs::read_to_string(&ledger).expect("read");
    let row = text
        .lines()
        .find(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            cells.len() == 5
                && cells[1].starts_with("2023-06")
                && cells[2].is_empty()
                && cells[4].is_empty()
        })
        .expect("an opt-out from June 2023 that stands")
        .to_owned();
    let cells: Vec<&str> = row.split(',').collect();
    let withdrawn = [
        cells[0],
        cells[1],
        "2024-01-01T00:00:00Z",
        cells[3],
        cells[4],
    ]
    .join(",");
    std::fs::write(&ledger, text.replacen(&row, &withdrawn, 1)).expect("write");
    // The three exports after 2024-01-01 see one owner fewer; pellucid-2023-01 does not.
    check(
        "a withdrawal before the later exports",
        "(1 listing from the cache, 3 counted)",
    );

    // A correction to an old listing.
    let listing = exports.join("items/pellucid-2023-01.csv");
    let text = std::fs::read_to_string(&listing).expect("read");
    std::fs::write(
        &listing,
        text.replacen(",text,2015-07-19,", ",photo,2015-07-19,", 1),
    )
    .expect("write");
    check(
        "a corrected listing",
        "(3 listings from the cache, 1 counted)",
    );
}

/// A tally list's body as the cache writes it: the format, the number of owners, then per owner
/// the varint of the step from the id before (the first id zigzagged) and of its items.
fn tally_body(owners: &[(i64, u64)]) -> Vec<u8> {
    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    let mut out = b"SLTALLY1".to_vec();
    varint(&mut out, owners.len() as u64);
    let mut last = None;
    for &(id, items) in owners {
        varint(
            &mut out,
            match last {
                None => ((id << 1) ^ (id >> 63)) as u64,
                Some(last) => (id - last) as u64,
            },
        );
        varint(&mut out, items);
        last = Some(id);
    }
    out
}

/// What an attacker who can write to the cache (a pull request's CI run, say) does: zero every
/// flag column and `opted_out` in each entry's aggregate (and give every tally list one owner
/// of a million items), recompute the entry's old checksum (SHA-256 of the body) into its
/// trailer and keep the magic.
fn forge(entry: &Path) {
    let bytes = std::fs::read(entry).expect("entry");
    let body = &bytes[..bytes.len() - 40];
    let magic = &bytes[bytes.len() - 8..];
    if body.starts_with(b"{") {
        // The ledger's carried statistics: every count in them made a million.
        let mut summary: serde_json::Value =
            serde_json::from_slice(body).expect("the ledger summary is JSON");
        million(&mut summary["stats"]);
        let mut forged = serde_json::to_vec(&summary).expect("json");
        use sha2::Digest;
        let digest = sha2::Sha256::digest(&forged);
        forged.extend_from_slice(&digest);
        forged.extend_from_slice(magic);
        std::fs::write(entry, forged).expect("write");
        return;
    }
    if body.starts_with(b"SLTALLY1") {
        let mut forged = tally_body(&[(1549, 1_000_000)]);
        use sha2::Digest;
        let digest = sha2::Sha256::digest(&forged);
        forged.extend_from_slice(&digest);
        forged.extend_from_slice(magic);
        std::fs::write(entry, forged).expect("write");
        return;
    }
    let mut columns: Vec<serde_json::Value> =
        serde_json::from_slice(body).expect("an entry's body is its columns as JSON");
    for column in &mut columns {
        let name = column["name"].as_str().unwrap_or_default().to_owned();
        if !["category", "year", "items"].contains(&name.as_str())
            && let Some(values) = column["values"].as_array_mut()
        {
            for v in values.iter_mut().filter(|v| !v.is_null()) {
                *v = serde_json::json!(0);
            }
        }
    }
    let mut forged = serde_json::to_vec(&columns).expect("json");
    use sha2::Digest;
    let digest = sha2::Sha256::digest(&forged);
    forged.extend_from_slice(&digest);
    forged.extend_from_slice(magic);
    std::fs::write(entry, forged).expect("write");
}

/// Every number in `value` made 1,000,000.
fn million(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(_) => *value = serde_json::json!(1_000_000),
        serde_json::Value::Array(a) => a.iter_mut().for_each(million),
        serde_json::Value::Object(o) => o.values_mut().for_each(million),
        _ => {}
    }
}

/// The cache's entry of the ledger's carried statistics (the `.slo` entry whose body is JSON
/// with a `stats` field).
fn ledger_summary(dir: &Path) -> std::path::PathBuf {
    let mut found = entries_ending(dir, "slo");
    found.retain(|p| std::fs::read(p).is_ok_and(|b| b.starts_with(b"{\"version\"")));
    assert_eq!(found.len(), 1, "one ledger summary: {found:?}");
    found.remove(0)
}

/// Rewrites the cache's ledger summary with `change` made to its JSON, signed with the key.
fn sign_summary(cache: &Path, change: impl FnOnce(&mut serde_json::Value)) {
    let entry = ledger_summary(cache);
    let bytes = std::fs::read(&entry).expect("entry");
    let mut summary: serde_json::Value =
        serde_json::from_slice(&bytes[..bytes.len() - 40]).expect("json");
    change(&mut summary);
    write_signed(&entry, serde_json::to_vec(&summary).expect("json"));
}

/// Writes `body` as the cache entry `entry`, signed with the tests' key as the cache signs:
/// HMAC-SHA256 of the format magic (kept from the entry), the file name, a newline and the
/// body, then the magic.
fn write_signed(entry: &Path, mut body: Vec<u8>) {
    use hmac::{Hmac, KeyInit, Mac};
    let bytes = std::fs::read(entry).expect("entry");
    let magic = &bytes[bytes.len() - 8..];
    let name = entry.file_name().and_then(|n| n.to_str()).expect("name");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(KEY.as_bytes()).expect("key");
    mac.update(magic);
    mac.update(name.as_bytes());
    mac.update(b"\n");
    mac.update(&body);
    body.extend_from_slice(&mac.finalize().into_bytes());
    body.extend_from_slice(magic);
    std::fs::write(entry, body).expect("write");
}

/// The ledger's statistics are carried from one build to the next, corrected by the rows
/// appended since: a summary rewritten here with the cache's key (every month's new opt-outs
/// made 100) is what the next build publishes, and still after a row is appended. Only the key's holder
/// can write one (forged without the key, it changes nothing: see `forged_entries`), and even
/// signed, statistics no ledger could give (a month in the year 178 million, a negative count)
/// are not used.
#[test]
fn the_ledgers_statistics_are_carried_over_and_corrected() {
    let (dir, root) = example_copy();
    let ledger = root.join("data/opt-outs/ledger.csv");
    let cache = dir.path().join("cache");
    let (cold, out) = (dir.path().join("cold"), dir.path().join("site"));
    build(&root, &out, Some(&cache));
    // Every month's new opt-outs made 100 (as many as a ledger of 100 rows a month would give,
    // and above the smallest count published).
    sign_summary(&cache, |s| {
        if let Some(months) = s["stats"]["monthly"].as_object_mut() {
            for v in months.values_mut() {
                v[0] = serde_json::json!(100);
            }
        }
    });
    let monthly = |site: &Path| {
        std::fs::read_to_string(site.join("data/opt-outs-monthly.csv")).expect("monthly")
    };
    build(&root, &out, Some(&cache));
    build(&root, &cold, None);
    for site in [&out, &cold] {
        assert_eq!(
            monthly(site).contains("\n2023-05,100,"),
            site == &out,
            "{}",
            monthly(site)
        );
    }
    // A row appended: the rest stays carried, the month of the new row is corrected by it.
    append_ledger(&ledger, &["1549,2023-11-24T00:00:00Z,,,"]);
    build(&root, &out, Some(&cache));
    build(&root, &cold, None);
    assert!(
        monthly(&out).contains("\n2023-05,100,"),
        "{}",
        monthly(&out)
    );
    assert!(
        monthly(&out).contains("\n2023-11,101,"),
        "{}",
        monthly(&out)
    );
    assert!(!monthly(&cold).contains("\n2023-11,101,"));
    // A row edited: nothing is carried, the site is the cold build's.
    let text = std::fs::read_to_string(&ledger).expect("read");
    std::fs::write(
        &ledger,
        text.replacen("1549,2023-11-24", "1549,2023-11-25", 1),
    )
    .expect("write");
    build(&root, &out, Some(&cache));
    build(&root, &cold, None);
    assert!(contents(&out) == contents(&cold));
    // Signed, but no ledger could give it: counted afresh (the first made the monthly table
    // 178 million years long; the second published counts beyond the ledger's rows).
    let far: [fn(&mut serde_json::Value); 3] = [
        |s| s["stats"]["monthly"]["2147483647"] = serde_json::json!([5, 0, 5]),
        |s| {
            if let Some(months) = s["stats"]["monthly"].as_object_mut() {
                for v in months.values_mut() {
                    *v = serde_json::json!([i64::MAX, i64::MAX, i64::MAX]);
                }
            }
        },
        |s| {
            if let Some(months) = s["stats"]["monthly"].as_object_mut() {
                for v in months.values_mut() {
                    v[0] = serde_json::json!(-1);
                }
            }
        },
    ];
    for change in far {
        sign_summary(&cache, change);
        build(&root, &out, Some(&cache));
        assert!(contents(&out) == contents(&cold));
    }
}

#[test]
fn forged_entries_cannot_change_a_published_number() {
    forged_entries(false);
}

/// The same with a Parquet ledger of integer ids: the owner tallies are forged too, and an opt-out
/// added after the forgery makes the count opted out now read them.
#[test]
fn forged_owner_tallies_cannot_change_a_published_number() {
    forged_entries(true);
}

fn forged_entries(parquet: bool) {
    let (dir, root) = example_copy();
    let ledger = dir.path().join("ledger.csv");
    std::fs::rename(root.join("data/opt-outs/ledger.csv"), &ledger).expect("move");
    install_ledger(&ledger, &root, parquet);
    let cache = dir.path().join("cache");
    let cold = dir.path().join("cold");
    let out = dir.path().join("site");
    build(&root, &out, Some(&cache));
    let listed = entries(&cache);
    assert!(!listed.is_empty());
    let counts = entries_ending(&cache, "slo");
    assert_eq!(
        counts.len(),
        listed.len() + 2 + 1 + if parquet { listed.len() } else { 0 },
        "a count opted out now per listing, the owners of each partner with listings (two in the \
         example), the ledger's statistics, and with integer ids a tally list per listing"
    );
    assert_eq!(
        tallies_entries(&cache).len(),
        if parquet { listed.len() } else { 0 }
    );
    for entry in listed.iter().chain(&counts) {
        forge(entry);
    }
    // Owner 1549, whom every forged tally list credits with a million items, opts out after
    // every export.
    append_ledger(&ledger, &["1549,2024-07-01T00:00:00Z,,,"]);
    install_ledger(&ledger, &root, parquet);
    build(&root, &cold, None);
    let stderr = build(&root, &out, Some(&cache));
    assert!(stderr.contains("0 listings from the cache"), "{stderr}");
    assert!(
        contents(&out) == contents(&cold),
        "a forged entry changed the site"
    );
    // The entries were counted again and rewritten: now they verify.
    let stderr = build(&root, &out, Some(&cache));
    assert!(
        stderr.contains(&format!("{} listings from the cache", listed.len())),
        "{stderr}"
    );

    // An entry copied over another listing's entry does not verify either.
    let stderr = {
        std::fs::copy(&listed[0], &listed[1]).expect("copy");
        build(&root, &out, Some(&cache))
    };
    assert!(
        stderr.contains(&format!("{} listings from the cache", listed.len() - 1)),
        "{stderr}"
    );
    assert!(contents(&out) == contents(&cold));

    // Entries written with another key are not trusted.
    let stderr = build_keyed(&root, &out, Some(&cache), "another key of the same length");
    assert!(stderr.contains("0 listings from the cache"), "{stderr}");
    assert!(contents(&out) == contents(&cold));

    // The aggregates sound, every other entry forged, and a new opt-out after every export: the
    // counts opted out now miss, and the forged tally lists are not what they are counted from.
    build(&root, &out, Some(&cache));
    for entry in entries_ending(&cache, "slo") {
        forge(&entry);
    }
    append_ledger(&ledger, &["1564,2024-07-02T00:00:00Z,,,"]);
    install_ledger(&ledger, &root, parquet);
    build(&root, &cold, None);
    let stderr = build(&root, &out, Some(&cache));
    assert!(
        stderr.contains(&format!(
            "({} listings from the cache, 0 counted)",
            listed.len()
        )),
        "{stderr}"
    );
    assert!(contents(&out) == contents(&cold));
}

/// A partner's owner counts are looked up by export id: an export renamed (the same listing,
/// the same instant) must not find the counts cached under its old id.
#[test]
fn a_renamed_export_gets_its_own_owner_counts() {
    let (dir, root) = example_copy();
    let cache = dir.path().join("cache");
    build(&root, &dir.path().join("first"), Some(&cache));
    let manifest = root.join("data/exports/pellucid-2024-01.yaml");
    let text = std::fs::read_to_string(&manifest).expect("read");
    std::fs::write(
        &manifest,
        text.replace("id: pellucid-2024-01", "id: pellucid-2024-01b"),
    )
    .expect("write");
    // The deletion request that names the export follows it.
    let requests = root.join("data/deletions/requests.csv");
    let text = std::fs::read_to_string(&requests).expect("read");
    std::fs::write(
        &requests,
        text.replace(",pellucid-2024-01,", ",pellucid-2024-01b,"),
    )
    .expect("write");
    let (warm, cold) = (dir.path().join("warm"), dir.path().join("cold"));
    build(&root, &warm, Some(&cache));
    build(&root, &cold, None);
    let exports =
        |site: &Path| std::fs::read_to_string(site.join("data/exports.csv")).expect("read");
    assert!(
        exports(&cold).contains("pellucid-2024-01b,"),
        "{}",
        exports(&cold)
    );
    assert_eq!(exports(&warm), exports(&cold));
    assert!(contents(&warm) == contents(&cold));
}

/// A tally list that verifies under the cache's key is what the items opted out now are counted
/// from when the ledger changes (the listings are not read again): one rewritten here with the
/// key, crediting an owner with a million items, shows in the published counts. Only the key's
/// holder can write such an entry (the forgeries above, without the key, change nothing).
#[test]
fn new_opt_outs_are_counted_from_the_owner_tallies() {
    let (dir, root) = example_copy();
    let ledger = dir.path().join("ledger.csv");
    std::fs::rename(root.join("data/opt-outs/ledger.csv"), &ledger).expect("move");
    install_ledger(&ledger, &root, true);
    let cache = dir.path().join("cache");
    let (cold, out) = (dir.path().join("cold"), dir.path().join("site"));
    build(&root, &out, Some(&cache));
    let tallies = tallies_entries(&cache);
    assert!(!tallies.is_empty());
    for entry in &tallies {
        write_signed(entry, tally_body(&[(1549, 1_000_000)]));
    }
    append_ledger(&ledger, &["1549,2024-07-01T00:00:00Z,,,"]);
    install_ledger(&ledger, &root, true);
    build(&root, &cold, None);
    let stderr = build(&root, &out, Some(&cache));
    let n = entries(&cache).len();
    assert!(
        stderr.contains(&format!("({n} listings from the cache, 0 counted)")),
        "{stderr}"
    );
    let partners =
        |site: &Path| std::fs::read_to_string(site.join("data/partners.csv")).expect("read");
    assert_ne!(partners(&out), partners(&cold));
    assert!(partners(&out).contains("100000"), "{}", partners(&out));
}

#[cfg(unix)]
#[test]
fn an_entry_that_is_a_fifo_or_a_link_to_a_device_is_not_read() {
    let (dir, root) = example_copy();
    let cache = dir.path().join("cache");
    let cold = dir.path().join("cold");
    let out = dir.path().join("site");
    build(&root, &cold, None);
    build(&root, &out, Some(&cache));
    let listed = entries(&cache);
    assert!(listed.len() >= 2);
    std::fs::remove_file(&listed[0]).expect("remove");
    let status = std::process::Command::new("mkfifo")
        .arg(&listed[0])
        .status()
        .expect("mkfifo");
    assert!(status.success());
    std::fs::remove_file(&listed[1]).expect("remove");
    std::os::unix::fs::symlink("/dev/zero", &listed[1]).expect("symlink");

    // Run with a deadline: the old reader blocked on the FIFO for ever.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sharelog"))
        .args(["build", "--quiet", "--root"])
        .arg(&root)
        .arg("--out")
        .arg(&out)
        .arg("--cache")
        .arg(&cache)
        .env("SHARELOG_CACHE_KEY", KEY)
        .spawn()
        .expect("spawn");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the build hung on a FIFO or a device in the cache");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(status.success());
    assert!(contents(&out) == contents(&cold));
    // Both were replaced by real entries.
    for entry in &listed[..2] {
        assert!(std::fs::symlink_metadata(entry).expect("entry").is_file());
    }
}

#[test]
fn a_cache_key_that_is_short_or_inside_the_cache_is_refused() {
    let (dir, root) = example_copy();
    let cache = dir.path().join("cache");
    let out = dir.path().join("site");
    std::fs::create_dir_all(&cache).expect("mkdir");
    let inside = cache.join("key");
    std::fs::write(&inside, "0123456789abcdef0123456789abcdef").expect("write");
    let short = dir.path().join("short-key");
    std::fs::write(&short, "1234\n").expect("write");
    for (key, message) in [
        (&inside, "the cache key is inside the cache folder"),
        (&short, "the cache key has 4 bytes"),
    ] {
        let o = sharelog_with_env(
            &[],
            &[
                "build",
                "--root",
                root.to_str().expect("utf-8"),
                "--out",
                out.to_str().expect("utf-8"),
                "--cache",
                cache.to_str().expect("utf-8"),
                "--cache-key",
                key.to_str().expect("utf-8"),
            ],
        );
        assert_eq!(o.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains(message), "{stderr}");
    }
    assert!(!out.exists());
}

/// `sharelog cache prune` removes the entries no listing of the root uses, and only those.
#[test]
fn prune_keeps_what_the_next_build_reads() {
    let (dir, root) = example_copy();
    let cache = dir.path().join("cache");
    build(&root, &dir.path().join("a"), Some(&cache));
    let before = entries(&cache).len() + entries_ending(&cache, "slo").len();
    // A corrected listing: its old aggregate and count, and its partner's owners, are no longer
    // read.
    let listing = root.join("data/exports/items/pellucid-2023-01.csv");
    let text = std::fs::read_to_string(&listing).expect("read");
    std::fs::write(
        &listing,
        text.replacen(",text,2015-07-19,", ",photo,2015-07-19,", 1),
    )
    .expect("write");
    build(&root, &dir.path().join("b"), Some(&cache));
    // Files that only look like the cache's are not its own.
    for name in ["notes.txt", "notes.slc", ".vimrc.tmp", ".important.slo.tmp"] {
        std::fs::write(cache.join(name), "not the cache's").expect("write");
    }
    let prune = |extra: &[&str]| {
        let mut args = vec![
            "cache",
            "prune",
            "--root",
            root.to_str().expect("utf-8"),
            "--cache",
            cache.to_str().expect("utf-8"),
        ];
        args.extend_from_slice(extra);
        let o = sharelog_with_env(&[], &args);
        assert!(o.status.success(), "{o:?}");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let dry = prune(&["--dry-run"]);
    assert!(dry.contains("would remove 3 entries"), "{dry}");
    assert_eq!(
        entries(&cache).len() + entries_ending(&cache, "slo").len(),
        before + 3 + 1,
        "the three stale entries, and notes.slc, are still there"
    );
    let done = prune(&[]);
    assert!(done.contains("removed 3 entries"), "{done}");
    assert!(done.contains(&format!("kept {before}")), "{done}");
    for name in ["notes.txt", "notes.slc", ".vimrc.tmp", ".important.slo.tmp"] {
        assert!(
            cache.join(name).is_file(),
            "only the cache's own files go: {name}"
        );
    }
    // The root, or a folder of its inputs, is never taken for a cache.
    for folder in [root.clone(), root.join("data/exports/items")] {
        let o = sharelog_with_env(
            &[],
            &[
                "cache",
                "prune",
                "--root",
                root.to_str().expect("utf-8"),
                "--cache",
                folder.to_str().expect("utf-8"),
            ],
        );
        assert_eq!(o.status.code(), Some(1), "{o:?}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("not a cache"));
    }
    let again = build(&root, &dir.path().join("c"), Some(&cache));
    assert!(
        again.contains("(3 listings from the cache, 0 counted)"),
        "{again}"
    );
}
