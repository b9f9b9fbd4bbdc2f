//! Exit codes, `check` writing nothing, and the previous site surviving a failed build.

use crate::support::{fixture_copy, sharelog};

#[test]
fn usage_errors_exit_with_2() {
    let output = sharelog(&["build", "--no-such-flag"]);
    assert_eq!(output.status.code(), Some(2));
    let output = sharelog(&["frobnicate"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn help_documents_the_exit_codes() {
    let output = sharelog(&["build", "--help"]);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("Exit codes") && text.contains("1  invalid input"),
        "{text}"
    );
}

#[test]
fn check_validates_and_writes_nothing() {
    let (_dir, root) = fixture_copy("basic");

    let before = crate::support::files(&root);
    let output = sharelog(&["check", "--root", root.to_str().expect("utf-8")]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("nothing was written"));
    assert_eq!(before, crate::support::files(&root));
    assert!(!root.join("public").exists());
}

#[test]
fn a_failed_build_leaves_the_previous_site_untouched() {
    let (dir, root) = fixture_copy("basic");
    let out = dir.path().join("site");

    let args = [
        "build",
        "--root",
        root.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ];
    assert!(sharelog(&args).status.success());
    let snapshot = crate::support::contents(&out);
    std::fs::write(root.join("data/partners.yaml"), "- id: Bad Id\n").expect("break input");
    let output = sharelog(&args);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("nothing was written"));
    let after = crate::support::contents(&out);
    assert!(snapshot == after, "the previous site changed");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("sharelog-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn refuses_to_write_the_site_over_the_inputs() {
    let (_dir, root) = fixture_copy("basic");

    for out in [root.clone(), root.join("data"), root.join("content/site")] {
        let output = sharelog(&[
            "build",
            "--root",
            root.to_str().expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
        ]);
        assert_eq!(output.status.code(), Some(1), "{}", out.display());
    }
    assert!(root.join("report.yaml").is_file());
    assert!(root.join("data/partners.yaml").is_file());
}

#[test]
fn an_export_outside_the_period_is_built_with_a_warning() {
    let (dir, root) = fixture_copy("basic");
    let out = dir.path().join("site");

    let manifest = root.join("data/exports/alpha-1.yaml");
    let text = std::fs::read_to_string(&manifest).expect("read");
    std::fs::write(
        &manifest,
        text.replace("exported_at: 2023-03-01", "exported_at: 2025-01-01"),
    )
    .expect("write");
    let output = sharelog(&[
        "build",
        "--root",
        root.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning: data/exports/alpha-1.yaml: exported_at 2025-01-01 is outside the reporting period 2023-01-01 to 2023-12-31"),
        "{stderr}"
    );
    let page = std::fs::read_to_string(out.join("exports/alpha-1/index.html")).expect("page");
    assert!(page.contains("Outside the reporting period"));
    let other = std::fs::read_to_string(out.join("exports/alpha-2/index.html")).expect("page");
    assert!(!other.contains("Outside the reporting period"));
}

#[test]
fn build_reports_its_stages_on_stderr_unless_quiet() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("site");
    let root = crate::support::fixture("basic");
    let args = |quiet: bool| {
        let mut a = vec![
            "build",
            "--root",
            root.to_str().expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
        ];
        if quiet {
            a.push("--quiet");
        }
        crate::support::sharelog(&a)
    };
    let loud = args(false);
    assert!(loud.status.success());
    let stderr = String::from_utf8_lossy(&loud.stderr);
    // Not a terminal: one plain line per stage, in order, and the summary stays on stdout.
    let stages: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("sharelog: "))
        .collect();
    assert_eq!(stages.len(), 4, "{stderr}");
    assert!(stages[0].contains("reading"), "{stderr}");
    assert!(stages[3].contains("writing"), "{stderr}");
    assert!(String::from_utf8_lossy(&loud.stdout).starts_with("built "));
    let quiet = args(true);
    assert!(quiet.status.success());
    // --quiet drops the stage reports; warnings (here: the fixture's unsafe agreement URL)
    // are still said.
    let stderr = String::from_utf8_lossy(&quiet.stderr);
    assert!(
        stderr
            .lines()
            .all(|l| l.starts_with("warning: ") || l.starts_with("  = help: ")),
        "{stderr}"
    );
    assert!(stderr.contains("agreement.url"), "{stderr}");
    assert!(quiet.stdout.is_empty());
}

#[test]
fn error_output_stays_short_whatever_the_input() {
    // 3,000 bad deletion requests, and a ledger column whose name is a megabyte long.
    let (_dir, root) = crate::support::fixture_copy("findings");
    let rows: Vec<String> = std::iter::once("request_id,partner,sent_at,items".to_owned())
        .chain((0..3000).map(|i| format!("R{i},nobody,2023-05-02,1")))
        .collect();
    std::fs::write(
        root.join("data/deletions/requests.csv"),
        rows.join("\n") + "\n",
    )
    .expect("write");
    let out = crate::support::sharelog(&["check", "--root", root.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.len() < 100_000, "{} bytes", stderr.len());
    assert!(stderr.contains("more problems not listed"), "{stderr}");
    assert!(
        stderr.ends_with("problems found; nothing was written\n"),
        "{stderr}"
    );

    let (_dir, root) = crate::support::fixture_copy("findings");
    let ledger = root.join("data/opt-outs/ledger.csv");
    let text = std::fs::read_to_string(&ledger).expect("ledger");
    let (head, rest) = text.split_once('\n').expect("a header");
    let long = "X".repeat(1_000_000);
    let rest: String = rest.lines().map(|l| format!("{l},\n")).collect();
    std::fs::write(&ledger, format!("{head},{long}\n{rest}")).expect("write");
    let out = crate::support::sharelog(&["check", "--root", root.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.len() < 10_000, "{} bytes", stderr.len());
    assert!(stderr.contains("more characters)"), "{stderr}");
}

#[test]
fn a_ledger_or_deletion_table_in_a_format_sharelog_does_not_read_is_a_problem_not_skipped() {
    // Skipped in silence, either would make findings vanish (every opt-out finding, every
    // overdue request) from a report that checks "ok".
    let (_dir, root) = crate::support::example_copy();
    let opt_outs = root.join("data/opt-outs");
    std::fs::rename(opt_outs.join("ledger.csv"), opt_outs.join("ledger.json")).expect("rename");
    std::fs::write(opt_outs.join("Ledger.CSV"), "owner_id,opted_out_at\n").expect("write");
    let deletions = root.join("data/deletions");
    std::fs::copy(
        deletions.join("requests.csv"),
        deletions.join("more-requests.parquet"),
    )
    .expect("copy");
    let out = crate::support::sharelog(&["check", "--root", root.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: data/opt-outs/ledger.json: is not read as the opt-out ledger"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error: data/deletions/more-requests.parquet: is not read: deletion requests are read from CSV files only"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error: data/opt-outs/Ledger.CSV: is not read as the opt-out ledger"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("3 problems found; nothing was written\n"),
        "{stderr}"
    );
}

#[test]
fn summary_lines_count_in_the_singular_and_the_plural() {
    // `sharelog new` writes one partner and one export.
    let (dir, root) = crate::support::new_root();
    let root_arg = root.to_str().expect("utf-8");
    let out = crate::support::sharelog(&["check", "--root", root_arg]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("ok: 1 partner, 1 export, 3,690 items;")
            || stdout.starts_with("ok: 1 partner, 1 export, 3690 items;"),
        "{stdout}"
    );
    let site = dir.path().join("site");
    let out = crate::support::sharelog(&[
        "build",
        "--root",
        root_arg,
        "--out",
        site.to_str().expect("utf-8"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("counting 1 export batch and the opt-outs"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("(1 partner, 1 export, "), "{stdout}");
    // The example: many of each.
    let out = crate::support::sharelog(&["check", "--root", env!("CARGO_MANIFEST_DIR")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("ok: 4 partners, 6 exports, "),
        "{stdout}"
    );
}

#[test]
fn diff_and_serve_do_not_say_nothing_was_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("no-such-site");
    let out = crate::support::sharelog(&[
        "diff",
        missing.to_str().expect("utf-8"),
        env!("CARGO_MANIFEST_DIR"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("nothing was written"), "{stderr}");
    assert!(!stderr.is_empty());
    // Both sides broken: one list, each problem named with its side, one total.
    let (_dir, broken) = crate::support::example_copy();
    let partners = broken.join("data/partners.yaml");
    let text = std::fs::read_to_string(&partners).expect("read");
    std::fs::write(
        &partners,
        text.replacen("    signed: 2022-09-01", "    signed: 2022-13-01", 1),
    )
    .expect("write");
    let out = crate::support::sharelog(&[
        "diff",
        missing.to_str().expect("utf-8"),
        broken.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("error: {}: is neither", missing.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "error: {}:",
            broken.join("data/partners.yaml").display()
        )),
        "{stderr}"
    );
    assert!(stderr.ends_with("error: 2 problems found\n"), "{stderr}");
}

#[test]
fn a_broken_partners_file_is_one_problem_not_one_per_ledger_row_or_response() {
    // The example's ledger has rows scoped to one partner, and responses to findings: with
    // partners.yaml unreadable, or one entry of it bad (and left out), the manifests, deletion
    // requests and ledger rows naming that partner are not reported.
    for (from, to) in [
        ("honours_opt_out: \"yes\"", "honours_opt_out: true"),
        ("    signed: 2022-09-01", "    signed: 2022-13-01"),
    ] {
        let (_dir, root) = crate::support::example_copy();
        let path = root.join("data/partners.yaml");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains(from), "{from}");
        std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
        let out = crate::support::sharelog(&["check", "--root", root.to_str().expect("utf-8")]);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("error: data/partners.yaml:"), "{stderr}");
        assert!(
            stderr.ends_with("error: 1 problem found; nothing was written\n"),
            "{to}: {stderr}"
        );
    }
}

#[test]
fn pages_of_a_root_with_one_partner_and_one_export_say_so_in_the_singular() {
    let (dir, root) = crate::support::new_root();
    let root_arg = root.to_str().expect("utf-8");
    for language in ["en", "de"] {
        let site = dir.path().join(format!("site-{language}"));
        let out = crate::support::sharelog(&[
            "build",
            "--quiet",
            "--root",
            root_arg,
            "--language",
            language,
            "--out",
            site.to_str().expect("utf-8"),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let about = std::fs::read_to_string(site.join("data/about.html")).expect("about");
        let want = if language == "en" {
            "The data covers 1 partner and 1 export batch sent from"
        } else {
            "Die Daten umfassen 1 Partner und 1 Lieferung aus der Zeit"
        };
        assert!(about.contains(want), "{language}: {about}");
        for entry in walkdir::WalkDir::new(&site).into_iter().flatten() {
            if entry.path().extension().is_none_or(|e| e != "html") {
                continue;
            }
            let html = std::fs::read_to_string(entry.path()).expect("html");
            for wrong in [
                "1 partners",
                "1 exports",
                "1 export batches",
                "1 items",
                "1 owners",
                "1 Lieferungen",
                "1 Beiträge",
            ] {
                assert!(
                    !html.contains(&format!(" {wrong}")) && !html.contains(&format!(">{wrong}")),
                    "{}: {wrong}",
                    entry.path().display()
                );
            }
        }
    }
}

#[test]
fn serve_on_a_busy_port_says_so_before_building() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let out = crate::support::sharelog(&[
        "serve",
        "--root",
        env!("CARGO_MANIFEST_DIR"),
        "--port",
        &port,
    ]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot listen on 127.0.0.1:"), "{stderr}");
    assert!(!stderr.contains("built:"), "{stderr}");
}

/// `sharelog sql` takes every parameter from the root: the export's UTC instant, its partner,
/// and the opt-out scopes that cover it (AI training only for a partner that trains AI); no
/// `opted_out` without a ledger; names that are not relation names and unknown exports are
/// refused.
#[test]
fn sql_takes_its_parameters_from_the_report_root() {
    let root = crate::support::repo();
    let root = root.to_str().expect("utf-8");
    let run = |args: &[&str]| {
        let mut all = vec!["sql", "--root", root];
        all.extend_from_slice(args);
        crate::support::sharelog(&all)
    };
    let text = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).into_owned();
    let ai = run(&["--export", "pellucid-2024-01"]);
    assert!(ai.status.success(), "{ai:?}");
    let ai = text(&ai);
    assert!(ai.contains("'2024-01-22T08:00:00Z'"), "{ai}");
    assert!(
        ai.contains("IN ('all-third-parties', 'pellucid-ai', 'ai-training')"),
        "{ai}"
    );
    assert!(ai.contains("count(o.owner_id) AS opted_out"), "{ai}");
    let search = text(&run(&["--export", "lumen-2024-02", "--engine", "spark"]));
    assert!(
        search.contains("IN ('all-third-parties', 'lumen-search')"),
        "{search}"
    );
    assert!(search.contains("count_if("), "{search}");
    // Every export at once: one branch each, filtered by the items' export column.
    let all = text(&run(&["--items", "wh.items"]));
    assert_eq!(all.matches("UNION ALL").count(), 5, "{all}");
    assert!(
        all.contains("WHERE i.export = 'northwind-2022-q4'"),
        "{all}"
    );
    assert!(all.contains("FROM wh.items AS i"), "{all}");
    // Without a ledger there is no opted_out to count.
    let basic = crate::support::fixture("basic");
    let o = crate::support::sharelog(&["sql", "--root", basic.to_str().expect("utf-8")]);
    assert!(o.status.success(), "{o:?}");
    assert!(!text(&o).contains("opted_out"), "{}", text(&o));
    for (args, message) in [
        (&["--export", "nope"][..], "no export `nope`"),
        (
            &["--items", "items; DROP TABLE x"][..],
            "is not a table or view name",
        ),
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(1), "{o:?}");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains(message), "{stderr}");
        assert!(!stderr.contains("nothing was written"), "{stderr}");
    }
}
