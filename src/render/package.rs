//! `data/datapackage.json` (Frictionless Data Package v2 with Table Schema) and
//! `data/croissant.json` (MLCommons Croissant 1.0 with its responsible-AI fields), both generated
//! from the data dictionary, `report.yaml` and the files already in the site.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::Site;
use super::dictionary::{ColumnDoc, TableDoc, Type};
use crate::model::Report;
use crate::publish::{Publication, Rules};

/// The suppression label of an empty cell in a count column: both kinds of suppression, which
/// the downloads do not tell apart (that would tell which hidden counts are large).
fn suppressed_label(max: u64) -> String {
    format!(
        "suppressed: a count from 1 to {max} (primary suppression; privacy.min_count is {}), or a count of any size hidden so that such a count cannot be worked out (secondary suppression)",
        max + 1
    )
}

/// What an empty cell of this column means, for the field's labelled `missingValues`. `max` is
/// the largest count hidden for being small (`None` when nothing is: then no column is marked
/// suppressed).
fn empty_label(c: &ColumnDoc, max: Option<u64>) -> Option<String> {
    let suppressed = match max {
        _ if !c.suppressed => None,
        Some(max) => Some(suppressed_label(max)),
        // min_count 1 with bands: only counts hidden to protect a band.
        None => Some(
            "suppressed: a count of any size hidden so that a banded count cannot be worked out"
                .to_owned(),
        ),
    };
    match (suppressed, c.empty) {
        (Some(s), Some(other)) => Some(format!("{s}; or {other}")),
        (Some(s), None) => Some(s),
        (None, Some(other)) => Some(other.to_owned()),
        (None, None) => None,
    }
}

fn field(c: &ColumnDoc, max: Option<u64>) -> Value {
    let mut f = Map::new();
    f.insert("name".into(), json!(c.name));
    f.insert("type".into(), json!(c.kind));
    if c.kind == Type::List {
        f.insert("delimiter".into(), json!(";"));
        f.insert("itemType".into(), json!("string"));
    }
    match c.band {
        Some(width) => f.insert(
            "description".into(),
            json!(format!(
                "{} (published as the band of {width} that holds it, e.g. 0-{}, or as 0 where the published numbers already tell it is 0)",
                c.description,
                width - 1
            )),
        ),
        None => f.insert("description".into(), json!(c.description)),
    };
    if let Some(unit) = c.unit {
        // Table Schema has no unit property; custom properties are allowed.
        f.insert("unit".into(), json!(unit));
    }
    let mut constraints = Map::new();
    if !c.may_be_empty() {
        constraints.insert("required".into(), json!(true));
    }
    if c.kind == Type::Integer {
        constraints.insert("minimum".into(), json!(0));
    }
    if c.band.is_some() {
        // A band `first-last`, or an exact 0 that the published numbers already tell.
        constraints.insert("pattern".into(), json!("^[0-9]+-[0-9]+$|^0$"));
    }
    if !constraints.is_empty() {
        f.insert("constraints".into(), Value::Object(constraints));
    }
    let missing = match empty_label(c, max) {
        Some(label) => json!([{ "value": "", "label": label }]),
        None => json!([]),
    };
    f.insert("missingValues".into(), missing);
    Value::Object(f)
}

fn table_schema(doc: &TableDoc, max: Option<u64>) -> Value {
    let mut s = Map::new();
    s.insert(
        "$schema".into(),
        json!("https://datapackage.org/profiles/2.0/tableschema.json"),
    );
    s.insert(
        "fields".into(),
        doc.columns.iter().map(|c| field(c, max)).collect(),
    );
    s.insert("missingValues".into(), json!([""]));
    if !doc.primary_key.is_empty() {
        s.insert("primaryKey".into(), json!(doc.primary_key));
    }
    if !doc.foreign_keys.is_empty() {
        let keys: Vec<Value> = doc
            .foreign_keys
            .iter()
            .map(|(column, table, there)| {
                json!({"fields": [column], "reference": {"resource": table, "fields": [there]}})
            })
            .collect();
        s.insert("foreignKeys".into(), Value::Array(keys));
    }
    Value::Object(s)
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn file<'a>(site: &'a Site, name: &str) -> &'a [u8] {
    site.files
        .get(&format!("data/{name}"))
        .map_or(&[][..], Vec::as_slice)
}

/// `base_url` + `data/`, when `base_url` is absolute.
fn data_url(report: &Report) -> Option<String> {
    let base = report.meta.base_url.trim_end_matches('/');
    base.starts_with("http").then(|| format!("{base}/data/"))
}

