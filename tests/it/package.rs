//! `data/datapackage.json`, `data/croissant.json` and the Parquet downloads, checked against the
//! CSV files they describe.

use std::collections::BTreeSet;
use std::path::Path;

use polars::prelude::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::{build, fixture, read, repo};

fn json(out: &Path, rel: &str) -> Value {
    serde_json::from_str(&read(out, rel)).expect("valid JSON")
}

fn csv_rows(out: &Path, rel: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(out.join(rel)).expect("CSV opens");
    let header = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.expect("record").iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

fn sha256(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).expect("file")))
}

fn resources(package: &Value) -> &Vec<Value> {
    package["resources"].as_array().expect("resources")
}

#[test]
fn datapackage_describes_every_csv_exactly() {
    for root in [fixture("basic"), repo()] {
        let (_dir, out) = build(&root);
        let package = json(&out, "data/datapackage.json");
        assert_eq!(
            package["$schema"],
            "https://datapackage.org/profiles/2.0/datapackage.json"
        );
        let names: Vec<&str> = resources(&package)
            .iter()
            .map(|r| r["name"].as_str().expect("name"))
            .collect();
        for table in [
            "shared-items",
            "exports",
            "partners",
            "opt-outs-monthly",
            "deletions",
            "findings",
        ] {
            assert!(names.contains(&table), "{table} missing from {names:?}");
        }
        for r in resources(&package) {
            let path = format!("data/{}", r["path"].as_str().expect("path"));
            let file = out.join(&path);
            assert_eq!(
                r["hash"].as_str(),
                Some(format!("sha256:{}", sha256(&file)).as_str())
            );
            assert_eq!(
                r["bytes"].as_u64(),
                Some(std::fs::metadata(&file).expect("file").len())
            );
            // The workbook and the database hold every table again (tests/it/downloads.rs).
            if r.get("schema").is_none() {
                assert!(
                    ["report.xlsx", "report.sqlite"].contains(&r["path"].as_str().unwrap_or("")),
                    "{r}"
                );
                continue;
            }
            let (header, rows) = csv_rows(&out, &path);
            let fields = r["schema"]["fields"].as_array().expect("fields");
            let field_names: Vec<&str> = fields
                .iter()
                .map(|f| f["name"].as_str().expect("field name"))
                .collect();
            assert_eq!(header, field_names, "{path}");
            for (i, f) in fields.iter().enumerate() {
                let required = f["constraints"]["required"] == true;
                for (n, row) in rows.iter().enumerate() {
                    let cell = &row[i];
                    if required {
                        assert!(!cell.is_empty(), "{path} row {n} {}: empty", f["name"]);
                    }
                    if cell.is_empty() {
                        assert!(
                            f["missingValues"][0]["label"].is_string(),
                            "{path} row {n}: {} is empty but has no label for empty cells",
                            f["name"]
                        );
                    } else if f["type"] == "integer" {
                        assert!(cell.parse::<u64>().is_ok(), "{path} row {n}: {cell}");
                    }
                }
            }
            // Primary keys are unique; foreign keys resolve.
            if let Some(key) = r["schema"]["primaryKey"].as_array() {
                let idx: Vec<usize> = key
                    .iter()
                    .map(|k| header.iter().position(|h| k == h).expect("key column"))
                    .collect();
                let mut seen = BTreeSet::new();
                for row in &rows {
                    let k: Vec<&String> = idx.iter().map(|&i| &row[i]).collect();
                    assert!(seen.insert(k.clone()), "{path}: duplicate key {k:?}");
                }
            }
            for fk in r["schema"]["foreignKeys"].as_array().into_iter().flatten() {
                let col = fk["fields"][0].as_str().expect("fk field");
                let target = fk["reference"]["resource"].as_str().expect("resource");
                let there = fk["reference"]["fields"][0].as_str().expect("fk target");
                let (th, trows) = csv_rows(&out, &format!("data/{target}.csv"));
                let ti = th.iter().position(|h| h == there).expect("target column");
                let known: BTreeSet<&String> = trows.iter().map(|r| &r[ti]).collect();
                let ci = header.iter().position(|h| h == col).expect("fk column");
                for row in &rows {
                    assert!(
                        row[ci].is_empty() || known.contains(&row[ci]),
                        "{path}: {col} `{}` not in {target}",
                        row[ci]
                    );
                }
            }
        }
    }
}

#[test]
fn datapackage_matches_its_snapshot() {
    let (_dir, out) = build(&fixture("basic"));
    insta::assert_snapshot!("datapackage.json", read(&out, "data/datapackage.json"));
}

#[test]
fn datapackage_takes_licence_and_sources_from_report_yaml() {
    let (_dir, out) = build(&fixture("basic"));
    let package = json(&out, "data/datapackage.json");
    assert_eq!(package["licenses"][0]["name"], "ODbL-1.0");
    assert_eq!(package["sources"][0]["title"], "Fixture export records");
    assert_eq!(package["contributors"][0]["roles"][0], "publisher");
    let exports = resources(&package)
        .iter()
        .find(|r| r["name"] == "exports")
        .expect("exports");
    assert_eq!(exports["schema"]["primaryKey"][0], "export");
    assert_eq!(
        exports["schema"]["foreignKeys"][0]["reference"]["resource"],
        "partners"
    );
    let items = &exports["schema"]["fields"][3];
    assert_eq!(items["name"], "items");
    assert_eq!(items["unit"], "items");
    let label = items["missingValues"][0]["label"].as_str().expect("label");
    assert!(label.contains("from 1 to 2"), "{label}");
}

