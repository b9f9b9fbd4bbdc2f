//! The data page, with "About these numbers", and the datasheet (`data/about.html`).

use super::*;

impl Pages<'_> {
    /// The "About these numbers" section: how suppression was done, with this report's figures.
    pub(crate) fn about_numbers(&self) -> Result<Vec<String>> {
        let l = self.lang;
        if self.exact {
            return Ok(vec![l.t("numbers.auditor")?]);
        }
        let p = self.protection;
        let Some(max) = self.rules.hides_up_to() else {
            let mut out = vec![l.t("numbers.none_hidden")?];
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
        let tables: Vec<Value> = self
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
                        Ok(json!({
                            "name": c.name,
                            "type": kind,
                            "unit": c.unit,
                            "description": c.description,
                            "suppressed": c.suppressed,
                            "empty": c.empty,
                        }))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(json!({
                    "name": d.name,
                    "csv": format!("{}.csv", d.name),
                    "json": format!("{}.json", d.name),
                    "parquet": format!("{}.parquet", d.name),
                    "title": d.title,
                    "row": d.row,
                    "primary_key": d.primary_key,
                    "columns": columns,
                }))
            })
            .collect::<Result<_>>()?;
        let extra = json!({
            "tables": tables,
            "about_numbers": self.about_numbers()?,
        });
        self.render(
            "data.html",
            self.base("../", "data", &l.t("data.heading")?),
            extra,
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
        let batches: Vec<Value> = self
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
                Ok(json!({
                    "id": e.id.0,
                    "partner": partner_name(self.report, &e.partner.0),
                    "exported_at": l.instant(&e.exported_at),
                    "source": l.t(if e.items.is_some() { "about.from_listing" } else { "about.from_declared" })?,
                    "filters": filters,
                }))
            })
            .collect::<Result<_>>()?;
        let tables: Vec<Value> = dictionary::all()
            .iter()
            .map(|d| json!({"name": d.name, "title": d.title, "row": d.row, "rows": l.number(rows.get(d.name).copied().unwrap_or(0) as u64)}))
            .collect();
        let sources: Vec<Value> = m
            .sources
            .iter()
            .map(|s| json!({"title": s.title, "url": safe_url(s.url.as_deref()), "description": s.description}))
            .collect();
        let about = json!({
            "description": package::description(self.report, self.rules),
            "partners": l.number(self.report.partners.len() as u64),
            "exports": l.number(self.report.exports.len() as u64),
            "items": self.count(self.t.total_items),
            "first_year": years.first(),
            "last_year": years.last(),
            "categories": m.categories.iter().map(|c| json!({"id": c.id.0, "label": c.label, "description": c.description})).collect::<Vec<_>>(),
            "opt_out_source": l.t(match self.t.opt_outs_source {
                OptOutSource::None => "about.opt_outs_none",
                OptOutSource::Monthly => "about.opt_outs_monthly",
                OptOutSource::Ledger => "about.opt_outs_ledger",
                OptOutSource::Both => "about.opt_outs_both",
            })?,
            "batches": batches,
            "tables": tables,
            "sources": sources,
            "license": m.license.as_ref().map(|l| json!({"id": l.id, "url": safe_url(l.url.as_deref()), "title": l.title})),
            "version": env!("CARGO_PKG_VERSION"),
            "corrections": corrections,
        });
        self.render(
            "about_data.html",
            self.base("../", "data", &l.t("nav.about_data")?),
            json!({ "about": about }),
        )
    }
}
