//! The data page, with "About these numbers", and the datasheet (`data/about.html`).

use super::*;

/// `data.html`'s view.
#[derive(Serialize)]
struct DataView {
    tables: Vec<TableView>,
    /// The paragraphs of "About these numbers".
    about_numbers: Vec<String>,
    /// Per table with counts, how many are hidden (empty in an auditor's build and when
    /// nothing is hidden).
    hidden: Vec<HiddenView>,
    /// The commitments section: its paragraphs, and the batches without a tree (empty without
    /// commitments).
    commitments: Vec<String>,
}

/// A table's hidden counts, formatted.
#[derive(Serialize)]
struct HiddenView {
    table: &'static str,
    counts: String,
    hidden: String,
    percent: String,
}

/// A table of the data dictionary.
#[derive(Serialize)]
struct TableView {
    name: &'static str,
    csv: String,
    json: String,
    parquet: String,
    title: &'static str,
    row: &'static str,
    primary_key: Vec<&'static str>,
    columns: Vec<ColumnView>,
}

/// A column of the data dictionary.
#[derive(Serialize)]
struct ColumnView {
    name: &'static str,
    #[serde(rename = "type")]
    kind: String,
    unit: Option<&'static str>,
    description: &'static str,
    suppressed: bool,
    empty: Option<&'static str>,
}

/// `about_data.html`'s view.
#[derive(Serialize)]
struct AboutView<'a> {
    about: About<'a>,
}

/// The datasheet.
#[derive(Serialize)]
struct About<'a> {
    description: String,
    partners: String,
    exports: String,
    items: String,
    first_year: Option<String>,
    last_year: Option<String>,
    categories: Vec<CategoryView<'a>>,
    opt_out_source: String,
    batches: Vec<BatchView>,
    tables: Vec<TableRows>,
    sources: Vec<SourceView<'a>>,
    license: Option<LicenseView<'a>>,
    version: &'static str,
    corrections: bool,
}

#[derive(Serialize)]
struct CategoryView<'a> {
    id: &'a str,
    label: &'a str,
    description: Option<&'a str>,
}

/// An export batch in the datasheet: where its counts come from and what it says it left out.
#[derive(Serialize)]
struct BatchView {
    id: String,
    partner: String,
    exported_at: String,
    source: String,
    filters: Vec<String>,
}

/// A table and its number of rows.
#[derive(Serialize)]
struct TableRows {
    name: &'static str,
    title: &'static str,
    row: &'static str,
    rows: String,
}

#[derive(Serialize)]
struct SourceView<'a> {
    title: &'a str,
    url: Option<String>,
    description: Option<&'a str>,
}

#[derive(Serialize)]
struct LicenseView<'a> {
    id: &'a str,
    url: Option<String>,
    title: Option<&'a str>,
}

