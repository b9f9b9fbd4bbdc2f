//! The findings page.

use super::*;

impl Pages<'_> {
    pub(crate) fn findings(&self) -> Result<Vec<u8>> {
        let root = "../";
        let kinds = FINDING_KINDS
            .iter()
            .map(|id| Ok(json!({"id": id, "what": self.lang.t(&format!("check.{id}"))?})))
            .collect::<Result<Vec<_>>>()?;
        let extra = json!({
            "findings": self.finding_list(root, |_| true)?,
            "counts": self.finding_counts(|_| true)?,
            "kinds": kinds,
        });
        self.render(
            "findings.html",
            self.base(root, "findings", &self.lang.t("nav.findings")?),
            extra,
        )
    }
}
