//! Compliance findings on `tests/fixtures/findings/`, whose every row sits on a boundary of the
//! time rules, and the `--fail-on` gate.
//!
//! The fixture (export x1 at 2023-06-01T23:30:00Z, content window 2023-01-01..2023-05-31):
//! - o1 opted out at the very instant of the export: opted out (`opted_out_at <= t`);
//! - o2 withdrew at that instant: not opted out (`withdrawn_at > t` fails);
//! - o3 opted out, withdrew, then opted out twice more: its one item counts once;
//! - o4 opted out at 2023-06-02T01:00+02:00, which is 23:00 UTC the day before: opted out;
//! - o6 opted out on 2023-06-02 (midnight UTC, after the export) and o7 one microsecond after it;
//! - i6 `2023-01-01T00:30+01:00` is 2022 in UTC (outside the window), i7 `2022-12-31T23:30-01:00`
//!   is 2023 (inside); i8 and i9 were created on 1 June UTC, after the window's last day.
//!
//! Deletions (published 2023-12-31, so "now" is the end of that day): R1 completed exactly 30 days
//! after it was sent (in time), R2 one second later (late), R3 still open after 30 days (overdue),
//! R4 open but within its deadline, R5 open with its 10-day deadline at 2023-12-31T12:00Z (overdue).

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::{build, build_exact, fixture, fixture_copy, read, sharelog};

fn records(path: &Path) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_path(path).expect("csv");
    reader
        .records()
        .map(|r| r.expect("row").iter().map(str::to_owned).collect())
        .collect()
}

fn rows(lines: &[&[&str]]) -> Vec<Vec<String>> {
    lines
        .iter()
        .map(|l| l.iter().map(|s| (*s).to_owned()).collect())
        .collect()
}

#[test]
fn every_finding_is_found_on_its_boundaries() {
    // Exact counts (an auditor's build): this is about the boundaries, not suppression.
    let (_dir, out) = build_exact(&fixture("findings"));
    let want = rows(&[
        &[
            "checksum-mismatch",
            "high",
            "beta",
            "x2",
            "",
            "1",
            "1 shipped file of export x2 does not match the SHA-256 in its manifest: files/f-bad.txt.",
        ],
        &[
            "declared-count-mismatch",
            "high",
            "acme",
            "x1",
            "",
            "1",
            "The declared counts of export x1 differ from its item listing in 1 (category, year) cell: the manifest declares 9 items, the listing holds 10 items (1 item more than declared).",
        ],
        &[
            "deletion-overdue",
            "high",
            "acme",
            "",
            "",
            "2",
            "2 deletion requests to Acme AI, covering 200 items, were not completed within the 30-day deadline: 1 completed late, 1 still open on December 31, 2023.",
        ],
        &[
            "deletion-overdue",
            "high",
            "beta",
            "",
            "",
            "1",
            "1 deletion request to Beta Search, covering 2 items, was not completed within the 10-day deadline: 1 still open on December 31, 2023.",
        ],
        &[
            "opted-out-content-shared",
            "high",
            "acme",
            "x1",
            "",
            "4",
            "4 items shared with Acme AI in export x1 belonged to owners who had opted out when it was exported (June 1, 2023, 23:30 UTC). Its manifest says opted-out owners were excluded.",
        ],
        &[
            "sensitive-content-shared",
            "high",
            "acme",
            "x1",
            "private",
            "1",
            "1 item marked private was shared with Acme AI in export x1, although its manifest says they were excluded (filters.public_only).",
        ],
        &[
            "sensitive-content-shared",
            "high",
            "beta",
            "x2",
            "minor",
            "4",
            "4 items created by minors were shared with Beta Search in export x2, although its manifest says they were excluded (filters.exclude_minors).",
        ],
        &[
            "opt-out-statistics-mismatch",
            "medium",
            "",
            "",
            "",
            "1",
            "The monthly opt-out table (data/opt-outs/monthly.csv) disagrees with the opt-out ledger in 1 month: June 2023. The published opt-out figures come from the ledger.",
        ],
        &[
            "outside-content-window",
            "medium",
            "acme",
            "x1",
            "",
            "3",
            "3 items in export x1 were created outside its content window (January 1, 2023 to May 31, 2023).",
        ],
        &[
            "outside-content-window",
            "medium",
            "beta",
            "x2",
            "",
            "50",
            "At least 50 items in export x2 were created outside its content window (January 1, 2023 to December 31, 2023), judging by the years of its declared counts.",
        ],
        &[
            "sensitive-content-shared",
            "medium",
            "acme",
            "x1",
            "explicit",
            "1",
            "1 item marked explicit was shared with Acme AI in export x1; its manifest does not claim to exclude them.",
        ],
        &[
            "opt-out-not-honoured",
            "info",
            "acme",
            "",
            "",
            "10",
            "Acme AI received 10 items, and its agreement does not oblige it to honour opt-outs.",
        ],
    ]);
    let exact = records(&out.join("data/findings.csv"));
    let mark = "NOT FOR PUBLICATION: auditor's build with exact, unsuppressed counts";
    assert!(
        exact
            .iter()
            .all(|r| r.last().map(String::as_str) == Some(mark))
    );
    // The fixture has no responses: response_date and response are empty in every row.
    let exact: Vec<Vec<String>> = exact
        .into_iter()
        .map(|mut r| {
            r.pop();
            assert_eq!(r.split_off(7), ["", ""], "{r:?}");
            r
        })
        .collect();
    assert_eq!(exact, want);
}

