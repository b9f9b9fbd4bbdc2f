//! `build --previous DIR` (issue 18, part 4): three successive releases give a site whose
//! `releases/releases.json` is a hash chain over every earlier release's `SHA256SUMS`, and whose
//! releases page says what changed.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::support::{fixture_copy, sharelog};

fn release(root: &Path, published: &str, items: u64) {
    let report = root.join("report.yaml");
    let text = std::fs::read_to_string(&report).expect("read");
    let text = text
        .lines()
        .map(|l| {
            if l.starts_with("published:") {
                format!("published: {published}")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&report, text + "\n").expect("write");
    let manifest = root.join("data/exports/alpha-1.yaml");
    let text = std::fs::read_to_string(&manifest).expect("read");
    let start = text.find("items: ").expect("a count") + "items: ".len();
    let end = start + text[start..].find([',', '}']).expect("end");
    std::fs::write(
        &manifest,
        format!("{}{items}{}", &text[..start], &text[end..]),
    )
    .expect("write");
}

fn build(root: &Path, out: &Path, previous: Option<&Path>) {
    let mut args = vec![
        "build".to_owned(),
        "--quiet".to_owned(),
        "--no-cache".to_owned(),
        "--root".to_owned(),
        root.display().to_string(),
        "--out".to_owned(),
        out.display().to_string(),
    ];
    if let Some(p) = previous {
        args.extend(["--previous".to_owned(), p.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = sharelog(&args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn three_releases_chain_their_checksums_and_say_what_changed() {
    let (dir, root) = fixture_copy("basic");
    let sites: Vec<_> = (1..=3)
        .map(|i| dir.path().join(format!("site{i}")))
        .collect();
    release(&root, "2024-01-15", 120);
    build(&root, &sites[0], None);
    release(&root, "2024-02-15", 130);
    build(&root, &sites[1], Some(&sites[0]));
    release(&root, "2024-03-15", 140);
    build(&root, &sites[2], Some(&sites[1]));

    // A fourth release on top of the third: refused whenever the third's history was changed.
    let refused_fourth = || {
        let output = sharelog(&[
            "build",
            "--root",
            root.to_str().expect("utf-8"),
            "--out",
            dir.path().join("site4").to_str().expect("utf-8"),
            "--previous",
            sites[2].to_str().expect("utf-8"),
        ]);
        assert_eq!(output.status.code(), Some(1));
        assert!(!dir.path().join("site4").exists());
        output
    };

    // The chain, checked as a reader would: hash each release's SHA256SUMS, follow the links.
    let history: serde_json::Value = serde_json::from_slice(
        &std::fs::read(sites[2].join("releases/releases.json")).expect("releases.json"),
    )
    .expect("json");
    let releases = history["releases"].as_array().expect("a list");
    assert_eq!(releases.len(), 2);
    let mut before = serde_json::Value::Null;
    for (r, date) in releases.iter().zip(["2024-01-15", "2024-02-15"]) {
        assert_eq!(r["published"], date);
        let sums = std::fs::read(sites[2].join(format!("releases/{date}/data/SHA256SUMS")))
            .expect("the release's checksums");
        assert_eq!(r["sums_sha256"], hex::encode(Sha256::digest(&sums)));
        assert_eq!(r["previous_sums_sha256"], before);
        before = r["sums_sha256"].clone();
    }
    // A reader who saved the first release's SHA256SUMS finds it in the chain.
    let saved = std::fs::read(sites[0].join("data/SHA256SUMS")).expect("saved");
    assert_eq!(
        releases[0]["sums_sha256"],
        hex::encode(Sha256::digest(&saved))
    );
    // The old data files are carried byte for byte.
    assert_eq!(
        std::fs::read(sites[1].join("data/shared-items.csv")).expect("old"),
        std::fs::read(sites[2].join("releases/2024-02-15/data/shared-items.csv")).expect("kept")
    );
    // Every page links to the earlier releases; a site without them does not.
    for site in [&sites[1], &sites[2]] {
        let index = std::fs::read_to_string(site.join("index.html")).expect("index");
        assert!(index.contains("href=\"releases/index.html\""), "{index}");
    }
    let first = std::fs::read_to_string(sites[0].join("index.html")).expect("index");
    assert!(!first.contains("releases/index.html"));
    let page = std::fs::read_to_string(sites[2].join("releases/index.html")).expect("page");
    assert!(
        page.contains("What changed since the last release"),
        "{page}"
    );
    // The batch whose count changed, with its old and new count, and the changed cell of
    // exports.csv, in the page's own table and list.
    assert!(
        page.contains("<th scope=\"row\"><code>alpha-1</code></th><td>Changed</td>"),
        "{page}"
    );
    assert!(
        page.contains("<td class=\"num\">212</td><td class=\"num\">222</td>"),
        "{page}"
    );
    assert!(
        page.contains("<code>export=alpha-1: items 212 → 222"),
        "{page}"
    );
    // The page is in the report's language.
    let german = dir.path().join("site3-de");
    let output = sharelog(&[
        "build",
        "--quiet",
        "--no-cache",
        "--language",
        "de",
        "--root",
        root.to_str().expect("utf-8"),
        "--out",
        german.to_str().expect("utf-8"),
        "--previous",
        sites[1].to_str().expect("utf-8"),
    ]);
    assert!(output.status.success(), "{output:?}");
    let page = std::fs::read_to_string(german.join("releases/index.html")).expect("page");
    assert!(page.contains("<html lang=\"de\""), "{page}");
    assert!(page.contains("Was sich seit der letzten Fassung"), "{page}");
    assert!(page.contains("<td>Geändert</td>"), "{page}");

    // A file put into the old site's releases/ by hand is not carried onto the site's origin.
    let planted = sites[2].join("releases/2024-01-15/data/evil.html");
    std::fs::write(&planted, "<script>alert(1)</script>").expect("write");
    release(&root, "2024-04-15", 150);
    let output = refused_fourth();
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("evil.html is in no release's SHA256SUMS"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::remove_file(&planted).expect("remove");

    // Each release's signed data names its predecessor, and removing the history is noticed.
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sites[2].join("data/report.json")).expect("json"))
            .expect("json");
    assert_eq!(report["previous_release"]["published"], "2024-02-15");
    assert_eq!(
        report["previous_release"]["sums_sha256"],
        releases[1]["sums_sha256"]
    );
    let kept = dir.path().join("kept-releases");
    std::fs::rename(sites[2].join("releases"), &kept).expect("move");
    let output = refused_fourth();
    assert!(String::from_utf8_lossy(&output.stderr).contains("the history was changed or removed"));
    std::fs::rename(&kept, sites[2].join("releases")).expect("move back");

    // A history that was edited is refused.
    let json = sites[2].join("releases/releases.json");
    let text = std::fs::read_to_string(&json).expect("read");
    std::fs::write(&json, text.replacen("2024-01-15", "2024-01-16", 1)).expect("write");
    let output = refused_fourth();
    assert!(String::from_utf8_lossy(&output.stderr).contains("the history was changed"));
}

fn try_build(root: &Path, out: &Path, previous: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "build",
        "--quiet",
        "--no-cache",
        "--root",
        root.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--previous",
        previous.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    sharelog(&args)
}

fn refused(output: &std::process::Output, says: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(says), "{stderr}");
}

/// The previous release itself is checked as its history is: every file its SHA256SUMS lists
/// must be there and match, only those are carried, and an auditor's build is never a release.
#[test]
fn the_previous_release_is_checked_against_its_own_checksums() {
    let (dir, root) = fixture_copy("basic");
    let first = dir.path().join("first");
    release(&root, "2024-01-15", 120);
    build(&root, &first, None);
    release(&root, "2024-02-15", 130);
    let out = dir.path().join("out");
    let attacked = |name: &str, attack: &dyn Fn(&Path)| {
        let copy = dir.path().join(name);
        crate::support::copy_tree(&first, &copy);
        attack(&copy);
        copy
    };
    let edited = attacked("edited", &|site| {
        let f = site.join("data/exports.csv");
        let text = std::fs::read_to_string(&f).expect("read");
        std::fs::write(&f, text.replacen(',', ";", 1)).expect("write");
    });
    refused(
        &try_build(&root, &out, &edited, &[]),
        "data/exports.csv does not match its SHA-256 in data/SHA256SUMS",
    );
    let missing = attacked("missing", &|site| {
        std::fs::remove_file(site.join("data/exports.parquet")).expect("remove");
    });
    refused(
        &try_build(&root, &out, &missing, &[]),
        "data/exports.parquet, which data/SHA256SUMS lists, is missing",
    );
    assert!(!out.exists(), "a refused build writes nothing");
    // A file its SHA256SUMS does not list is not carried onto the site's origin.
    let planted = attacked("planted", &|site| {
        std::fs::write(site.join("data/evil.html"), "<script>alert(1)</script>").expect("write");
    });
    let output = try_build(&root, &out, &planted, &[]);
    assert!(output.status.success(), "{output:?}");
    assert!(out.join("releases/2024-01-15/data/exports.csv").is_file());
    assert!(!out.join("releases/2024-01-15/data/evil.html").exists());
    // An auditor's build (exact counts, not for publication) is never carried.
    let auditor = dir.path().join("auditor");
    release(&root, "2024-01-15", 120);
    let output = sharelog(&[
        "build",
        "--quiet",
        "--no-cache",
        "--unsuppressed",
        "--root",
        root.to_str().expect("utf-8"),
        "--out",
        auditor.to_str().expect("utf-8"),
    ]);
    assert!(output.status.success(), "{output:?}");
    release(&root, "2024-02-15", 130);
    refused(
        &try_build(&root, &dir.path().join("out2"), &auditor, &[]),
        "is an auditor's build",
    );
}

/// A rebuild with the release's own date (a typo fixed on a page) republishes it: the same
/// history, no new release; one that changes published data is refused.
#[test]
fn a_rebuild_on_the_same_date_republishes_and_may_not_change_data() {
    let (dir, root) = fixture_copy("basic");
    let sites: Vec<_> = (1..=3).map(|i| dir.path().join(format!("s{i}"))).collect();
    release(&root, "2024-01-15", 120);
    build(&root, &sites[0], None);
    release(&root, "2024-02-15", 130);
    build(&root, &sites[1], Some(&sites[0]));
    // The same date, pages only: the history is the one the site carries.
    let output = try_build(&root, &sites[2], &sites[1], &[]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        std::fs::read(sites[1].join("releases/releases.json")).expect("json"),
        std::fs::read(sites[2].join("releases/releases.json")).expect("json")
    );
    assert_eq!(
        std::fs::read(sites[1].join("data/SHA256SUMS")).expect("sums"),
        std::fs::read(sites[2].join("data/SHA256SUMS")).expect("sums")
    );
    // The same date with other numbers: refused.
    release(&root, "2024-02-15", 140);
    refused(
        &try_build(&root, &dir.path().join("s4"), &sites[1], &[]),
        "this release's data differ from it",
    );
}
