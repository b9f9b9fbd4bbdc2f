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
    for entry in &listed {
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
