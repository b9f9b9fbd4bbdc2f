//! The YAML inputs exactly as written: serde structs that reject unknown keys.
//!
//! Fields that later checks refer to are `Spanned`, so that a problem found after parsing (an
//! unknown partner, a date that does not exist) still names its line and column.

use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::model::{HonoursOptOut, LegalBasis, Purpose};

/// A string with its position in the YAML file.
pub(crate) type Text = Spanned<String>;

/// `report.yaml`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReport {
    /// The report's title, shown on every page.
    #[schemars(with = "crate::schema::types::Text")]
    pub(crate) title: String,
    /// The platform whose users' data was shared.
    pub(crate) platform: RawPlatform,
    /// The period the report covers.
    pub(crate) period: RawPeriod,
    /// The report's date (YYYY-MM-DD): the only "now" of the build; every as-of figure is at the end of this day, UTC.
    #[schemars(with = "crate::schema::types::Date")]
    pub(crate) published: Text,
    /// The address the site is published at (https://…): canonical links, the sitemap and feeds use it.
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Text>")]
    pub(crate) base_url: Option<Text>,
    /// The minisign public key that `SHA256SUMS.minisig` verifies with (shown on the data page).
    /// The minisign public key that SHA256SUMS.minisig verifies with (shown on the data page).
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Text>")]
    pub(crate) signing_key: Option<Text>,
    /// The report's language as a BCP 47 tag (en, de, en-GB); default en.
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Text>")]
    pub(crate) language: Option<Text>,
    /// The content categories listings and counts may use; at least one.
    #[schemars(length(min = 1))]
    pub(crate) categories: Vec<RawCategory>,
    /// Small-count protection: min_count and bands.
    #[serde(default)]
    pub(crate) privacy: Option<RawPrivacy>,
    /// What the data is, in a paragraph (datasheet, datapackage.json, croissant.json).
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Text>")]
    pub(crate) description: Option<String>,
    /// The license of the published data (an SPDX id).
    #[serde(default)]
    pub(crate) license: Option<RawLicense>,
    /// Where the data comes from, for the open-data files.
    #[serde(default)]
    pub(crate) sources: Vec<RawSource>,
}

/// `report.yaml: license`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLicense {
    /// An SPDX license id, e.g. CC-BY-4.0.
    #[schemars(with = "crate::schema::types::Text")]
    pub(crate) id: Text,
    /// The license text's address.
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Text>")]
    pub(crate) url: Option<Text>,
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Text>")]
    pub(crate) title: Option<String>,
}

/// `report.yaml: sources[]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSource {
    #[schemars(with = "crate::schema::types::Text")]
    pub(crate) title: String,
    /// Where the source can be found.
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Text>")]
    pub(crate) url: Option<Text>,
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Text>")]
    pub(crate) description: Option<String>,
}

/// `report.yaml: platform`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPlatform {
    #[schemars(with = "crate::schema::types::Text")]
    pub(crate) name: String,
    /// The platform's address.
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Text>")]
    pub(crate) url: Option<Text>,
    /// Where readers send questions (an e-mail address or a URL).
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Text>")]
    pub(crate) contact: Option<Text>,
}

/// `report.yaml: period`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPeriod {
    /// The first day covered (YYYY-MM-DD).
    #[schemars(with = "crate::schema::types::Date")]
    pub(crate) from: Text,
    /// The last day covered (YYYY-MM-DD).
    #[schemars(with = "crate::schema::types::Date")]
    pub(crate) to: Text,
}

/// `report.yaml: categories[]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCategory {
    /// The category's id as listings and counts write it (a slug: lowercase letters, digits, -).
    #[schemars(with = "crate::schema::types::Slug")]
    pub(crate) id: Text,
    /// Its name on pages.
    #[schemars(with = "crate::schema::types::Text")]
    pub(crate) label: String,
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Text>")]
    pub(crate) description: Option<String>,
}

/// `report.yaml: privacy`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPrivacy {
    /// Counts from 1 to min_count - 1 are suppressed (default 10); 1 publishes every count; 2 is refused.
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::MinCount>")]
    pub(crate) min_count: Option<Spanned<u64>>,
    /// Publish some tables as ranges (0-249, 250-499, …) instead of exact counts.
    #[serde(default)]
    pub(crate) bands: Option<RawBands>,
    /// Publish a whole calendar quarter of opt-outs-monthly as one row where a month's new
    /// opt-outs, withdrawals or new opt-outs by a signal would be hidden for being small and the
    /// quarter's sum would not. Set it from a series' first edition: switching an existing
    /// series to quarters lets a reader subtract an earlier edition's published months.
    #[serde(default)]
    #[schemars(with = "crate::schema::types::Flag")]
    pub(crate) quarters: bool,
}

