//! CSV, Parquet and NDJSON listings of the same items give identical aggregates.

use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use crate::support::{build, copy_tree, fixture, read};

fn listing() -> DataFrame {
    df!(
        "item_id" => ["a", "b", "c", "d", "e", "f", "g"],
        "owner_id" => [1i64, 1, 2, 3, 3, 4, 5],
        "category" => ["text", "text", "photo", "photo", "text", "photo", "text"],
        "created_at" => [
            "2021-03-01",
            "2021-12-31T23:30:00-02:00",
            "2022-01-01T00:10:00+01:00",
            "2022-06-01T12:00:00Z",
            "2020-01-01",
            "2022-02-02",
            "2021-07-07 08:00:00",
        ],
        "private" => [false, true, false, false, false, false, true],
        "deleted" => [false, false, true, false, false, false, false],
        "suspended" => [false, false, false, false, false, false, false],
        "explicit" => [true, false, false, true, false, false, false],
        "minor" => [false, false, false, false, true, false, false],
    )
    .expect("valid frame")
}

fn root_with(format: &str, dir: &Path) -> std::path::PathBuf {
    let root = dir.join(format);
    copy_tree(&fixture("basic"), &root);
    let mut df = listing();
    let path = root.join(format!("data/exports/items/beta-1.{format}"));
    let file = File::create(&path).expect("create listing");
    match format {
        "csv" => CsvWriter::new(file).finish(&mut df).expect("csv"),
        "parquet" => {
            ParquetWriter::new(file).finish(&mut df).expect("parquet");
        }
        _ => JsonWriter::new(file)
            .with_json_format(JsonFormat::JsonLines)
            .finish(&mut df)
            .expect("ndjson"),
    }
    let manifest = root.join("data/exports/nested/beta-1.yaml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(
        &manifest,
        text.replace("beta-1.csv", &format!("beta-1.{format}")),
    )
    .expect("write");
    root
}

#[test]
fn csv_parquet_and_ndjson_listings_give_identical_aggregates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outputs: Vec<String> = ["csv", "parquet", "ndjson"]
        .iter()
        .map(|f| {
            let (_d, out) = build(&root_with(f, dir.path()));
            read(&out, "data/shared-items.csv")
        })
        .collect();
    assert_eq!(outputs[0], outputs[1], "CSV vs Parquet");
    assert_eq!(outputs[0], outputs[2], "CSV vs NDJSON");
    // The listing's cells: text 2021 = a, b (UTC 2022-01-01 01:30 → 2022!), g; check one directly.
    assert!(
        outputs[0].contains("beta-research,beta-1,text,2021,"),
        "{}",
        outputs[0]
    );
}

#[test]
fn reads_parquet_with_native_datetime_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = root_with("parquet", dir.path());
    let mut df = df!(
        "item_id" => [1i64, 2, 3],
        "owner_id" => [10i64, 11, 12],
        "category" => ["text", "text", "photo"],
        "created_at" => [
            chrono::NaiveDate::from_ymd_opt(2021, 1, 1).expect("date"),
            chrono::NaiveDate::from_ymd_opt(2021, 6, 1).expect("date"),
            chrono::NaiveDate::from_ymd_opt(2022, 1, 1).expect("date"),
        ],
    )
    .expect("frame");
    let file = File::create(root.join("data/exports/items/beta-1.parquet")).expect("create");
    ParquetWriter::new(file).finish(&mut df).expect("parquet");
    let (_d, out) = build(&root);
    let csv = read(&out, "data/shared-items.csv");
    assert!(
        csv.contains("beta-research,beta-1,photo,2022,,0,0,0,0,0,,opted_out\n"),
        "{csv}"
    );
    assert!(
        csv.contains("beta-research,beta-1,text,2021,,0,0,0,0,0,,opted_out\n"),
        "{csv}"
    );
}

