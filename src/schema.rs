//! JSON Schemas of the YAML inputs, generated from the serde types that read them, so that an
//! editor (through `# yaml-language-server: $schema=…`) completes and checks keys as you type.
//! `sharelog schema` writes them; `sharelog new` writes them into the new root.

use schemars::{JsonSchema, generate::SchemaSettings};

use crate::load::corrections::RawCorrection;
use crate::load::raw::{RawExport, RawPartner, RawReport};
use crate::load::responses::RawResponse;

/// How the schemas describe values, as the loader reads them. serde-saphyr is lenient where
/// YAML writers differ: any scalar where text is expected (`id: 2023` is the text `2023`), a
/// quoted whole number where a number is expected, and `yes`/`no`/`on`/`off`/`y`/`n` in any
/// case, quoted or not, where a boolean is expected. The schemas accept the same, and also give
/// the checks sharelog makes right after reading (no negative counts, dates as YYYY-MM-DD, at
/// least one category, the finding ids a response may name …), so that an editor flags what
/// `sharelog check` would refuse for its shape. Whether a date exists, or a partner id is
/// known, only `sharelog check` can tell.
pub(crate) mod types {
    use std::borrow::Cow;

    use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

    /// A whole number 0 or more, unquoted or quoted (`10`, `"10"`, `0x10`, `1_000`).
    const UNSIGNED: &str = r"^\s*\+?(0|[1-9][0-9_]*|0x[0-9a-fA-F]+)\s*$";
    /// A date, `YYYY-MM-DD`.
    const DATE: &str = r"^\s*[0-9]{4}-(0?[1-9]|1[0-2])-(0?[1-9]|[12][0-9]|3[01])\s*$";
    /// A date, or an RFC 3339 datetime (seconds required; `T` or a space; an offset with or
    /// without its colon, or none for UTC).
    const INSTANT: &str = r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:?[0-9]{2})?)?\s*$";
    /// The words serde-saphyr reads as a boolean, in any case.
    const BOOLEAN: &str = "^([yY]|[nN]|[yY][eE][sS]|[nN][oO]|[oO][nN]|[oO][fF][fF]|[tT][rR][uU][eE]|[fF][aA][lL][sS][eE])$";

    macro_rules! schema_type {
        ($(#[$doc:meta])* $name:ident, $schema:tt) => {
            $(#[$doc])*
            pub(crate) struct $name;

            impl JsonSchema for $name {
                fn schema_name() -> Cow<'static, str> {
                    stringify!($name).into()
                }

                fn json_schema(_: &mut SchemaGenerator) -> Schema {
                    json_schema!($schema)
                }
            }
        };
    }

    schema_type!(
        /// Text: any scalar is read as its text.
        Text,
        { "type": ["string", "number", "boolean"] }
    );
    schema_type!(
        /// A date, `YYYY-MM-DD` (UTC).
        Date,
        { "type": "string", "pattern": DATE, "examples": ["2024-06-30"] }
    );
    schema_type!(
        /// A date (midnight UTC) or an RFC 3339 datetime.
        Instant,
        { "type": "string", "pattern": INSTANT, "examples": ["2024-03-01T09:00:00Z", "2024-03-01"] }
    );
    schema_type!(
        /// A whole number, 0 or more.
        Count,
        { "anyOf": [ { "type": "integer", "minimum": 0 }, { "type": "string", "pattern": UNSIGNED } ] }
    );
    schema_type!(
        /// A whole number.
        Whole,
        { "anyOf": [ { "type": "integer" }, { "type": "string", "pattern": r"^\s*[+-]?(0|[1-9][0-9_]*)\s*$" } ] }
    );
    schema_type!(
        /// `true` or `false` (also `yes`/`no`, `on`/`off`).
        Flag,
        { "anyOf": [ { "type": "boolean" }, { "type": "string", "pattern": BOOLEAN } ] }
    );
    schema_type!(
        /// Counts from 1 to `min_count - 1` are suppressed; 1 publishes every count; 2 is refused
        /// (every hidden count would be 1).
        MinCount,
        { "anyOf": [ { "type": "integer", "minimum": 1, "not": { "const": 2 } },
                     { "type": "string", "pattern": r"^\s*\+?(1|[3-9]|[1-9][0-9_]+)\s*$" } ] }
    );
    schema_type!(
        /// An id: lowercase letters, digits and `-`, starting with a letter or digit.
        Slug,
        { "anyOf": [ { "type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$" }, { "type": "integer", "minimum": 0 } ],
          "examples": ["northwind-2023-q3"] }
    );
    schema_type!(
        /// An ISO 3166-1 alpha-2 country code: two capital letters.
        Country,
        { "type": "string", "pattern": "^[A-Z]{2}$", "examples": ["US", "DE", "IE"] }
    );
    schema_type!(
        /// A SHA-256 digest: 64 hexadecimal digits, as `sha256sum` prints them.
        Sha256,
        { "type": "string", "pattern": "^[0-9a-fA-F]{64}$" }
    );
    schema_type!(
        /// A table `privacy.bands.tables` may name.
        BandTable,
        { "type": "string", "enum": crate::model::BANDABLE }
    );
    schema_type!(
        /// A finding id.
        FindingId,
        { "type": "string", "enum": crate::aggregate::findings::Kind::ALL.map(|k| k.id()) }
    );
    schema_type!(
        /// A content flag.
        FlagName,
        { "type": "string", "enum": crate::aggregate::columns::FLAGS }
    );
    schema_type!(
        /// A band's width: at least `min_count`.
        Width,
        { "anyOf": [ { "type": "integer", "minimum": 1 }, { "type": "string", "pattern": r"^\s*\+?[1-9][0-9_]*\s*$" } ] }
    );
}

