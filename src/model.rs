//! Checked domain types: what the load stage produces once every input has been validated.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A partner's slug from `data/partners.yaml`.
    PartnerId
);
id_type!(
    /// An export batch's slug, unique across manifests.
    ExportId
);
id_type!(
    /// A content category's slug from `report.yaml`.
    CategoryId
);

/// True when `text` is a slug: `[a-z0-9][a-z0-9-]*`.
pub fn is_slug(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Everything the report root holds, checked.
#[derive(Debug, Clone)]
pub struct Report {
    /// `report.yaml`.
    pub meta: ReportMeta,
    /// `data/partners.yaml`, in file order.
    pub partners: Vec<Partner>,
    /// Every manifest, sorted by id.
    pub exports: Vec<Export>,
    /// `data/opt-outs/monthly.csv`, sorted by month, if present.
    pub opt_outs_monthly: Option<Vec<MonthlyOptOuts>>,
    /// `data/opt-outs/protections-monthly.csv`, sorted by month and setting (empty when absent).
    pub protections_monthly: Vec<ProtectionMonth>,
    /// `data/opt-outs/ledger.{csv,parquet,ndjson}`, if present (checked in the aggregate stage).
    pub ledger: Option<TableFile>,
    /// `data/deletions/*.csv`, sorted by partner, sent_at and request id.
    pub deletions: Vec<DeletionRequest>,
    /// `data/corrections.yaml`, newest first.
    pub corrections: Vec<Correction>,
    /// `data/responses.yaml`, in file order (matched to findings by the aggregate stage).
    pub responses: Vec<Response>,
    /// Located warnings from reading the inputs (e.g. an address left out as unsafe).
    pub warnings: Vec<String>,
    /// The release before this one (`build --previous`): its date and the SHA-256 of its
    /// `SHA256SUMS`. Written into `data/report.json`, so that every release's signed checksums
    /// commit to its predecessor; pages link to the releases when it is set.
    pub previous_release: Option<(String, String)>,
    /// Whether `data/partners.yaml` could be read: references to partner ids (the ledger's
    /// partner scopes) are only checked against a partner list that loaded, so that a broken
    /// file is one problem, not one per reference to it.
    pub partners_read: bool,
    /// This build signs `data/SHA256SUMS` (`build --sign`): the data page shows the signature
    /// only then, and `data/report.json` says so (with `signing_key`, when report.yaml gives it).
    pub signed: bool,
    /// Content pages, sorted by weight then path.
    pub pages: Vec<Page>,
    /// Template overrides from the root's `templates/` folder, by file name.
    pub template_overrides: BTreeMap<String, String>,
    /// The interface strings in the report's language (`i18n/`).
    pub catalogue: crate::i18n::Catalogue,
}

impl Report {
    /// The partner with this id.
    pub fn partner(&self, id: &str) -> Option<&Partner> {
        self.partners.iter().find(|p| p.id.as_str() == id)
    }

    /// The category's label, or its id when unknown.
    pub fn category_label<'a>(&'a self, id: &'a str) -> &'a str {
        self.meta
            .categories
            .iter()
            .find(|c| c.id.as_str() == id)
            .map_or(id, |c| c.label.as_str())
    }
}

/// `report.yaml`, checked.
#[derive(Debug, Clone, Serialize)]
pub struct ReportMeta {
    /// The report's title.
    pub title: String,
    /// The publishing platform.
    pub platform: Platform,
    /// First day of the reporting period.
    pub period_from: NaiveDate,
    /// Last day of the reporting period.
    pub period_to: NaiveDate,
    /// The report's date: the only "now" the build knows.
    pub published: NaiveDate,
    /// Absolute prefix for feeds and sitemaps.
    pub base_url: String,
    /// The minisign public key (base64) that verifies `data/SHA256SUMS.minisig`, if published.
    pub signing_key: Option<String>,
    /// BCP 47 language tag.
    pub language: String,
    /// The content categories, in file order.
    pub categories: Vec<Category>,
    /// Published counts `0 < n < min_count` are suppressed.
    pub min_count: u64,
    /// Tables published in bands instead of exact counts (`privacy.bands`).
    pub bands: Option<Bands>,
    /// `privacy.quarters`: months of opt-outs-monthly with a small flow are published as their
    /// quarter.
    pub quarters: bool,
    /// What the report's data is, for the datasheet and the Data Package.
    pub description: Option<String>,
    /// The licence the data is published under.
    pub license: Option<License>,
    /// Where the data comes from.
    pub sources: Vec<Source>,
}

/// The tables that may be banded, by their `data/` names.
pub const BANDABLE: [&str; 4] = [
    "opt-outs-monthly",
    "opt-out-scopes",
    "protections-monthly",
    "deletions",
];

/// `privacy.bands`: counts of these tables are published as the range of `width` that holds them
/// (`0-249`, `250-499`, …), as some government-request reports do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bands {
    /// The width of each band; at least `min_count`.
    pub width: u64,
    /// The banded tables (from [`BANDABLE`]).
    pub tables: Vec<String>,
}

