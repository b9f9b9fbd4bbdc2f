//! `feed.xml` (Atom), `sitemap.xml` and `data/SHA256SUMS` on the example report.

use crate::support::{build, files, fixture, fixture_copy, read, repo};

const ATOM: &str = "http://www.w3.org/2005/Atom";
const BASE: &str = "https://transparency.quillpost.example/";

#[test]
fn the_feed_is_atom_with_one_entry_per_export_and_one_for_the_report() {
    let (_dir, out) = build(&repo());
    let text = read(&out, "feed.xml");
    let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
    let feed = doc.root_element();
    assert_eq!(feed.tag_name().namespace(), Some(ATOM));
    assert_eq!(feed.tag_name().name(), "feed");
    let child = |n: roxmltree::Node<'_, '_>, name: &str| {
        n.children()
            .find(|c| c.has_tag_name((ATOM, name)))
            .and_then(|c| c.text())
            .map(str::to_owned)
    };
    assert_eq!(child(feed, "id").as_deref(), Some(BASE));
    assert!(child(feed, "updated").is_some());
    let entries: Vec<_> = feed
        .children()
        .filter(|c| c.has_tag_name((ATOM, "entry")))
        .collect();
    let exports = files(&out)
        .iter()
        .filter(|f| f.starts_with("exports/") && f.ends_with("index.html"))
        .count();
    // One per export, one for the publication, one per correction in data/corrections.yaml.
    let corrections = std::fs::read_to_string(repo().join("data/corrections.yaml"))
        .map_or(0, |t| {
            t.lines().filter(|l| l.starts_with("- date:")).count()
        });
    assert!(corrections >= 1, "the example has a correction");
    assert_eq!(entries.len(), exports + 1 + corrections);
    let mut last = String::from("9999");
    for e in &entries {
        let id = child(*e, "id").expect("id");
        assert!(id.starts_with(BASE), "absolute id: {id}");
        let updated = child(*e, "updated").expect("updated");
        assert!(
            updated.ends_with('Z') && updated.len() == 20,
            "RFC 3339 UTC: {updated}"
        );
        assert!(updated <= last, "newest first");
        last = updated;
        let link = e
            .children()
            .find(|c| c.has_tag_name((ATOM, "link")))
            .and_then(|l| l.attribute("href"))
            .expect("link");
        let page = link
            .trim_start_matches(BASE)
            .split('#')
            .next()
            .unwrap_or("");
        assert!(
            out.join(page).join("index.html").is_file(),
            "{link} is a page"
        );
    }
    assert!(
        text.contains("<id>https://transparency.quillpost.example/exports/lumen-2024-02/</id>")
    );
}

#[test]
fn the_sitemap_lists_every_page_with_an_absolute_url() {
    let (_dir, out) = build(&repo());
    let text = read(&out, "sitemap.xml");
    let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
    let ns = "http://www.sitemaps.org/schemas/sitemap/0.9";
    let locs: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name((ns, "loc")))
        .filter_map(|n| n.text().map(str::to_owned))
        .collect();
    let pages = files(&out)
        .into_iter()
        .filter(|f| f.ends_with(".html"))
        .count();
    assert_eq!(locs.len(), pages);
    for loc in &locs {
        let page = loc.strip_prefix(BASE).expect("absolute URL from base_url");
        let file = if page.is_empty() || page.ends_with('/') {
            out.join(page).join("index.html")
        } else {
            out.join(page)
        };
        assert!(file.is_file(), "{loc}");
    }
}

#[test]
fn sha256sums_covers_every_data_file_and_sha256sum_accepts_it() {
    let (_dir, out) = build(&repo());
    let sums = read(&out, "data/SHA256SUMS");
    let listed: Vec<&str> = sums.lines().filter_map(|l| l.split("  ").nth(1)).collect();
    let data: Vec<String> = files(&out)
        .into_iter()
        .filter_map(|f| f.strip_prefix("data/").map(str::to_owned))
        .filter(|f| f != "SHA256SUMS")
        .collect();
    assert_eq!(listed, data.iter().map(String::as_str).collect::<Vec<_>>());
    let check = std::process::Command::new("sha256sum")
        .args(["--check", "--strict", "SHA256SUMS"])
        .current_dir(out.join("data"))
        .output()
        .expect("sha256sum runs");
    assert!(check.status.success(), "{check:?}");
    // A changed file is caught.
    std::fs::write(out.join("data/findings.csv"), "tampered\n").expect("write");
    let tampered = std::process::Command::new("sha256sum")
        .args(["--check", "--quiet", "SHA256SUMS"])
        .current_dir(out.join("data"))
        .output()
        .expect("sha256sum runs");
    assert!(!tampered.status.success());
}

