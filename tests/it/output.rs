//! What `--out` may be, and two builds into one folder at once (issue 17, items 1 and 2).

use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::{contents, fixture_copy, sharelog};

fn build_into(root: &Path, out: &Path) -> std::process::Output {
    sharelog(&[
        "build",
        "--quiet",
        "--root",
        root.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ])
}

/// Names in `dir` that a build leaves beside `--out` (staging, previous, lock).
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("sharelog-"))
        .collect()
}

#[test]
fn a_folder_sharelog_did_not_write_is_refused_and_kept() {
    let (dir, root) = fixture_copy("basic");
    let docs = dir.path().join("mydocs");
    std::fs::create_dir_all(docs.join("chapters")).expect("mkdir");
    std::fs::write(docs.join("thesis.txt"), "years of work").expect("write");
    std::fs::write(docs.join("chapters/one.md"), "# One").expect("write");

    let output = build_into(&root, &docs);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("sharelog did not write") && stderr.contains("`thesis.txt`"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(docs.join("thesis.txt")).expect("kept"),
        "years of work"
    );
    assert!(docs.join("chapters/one.md").is_file());
    assert!(!docs.join("index.html").exists());
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
}

#[test]
fn a_file_is_refused_and_every_later_build_to_it_says_the_same() {
    let (dir, root) = fixture_copy("basic");
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "my notes").expect("write");
    for _ in 0..2 {
        let output = build_into(&root, &notes);
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("is a file, not a folder"), "{stderr}");
        assert_eq!(std::fs::read_to_string(&notes).expect("kept"), "my notes");
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );
    }
}

#[test]
fn the_roots_own_files_and_folders_are_refused() {
    let (_dir, root) = fixture_copy("basic");
    std::fs::create_dir_all(root.join("i18n")).expect("mkdir");
    std::fs::write(root.join("i18n/en.yaml"), "{}\n").expect("write");
    for out in [
        root.join("i18n"),
        root.join("report.yaml"),
        root.join("data/partners.yaml"),
    ] {
        let output = build_into(&root, &out);
        assert_eq!(output.status.code(), Some(1), "{}", out.display());
    }
    assert!(root.join("report.yaml").is_file());
    assert!(root.join("i18n/en.yaml").is_file());
    assert!(root.join("data/partners.yaml").is_file());
    // A new folder in the root is the usual place and builds.
    let output = build_into(&root, &root.join("public"));
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_file_added_to_a_built_site_stops_the_next_build_until_it_is_moved() {
    let (dir, root) = fixture_copy("basic");
    let out = dir.path().join("site");
    assert!(build_into(&root, &out).status.success());
    let marker = std::fs::read_to_string(out.join(".sharelog-site")).expect("marker");
    assert!(marker.lines().any(|l| l == "index.html"), "{marker}");
    assert!(marker.lines().any(|l| l == "data/report.json"), "{marker}");

    std::fs::write(out.join("CNAME"), "transparency.example.org").expect("write");
    let output = build_into(&root, &out);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`CNAME` that the last build did not write"),
        "{stderr}"
    );
    assert!(out.join("CNAME").is_file());

    std::fs::remove_file(out.join("CNAME")).expect("remove");
    assert!(build_into(&root, &out).status.success());
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
}

#[test]
fn a_site_written_before_the_marker_is_still_replaced() {
    let (dir, root) = fixture_copy("basic");
    let out = dir.path().join("site");
    assert!(build_into(&root, &out).status.success());
    std::fs::remove_file(out.join(".sharelog-site")).expect("remove");
    // Sites from before the marker had no workbook or database: files of those names in a
    // folder without the marker are someone else's, and are refused.
    for file in ["data/report.xlsx", "data/report.sqlite"] {
        std::fs::remove_file(out.join(file)).expect("remove");
    }
    let output = build_into(&root, &out);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(out.join(".sharelog-site").is_file());

    // Without the list, a file of a kind no site holds is not sharelog's: refused, kept. (A
    // `data/report.json` naming sharelog is easily made, or left by an artifact download that
    // drops hidden files.)
    std::fs::remove_file(out.join(".sharelog-site")).expect("remove");
    std::fs::write(out.join("thesis.txt"), "years of work").expect("write");
    std::fs::create_dir_all(out.join("src")).expect("mkdir");
    std::fs::write(out.join("src/main.rs"), "fn main() {}").expect("write");
    let output = build_into(&root, &out);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("`src/main.rs`, `thesis.txt`"), "{stderr}");
    assert!(out.join("thesis.txt").is_file() && out.join("src/main.rs").is_file());
}

