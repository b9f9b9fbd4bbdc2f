//! Suppression on random reports: no published count is small, zero is never hidden, and no
//! hidden count can be worked out from the published ones. The relations between published
//! numbers are rebuilt here from the CSV files' meaning, independently of the code under test,
//! and the check for "worked out" is a floating-point rank test, not the code's modular one.

use std::collections::BTreeMap;

use crate::reference::{
    FLAGS, SIGNALS, csv_rows, generate, reference_cells, reference_monthly, write_root,
};

/// Published numbers, their true values and how they add up.
#[derive(Default)]
struct Numbers {
    truth: Vec<u64>,
    shown: Vec<Option<u64>>,
    what: Vec<String>,
    relations: Vec<(Vec<usize>, Vec<usize>)>,
}

impl Numbers {
    fn add(&mut self, what: String, truth: u64, cell: &str) -> usize {
        let shown = if cell.is_empty() {
            None
        } else {
            Some(cell.parse().unwrap_or_else(|_| panic!("{what}: {cell:?}")))
        };
        if let Some(v) = shown {
            assert_eq!(v, truth, "{what}: published value is not the true one");
        }
        self.truth.push(truth);
        self.shown.push(shown);
        self.what.push(what);
        self.truth.len() - 1
    }

    /// Records `Σ plus = Σ minus` when it holds for the true values.
    fn relate(&mut self, plus: Vec<usize>, minus: Vec<usize>) {
        let sum = |v: &[usize]| v.iter().map(|&i| self.truth[i]).sum::<u64>();
        if plus.len() + minus.len() >= 2 && sum(&plus) == sum(&minus) {
            self.relations.push((plus, minus));
        }
    }
}

/// Rank of a dense matrix by Gaussian elimination with partial pivoting.
fn rank(mut m: Vec<Vec<f64>>) -> usize {
    let cols = m.first().map_or(0, Vec::len);
    let mut r = 0;
    for c in 0..cols {
        let Some(p) = (r..m.len()).max_by(|&a, &b| m[a][c].abs().total_cmp(&m[b][c].abs())) else {
            break;
        };
        if m[p][c].abs() < 1e-9 {
            continue;
        }
        m.swap(r, p);
        for i in 0..m.len() {
            if i != r {
                let f = m[i][c] / m[r][c];
                if f != 0.0 {
                    let pivot = m[r].clone();
                    for (x, p) in m[i].iter_mut().zip(&pivot).skip(c) {
                        *x -= f * p;
                    }
                }
            }
        }
        r += 1;
    }
    r
}

/// The hidden numbers that the relations determine: e_i is in the row space of the relations
/// restricted to the hidden numbers.
fn determined(n: &Numbers) -> Vec<usize> {
    let hidden: Vec<usize> = (0..n.truth.len())
        .filter(|&i| n.shown[i].is_none())
        .collect();
    let col: BTreeMap<usize, usize> = hidden.iter().enumerate().map(|(c, &i)| (i, c)).collect();
    let rows: Vec<Vec<f64>> = n
        .relations
        .iter()
        .map(|(plus, minus)| {
            let mut row = vec![0.0; hidden.len()];
            for &i in plus {
                if let Some(&c) = col.get(&i) {
                    row[c] += 1.0;
                }
            }
            for &i in minus {
                if let Some(&c) = col.get(&i) {
                    row[c] -= 1.0;
                }
            }
            row
        })
        .filter(|row| row.iter().any(|&x| x != 0.0))
        .collect();
    let base = rank(rows.clone());
    hidden
        .iter()
        .enumerate()
        .filter(|&(c, _)| {
            let mut with = rows.clone();
            let mut unit = vec![0.0; hidden.len()];
            unit[c] = 1.0;
            with.push(unit);
            rank(with) == base
        })
        .map(|(_, &i)| i)
        .collect()
}