#[test]
fn report_json_summarises_the_published_tables() {
    let (_dir, out) = build(&repo());
    let summary: serde_json::Value =
        serde_json::from_str(&read(&out, "data/report.json")).expect("JSON");
    let exports: serde_json::Value =
        serde_json::from_str(&read(&out, "data/exports.json")).expect("JSON");
    let exports = exports.as_array().expect("array");
    let items: u64 = exports.iter().filter_map(|e| e["items"].as_u64()).sum();
    assert_eq!(summary["totals"]["items"].as_u64(), Some(items));
    assert_eq!(
        summary["totals"]["exports"].as_u64(),
        Some(exports.len() as u64)
    );
    let findings: serde_json::Value =
        serde_json::from_str(&read(&out, "data/findings.json")).expect("JSON");
    for severity in ["high", "medium", "info"] {
        let n = findings
            .as_array()
            .expect("array")
            .iter()
            .filter(|f| f["severity"] == severity)
            .count() as u64;
        assert_eq!(
            summary["findings"][severity].as_u64(),
            Some(n),
            "{severity}"
        );
    }
    assert_eq!(summary["published"], "2024-09-30");
    assert_eq!(summary["partners"].as_array().map(Vec::len), Some(4));
    assert!(read(&out, "data/SHA256SUMS").contains("  report.json\n"));
}

#[test]
fn corrections_get_a_page_and_feed_entries_with_stable_ids() {
    let (_dir, root) = fixture_copy("basic");
    let first = "- date: 2023-12-01\n  what: The alpha-1 total was 220; it is 202.\n  why: A draft manifest was counted.\n";
    std::fs::write(root.join("data/corrections.yaml"), first).expect("write");
    let (_out_dir, out) = build(&root);
    let page = read(&out, "corrections/index.html");
    assert!(
        page.contains("The alpha-1 total was 220; it is 202."),
        "{page}"
    );
    assert!(page.contains("A draft manifest was counted."));
    let feed = read(&out, "feed.xml");
    let doc = roxmltree::Document::parse(&feed).expect("feed parses");
    let ids: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("id"))
        .filter_map(|n| n.text().map(str::to_owned))
        .filter(|t| t.contains("/corrections/"))
        .collect();
    assert_eq!(ids.len(), 1, "{feed}");
    // A newer correction added above it: its id stays, and the page lists the newer first.
    let second = "- date: 2024-01-10\n  what: The photo count of beta-1 was restated.\n  why: A late listing.\n";
    std::fs::write(
        root.join("data/corrections.yaml"),
        format!("{second}{first}"),
    )
    .expect("write");
    let (_out_dir2, out2) = build(&root);
    let feed2 = read(&out2, "feed.xml");
    assert!(feed2.contains(&ids[0]), "the first correction keeps its id");
    let page2 = read(&out2, "corrections/index.html");
    let newer = page2.find("restated").expect("newer");
    let older = page2.find("220").expect("older");
    assert!(newer < older, "newest first");
}

#[test]
fn the_site_root_has_a_citation_file() {
    let (_dir, out) = build(&fixture("basic"));
    let text = read(&out, "CITATION.cff");
    let cff: serde_json::Value = serde_saphyr::from_str(&text).expect("CITATION.cff is YAML");
    assert_eq!(cff["cff-version"], "1.2.0");
    assert_eq!(cff["type"], "dataset");
    assert!(cff["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(cff["authors"][0]["name"].is_string());
    assert_eq!(cff["license"], "ODbL-1.0");
    assert!(cff["date-released"].is_string(), "{text}");
    assert!(cff["message"].is_string());
}

#[test]
fn control_characters_in_inputs_leave_the_feed_and_sitemap_well_formed_xml() {
    // A NUL, a bell and U+FFFF in the title and a partner's name: XML 1.0 allows none of them.
    let (_dir, root) = fixture_copy("basic");
    let yaml = root.join("report.yaml");
    let text = std::fs::read_to_string(&yaml).expect("report.yaml");
    std::fs::write(
        &yaml,
        text.replace(
            "title: Fixture report",
            "title: \"Fixture\\0 report\\a \\uFFFF\"",
        ),
    )
    .expect("write");
    let partners = root.join("data/partners.yaml");
    let text = std::fs::read_to_string(&partners).expect("partners.yaml");
    std::fs::write(
        &partners,
        text.replace("name: Beta Research", "name: \"Beta\\0 Research\""),
    )
    .expect("write");
    let (_out_dir, out) = build(&root);
    for file in ["feed.xml", "sitemap.xml"] {
        let xml = read(&out, file);
        roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
    assert!(read(&out, "feed.xml").contains("Fixture\u{FFFD} report\u{FFFD}"));
}
