//! Opt-outs by signal and scope on `tests/fixtures/scopes/`: three partners (AI Lab trains AI,
//! Search Co indexes, Research Co does research), one export each at 2024-06-01T12:00:00Z of the
//! same six items, and owners whose opt-outs overlap:
//!
//! - o1: an AI-training opt-out in force, and an all-third-parties one withdrawn in April;
//! - o2: an opt-out naming Search Co, and an AI-training one withdrawn at the export's instant;
//! - o3: an all-third-parties opt-out made at the export's instant;
//! - o4: an opt-out naming Research Co (withdrawn in September), and an AI-training one from July;
//! - o5: two overlapping AI-training opt-outs; o6: none.
//!
//! Ledgers without `signal` and `scope` behave exactly as before: `tests/fixtures/findings/` has
//! none, and `findings.rs` checks its results to the item.

use std::collections::BTreeMap;

use crate::support::{build, fixture, read};

fn table(out: &std::path::Path, name: &str) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(out.join(name)).expect("csv");
    let headers = reader.headers().expect("header").clone();
    reader
        .records()
        .map(|r| {
            headers
                .iter()
                .zip(r.expect("row").iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

fn column(rows: &[BTreeMap<String, String>], key: &str, value: &str) -> Vec<String> {
    rows.iter()
        .map(|r| format!("{}={}", r[key], r[value]))
        .collect()
}

#[test]
fn each_partner_counts_only_the_opt_outs_that_cover_it() {
    let (_dir, out) = build(&fixture("scopes"));
    // AI Lab: o1 (AI training), o3 (all), o5 (AI training, twice: once). Search Co: o2 (named),
    // o3. Research Co: o3, o4 (named). o2's AI-training opt-out ended at the export's instant.
    assert_eq!(
        column(
            &table(&out, "data/shared-items.csv"),
            "partner",
            "opted_out"
        ),
        ["ai-lab=3", "research-co=2", "search-co=2"]
    );
    assert_eq!(
        column(
            &table(&out, "data/exports.csv"),
            "export",
            "opt_outs_in_force"
        ),
        ["to-ai-lab=3", "to-research-co=2", "to-search-co=2"]
    );
    // At the end of 2024-12-31 o4's named opt-out is withdrawn and its AI-training one stands.
    assert_eq!(
        column(
            &table(&out, "data/partners.csv"),
            "partner",
            "opt_outs_in_force"
        ),
        ["ai-lab=4", "search-co=2", "research-co=1"]
    );
    // What the opt-outs in force today ask each partner to delete: one item per owner above.
    assert_eq!(
        column(
            &table(&out, "data/partners.csv"),
            "partner",
            "items_opted_out_now"
        ),
        ["ai-lab=4", "search-co=2", "research-co=1"]
    );
    let scopes: Vec<String> = table(&out, "data/opt-out-scopes.csv")
        .iter()
        .map(|r| format!("{}:{}={}", r["scope"], r["partner"], r["active"]))
        .collect();
    assert_eq!(
        scopes,
        [
            "all-third-parties:=1",
            "ai-training:=3",
            "partner:ai-lab=0",
            "partner:search-co=1",
            "partner:research-co=0",
        ]
    );
    let findings = table(&out, "data/findings.csv");
    let opted: Vec<String> = findings
        .iter()
        .filter(|f| f["id"] == "opted-out-content-shared")
        .map(|f| format!("{}={}", f["export"], f["count"]))
        .collect();
    assert_eq!(opted, ["to-ai-lab=3", "to-research-co=2", "to-search-co=2"]);
}

#[test]
fn monthly_opt_outs_are_split_by_signal_and_count_owners_once() {
    let (_dir, out) = build(&fixture("scopes"));
    let rows: Vec<String> = table(&out, "data/opt-outs-monthly.csv")
        .iter()
        .map(|r| {
            [
                "month",
                "opted_out",
                "withdrawn",
                "active",
                "opted_out_account_setting",
                "opted_out_support_request",
                "opted_out_robots_txt",
                "opted_out_tdmrep",
                "opted_out_gpc",
                "opted_out_other",
            ]
            .iter()
            .map(|c| r[*c].clone())
            .collect::<Vec<_>>()
            .join(",")
        })
        .collect();
    assert_eq!(
        rows,
        [
            "2024-02,1,0,1,0,0,1,0,0,0",
            "2024-03,1,0,2,1,0,0,0,0,0",
            "2024-04,0,1,1,0,0,0,0,0,0",
            "2024-05,5,0,4,1,1,0,0,2,1",
            "2024-06,1,1,5,0,0,0,1,0,0",
            "2024-07,1,0,5,0,0,1,0,0,0",
            "2024-08,0,0,5,0,0,0,0,0,0",
            "2024-09,0,1,5,0,0,0,0,0,0",
        ]
    );
    let page = read(&out, "opt-outs/index.html");
    assert!(page.contains("charts/opt-outs-by-signal.svg"));
    assert!(page.contains("What the opt-outs cover"));
    assert!(out.join("charts/opt-outs-by-signal.svg").is_file());
}

#[test]
fn partner_pages_say_which_opt_outs_cover_them() {
    let (_dir, out) = build(&fixture("scopes"));
    let ai = read(&out, "partners/ai-lab/index.html");
    assert!(ai.contains("opt-outs from AI training (it trains AI models)"));
    assert!(ai.contains("4 owners had an opt-out in force that covers AI Lab"));
    let search = read(&out, "partners/search-co/index.html");
    assert!(!search.contains("opt-outs from AI training (it trains AI models)"));
    assert!(search.contains("2 owners had an opt-out in force that covers Search Co"));
    let export = read(&out, "exports/to-search-co/index.html");
    assert!(export.contains("2 owners had an opt-out covering Search Co"));
}

#[test]
fn monthly_csv_with_signals_is_checked_per_signal() {
    let (_dir, root) = crate::support::fixture_copy("scopes");
    // The month totals agree with the ledger (5 opt-outs in May); the split by signal does not.
    std::fs::write(
        root.join("data/opt-outs/monthly.csv"),
        "month,signal,opted_out,withdrawn,accounts\n\
         2024-02,robots-txt,1,0,100\n\
         2024-03,,1,0,100\n\
         2024-04,,0,1,100\n\
         2024-05,account-setting,2,0,100\n\
         2024-05,support-request,1,0,\n\
         2024-05,gpc,1,0,\n\
         2024-05,other,1,0,\n\
         2024-06,tdmrep,1,1,100\n\
         2024-07,robots-txt,1,0,100\n\
         2024-09,,0,1,100\n",
    )
    .expect("write");
    let (_out_dir, out) = build(&root);
    let findings = table(&out, "data/findings.csv");
    let mismatch: Vec<&String> = findings
        .iter()
        .filter(|f| f["id"] == "opt-out-statistics-mismatch")
        .map(|f| &f["message"])
        .collect();
    assert_eq!(mismatch.len(), 1, "{findings:?}");
    assert!(
        mismatch[0].contains("in 1 month: May 2024."),
        "{}",
        mismatch[0]
    );
    // accounts given on one row of a month apply to the month.
    let monthly = table(&out, "data/opt-outs-monthly.csv");
    assert_eq!(monthly[3]["month"], "2024-05");
    assert_eq!(monthly[3]["accounts"], "100");
}

#[test]
fn site_level_protections_get_a_table_a_chart_and_a_download() {
    let (_dir, out) = build(&fixture("scopes"));
    let rows: Vec<String> = table(&out, "data/protections-monthly.csv")
        .iter()
        .map(|r| format!("{} {} {}", r["month"], r["setting"], r["accounts"]))
        .collect();
    assert_eq!(
        rows,
        [
            "2024-05 discourage-ai-crawlers 120",
            "2024-05 discourage-search-indexing 40",
            "2024-06 discourage-ai-crawlers 150",
            "2024-06 discourage-search-indexing 2",
        ]
    );
    let page = read(&out, "opt-outs/index.html");
    assert!(page.contains("charts/protections-monthly.svg"));
    assert!(page.contains("<th scope=\"col\">Discourage AI crawlers</th>"));
    let svg = read(&out, "charts/protections-monthly.svg");
    assert!(svg.contains("Discourage search indexing: 2 at the end of June 2024."));
}
