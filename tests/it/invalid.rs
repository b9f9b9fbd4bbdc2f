//! Invalid inputs: one problem per fixture folder, each with its expected error text.
//!
//! `tests/fixtures/invalid/<case>/` holds the files that differ from `tests/fixtures/basic/` (a
//! file named `DELETE` lists files to remove) and `expected.txt`, the exact stderr of `check`.

use crate::support::{copy_tree, fixture, sharelog};

#[test]
fn every_invalid_fixture_fails_with_its_expected_errors() {
    let cases_dir = fixture("invalid");
    let mut cases: Vec<_> = std::fs::read_dir(&cases_dir)
        .expect("invalid fixtures")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let (_dir, root) = crate::support::fixture_copy("basic");
        copy_tree(case, &root);
        if let Ok(list) = std::fs::read_to_string(root.join("DELETE")) {
            for rel in list.lines().filter(|l| !l.trim().is_empty()) {
                let path = root.join(rel.trim());
                if path.is_dir() {
                    std::fs::remove_dir_all(&path).expect("remove");
                } else {
                    std::fs::remove_file(&path).expect("remove");
                }
            }
            std::fs::remove_file(root.join("DELETE")).expect("remove");
        }
        let expected = std::fs::read_to_string(case.join("expected.txt")).expect("expected.txt");
        std::fs::remove_file(root.join("expected.txt")).expect("remove");
        let output = sharelog(&["check", "--root", root.to_str().expect("utf-8")]);
        let stderr =
            String::from_utf8_lossy(&output.stderr).replace(&*root.to_string_lossy(), "<root>");
        if output.status.code() != Some(1) {
            failures.push(format!(
                "{name}: exit {:?}, stderr:\n{stderr}",
                output.status.code()
            ));
        } else if stderr.trim_end() != expected.trim_end() {
            failures.push(format!(
                "{name}: stderr differs:\n--- expected\n{expected}\n--- actual\n{stderr}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A symbolic link inside the root that leads outside it is refused like a `..` path.
#[cfg(unix)]
#[test]
fn a_symlink_leading_outside_the_root_is_refused() {
    let (dir, root) = crate::support::fixture_copy("basic");
    let outside = dir.path().join("outside.csv");
    std::fs::copy(root.join("data/exports/items/beta-1.csv"), &outside).expect("copy");
    let link = root.join("data/exports/items/linked.csv");
    std::os::unix::fs::symlink(&outside, &link).expect("symlink");
    let manifest = root.join("data/exports/nested/beta-1.yaml");
    let text = std::fs::read_to_string(&manifest).expect("read");
    std::fs::write(&manifest, text.replace("beta-1.csv", "linked.csv")).expect("write");
    let output = sharelog(&["check", "--root", root.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("data/exports/nested/beta-1.yaml:")
            && stderr.contains("`../items/linked.csv` points outside the report root"),
        "{stderr}"
    );
}
