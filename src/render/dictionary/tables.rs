//! Every published table's dictionary entry: its columns, what each means, what an empty cell
//! means, and its keys.

use super::{ColumnDoc, TableDoc, Type, col, count, tally};

const NOT_DECLARED: &str =
    "not declared by the export's manifest (named in the row's not_declared column)";

const NO_LEDGER: &str = "no opt-out ledger (data/opt-outs/ledger.*) to count from";

/// `data/shared-items`.
pub(crate) fn shared_items() -> TableDoc {
    let flag = |name, what| count(name, "items", what).or_empty(NOT_DECLARED);
    TableDoc {
        name: "shared-items",
        title: "Items shared, by partner, export, category and year",
        row: "one row per (partner, export, category, year), sorted by those columns",
        columns: vec![
            col("partner", Type::String, "partner id (see partners)"),
            col("export", Type::String, "export batch id (see exports)"),
            col("category", Type::String, "content category id from report.yaml"),
            col(
                "year",
                Type::Integer,
                "UTC year in which the items were created",
            ),
            count("items", "items", "items shared"),
            flag("private", "items flagged private"),
            flag("deleted", "items flagged deleted"),
            flag("suspended", "items flagged suspended"),
            flag("explicit", "items flagged explicit"),
            flag("minor", "items flagged as by a minor"),
            count(
                "opted_out",
                "items",
                "items whose owner was opted out at the export's exported_at, from the opt-out ledger joined with the item listing (or as declared in the manifest's counts)",
            )
            .or_empty("not known for the row: no opt-out ledger to join its listing with, or declared counts that do not give it (named in not_declared)"),
            col(
                "not_declared",
                Type::List,
                "the count columns of this row that the export's manifest does not declare (its declared counts leave them out): their cells are empty because the number is unknown, not because it is suppressed, and it is never 0",
            )
            .or_empty("every column of the row is declared (or counted from an item listing)"),
        ],
        primary_key: vec!["partner", "export", "category", "year"],
        foreign_keys: vec![
            ("partner", "partners", "partner"),
            ("export", "exports", "export"),
        ],
    }
}

/// `data/item-totals`: every item total the pages show, across exports.
pub(crate) fn item_totals() -> TableDoc {
    TableDoc {
        name: "item-totals",
        title: "Items shared, totalled across exports",
        row: "one row per total, by grouping (partner-category-year, partner-year, partner-category, year, category, all) and then by its key columns; the totals on the overview and partner pages",
        columns: vec![
            col(
                "grouping",
                Type::String,
                "what the row totals over: partner-category-year, partner-year, partner-category, year, category or all",
            ),
            col("partner", Type::String, "partner id (see partners)")
                .or_empty("the grouping has no partner"),
            col(
                "category",
                Type::String,
                "content category id from report.yaml",
            )
            .or_empty("the grouping has no category"),
            col(
                "year",
                Type::Integer,
                "UTC year in which the items were created",
            )
            .or_empty("the grouping has no year"),
            count(
                "items",
                "items",
                "items shared: the sum of shared-items.items over the rows with this key, across exports",
            ),
        ],
        primary_key: vec![],
        foreign_keys: vec![("partner", "partners", "partner")],
    }
}

/// `data/shipped-files`.
pub(crate) fn shipped_files() -> TableDoc {
    TableDoc {
        name: "shipped-files",
        title: "Files shipped to partners",
        row: "one row per file a manifest says was shipped, in export order then the manifest's order",
        columns: vec![
            col("export", Type::String, "export batch id (see exports)"),
            col("partner", Type::String, "partner id that received it"),
            col(
                "path",
                Type::String,
                "the file's path, relative to its manifest's folder",
            ),
            col(
                "sha256",
                Type::String,
                "the SHA-256 the manifest declares (lowercase hex)",
            ),
            ColumnDoc {
                unit: Some("bytes"),
                ..col("bytes", Type::Integer, "the size the manifest declares")
            }
            .or_empty("the manifest gives no size"),
            col(
                "status",
                Type::String,
                "verified (the file under the report root matches), differs (it does not: see the checksum-mismatch finding) or not-kept (it is not under the report root, so it cannot be checked)",
            ),
        ],
        primary_key: vec!["export", "path"],
        foreign_keys: vec![
            ("export", "exports", "export"),
            ("partner", "partners", "partner"),
        ],
    }
}