impl Bands {
    /// The band that holds `n`: its first and last value.
    pub fn of(&self, n: u64) -> (u64, u64) {
        let lo = n / self.width * self.width;
        (lo, lo + self.width - 1)
    }

    /// Whether `table` is banded.
    pub fn covers(&self, table: &str) -> bool {
        self.tables.iter().any(|t| t == table)
    }
}

/// One entry of `data/corrections.yaml`: the report's errata log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Correction {
    /// When the correction was made.
    pub date: NaiveDate,
    /// What changed.
    pub what: String,
    /// Why.
    pub why: String,
    /// Its position in the file (1-based): with the date, a stable id.
    pub number: usize,
}

/// One entry of `data/responses.yaml`: what the platform did about a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Response {
    /// Which finding it answers.
    pub key: ResponseKey,
    /// The finding's count the response covers: a finding that grows past it is new again.
    pub count: u64,
    /// When the response was made (not after `published`).
    pub date: NaiveDate,
    /// The response, in Markdown.
    pub text: String,
    /// Where the entry is, for problems found once the findings exist.
    #[serde(skip)]
    pub spot: Spot,
}

/// The key of a response: the finding's id and any of its partner, export and flag.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ResponseKey {
    /// The finding's id, e.g. `opted-out-content-shared`.
    pub id: String,
    /// The partner's id, when given.
    pub partner: Option<String>,
    /// The export's id, when given.
    pub export: Option<String>,
    /// The flag, when given.
    pub flag: Option<String>,
}

impl std::fmt::Display for ResponseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.id)?;
        for (name, v) in [
            ("partner", &self.partner),
            ("export", &self.export),
            ("flag", &self.flag),
        ] {
            if let Some(v) = v {
                write!(f, ", {name} {v}")?;
            }
        }
        Ok(())
    }
}

/// A place in an input file: 1-based line and column, and the key path there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spot {
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
    /// The key path, e.g. `[2].finding`.
    pub key: String,
}

/// `report.yaml: license`: an SPDX id with an optional URL and title.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct License {
    /// SPDX identifier, e.g. `CC-BY-4.0`.
    pub id: String,
    /// Where the licence text is.
    pub url: Option<String>,
    /// Its human title.
    pub title: Option<String>,
}

/// `report.yaml: sources[]`: a source of the report's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// What it is.
    pub title: String,
    /// Where it is, if public.
    pub url: Option<String>,
    /// More detail.
    pub description: Option<String>,
}

impl ReportMeta {
    /// The bands `table` is published in by this build: none without `privacy.bands`, for a table
    /// it does not name, or in an auditor's build (`exact`).
    pub fn bands_for(&self, table: &str, exact: bool) -> Option<&Bands> {
        self.bands.as_ref().filter(|b| !exact && b.covers(table))
    }

    /// The ids of the content categories, in file order.
    pub fn category_ids(&self) -> Vec<CategoryId> {
        self.categories.iter().map(|c| c.id.clone()).collect()
    }

    /// Whether an instant falls inside the reporting period (both ends inclusive, by UTC date).
    pub fn in_period(&self, at: &DateTime<Utc>) -> bool {
        let day = at.date_naive();
        self.period_from <= day && day <= self.period_to
    }
}

/// The publishing platform.
#[derive(Debug, Clone, Serialize)]
pub struct Platform {
    /// Its name.
    pub name: String,
    /// Its web address.
    pub url: Option<String>,
    /// Where readers can ask questions.
    pub contact: Option<String>,
}

/// A content category.
#[derive(Debug, Clone, Serialize)]
pub struct Category {
    /// Its slug.
    pub id: CategoryId,
    /// Its human-readable name.
    pub label: String,
    /// An optional explanation.
    pub description: Option<String>,
}

/// What a partner uses the data for (SPEC `purposes`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    /// Training AI models.
    AiTraining,
    /// Evaluating AI models.
    AiEvaluation,
    /// Research.
    Research,
    /// Search indexing.
    SearchIndexing,
    /// Anything else.
    Other,
}

