//! The data dictionary: every published table and its columns, in output order. The CSV headers
//! and the data page's dictionary both come from here.

use serde::Serialize;

/// A published table.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TableDoc {
    /// File stem under `data/`.
    pub(crate) name: &'static str,
    /// What one row is.
    pub(crate) row: &'static str,
    /// Columns in output order.
    pub(crate) columns: Vec<ColumnDoc>,
}

/// A column of a published table.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ColumnDoc {
    pub(crate) name: &'static str,
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) description: &'static str,
}

impl TableDoc {
    /// The CSV header.
    pub(crate) fn header(&self) -> Vec<&'static str> {
        self.columns.iter().map(|c| c.name).collect()
    }
}

fn col(name: &'static str, kind: &'static str, description: &'static str) -> ColumnDoc {
    ColumnDoc {
        name,
        kind,
        description,
    }
}

/// `data/shared-items`.
pub(crate) fn shared_items() -> TableDoc {
    let flag = |name, what| col(name, "integer", what);
    TableDoc {
        name: "shared-items",
        row: "one row per (partner, export, category, year), sorted by those columns",
        columns: vec![
            col("partner", "string", "partner id (see partners)"),
            col("export", "string", "export batch id (see exports)"),
            col("category", "string", "content category id from report.yaml"),
            col(
                "year",
                "integer",
                "UTC year in which the items were created",
            ),
            col("items", "integer", "items shared; suppressed when small"),
            flag("private", "items flagged private"),
            flag("deleted", "items flagged deleted"),
            flag("suspended", "items flagged suspended"),
            flag("explicit", "items flagged explicit"),
            flag("minor", "items flagged as by a minor"),
            col(
                "opted_out",
                "integer",
                "items whose owner was opted out at the export's exported_at, from the opt-out ledger joined with the item listing (or as declared in the manifest's counts); empty when neither exists",
            ),
        ],
    }
}

/// `data/exports`.
pub(crate) fn exports() -> TableDoc {
    TableDoc {
        name: "exports",
        row: "one row per export batch, sorted by export id",
        columns: vec![
            col("export", "string", "export batch id"),
            col("partner", "string", "partner id that received the batch"),
            col(
                "exported_at",
                "date or datetime",
                "when the batch left the platform (UTC)",
            ),
            col("items", "integer", "items in the batch"),
            col(
                "categories",
                "integer",
                "number of content categories in the batch",
            ),
            col(
                "first_year",
                "integer",
                "earliest UTC creation year in the batch",
            ),
            col(
                "last_year",
                "integer",
                "latest UTC creation year in the batch",
            ),
            col(
                "opt_outs_in_force",
                "integer",
                "owners whose opt-out covered this partner when the batch was exported (from the ledger; empty without one)",
            ),
        ],
    }
}

/// `data/partners`.
pub(crate) fn partners() -> TableDoc {
    TableDoc {
        name: "partners",
        row: "one row per partner, in the order of data/partners.yaml",
        columns: vec![
            col("partner", "string", "partner id"),
            col("name", "string", "legal name"),
            col(
                "country",
                "string",
                "ISO 3166-1 alpha-2 country of establishment",
            ),
            col(
                "purposes",
                "string",
                "purposes, `;`-separated: ai-training, ai-evaluation, research, search-indexing, other",
            ),
            col(
                "legal_basis",
                "string",
                "the platform's legal basis for sharing: consent, contract, legitimate-interest, unknown",
            ),
            col(
                "honours_opt_out",
                "string",
                "what the agreement says about opt-outs: yes, no, unknown",
            ),
            col(
                "agreement_signed",
                "date",
                "when the data agreement was signed",
            ),
            col("agreement_ends", "date", "when the agreement ends"),
            col(
                "deletion_deadline_days",
                "integer",
                "days within which the partner must complete a deletion request",
            ),
            col("exports", "integer", "export batches the partner received"),
            col("items", "integer", "items the partner received"),
            col("first_export", "date", "date of the first export"),
            col("last_export", "date", "date of the last export"),
            col(
                "opt_outs_in_force",
                "integer",
                "owners whose opt-out covers this partner at the end of the report's date (from the ledger; empty without one)",
            ),
            col(
                "items_opted_out_now",
                "integer",
                "items the partner received in item listings whose owner is opted out for it at the end of the report's date: what the opt-outs ask it to delete (empty without a ledger; batches with declared counts only cannot be counted)",
            ),
        ],
    }
}

