//! JSON Schemas of the YAML inputs, generated from the serde types that read them, so that an
//! editor (through `# yaml-language-server: $schema=…`) completes and checks keys as you type.
//! `sharelog schema` writes them; `sharelog new` writes them into the new root.

use schemars::{JsonSchema, generate::SchemaSettings};

use crate::load::corrections::RawCorrection;
use crate::load::raw::{RawExport, RawPartner, RawReport};
use crate::load::responses::RawResponse;

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
        format!("{describes} of a sharelog report root (see sharelog's README)").into(),
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
        text: || schema_of::<Vec<RawCorrection>>("sharelog corrections", "data/corrections.yaml"),
    },
    InputSchema {
        file: "responses.schema.json",
        describes: "data/responses.yaml",
        text: || schema_of::<Vec<RawResponse>>("sharelog responses", "data/responses.yaml"),
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
    use super::*;
    use serde::de::DeserializeOwned;
    use serde_json::Value;

    /// Which schema a YAML file of a report root is read with, and whether the loader accepts
    /// `text` as that file.
    type Kind = (&'static str, fn(&str) -> bool);

    fn loads<T: DeserializeOwned>(text: &str) -> bool {
        crate::load::yaml::parse::<T>("input.yaml", text, 0).is_ok()
    }

    fn kind_of(rel: &str) -> Option<Kind> {
        Some(match rel {
            "report.yaml" => ("report.schema.json", loads::<RawReport>),
            "data/partners.yaml" => ("partners.schema.json", loads::<Vec<RawPartner>>),
            "data/corrections.yaml" => ("corrections.schema.json", loads::<Vec<RawCorrection>>),
            "data/responses.yaml" => ("responses.schema.json", loads::<Vec<RawResponse>>),
            r if r.starts_with("data/exports/") && r.ends_with(".yaml") => {
                ("export.schema.json", loads::<RawExport>)
            }
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

    /// Every report root's YAML inputs under the repository: the example and every fixture.
    fn inputs() -> Vec<(String, String, Kind)> {
        let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
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
        let mut out = Vec::new();
        for root in roots {
            // report.yaml and data/ only: the repository's root also holds target/.
            let files = walkdir::WalkDir::new(root.join("data"))
                .sort_by_file_name()
                .into_iter()
                .chain(walkdir::WalkDir::new(root.join("report.yaml")));
            for e in files {
                let Ok(e) = e else { continue };
                let Ok(rel) = e.path().strip_prefix(&root) else {
                    continue;
                };
                let rel = rel.to_string_lossy().replace('\\', "/");
                let (Some(kind), Ok(text)) = (kind_of(&rel), std::fs::read_to_string(e.path()))
                else {
                    continue;
                };
                out.push((e.path().display().to_string(), text, kind));
            }
        }
        out
    }

    /// The verdicts of the loader and the schema on `text` (YAML, or JSON, which is YAML).
    fn verdicts(text: &str, (schema, loader): Kind) -> (bool, Option<bool>) {
        let value: Option<Value> = serde_saphyr::from_str(text).ok();
        let by_schema = value.map(|v| validator(schema).is_valid(&v));
        (loader(text), by_schema)
    }

    #[test]
    fn every_input_of_the_repository_is_valid_or_invalid_alike_under_loader_and_schema() {
        let inputs = inputs();
        assert!(inputs.len() > 40, "found only {} inputs", inputs.len());
        let refused = inputs.iter().filter(|(_, t, k)| !verdicts(t, *k).0).count();
        assert!(refused >= 2, "only {refused} inputs the loader refuses");
        let mut disagree = Vec::new();
        for (path, text, kind) in &inputs {
            let (loader, schema) = verdicts(text, *kind);
            // Text that is not YAML at all has no schema verdict; the loader refuses it.
            if schema.is_some_and(|s| s != loader) || (schema.is_none() && loader) {
                disagree.push(format!("{path}: loader {loader}, schema {schema:?}"));
            }
        }
        assert!(disagree.is_empty(), "{disagree:#?}");
    }

    #[test]
    fn a_key_added_removed_or_mistyped_is_refused_by_both() {
        // From each valid input of the example: an unknown key, each required key removed, and
        // each key given a value of the wrong shape (a list where a scalar was, or a scalar
        // where a map or list was). Written as JSON, which every YAML reader reads.
        let mut checked = 0;
        let mut disagree = Vec::new();
        let here = env!("CARGO_MANIFEST_DIR");
        for (path, text, kind) in inputs()
            .into_iter()
            .filter(|(p, ..)| !p.contains("/tests/") && p.starts_with(here))
        {
            let Ok(value) = serde_saphyr::from_str::<Value>(&text) else {
                continue;
            };
            // The object to change: the file's, or its list's first entry's.
            let pointer = if value.is_array() { "/0" } else { "" };
            let Some(Value::Object(object)) = value.pointer(pointer) else {
                continue;
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
                let json = serde_json::to_string(&v).expect("json");
                let (loader, schema) = verdicts(&json, kind);
                checked += 1;
                if schema != Some(loader) {
                    disagree.push(format!(
                        "{path}, {label}: loader {loader}, schema {schema:?}"
                    ));
                }
            }
        }
        assert!(checked > 50, "checked only {checked} variants");
        assert!(disagree.is_empty(), "{disagree:#?}");
    }

    /// The schema a YAML file's `# yaml-language-server: $schema=…` line names, read from the
    /// path it gives relative to the file.
    fn named_schema(file: &std::path::Path) -> Value {
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
        let dir = tempfile::tempdir().expect("temp dir");
        let new = dir.path().join("root");
        crate::new_root(&new).expect("new root");
        let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
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
    }

    #[test]
    fn the_schemas_in_the_repository_are_the_ones_the_loader_gives() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schemas");
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
