//! A partner's page.

use super::*;

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
        let exports: Vec<Value> = self
            .t
            .exports
            .iter()
            .filter(|e| e.partner == partner.id.as_str())
            .map(|e| self.export_summary(root, e))
            .collect::<Result<_>>()?;
        let description = partner
            .description
            .as_deref()
            .map(|d| markdown::render(d).html);
        let mut covered_by = vec![l.t("partner.covered_all")?];
        if partner
            .purposes
            .contains(&crate::model::Purpose::AiTraining)
        {
            covered_by.push(l.t("partner.covered_ai")?);
        }
        covered_by.push(l.t("partner.covered_named")?);
        let purposes = self.purposes(partner)?;
        let extra = json!({
            "partner": {
                "id": partner.id,
                "name": partner.name,
                "country": partner.country,
                "purposes": purposes,
                "legal_basis": l.t(&format!("legal_basis.{}", partner.legal_basis.slug()))?,
                "honours_opt_out": l.t(&format!("honours.{}", partner.honours_opt_out.slug()))?,
                "agreement_signed": l.date(partner.agreement_signed),
                "agreement_ends": partner.agreement_ends.map(|d| l.date(d)),
                "agreement_url": safe_url(partner.agreement_url.as_deref()),
                "deletion_deadline_days": partner.deletion_deadline_days,
                "ai_act_summary_url": safe_url(partner.ai_act_summary_url.as_deref()),
                "description_html": description,
                "items": self.count(row.map_or(Count::NotDeclared, |r| r.items)),
                "exports": row.map_or(0, |r| r.exports),
                "opt_outs_in_force": row.and_then(|r| r.opt_outs_in_force).map(|n| self.count(n)),
                "items_opted_out_now": row.and_then(|r| r.items_opted_out_now).map(|n| self.count(n)),
                "items_requested": row.map_or_else(|| l.number(0), |r| self.count(r.deletion_items)),
                "covered_by": covered_by,
            },
            "has_ledger": self.report.ledger.is_some(),
            "exports": exports,
            "chart": chart,
            "findings": self.finding_list(root, |f| f.partner == partner.id.as_str())?,
            "deletions": self.t.deletions.iter().filter(|r| r.partner == partner.id.as_str()).map(|r| json!({
                "month": l.month(&r.month),
                "requests": l.number(r.requests),
                "acknowledged": l.number(r.requests_acknowledged),
                "completed": l.number(r.requests_completed),
                "late": l.number(r.requests_completed_late),
                "open": l.number(r.requests_open),
                "overdue": l.number(r.requests_overdue),
                "items": self.count(r.items),
                "items_completed": self.count(r.items_completed),
                "items_overdue": self.count(r.items_overdue),
            })).collect::<Vec<_>>(),
            "deletion_chart": deletion_chart,
        });
        self.render(
            "partner.html",
            self.base(root, "partners", &partner.name),
            extra,
        )
    }
}
