//! An export batch's page.

use super::*;

/// `export.html`'s view.
#[derive(Serialize)]
struct ExportPage {
    export: ExportView,
    rows: Vec<RowView>,
    /// Whether any row has an opted-out count (the column is shown only then).
    has_opted_out: bool,
    /// Whether the report's deletion requests name batches (the section is shown only then).
    names_batches: bool,
    /// The requests that name this batch, per reason.
    deletions: Vec<DeletionView>,
    findings: Vec<FindingView>,
}

/// The batch's facts.
#[derive(Serialize)]
struct ExportView {
    id: String,
    partner: String,
    partner_href: String,
    exported_at: String,
    outside_period: bool,
    description: Option<String>,
    window_from: Option<String>,
    window_to: Option<String>,
    /// Where its counts come from: listing, declared counts or both.
    source: String,
    items: String,
    /// The `{n}` of its sentence: a number, or the wording of a count that is not one.
    opt_outs_in_force: Option<serde_json::Value>,
    /// Distinct owners, with their noun ("474 owners"), when the batch has an item listing.
    owners: Option<String>,
    /// The `{n}` of "N had an opt-out covering …", with a ledger.
    owners_opted_out: Option<serde_json::Value>,
    filters: Vec<FilterView>,
    files: Vec<FileView>,
}

/// A filter the manifest may claim.
#[derive(Serialize)]
struct FilterView {
    label: String,
    claimed: bool,
}

/// A shipped file and whether its checksum was verified.
#[derive(Serialize)]
struct FileView {
    path: String,
    sha256: String,
    bytes: Option<String>,
    status: String,
}

/// The deletion requests that name the batch with one reason (a row of `deletions-by-export`).
#[derive(Serialize)]
struct DeletionView {
    reason: String,
    requests: String,
    items: String,
    completed: String,
    overdue: String,
}

/// A row of the batch's `shared-items`.
#[derive(Serialize)]
struct RowView {
    category: String,
    year: i32,
    items: String,
    private: String,
    deleted: String,
    suspended: String,
    explicit: String,
    minor: String,
    /// "not declared" when neither a ledger nor the manifest gives it.
    opted_out: String,
}

impl Pages<'_> {
    pub(crate) fn export(&self, export: &Export) -> Result<Vec<u8>> {
        let root = "../../";
        let l = self.lang;
        let row = self
            .t
            .exports
            .iter()
            .find(|e| e.export == export.id.as_str());
        let mine: Vec<&crate::aggregate::SharedItemRow<Count>> = self
            .t
            .shared_items
            .iter()
            .filter(|r| r.export == export.id.as_str())
            .collect();
        let rows: Vec<RowView> = mine
            .iter()
            .map(|r| RowView {
                category: self.report.category_label(&r.category).to_owned(),
                year: r.year,
                items: self.count(r.items),
                private: self.count(r.private),
                deleted: self.count(r.deleted),
                suspended: self.count(r.suspended),
                explicit: self.count(r.explicit),
                minor: self.count(r.minor),
                opted_out: self.count(r.opted_out),
            })
            .collect();
        let deletions = self
            .t
            .deletions_by_export
            .iter()
            .filter(|d| d.partner == export.partner.as_str() && d.export == export.id.as_str())
            .map(|d| {
                let reason = match d.reason.as_str() {
                    "" => "none",
                    other => other,
                };
                Ok(DeletionView {
                    reason: l.t(&format!("reason.{reason}"))?,
                    requests: l.number(d.requests),
                    items: self.count(d.items),
                    completed: l.number(d.requests_completed),
                    overdue: l.number(d.requests_overdue),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let f = export.filters;
        let filters = [
            ("public_only", f.public_only),
            ("exclude_opted_out", f.exclude_opted_out),
            ("exclude_deleted", f.exclude_deleted),
            ("exclude_explicit", f.exclude_explicit),
            ("exclude_minors", f.exclude_minors),
        ]
        .iter()
        .map(|(key, on)| {
            Ok(FilterView {
                label: l.t(&format!("filter.{key}"))?,
                claimed: *on,
            })
        })
        .collect::<Result<_>>()?;
        let files = self
            .files
            .iter()
            .filter(|f| f.export == export.id.as_str())
            .map(|f| {
                let status = match f.status {
                    "not-kept" => "export.file_not_kept",
                    "differs" => "export.file_differs",
                    _ => "export.file_verified",
                };
                Ok(FileView {
                    bytes: f.bytes.map(|b| l.number(b)),
                    status: l.t(status)?,
                    path: f.path.clone(),
                    sha256: f.sha256.clone(),
                })
            })
            .collect::<Result<_>>()?;
        let source = match (&export.items, &export.counts) {
            (Some(_), Some(_)) => "export.source_both",
            (Some(_), None) => "export.source_listing",
            _ => "export.source_declared",
        };
        let view = ExportPage {
            export: ExportView {
                id: export.id.to_string(),
                partner: partner_name(self.report, export.partner.as_str()).to_owned(),
                partner_href: format!("{root}partners/{}/index.html", export.partner),
                exported_at: l.instant(&export.exported_at),
                outside_period: !self.report.meta.in_period(&export.exported_at),
                description: export.description.clone(),
                window_from: export.content_window.and_then(|w| w.0).map(|d| l.date(d)),
                window_to: export.content_window.and_then(|w| w.1).map(|d| l.date(d)),
                source: l.t(source)?,
                items: self.count(row.map_or(Count::NotDeclared, |r| r.items)),
                // Shown in a sentence: "N owners had an opt-out covering …".
                opt_outs_in_force: row.and_then(|r| r.opt_outs_in_force).map(|n| l.n_value(n)),
                owners: row.and_then(|r| r.owners).map(|n| l.counted("owners", n)),
                owners_opted_out: row.and_then(|r| r.owners_opted_out).map(|n| l.n_value(n)),
                filters,
                files,
            },
            has_opted_out: mine.iter().any(|r| r.opted_out != Count::NotDeclared),
            names_batches: self.report.deletions.iter().any(|d| d.export.is_some()),
            deletions,
            rows,
            findings: self.finding_list(root, |f| f.export == export.id.as_str())?,
        };
        self.render(
            "export.html",
            self.base(root, "exports", export.id.as_str()),
            &view,
        )
    }
}
