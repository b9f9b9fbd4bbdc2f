//! The releases page (`build --previous`): every earlier release with the hash that chains it,
//! and what changed since the last one.

use super::*;

/// `releases.html`'s view.
#[derive(Serialize)]
struct ReleasesView<'a> {
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
    ) -> Result<Vec<u8>> {
        let view = ReleasesView {
            releases: previous
                .releases()
                .map(|r| ReleaseView {
                    date: &r.published,
                    date_text: chrono::NaiveDate::parse_from_str(&r.published, "%Y-%m-%d")
                        .map_or_else(|_| r.published.clone(), |d| self.lang.date(d)),
                    href: format!("{}/data/", r.published),
                    sums_sha256: &r.sums_sha256,
                    previous_sums_sha256: r.previous_sums_sha256.as_deref(),
                })
                .collect(),
            previous: previous.date.to_string(),
            previous_text: self.lang.date(previous.date),
            changes: changes.view(self.lang),
        };
        self.render(
            "releases.html",
            self.base("../", "releases", &self.lang.t("releases.heading")?),
            &view,
        )
    }
}
