//! The opt-outs page.

use super::*;

impl Pages<'_> {
    pub(crate) fn opt_outs(&self, charts: [&Option<Chart>; 3]) -> Result<Vec<u8>> {
        let [chart, signal_chart, protection_chart] = charts;
        let l = self.lang;
        let rows: Vec<Value> = self
            .t
            .opt_outs_monthly
            .iter()
            .map(|r| {
                json!({
                    "month": l.month(&r.month),
                    "opted_out": self.count(r.opted_out),
                    "withdrawn": self.count(r.withdrawn),
                    "active": self.count(r.active),
                    "accounts": r.accounts.map(|a| self.count(a)),
                })
            })
            .collect();
        use crate::aggregate::OptOutSource;
        let source = match self.t.opt_outs_source {
            OptOutSource::None => None,
            OptOutSource::Monthly => Some(l.t("opt_outs.source_monthly")?),
            OptOutSource::Ledger => Some(l.t("opt_outs.source_ledger")?),
            OptOutSource::Both => Some(l.t("opt_outs.source_both")?),
        };
        let scope_label = |r: &crate::aggregate::ScopeRow<Count>| match r.scope.as_str() {
            "all-third-parties" => l.t("scope.all-third-parties"),
            "ai-training" => l.t("scope.ai-training"),
            _ => l.f(
                "scope.partner",
                &[("partner", partner_name(self.report, &r.partner).into())],
            ),
        };
        let scopes: Vec<Value> = self
            .t
            .scopes
            .iter()
            .map(|r| Ok(json!({"label": scope_label(r)?, "active": self.count(r.active)})))
            .collect::<Result<_>>()?;
        let extra = json!({
            "rows": rows,
            "chart": chart,
            "signal_chart": signal_chart,
            "protection_chart": protection_chart,
            "scopes": scopes,
            "source": source,
            "findings": self.finding_list("../", |f| f.id == "opt-out-statistics-mismatch")?,
        });
        self.render(
            "opt_outs.html",
            self.base("../", "opt-outs", &l.t("nav.opt_outs")?),
            extra,
        )
    }
}