#[test]
fn a_finding_with_a_suppressed_count_is_still_published() {
    let (_exact_dir, exact_out) = build_exact(&fixture("findings"));
    let (_dir, out) = build(&fixture("findings"));
    let exact = records(&exact_out.join("data/findings.csv"));
    let published = records(&out.join("data/findings.csv"));
    // The same findings, in the same order: only counts and their sentences may differ.
    assert_eq!(exact.len(), published.len());
    let mut hidden = 0;
    for (e, p) in exact.iter().zip(&published) {
        assert_eq!(e[..5], p[..5]);
        if p[5].is_empty() {
            hidden += 1;
            assert!(
                p[6].contains("suppressed"),
                "a suppressed count says so: {}",
                p[6]
            );
            assert!(!p[6].contains(&format!("{} item", e[5])), "{}", p[6]);
        } else {
            assert_eq!(e[5], p[5]);
            let n: u64 = p[5].parse().expect("count");
            let counts_items = ![
                "checksum-mismatch",
                "declared-count-mismatch",
                "deletion-overdue",
                "opt-out-statistics-mismatch",
            ]
            .contains(&p[0].as_str());
            assert!(!counts_items || n == 0 || n >= 3, "{p:?}");
        }
    }
    // The fixture's private and explicit findings (1 item each, min_count 3) are hidden, and so
    // is at least one more count that would give them away.
    assert!(hidden >= 3, "{published:?}");
    let json: serde_json::Value =
        serde_json::from_str(&read(&out, "data/findings.json")).expect("json");
    let private = json
        .as_array()
        .expect("array")
        .iter()
        .find(|f| f["flag"] == "private")
        .expect("private finding");
    assert_eq!(private["count"], serde_json::Value::Null);
}

#[test]
fn deletion_requests_are_counted_by_status_per_partner_and_month() {
    let (_dir, out) = build(&fixture("findings"));
    let want = rows(&[
        &[
            "acme", "2023-07", "2", "1", "2", "1", "0", "1", "160", "40", "160", "120", "1", "0",
            "0",
        ],
        &[
            "acme", "2023-08", "1", "1", "0", "0", "1", "1", "80", "80", "0", "80", "0", "1", "0",
        ],
        &[
            "acme", "2023-12", "1", "0", "0", "0", "1", "0", "30", "0", "0", "0", "0", "0", "1",
        ],
        // 2 items are below min_count 3: suppressed; request counts never are. The last three
        // columns split the requests by state: completed in time, open past and within the deadline.
        &[
            "beta", "2023-12", "1", "0", "0", "0", "1", "1", "", "0", "0", "", "0", "1", "0",
        ],
    ]);
    assert_eq!(records(&out.join("data/deletions.csv")), want);
    let page = read(&out, "partners/acme/index.html");
    assert!(page.contains("Deletion requests sent to Acme AI, by month sent"));
    assert!(page.contains("charts/deletions-acme.svg"));
    assert!(out.join("charts/deletions-acme.svg").is_file());
}

