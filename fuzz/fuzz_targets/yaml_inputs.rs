//! Arbitrary bytes as the report's YAML and Markdown inputs: `sharelog check` must never panic.
//! The input is split on NUL bytes into report.yaml, partners.yaml, a manifest and a content page.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let root = common::root();
    let mut parts = data.split(|b| *b == 0);
    let files = [
        ("report.yaml", common::REPORT.as_bytes()),
        ("data/partners.yaml", common::PARTNERS.as_bytes()),
        ("data/exports/e.yaml", common::EXPORT.as_bytes()),
        ("content/page.md", b"---\ntitle: Page\n---\nText.\n".as_slice()),
    ];
    for (rel, default) in files {
        common::write(rel, parts.next().unwrap_or(default));
    }
    common::write("data/exports/items/items.csv", b"item_id,owner_id,category,created_at\n1,1,text,2021-01-01\n");
    let _ = sharelog::check(root);
});
