//! The overview page (`index.html`).

use super::*;

/// `index.html`'s view.
#[derive(Serialize)]
struct OverviewView<'a> {
    totals: Totals,
    charts: &'a [Chart],
    partners: Vec<PartnerSummary>,
    exports: Vec<ExportSummary>,
    /// The high findings.
    findings: Vec<FindingView>,
    /// "12 High, 10 Medium, 2 Info".
    findings_list: String,
    finding_counts: Vec<SeverityCount>,
    findings_total: usize,
}

/// The report's totals in its first paragraph.
#[derive(Serialize)]
struct Totals {
    items: String,
    partners: String,
    exports: String,
    categories: usize,
    first_year: Option<String>,
    last_year: Option<String>,
}

/// A partner as the overview lists it.
#[derive(Serialize)]
struct PartnerSummary {
    id: String,
    name: String,
    href: String,
    country: Option<String>,
    purposes: Option<String>,
    exports: String,
    items: String,
    honours_opt_out: String,
}

impl Pages<'_> {
    pub(crate) fn overview(&self, charts: &[Chart]) -> Result<Vec<u8>> {
        let root = "";
        let years = year_range(self.t);
        let l = self.lang;
        let partners = self
            .t
            .partners
            .iter()
            .map(|p| {
                let purposes = match self.report.partner(&p.partner) {
                    Some(x) => Some(self.purposes(x)?.join(", ")),
                    None => None,
                };
                Ok(PartnerSummary {
                    id: p.partner.clone(),
                    name: p.name.clone(),
                    href: format!("partners/{}/index.html", p.partner),
                    country: p.country.clone(),
                    purposes,
                    exports: l.number(p.exports),
                    items: self.count(p.items),
                    honours_opt_out: l.t(&format!("honours.{}", p.honours_opt_out))?,
                })
            })
            .collect::<Result<_>>()?;
        let counts = self.finding_counts(|_| true)?;
        let view = OverviewView {
            totals: Totals {
                items: self.count(self.t.total_items),
                partners: l.number(self.report.partners.len() as u64),
                exports: l.number(self.report.exports.len() as u64),
                categories: self.report.meta.categories.len(),
                first_year: years.first().cloned(),
                last_year: years.last().cloned(),
            },
            charts,
            partners,
            exports: self
                .t
                .exports
                .iter()
                .map(|e| self.export_summary(root, e))
                .collect(),
            findings: self.finding_list(root, |f| f.severity == crate::model::Severity::High)?,
            findings_list: self.findings_phrase(&counts)?,
            finding_counts: counts,
            findings_total: self.findings.len(),
        };
        self.render(
            "index.html",
            self.base(root, "index", &self.report.meta.title),
            &view,
        )
    }
}
