//! Exports as folders of part files (issue 19, part 4): a manifest's `items:` or `counts:` may
//! name a folder (hive-partitioned or not) or a glob; the parts are one table, and problems
//! name the part.

use std::path::Path;

use polars::prelude::*;

use crate::support::{example_copy, sharelog};

fn build(root: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "build",
        "--quiet",
        "--root",
        root.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    sharelog(&args)
}

fn site_files(out: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(out)
        .sort_by_file_name()
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(out)
                .expect("inside")
                .display()
                .to_string();
            (rel, std::fs::read(e.path()).expect("read"))
        })
        .collect()
}

/// A CSV text's header and rows as cells, and where `column` is among them.
fn cells_of<'a>(csv: &'a str, column: &str) -> (Vec<&'a str>, Vec<Vec<&'a str>>, usize) {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let at = header.iter().position(|h| *h == column).expect(column);
    let rows = lines.map(|line| line.split(',').collect()).collect();
    (header, rows, at)
}

/// A CSV line's cells without the one at `at`, joined again: the column a hive folder holds.
fn without_column(cells: &[&str], at: usize) -> String {
    cells
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != at)
        .map(|(_, c)| *c)
        .collect::<Vec<_>>()
        .join(",")
}

fn set_manifest(root: &Path, export: &str, key: &str, value: &str) {
    let manifest = root.join(format!("data/exports/{export}.yaml"));
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    let text: String = text
        .lines()
        .map(|l| {
            if l.starts_with(&format!("{key}:")) {
                format!("{key}: {value}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&manifest, text).expect("write");
}

/// Splits the example's three listings and one count table into 40+ part files the ways
/// warehouses write them, and checks the site is the same byte for byte.
fn split_example(root: &Path) -> std::path::PathBuf {
    let exports = root.join("data/exports");
    // 1. The CSV listing: hive-partitioned by category (the column leaves the file), 24 parts,
    //    with Spark's _SUCCESS and .crc files beside them.
    let csv = std::fs::read_to_string(exports.join("items/pellucid-2023-01.csv")).expect("csv");
    let (header, rows, at) = cells_of(&csv, "category");
    let keep = |cells: &[&str]| without_column(cells, at);
    let folder = exports.join("items/pellucid-2023-01");
    let mut parts: std::collections::BTreeMap<String, String> = Default::default();
    for (i, cells) in rows.iter().enumerate() {
        let path = format!("category={}/part-{:05}.csv", cells[at], i % 8);
        parts
            .entry(path)
            .or_insert_with(|| format!("{}\n", keep(&header)))
            .push_str(&format!("{}\n", keep(cells)));
    }
    assert!(parts.len() >= 16, "{}", parts.len());
    for (path, text) in &parts {
        let file = folder.join(path);
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        std::fs::write(&file, text).expect("write");
        std::fs::write(
            file.with_file_name(format!(
                ".{}.crc",
                file.file_name().expect("name").to_string_lossy()
            )),
            "crc",
        )
        .expect("crc");
    }
    std::fs::write(folder.join("_SUCCESS"), "").expect("success");
    std::fs::remove_file(exports.join("items/pellucid-2023-01.csv")).expect("remove");
    set_manifest(root, "pellucid-2023-01", "items", "items/pellucid-2023-01");

    // 2. The Parquet listing: hive-partitioned by category as Spark's partitionBy writes it
    //    (the column leaves the files), 4 parts per category, named by a `**` glob.
    let file = std::fs::File::open(exports.join("items/pellucid-2024-01.parquet")).expect("open");
    let df = ParquetReader::new(file).finish().expect("parquet");
    let categories = df
        .column("category")
        .expect("category")
        .unique_stable()
        .expect("unique");
    for c in categories.str().expect("text").iter().flatten() {
        let rows = df
            .clone()
            .lazy()
            .filter(col("category").eq(lit(c)))
            .drop(by_name(["category"], true, false))
            .collect()
            .expect("filter");
        let folder = exports.join(format!("items/pellucid-2024-01-parts/category={c}"));
        std::fs::create_dir_all(&folder).expect("mkdir");
        let chunk = rows.height().div_ceil(4).max(1);
        for i in 0..4 {
            let mut part = rows.slice((i * chunk) as i64, chunk);
            let out = std::fs::File::create(folder.join(format!("part-{i:05}.snappy.parquet")))
                .expect("create");
            ParquetWriter::new(out).finish(&mut part).expect("write");
        }
    }
    std::fs::remove_file(exports.join("items/pellucid-2024-01.parquet")).expect("remove");
    set_manifest(
        root,
        "pellucid-2024-01",
        "items",
        "\"items/pellucid-2024-01-parts/**/*.parquet\"",
    );

    // 3. A declared-count table, hive-partitioned by year.
    let counts = std::fs::read_to_string(exports.join("counts/lumen-2024-02.csv")).expect("csv");
    let mut lines = counts.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let year_at = header.iter().position(|h| *h == "year").expect("year");
    let without = |cells: &[&str]| without_column(cells, year_at);
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let file = exports.join(format!(
            "counts/lumen-2024-02/year={}/part-{}.csv",
            cells[year_at], cells[0]
        ));
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|_| format!("{}\n", without(&header)));
        std::fs::write(&file, format!("{text}{}\n", without(&cells))).expect("write");
    }
    std::fs::remove_file(exports.join("counts/lumen-2024-02.csv")).expect("remove");
    set_manifest(root, "lumen-2024-02", "counts", "counts/lumen-2024-02");
    folder
}

#[test]
fn the_same_items_as_one_file_and_as_part_files_give_the_same_site() {
    let (dir, root) = example_copy();
    let one = dir.path().join("one");
    let output = build(&root, &one, &["--no-cache"]);
    assert!(output.status.success(), "{output:?}");
    let folder = split_example(&root);
    let parts = dir.path().join("parts");
    let output = build(&root, &parts, &["--no-cache"]);
    assert!(output.status.success(), "{output:?}");
    // The same with --root relative to the working folder (globs match whatever form the root
    // is given in), and with the root under a folder named like a hive partition, which must
    // not give any listing a column.
    let hived = dir.path().join("category=photo");
    std::fs::create_dir_all(&hived).expect("mkdir");
    std::fs::rename(&root, hived.join("root")).expect("move");
    let relative = std::process::Command::new(env!("CARGO_BIN_EXE_sharelog"))
        .current_dir(&hived)
        .args([
            "build",
            "--quiet",
            "--no-cache",
            "--root",
            "root",
            "--out",
            "../relative",
        ])
        .output()
        .expect("runs");
    assert!(relative.status.success(), "{relative:?}");
    std::fs::rename(hived.join("root"), &root).expect("move back");
    let (a, b) = (site_files(&one), site_files(&parts));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        assert!(b[name] == *bytes, "{name} differs");
    }
    assert!(
        site_files(&dir.path().join("relative")) == b,
        "relative root"
    );

    // With the cache, each part is an entry: a new part is the only one counted.
    let cache = dir.path().join("cache");
    let cached = |out: &str| {
        let output = sharelog_cached(&root, &dir.path().join(out), &cache);
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    cached("c1");
    let moved = folder.join("category=text/part-00000.csv");
    let text = std::fs::read_to_string(&moved).expect("part");
    let (head, rows) = text.split_once('\n').expect("rows");
    let (first, rest) = rows.split_once('\n').expect("two rows");
    std::fs::write(&moved, format!("{head}\n{rest}")).expect("write");
    std::fs::write(
        folder.join("category=text/part-00099.csv"),
        format!("{head}\n{first}\n"),
    )
    .expect("write");
    let log = cached("c2");
    assert!(log.contains("2 counted"), "{log}");
    assert_eq!(
        site_files(&dir.path().join("c2")),
        b,
        "moving a row between parts changes nothing"
    );
}

fn sharelog_cached(root: &Path, out: &Path, cache: &Path) -> std::process::Output {
    crate::support::sharelog_with_env(
        &[("SHARELOG_CACHE_KEY", "0123456789abcdef0123456789abcdef")],
        &[
            "build",
            "--root",
            root.to_str().expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
            "--cache",
            cache.to_str().expect("utf-8"),
        ],
    )
}

#[test]
fn problems_in_parts_name_the_part_file() {
    let (dir, root) = example_copy();
    let folder = split_example(&root);
    let part = folder.join("category=photo/part-00003.csv");
    let text = std::fs::read_to_string(&part).expect("part");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[2] = lines[2].replacen(",", ",not-an-owner-id,", 1);
    let fields: Vec<&str> = lines[2].split(',').collect();
    lines[2] = [fields[0], "", &fields[3..].join(",")].join(",");
    std::fs::write(&part, lines.join("\n") + "\n").expect("write");
    // A stray file, and a part whose folder names a column it also holds.
    std::fs::write(folder.join("notes.txt"), "hello").expect("write");
    let out = dir.path().join("site");
    let output = build(&root, &out, &["--no-cache"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("data/exports/items/pellucid-2023-01/notes.txt: is in the folder of parts"),
        "{stderr}"
    );
    std::fs::remove_file(folder.join("notes.txt")).expect("remove");
    let output = build(&root, &out, &["--no-cache"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("data/exports/items/pellucid-2023-01/category=photo/part-00003.csv:3"),
        "{stderr}"
    );
    assert!(!out.exists());

    // Empty folders and globs that match nothing are problems at the manifest's line.
    std::fs::create_dir_all(root.join("data/exports/items/empty")).expect("mkdir");
    set_manifest(&root, "pellucid-2023-01", "items", "items/empty");
    let output = build(&root, &out, &["--no-cache"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("data/exports/pellucid-2023-01.yaml:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`items/empty` names no table files"),
        "{stderr}"
    );
    set_manifest(&root, "pellucid-2023-01", "items", "items/nothing-*.csv");
    let output = build(&root, &out, &["--no-cache"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`items/nothing-*.csv` names no table files"),
        "{stderr}"
    );
}

#[test]
fn a_column_in_both_the_part_and_its_folder_name_is_a_problem() {
    let (dir, root) = crate::support::fixture_copy("findings");
    let folder = root.join("data/exports/x1/category=text");
    std::fs::create_dir_all(&folder).expect("mkdir");
    std::fs::copy(root.join("data/exports/x1.csv"), folder.join("part-0.csv")).expect("copy");
    set_manifest(&root, "x1", "items", "\"x1/**/*.csv\"");
    let output = build(&root, &dir.path().join("site"), &["--no-cache"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("data/exports/x1/category=text/part-0.csv: column `category` is both in the file and in the name of a folder"),
        "{stderr}"
    );
}

/// `items:` naming a partition folder itself: its `key=value` is the parts' column too.
#[test]
fn a_named_partition_folder_gives_its_column() {
    let (dir, root) = crate::support::fixture_copy("findings");
    let csv = std::fs::read_to_string(root.join("data/exports/x1.csv")).expect("csv");
    let (header, rows, at) = cells_of(&csv, "category");
    let without = |cells: &[&str]| without_column(cells, at);
    let mut text = format!("{}\n", without(&header));
    let mut n = 0;
    for cells in &rows {
        if cells[at] == "text" {
            text.push_str(&format!("{}\n", without(cells)));
            n += 1;
        }
    }
    let folder = root.join("data/exports/x1/category=text");
    std::fs::create_dir_all(&folder).expect("mkdir");
    std::fs::write(folder.join("part-0.csv"), text).expect("write");
    set_manifest(&root, "x1", "items", "x1/category=text");
    let out = dir.path().join("site");
    let output = build(&root, &out, &["--no-cache", "--unsuppressed"]);
    assert!(output.status.success(), "{output:?}");
    let shared = std::fs::read_to_string(out.join("data/shared-items.csv")).expect("csv");
    let mut items = 0;
    for line in shared.lines().filter(|l| l.contains(",x1,")) {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells[2], "text", "{line}");
        items += cells[4].parse::<u64>().expect("items");
    }
    assert_eq!(items, n, "{shared}");
}
