//! The opt-outs page.

use super::*;

/// `opt_outs.html`'s view.
#[derive(Serialize)]
struct OptOutsView<'a> {
    rows: Vec<MonthView>,
    chart: &'a Option<Chart>,
    signal_chart: &'a Option<Chart>,
    protection_chart: &'a Option<Chart>,
    scopes: Vec<ScopeView>,
    /// Where the monthly figures come from.
    source: Option<String>,
    /// Whether some row is a whole quarter (`privacy.quarters`).
    has_quarters: bool,
    findings: Vec<FindingView>,
}

/// A month of `opt-outs-monthly`.
#[derive(Serialize)]
struct MonthView {
    month: String,
    opted_out: String,
    withdrawn: String,
    active: String,
    accounts: Option<String>,
}

/// A row of `opt-out-scopes`.
#[derive(Serialize)]
struct ScopeView {
    label: String,
    active: String,
}

impl Pages<'_> {
    pub(crate) fn opt_outs(&self, charts: [&Option<Chart>; 3]) -> Result<Vec<u8>> {
        let [chart, signal_chart, protection_chart] = charts;
        let l = self.lang;
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
        let view = OptOutsView {
            rows: self
                .t
                .opt_outs_monthly
                .iter()
                .map(|r| MonthView {
                    month: crate::render::charts::period_label(l, r),
                    opted_out: self.count(r.opted_out),
                    withdrawn: self.count(r.withdrawn),
                    active: self.count(r.active),
                    accounts: r.accounts.map(|a| self.count(a)),
                })
                .collect(),
            chart,
            signal_chart,
            protection_chart,
            scopes: self
                .t
                .scopes
                .iter()
                .map(|r| {
                    Ok(ScopeView {
                        label: scope_label(r)?,
                        active: self.count(r.active),
                    })
                })
                .collect::<Result<_>>()?,
            source,
            has_quarters: self.t.opt_outs_monthly.iter().any(|r| r.months > 1),
            findings: self.finding_list("../", |f| f.id == "opt-out-statistics-mismatch")?,
        };
        self.render(
            "opt_outs.html",
            self.base("../", "opt-outs", &l.t("nav.opt_outs")?),
            &view,
        )
    }
}