/// With `min_count: 1` nothing is suppressed, so every opted-out cell and monthly figure shows.
#[test]
fn the_ledger_join_and_the_monthly_table_follow_the_time_rules() {
    let (dir, root) = fixture_copy("findings");
    let report = read(&root, "report.yaml").replace("min_count: 3", "min_count: 1");
    std::fs::write(root.join("report.yaml"), report).expect("write");
    let (_out_dir, out) = build(&root);
    let shared: BTreeMap<(String, String, String), Vec<String>> =
        records(&out.join("data/shared-items.csv"))
            .into_iter()
            .map(|r| {
                (
                    (r[1].clone(), r[2].clone(), r[3].clone()),
                    r[4..11].to_vec(),
                )
            })
            .collect();
    let cell = |export: &str, category: &str, year: &str| {
        shared[&(export.to_owned(), category.to_owned(), year.to_owned())].clone()
    };
    // items, private, deleted, suspended, explicit, minor, opted_out
    assert_eq!(
        cell("x1", "text", "2022"),
        ["1", "0", "0", "0", "0", "0", "0"]
    );
    assert_eq!(
        cell("x1", "text", "2023"),
        ["5", "1", "0", "0", "0", "0", "2"]
    );
    assert_eq!(
        cell("x1", "photo", "2023"),
        ["4", "0", "0", "0", "1", "0", "2"]
    );
    // x2 has declared counts only, of items and minor: the flags it does not declare and
    // opted_out are not declared (empty), never 0.
    assert_eq!(cell("x2", "text", "2023"), ["100", "", "", "", "", "4", ""]);
    assert_eq!(
        records(&out.join("data/opt-outs-monthly.csv")),
        rows(&[
            // month, opted_out, withdrawn, active, accounts, then new opt-outs per signal (the
            // ledger has no signal column, so every opt-out is an account setting), and the
            // months each row covers.
            &[
                "2023-05", "4", "1", "2", "1000", "4", "0", "0", "0", "0", "0", "1"
            ],
            &[
                "2023-06", "4", "1", "5", "1010", "4", "0", "0", "0", "0", "0", "1"
            ],
        ])
    );
    drop(dir);
}

#[test]
fn the_monthly_table_is_computed_from_the_ledger_alone() {
    let (_dir, root) = fixture_copy("findings");
    std::fs::remove_file(root.join("data/opt-outs/monthly.csv")).expect("remove");
    let (_out_dir, out) = build(&root);
    let findings = read(&out, "data/findings.csv");
    assert!(!findings.contains("opt-out-statistics-mismatch"));
    let monthly = records(&out.join("data/opt-outs-monthly.csv"));
    // withdrawn 1 is below min_count 3; accounts are unknown without monthly.csv.
    assert_eq!(
        monthly,
        rows(&[
            &[
                "2023-05", "4", "", "", "", "4", "0", "0", "0", "0", "0", "1"
            ],
            &[
                "2023-06", "4", "", "5", "", "4", "0", "0", "0", "0", "0", "1"
            ],
        ])
    );
}

#[test]
fn pages_show_findings_where_they_belong() {
    let (_dir, out) = build(&fixture("findings"));
    let all = read(&out, "findings/index.html");
    for id in [
        "checksum-mismatch",
        "declared-count-mismatch",
        "deletion-overdue",
        "opted-out-content-shared",
        "sensitive-content-shared",
        "outside-content-window",
        "opt-out-not-honoured",
        "opt-out-statistics-mismatch",
    ] {
        assert!(all.contains(&format!("<code>{id}</code>")), "{id}");
    }
    // The findings page lists the most serious first.
    let high = all
        .find("badge-high\">High</span></td>")
        .expect("a high finding");
    let info = all
        .find("badge-info\">Info</span></td>")
        .expect("an info finding");
    assert!(high < info);
    let overview = read(&out, "index.html");
    assert!(overview.contains("High-severity findings"));
    assert!(overview.contains("findings/index.html"));
    let x1 = read(&out, "exports/x1/index.html");
    assert!(x1.contains("opted-out-content-shared"));
    assert!(
        !x1.contains("checksum-mismatch"),
        "x2's finding is not on x1's page"
    );
    let x2 = read(&out, "exports/x2/index.html");
    for (file, status) in [
        ("files/f-ok.txt", "verified against"),
        ("files/f-bad.txt", "differs from"),
        ("files/missing.bin", "not verified"),
    ] {
        let row = x2
            .split("<tr>")
            .find(|r| r.contains(&format!(">{file}<")))
            .unwrap_or_else(|| panic!("{file} listed"));
        assert!(row.contains(status), "{file}: {row}");
    }
    let beta = read(&out, "partners/beta/index.html");
    assert!(beta.contains("checksum-mismatch"));
    assert!(!beta.contains("opt-out-not-honoured"), "acme's finding");
}

