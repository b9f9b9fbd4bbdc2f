//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture report root.
pub(crate) fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures").join(name)
}

/// A temporary copy of a fixture root: (tempdir, the root inside it). The tempdir also has room
/// beside the root for an output folder.
pub(crate) fn fixture_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    copy_tree(&fixture(name), &root);
    (dir, root)
}

/// Copies a folder tree.
pub(crate) fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("fixture tree is readable");
        let rel = entry.path().strip_prefix(from).expect("inside the tree");
        let target = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).expect("create folder");
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// Runs the `sharelog` binary.
pub(crate) fn sharelog(args: &[&str]) -> Output {
    sharelog_with_env(&[], args)
}

/// Runs the `sharelog` binary with extra environment variables.
pub(crate) fn sharelog_with_env(env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sharelog"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("the sharelog binary runs")
}

/// Builds `root` into a fresh temporary folder and returns (tempdir, out path).
pub(crate) fn build(root: &Path) -> (tempfile::TempDir, PathBuf) {
    build_with_env(root, &[])
}

/// An auditor's build (`--unsuppressed`): exact counts, for tests about values, not suppression.
pub(crate) fn build_exact(root: &Path) -> (tempfile::TempDir, PathBuf) {
    build_with(root, &[], &["--unsuppressed"])
}

/// Like [`build`], with extra environment variables for the process.
pub(crate) fn build_with_env(root: &Path, env: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    build_with(root, env, &[])
}

/// Like [`build`], with extra command-line arguments.
pub(crate) fn build_with_args(root: &Path, extra: &[&str]) -> (tempfile::TempDir, PathBuf) {
    build_with(root, &[], extra)
}

fn build_with(root: &Path, env: &[(&str, &str)], extra: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("site");
    let mut args = vec![
        "build",
        "--root",
        root.to_str().expect("utf-8 path"),
        "--out",
        out.to_str().expect("utf-8 path"),
    ];
    args.extend(extra);
    let output = sharelog_with_env(env, &args);
    assert!(
        output.status.success(),
        "build failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (dir, out)
}

/// Reads a file of a built site as text.
pub(crate) fn read(out: &Path, rel: &str) -> String {
    std::fs::read_to_string(out.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every file under `dir`, relative, sorted.
pub(crate) fn files(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(dir)
                .expect("inside")
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    out.sort();
    out
}

/// Every file under `dir` with its bytes, sorted by path.
pub(crate) fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    files(dir)
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(dir.join(&f)).expect("read");
            (f, bytes)
        })
        .collect()
}

/// A copy of the repository's example report (listings in CSV and Parquet, a ledger, declared
/// counts): (tempdir, root).
pub(crate) fn example_copy() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    for part in ["data", "content"] {
        copy_tree(&repo().join(part), &root.join(part));
    }
    std::fs::copy(repo().join("report.yaml"), root.join("report.yaml")).expect("copy");
    (dir, root)
}

/// A new root, as `sharelog new` writes it (one partner, one export), in a temporary folder.
pub(crate) fn new_root() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("root");
    let out = sharelog(&["new", root.to_str().expect("utf-8")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (dir, root)
}

/// The 0-based month of a `YYYY-MM` text (January is 0).
pub(crate) fn month_of(text: &str) -> u32 {
    text.get(5..7)
        .and_then(|m| m.parse::<u32>().ok())
        .map_or(0, |m| m - 1)
}

/// The rows of `data/<name>.csv` of a built site, each a map from column to cell.
pub(crate) fn csv_maps(out: &Path, name: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let csv = read(out, &format!("data/{name}.csv"));
    csv::Reader::from_reader(csv.as_bytes())
        .deserialize()
        .map(|r| r.expect("row"))
        .collect()
}
