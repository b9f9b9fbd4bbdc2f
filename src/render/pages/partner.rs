//! A partner's page.

use super::*;

/// `partner.html`'s view.
#[derive(Serialize)]
struct PartnerPage<'a> {
    partner: PartnerView,
    has_ledger: bool,
    exports: Vec<ExportSummary>,
    chart: &'a Chart,
    findings: Vec<FindingView>,
    deletions: Vec<DeletionMonth>,
    deletion_chart: Option<&'a Chart>,
}

/// The partner's facts and figures.
#[derive(Serialize)]
struct PartnerView {
    id: String,
    name: String,
    country: Option<String>,
    purposes: Vec<String>,
    legal_basis: String,
    honours_opt_out: String,
    agreement_signed: String,
    agreement_ends: Option<String>,
    agreement_url: Option<String>,
    deletion_deadline_days: Option<u32>,
    ai_act_summary_url: Option<String>,
    /// Sanitised HTML from the partner's Markdown description.
    description_html: Option<String>,
    items: String,
    exports: u64,
    /// The `{n}` of sentences: a number, or the wording of a count that is not one.
    opt_outs_in_force: Option<serde_json::Value>,
    items_opted_out_now: Option<serde_json::Value>,
    /// Distinct owners, with their noun, when every batch has an item listing.
    owners: Option<String>,
    /// The `{n}` of "Of them, N had an opt-out …", with a ledger.
    owners_opted_out: Option<serde_json::Value>,
    /// `partners.deletion_items`, with its noun ("12 items").
    items_requested: String,
    /// Which opt-out scopes cover the partner.
    covered_by: Vec<String>,
}

/// A month of the partner's rows of `deletions`.
#[derive(Serialize)]
struct DeletionMonth {
    month: String,
    requests: String,
    acknowledged: String,
    completed: String,
    late: String,
    open: String,
    overdue: String,
    items: String,
    items_completed: String,
    items_overdue: String,
}

impl Pages<'_> {
    pub(crate) fn partner(
        &self,
        partner: &Partner,
        chart: &Chart,
        deletion_chart: Option<&Chart>,
    ) -> Result<Vec<u8>> {
        let root = "../../";
        let l = self.lang;
        let row = self
            .t
            .partners
            .iter()
            .find(|r| r.partner == partner.id.as_str());
        let mut covered_by = vec![l.t("partner.covered_all")?];
        if partner
            .purposes
            .contains(&crate::model::Purpose::AiTraining)
        {
            covered_by.push(l.t("partner.covered_ai")?);
        }
        covered_by.push(l.t("partner.covered_named")?);
        let view = PartnerPage {
            partner: PartnerView {
                id: partner.id.to_string(),
                name: partner.name.clone(),
                country: partner.country.clone(),
                purposes: self.purposes(partner)?,
                legal_basis: l.t(&format!("legal_basis.{}", partner.legal_basis.slug()))?,
                honours_opt_out: l.t(&format!("honours.{}", partner.honours_opt_out.slug()))?,
                agreement_signed: l.date(partner.agreement_signed),
                agreement_ends: partner.agreement_ends.map(|d| l.date(d)),
                agreement_url: safe_url(partner.agreement_url.as_deref()),
                deletion_deadline_days: partner.deletion_deadline_days,
                ai_act_summary_url: safe_url(partner.ai_act_summary_url.as_deref()),
                description_html: partner
                    .description
                    .as_deref()
                    .map(|d| markdown::render(d).html),
                // With its noun: "1 item", "12 items".
                items: l.counted("items", row.map_or(Count::NotDeclared, |r| r.items)),
                exports: row.map_or(0, |r| r.exports),
                // Shown in sentences: "N owners had an opt-out …", "N items belong …".
                opt_outs_in_force: row.and_then(|r| r.opt_outs_in_force).map(|n| l.n_value(n)),
                items_opted_out_now: row
                    .and_then(|r| r.items_opted_out_now)
                    .map(|n| l.n_value(n)),
                owners: row.and_then(|r| r.owners).map(|n| l.counted("owners", n)),
                owners_opted_out: row.and_then(|r| r.owners_opted_out).map(|n| l.n_value(n)),
                items_requested: l
                    .counted("items", row.map_or(Count::Exact(0), |r| r.deletion_items)),
                covered_by,
            },
            has_ledger: self.report.ledger.is_some(),
            exports: self
                .t
                .exports
                .iter()
                .filter(|e| e.partner == partner.id.as_str())
                .map(|e| self.export_summary(root, e))
                .collect(),
            chart,
            findings: self.finding_list(root, |f| f.partner == partner.id.as_str())?,
            deletions: self
                .t
                .deletions
                .iter()
                .filter(|r| r.partner == partner.id.as_str())
                .map(|r| DeletionMonth {
                    month: l.month(&r.month),
                    requests: l.number(r.requests),
                    acknowledged: l.number(r.requests_acknowledged),
                    completed: l.number(r.requests_completed),
                    late: l.number(r.requests_completed_late),
                    open: l.number(r.requests_open),
                    overdue: l.number(r.requests_overdue),
                    items: self.count(r.items),
                    items_completed: self.count(r.items_completed),
                    items_overdue: self.count(r.items_overdue),
                })
                .collect(),
            deletion_chart,
        };
        self.render(
            "partner.html",
            self.base(root, "partners", &partner.name),
            &view,
        )
    }
}