/// A Parquet listing whose `created_at` is a datetime in `unit` and whose `owner_id` has `owner`
/// type, over the same three items, in a root with a Parquet ledger of integer owners when
/// `ledger` says so.
fn typed_root(dir: &Path, unit: TimeUnit, owner: DataType, ledger: bool) -> std::path::PathBuf {
    let name = format!("{unit:?}-{owner}-{ledger}");
    let root = root_with("parquet", &dir.join(name));
    // One instant just before 1970 (its year must stay 1969 in every unit), two after.
    let ns: [i64; 3] = [-500, 1_600_000_000_000_000_000, 1_640_995_200_000_000_000];
    let per = match unit {
        TimeUnit::Nanoseconds => 1,
        TimeUnit::Microseconds => 1_000,
        TimeUnit::Milliseconds => 1_000_000,
    };
    let created = Series::new("created_at".into(), ns.map(|v| v.div_euclid(per)))
        .cast(&DataType::Datetime(unit, Some(TimeZone::UTC)))
        .expect("datetime");
    let owners = Series::new("owner_id".into(), [1i64, 2, 3])
        .cast(&owner)
        .expect("owner");
    let mut df = DataFrame::new(
        3,
        vec![
            Series::new("item_id".into(), [1i64, 2, 3]).into(),
            owners.into(),
            Series::new("category".into(), ["text", "photo", "text"]).into(),
            created.into(),
        ],
    )
    .expect("frame");
    let path = root.join("data/exports/items/beta-1.parquet");
    let file = File::create(&path).expect("create");
    ParquetWriter::new(file).finish(&mut df).expect("parquet");
    // The file keeps the unit and the type (the test would prove nothing otherwise).
    let back = ParquetReader::new(File::open(&path).expect("open"))
        .finish()
        .expect("read back");
    assert_eq!(
        back.schema().get("created_at"),
        Some(&DataType::Datetime(unit, Some(TimeZone::UTC)))
    );
    assert_eq!(back.schema().get("owner_id"), Some(&owner));
    if ledger {
        write_ledger(&root, [1_500_000_000_000_000, 1_700_000_000_000_000], None);
    }
    root
}

/// Writes the root's Parquet ledger: owners 2 and 3, opted out at `from` and withdrawn at `to`
/// (UTC microseconds, as datetimes; no `withdrawn_at` column without `to`).
fn write_ledger(root: &Path, from: [i64; 2], to: Option<[Option<i64>; 2]>) {
    let micros = DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC));
    let mut ledger = df!("owner_id" => [2i64, 3], "opted_out_at" => from).expect("ledger");
    let mut instants = vec![col("opted_out_at").cast(micros.clone())];
    if let Some(to) = to {
        ledger
            .with_column(Column::new("withdrawn_at".into(), to))
            .expect("withdrawn_at");
        instants.push(col("withdrawn_at").cast(micros));
    }
    let mut ledger = ledger
        .lazy()
        .with_columns(instants)
        .collect()
        .expect("ledger");
    let file = File::create(root.join("data/opt-outs/ledger.parquet")).expect("create");
    ParquetWriter::new(file)
        .finish(&mut ledger)
        .expect("parquet");
}

#[test]
fn every_datetime_unit_and_owner_type_gives_the_same_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    // With the ledger (joined as integers or as text), and without it.
    for ledger in [true, false] {
        let mut outputs = Vec::new();
        for unit in [
            TimeUnit::Nanoseconds,
            TimeUnit::Microseconds,
            TimeUnit::Milliseconds,
        ] {
            let owners = if ledger {
                vec![DataType::Int64, DataType::Int32, DataType::String]
            } else {
                vec![DataType::Int64]
            };
            for owner in owners {
                let (_d, out) = build(&typed_root(dir.path(), unit, owner.clone(), ledger));
                let csv = read(&out, "data/shared-items.csv");
                outputs.push((format!("{unit:?} {owner} ledger {ledger}"), csv));
            }
        }
        let (first, expected) = &outputs[0];
        assert!(
            expected.contains("beta-research,beta-1,text,1969,"),
            "{expected}"
        );
        assert!(
            expected.contains("beta-research,beta-1,photo,2020,"),
            "{expected}"
        );
        for (name, csv) in &outputs[1..] {
            assert_eq!(csv, expected, "{name} differs from {first}");
        }
    }
}