/// `data/exports`.
pub(crate) fn exports() -> TableDoc {
    TableDoc {
        name: "exports",
        title: "Export batches",
        row: "one row per export batch, sorted by export id",
        columns: vec![
            col("export", Type::String, "export batch id"),
            col(
                "partner",
                Type::String,
                "partner id that received the batch",
            ),
            col(
                "exported_at",
                Type::Datetime,
                "when the batch left the platform, in UTC (a date in the manifest means 00:00 UTC)",
            ),
            count("items", "items", "items in the batch"),
            tally(
                "categories",
                "categories",
                "number of content categories in the batch",
            ),
            col(
                "first_year",
                Type::Integer,
                "earliest UTC creation year in the batch",
            )
            .or_empty("the batch is empty"),
            col(
                "last_year",
                Type::Integer,
                "latest UTC creation year in the batch",
            )
            .or_empty("the batch is empty"),
            count(
                "opt_outs_in_force",
                "owners",
                "owners whose opt-out covered this partner when the batch was exported",
            )
            .or_empty(NO_LEDGER),
            count(
                "owners",
                "owners",
                "distinct owners (accounts) with at least one item in the batch",
            )
            .or_empty("the batch has declared counts only, no item listing to count owners from and no declared figures (manifest `figures`)"),
            count(
                "owners_opted_out",
                "owners",
                "of those owners, the ones whose opt-out covered this partner when the batch was exported: their items are counted in shared-items.opted_out",
            )
            .or_empty("no item listing, or no opt-out ledger (data/opt-outs/ledger.*) to count from"),
        ],
        primary_key: vec!["export"],
        foreign_keys: vec![("partner", "partners", "partner")],
    }
}

/// `data/partners`.
pub(crate) fn partners() -> TableDoc {
    TableDoc {
        name: "partners",
        title: "Partners that received data",
        row: "one row per partner, in the order of data/partners.yaml",
        columns: vec![
            col("partner", Type::String, "partner id"),
            col("name", Type::String, "legal name"),
            col(
                "country",
                Type::String,
                "ISO 3166-1 alpha-2 country of establishment",
            )
            .or_empty("not given in partners.yaml"),
            col(
                "purposes",
                Type::List,
                "what the data is for: ai-training, ai-evaluation, research, search-indexing, other (W3C DPV terms in datapackage.json)",
            ),
            col(
                "legal_basis",
                Type::String,
                "the platform's legal basis for sharing: consent, contract, legitimate-interest or unknown",
            ),
            col(
                "honours_opt_out",
                Type::String,
                "what the agreement says about opt-outs: yes, no or unknown",
            ),
            col(
                "agreement_signed",
                Type::Date,
                "when the data agreement was signed",
            ),
            col("agreement_ends", Type::Date, "when the agreement ends")
                .or_empty("no end date"),
            ColumnDoc {
                unit: Some("days"),
                ..col(
                    "deletion_deadline_days",
                    Type::Integer,
                    "days a deletion request may stay open before it is overdue",
                )
            }
            .or_empty("no deadline agreed"),
            tally("exports", "export batches", "export batches the partner received"),
            count("items", "items", "items the partner received"),
            col("first_export", Type::Date, "date (UTC) of the first export")
                .or_empty("no export"),
            col("last_export", Type::Date, "date (UTC) of the last export")
                .or_empty("no export"),
            count(
                "opt_outs_in_force",
                "owners",
                "owners whose opt-out covers this partner at the end of the report's date",
            )
            .or_empty(NO_LEDGER),
            count(
                "items_opted_out_now",
                "items",
                "items the partner received whose owner is opted out for it at the end of the report's date, counted from item listings or declared figures (counted in a warehouse): what the opt-outs ask it to delete",
            )
            .or_empty("no opt-out ledger (data/opt-outs/ledger.*), or some batch of the partner has declared counts without figures: a sum over the others would be a lower bound"),
            col(
                "purposes_dpv",
                Type::List,
                "purposes as W3C Data Privacy Vocabulary IRIs (ai-training → https://w3id.org/dpv/ai#ModelTraining, research → dpv#ResearchAndDevelopment, search-indexing → dpv#SearchFunctionalities); purposes without a fitting term are left out",
            )
            .or_empty("no purpose has a DPV term"),
            col(
                "legal_basis_dpv",
                Type::String,
                "legal_basis as a W3C DPV IRI (dpv#Consent, dpv#Contract, dpv#LegitimateInterest)",
            )
            .or_empty("legal_basis is unknown"),
            tally(
                "deletion_requests",
                "requests",
                "deletion requests the platform sent the partner (see deletions)",
            ),
            count(
                "deletion_items",
                "items",
                "items those requests asked the partner to delete: the sum of deletions.items over the partner's months",
            ),
            count(
                "owners",
                "owners",
                "distinct owners (accounts) with at least one item in any batch the partner received: an owner in several batches counts once",
            )
            .or_empty("some batch of the partner has declared counts only, and no declared figures give the partner's distinct owners"),
            count(
                "owners_opted_out",
                "owners",
                "of those owners, the ones whose opt-out covered this partner when a batch with their items was exported",
            )
            .or_empty("no item listing for every batch, or no opt-out ledger (data/opt-outs/ledger.*) to count from"),
        ],
        primary_key: vec!["partner"],
        foreign_keys: vec![],
    }
}

