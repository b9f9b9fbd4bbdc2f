//! `verify/index.html`: a reader checks their receipt against the commitments in the browser.

use super::*;
use crate::receipts::Commitments;

/// `verify.html`'s view.
#[derive(Serialize)]
struct VerifyView {
    rows: Vec<CommitmentRow>,
    /// `data/commitments.json`'s content, for the script (`<` escaped).
    commitments_json: String,
    /// The script's messages and each batch's partner name and date, in the report's language.
    messages_json: String,
}

#[derive(Serialize)]
struct CommitmentRow {
    export: String,
    partner: String,
    exported_at: String,
    owners: String,
    items: String,
    root: Option<String>,
    reason: String,
}

/// JSON that can sit inside a `<script>` element: no `<` (so no `</script>`).
pub(crate) fn script_json(value: &impl Serialize) -> Result<String> {
    serde_json::to_string(value)
        .map(|s| s.replace('<', "\\u003c"))
        .map_err(|e| crate::error::Error::Internal(format!("embedded JSON: {e}")))
}

impl Pages<'_> {
    /// Why a batch has no tree, in words.
    pub(crate) fn commitment_reason(&self, reason: Option<&str>) -> Result<String> {
        self.lang.t(match reason {
            Some("hidden") => "commitments.reason_hidden",
            Some("empty") => "commitments.reason_empty",
            _ => "commitments.reason_no_listing",
        })
    }

    /// `verify/index.html`.
    pub(crate) fn verify(&self, c: &Commitments) -> Result<Vec<u8>> {
        let l = self.lang;
        let mut rows = Vec::new();
        let mut exports = serde_json::Map::new();
        for e in &c.exports {
            let partner = partner_name(self.report, &e.partner).to_owned();
            let date = l.instant_text(&e.exported_at);
            let reason = self.commitment_reason(e.reason.as_deref())?;
            let info = if e.committed {
                serde_json::json!({"partner": partner, "date": date})
            } else {
                serde_json::json!({"partner": partner, "date": date, "reason": reason})
            };
            exports.insert(e.export.clone(), info);
            let total = |name: &str| e.totals.get(name).map_or("–".to_owned(), |n| l.number(*n));
            rows.push(CommitmentRow {
                export: e.export.clone(),
                partner,
                exported_at: date,
                owners: total("owners"),
                items: total("items"),
                root: e.root.clone(),
                reason,
            });
        }
        let keep = |name: &str| -> Result<String> {
            l.f(
                &format!("commitments.{name}"),
                &[
                    ("items", "{items}".into()),
                    ("export", "{export}".into()),
                    ("partner", "{partner}".into()),
                    ("date", "{date}".into()),
                    ("at_export", "{at_export}".into()),
                    ("now", "{now}".into()),
                    ("opted", "{opted}".into()),
                    ("report_date", "{report_date}".into()),
                    ("field", "{field}".into()),
                    ("sibling", "{sibling}".into()),
                    ("reason", "{reason}".into()),
                    ("file", "{file}".into()),
                ],
            )
        };
        let mut messages = serde_json::Map::new();
        for name in [
            "js_verified",
            "js_unchecked",
            "js_failed",
            "js_entry",
            "js_entry_one",
            "js_opted",
            "js_opted_unknown",
            "js_not_checked",
            "js_no_batch",
            "js_no_path",
            "js_path_without_tree",
            "js_not_committed",
            "js_impossible",
            "js_totals",
            "js_bad_commitment",
            "js_unchecked_heading",
            "js_file",
            "js_declared_only",
            "js_shape",
            "js_field_export",
            "js_field_owner",
            "js_field_partner",
            "js_field_exported_at",
            "js_field_salt",
            "js_field_items",
            "js_field_cells",
            "js_yes",
            "js_no",
            "js_unknown",
            "js_no_crypto",
            "js_bad_file",
            "js_other_report",
            "js_mismatch",
            "js_record",
        ] {
            messages.insert(name.to_owned(), keep(name)?.into());
        }
        messages.insert("exports".to_owned(), exports.into());
        messages.insert(
            "report_date".to_owned(),
            l.date(self.report.meta.published).into(),
        );
        let view = VerifyView {
            rows,
            commitments_json: script_json(c)?,
            messages_json: script_json(&messages)?,
        };
        self.render(
            "verify.html",
            self.base("../", "verify", &l.t("commitments.verify_heading")?),
            &view,
        )
    }
}