impl Purpose {
    /// The slug used in inputs and downloads.
    pub fn slug(self) -> &'static str {
        match self {
            Purpose::AiTraining => "ai-training",
            Purpose::AiEvaluation => "ai-evaluation",
            Purpose::Research => "research",
            Purpose::SearchIndexing => "search-indexing",
            Purpose::Other => "other",
        }
    }

    /// The W3C Data Privacy Vocabulary term, where one fits (SPEC; `../reference/dpv-2.2/`).
    pub fn dpv(self) -> Option<&'static str> {
        match self {
            Purpose::AiTraining => Some("https://w3id.org/dpv/ai#ModelTraining"),
            Purpose::Research => Some("https://w3id.org/dpv#ResearchAndDevelopment"),
            Purpose::SearchIndexing => Some("https://w3id.org/dpv#SearchFunctionalities"),
            Purpose::AiEvaluation | Purpose::Other => None,
        }
    }

    /// A reader-facing label.
    pub fn label(self) -> &'static str {
        match self {
            Purpose::AiTraining => "AI training",
            Purpose::AiEvaluation => "AI evaluation",
            Purpose::Research => "research",
            Purpose::SearchIndexing => "search indexing",
            Purpose::Other => "other",
        }
    }
}

/// What the agreement says about opt-outs.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum HonoursOptOut {
    /// The agreement binds the partner to honour opt-outs.
    Yes,
    /// It does not.
    No,
    /// Nobody knows.
    Unknown,
}

impl HonoursOptOut {
    /// The slug used in inputs and downloads.
    pub fn slug(self) -> &'static str {
        match self {
            HonoursOptOut::Yes => "yes",
            HonoursOptOut::No => "no",
            HonoursOptOut::Unknown => "unknown",
        }
    }
}

/// The platform's legal basis for sharing (W3C DPV terms).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum LegalBasis {
    /// Consent of the data subject.
    Consent,
    /// A contract.
    Contract,
    /// Legitimate interest.
    LegitimateInterest,
    /// Not stated.
    #[default]
    Unknown,
}

impl LegalBasis {
    /// The slug used in inputs and downloads.
    pub fn slug(self) -> &'static str {
        match self {
            LegalBasis::Consent => "consent",
            LegalBasis::Contract => "contract",
            LegalBasis::LegitimateInterest => "legitimate-interest",
            LegalBasis::Unknown => "unknown",
        }
    }

    /// The W3C Data Privacy Vocabulary term, where one fits.
    pub fn dpv(self) -> Option<&'static str> {
        match self {
            LegalBasis::Consent => Some("https://w3id.org/dpv#Consent"),
            LegalBasis::Contract => Some("https://w3id.org/dpv#Contract"),
            LegalBasis::LegitimateInterest => Some("https://w3id.org/dpv#LegitimateInterest"),
            LegalBasis::Unknown => None,
        }
    }
}

/// A partner that received data.
#[derive(Debug, Clone)]
pub struct Partner {
    /// Its slug.
    pub id: PartnerId,
    /// Its legal name.
    pub name: String,
    /// ISO 3166-1 alpha-2 country of establishment.
    pub country: Option<String>,
    /// What the data is for.
    pub purposes: Vec<Purpose>,
    /// When the agreement was signed.
    pub agreement_signed: NaiveDate,
    /// When it ends, if it does.
    pub agreement_ends: Option<NaiveDate>,
    /// Public terms.
    pub agreement_url: Option<String>,
    /// What the agreement says about opt-outs.
    pub honours_opt_out: HonoursOptOut,
    /// Days after which an open deletion request is overdue.
    pub deletion_deadline_days: Option<u32>,
    /// The platform's legal basis.
    pub legal_basis: LegalBasis,
    /// The partner's AI Act training-content summary.
    pub ai_act_summary_url: Option<String>,
    /// Markdown shown on the partner page.
    pub description: Option<String>,
}

/// The filters a manifest says were applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Filters {
    /// Only public posts were exported.
    pub public_only: bool,
    /// Opted-out owners were excluded.
    pub exclude_opted_out: bool,
    /// Deleted content was excluded.
    pub exclude_deleted: bool,
    /// Explicit content was excluded.
    pub exclude_explicit: bool,
    /// Minors' content was excluded.
    pub exclude_minors: bool,
}

/// The format of a table file, chosen by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    /// CSV with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
    /// Newline-delimited JSON.
    Ndjson,
}