fn check(seed: u64, min: u64) {
    let case = generate(seed);
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    write_root(&case, &root, "csv", "csv");
    let report = root.join("report.yaml");
    let text = std::fs::read_to_string(&report).expect("report.yaml");
    std::fs::write(
        &report,
        text.replace("min_count: 1", &format!("min_count: {min}")),
    )
    .expect("write report.yaml");
    let (site, _) = sharelog::render_site(&root).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    let ctx = format!("seed {seed}, min_count {min}");
    let cells = reference_cells(&case);
    let mut n = Numbers::default();

    // shared-items: the rows of the one export `e`.
    let mut column: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut by_year: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    let with_ledger = !case.ledger.is_empty();
    for r in csv_rows(&site, "data/shared-items.csv") {
        let year: i32 = r["year"].parse().expect("year");
        let truth = cells[&(r["category"].clone(), year)];
        let mut names: Vec<&str> = vec!["items"];
        names.extend(FLAGS);
        if with_ledger {
            names.push("opted_out");
        }
        for (k, name) in names.iter().enumerate() {
            let id = n.add(
                format!("shared-items {} {year} {name}", r["category"]),
                truth[k],
                &r[*name],
            );
            column.entry(name).or_default().push(id);
            if *name == "items" {
                by_year.entry(year).or_default().push(id);
            }
        }
    }
    let items = column.get("items").cloned().unwrap_or_default();
    for r in csv_rows(&site, "data/exports.csv") {
        let truth = cells.values().map(|c| c[0]).sum();
        let e = n.add("exports e items".into(), truth, &r["items"]);
        n.relate(vec![e], items.clone());
        for p in csv_rows(&site, "data/partners.csv") {
            if p["partner"] == "p" {
                let id = n.add("partners p items".into(), truth, &p["items"]);
                n.relate(vec![id], vec![e]);
            }
        }
    }
    // Findings about the export: each flag's total, the opted-out total, items outside the window.
    for r in csv_rows(&site, "data/findings.csv") {
        let (parts, truth): (Vec<usize>, u64) = match r["id"].as_str() {
            "sensitive-content-shared" => {
                let k = FLAGS.iter().position(|f| *f == r["flag"]).expect("flag");
                (
                    column.get(FLAGS[k]).cloned().unwrap_or_default(),
                    cells.values().map(|c| c[k + 1]).sum(),
                )
            }
            "opted-out-content-shared" => (
                column.get("opted_out").cloned().unwrap_or_default(),
                cells.values().map(|c| c[6]).sum(),
            ),
            "outside-content-window" => {
                // The window lies within 2020: other years are wholly outside it.
                let outside: Vec<usize> = by_year
                    .iter()
                    .filter(|(y, _)| **y != 2020)
                    .flat_map(|(_, ids)| ids.iter().copied())
                    .collect();
                let truth = case
                    .items
                    .iter()
                    .filter(|i| {
                        let d = i.created.at.date_naive();
                        d < case.window.0 || d > case.window.1
                    })
                    .count() as u64;
                (outside, truth)
            }
            _ => continue,
        };
        let id = n.add(
            format!("finding {} {}", r["id"], r["flag"]),
            truth,
            &r["count"],
        );
        n.relate(vec![id], parts);
    }
    // opt-outs-monthly: active(m) + withdrawn(m) = active(m−1) + opted_out(m); signals sum.
    let monthly = reference_monthly(&case.ledger);
    let mut previous: Option<usize> = None;
    for r in csv_rows(&site, "data/opt-outs-monthly.csv") {
        let (opted, withdrawn, active, by_signal) = monthly[&r["month"]];
        let m = &r["month"];
        let o = n.add(format!("{m} opted_out"), opted, &r["opted_out"]);
        let w = n.add(format!("{m} withdrawn"), withdrawn, &r["withdrawn"]);
        let a = n.add(format!("{m} active"), active, &r["active"]);
        let mut minus = vec![o];
        minus.extend(previous);
        n.relate(vec![a, w], minus);
        let signals: Vec<usize> = SIGNALS
            .iter()
            .zip(by_signal)
            .map(|(s, v)| {
                let col = format!("opted_out_{}", s.replace('-', "_"));
                n.add(format!("{m} {col}"), v, &r[&col])
            })
            .collect();
        n.relate(vec![o], signals);
        previous = Some(a);
    }

    for i in 0..n.truth.len() {
        if let Some(v) = n.shown[i] {
            assert!(
                v == 0 || v >= min,
                "{ctx}: {} = {v} is published",
                n.what[i]
            );
        } else {
            assert!(n.truth[i] > 0, "{ctx}: {} is 0 but hidden", n.what[i]);
        }
    }
    let exposed = determined(&n);
    assert!(
        exposed.is_empty(),
        "{ctx}: hidden numbers can be worked out: {:?}",
        exposed
            .iter()
            .map(|&i| format!("{} = {}", n.what[i], n.truth[i]))
            .collect::<Vec<_>>()
    );
}