/// A Parquet ledger timestamp beyond the dates sharelog can place in a month (a unit error, say
/// nanoseconds written as microseconds) is a located error naming the row, not an opt-out left
/// out of the monthly table or a panic while the error is written.
#[test]
fn a_ledger_instant_beyond_every_month_is_a_located_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = typed_root(dir.path(), TimeUnit::Microseconds, DataType::Int64, true);
    for (from, to) in [
        (9_000_000_000_000_000_000i64, None),
        (1_500_000_000_000_000, Some(i64::MAX)),
        (i64::MIN, None),
    ] {
        write_ledger(&root, [1_500_000_000_000_000, from], Some([None, to]));
        let out = dir.path().join("site");
        let o = crate::support::sharelog(&[
            "build",
            "--no-cache",
            "--root",
            root.to_str().expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
        ]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{from} {to:?}: {stderr}");
        assert!(
            stderr.contains("data/opt-outs/ledger.parquet: row 2:")
                && stderr.contains("beyond the years sharelog can place in a month"),
            "{from} {to:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// A CSV text with every flag cell (columns 4 to 8) from row `from` on (0 is the first after the
/// header) written as `yes` and `no` spell true and false, in turn.
fn respell_flags(csv: &str, from: usize, yes: &[&str], no: &[&str]) -> String {
    let mut lines = csv.lines();
    let mut out = format!("{}\n", lines.next().expect("header"));
    for (i, line) in lines.enumerate() {
        let mut cells: Vec<String> = line.split(',').map(str::to_owned).collect();
        if i >= from {
            for cell in &mut cells[4..=8] {
                *cell = match cell.as_str() {
                    "true" => yes[i % yes.len()].to_owned(),
                    "false" => no[i % no.len()].to_owned(),
                    other => panic!("row {i}: flag {other:?}"),
                };
            }
        }
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// A CSV listing's flags in any letter case, and as `1` and `0`, from its 151st row on: the
/// same tables as the words the example writes. (Its first rows hold words alone, so its flags
/// are read as booleans; a later `1` sends them back to the text reader.) A flag that is no
/// boolean word is still refused at its row.
#[test]
fn csv_flags_in_any_letter_case_or_as_digits_read_the_same() {
    let (_a, root) = crate::support::example_copy();
    let (_b, expected) = build(&root);
    let csv = root.join("data/exports/items/pellucid-2023-01.csv");
    let text = std::fs::read_to_string(&csv).expect("listing");
    assert!(
        text.contains(",true,"),
        "the example's listing has a true flag"
    );
    let cases: [(&[&str], &[&str]); 2] = [
        (
            &["TRUE", "tRuE", "True", "true"],
            &["FALSE", "fAlSe", "False", ""],
        ),
        (&["1", "tRUE"], &["0", "FALSe", "\"\""]),
    ];
    for (yes, no) in cases {
        std::fs::write(&csv, respell_flags(&text, 150, yes, no)).expect("write");
        let (_c, got) = build(&root);
        for table in [
            "data/findings.csv",
            "data/partners.csv",
            "data/shared-items.csv",
        ] {
            assert!(
                read(&got, table) == read(&expected, table),
                "{yes:?}: {table}"
            );
        }
    }
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[301] = lines[301]
        .replacen(",false,", ",yes,", 1)
        .replacen(",true,", ",yes,", 1);
    std::fs::write(&csv, lines.join("\n") + "\n").expect("write");
    let output = crate::support::sharelog(&["check", "--root", root.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "data/exports/items/pellucid-2023-01.csv:302: private: `yes` is not a boolean"
        ),
        "{stderr}"
    );
}
