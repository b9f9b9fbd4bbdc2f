//! The findings page.

use super::*;

/// `findings.html`'s view.
#[derive(Serialize)]
struct FindingsView {
    findings: Vec<FindingView>,
    counts: Vec<SeverityCount>,
    /// What each check means, for every kind of finding.
    kinds: Vec<KindView>,
}

#[derive(Serialize)]
struct KindView {
    id: &'static str,
    what: String,
}

impl Pages<'_> {
    pub(crate) fn findings(&self) -> Result<Vec<u8>> {
        let root = "../";
        let view = FindingsView {
            findings: self.finding_list(root, |_| true)?,
            counts: self.finding_counts(|_| true)?,
            kinds: crate::aggregate::findings::Kind::ALL
                .iter()
                .map(|k| {
                    Ok(KindView {
                        id: k.id(),
                        what: self.lang.t(&format!("check.{}", k.id()))?,
                    })
                })
                .collect::<Result<_>>()?,
        };
        self.render(
            "findings.html",
            self.base(root, "findings", &self.lang.t("nav.findings")?),
            &view,
        )
    }
}
