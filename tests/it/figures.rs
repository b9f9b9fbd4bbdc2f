//! Declared figures (issue 21, part 2): a batch with declared counts only shows the owners, the
//! owners opted out, the items opted out at the report's date and the exact items outside its
//! content window when its manifest declares them (`figures:`), the way a listed batch does; and
//! every declared figure is checked against the counts, the report's date and the listing.

use std::path::Path;

use crate::support::{build_exact, csv_maps, fixture_copy, read, sharelog};

/// The row of `data/<table>.csv` whose `key` column is `value`.
fn row(
    out: &Path,
    table: &str,
    key: &str,
    value: &str,
) -> std::collections::BTreeMap<String, String> {
    csv_maps(out, table)
        .into_iter()
        .find(|r| r[key] == value)
        .unwrap_or_else(|| panic!("{table}: no {key} {value}"))
}

/// `check` on `root`: (exit code, stderr with the root's path as `<root>`).
fn check(root: &Path) -> (Option<i32>, String) {
    let out = sharelog(&["check", "--root", root.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&out.stderr).replace(&*root.to_string_lossy(), "<root>");
    (out.status.code(), stderr)
}

/// x1 of the findings fixture with its listing replaced by its exact counts (as a warehouse
/// writes them) and `figures` as given.
fn declare_x1(root: &Path, listed: &Path, figures: &str) {
    let mut counts =
        String::from("category,year,items,private,deleted,suspended,explicit,minor,opted_out\n");
    for r in csv_maps(listed, "shared-items")
        .iter()
        .filter(|r| r["export"] == "x1")
    {
        counts.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            r["category"],
            r["year"],
            r["items"],
            r["private"],
            r["deleted"],
            r["suspended"],
            r["explicit"],
            r["minor"],
            r["opted_out"]
        ));
    }
    std::fs::write(root.join("data/exports/x1-counts.csv"), counts).expect("write");
    let listing = root.join("data/exports/x1.csv");
    if listing.exists() {
        std::fs::remove_file(listing).expect("remove listing");
    }
    let manifest = root.join("data/exports/x1.yaml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    let head = text
        .split(if text.contains("items:") {
            "items:"
        } else {
            "counts:"
        })
        .next()
        .expect("head");
    std::fs::write(
        &manifest,
        format!("{head}counts: x1-counts.csv\nfigures: {figures}\n"),
    )
    .expect("write");
}

#[test]
fn declared_figures_give_what_the_listing_gave() {
    let (_d, root) = fixture_copy("findings");
    let (_o, listed) = build_exact(&root);
    let x1 = row(&listed, "exports", "export", "x1");
    let acme = row(&listed, "partners", "partner", "acme");
    // The fixture's listing has every figure (a ledger, owners opted out, items outside the
    // window), so that a figure the build drops shows.
    for (name, v) in [
        ("owners", &x1["owners"]),
        ("owners_opted_out", &x1["owners_opted_out"]),
        ("items_opted_out_now", &acme["items_opted_out_now"]),
    ] {
        assert!(v.parse::<u64>().is_ok_and(|n| n > 0), "{name}: {v}");
    }
    // Without figures, declared counts leave them unknown, and the window finding is a bound.
    declare_x1(&root, &listed, "{}");
    let (_b, bare) = build_exact(&root);
    assert_eq!(row(&bare, "exports", "export", "x1")["owners"], "");
    assert_eq!(
        row(&bare, "partners", "partner", "acme")["items_opted_out_now"],
        ""
    );
    assert!(read(&bare, "data/findings.csv").contains("At least 1 item in export x1"));
    // With them, the same tables as the listing's build.
    declare_x1(
        &root,
        &listed,
        &format!(
            "{{owners: {}, owners_opted_out: {}, items_opted_out_now: {}, outside_window: 3, as_of: 2023-12-31}}",
            x1["owners"], x1["owners_opted_out"], acme["items_opted_out_now"]
        ),
    );
    let (_w, declared) = build_exact(&root);
    for table in ["exports", "partners", "shared-items"] {
        assert_eq!(
            read(&declared, &format!("data/{table}.csv")),
            read(&listed, &format!("data/{table}.csv")),
            "{table}"
        );
    }
    let findings = read(&declared, "data/findings.csv");
    assert!(
        findings.contains("3 items in export x1 were created outside"),
        "{findings}"
    );
}