#[test]
fn fail_on_exits_4_at_or_above_the_severity_and_still_writes_the_site() {
    let root = fixture("findings");
    let root = root.to_str().expect("utf-8");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("public");
    let out_s = out.to_str().expect("utf-8");

    let plain = sharelog(&["build", "--root", root, "--out", out_s]);
    assert_eq!(plain.status.code(), Some(0), "findings alone never fail");

    std::fs::remove_dir_all(&out).expect("remove");
    let gated = sharelog(&["build", "--root", root, "--out", out_s, "--fail-on", "high"]);
    assert_eq!(gated.status.code(), Some(4));
    assert!(
        out.join("findings/index.html").is_file(),
        "the site is written"
    );
    let stderr = String::from_utf8_lossy(&gated.stderr);
    assert!(
        stderr.contains("7 findings failed the gate (--fail-on high)"),
        "{stderr}"
    );
    // Each is named, and the site `build` wrote is pointed at.
    assert!(
        stderr.contains("  high opted-out-content-shared partner=acme export=x1: count"),
        "{stderr}"
    );
    assert!(stderr.contains("findings/index.html"), "{stderr}");
    // `check` writes nothing, so it points at nothing.
    let check = sharelog(&["check", "--root", root, "--fail-on", "high"]);
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(
        !stderr.contains("index.html") && !stderr.contains("findings.csv"),
        "{stderr}"
    );

    for (severity, code) in [("high", 4), ("medium", 4), ("info", 4)] {
        let check = sharelog(&["check", "--root", root, "--fail-on", severity]);
        assert_eq!(
            check.status.code(),
            Some(code),
            "check --fail-on {severity}"
        );
    }
    let bad = sharelog(&["check", "--root", root, "--fail-on", "severe"]);
    assert_eq!(
        bad.status.code(),
        Some(2),
        "unknown severity is a usage error"
    );
}

/// A minimal root: one partner whose agreement is silent on opt-outs (an info finding), one export
/// with declared counts, `extra` appended to its one count row.
fn small_root(dir: &Path, extra: &str) -> std::path::PathBuf {
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("data/exports")).expect("mkdir");
    std::fs::write(
        root.join("report.yaml"),
        "title: T\nplatform: {name: P}\nperiod: {from: 2023-01-01, to: 2023-12-31}\npublished: 2024-01-01\ncategories: [{id: text, label: Text}]\n",
    )
    .expect("write");
    std::fs::write(
        root.join("data/partners.yaml"),
        "- {id: p, name: P, purposes: [research], agreement: {signed: 2023-01-01}, honours_opt_out: unknown}\n",
    )
    .expect("write");
    std::fs::write(
        root.join("data/exports/e.yaml"),
        format!("id: e\npartner: p\nexported_at: 2023-05-01\ncounts:\n  - {{category: text, year: 2022, items: 100{extra}}}\n"),
    )
    .expect("write");
    root
}

#[test]
fn fail_on_ignores_findings_below_the_severity() {
    let dir = tempfile::tempdir().expect("tempdir");
    let check = |root: &Path, severity: &str| {
        sharelog(&[
            "check",
            "--root",
            root.to_str().expect("utf-8"),
            "--fail-on",
            severity,
        ])
        .status
        .code()
    };
    // Only opt-out-not-honoured (info).
    let root = small_root(dir.path(), "");
    assert_eq!(check(&root, "high"), Some(0));
    assert_eq!(check(&root, "medium"), Some(0));
    assert_eq!(check(&root, "info"), Some(4));
    // Explicit items the filters did not claim to exclude: medium.
    let root = small_root(&dir.path().join("b"), ", explicit: 20");
    assert_eq!(check(&root, "high"), Some(0));
    assert_eq!(check(&root, "medium"), Some(4));
}

