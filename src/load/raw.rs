//! The YAML inputs exactly as written: serde structs that reject unknown keys.
//!
//! Fields that later checks refer to are `Spanned`, so that a problem found after parsing (an
//! unknown partner, a date that does not exist) still names its line and column.

use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::model::{HonoursOptOut, LegalBasis, Purpose};

/// A string with its position in the YAML file.
pub(crate) type Text = Spanned<String>;

/// `report.yaml`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReport {
    pub(crate) title: String,
    pub(crate) platform: RawPlatform,
    pub(crate) period: RawPeriod,
    #[schemars(with = "String")]
    pub(crate) published: Text,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) base_url: Option<Text>,
    /// The minisign public key that `SHA256SUMS.minisig` verifies with (shown on the data page).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) signing_key: Option<Text>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) language: Option<Text>,
    pub(crate) categories: Vec<RawCategory>,
    #[serde(default)]
    pub(crate) privacy: Option<RawPrivacy>,
    #[serde(default)]
    pub(crate) description: Option<String>,
    #[serde(default)]
    pub(crate) license: Option<RawLicense>,
    #[serde(default)]
    pub(crate) sources: Vec<RawSource>,
}

/// `report.yaml: license`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLicense {
    #[schemars(with = "String")]
    pub(crate) id: Text,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) url: Option<Text>,
    #[serde(default)]
    pub(crate) title: Option<String>,
}

/// `report.yaml: sources[]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSource {
    pub(crate) title: String,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) url: Option<Text>,
    #[serde(default)]
    pub(crate) description: Option<String>,
}

/// `report.yaml: platform`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPlatform {
    pub(crate) name: String,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) url: Option<Text>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) contact: Option<Text>,
}

/// `report.yaml: period`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPeriod {
    #[schemars(with = "String")]
    pub(crate) from: Text,
    #[schemars(with = "String")]
    pub(crate) to: Text,
}

/// `report.yaml: categories[]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCategory {
    #[schemars(with = "String")]
    pub(crate) id: Text,
    pub(crate) label: String,
    #[serde(default)]
    pub(crate) description: Option<String>,
}

/// `report.yaml: privacy`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPrivacy {
    #[serde(default)]
    #[schemars(with = "Option<u64>")]
    pub(crate) min_count: Option<Spanned<u64>>,
    #[serde(default)]
    pub(crate) bands: Option<RawBands>,
}

/// `report.yaml: privacy.bands`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBands {
    #[schemars(with = "u64")]
    pub(crate) width: Spanned<u64>,
    #[schemars(with = "Vec<String>")]
    pub(crate) tables: Vec<Text>,
}

/// `data/partners.yaml[]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPartner {
    #[schemars(with = "String")]
    pub(crate) id: Text,
    pub(crate) name: String,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) country: Option<Text>,
    pub(crate) purposes: Vec<Purpose>,
    pub(crate) agreement: RawAgreement,
    pub(crate) honours_opt_out: HonoursOptOut,
    #[serde(default)]
    pub(crate) deletion_deadline_days: Option<u32>,
    #[serde(default)]
    pub(crate) legal_basis: Option<LegalBasis>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) ai_act_summary_url: Option<Text>,
    #[serde(default)]
    pub(crate) description: Option<String>,
}

/// `data/partners.yaml[].agreement`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAgreement {
    #[schemars(with = "String")]
    pub(crate) signed: Text,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) ends: Option<Text>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) url: Option<Text>,
}

/// One manifest under `data/exports/`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExport {
    #[schemars(with = "String")]
    pub(crate) id: Text,
    #[schemars(with = "String")]
    pub(crate) partner: Text,
    #[schemars(with = "String")]
    pub(crate) exported_at: Text,
    #[serde(default)]
    pub(crate) description: Option<String>,
    #[serde(default)]
    pub(crate) content_window: Option<RawWindow>,
    #[serde(default)]
    pub(crate) filters: Option<RawFilters>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) items: Option<Text>,
    #[serde(default)]
    #[schemars(with = "Option<CountsSchema>")]
    pub(crate) counts: Option<Spanned<RawCounts>>,
    #[serde(default)]
    pub(crate) files: Option<Vec<RawFile>>,
}

/// `content_window`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWindow {
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) from: Option<Text>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) to: Option<Text>,
}

/// `filters`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFilters {
    #[serde(default)]
    pub(crate) public_only: bool,
    #[serde(default)]
    pub(crate) exclude_opted_out: bool,
    #[serde(default)]
    pub(crate) exclude_deleted: bool,
    #[serde(default)]
    pub(crate) exclude_explicit: bool,
    #[serde(default)]
    pub(crate) exclude_minors: bool,
}

/// `files[]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    #[schemars(with = "String")]
    pub(crate) path: Text,
    #[schemars(with = "String")]
    pub(crate) sha256: Text,
    #[serde(default)]
    pub(crate) bytes: Option<u64>,
}

/// `counts`: an inline list of rows, or the path of a CSV/Parquet table (or a folder or glob
/// of its parts), relative to the manifest's folder.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)] // only its schema is used: `RawCounts` reads the value
pub(crate) enum CountsSchema {
    Inline(Vec<RawCountRow>),
    Path(String),
}

/// `counts`: an inline list or a path to a table.
#[derive(Debug)]
pub(crate) enum RawCounts {
    Inline(Vec<RawCountRow>),
    Path(String),
}

impl<'de> Deserialize<'de> for RawCounts {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CountsVisitor;

        impl<'de> Visitor<'de> for CountsVisitor {
            type Value = RawCounts;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a list of {category, year, items, ...} or a path to a CSV/Parquet table",
                )
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawCounts, E> {
                Ok(RawCounts::Path(v.to_owned()))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawCounts, A::Error> {
                let mut rows = Vec::new();
                while let Some(row) = seq.next_element()? {
                    rows.push(row);
                }
                Ok(RawCounts::Inline(rows))
            }
        }

        deserializer.deserialize_any(CountsVisitor)
    }
}

/// `counts[]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCountRow {
    #[schemars(with = "String")]
    pub(crate) category: Text,
    pub(crate) year: i32,
    pub(crate) items: i64,
    #[serde(default)]
    pub(crate) private: Option<i64>,
    #[serde(default)]
    pub(crate) deleted: Option<i64>,
    #[serde(default)]
    pub(crate) suspended: Option<i64>,
    #[serde(default)]
    pub(crate) explicit: Option<i64>,
    #[serde(default)]
    pub(crate) minor: Option<i64>,
    #[serde(default)]
    pub(crate) opted_out: Option<i64>,
}

/// A content page's front matter.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFrontMatter {
    pub(crate) title: String,
    #[serde(default)]
    pub(crate) description: Option<String>,
    #[serde(default)]
    pub(crate) weight: Option<i64>,
    #[serde(default)]
    pub(crate) nav: Option<bool>,
}