#[test]
fn no_hidden_count_can_be_worked_out_on_random_reports() {
    let cases: u64 = std::env::var("SHARELOG_PROPERTY_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    for seed in 0..cases {
        for min in [3, 5, 10] {
            check(seed, min);
        }
    }
}

#[test]
fn the_oracle_sees_what_subtraction_gives_away() {
    // The oracle itself must be able to fail: one hidden part of a published total is determined.
    let mut n = Numbers::default();
    let a = n.add("a".into(), 3, "");
    let b = n.add("b".into(), 40, "40");
    let t = n.add("t".into(), 43, "43");
    n.relate(vec![t], vec![a, b]);
    assert_eq!(determined(&n), vec![a]);
    // Two hidden parts of a published total are not.
    n.shown[b] = None;
    assert!(determined(&n).is_empty());
}

/// Every label of a site that says something is suppressed.
fn suppression_claims(out: &std::path::Path) -> Vec<String> {
    crate::support::files(out)
        .into_iter()
        .filter(|f| f.ends_with(".html") || f.ends_with(".json"))
        .filter_map(|f| {
            let text = crate::support::read(out, &f);
            [
                "read “suppressed”",
                "are suppressed",
                "suppressed: a count",
                "counts from 1 to 0",
                "Counts from 1 to 0",
            ]
            .iter()
            .find(|claim| text.contains(*claim))
            .map(|claim| format!("{f}: {claim}"))
        })
        .collect()
}

#[test]
fn an_auditors_build_and_min_count_one_say_nothing_is_suppressed() {
    // The normal build says it suppresses (so the check below can fail)…
    let root = crate::support::fixture("basic");
    let (_dir, out) = crate::support::build(&root);
    assert!(!suppression_claims(&out).is_empty());
    // …an auditor's build does not, anywhere.
    let (_dir, exact) = crate::support::build_exact(&root);
    assert_eq!(suppression_claims(&exact), Vec::<String>::new());
    let footer = crate::support::read(&exact, "index.html");
    assert!(
        footer.contains("auditor&#39;s build: every count is exact")
            || footer.contains("auditor's build: every count is exact"),
        "{footer}"
    );
    // …and neither does a build with min_count: 1.
    let (_root_dir, copy) = crate::support::fixture_copy("basic");
    let yaml = copy.join("report.yaml");
    let text = std::fs::read_to_string(&yaml).expect("report.yaml");
    std::fs::write(&yaml, text.replace("min_count: 3", "min_count: 1")).expect("write");
    let (_dir, one) = crate::support::build(&copy);
    assert_eq!(suppression_claims(&one), Vec::<String>::new());
    assert!(crate::support::read(&one, "index.html").contains("No count is suppressed"));
    let package = crate::support::read(&one, "data/datapackage.json");
    assert!(package.contains("\"min_count\": 1"), "{package}");
}

#[test]
fn a_deletion_rows_item_columns_do_not_give_a_hidden_count_away() {
    // Issue 16's root: four requests to one partner (2,870, 5,400, 4 and 120 items), all
    // acknowledged, the last not completed. The 120-item month used to publish its items empty
    // and items_acknowledged = 120; the partner's total then gave the 4 away.
    let (_dir, out) = crate::support::build(&crate::support::fixture("deletions"));
    let csv = crate::support::read(&out, "data/deletions.csv");
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    let head: Vec<String> = rows
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let at = |name: &str| head.iter().position(|h| h == name).expect(name);
    let mut hidden = 0;
    for row in rows.records() {
        let row = row.expect("row");
        if !row[at("items")].is_empty() {
            continue;
        }
        hidden += 1;
        // Every state all of the month's requests are in has the same items: hidden as well.
        for (requests, items) in [
            ("requests_acknowledged", "items_acknowledged"),
            ("requests_completed", "items_completed"),
            ("requests_overdue", "items_overdue"),
        ] {
            if row[at(requests)] == row[at("requests")] {
                assert_eq!(&row[at(items)], "", "{items} gives items away: {row:?}");
            }
        }
    }
    // The partner's total is published, so at least two of its months are hidden.
    assert!(hidden >= 2, "{csv}");
    let partners = crate::support::read(&out, "data/partners.csv");
    assert!(partners.contains(",4,8394"), "{partners}");
}