/// The report's description, or one written from its facts (which says whether small counts are
/// suppressed in this build).
pub(crate) fn description(report: &Report, rules: &Rules) -> String {
    report.meta.description.clone().unwrap_or_else(|| {
        format!(
            "Aggregate counts of the user content {} shared with AI companies and other partners from {} to {}: what was shared, with whom, when, in which content categories and creation years, how many users opted out, and whether opt-outs and deletion requests were honoured. No item or user identifiers{}.",
            report.meta.platform.name,
            report.meta.period_from,
            report.meta.period_to,
            if rules.hides_up_to().is_some() {
                "; small counts are suppressed"
            } else {
                ""
            }
        )
    })
}

/// A package name: lowercase letters, digits, `-`, `_` and `.`.
fn package_name(report: &Report) -> String {
    let name = slug::slugify(&report.meta.title);
    if name.is_empty() {
        "sharelog-report".to_owned()
    } else {
        name
    }
}

/// `data/datapackage.json`. `exact` marks an auditor's build with unsuppressed counts.
pub(crate) fn datapackage(
    report: &Report,
    docs: &[TableDoc],
    site: &Site,
    version: &str,
    publication: &Publication,
) -> Value {
    let rules = &publication.rules;
    let exact = rules.is_auditor();
    let max = rules.hides_up_to();
    let meta = &report.meta;
    let mut p = Map::new();
    p.insert(
        "$schema".into(),
        json!("https://datapackage.org/profiles/2.0/datapackage.json"),
    );
    p.insert("name".into(), json!(package_name(report)));
    p.insert("title".into(), json!(meta.title));
    let mut text = description(report, rules);
    if exact {
        text = format!(
            "NOT FOR PUBLICATION: an auditor's build with exact, unsuppressed counts. {text}"
        );
    }
    p.insert("description".into(), json!(text));
    p.insert("version".into(), json!(meta.published.to_string()));
    p.insert(
        "created".into(),
        json!(format!("{}T00:00:00Z", meta.published)),
    );
    if let Some(url) = data_url(report) {
        p.insert("homepage".into(), json!(url));
    }
    let mut publisher = Map::new();
    publisher.insert("title".into(), json!(meta.platform.name));
    publisher.insert("roles".into(), json!(["publisher"]));
    if let Some(url) = &meta.platform.url {
        publisher.insert("path".into(), json!(url));
    }
    if let Some(mail) = &meta.platform.contact {
        publisher.insert("email".into(), json!(mail));
    }
    p.insert("contributors".into(), json!([publisher]));
    if let Some(l) = &meta.license {
        let mut lic = Map::new();
        lic.insert("name".into(), json!(l.id));
        if let Some(url) = &l.url {
            lic.insert("path".into(), json!(url));
        }
        if let Some(title) = &l.title {
            lic.insert("title".into(), json!(title));
        }
        p.insert("licenses".into(), json!([lic]));
    }
    if !meta.sources.is_empty() {
        let sources: Vec<Value> = meta
            .sources
            .iter()
            .map(|s| {
                let mut o = Map::new();
                o.insert("title".into(), json!(s.title));
                if let Some(url) = &s.url {
                    o.insert("path".into(), json!(url));
                }
                if let Some(d) = &s.description {
                    o.insert("description".into(), json!(d));
                }
                Value::Object(o)
            })
            .collect();
        p.insert("sources".into(), Value::Array(sources));
    }
    p.insert(
        "keywords".into(),
        json!([
            "transparency report",
            "AI training data",
            "data sharing",
            "opt-out",
            meta.platform.name
        ]),
    );
    let resources: Vec<Value> = docs
        .iter()
        .map(|doc| {
            let path = format!("{}.csv", doc.name);
            let bytes = file(site, &path);
            json!({
                "name": doc.name,
                "type": "table",
                "path": path,
                "title": doc.title,
                "description": format!("One row: {}. Also as {}.json and {}.parquet. A text cell that starts with =, +, -, @, a tab or a carriage return has a leading apostrophe in the CSV only, so that spreadsheets keep it as text.", doc.row, doc.name, doc.name),
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "bytes": bytes.len(),
                "hash": format!("sha256:{}", sha256(bytes)),
                "dialect": {"header": true, "delimiter": ",", "quoteChar": "\""},
                "schema": table_schema(doc, max),
            })
        })
        .collect();
    let mut resources = resources;
    // Every table again, in one file each for spreadsheets and SQL tools: not tables themselves
    // (a workbook has a sheet per table), so described as files with their checksums.
    for (name, path, format, mediatype, what) in [
        (
            "report-workbook",
            "report.xlsx",
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "Every table above as a sheet of one workbook (integers as numbers, dates as dates, UTC date-times), with the data dictionary as the sheet `dictionary`.",
        ),
        (
            "report-database",
            "report.sqlite",
            "sqlite",
            "application/vnd.sqlite3",
            "Every table above as a table of one SQLite database (INTEGER and TEXT columns, empty cells NULL, primary keys as above), with the data dictionary as the tables `dictionary` and `tables`; opens in Datasette or any SQLite client.",
        ),
    ] {
        let bytes = file(site, path);
        resources.push(json!({
            "name": name,
            "path": path,
            "title": what.split(',').next().unwrap_or(what),
            "description": what,
            "format": format,
            "mediatype": mediatype,
            "bytes": bytes.len(),
            "hash": format!("sha256:{}", sha256(bytes)),
        }));
    }
    p.insert("resources".into(), Value::Array(resources));
    p.insert(
        "sharelog".into(),
        json!({
            "version": version,
            "min_count": max.map_or(1, |m| m + 1),
            "unsuppressed": exact,
        }),
    );
    Value::Object(p)
}