impl TableFormat {
    /// The format for a file name, if it is one sharelog reads.
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(TableFormat::Csv),
            "parquet" => Some(TableFormat::Parquet),
            "ndjson" | "jsonl" => Some(TableFormat::Ndjson),
            _ => None,
        }
    }
}

/// A table file named by a manifest.
#[derive(Debug, Clone)]
pub struct TableFile {
    /// The path on disk.
    pub path: PathBuf,
    /// The path relative to the report root, for messages.
    pub display: String,
    /// Its format.
    pub format: TableFormat,
    /// Hive partition values from the folders it lies in (`year=2023/part-0.parquet`): columns
    /// the file does not hold, as text, percent-decoded; `None` for `__HIVE_DEFAULT_PARTITION__`.
    pub hive: Vec<(String, Option<String>)>,
}

/// A table a manifest names: one file, or a folder or glob of part files (as warehouses and
/// Spark write a batch), read in sorted order as one table.
#[derive(Debug, Clone)]
pub struct Parts {
    /// What the manifest wrote, relative to the report root, for messages.
    pub display: String,
    /// The files, in sorted order; one for a single file.
    pub files: Vec<TableFile>,
}

/// One declared aggregate row of a manifest's `counts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountRow {
    /// The category.
    pub category: CategoryId,
    /// The UTC year of creation.
    pub year: i32,
    /// Items in the cell.
    pub items: u64,
    /// Private items; `None` when the manifest does not declare the flag (never read as 0).
    pub private: Option<u64>,
    /// Deleted items, if declared.
    pub deleted: Option<u64>,
    /// Suspended items, if declared.
    pub suspended: Option<u64>,
    /// Explicit items, if declared.
    pub explicit: Option<u64>,
    /// Items by minors, if declared.
    pub minor: Option<u64>,
    /// Items whose owner had opted out, if declared.
    pub opted_out: Option<u64>,
}

/// A manifest's declared counts.
#[derive(Debug, Clone)]
pub enum DeclaredCounts {
    /// Written inline in the manifest (already checked).
    Inline(Vec<CountRow>),
    /// A CSV or Parquet table with the same columns (a file, or a folder or glob of parts).
    Table(Parts),
}

/// A manifest's `figures`: what a listing gives beyond the counts, counted elsewhere (by the
/// query `sharelog sql --figures` prints).
#[derive(Debug, Clone)]
pub enum DeclaredFigures {
    /// Written inline in the manifest: this batch's figures.
    Inline {
        /// The figures.
        row: FigureRow,
        /// The manifest's line of `figures`.
        line: u64,
    },
    /// A CSV or Parquet table (a file, or a folder or glob of parts) with a row for this batch
    /// (and maybe for other batches and for partners: `export` empty).
    Table(Parts),
}

/// Declared figures of one batch, or of everything a partner received. `None`: not declared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FigureRow {
    /// Distinct owners with items in it.
    pub owners: Option<u64>,
    /// Of them, owners opted out for the partner when (a batch with) their items was exported.
    pub owners_opted_out: Option<u64>,
    /// Items whose owner is opted out for the partner at the end of the report's date.
    pub items_opted_out_now: Option<u64>,
    /// Items created outside the batch's content window.
    pub outside_window: Option<u64>,
    /// The report date `items_opted_out_now` was counted at (must be `published`).
    pub as_of: Option<NaiveDate>,
}

/// A file shipped to the partner.
#[derive(Debug, Clone, Serialize)]
pub struct ShippedFile {
    /// Its path, relative to the manifest's folder.
    pub path: String,
    /// Its declared SHA-256 (lowercase hex).
    pub sha256: String,
    /// Its declared size.
    pub bytes: Option<u64>,
    /// Where it lies under the report root, when it exists there (it is then verified).
    #[serde(skip)]
    pub local: Option<PathBuf>,
}

/// One export batch.
#[derive(Debug, Clone)]
pub struct Export {
    /// Its slug.
    pub id: ExportId,
    /// Who received it.
    pub partner: PartnerId,
    /// When it left the platform, in UTC.
    pub exported_at: DateTime<Utc>,
    /// A description.
    pub description: Option<String>,
    /// The creation dates the batch claims to cover.
    pub content_window: Option<(Option<NaiveDate>, Option<NaiveDate>)>,
    /// What the platform says it filtered out.
    pub filters: Filters,
    /// The item listing, if any: a file, or a folder or glob of part files.
    pub items: Option<Parts>,
    /// The declared counts, if any.
    pub counts: Option<DeclaredCounts>,
    /// Declared figures beyond the counts (owners, items opted out at the report's date, items
    /// outside the content window), as a warehouse counts them (`figures:`).
    pub figures: Option<DeclaredFigures>,
    /// Files shipped.
    pub files: Vec<ShippedFile>,
    /// The manifest's path relative to the root.
    pub manifest: String,
}

