//! Ids compare by value whatever the file's type for them (issue 17, item 3): an owner id
//! written as a float (what pandas writes for an integer column with a null) matches the same
//! owner written as an integer, and a float that is no whole number is a located error.

use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use crate::support::{build, build_exact, example_copy, read, sharelog};

/// Reads a Parquet file, changes it with `f`, and writes it back.
fn rewrite_parquet(path: &Path, f: impl FnOnce(LazyFrame) -> LazyFrame) {
    let df = ParquetReader::new(File::open(path).expect("open"))
        .finish()
        .expect("read");
    let mut df = f(df.lazy()).collect().expect("changed");
    ParquetWriter::new(File::create(path).expect("create"))
        .finish(&mut df)
        .expect("write");
}

/// Rewrites `owner_id` (and, where it is numeric, nothing else) as floats in every listing and
/// the ledger of the example.
fn owners_as_floats(root: &Path) {
    let ledger = root.join("data/opt-outs/ledger.csv");
    let text = std::fs::read_to_string(&ledger).expect("ledger");
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().expect("header"));
    for line in lines {
        let (owner, rest) = line.split_once(',').expect("a row");
        out.push_str(&format!("{owner}.0,{rest}\n"));
    }
    std::fs::write(&ledger, out).expect("write");

    let csv = root.join("data/exports/items/pellucid-2023-01.csv");
    let text = std::fs::read_to_string(&csv).expect("csv");
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().expect("header"));
    for line in lines {
        let mut cells: Vec<String> = line.split(',').map(str::to_owned).collect();
        cells[1] = format!("{}.0", cells[1]);
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    std::fs::write(&csv, out).expect("write");

    let ndjson = root.join("data/exports/items/lumen-2024-02.ndjson");
    let text = std::fs::read_to_string(&ndjson).expect("ndjson");
    let re_owner = |line: &str| -> String {
        let start = line.find("\"owner_id\":").expect("owner") + "\"owner_id\":".len();
        let end = start + line[start..].find(',').expect("comma");
        format!("{}{}.0{}", &line[..start], &line[start..end], &line[end..])
    };
    let out: String = text.lines().map(|l| re_owner(l) + "\n").collect();
    std::fs::write(&ndjson, out).expect("write");

    let parquet = root.join("data/exports/items/pellucid-2024-01.parquet");
    rewrite_parquet(&parquet, |lf| {
        lf.with_column(col("owner_id").cast(DataType::Float64))
    });
}

#[test]
fn float_owner_ids_match_the_same_owners_as_integers() {
    let (_a, root) = example_copy();
    let (_b, expected) = build(&root);
    owners_as_floats(&root);
    let (_c, got) = build(&root);
    for table in [
        "data/shared-items.csv",
        "data/findings.csv",
        "data/partners.csv",
        "data/opt-out-scopes.csv",
        "data/item-totals.csv",
    ] {
        // Compared whole, but reported by first differing line: the tables are long.
        let (a, b) = (read(&got, table), read(&expected, table));
        let first = a.lines().zip(b.lines()).find(|(x, y)| x != y);
        assert!(a == b, "{table}: first difference {first:?}");
    }
    // The findings the issue saw vanish are there.
    let findings = read(&got, "data/findings.csv");
    assert!(findings.contains("opted-out-content-shared"), "{findings}");
}

#[test]
fn a_float_id_that_is_no_whole_number_is_a_located_error() {
    let (_a, root) = example_copy();
    let ledger = root.join("data/opt-outs/ledger.csv");
    let text = std::fs::read_to_string(&ledger).expect("ledger");
    std::fs::write(&ledger, text.replacen("\n1001,", "\n1.001e+3,", 1)).expect("write");
    let csv = root.join("data/exports/items/pellucid-2023-01.csv");
    let text = std::fs::read_to_string(&csv).expect("csv");
    std::fs::write(&csv, text.replacen(",1549,", ",1.0e17,", 1)).expect("write");

    let output = sharelog(&["check", "--root", root.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "data/opt-outs/ledger.csv:2: owner_id: `1.001e+3` is not an exact whole number"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "data/exports/items/pellucid-2023-01.csv:2: owner_id: `1.0e17` is not an exact whole number"
        ),
        "{stderr}"
    );
}

