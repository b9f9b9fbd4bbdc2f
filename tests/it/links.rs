//! One rule for every input (issue 17, item 9): a file or folder may be a symbolic link, but
//! where it leads must be inside the report root; otherwise the build stops with the link's
//! name, and nothing of the outside file is read or printed.

#![cfg(unix)]

use std::os::unix::fs::symlink;
use std::path::Path;

use crate::support::{fixture_copy, sharelog};

/// A file outside the root whose contents must never reach the output or the error.
fn secret(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join("outside").join(name);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, text).expect("write");
    path
}

/// Replaces `rel` in the root (or creates it) with a link to `target`.
fn link(root: &Path, rel: &str, target: &Path) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let _ = std::fs::remove_file(&path);
    symlink(target, &path).expect("symlink");
}

fn build_fails_naming(root: &Path, out: &Path, rel: &str, never: &str) {
    let output = sharelog(&[
        "build",
        "--no-cache",
        "--root",
        root.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{rel}: {stderr}");
    assert!(
        stderr.contains(&format!(
            "error: {rel}: is a symbolic link that leads outside the report root"
        )),
        "{rel}: {stderr}"
    );
    assert!(
        !stderr.contains(never),
        "{rel}: the outside file was read: {stderr}"
    );
    assert!(!out.exists(), "{rel}: a site was written");
}

#[test]
fn every_kind_of_input_linked_out_of_the_root_is_refused_by_name() {
    let valid_page = "---\ntitle: Leaked page SECRET-PAGE\n---\n\nSECRET-PAGE\n";
    let cases: [(&str, &str, &str); 8] = [
        (
            "data/corrections.yaml",
            "- date: 2023-06-01\n  what: SECRET-CORRECTION\n  why: x\n",
            "SECRET-CORRECTION",
        ),
        ("i18n/en.yaml", "nav_home: SECRET-I18N\n", "SECRET-I18N"),
        (
            "data/opt-outs/ledger.csv",
            "root:x:0:0:SECRET-PASSWD:/root:/bin/bash\n",
            "SECRET-PASSWD",
        ),
        ("content/leak.md", valid_page, "SECRET-PAGE"),
        (
            "templates/page.html",
            "SECRET-TEMPLATE {{ page.title }}",
            "SECRET-TEMPLATE",
        ),
        (
            "data/exports/leak.yaml",
            "id: leak\npartner: alpha-ai\nexported_at: 2023-03-01\ncounts:\n  - {category: text, year: 2021, items: 99}\n# SECRET-MANIFEST\n",
            "SECRET-MANIFEST",
        ),
        (
            "data/deletions/leak.csv",
            "request_id,partner,sent_at,items\nSECRET-DELETION,alpha-ai,2023-04-01,5\n",
            "SECRET-DELETION",
        ),
        (
            "data/opt-outs/monthly.csv",
            "month,opted_out,withdrawn\n2023-01,1,SECRET-MONTHLY\n",
            "SECRET-MONTHLY",
        ),
    ];
    for (rel, text, marker) in cases {
        let (dir, root) = fixture_copy("basic");
        let target = secret(dir.path(), "target", text);
        link(&root, rel, &target);
        build_fails_naming(&root, &dir.path().join("site"), rel, marker);
    }
}

#[test]
fn a_linked_folder_out_of_the_root_is_refused_and_links_inside_it_are_followed() {
    // A folder of content pages linked from outside.
    let (dir, root) = fixture_copy("basic");
    let outside = dir.path().join("outside-pages");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::write(outside.join("a.md"), "---\ntitle: A\n---\nSECRET-FOLDER\n").expect("write");
    symlink(&outside, root.join("content/more")).expect("symlink");
    build_fails_naming(
        &root,
        &dir.path().join("site"),
        "content/more",
        "SECRET-FOLDER",
    );

    // A link that stays inside the root is an ordinary input.
    let (dir, root) = fixture_copy("basic");
    std::fs::create_dir_all(root.join("shared")).expect("mkdir");
    std::fs::write(
        root.join("shared/about.md"),
        "---\ntitle: About us\n---\nLinked inside.\n",
    )
    .expect("write");
    symlink(root.join("shared/about.md"), root.join("content/about.md")).expect("symlink");
    let out = dir.path().join("site");
    let output = sharelog(&[
        "build",
        "--no-cache",
        "--root",
        root.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let page = std::fs::read_to_string(out.join("about/index.html")).expect("the linked page");
    assert!(page.contains("Linked inside."));
}

#[test]
fn a_link_that_leads_nowhere_is_named() {
    let (dir, root) = fixture_copy("basic");
    symlink(dir.path().join("missing.md"), root.join("content/gone.md")).expect("symlink");
    let output = sharelog(&["check", "--root", root.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("content/gone.md"), "{stderr}");
}

/// Runs `sharelog check` with a deadline (a FIFO read would block it for ever): its output.
fn check_with_deadline(root: &Path) -> std::process::Output {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_sharelog"))
        .args(["check", "--root"])
        .arg(root)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let id = child.id();
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(60));
        // Still running after a minute: it blocked on the FIFO.
        let _ = std::process::Command::new("kill")
            .args(["-9", &id.to_string()])
            .status();
    });
    let output = child.wait_with_output().expect("wait");
    drop(watchdog);
    assert!(
        output.status.code().is_some(),
        "killed: the check blocked on a FIFO"
    );
    output
}

#[test]
fn an_input_that_is_a_fifo_is_named_not_read_or_skipped() {
    for rel in [
        "report.yaml",
        "data/opt-outs/monthly.csv",
        "data/opt-outs/ledger.csv",
        "data/deletions/requests.csv",
        "content/faq.md",
        "data/exports/zz.yaml",
    ] {
        let (_dir, root) = fixture_copy("deletions");
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        let _ = std::fs::remove_file(&path);
        let status = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("mkfifo");
        assert!(status.success());
        let output = check_with_deadline(&root);
        assert_eq!(output.status.code(), Some(1), "{rel}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!("{rel}: ")) && stderr.contains("not a regular file"),
            "{rel}: {stderr}"
        );
    }
}