#[test]
fn with_min_count_one_and_bands_a_count_hidden_to_protect_a_band_is_labelled_so() {
    // Bands hide counts, so even with min_count 1 a total that would give a band away is
    // suppressed: then no page or metadata file may say that nothing is.
    let (_dir, root) = crate::support::fixture_copy("attack-in-force");
    let yaml = root.join("report.yaml");
    let text = std::fs::read_to_string(&yaml).expect("report.yaml");
    let text = text.replace(
        "privacy:\n  min_count: 10\n",
        "privacy:\n  min_count: 1\n  bands:\n    width: 250\n    tables: [opt-outs-monthly, opt-out-scopes]\n",
    );
    assert!(text.contains("width: 250"), "{text}");
    std::fs::write(&yaml, text).expect("write");
    let (_out_dir, out) = crate::support::build(&root);
    let summary: serde_json::Value =
        serde_json::from_str(&crate::support::read(&out, "data/report.json")).expect("json");
    assert!(
        summary["suppression"]["secondary"].as_u64() > Some(0),
        "{summary}"
    );
    for file in crate::support::files(&out) {
        if file.ends_with(".html") || file.ends_with(".json") {
            let text = crate::support::read(&out, &file);
            assert!(!text.contains("No count is suppressed:"), "{file}");
            assert!(!text.contains("No count is suppressed (privacy"), "{file}");
        }
    }
    assert!(
        crate::support::read(&out, "index.html").contains("No count is suppressed for being small")
    );
    let package = crate::support::read(&out, "data/datapackage.json");
    assert!(package.contains("hidden so that a banded count cannot be worked out"));
}