#[test]
fn parquet_holds_the_csv_values_with_types() {
    let (_dir, out) = build(&repo());
    let package = json(&out, "data/datapackage.json");
    for r in resources(&package)
        .iter()
        .filter(|r| r.get("schema").is_some())
    {
        let name = r["name"].as_str().expect("name");
        let (header, rows) = csv_rows(&out, &format!("data/{name}.csv"));
        let file = std::fs::File::open(out.join(format!("data/{name}.parquet"))).expect("parquet");
        let df = ParquetReader::new(file).finish().expect("parquet reads");
        assert_eq!(df.height(), rows.len(), "{name}");
        let fields = r["schema"]["fields"].as_array().expect("fields");
        for (i, f) in fields.iter().enumerate() {
            let column = df
                .column(&header[i])
                .expect("column")
                .as_materialized_series();
            let want = match f["type"].as_str() {
                Some("integer") => DataType::Int64,
                Some("date") => DataType::Date,
                Some("datetime") => DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)),
                _ => DataType::String,
            };
            assert_eq!(column.dtype(), &want, "{name}.{}", header[i]);
            let text = column.cast(&DataType::String).ok();
            let cell_text = |n: usize| -> String {
                text.as_ref()
                    .and_then(|t| t.str().expect("strings").get(n).map(str::to_owned))
                    .unwrap_or_default()
            };
            for (n, row) in rows.iter().enumerate() {
                let got = cell_text(n);
                let cell = &row[i];
                match f["type"].as_str() {
                    Some("datetime") if !cell.is_empty() => {
                        // Polars prints `2024-02-12 09:15:00 UTC`.
                        let want = cell.replace('T', " ").replace('Z', "");
                        assert!(got.starts_with(&want), "{name} row {n}: {got} vs {cell}");
                    }
                    _ => assert_eq!(&got, cell, "{name} row {n} column {}", header[i]),
                }
            }
        }
    }
}

#[test]
fn croissant_record_sets_read_the_csv_columns() {
    let (_dir, out) = build(&repo());
    let c = json(&out, "data/croissant.json");
    assert_eq!(c["@type"], "sc:Dataset");
    assert_eq!(c["conformsTo"], "http://mlcommons.org/croissant/1.0");
    for key in [
        "rai:dataCollection",
        "rai:personalSensitiveInformation",
        "rai:dataUseCases",
        "rai:dataLimitations",
    ] {
        assert!(c[key].as_str().is_some_and(|s| s.len() > 40), "{key}");
    }
    assert_eq!(c["license"], "https://creativecommons.org/licenses/by/4.0/");
    for d in c["distribution"].as_array().expect("distribution") {
        let file = out
            .join("data")
            .join(d["contentUrl"].as_str().expect("url"));
        assert_eq!(d["sha256"].as_str(), Some(sha256(&file).as_str()));
    }
    let ids: BTreeSet<String> = c["recordSet"]
        .as_array()
        .expect("record sets")
        .iter()
        .flat_map(|rs| rs["field"].as_array().expect("fields").iter())
        .map(|f| f["@id"].as_str().expect("id").to_owned())
        .collect();
    for rs in c["recordSet"].as_array().expect("record sets") {
        for f in rs["field"].as_array().expect("fields") {
            let file = f["source"]["fileObject"]["@id"].as_str().expect("file");
            let column = f["source"]["extract"]["column"].as_str().expect("column");
            let (header, _) = csv_rows(&out, &format!("data/{file}"));
            assert!(header.iter().any(|h| h == column), "{file}: {column}");
            if let Some(target) = f["references"]["field"]["@id"].as_str() {
                assert!(ids.contains(target), "{target}");
            }
        }
    }
}

/// Addresses in report.yaml are published in the data package: one that is not an http(s) (or,
/// for the contact, e-mail) address is left out with a located warning, never published.
#[test]
fn unsafe_metadata_addresses_are_left_out_with_a_warning() {
    let (_dir, root) = crate::support::fixture_copy("basic");
    let report = root.join("report.yaml");
    let text = std::fs::read_to_string(&report).expect("read");
    let text = text
        .replace(
            "  url: https://fixture.example",
            "  url: \"java\\tscript:alert(4)\"\n  contact: \"javascript:alert(5)\"",
        )
        .replace(
            "  url: https://opendatacommons.org/licenses/odbl/1-0/",
            "  url: //evil.example/lic",
        );
    std::fs::write(&report, text).expect("write");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("site");
    let output = crate::support::sharelog(&[
        "build",
        "--root",
        root.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for key in [
        "report.yaml:4:8: platform.url",
        "platform.contact",
        "license.url",
    ] {
        assert!(
            stderr.contains(&format!("warning: {key}"))
                || (stderr.contains("warning: ") && stderr.contains(key)),
            "{key}: {stderr}"
        );
    }
    for rel in [
        "data/datapackage.json",
        "data/croissant.json",
        "data/report.json",
        "CITATION.cff",
    ] {
        let published = read(&out, rel);
        for bad in ["script:", "evil.example"] {
            assert!(!published.contains(bad), "{rel} holds {bad}");
        }
    }
}
