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

/// Appends rows to the example's CSV ledger.
fn append_ledger(root: &Path, rows: &[&str]) {
    let ledger = root.join("data/opt-outs/ledger.csv");
    let mut text = std::fs::read_to_string(&ledger).expect("a CSV ledger");
    if !text.ends_with('\n') {
        text.push('\n');
    }
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    std::fs::write(&ledger, text).expect("write");
}

/// Issue 19: a report's life, step by step, each built with the cache and without it. Every
/// site is the cold build's, byte for byte, and the cache counts again only the listings a step
/// can change: opt-outs recorded after an export leave its aggregate valid (only the count opted
/// out at the report's date is read again), a backdated opt-out or an earlier withdrawal
/// recounts the exports it reaches, a corrected listing is counted again.
#[test]
fn every_step_of_a_reports_life_gives_the_cold_builds_site() {
    let (dir, root) = example_copy();
    let cache = dir.path().join("cache");
    let mut step = 0;
    let mut check = |what: &str, expect: &str| {
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
        &root,
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
    append_ledger(&root, &["1348,2023-06-01T00:00:00Z,,,lumen-search"]);
    check(
        "a backdated opt-out for one partner",
        "(3 listings from the cache, 1 counted)",
    );

    // A withdrawal after every export, then one before the later exports.
    let ledger = root.join("data/opt-outs/ledger.csv");
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

/// What an attacker who can write to the cache (a pull request's CI run, say) does: zero every
/// flag column and `opted_out` in each entry's aggregate, recompute the entry's old checksum
/// (SHA-256 of the body) into its trailer and keep the magic.
fn forge(entry: &Path) {
    let bytes = std::fs::read(entry).expect("entry");
    let body = &bytes[..bytes.len() - 40];
    let magic = &bytes[bytes.len() - 8..];
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

#[test]
fn forged_entries_cannot_change_a_published_number() {
    let (dir, root) = example_copy();
    let cache = dir.path().join("cache");
    let cold = dir.path().join("cold");
    let out = dir.path().join("site");
    build(&root, &cold, None);
    build(&root, &out, Some(&cache));
    let listed = entries(&cache);
    assert!(!listed.is_empty());
    let counts = entries_ending(&cache, "slo");
    assert_eq!(
        counts.len(),
        listed.len() + 2,
        "a count opted out now per listing, and the owners of each partner with listings (two in the example)"
    );
    for entry in listed.iter().chain(&counts) {
        forge(entry);
    }
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