#[test]
fn an_id_column_of_another_type_is_refused() {
    let (_a, root) = example_copy();
    let parquet = root.join("data/exports/items/pellucid-2024-01.parquet");
    rewrite_parquet(&parquet, |lf| {
        lf.with_column(col("owner_id").gt(lit(1500)).alias("owner_id"))
    });
    let output = sharelog(&["check", "--root", root.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("column `owner_id` has type bool, not integers or text"),
        "{stderr}"
    );
}

/// A CSV text with the id in cell `column` of each row from row `from` on (0 is the first
/// after the header) written as `spellings` show, in turn, quoted: `{}` is the id.
fn respell(csv: &str, column: usize, from: usize, spellings: &[&str]) -> String {
    let mut lines = csv.lines();
    let mut out = format!("{}\n", lines.next().expect("header"));
    for (i, line) in lines.enumerate() {
        let mut cells: Vec<String> = line.split(',').map(str::to_owned).collect();
        if i >= from {
            let id = &cells[column];
            cells[column] = format!("\"{}\"", spellings[i % spellings.len()].replace("{}", id));
        }
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

#[test]
fn integers_spelt_as_spreadsheets_write_them_match_too() {
    let (_a, root) = example_copy();
    let (_b, expected) = build(&root);
    let ledger = root.join("data/opt-outs/ledger.csv");
    let text = std::fs::read_to_string(&ledger).expect("ledger");
    let spellings = [" {} ", "+{}", "0{}", "{}.", "{}.00", " +00{}.0 "];
    std::fs::write(&ledger, respell(&text, 0, 0, &spellings)).expect("write");
    let (_c, got) = build(&root);
    for table in [
        "data/findings.csv",
        "data/partners.csv",
        "data/shared-items.csv",
    ] {
        assert!(read(&got, table) == read(&expected, table), "{table}");
    }
}

#[test]
fn a_csv_id_that_is_a_number_but_no_whole_one_is_a_located_error() {
    let (_a, root) = example_copy();
    let ledger = root.join("data/opt-outs/ledger.csv");
    let text = std::fs::read_to_string(&ledger).expect("ledger");
    let text = text
        .replacen("\n1001,", "\n1001.5,", 1)
        .replacen("\n1016,", "\nNaN,", 1);
    std::fs::write(&ledger, text).expect("write");
    let output = sharelog(&["check", "--root", root.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "data/opt-outs/ledger.csv:2: owner_id: `1001.5` is not an exact whole number"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("data/opt-outs/ledger.csv:3: owner_id: `NaN` is not an exact whole number"),
        "{stderr}"
    );
}

/// Warehouses write `NUMBER(38,0)` ids as Parquet decimals: read by value, like text.
#[test]
fn decimal_owner_ids_match_the_same_owners() {
    let (_a, root) = example_copy();
    let (_b, expected) = build(&root);
    let parquet = root.join("data/exports/items/pellucid-2024-01.parquet");
    rewrite_parquet(&parquet, |lf| {
        lf.with_column(col("owner_id").cast(DataType::Decimal(38, 0)))
            .with_column(
                col("owner_id")
                    .cast(DataType::Decimal(20, 2))
                    .alias("score"),
            )
    });
    let (_c, got) = build(&root);
    for table in [
        "data/findings.csv",
        "data/partners.csv",
        "data/shared-items.csv",
    ] {
        assert!(read(&got, table) == read(&expected, table), "{table}");
    }
}

/// A 32-bit float is exact only below 2^24, and NDJSON types come from every row, not the first.
#[test]
fn float32_ids_and_late_floats_in_ndjson() {
    let (_a, root) = example_copy();
    let (_b, expected) = build(&root);
    // A float id far down an otherwise integer NDJSON listing still matches.
    let ndjson = root.join("data/exports/items/lumen-2024-02.ndjson");
    let text = std::fs::read_to_string(&ndjson).expect("ndjson");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let last = lines.len() - 1;
    let start = lines[last].find("\"owner_id\":").expect("owner") + "\"owner_id\":".len();
    let end = start + lines[last][start..].find(',').expect("comma");
    lines[last] = format!(
        "{}{}.0{}",
        &lines[last][..start],
        &lines[last][start..end],
        &lines[last][end..]
    );
    std::fs::write(&ndjson, lines.join("\n") + "\n").expect("write");
    let (_c, got) = build(&root);
    assert!(read(&got, "data/findings.csv") == read(&expected, "data/findings.csv"));

    // A float32 id at 2^24 + 1 is stored as 2^24: a located error, not a match for owner 2^24.
    let parquet = root.join("data/exports/items/pellucid-2024-01.parquet");
    rewrite_parquet(&parquet, |lf| {
        lf.with_column(
            when(col("item_id").eq(lit("pel-000001")))
                .then(lit(16_777_217i64))
                .otherwise(col("owner_id"))
                .cast(DataType::Float32)
                .alias("owner_id"),
        )
    });
    let output = sharelog(&["check", "--root", root.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not an exact whole number"), "{stderr}");
}

/// A CSV listing's owner ids are read as integers when they are plain integers, else as text
/// (issue 19's faster CSV reading): every spelling of an owner gives the same report, whether
/// the whole file reads as text, or its first rows are plain and a later one is not (the
/// integer read fails there, and the file is read as text).
#[test]
fn csv_listing_ids_read_as_integers_or_as_text_give_the_same_report() {
    let (_a, root) = example_copy();
    let (_b, expected) = build(&root);
    let listing = root.join("data/exports/items/pellucid-2023-01.csv");
    let original = std::fs::read_to_string(&listing).expect("listing");
    let spellings = [" {} ", "+{}", "0{}", "{}.0", " +00{}.0 "];
    let tables = [
        "data/exports.csv",
        "data/findings.csv",
        "data/partners.csv",
        "data/shared-items.csv",
    ];
    // From the first row, and from the 300th (after the rows read to choose how to read ids).
    for first_spelt in [0, 300] {
        let spelt = respell(&original, 1, first_spelt, &spellings);
        std::fs::write(&listing, spelt).expect("write");
        let (_c, got) = build(&root);
        for table in tables {
            assert!(
                read(&got, table) == read(&expected, table),
                "{table}, spelt from row {first_spelt}"
            );
        }
    }
    // And the owners counted are those of the listing (the comparison is not of two empty tables).
    let exports = read(&expected, "data/exports.csv");
    let pellucid = exports
        .lines()
        .find(|l| l.starts_with("pellucid-2023-01,"))
        .expect("the CSV listing's export");
    let owners = pellucid.split(',').nth(8).expect("owners");
    assert!(owners.parse::<u64>().is_ok_and(|n| n > 0), "{pellucid}");
}

/// The exact `owners_opted_out` of an export in a build's `data/exports.csv`.
fn owners_opted_out(site: &Path, export: &str) -> u64 {
    let table = read(site, "data/exports.csv");
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let at = header
        .iter()
        .position(|c| *c == "owners_opted_out")
        .expect("the column");
    let row = lines
        .find(|l| l.starts_with(&format!("{export},")))
        .expect("the export");
    row.split(',')
        .nth(at)
        .expect("cell")
        .parse()
        .expect("a count")
}

/// An NDJSON id above 2^63 (which polars reads as a 128-bit integer) is read by its digits: the
/// build does not stop in polars (it panicked, exit 101), and the owner matches the ledger.
#[test]
fn ndjson_ids_above_two_to_the_63_are_read_and_matched() {
    let (_a, root) = example_copy();
    let big = "9223372036854775808";
    // Two items: polars reads the column as Int128 (with more rows it may read floats).
    let ndjson = root.join("data/exports/items/lumen-2024-02.ndjson");
    let text = std::fs::read_to_string(&ndjson).expect("ndjson");
    let lines: Vec<String> = text
        .lines()
        .take(2)
        .enumerate()
        .map(|(i, line)| {
            let start = line.find("\"owner_id\":").expect("owner") + "\"owner_id\":".len();
            let end = start + line[start..].find(',').expect("comma");
            let id = if i == 0 { big } else { "5" };
            format!("{}{id}{}", &line[..start], &line[end..])
        })
        .collect();
    std::fs::write(&ndjson, lines.join("\n") + "\n").expect("write");
    // The platform's responses name a finding of the two items' batch that is gone now.
    std::fs::remove_file(root.join("data/responses.yaml")).expect("responses");
    // Without a ledger the owners were grouped as 128-bit integers, which polars cannot do here.
    let ledger = root.join("data/opt-outs/ledger.csv");
    let mut rows = std::fs::read_to_string(&ledger).expect("ledger");
    std::fs::remove_file(&ledger).expect("no ledger");
    let alone = sharelog(&["check", "--root", root.to_str().expect("utf-8")]);
    assert_eq!(
        alone.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&alone.stderr)
    );
    std::fs::write(&ledger, &rows).expect("the ledger back");
    let (_b, before) = build_exact(&root);
    rows.push_str(&format!("{big},2015-01-01,,,\n"));
    std::fs::write(&ledger, rows).expect("write");
    let (_c, after) = build_exact(&root);
    assert_eq!(
        owners_opted_out(&after, "lumen-2024-02"),
        owners_opted_out(&before, "lumen-2024-02") + 1
    );
    let output = sharelog(&["check", "--root", root.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(0));
}
