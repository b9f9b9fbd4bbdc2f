//! The corrections log.

use super::*;

/// `corrections.html`'s view.
#[derive(Serialize)]
struct CorrectionsView<'a> {
    corrections: Vec<CorrectionView<'a>>,
}

#[derive(Serialize)]
struct CorrectionView<'a> {
    date: String,
    date_text: String,
    what: &'a str,
    why: &'a str,
    anchor: String,
}

impl Pages<'_> {
    /// `corrections/index.html`: the errata log.
    pub(crate) fn corrections(&self) -> Result<Vec<u8>> {
        let view = CorrectionsView {
            corrections: self
                .report
                .corrections
                .iter()
                .map(|c| CorrectionView {
                    date: c.date.to_string(),
                    date_text: self.lang.date(c.date),
                    what: &c.what,
                    why: &c.why,
                    anchor: feeds::correction_anchor(c),
                })
                .collect(),
        };
        self.render(
            "corrections.html",
            self.base("../", "corrections", &self.lang.t("nav.corrections")?),
            &view,
        )
    }
}