#[test]
fn declared_counts_are_compared_only_in_the_columns_they_declare() {
    // x1's listing has 1 private item in text/2023 and 1 explicit in photo/2023. Declared counts
    // that give only items, and give them right, declare nothing about the flags: no mismatch.
    let (_dir, root) = fixture_copy("findings");
    let manifest = root.join("data/exports/x1.yaml");
    let text = std::fs::read_to_string(&manifest).expect("x1.yaml");
    let start = text.find("counts:").expect("counts");
    let counts = "counts:\n  - {category: text, year: 2022, items: 1}\n  - {category: text, year: 2023, items: 5}\n  - {category: photo, year: 2023, items: 4}\n";
    let rest = &text[start..];
    let end = rest
        .find("\n")
        .and_then(|_| {
            rest.lines()
                .skip(1)
                .position(|l| !l.starts_with("  "))
                .map(|n| rest.lines().take(n + 1).map(|l| l.len() + 1).sum::<usize>())
        })
        .unwrap_or(rest.len());
    let text = format!("{}{counts}{}", &text[..start], &rest[end..]);
    std::fs::write(&manifest, &text).expect("write");
    let (_out_dir, out) = build(&root);
    let findings = read(&out, "data/findings.csv");
    assert!(
        !findings.contains("declared-count-mismatch,high,acme,x1"),
        "{text}\n{findings}"
    );
    // One cell wrong in a declared column (items): exactly that cell is counted, not the flags
    // the manifest leaves out.
    std::fs::write(&manifest, text.replace("items: 5}", "items: 6}")).expect("write");
    let (_out_dir, out) = build(&root);
    let findings = read(&out, "data/findings.csv");
    let row = findings
        .lines()
        .find(|l| l.starts_with("declared-count-mismatch,high,acme,x1,"))
        .unwrap_or_else(|| panic!("{findings}"));
    assert!(row.contains(",x1,,1,"), "{row}");
}

#[test]
fn a_flag_the_manifest_does_not_declare_is_not_declared_not_zero() {
    // x2 declares items and minor only.
    let (_dir, out) = build(&fixture("findings"));
    let html = read(&out, "exports/x2/index.html");
    assert!(html.contains(">not declared<"), "{html}");
    let json: serde_json::Value =
        serde_json::from_str(&read(&out, "data/shared-items.json")).expect("json");
    let row = json
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["export"] == "x2" && r["year"] == 2023)
        .expect("x2 2023");
    assert!(
        row["deleted"].is_null() && row["private"].is_null(),
        "{row}"
    );
    assert_eq!(row["minor"], 4);
    assert_eq!(
        row["not_declared"],
        "private;deleted;suspended;explicit;opted_out"
    );
}

/// A root with one high finding: 20 explicit items in an export whose filters claim to exclude
/// explicit content; `responses` is data/responses.yaml when given.
fn responded_root(dir: &Path, explicit: u64, responses: Option<&str>) -> std::path::PathBuf {
    let root = small_root(dir, &format!(", explicit: {explicit}"));
    let manifest = root.join("data/exports/e.yaml");
    let text = std::fs::read_to_string(&manifest).expect("read");
    std::fs::write(
        &manifest,
        text.replace("counts:", "filters: {exclude_explicit: true}\ncounts:"),
    )
    .expect("write");
    if let Some(r) = responses {
        std::fs::write(root.join("data/responses.yaml"), r).expect("write");
    }
    root
}

const RESPONSE: &str = "- finding: {id: sensitive-content-shared, export: e, flag: explicit}\n  count: 20\n  date: 2023-12-01\n  response: We asked P to delete the **20 items**; it confirmed on 2023-12-20.\n";