fn croissant_type(t: Type) -> &'static str {
    match t {
        Type::Integer => "sc:Integer",
        Type::Date => "sc:Date",
        Type::Datetime => "sc:DateTime",
        Type::String | Type::Yearmonth | Type::List => "sc:Text",
    }
}

/// `data/croissant.json`: the same tables as Croissant record sets over the CSV files.
pub(crate) fn croissant(
    report: &Report,
    docs: &[TableDoc],
    site: &Site,
    publication: &Publication,
) -> Value {
    let rules = &publication.rules;
    let meta = &report.meta;
    let exact = rules.is_auditor();
    let context = json!({
        "@language": "en",
        "@vocab": "https://schema.org/",
        "citeAs": "cr:citeAs",
        "column": "cr:column",
        "conformsTo": "dct:conformsTo",
        "cr": "http://mlcommons.org/croissant/",
        "rai": "http://mlcommons.org/croissant/RAI/",
        "data": {"@id": "cr:data", "@type": "@json"},
        "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
        "dct": "http://purl.org/dc/terms/",
        "examples": {"@id": "cr:examples", "@type": "@json"},
        "extract": "cr:extract",
        "field": "cr:field",
        "fileProperty": "cr:fileProperty",
        "fileObject": "cr:fileObject",
        "fileSet": "cr:fileSet",
        "format": "cr:format",
        "includes": "cr:includes",
        "isLiveDataset": "cr:isLiveDataset",
        "jsonPath": "cr:jsonPath",
        "key": "cr:key",
        "md5": "cr:md5",
        "parentField": "cr:parentField",
        "path": "cr:path",
        "recordSet": "cr:recordSet",
        "references": "cr:references",
        "regex": "cr:regex",
        "repeated": "cr:repeated",
        "replace": "cr:replace",
        "samplingRate": "cr:samplingRate",
        "sc": "https://schema.org/",
        "separator": "cr:separator",
        "source": "cr:source",
        "subField": "cr:subField",
        "transform": "cr:transform",
    });
    let distribution: Vec<Value> = docs
        .iter()
        .map(|doc| {
            let name = format!("{}.csv", doc.name);
            let bytes = file(site, &name);
            json!({
                "@type": "cr:FileObject",
                "@id": name,
                "name": name,
                "description": doc.title,
                "contentUrl": name,
                "contentSize": format!("{} B", bytes.len()),
                "encodingFormat": "text/csv",
                "sha256": sha256(bytes),
            })
        })
        .collect();
    let record_sets: Vec<Value> = docs
        .iter()
        .map(|doc| {
            let file = format!("{}.csv", doc.name);
            let fields: Vec<Value> = doc
                .columns
                .iter()
                .map(|c| {
                    let mut f = json!({
                        "@type": "cr:Field",
                        "@id": format!("{}/{}", doc.name, c.name),
                        "name": c.name,
                        "description": c.description,
                        "dataType": croissant_type(c.kind),
                        "source": {"fileObject": {"@id": file}, "extract": {"column": c.name}},
                    });
                    if let Some((_, table, there)) =
                        doc.foreign_keys.iter().find(|(col, _, _)| *col == c.name)
                        && let Some(o) = f.as_object_mut()
                    {
                        o.insert(
                            "references".into(),
                            json!({"field": {"@id": format!("{table}/{there}")}}),
                        );
                    }
                    f
                })
                .collect();
            let mut rs = json!({
                "@type": "cr:RecordSet",
                "@id": doc.name,
                "name": doc.name,
                "description": format!("{}: one row per {}", doc.title, doc.row.trim_start_matches("one row per ")),
                "field": fields,
            });
            if !doc.primary_key.is_empty()
                && let Some(o) = rs.as_object_mut()
            {
                let key: Vec<Value> = doc
                    .primary_key
                    .iter()
                    .map(|k| json!({"@id": format!("{}/{k}", doc.name)}))
                    .collect();
                o.insert("key".into(), Value::Array(key));
            }
            rs
        })
        .collect();
    let mut d = Map::new();
    d.insert("@context".into(), context);
    d.insert("@type".into(), json!("sc:Dataset"));
    d.insert("name".into(), json!(package_name(report)));
    let mut text = description(report, rules);
    if exact {
        text = format!(
            "NOT FOR PUBLICATION: an auditor's build with exact, unsuppressed counts. {text}"
        );
    }
    d.insert("description".into(), json!(text));
    d.insert(
        "conformsTo".into(),
        json!("http://mlcommons.org/croissant/1.0"),
    );
    d.insert("datePublished".into(), json!(meta.published.to_string()));
    d.insert(
        "version".into(),
        json!(meta.published.format("%Y.%-m.%-d").to_string()),
    );
    if let Some(url) = data_url(report) {
        d.insert("url".into(), json!(url));
    }
    let mut creator = Map::new();
    creator.insert("@type".into(), json!("sc:Organization"));
    creator.insert("name".into(), json!(meta.platform.name));
    if let Some(url) = &meta.platform.url {
        creator.insert("url".into(), json!(url));
    }
    if let Some(mail) = &meta.platform.contact {
        creator.insert("email".into(), json!(mail));
    }
    d.insert("creator".into(), Value::Object(creator));
    if let Some(l) = &meta.license {
        d.insert(
            "license".into(),
            json!(
                l.url
                    .clone()
                    .unwrap_or_else(|| format!("https://spdx.org/licenses/{}.html", l.id))
            ),
        );
    }
    d.insert(
        "citeAs".into(),
        json!(format!(
            "{}. {}. {}.{}",
            meta.platform.name,
            meta.title,
            meta.published,
            data_url(report)
                .map(|u| format!(" {u}"))
                .unwrap_or_default()
        )),
    );
    d.insert(
        "keywords".into(),
        json!([
            "transparency report",
            "AI training data",
            "data sharing",
            "opt-out"
        ]),
    );
    d.insert("isLiveDataset".into(), json!(true));
    d.insert(
        "rai:dataCollection".into(),
        json!(format!(
            "Computed by sharelog from {}'s own export records: one manifest per export batch sent to a partner, item listings or declared counts per content category and creation year, an opt-out ledger and deletion requests. Every number is an aggregate; the item listings and the ledger themselves are not published.",
            meta.platform.name
        )),
    );
    d.insert(
        "rai:dataCollectionType".into(),
        json!(["Secondary Data Analysis"]),
    );
    d.insert(
        "rai:personalSensitiveInformation".into(),
        json!(match rules.hides_up_to() {
            Some(max) => format!(
                "None at the level of individuals: the tables hold counts only, never an item or user identifier. The counts describe users' content, including content flagged private, deleted, suspended, explicit or by a minor. Counts from 1 to {max} are suppressed, and further cells are suppressed so that none of them can be recovered from published totals."
            ),
            None if publication.hides_any => "The tables hold counts only, never an item or user identifier. The counts describe users' content, including content flagged private, deleted, suspended, explicit or by a minor. No count is suppressed for being small (privacy.min_count is 1), but some counts are suppressed so that no banded count can be recovered from published totals.".to_owned(),
            None if exact => "NOT FOR PUBLICATION: an auditor's build. The tables hold counts only, never an item or user identifier, but every count is exact and nothing is suppressed.".to_owned(),
            None => "The tables hold counts only, never an item or user identifier. The counts describe users' content, including content flagged private, deleted, suspended, explicit or by a minor. No count is suppressed (privacy.min_count is 1).".to_owned(),
        }),
    );
    d.insert(
        "rai:dataUseCases".into(),
        json!("Accountability: checking what a platform shared with AI companies and other partners, and whether opt-outs and deletion requests were honoured. Not suitable for training models or for studying individual users."),
    );
    d.insert(
        "rai:dataLimitations".into(),
        json!(format!(
            "The report is only as complete as the platform's export records. Batches with declared counts only cannot be checked against item listings.{}",
            if rules.hides_up_to().is_some() {
                " Suppressed cells hide small counts; totals include them."
            } else if publication.hides_any {
                " Suppressed cells hide counts that would give a band away; totals include them."
            } else {
                ""
            }
        )),
    );
    d.insert(
        "rai:dataReleaseMaintenance".into(),
        json!("Regenerated from the export records on every new export; corrections are listed on the report's corrections page and in its feed."),
    );
    d.insert("distribution".into(), Value::Array(distribution));
    d.insert("recordSet".into(), Value::Array(record_sets));
    Value::Object(d)
}