impl Pages<'_> {
    /// The "About these numbers" section: how suppression was done, with this report's figures.
    pub(crate) fn about_numbers(&self) -> Result<Vec<String>> {
        let l = self.lang;
        if self.exact {
            return Ok(vec![l.t("numbers.auditor")?]);
        }
        let p = self.protection;
        let Some(max) = self.rules.hides_up_to() else {
            let mut out = if p.secondary > 0 {
                vec![
                    l.f("numbers.bands_only", &[("n", p.secondary.into())])?,
                    l.t("numbers.relations")?,
                    l.t("numbers.method")?,
                    l.t("numbers.limits")?,
                ]
            } else {
                vec![l.t("numbers.none_hidden")?]
            };
            out.extend(self.bands_note()?);
            return Ok(out);
        };
        let mut out = vec![
            l.f(
                "numbers.primary",
                &[("max", max.into()), ("n", p.primary.into())],
            )?,
            l.f(
                "numbers.secondary",
                &[
                    ("n", p.secondary.into()),
                    ("suppressed", l.suppressed().into()),
                ],
            )?,
            l.t("numbers.relations")?,
            l.t("numbers.method")?,
            l.t("numbers.limits")?,
        ];
        out.extend(self.bands_note()?);
        Ok(out)
    }

    /// The paragraph on bands, when some table is banded.
    pub(crate) fn bands_note(&self) -> Result<Option<String>> {
        let l = self.lang;
        let p = self.protection;
        let Rules::Public { bands: Some(b), .. } = self.rules else {
            return Ok(None);
        };
        {
            Ok(Some(l.f(
                "numbers.bands",
                &[
                    ("tables", b.tables.join(", ").into()),
                    ("width", b.width.into()),
                    ("first", format!("0–{}", l.number(b.width - 1)).into()),
                    (
                        "second",
                        format!("{}–{}", l.number(b.width), l.number(2 * b.width - 1)).into(),
                    ),
                    ("n", p.banded.into()),
                ],
            )?))
        }
    }

    pub(crate) fn data(&self) -> Result<Vec<u8>> {
        let l = self.lang;
        let tables = self
            .docs
            .iter()
            .map(|d| {
                let columns = d
                    .columns
                    .iter()
                    .map(|c| {
                        let kind = match c.band {
                            Some(w) => l.f(
                                "type.band",
                                &[
                                    ("width", w.into()),
                                    ("example", format!("0-{}", w - 1).into()),
                                ],
                            )?,
                            None => l.t(&format!("type.{}", c.kind.slug()))?,
                        };
                        Ok(ColumnView {
                            name: c.name,
                            kind,
                            unit: c.unit,
                            description: c.description,
                            suppressed: c.suppressed,
                            empty: c.empty,
                        })
                    })
                    .collect::<Result<_>>()?;
                Ok(TableView {
                    name: d.name,
                    csv: format!("{}.csv", d.name),
                    json: format!("{}.json", d.name),
                    parquet: format!("{}.parquet", d.name),
                    title: d.title,
                    row: d.row,
                    primary_key: d.primary_key.clone(),
                    columns,
                })
            })
            .collect::<Result<_>>()?;
        let any_hidden = self.hidden.iter().any(|h| h.hidden > 0);
        let hidden = self
            .hidden
            .iter()
            .filter(|h| h.counts > 0 && any_hidden && !self.exact)
            .map(|h| HiddenView {
                table: h.table,
                counts: l.number(h.counts as u64),
                hidden: l.number(h.hidden as u64),
                percent: format!("{}%", h.percent()),
            })
            .collect();
        let mut commitments = Vec::new();
        if let Some(c) = self.commitments {
            for key in ["promise", "promise_receipt", "promise_limits"] {
                commitments.push(l.t(&format!("commitments.{key}"))?);
            }
            let without = c
                .exports
                .iter()
                .filter(|e| !e.committed)
                .map(|e| {
                    Ok(format!(
                        "{} ({})",
                        e.export,
                        self.commitment_reason(e.reason.as_deref())?
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            if !without.is_empty() {
                commitments.push(l.f(
                    "commitments.not_committed",
                    &[("list", without.join(", ").into())],
                )?);
            }
        }
        let view = DataView {
            tables,
            about_numbers: self.about_numbers()?,
            hidden,
            commitments,
        };
        self.render(
            "data.html",
            self.base("../", "data", &l.t("data.heading")?),
            &view,
        )
    }

    /// `data/about.html`: the datasheet, from `report.yaml`, the manifests and the tables.
    pub(crate) fn about_data(
        &self,
        rows: &BTreeMap<&str, usize>,
        corrections: bool,
    ) -> Result<Vec<u8>> {
        use crate::aggregate::OptOutSource;
        let m = &self.report.meta;
        let l = self.lang;
        let years = year_range(self.t);
        let batches = self
            .report
            .exports
            .iter()
            .map(|e| {
                let f = &e.filters;
                let filters = [
                    (f.public_only, "public_only"),
                    (f.exclude_opted_out, "exclude_opted_out"),
                    (f.exclude_deleted, "exclude_deleted"),
                    (f.exclude_explicit, "exclude_explicit"),
                    (f.exclude_minors, "exclude_minors"),
                ]
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, key)| l.t(&format!("left_out.{key}")))
                .collect::<Result<Vec<_>>>()?;
                let source = if e.items.is_some() {
                    "about.from_listing"
                } else {
                    "about.from_declared"
                };
                Ok(BatchView {
                    id: e.id.0.clone(),
                    partner: partner_name(self.report, &e.partner.0).to_owned(),
                    exported_at: l.instant(&e.exported_at),
                    source: l.t(source)?,
                    filters,
                })
            })
            .collect::<Result<_>>()?;
        let about = About {
            description: package::description(self.report, self.rules),
            partners: l.counted("partners", Count::Exact(self.report.partners.len() as u64)),
            exports: l.counted(
                "export_batches",
                Count::Exact(self.report.exports.len() as u64),
            ),
            items: l.counted("items", self.t.total_items),
            first_year: years.first().cloned(),
            last_year: years.last().cloned(),
            categories: m
                .categories
                .iter()
                .map(|c| CategoryView {
                    id: c.id.as_str(),
                    label: &c.label,
                    description: c.description.as_deref(),
                })
                .collect(),
            opt_out_source: l.t(match self.t.opt_outs_source {
                OptOutSource::None => "about.opt_outs_none",
                OptOutSource::Monthly => "about.opt_outs_monthly",
                OptOutSource::Ledger => "about.opt_outs_ledger",
                OptOutSource::Both => "about.opt_outs_both",
            })?,
            batches,
            tables: dictionary::all()
                .iter()
                .map(|d| TableRows {
                    name: d.name,
                    title: d.title,
                    row: d.row,
                    rows: l.number(rows.get(d.name).copied().unwrap_or(0) as u64),
                })
                .collect(),
            sources: m
                .sources
                .iter()
                .map(|s| SourceView {
                    title: &s.title,
                    url: safe_url(s.url.as_deref()),
                    description: s.description.as_deref(),
                })
                .collect(),
            license: m.license.as_ref().map(|x| LicenseView {
                id: &x.id,
                url: safe_url(x.url.as_deref()),
                title: x.title.as_deref(),
            }),
            version: env!("CARGO_PKG_VERSION"),
            corrections,
        };
        self.render(
            "about_data.html",
            self.base("../", "data", &l.t("nav.about_data")?),
            &AboutView { about },
        )
    }
}