#[test]
fn a_partner_row_gives_the_owners_of_several_declared_batches() {
    let (_d, root) = fixture_copy("findings");
    let exports = root.join("data/exports");
    std::fs::write(
        exports.join("x3.yaml"),
        "id: x3\npartner: beta\nexported_at: 2023-08-01\ncounts:\n  - {category: text, year: 2023, items: 60, opted_out: 6}\nfigures: figures.csv\n",
    )
    .expect("x3");
    let x2 = std::fs::read_to_string(exports.join("x2.yaml")).expect("x2");
    let with = |text: &str| {
        std::fs::write(
            exports.join("x2.yaml"),
            format!("{x2}figures: figures.csv\n"),
        )
        .expect("x2");
        std::fs::write(exports.join("figures.csv"), text).expect("figures");
    };
    let header =
        "partner,export,owners,owners_opted_out,items_opted_out_now,outside_window,as_of\n";
    // x2 has no opted_out column: its owners opted out are unknown (empty), never 0.
    with(&format!(
        "{header}beta,x2,40,,7,50,2023-12-31\nbeta,x3,35,5,9,0,2023-12-31\nbeta,,70,,16,,2023-12-31\n"
    ));
    let (_o, out) = build_exact(&root);
    assert_eq!(row(&out, "exports", "export", "x2")["owners"], "40");
    assert_eq!(row(&out, "exports", "export", "x3")["owners"], "35");
    assert_eq!(
        row(&out, "exports", "export", "x3")["owners_opted_out"],
        "5"
    );
    let beta = row(&out, "partners", "partner", "beta");
    assert_eq!(beta["owners"], "70");
    assert_eq!(beta["owners_opted_out"], "");
    assert_eq!(beta["items_opted_out_now"], "16");
    // A partner row while a batch has neither a listing nor figures cannot be checked.
    std::fs::write(
        exports.join("x4.yaml"),
        "id: x4\npartner: beta\nexported_at: 2023-09-01\ncounts:\n  - {category: text, year: 2023, items: 5}\n",
    )
    .expect("x4");
    let (code, stderr) = check(&root);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "partner `beta`'s row, but its batch `x4` has neither an item listing nor figures"
        ),
        "{stderr}"
    );
    // Without the partner's row, it builds; the items opted out now are unknown (x4 has no
    // figure): a sum over the other batches would be shown as the whole.
    with(&format!(
        "{header}beta,x2,40,,7,50,2023-12-31\nbeta,x3,35,5,9,0,2023-12-31\n"
    ));
    let (_o, out) = build_exact(&root);
    assert_eq!(
        row(&out, "partners", "partner", "beta")["items_opted_out_now"],
        ""
    );
    std::fs::remove_file(exports.join("x4.yaml")).expect("x4");
    // Without the partner's row, its distinct owners over two batches are unknown.
    with(&format!(
        "{header}beta,x2,40,,7,50,2023-12-31\nbeta,x3,35,5,9,0,2023-12-31\n"
    ));
    let (_o, out) = build_exact(&root);
    assert_eq!(row(&out, "partners", "partner", "beta")["owners"], "");
    assert_eq!(
        row(&out, "partners", "partner", "beta")["items_opted_out_now"],
        "16"
    );
}