/// `data/opt-outs-monthly`.
pub(crate) fn opt_outs_monthly() -> TableDoc {
    TableDoc {
        name: "opt-outs-monthly",
        row: "one row per month, sorted by month",
        columns: vec![
            col("month", "string (YYYY-MM)", "calendar month"),
            col(
                "opted_out",
                "integer",
                "new opt-outs that month (UTC); from the ledger when there is one",
            ),
            col(
                "withdrawn",
                "integer",
                "opt-outs withdrawn that month (UTC)",
            ),
            col(
                "active",
                "integer",
                "owners opted out at month end: distinct owners from the ledger, else the running balance of opted_out minus withdrawn",
            ),
            col(
                "accounts",
                "integer",
                "eligible accounts at month end, from monthly.csv",
            ),
            col(
                "opted_out_account_setting",
                "integer",
                "new opt-outs that month through the account setting; this and the next five columns split opted_out by signal, and are empty when the source gives no signals",
            ),
            col(
                "opted_out_support_request",
                "integer",
                "new opt-outs through a support request",
            ),
            col(
                "opted_out_robots_txt",
                "integer",
                "new opt-outs through AI-crawler tokens in the blog's robots.txt",
            ),
            col(
                "opted_out_tdmrep",
                "integer",
                "new opt-outs through a W3C TDM Reservation Protocol declaration",
            ),
            col(
                "opted_out_gpc",
                "integer",
                "new opt-outs through Global Privacy Control",
            ),
            col(
                "opted_out_other",
                "integer",
                "new opt-outs through any other signal",
            ),
        ],
    }
}

/// `data/opt-out-scopes`.
pub(crate) fn opt_out_scopes() -> TableDoc {
    TableDoc {
        name: "opt-out-scopes",
        row: "one row per scope: all-third-parties, ai-training, then one per partner in the order of partners.yaml; empty without an opt-out ledger",
        columns: vec![
            col(
                "scope",
                "string",
                "all-third-parties (covers every partner), ai-training (partners whose purposes include ai-training) or partner (one partner)",
            ),
            col("partner", "string", "the partner id when scope is partner"),
            col(
                "active",
                "integer",
                "owners with an opt-out of this scope in force at the end of the report's date; an owner with opt-outs of two scopes counts in both",
            ),
        ],
    }
}

/// `data/protections-monthly`.
pub(crate) fn protections_monthly() -> TableDoc {
    TableDoc {
        name: "protections-monthly",
        row: "one row per (month, setting), sorted by month and setting, from data/opt-outs/protections-monthly.csv",
        columns: vec![
            col("month", "string (YYYY-MM)", "calendar month"),
            col(
                "setting",
                "string",
                "the site-level protection: discourage-ai-crawlers, discourage-search-indexing, or another setting the platform offers",
            ),
            col(
                "accounts",
                "integer",
                "accounts with the setting on at month end",
            ),
        ],
    }
}

/// `data/deletions`.
pub(crate) fn deletions() -> TableDoc {
    let n = |name, what| col(name, "integer", what);
    TableDoc {
        name: "deletions",
        row: "one row per (partner, UTC month the requests were sent), sorted by partner and month; request counts are never suppressed (they count the platform's requests, not people), item counts are",
        columns: vec![
            col("partner", "string", "partner id asked to delete"),
            col("month", "string (YYYY-MM)", "month the requests were sent"),
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
            n("items", "items asked to be deleted; suppressed when small"),
            n("items_acknowledged", "items in acknowledged requests"),
            n("items_completed", "items in completed requests"),
            n("items_overdue", "items in overdue requests"),
        ],
    }
}

/// `data/findings`.
pub(crate) fn findings() -> TableDoc {
    TableDoc {
        name: "findings",
        row: "one row per finding, sorted by severity (high first), then id, partner, export and flag",
        columns: vec![
            col(
                "id",
                "string",
                "what was found: opted-out-content-shared, sensitive-content-shared, declared-count-mismatch, outside-content-window, checksum-mismatch, deletion-overdue, opt-out-not-honoured, opt-out-statistics-mismatch",
            ),
            col("severity", "string", "high, medium or info"),
            col(
                "partner",
                "string",
                "partner id concerned; empty when the finding is about the platform's own statistics",
            ),
            col(
                "export",
                "string",
                "export batch id; empty for per-partner findings",
            ),
            col(
                "flag",
                "string",
                "for sensitive-content-shared: private, deleted, suspended, explicit or minor",
            ),
            col(
                "count",
                "integer",
                "items (suppressed when small; the finding is still published), or, for checksum-mismatch, declared-count-mismatch, deletion-overdue and opt-out-statistics-mismatch, files, (category, year) cells, requests and months",
            ),
            col("message", "string", "the finding in one sentence"),
        ],
    }
}

/// Every table, in the order the data page lists them.
pub(crate) fn all() -> Vec<TableDoc> {
    vec![
        shared_items(),
        exports(),
        partners(),
        opt_outs_monthly(),
        opt_out_scopes(),
        protections_monthly(),
        deletions(),
        findings(),
    ]
}

/// The sentence the dictionary uses for suppressed cells.
pub(crate) fn suppression_note(min_count: u64) -> String {
    format!(
        "Counts from 1 to {} are suppressed: empty in CSV, null in JSON and \"<{min_count}\" on pages. Zero is always published.",
        min_count.saturating_sub(1)
    )
}