#[test]
fn a_response_at_the_findings_count_passes_the_gate_and_is_published() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = responded_root(dir.path(), 20, Some(RESPONSE));
    let root_s = root.to_str().expect("utf-8");
    let out = dir.path().join("site");
    let out_s = out.to_str().expect("utf-8");
    let built = sharelog(&[
        "build",
        "--root",
        root_s,
        "--out",
        out_s,
        "--fail-on",
        "high",
    ]);
    assert_eq!(
        built.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let page = read(&out, "findings/index.html");
    assert!(
        page.contains("We asked P to delete the <strong>20 items</strong>"),
        "{page}"
    );
    assert!(
        page.contains("The platform&#39;s response (December 1, 2023):"),
        "{page}"
    );
    for rel in ["partners/p/index.html", "exports/e/index.html"] {
        assert!(
            read(&out, rel).contains("it confirmed on 2023-12-20"),
            "{rel}"
        );
    }
    let csv = read(&out, "data/findings.csv");
    let header = csv.lines().next().expect("header");
    assert!(header.ends_with(",response_date,response"), "{header}");
    assert!(
        csv.contains(",2023-12-01,We asked P to delete the **20 items**"),
        "{csv}"
    );
    // --fail-on-any keeps the old gate: any high finding fails it.
    let any = sharelog(&["check", "--root", root_s, "--fail-on-any", "high"]);
    assert_eq!(any.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&any.stderr);
    assert!(stderr.contains("responded to (covers 20)"), "{stderr}");

    // Without the response, the same root fails --fail-on high.
    let dir2 = tempfile::tempdir().expect("tempdir");
    let bare = responded_root(dir2.path(), 20, None);
    let check = sharelog(&[
        "check",
        "--root",
        bare.to_str().expect("utf-8"),
        "--fail-on",
        "high",
    ]);
    assert_eq!(check.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&check.stderr).contains("; no response"));
}

#[test]
fn a_finding_that_grew_past_its_response_fails_the_gate_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = responded_root(dir.path(), 25, Some(RESPONSE));
    let check = sharelog(&[
        "check",
        "--root",
        root.to_str().expect("utf-8"),
        "--fail-on",
        "high",
    ]);
    assert_eq!(check.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(
        stderr.contains(
            "  high sensitive-content-shared partner=p export=e flag=explicit: count 25; its response covers 20"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 finding failed the gate (--fail-on high)"),
        "{stderr}"
    );
}

#[test]
fn responses_that_name_no_finding_two_or_a_later_date_are_located_problems() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = format!(
        "{RESPONSE}\
- finding: {{id: sensitive-content-shared, flag: explicit}}\n  count: 20\n  date: 2023-12-02\n  response: Again.\n\
- finding: {{id: deletion-overdue, partner: p}}\n  count: 1\n  date: 2023-12-01\n  response: x\n\
- finding: {{id: no-such-finding}}\n  count: 1\n  date: 2023-12-01\n  response: x\n\
- finding: {{id: opt-out-not-honoured, partner: p}}\n  count: 1\n  date: 2024-02-01\n  response: Too late.\n"
    );
    let root = responded_root(dir.path(), 20, Some(&bad));
    let check = sharelog(&["check", "--root", root.to_str().expect("utf-8")]);
    assert_eq!(check.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&check.stderr);
    for expected in [
        "data/responses.yaml:5:",
        "a second response to the finding {id: sensitive-content-shared, partner: p, export: e, flag: explicit}; the first is at line 1",
        "data/responses.yaml:9:",
        "matches no finding of this report",
        "`no-such-finding` is not a finding id",
        "`2024-02-01` is after the report's date `2024-01-01`",
    ] {
        assert!(stderr.contains(expected), "{expected}: {stderr}");
    }
    // An unknown key is named with its line and column.
    let root = responded_root(
        &dir.path().join("b"),
        20,
        Some(
            "- finding: {id: opt-out-not-honoured, partner: p, colour: red}\n  count: 1\n  date: 2023-12-01\n  response: x\n",
        ),
    );
    let check = sharelog(&["check", "--root", root.to_str().expect("utf-8")]);
    assert_eq!(check.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(stderr.contains("data/responses.yaml:1:"), "{stderr}");
    assert!(stderr.contains("unknown field `colour`"), "{stderr}");
}

/// A response may not cover more than its finding counts: a count above it would let the
/// finding grow past the gate unseen. The finding's own count is not printed (it may be hidden).
#[test]
fn a_response_covering_more_than_its_finding_is_a_located_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = responded_root(dir.path(), 17, Some(RESPONSE));
    let check = sharelog(&["check", "--root", root.to_str().expect("utf-8")]);
    assert_eq!(check.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(stderr.contains("data/responses.yaml:1:"), "{stderr}");
    assert!(
        stderr.contains("covers 20 items, more than the finding counts"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("17"),
        "the finding's count is not printed: {stderr}"
    );
}
