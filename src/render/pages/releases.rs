//! The releases page (`build --previous`): every earlier release with the hash that chains it,
//! and what changed since the last one.

use super::*;

/// `releases.html`'s view.
#[derive(Serialize)]
struct ReleasesView<'a> {
    /// This release: its date and the SHA-256 of its `data/SHA256SUMS`.
    current: ReleaseView<'a>,
    releases: Vec<ReleaseView<'a>>,
    /// The last release's date, for the heading of what changed.
    previous: String,
    previous_text: String,
    changes: crate::diff::ChangesView,
}

#[derive(Serialize)]
struct ReleaseView<'a> {
    date: &'a str,
    date_text: String,
    /// Relative to `releases/`.
    href: String,
    sums_sha256: &'a str,
    previous_sums_sha256: Option<&'a str>,
}

impl Pages<'_> {
    /// `releases/index.html`.
    pub(crate) fn releases(
        &self,
        previous: &crate::releases::Previous,
        changes: &crate::diff::Changes,
        sums: &str,
    ) -> Result<Vec<u8>> {
        let published = self.report.meta.published;
        let before = previous.releases(published);
        let date = published.to_string();
        let view = ReleasesView {
            current: ReleaseView {
                date: &date,
                date_text: self.lang.date(published),
                href: "../data/index.html".to_owned(),
                sums_sha256: sums,
                previous_sums_sha256: before.first().map(|r| r.sums_sha256.as_str()),
            },
            releases: before
                .iter()
                .map(|r| ReleaseView {
                    date: &r.published,
                    date_text: chrono::NaiveDate::parse_from_str(&r.published, "%Y-%m-%d")
                        .map_or_else(|_| r.published.clone(), |d| self.lang.date(d)),
                    href: format!("{}/data/", r.published),
                    sums_sha256: &r.sums_sha256,
                    previous_sums_sha256: r.previous_sums_sha256.as_deref(),
                })
                .collect(),
            previous: before
                .first()
                .map_or_else(String::new, |r| r.published.clone()),
            previous_text: before
                .first()
                .and_then(|r| chrono::NaiveDate::parse_from_str(&r.published, "%Y-%m-%d").ok())
                .map_or_else(String::new, |d| self.lang.date(d)),
            changes: changes.view(self.lang, &|s| {
                <crate::model::Severity as clap::ValueEnum>::from_str(s, true)
                    .ok()
                    .and_then(|s| self.severity_label(s).ok())
                    .unwrap_or_else(|| s.to_owned())
            }),
        };
        self.render(
            "releases.html",
            self.base("../", "releases", &self.lang.t("releases.heading")?),
            &view,
        )
    }
}