/// `data/opt-outs-monthly`.
pub(crate) fn opt_outs_monthly() -> TableDoc {
    let signal = |name, what| count(name, "owners", what).or_empty("the source gives no signals");
    TableDoc {
        name: "opt-outs-monthly",
        title: "Opt-outs by month",
        row: "one row per month, sorted by month (or per whole quarter, where privacy.quarters merges its months: see months)",
        columns: vec![
            col(
                "month",
                Type::Yearmonth,
                "calendar month (UTC); for a quarter's row, its first month",
            ),
            count(
                "opted_out",
                "owners",
                "new opt-outs that month; from the ledger when there is one",
            ),
            count("withdrawn", "owners", "opt-outs withdrawn that month"),
            count(
                "active",
                "owners",
                "owners opted out at month end: distinct owners from the ledger, else the running balance of opted_out minus withdrawn",
            ),
            count(
                "accounts",
                "accounts",
                "eligible accounts at month end, from monthly.csv",
            )
            .or_empty("no data/opt-outs/monthly.csv"),
            signal(
                "opted_out_account_setting",
                "new opt-outs that month through the account setting; this and the next five columns split opted_out by signal",
            ),
            signal(
                "opted_out_support_request",
                "new opt-outs through a support request",
            ),
            signal(
                "opted_out_robots_txt",
                "new opt-outs through AI-crawler tokens in the blog's robots.txt",
            ),
            signal(
                "opted_out_tdmrep",
                "new opt-outs through a W3C TDM Reservation Protocol declaration",
            ),
            signal(
                "opted_out_gpc",
                "new opt-outs through Global Privacy Control",
            ),
            signal("opted_out_other", "new opt-outs through any other signal"),
            col(
                "months",
                Type::Integer,
                "months the row covers: 1, or the months of its calendar quarter when they are published as one row (privacy.quarters, where a month's figure would be hidden); month is then the quarter's first month, the flows are the quarter's and active and accounts are at its end",
            ),
        ],
        primary_key: vec!["month"],
        foreign_keys: vec![],
    }
}

/// `data/opt-out-scopes`.
pub(crate) fn opt_out_scopes() -> TableDoc {
    TableDoc {
        name: "opt-out-scopes",
        title: "Opt-outs in force by scope",
        row: "one row per scope: all-third-parties, ai-training, then one per partner in the order of partners.yaml; no rows without an opt-out ledger",
        columns: vec![
            col(
                "scope",
                Type::String,
                "all-third-parties (covers every partner), ai-training (partners whose purposes include ai-training) or partner (one partner)",
            ),
            col(
                "partner",
                Type::String,
                "the partner id when scope is partner",
            )
            .or_empty("the scope is not one partner"),
            count(
                "active",
                "owners",
                "owners with an opt-out of this scope in force at the end of the report's date; an owner with opt-outs of two scopes counts in both",
            ),
        ],
        primary_key: vec![],
        foreign_keys: vec![("partner", "partners", "partner")],
    }
}

/// `data/protections-monthly`.
pub(crate) fn protections_monthly() -> TableDoc {
    TableDoc {
        name: "protections-monthly",
        title: "Site-level protections by month",
        row: "one row per (month, setting), sorted by month and setting, from data/opt-outs/protections-monthly.csv",
        columns: vec![
            col("month", Type::Yearmonth, "calendar month (UTC)"),
            col(
                "setting",
                Type::String,
                "the site-level protection: discourage-ai-crawlers, discourage-search-indexing, or another setting the platform offers",
            ),
            count(
                "accounts",
                "accounts",
                "accounts with the setting on at month end",
            ),
        ],
        primary_key: vec!["month", "setting"],
        foreign_keys: vec![],
    }
}

