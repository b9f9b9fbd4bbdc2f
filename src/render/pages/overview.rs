//! The overview page (`index.html`).

use super::*;

impl Pages<'_> {
    pub(crate) fn overview(&self, charts: &[Chart]) -> Result<Vec<u8>> {
        let root = "";
        let years = year_range(self.t);
        let l = self.lang;
        let partners: Vec<Value> = self
            .t
            .partners
            .iter()
            .map(|p| {
                let purposes = match self.report.partner(&p.partner) {
                    Some(x) => Some(self.purposes(x)?.join(", ")),
                    None => None,
                };
                Ok(json!({
                    "id": p.partner,
                    "name": p.name,
                    "href": format!("partners/{}/index.html", p.partner),
                    "country": p.country,
                    "purposes": purposes,
                    "exports": l.number(p.exports),
                    "items": self.count(p.items),
                    "honours_opt_out": l.t(&format!("honours.{}", p.honours_opt_out))?,
                }))
            })
            .collect::<Result<_>>()?;
        let exports: Vec<Value> = self
            .t
            .exports
            .iter()
            .map(|e| self.export_summary(root, e))
            .collect::<Result<_>>()?;
        let counts = self.finding_counts(|_| true)?;
        let extra = json!({
            "totals": {
                "items": self.count(self.t.total_items),
                "partners": l.number(self.report.partners.len() as u64),
                "exports": l.number(self.report.exports.len() as u64),
                "categories": self.report.meta.categories.len(),
                "first_year": years.first(),
                "last_year": years.last(),
            },
            "charts": charts,
            "partners": partners,
            "exports": exports,
            "findings": self.finding_list(root, |f| f.severity == crate::model::Severity::High)?,
            "findings_list": self.findings_phrase(&counts)?,
            "finding_counts": counts,
            "findings_total": self.findings.len(),
        });
        self.render(
            "index.html",
            self.base(root, "index", &self.report.meta.title),
            extra,
        )
    }
}