/// The hidden share per table (build summary, data page, report.json) counts exactly the empty
/// cells of suppressed columns that are not empty for another reason.
#[test]
fn the_hidden_share_per_table_counts_the_hidden_cells() {
    let root = crate::support::fixture("findings");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("site");
    let o = crate::support::sharelog(&[
        "build",
        "--root",
        root.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{o:?}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let report: serde_json::Value =
        serde_json::from_str(&crate::support::read(&out, "data/report.json")).expect("json");
    let hidden = report["hidden"].as_array().expect("hidden");
    let of = |table: &str| -> (u64, u64) {
        let h = hidden
            .iter()
            .find(|h| h["table"] == table)
            .unwrap_or_else(|| panic!("{table} in {hidden:?}"));
        (
            h["counts"].as_u64().expect("counts"),
            h["hidden"].as_u64().expect("hidden"),
        )
    };
    // shared-items: every count column, less the cells its row says are not declared.
    let columns = [
        "items",
        "private",
        "deleted",
        "suspended",
        "explicit",
        "minor",
        "opted_out",
    ];
    let (mut counts, mut empty) = (0, 0);
    for row in crate::support::csv_maps(&out, "shared-items") {
        let undeclared: Vec<&str> = row["not_declared"].split(';').collect();
        for c in columns.iter().filter(|c| !undeclared.contains(c)) {
            counts += 1;
            empty += u64::from(row[*c].is_empty());
        }
    }
    assert!(empty > 0, "the fixture hides some cells");
    assert_eq!(of("shared-items"), (counts, empty));
    // The hidden counts of the tables are among those suppression hid (which also counts the
    // numbers findings' sentences repeat, such as a mismatch's declared total).
    let total: u64 = hidden
        .iter()
        .map(|h| h["hidden"].as_u64().unwrap_or(0))
        .sum();
    let s = &report["suppression"];
    assert!(total > 0);
    assert!(total <= s["primary"].as_u64().unwrap_or(0) + s["secondary"].as_u64().unwrap_or(0));
    // The build says so, and the data page shows the table.
    assert!(
        stdout.contains(&format!("suppressed: {total} of ")),
        "{stdout}"
    );
    let page = crate::support::read(&out, "data/index.html");
    assert!(page.contains("Hidden counts per table"), "data page");
}

/// `privacy.quarters`: where a month's flow would be hidden and its quarter's is not small, the
/// quarter is one row of opt-outs-monthly. The rows still cover every month once, the flows add
/// up to the months', and fewer counts are hidden.
#[test]
fn quarters_show_what_hidden_months_would_not() {
    let (_dir, root) = crate::support::example_copy();
    let (_d1, monthly) = crate::support::build(&root);
    let (_d2, exact) = crate::support::build_exact(&root);
    let yaml = root.join("report.yaml");
    let text = std::fs::read_to_string(&yaml).expect("report.yaml");
    assert!(text.contains("privacy:\n"), "{text}");
    std::fs::write(
        &yaml,
        text.replace("privacy:\n", "privacy:\n  quarters: true\n"),
    )
    .expect("write");
    let (_d3, quarterly) = crate::support::build(&root);
    let rows = |out: &std::path::Path| crate::support::csv_maps(out, "opt-outs-monthly");
    let (months, quarters, truth) = (rows(&monthly), rows(&quarterly), rows(&exact));
    assert!(quarters.len() < months.len(), "some quarter is one row");
    let covered: u64 = quarters
        .iter()
        .map(|r| r["months"].parse::<u64>().expect("months"))
        .sum();
    assert_eq!(covered as usize, truth.len(), "every month once");
    // Each row's flows are its months' sums, its active the last month's.
    let mut at = 0;
    for q in &quarters {
        let n: usize = q["months"].parse().expect("months");
        let span = &truth[at..at + n];
        assert_eq!(q["month"], span[0]["month"]);
        // A quarter's row starts with its first month (the series' first row may start later).
        if n > 1 && at > 0 {
            let first = crate::support::month_of(&span[0]["month"]);
            assert_eq!(first % 3, 0, "{q:?}");
        }
        // Its months are one calendar quarter.
        let quarter = |m: &str| (m[..4].to_owned(), crate::support::month_of(m) / 3);
        assert!(
            span.iter()
                .all(|m| quarter(&m["month"]) == quarter(&span[0]["month"]))
        );
        for column in ["opted_out", "withdrawn"] {
            if q[column].is_empty() {
                continue;
            }
            let sum: u64 = span
                .iter()
                .map(|m| m[column].parse::<u64>().expect("n"))
                .sum();
            assert_eq!(q[column], sum.to_string(), "{column} of {q:?}");
        }
        if !q["active"].is_empty() {
            assert_eq!(q["active"], span[n - 1]["active"]);
        }
        at += n;
    }
    // Hidden counts: every count column (the signal columns too).
    let hidden = |rows: &[BTreeMap<String, String>]| -> usize {
        rows.iter()
            .flat_map(|r| {
                r.iter()
                    .filter(|(c, _)| !["month", "months", "accounts"].contains(&c.as_str()))
                    .map(|(_, v)| v.is_empty())
            })
            .filter(|e| *e)
            .count()
    };
    assert!(hidden(&months) > 0, "the example hides some monthly counts");
    assert!(hidden(&quarters) < hidden(&months));
    // The opt-outs page names the quarter's months.
    let page = crate::support::read(&quarterly, "opt-outs/index.html");
    assert!(
        page.contains(" to "),
        "a quarter's row is labelled with its months"
    );
}

/// Requests are counted by state in both `deletions` (by month) and `deletions-by-export` (by
/// batch and reason), so a reader can match them: with a 4-item request next to a published
/// 412-item one, a group of both (416) would give the 4 away. A partner with any hidden
/// deletion item count has every group's items hidden.
#[test]
fn deletion_groups_do_not_give_a_hidden_month_away() {
    let (_dir, root) = crate::support::example_copy();
    let requests = root.join("data/deletions/requests.csv");
    let mut text = std::fs::read_to_string(&requests).expect("requests");
    text.push_str(
        "DR-V-001,lumen-search,2024-09-10,4,2024-09-11,,lumen-2024-02,sensitive-content\n",
    );
    std::fs::write(&requests, text).expect("write");
    let (_d, out) = crate::support::build(&root);
    let months = crate::support::csv_maps(&out, "deletions");
    let groups = crate::support::csv_maps(&out, "deletions-by-export");
    let mut checked = 0;
    for partner in months.iter().map(|m| m["partner"].clone()) {
        let hides = months.iter().filter(|m| m["partner"] == partner).any(|m| {
            [
                "items",
                "items_acknowledged",
                "items_completed",
                "items_overdue",
            ]
            .iter()
            .any(|c| m[*c].is_empty())
        });
        if hides {
            checked += 1;
            for g in groups.iter().filter(|g| g["partner"] == partner) {
                assert!(g["items"].is_empty() || g["items"] == "0", "{g:?}");
            }
        }
    }
    assert!(checked > 0);
    assert!(groups.iter().any(|g| {
        g["partner"] == "lumen-search"
            && g["reason"] == "sensitive-content"
            && g["items"].is_empty()
    }));
}
