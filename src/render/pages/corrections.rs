//! The corrections log.

use super::*;

impl Pages<'_> {
    /// `corrections/index.html`: the errata log.
    pub(crate) fn corrections(&self) -> Result<Vec<u8>> {
        let corrections: Vec<Value> = self
            .report
            .corrections
            .iter()
            .map(|c| {
                json!({
                    "date": c.date.to_string(),
                    "date_text": self.lang.date(c.date),
                    "what": c.what,
                    "why": c.why,
                    "anchor": feeds::correction_anchor(c),
                })
            })
            .collect();
        self.render(
            "corrections.html",
            self.base("../", "corrections", &self.lang.t("nav.corrections")?),
            json!({ "corrections": corrections }),
        )
    }
}