#[test]
fn declared_figures_are_checked_against_the_counts_the_date_and_the_listing() {
    let header =
        "partner,export,owners,owners_opted_out,items_opted_out_now,outside_window,as_of\n";
    let cases: Vec<(&str, &str, &str)> = vec![
        (
            "beta,x2,40,,7,50,2023-11-30\n",
            "data/exports/figures.csv:2: as_of: counted at 2023-11-30, but the report's date (published) is 2023-12-31",
            "stale",
        ),
        (
            "beta,x2,151,,7,50,2023-12-31\n",
            "data/exports/figures.csv:2: owners: 151 owners, but the batch holds 150 items",
            "more owners than items",
        ),
        (
            "beta,x2,40,,151,50,2023-12-31\n",
            "data/exports/figures.csv:2: items_opted_out_now: 151 items, but the batch holds 150",
            "more opted out than items",
        ),
        (
            "beta,x9,40,,7,50,2023-12-31\n",
            "data/exports/figures.csv:2: export `x9` is not in the report root",
            "unknown export",
        ),
        (
            "acme,x2,40,,7,50,2023-12-31\n",
            "data/exports/figures.csv:2: partner `acme`, but export `x2` went to `beta`",
            "another partner",
        ),
        (
            "beta,x2,forty,,7,50,2023-12-31\n",
            "data/exports/figures.csv:2: owners: `forty` is not a count",
            "not a number",
        ),
        (
            "beta,x2,40,,7,151,2023-12-31\n",
            "data/exports/figures.csv:2: outside_window: 151 items, but the batch holds 150",
            "more outside than items",
        ),
        (
            "beta,x2,40,,7,0,2023-12-31\n",
            "data/exports/figures.csv:2: outside_window: 0, but the counts have 50 items in years wholly outside the content window",
            "outside the window below the whole years",
        ),
        (
            "beta,x2,40,3,7,50,2023-12-31\n",
            "data/exports/figures.csv:2: owners_opted_out is given, but the batch's counts do not declare opted_out",
            "owners opted out without opted-out items",
        ),
        (
            "beta,x2,40,,7,50,2023-12-31\nbeta,,40,,7,,2023-12-31\nbeta,,40,,7,,2023-12-31\n",
            "data/exports/figures.csv:4: partner `beta` has a row already",
            "a partner twice",
        ),
        (
            "beta,x2,,,7,50,2023-12-31\nbeta,,999,,7,,2023-12-31\n",
            "data/exports/figures.csv:3: owners: given for the partner, but some batch of it has no owners figure",
            "a partner's owners unbounded",
        ),
        (
            "beta,x2,40,,7,50,2023-12-31\nbeta,,40,,7,3,2023-12-31\n",
            "data/exports/figures.csv:3: partner `beta`'s row gives outside_window, which only a batch has",
            "a partner's window",
        ),
        (
            "beta,,40,,7,,2023-12-31\n",
            "data/exports/x2.yaml: figures: its figures table `data/exports/figures.csv` has no row for export `x2`",
            "a batch missing from its table",
        ),
        (
            "beta,x2,40,,7,,\n",
            "data/exports/figures.csv:2: items_opted_out_now is given without as_of",
            "no date",
        ),
    ];
    for (rows, expected, what) in cases {
        let (_d, root) = fixture_copy("findings");
        let exports = root.join("data/exports");
        let x2 = std::fs::read_to_string(exports.join("x2.yaml")).expect("x2");
        std::fs::write(
            exports.join("x2.yaml"),
            format!("{x2}figures: figures.csv\n"),
        )
        .expect("x2");
        std::fs::write(exports.join("figures.csv"), format!("{header}{rows}")).expect("figures");
        let (code, stderr) = check(&root);
        assert_eq!(code, Some(1), "{what}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{what}: expected\n{expected}\nin\n{stderr}"
        );
    }
}