/// `report.yaml: privacy.bands`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBands {
    /// The width of a band: at least min_count.
    #[schemars(with = "crate::schema::types::Width")]
    pub(crate) width: Spanned<u64>,
    /// The tables published as bands.
    #[schemars(with = "Vec<crate::schema::types::BandTable>")]
    pub(crate) tables: Vec<Text>,
}

/// `data/partners.yaml[]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPartner {
    /// The partner's id, as manifests name it (a slug).
    #[schemars(with = "crate::schema::types::Slug")]
    pub(crate) id: Text,
    /// The partner's name on pages.
    #[schemars(with = "crate::schema::types::Text")]
    pub(crate) name: String,
    /// Where the partner is established: an ISO 3166-1 alpha-2 code (GB, US, DE).
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Country>")]
    pub(crate) country: Option<Text>,
    /// What the partner uses the data for; at least one.
    #[schemars(length(min = 1))]
    pub(crate) purposes: Vec<Purpose>,
    /// The data-sharing agreement.
    pub(crate) agreement: RawAgreement,
    /// Whether the agreement binds the partner to honour users' opt-outs.
    pub(crate) honours_opt_out: HonoursOptOut,
    /// Days the partner has to complete a deletion request; without it, no request is overdue.
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Count>")]
    pub(crate) deletion_deadline_days: Option<u32>,
    /// The platform's legal basis for sharing (default unknown).
    #[serde(default)]
    pub(crate) legal_basis: Option<LegalBasis>,
    /// The partner's public summary of training content under the EU AI Act (Art. 53(1)(d)).
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Text>")]
    pub(crate) ai_act_summary_url: Option<Text>,
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Text>")]
    pub(crate) description: Option<String>,
}

/// `data/partners.yaml[].agreement`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAgreement {
    /// The day the agreement was signed (YYYY-MM-DD).
    #[schemars(with = "crate::schema::types::Date")]
    pub(crate) signed: Text,
    /// The day it ends, if it does.
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Date>")]
    pub(crate) ends: Option<Text>,
    /// Where the agreement (or a summary) is published.
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Text>")]
    pub(crate) url: Option<Text>,
}

/// One manifest under `data/exports/`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("anyOf" = [{ "required": ["items"] }, { "required": ["counts"] }]))]
pub(crate) struct RawExport {
    /// The export batch's id (a slug), unique in the report.
    #[schemars(with = "crate::schema::types::Slug")]
    pub(crate) id: Text,
    /// The id of the partner that received it (data/partners.yaml).
    #[schemars(with = "crate::schema::types::Text")]
    pub(crate) partner: Text,
    /// When the batch was shipped: a date (midnight UTC) or an RFC 3339 datetime. Opt-outs in force at this instant decide `opted_out`.
    #[schemars(with = "crate::schema::types::Instant")]
    pub(crate) exported_at: Text,
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Text>")]
    pub(crate) description: Option<String>,
    /// The creation dates the batch was meant to cover; items outside it are a finding.
    #[serde(default)]
    pub(crate) content_window: Option<RawWindow>,
    /// What the batch claimed to exclude; shipped items with an excluded flag are a high finding.
    #[serde(default)]
    pub(crate) filters: Option<RawFilters>,
    /// An item listing (.csv, .parquet or .ndjson; a folder or glob of part files), relative to this manifest's folder: one row per item with item_id, owner_id, category, created_at and the optional flags private, deleted, suspended, explicit, minor.
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Text>")]
    pub(crate) items: Option<Text>,
    /// Declared counts: a list of {category, year, items, flags…} rows, or a CSV/Parquet table (path relative to this manifest's folder). With `items` too, the listing is the truth and differences are a finding.
    #[serde(default)]
    #[schemars(with = "Option<crate::load::raw::CountsSchema>")]
    pub(crate) counts: Option<Spanned<RawCounts>>,
    /// Figures beyond the counts, as a warehouse counts them (the query `sharelog sql --figures` prints): {owners, owners_opted_out, items_opted_out_now, outside_window, as_of} inline, or a CSV/Parquet table with those columns (and `partner`, `export` when it holds rows of several batches; `export` empty for a partner's row), relative to this manifest's folder. With `items` too, they must equal what the listing gives.
    #[serde(default)]
    #[schemars(with = "Option<crate::load::raw::FiguresSchema>")]
    pub(crate) figures: Option<Spanned<RawFigures>>,
    /// The files shipped, with their SHA-256: each one found under the root is hashed on every build.
    #[serde(default)]
    pub(crate) files: Option<Vec<RawFile>>,
}

/// `content_window`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWindow {
    /// The first creation date covered (YYYY-MM-DD).
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Date>")]
    pub(crate) from: Option<Text>,
    /// The last creation date covered (YYYY-MM-DD).
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Date>")]
    pub(crate) to: Option<Text>,
}

