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
        csv.contains("beta-research,beta-1,photo,2022,,0,0,0,0,0,\n"),
        "{csv}"
    );
    assert!(
        csv.contains("beta-research,beta-1,text,2021,,0,0,0,0,0,\n"),
        "{csv}"
    );
}