/// `data/deletions`.
pub(crate) fn deletions() -> TableDoc {
    let n = |name, what| tally(name, "requests", what);
    let items = |name, what| count(name, "items", what);
    TableDoc {
        name: "deletions",
        title: "Deletion requests to partners, by month sent",
        row: "one row per (partner, UTC month the requests were sent), sorted by partner and month; request counts are never suppressed (they count the platform's requests, not people)",
        columns: vec![
            col("partner", Type::String, "partner id asked to delete"),
            col(
                "month",
                Type::Yearmonth,
                "month the requests were sent (UTC)",
            ),
            n("requests", "deletion requests sent"),
            n("requests_acknowledged", "requests the partner acknowledged"),
            n("requests_completed", "requests the partner completed"),
            n(
                "requests_completed_late",
                "requests completed after the partner's deletion deadline",
            ),
            n(
                "requests_open",
                "requests not completed by the report's date",
            ),
            n(
                "requests_overdue",
                "requests not completed within the deadline: completed late, or still open after it",
            ),
            items("items", "items asked to be deleted"),
            items("items_acknowledged", "items in acknowledged requests"),
            items("items_completed", "items in completed requests"),
            items("items_overdue", "items in overdue requests"),
            n(
                "requests_completed_in_time",
                "requests completed within the deadline (requests_completed − requests_completed_late)",
            ),
            n(
                "requests_open_overdue",
                "requests still open past the deadline (requests_overdue − requests_completed_late)",
            ),
            n(
                "requests_open_in_time",
                "requests still open within the deadline (requests_open − requests_open_overdue)",
            ),
        ],
        primary_key: vec!["partner", "month"],
        foreign_keys: vec![("partner", "partners", "partner")],
    }
}

/// `data/deletions-by-export`.
pub(crate) fn deletions_by_export() -> TableDoc {
    let n = |name, what| tally(name, "requests", what);
    let items = |name, what| count(name, "items", what);
    TableDoc {
        name: "deletions-by-export",
        title: "Deletion requests to partners, by export batch and reason",
        row: "one row per (partner, export batch the requests name, reason they give), sorted by them; the same requests as deletions, grouped another way; request counts are never suppressed",
        columns: vec![
            col("partner", Type::String, "partner id asked to delete"),
            col(
                "export",
                Type::String,
                "the export batch whose items the requests ask to delete",
            )
            .or_empty("the requests name no batch"),
            col(
                "reason",
                Type::String,
                "why: opt-out (the owners opted out), owner-request (the owners asked for deletion), sensitive-content (private, deleted, suspended, explicit or minors' items that should not have been shared), legal, other",
            )
            .or_empty("the requests give no reason"),
            n("requests", "deletion requests sent"),
            n("requests_completed", "requests the partner completed"),
            n(
                "requests_overdue",
                "requests not completed within the deadline: completed late, or still open after it",
            ),
            items(
                "items",
                "items asked to be deleted (the items of completed or overdue requests are in deletions, by month)",
            ),
        ],
        // (partner, export, reason) is unique, but export and reason may be empty, which a
        // Table Schema primary key does not allow.
        primary_key: vec![],
        foreign_keys: vec![("partner", "partners", "partner")],
    }
}

/// `data/findings`.
pub(crate) fn findings() -> TableDoc {
    TableDoc {
        name: "findings",
        title: "Compliance findings",
        row: "one row per finding, sorted by severity (high first), then id, partner, export and flag",
        columns: vec![
            col(
                "id",
                Type::String,
                "what was found: opted-out-content-shared, sensitive-content-shared, declared-count-mismatch, outside-content-window, checksum-mismatch, deletion-overdue, opt-out-not-honoured, opt-out-statistics-mismatch",
            ),
            col("severity", Type::String, "high, medium or info"),
            col("partner", Type::String, "partner id concerned")
                .or_empty("the finding is about the platform's own statistics"),
            col("export", Type::String, "export batch id")
                .or_empty("a per-partner or platform-wide finding"),
            col(
                "flag",
                Type::String,
                "for sensitive-content-shared: private, deleted, suspended, explicit or minor",
            )
            .or_empty("not a sensitive-content-shared finding"),
            count(
                "count",
                "items, or files, cells, requests or months",
                "items (a finding is always published; its count is empty where it is suppressed), or, for checksum-mismatch, declared-count-mismatch, deletion-overdue and opt-out-statistics-mismatch, files, (category, year) cells, requests and months (never suppressed)",
            ),
            col("message", Type::String, "the finding in one sentence"),
            col(
                "response_date",
                Type::Date,
                "when the platform responded to the finding (data/responses.yaml)",
            )
            .or_empty("no response"),
            col(
                "response",
                Type::String,
                "what the platform says it did about the finding, in Markdown",
            )
            .or_empty("no response"),
        ],
        primary_key: vec![],
        foreign_keys: vec![
            ("partner", "partners", "partner"),
            ("export", "exports", "export"),
        ],
    }
}