/// One input file's schema.
#[derive(Debug, Clone, Copy)]
pub struct InputSchema {
    /// The schema's file name (`report.schema.json`).
    pub file: &'static str,
    /// Which input files it describes, relative to a report root.
    pub describes: &'static str,
    /// The schema as pretty-printed JSON, with a final newline.
    text: fn() -> String,
}

impl InputSchema {
    /// The schema as pretty-printed JSON, with a final newline.
    pub fn text(&self) -> String {
        (self.text)()
    }
}

/// The schema of `T` (draft 2020-12), titled and described for the file it checks.
fn schema_of<T: JsonSchema>(title: &str, describes: &str) -> String {
    let mut schema = SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>();
    schema.insert("title".into(), title.into());
    schema.insert(
        "description".into(),
        format!("{describes} of a sharelog report root: every key is in sharelog's docs/input.md")
            .into(),
    );
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// Every input schema: `report.yaml`, `data/partners.yaml`, an export manifest,
/// `data/corrections.yaml` and `data/responses.yaml`.
pub const SCHEMAS: [InputSchema; 5] = [
    InputSchema {
        file: "report.schema.json",
        describes: "report.yaml",
        text: || schema_of::<RawReport>("sharelog report.yaml", "report.yaml"),
    },
    InputSchema {
        file: "partners.schema.json",
        describes: "data/partners.yaml",
        text: || schema_of::<Vec<RawPartner>>("sharelog partners", "data/partners.yaml"),
    },
    InputSchema {
        file: "export.schema.json",
        describes: "data/exports/**/*.yaml",
        text: || schema_of::<RawExport>("sharelog export manifest", "data/exports/**/*.yaml"),
    },
    InputSchema {
        file: "corrections.schema.json",
        describes: "data/corrections.yaml",
        text: || {
            schema_of::<Option<Vec<RawCorrection>>>("sharelog corrections", "data/corrections.yaml")
        },
    },
    InputSchema {
        file: "responses.schema.json",
        describes: "data/responses.yaml",
        text: || schema_of::<Option<Vec<RawResponse>>>("sharelog responses", "data/responses.yaml"),
    },
];

/// Writes every schema into `dir` (created if needed); returns the paths written.
pub fn write_schemas(dir: &std::path::Path) -> crate::error::Result<Vec<std::path::PathBuf>> {
    crate::fs::create_dir_all(dir)?;
    let mut out = Vec::new();
    for s in SCHEMAS {
        let path = dir.join(s.file);
        crate::fs::write(&path, s.text().as_bytes())?;
        out.push(path);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use serde_json::Value;

    use super::*;

    /// The schema file for a YAML input of a report root, by its path in the root.
    fn schema_for(rel: &str) -> Option<&'static str> {
        Some(match rel {
            "report.yaml" => "report.schema.json",
            "data/partners.yaml" => "partners.schema.json",
            "data/corrections.yaml" => "corrections.schema.json",
            "data/responses.yaml" => "responses.schema.json",
            r if r.starts_with("data/exports/") && r.ends_with(".yaml") => "export.schema.json",
            _ => return None,
        })
    }

    fn validator(file: &str) -> jsonschema::Validator {
        let schema = SCHEMAS
            .iter()
            .find(|s| s.file == file)
            .map(|s| s.text())
            .unwrap_or_default();
        let schema: Value = serde_json::from_str(&schema).expect("schema is JSON");
        jsonschema::validator_for(&schema).expect("schema compiles")
    }

    /// Whether the schema holds `text` (YAML, or JSON, which is YAML); `None` when it is no
    /// YAML at all.
    fn schema_holds(rel: &str, text: &str) -> Option<bool> {
        let value: Value = serde_saphyr::from_str(text).ok()?;
        Some(validator(schema_for(rel)?).is_valid(&value))
    }

    /// The files `sharelog check` names in the problems of `root` (empty when it is valid).
    fn refused_files(root: &Path) -> Vec<String> {
        match crate::check(root) {
            Ok(_) => Vec::new(),
            Err(crate::error::Error::Invalid(problems)) => {
                problems.into_iter().map(|p| p.file).collect()
            }
            Err(e) => panic!("{}: {e}", root.display()),
        }
    }

    /// The YAML inputs of `root` a schema describes: (path in the root, text).
    fn yaml_inputs(root: &Path) -> Vec<(String, String)> {
        // report.yaml and data/ only: the repository's root also holds target/.
        let files = walkdir::WalkDir::new(root.join("data"))
            .sort_by_file_name()
            .into_iter()
            .chain(walkdir::WalkDir::new(root.join("report.yaml")));
        let mut out = Vec::new();
        for e in files.flatten() {
            let Ok(rel) = e.path().strip_prefix(root) else {
                continue;
            };
            let rel = rel.to_string_lossy().replace('\\', "/");
            if let (Some(_), Ok(text)) = (schema_for(&rel), std::fs::read_to_string(e.path())) {
                out.push((rel, text));
            }
        }
        out
    }

    #[test]
    fn the_repository_s_roots_are_valid_or_refused_alike_by_check_and_schema() {
        // The example and every fixture: a root that checks has every input held by its
        // schema, and an input a schema refuses is one `sharelog check` names a problem in.
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut roots = vec![here.to_path_buf()];
        for dir in ["tests/fixtures", "tests/fixtures/invalid"] {
            for e in std::fs::read_dir(here.join(dir))
                .expect("fixtures")
                .flatten()
            {
                if e.path().join("report.yaml").exists() {
                    roots.push(e.path());
                }
            }
        }
        roots.sort();
        let (mut inputs, mut refused_by_schema) = (0, 0);
        let mut disagree = Vec::new();
        for root in &roots {
            let refused = refused_files(root);
            for (rel, text) in yaml_inputs(root) {
                inputs += 1;
                let holds = schema_holds(&rel, &text);
                if holds != Some(true) {
                    refused_by_schema += 1;
                }
                let named = refused.contains(&rel);
                if (refused.is_empty() && holds != Some(true)) || (holds != Some(true) && !named) {
                    disagree.push(format!(
                        "{}/{rel}: schema {holds:?}, check names it: {named}",
                        root.display()
                    ));
                }
            }
        }
        assert!(inputs > 40, "found only {inputs} inputs");
        assert!(refused_by_schema >= 4, "only {refused_by_schema} refused");
        assert!(disagree.is_empty(), "{disagree:#?}");
    }

    /// A fresh root from `sharelog new`, in a temporary folder.
    fn fresh_root() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("root");
        crate::new_root(&root).expect("new root");
        (dir, root)
    }

    /// Writes `text` as `rel` of a fresh root; (what `check` says of the file, what the schema
    /// says).
    fn verdicts(rel: &str, text: &str) -> (bool, Option<bool>) {
        let (_dir, root) = fresh_root();
        std::fs::write(root.join(rel), text).expect("write");
        let refused = refused_files(&root).iter().any(|f| f == rel);
        (!refused, schema_holds(rel, text))
    }

    #[test]
    fn mistakes_in_a_new_root_are_refused_alike_by_check_and_schema() {
        let (_dir, root) = fresh_root();
        let read = |rel: &str| std::fs::read_to_string(root.join(rel)).expect("read");
        let mut disagree = Vec::new();
        let mut checked = 0;
        let mut compare = |label: String, rel: &str, text: String| {
            let (check, schema) = verdicts(rel, &text);
            checked += 1;
            if schema != Some(check) {
                disagree.push(format!("{rel}, {label}: check {check}, schema {schema:?}"));
            }
        };
        // Mistakes as people make them (and leniencies the loader has: `id: 2023` is the
        // text "2023", `"10"` the number 10, `yes` true). Each (file, from, to).
        let edits: &[(&str, &str, &str)] = &[
            ("report.yaml", "min_count: 10", "min_count: 0"),
            ("report.yaml", "min_count: 10", "min_count: 2"),
            ("report.yaml", "min_count: 10", "min_count: -1"),
            ("report.yaml", "min_count: 10", "min_count: \"10\""),
            (
                "report.yaml",
                "title: Data-sharing transparency report",
                "title: 2024",
            ),
            (
                "report.yaml",
                "title: Data-sharing transparency report",
                "title: ~",
            ),
            (
                "report.yaml",
                "published: 2025-01-31",
                "published: 31/01/2025",
            ),
            (
                "report.yaml",
                "published: 2025-01-31",
                "published: 2025-1-31",
            ),
            ("report.yaml", "from: 2024-01-01", "from: 2024"),
            (
                "report.yaml",
                "  - id: text\n    label: Text posts\n  - id: photo\n    label: Photo posts\n",
                "  []\n",
            ),
            (
                "report.yaml",
                "min_count: 10",
                "min_count: 10\n  bands: {width: 0, tables: [deletions]}",
            ),
            (
                "report.yaml",
                "min_count: 10",
                "min_count: 10\n  bands: {width: 250, tables: [no-such-table]}",
            ),
            (
                "report.yaml",
                "min_count: 10",
                "min_count: 10\n  bands: {width: 250, tables: [deletions]}",
            ),
            (
                "report.yaml",
                "license:\n  id: CC-BY-4.0",
                "license:\n  id: 4",
            ),
            ("data/partners.yaml", "[ai-training]", "[fine-tuning]"),
            ("data/partners.yaml", "[ai-training]", "[]"),
            ("data/partners.yaml", "[ai-training]", "ai-training"),
            // (`honours_opt_out: yes` unquoted is not compared: serde-saphyr turns `yes` into
            // the boolean true on the way to JSON, as YAML 1.1 did, while editors read YAML 1.2
            // and see the text "yes", which the schema and the loader both accept.)
            ("data/partners.yaml", "\"yes\"", "maybe"),
            ("data/partners.yaml", "\"yes\"", "Yes"),
            (
                "data/partners.yaml",
                "deletion_deadline_days: 30",
                "deletion_deadline_days: \"30\"",
            ),
            (
                "data/partners.yaml",
                "deletion_deadline_days: 30",
                "deletion_deadline_days: 30 days",
            ),
            (
                "data/partners.yaml",
                "deletion_deadline_days: 30",
                "deletion_deadline_days: -1",
            ),
            (
                "data/partners.yaml",
                "signed: 2024-01-15",
                "signed: 15.01.2024",
            ),
            ("data/partners.yaml", "name: Example AI Ltd", "name: 42"),
            ("data/partners.yaml", "country: GB", "country: gb"),
            ("data/partners.yaml", "country: GB", "country: GBR"),
            (
                "data/exports/first-export.yaml",
                "id: first-export",
                "id: First_Export",
            ),
            (
                "data/exports/first-export.yaml",
                "id: first-export",
                "id: -5",
            ),
            ("report.yaml", "  - id: photo", "  - id: Photo"),
            (
                "data/exports/first-export.yaml",
                "id: first-export",
                "id: 2023",
            ),
            (
                "data/exports/first-export.yaml",
                "items: 1200",
                "items: \"1200\"",
            ),
            ("data/exports/first-export.yaml", "items: 1200", "items: -5"),
            (
                "data/exports/first-export.yaml",
                "items: 1200",
                "items: 1.5",
            ),
            (
                "data/exports/first-export.yaml",
                "items: 1200",
                "items: 1200, opted_out: -3",
            ),
            (
                "data/exports/first-export.yaml",
                "items: 1200",
                "items: 1200, privat: 3",
            ),
            (
                "data/exports/first-export.yaml",
                "year: 2022",
                "year: \"2022\"",
            ),
            (
                "data/exports/first-export.yaml",
                "counts:\n",
                "counts: []\nx:\n",
            ),
            (
                "data/exports/first-export.yaml",
                "  public_only: true",
                "  public_only: yes",
            ),
            (
                "data/exports/first-export.yaml",
                "  public_only: true",
                "  public_only: \"no\"",
            ),
            (
                "data/exports/first-export.yaml",
                "  public_only: true",
                "  public_only: 1",
            ),
            (
                "data/exports/first-export.yaml",
                "  public_only: true",
                "  public_only: true\n  exclude_private: true",
            ),
            (
                "data/exports/first-export.yaml",
                "exported_at: 2024-03-01T09:00:00Z",
                "exported_at: 2024-03-01",
            ),
            (
                "data/exports/first-export.yaml",
                "exported_at: 2024-03-01T09:00:00Z",
                "exported_at: 2024-03-01 09:00:00+0100",
            ),
            (
                "data/exports/first-export.yaml",
                "exported_at: 2024-03-01T09:00:00Z",
                "exported_at: 03/01/2024",
            ),
            (
                "data/exports/first-export.yaml",
                "exported_at: 2024-03-01T09:00:00Z",
                "exported_at: 2024-03-01T09:00Z",
            ),
            (
                "data/exports/first-export.yaml",
                "  from: 2020-01-01",
                "  from: 2020",
            ),
            (
                "data/exports/first-export.yaml",
                "counts:",
                "files:\n  - {path: a.csv}\ncounts:",
            ),
            (
                "data/exports/first-export.yaml",
                "counts:",
                "files:\n  - {path: a.csv, sha256: abc}\ncounts:",
            ),
            (
                "data/exports/first-export.yaml",
                "counts:",
                "files:\n  - {path: a.csv, sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855, bytes: \"12\"}\ncounts:",
            ),
        ];
        for (rel, from, to) in edits {
            let text = read(rel);
            assert!(text.contains(from), "{rel} has no `{from}`");
            compare(
                format!("`{from}` → `{to}`"),
                rel,
                text.replacen(from, to, 1),
            );
        }
        // Without both `items` and `counts`.
        let export = read("data/exports/first-export.yaml");
        let cut = export.find("counts:").expect("counts");
        compare(
            "no items, no counts".into(),
            "data/exports/first-export.yaml",
            export[..cut].to_owned(),
        );
        // In each file: an unknown key, and each key removed or given a value of the wrong
        // shape, written as JSON (which every YAML reader reads).
        for rel in [
            "report.yaml",
            "data/partners.yaml",
            "data/exports/first-export.yaml",
        ] {
            let value: Value = serde_saphyr::from_str(&read(rel)).expect("yaml");
            let pointer = if value.is_array() { "/0" } else { "" };
            let Some(Value::Object(object)) = value.pointer(pointer) else {
                panic!("{rel} holds no object");
            };
            let mut variants: Vec<(String, Value)> = Vec::new();
            let mut with = |label: String, change: &dyn Fn(&mut serde_json::Map<String, Value>)| {
                let mut v = value.clone();
                if let Some(Value::Object(o)) = v.pointer_mut(pointer) {
                    change(o);
                }
                variants.push((label, v));
            };
            with("unknown key".into(), &|o| {
                o.insert("no_such_key".into(), Value::from("x"));
            });
            for key in object.keys() {
                let k = key.clone();
                with(format!("`{key}` removed"), &|o| {
                    o.remove(&k);
                });
                let k = key.clone();
                with(format!("`{key}` mistyped"), &|o| {
                    if let Some(v) = o.get_mut(&k) {
                        *v = match v {
                            Value::Object(_) | Value::Array(_) => Value::from(true),
                            _ => Value::Array(vec![Value::Object(Default::default())]),
                        };
                    }
                });
            }
            for (label, v) in variants {
                compare(label, rel, serde_json::to_string(&v).expect("json"));
            }
        }
        assert!(checked > 80, "checked only {checked} mistakes");
        assert!(disagree.is_empty(), "{disagree:#?}");
    }

    /// The schema a YAML file's `# yaml-language-server: $schema=…` line names, read from the
    /// path it gives relative to the file.
    fn named_schema(file: &Path) -> Value {
        let text = std::fs::read_to_string(file).expect("file");
        let rel = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# yaml-language-server: $schema="))
            .unwrap_or_else(|| panic!("{} has no schema line", file.display()));
        let path = file.parent().expect("folder").join(rel);
        let schema = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{} names {rel}, which does not exist", file.display()));
        serde_json::from_str(&schema).expect("schema is JSON")
    }

    #[test]
    fn every_yaml_input_names_a_schema_that_exists_and_holds_it() {
        // A new root and the example: what an editor would check against.
        let (_dir, new) = fresh_root();
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = vec![
            new.join("report.yaml"),
            new.join("data/partners.yaml"),
            new.join("data/exports/first-export.yaml"),
            here.join("report.yaml"),
            here.join("data/partners.yaml"),
            here.join("data/corrections.yaml"),
            here.join("data/responses.yaml"),
        ];
        for e in std::fs::read_dir(here.join("data/exports"))
            .expect("exports")
            .flatten()
        {
            if e.path().extension().is_some_and(|x| x == "yaml") {
                files.push(e.path());
            }
        }
        for file in files {
            let schema = named_schema(&file);
            let text = std::fs::read_to_string(&file).expect("file");
            let value: Value = serde_saphyr::from_str(&text).expect("yaml");
            let validator = jsonschema::validator_for(&schema).expect("schema compiles");
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{}: {errors:?}", file.display());
        }
        // A corrections or responses file of nothing but comments is an empty list to the
        // loader, and to the schema.
        for rel in ["data/corrections.yaml", "data/responses.yaml"] {
            assert_eq!(
                verdicts(rel, "# nothing yet\n"),
                (true, Some(true)),
                "{rel}"
            );
        }
    }

    #[test]
    fn the_schemas_in_the_repository_are_the_ones_the_loader_gives() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schemas");
        for s in SCHEMAS {
            let kept = std::fs::read_to_string(dir.join(s.file)).unwrap_or_default();
            assert!(
                kept == s.text(),
                "docs/schemas/{} is not what `sharelog schema` writes: run `cargo run -- schema --out docs/schemas`",
                s.file
            );
        }
    }
}