#[cfg(unix)]
#[test]
fn a_marker_that_is_a_fifo_or_a_link_is_no_marker_and_never_blocks() {
    let (dir, root) = fixture_copy("basic");
    let out = dir.path().join("site");
    assert!(build_into(&root, &out).status.success());
    let marker = out.join(".sharelog-site");
    std::fs::remove_file(&marker).expect("remove");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&marker)
            .status()
            .expect("mkfifo")
            .success()
    );
    let output = build_into(&root, &out);
    assert_eq!(output.status.code(), Some(1));
    std::fs::remove_file(&marker).expect("remove");
    std::os::unix::fs::symlink("/etc/hostname", &marker).expect("symlink");
    assert_eq!(build_into(&root, &out).status.code(), Some(1));
}

#[cfg(unix)]
#[test]
fn a_link_given_with_a_trailing_slash_or_dot_is_still_a_link() {
    let (dir, root) = fixture_copy("basic");
    let real = dir.path().join("real");
    std::fs::create_dir_all(&real).expect("mkdir");
    let link = dir.path().join("site");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    for spelt in [
        format!("{}/", link.display()),
        format!("{}/.", link.display()),
    ] {
        let output = sharelog(&[
            "build",
            "--quiet",
            "--root",
            root.to_str().expect("utf-8"),
            "--out",
            &spelt,
        ]);
        assert_eq!(output.status.code(), Some(1), "{spelt}");
        assert!(
            leftovers(dir.path()).is_empty(),
            "{spelt}: {:?}",
            leftovers(dir.path())
        );
    }
    assert!(
        std::fs::read_dir(&real).expect("list").next().is_none(),
        "nothing written"
    );
}

#[test]
fn a_cache_inside_out_is_refused_before_anything_is_written() {
    let (dir, root) = fixture_copy("basic");
    let out = dir.path().join("public");
    let output = sharelog(&[
        "build",
        "--root",
        root.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--cache",
        out.join("cache").to_str().expect("utf-8"),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--cache is inside --out"));
    assert!(!out.exists());

    // Also when the cache is named through a link to the site's folder.
    #[cfg(unix)]
    {
        assert!(build_into(&root, &out).status.success());
        let link = dir.path().join("to-public");
        std::os::unix::fs::symlink(&out, &link).expect("symlink");
        let before = contents(&out);
        let output = sharelog(&[
            "build",
            "--root",
            root.to_str().expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
            "--cache",
            link.join("c").to_str().expect("utf-8"),
        ]);
        assert_eq!(output.status.code(), Some(1));
        assert!(contents(&out) == before, "the site changed");
    }
}

#[test]
fn a_link_as_out_is_refused() {
    #[cfg(unix)]
    {
        let (dir, root) = fixture_copy("basic");
        let real = dir.path().join("real");
        std::fs::create_dir_all(&real).expect("mkdir");
        let link = dir.path().join("site");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        let output = build_into(&root, &link);
        assert_eq!(output.status.code(), Some(1));
        assert!(
            std::fs::symlink_metadata(&link)
                .expect("link")
                .file_type()
                .is_symlink()
        );
    }
}

/// Two real processes build one root into one folder at the same moment, several times: both
/// succeed, and what is published is always one whole site.
#[test]
fn two_builds_into_one_folder_at_once_each_publish_a_whole_site() {
    let (dir, root) = fixture_copy("basic");
    // Enough pages that the two writes overlap.
    for i in 0..400 {
        std::fs::write(
            root.join(format!("data/exports/gen-{i}.yaml")),
            format!(
                "id: gen-{i}\npartner: alpha-ai\nexported_at: 2023-03-01\ncounts:\n  - {{category: text, year: 2021, items: 120, explicit: 4}}\n"
            ),
        )
        .expect("write");
    }
    let reference = dir.path().join("reference");
    let output = build_into(&root, &reference);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected = contents(&reference);
    let out = dir.path().join("site");
    for round in 0..4 {
        let spawn = || {
            Command::new(env!("CARGO_BIN_EXE_sharelog"))
                .args(["build", "--quiet", "--root"])
                .arg(&root)
                .arg("--out")
                .arg(&out)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        };
        let (a, b) = (spawn(), spawn());
        for child in [a, b] {
            let output = child.wait_with_output().expect("wait");
            assert!(
                output.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        assert!(
            contents(&out) == expected,
            "round {round}: the published site is not whole"
        );
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );
    }
}