/// One month of opt-out statistics from `data/opt-outs/monthly.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthlyOptOuts {
    /// `YYYY-MM`.
    pub month: String,
    /// New opt-outs that month.
    pub opted_out: u64,
    /// Opt-outs withdrawn that month.
    pub withdrawn: u64,
    /// Eligible accounts at month end.
    pub accounts: Option<u64>,
    /// New opt-outs per signal, in the order of [`SIGNALS`], when the table has a `signal` column.
    pub by_signal: Option<[u64; 6]>,
}

/// How an owner opted out: the ledger's and `monthly.csv`'s `signal` values, in output order.
pub const SIGNALS: [&str; 6] = [
    "account-setting",
    "support-request",
    "robots-txt",
    "tdmrep",
    "gpc",
    "other",
];

/// One row of `data/opt-outs/protections-monthly.csv`: accounts with a site-level protection on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtectionMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// The setting's slug, e.g. `discourage-ai-crawlers`.
    pub setting: String,
    /// Accounts with the setting on at month end.
    pub accounts: u64,
}

/// How serious a finding is. Ordered from most to least serious, so sorting puts `high` first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Content that should not have been shared was shared, or a promise was broken.
    High,
    /// Worth a reader's attention; no promise was broken.
    Medium,
    /// Context for the reader.
    Info,
}

impl Severity {
    /// The slug used in downloads and on the command line.
    pub fn slug(self) -> &'static str {
        match self {
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Info => "info",
        }
    }
}

/// One deletion request sent to a partner, from `data/deletions/*.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletionRequest {
    /// The platform's reference (never published).
    pub request_id: String,
    /// Who was asked to delete.
    pub partner: PartnerId,
    /// When the request was sent, in UTC.
    pub sent_at: DateTime<Utc>,
    /// Items asked to be deleted.
    pub items: u64,
    /// When the partner acknowledged it.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// When the partner confirmed the deletion.
    pub completed_at: Option<DateTime<Utc>>,
    /// The export batch whose items it asks to delete, when the request names one.
    pub export: Option<ExportId>,
    /// Why the items are to be deleted, when the request says.
    pub reason: Option<DeletionReason>,
}

/// Why a deletion request asks for items to be deleted (`reason` in `data/deletions/*.csv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeletionReason {
    /// The owners opted out.
    OptOut,
    /// The owners asked for their content to be deleted.
    OwnerRequest,
    /// The items should not have been shared: private, deleted, suspended, explicit or a minor's.
    SensitiveContent,
    /// A legal obligation (a court order, a regulator).
    Legal,
    /// Anything else.
    Other,
}

impl DeletionReason {
    /// Every reason, in the order tables list them.
    pub const ALL: [DeletionReason; 5] = [
        DeletionReason::OptOut,
        DeletionReason::OwnerRequest,
        DeletionReason::SensitiveContent,
        DeletionReason::Legal,
        DeletionReason::Other,
    ];

    /// The slug used in inputs and downloads.
    pub fn slug(self) -> &'static str {
        match self {
            DeletionReason::OptOut => "opt-out",
            DeletionReason::OwnerRequest => "owner-request",
            DeletionReason::SensitiveContent => "sensitive-content",
            DeletionReason::Legal => "legal",
            DeletionReason::Other => "other",
        }
    }

    /// The reason a slug names.
    pub fn from_slug(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.slug() == text)
    }
}

/// A narrative page from `content/`.
#[derive(Debug, Clone)]
pub struct Page {
    /// Its output folder, e.g. `methodology` or `about/team`.
    pub slug: String,
    /// Its title.
    pub title: String,
    /// A one-line summary.
    pub description: Option<String>,
    /// Navigation order (lower first).
    pub weight: i64,
    /// Whether it appears in the main navigation.
    pub in_nav: bool,
    /// Sanitised HTML.
    pub html: String,
    /// Table of contents: (level, anchor, text).
    pub toc: Vec<(u8, String, String)>,
}

#[cfg(test)]
mod tests {
    use super::is_slug;

    #[test]
    fn accepts_only_slugs() {
        for ok in ["a", "0", "open-ai-2", "x-"] {
            assert!(is_slug(ok), "{ok}");
        }
        for bad in ["", "-a", "A", "a_b", "a b", "é", "a/b"] {
            assert!(!is_slug(bad), "{bad}");
        }
    }
}