/// `filters`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFilters {
    /// Claims to exclude private and suspended content.
    #[serde(default)]
    #[schemars(with = "crate::schema::types::Flag")]
    pub(crate) public_only: bool,
    /// Claims to exclude the content of owners opted out at export time.
    #[serde(default)]
    #[schemars(with = "crate::schema::types::Flag")]
    pub(crate) exclude_opted_out: bool,
    /// Claims to exclude deleted content.
    #[serde(default)]
    #[schemars(with = "crate::schema::types::Flag")]
    pub(crate) exclude_deleted: bool,
    /// Claims to exclude explicit content.
    #[serde(default)]
    #[schemars(with = "crate::schema::types::Flag")]
    pub(crate) exclude_explicit: bool,
    /// Claims to exclude content by minors.
    #[serde(default)]
    #[schemars(with = "crate::schema::types::Flag")]
    pub(crate) exclude_minors: bool,
}

/// `files[]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    /// The shipped file, relative to this manifest's folder.
    #[schemars(with = "crate::schema::types::Text")]
    pub(crate) path: Text,
    /// Its SHA-256, 64 hex digits.
    #[schemars(with = "crate::schema::types::Sha256")]
    pub(crate) sha256: Text,
    /// Its size in bytes.
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Count>")]
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

/// `figures`: inline, or the path of a CSV/Parquet table (or a folder or glob of its parts).
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)] // only its schema is used: `RawFigures` reads the value
pub(crate) enum FiguresSchema {
    Inline(RawFigureRow),
    Path(String),
}

/// `figures`: inline or a path to a table.
#[derive(Debug)]
pub(crate) enum RawFigures {
    Inline(RawFigureRow),
    Path(String),
}

impl<'de> Deserialize<'de> for RawFigures {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FiguresVisitor;

        impl<'de> Visitor<'de> for FiguresVisitor {
            type Value = RawFigures;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("{owners, owners_opted_out, items_opted_out_now, outside_window, as_of} or a path to a CSV/Parquet table")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawFigures, E> {
                Ok(RawFigures::Path(v.to_owned()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawFigures, A::Error> {
                RawFigureRow::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawFigures::Inline)
            }
        }

        deserializer.deserialize_any(FiguresVisitor)
    }
}

/// `figures` written inline: this batch's.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFigureRow {
    /// Distinct owners with items in the batch; left out: not declared.
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Count>")]
    pub(crate) owners: Option<i64>,
    /// Of them, owners whose opt-out covered the partner at the export; left out: not declared.
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Count>")]
    pub(crate) owners_opted_out: Option<i64>,
    /// Items whose owner's opt-out covers the partner at the end of the report's date (needs `as_of`); left out: not declared.
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Count>")]
    pub(crate) items_opted_out_now: Option<i64>,
    /// Items created outside the content window; left out: not declared.
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Count>")]
    pub(crate) outside_window: Option<i64>,
    /// The report date (`published`) items_opted_out_now was counted at.
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Date>")]
    pub(crate) as_of: Option<Text>,
}

/// `counts[]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCountRow {
    /// A category id of report.yaml.
    #[schemars(with = "crate::schema::types::Text")]
    pub(crate) category: Text,
    /// The UTC year the items were created in.
    #[schemars(with = "crate::schema::types::Whole")]
    pub(crate) year: i32,
    /// Items of this category and year in the batch.
    #[schemars(with = "crate::schema::types::Count")]
    pub(crate) items: i64,
    /// Of them, private items; left out: not declared (never 0).
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Count>")]
    pub(crate) private: Option<i64>,
    /// Of them, deleted items; left out: not declared.
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Count>")]
    pub(crate) deleted: Option<i64>,
    /// Of them, items of suspended blogs; left out: not declared.
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Count>")]
    pub(crate) suspended: Option<i64>,
    /// Of them, items flagged explicit; left out: not declared.
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Count>")]
    pub(crate) explicit: Option<i64>,
    /// Of them, items by minors; left out: not declared.
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Count>")]
    pub(crate) minor: Option<i64>,
    /// Of them, items whose owner was opted out at export time; left out: not declared.
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Count>")]
    pub(crate) opted_out: Option<i64>,
}

/// A content page's front matter.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFrontMatter {
    #[schemars(with = "crate::schema::types::Text")]
    pub(crate) title: String,
    #[serde(default)]
    #[schemars(with = "Option<crate::schema::types::Text>")]
    pub(crate) description: Option<String>,
    #[serde(default)]
    pub(crate) weight: Option<i64>,
    #[serde(default)]
    pub(crate) nav: Option<bool>,
}
