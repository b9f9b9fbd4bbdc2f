//! `sharelog new DIR`: a minimal, valid report root that `sharelog build` turns into a site at once.

use std::path::Path;

use crate::error::{Error, Problem, Result};

/// The files of a new report root: (path inside the root, contents).
const FILES: [(&str, &str); 4] = [
    ("report.yaml", include_str!("scaffold/report.yaml")),
    ("data/partners.yaml", include_str!("scaffold/partners.yaml")),
    (
        "data/exports/first-export.yaml",
        include_str!("scaffold/export.yaml"),
    ),
    (
        "content/methodology.md",
        include_str!("scaffold/methodology.md"),
    ),
];

/// Writes a new report root into `dir`, which must not exist or be empty. Returns the files
/// written, relative to `dir`.
pub fn new_root(dir: &Path) -> Result<Vec<String>> {
    let display = dir.display().to_string();
    if dir.is_file() {
        return Err(Error::invalid(vec![
            Problem::new(&display, "is a file, not a folder")
                .help("name a new or empty folder for the report root"),
        ]));
    }
    let occupied = std::fs::read_dir(dir)
        .map(|mut entries| entries.next().is_some())
        .unwrap_or(false);
    if occupied {
        return Err(Error::invalid(vec![
            Problem::new(&display, "the folder is not empty")
                .help("name a new or empty folder, so that no file of yours is overwritten"),
        ]));
    }
    for (rel, text) in FILES {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            crate::fs::create_dir_all(parent)?;
        }
        crate::fs::write(&path, text.as_bytes())?;
    }
    // The JSON Schemas the files' `yaml-language-server` lines name.
    crate::schema::write_schemas(&dir.join("schemas"))?;
    let mut written: Vec<String> = FILES.iter().map(|(rel, _)| (*rel).to_owned()).collect();
    written.extend(
        crate::schema::SCHEMAS
            .iter()
            .map(|s| format!("schemas/{}", s.file)),
    );
    Ok(written)
}
