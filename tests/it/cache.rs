//! The listing cache: the same site with and without it, and damaged entries never trusted.

use std::path::Path;

use crate::support::{contents, example_copy, sharelog};

/// Builds `root` into `out` with `cache` (`None`: `--no-cache`); returns stderr's stage lines.
fn build(root: &Path, out: &Path, cache: Option<&Path>) -> String {
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
    let o = sharelog(&args);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{stderr}");
    stderr
}

fn entries(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    out.retain(|p| p.extension().is_some_and(|e| e == "slc"));
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

#[test]
fn a_changed_ledger_or_listing_is_counted_again() {
    let (dir, root) = example_copy();
    let cache = dir.path().join("cache");
    build(&root, &dir.path().join("a"), Some(&cache));
    let n = entries(&cache).len();
    // Another opt-out in the ledger: every listing's join may change.
    let ledger = std::fs::read_dir(root.join("data/opt-outs"))
        .ok()
        .and_then(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path())
                .find(|p| p.file_stem().is_some_and(|s| s == "ledger"))
        })
        .expect("the fixture has a ledger");
    let mut text = std::fs::read_to_string(&ledger).expect("a text ledger");
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let first_row = text.lines().nth(1).expect("a ledger row").to_owned();
    text.push_str(&first_row.replacen(first_row.split(',').next().unwrap_or(""), "o-new-owner", 1));
    text.push('\n');
    std::fs::write(&ledger, text).expect("write");
    let again = build(&root, &dir.path().join("b"), Some(&cache));
    assert!(
        again.contains(&format!("(0 listings from the cache, {n} counted)")),
        "{again}"
    );
    // Built without the cache, the changed root gives the same site.
    build(&root, &dir.path().join("c"), None);
    assert_eq!(
        contents(&dir.path().join("b")),
        contents(&dir.path().join("c"))
    );
}
