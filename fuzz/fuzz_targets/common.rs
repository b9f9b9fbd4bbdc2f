//! A report root in a temporary folder that each fuzz input rewrites, then `sharelog::check`.

use std::path::PathBuf;
use std::sync::OnceLock;

/// The fuzzing root, created once per process with a valid report in it.
pub fn root() -> &'static PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("sharelog-fuzz-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("data/exports/items")).expect("fuzz root");
        std::fs::create_dir_all(dir.join("content")).expect("fuzz root");
        write("report.yaml", REPORT.as_bytes());
        write("data/partners.yaml", PARTNERS.as_bytes());
        write("data/exports/e.yaml", EXPORT.as_bytes());
        write("content/page.md", b"---\ntitle: Page\n---\nText.\n");
        dir
    })
}

/// Writes one file of the fuzzing root.
pub fn write(rel: &str, bytes: &[u8]) {
    let dir = std::env::temp_dir().join(format!("sharelog-fuzz-{}", std::process::id()));
    std::fs::write(dir.join(rel), bytes).expect("write fuzz input");
}

pub const REPORT: &str = "title: T\nplatform: {name: P}\nperiod: {from: 2020-01-01, to: 2024-12-31}\npublished: 2025-01-01\ncategories: [{id: text, label: Text}, {id: photo, label: Photo}]\nprivacy: {min_count: 2}\n";
pub const PARTNERS: &str = "- {id: p, name: P, purposes: [ai-training], agreement: {signed: 2020-01-01}, honours_opt_out: \"yes\", deletion_deadline_days: 30}\n";
pub const EXPORT: &str = "id: e\npartner: p\nexported_at: 2023-05-01T12:00:00+02:00\ncontent_window: {from: 2020-01-01, to: 2022-12-31}\nitems: items/items.csv\n";