#[test]
fn figures_beside_a_listing_must_be_the_listing_s() {
    let (_d, root) = fixture_copy("findings");
    let (_o, listed) = build_exact(&root);
    let owners: u64 = row(&listed, "exports", "export", "x1")["owners"]
        .parse()
        .expect("owners");
    let manifest = root.join("data/exports/x1.yaml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(
        &manifest,
        format!("{text}figures: {{owners: {}}}\n", owners + 1),
    )
    .expect("write");
    let (code, stderr) = check(&root);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "owners: {} declared, but the item listing gives {owners}",
            owners + 1
        )),
        "{stderr}"
    );
    // The listing's own figures pass.
    std::fs::write(
        &manifest,
        format!("{text}figures: {{owners: {owners}, outside_window: 3}}\n"),
    )
    .expect("write");
    let (code, stderr) = check(&root);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn the_figures_query_takes_its_parameters_from_the_root() {
    let (_d, root) = fixture_copy("findings");
    let out = sharelog(&["sql", "--root", root.to_str().expect("utf-8"), "--figures"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sql = String::from_utf8_lossy(&out.stdout);
    // The end of the report's date, each export's instant and window, and a partner row.
    for needle in [
        "'2023-12-31T23:59:59.999999Z'",
        "'2023-06-01T23:30:00Z'",
        "CAST(i.created_at AS TIMESTAMPTZ) < CAST('2023-01-01T00:00:00Z' AS TIMESTAMPTZ)",
        "CAST(i.created_at AS TIMESTAMPTZ) >= CAST('2023-06-01T00:00:00Z' AS TIMESTAMPTZ)",
        "'2023-12-31' AS as_of",
        "'' AS export",
        "WHERE i.export = 'x2'",
    ] {
        assert!(sql.contains(needle), "{needle} not in\n{sql}");
    }
    let one = sharelog(&[
        "sql",
        "--root",
        root.to_str().expect("utf-8"),
        "--figures",
        "--export",
        "x1",
        "--engine",
        "spark",
    ]);
    let sql = String::from_utf8_lossy(&one.stdout);
    assert!(
        !sql.contains("'' AS export") && !sql.contains("WHERE i.export"),
        "{sql}"
    );
    assert!(sql.contains("count_if(opted_now)"), "{sql}");
}

#[test]
fn a_count_table_of_every_batch_gives_each_manifest_its_rows() {
    let (_d, root) = fixture_copy("findings");
    let (_o, before) = build_exact(&root);
    let exports = root.join("data/exports");
    let x2 = std::fs::read_to_string(exports.join("x2.yaml")).expect("x2");
    let head = x2.split("counts:").next().expect("head");
    let tail = x2.split_once("files:").map(|(_, t)| t).expect("files");
    std::fs::write(
        exports.join("x2.yaml"),
        format!("{head}counts: all.csv\nfiles:{tail}"),
    )
    .expect("x2");
    let header = "partner,export,category,year,items,minor\n";
    // x2's rows as the all-batches query writes them, among another batch's.
    let write = |rows: &str| {
        std::fs::write(exports.join("all.csv"), format!("{header}{rows}")).expect("all")
    };
    write("acme,x1,text,2023,5,0\nbeta,x2,text,2022,50,0\nbeta,x2,text,2023,100,4\n");
    let (_w, after) = build_exact(&root);
    assert_eq!(
        read(&after, "data/shared-items.csv"),
        read(&before, "data/shared-items.csv")
    );
    write("acme,x2,text,2022,50,0\nbeta,x2,text,2023,100,4\n");
    let (code, stderr) = check(&root);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("data/exports/all.csv:2: partner `acme`, but export `x2` went to `beta`"),
        "{stderr}"
    );
    write("acme,x1,text,2023,5,0\n");
    let (code, stderr) = check(&root);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("data/exports/all.csv: no row has export `x2`"),
        "{stderr}"
    );
    // Every row names one of the report's batches.
    write("beta,x2,text,2022,50,0\nbeta,x9,text,2023,100,4\nbeta,,text,2023,1,0\n");
    let (code, stderr) = check(&root);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("data/exports/all.csv:3: export `x9` is not in the report root"),
        "{stderr}"
    );
    assert!(
        stderr.contains("data/exports/all.csv:4: export: missing"),
        "{stderr}"
    );
    // As a folder of parts (Spark's output), a batch's rows may be in any part.
    std::fs::remove_file(exports.join("all.csv")).expect("all");
    std::fs::create_dir_all(exports.join("all")).expect("folder");
    std::fs::write(
        exports.join("all/part-0.csv"),
        format!("{header}acme,x1,text,2023,5,0\n"),
    )
    .expect("part");
    std::fs::write(
        exports.join("all/part-1.csv"),
        format!("{header}beta,x2,text,2022,50,0\nbeta,x2,text,2023,100,4\n"),
    )
    .expect("part");
    std::fs::write(
        exports.join("x2.yaml"),
        format!("{head}counts: all\nfiles:{tail}"),
    )
    .expect("x2");
    let (_w, parts) = build_exact(&root);
    assert_eq!(
        read(&parts, "data/shared-items.csv"),
        read(&before, "data/shared-items.csv")
    );
    // A table of one batch with no rows declares a batch of no items: refused.
    std::fs::write(exports.join("empty.csv"), "category,year,items\n").expect("empty");
    std::fs::write(
        exports.join("x2.yaml"),
        format!("{head}counts: empty.csv\nfiles:{tail}"),
    )
    .expect("x2");
    let (code, stderr) = check(&root);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("the table has no rows"), "{stderr}");
}
