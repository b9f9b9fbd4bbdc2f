//! An export batch's page.

use super::*;

impl Pages<'_> {
    pub(crate) fn export(&self, export: &Export) -> Result<Vec<u8>> {
        let root = "../../";
        let l = self.lang;
        let row = self
            .t
            .exports
            .iter()
            .find(|e| e.export == export.id.as_str());
        let rows: Vec<Value> = self
            .t
            .shared_items
            .iter()
            .filter(|r| r.export == export.id.as_str())
            .map(|r| {
                json!({
                    "category": self.report.category_label(&r.category),
                    "year": r.year,
                    "items": self.count(r.items),
                    "private": self.count(r.private),
                    "deleted": self.count(r.deleted),
                    "suspended": self.count(r.suspended),
                    "explicit": self.count(r.explicit),
                    "minor": self.count(r.minor),
                    "opted_out": (r.opted_out != Count::NotDeclared).then(|| self.count(r.opted_out)),
                })
            })
            .collect();
        let f = export.filters;
        let filters = [
            ("public_only", f.public_only),
            ("exclude_opted_out", f.exclude_opted_out),
            ("exclude_deleted", f.exclude_deleted),
            ("exclude_explicit", f.exclude_explicit),
            ("exclude_minors", f.exclude_minors),
        ]
        .iter()
        .map(|(key, on)| Ok(json!({"label": l.t(&format!("filter.{key}"))?, "claimed": on})))
        .collect::<Result<Vec<_>>>()?;
        let files: Vec<Value> = super::super::downloads::shipped_files(self.report, &self.t.findings)
            .into_iter()
            .filter(|f| f.export == export.id.as_str())
            .map(|f| {
                let status = match f.status {
                    "not-kept" => "export.file_not_kept",
                    "differs" => "export.file_differs",
                    _ => "export.file_verified",
                };
                Ok(json!({"path": f.path, "sha256": f.sha256, "bytes": f.bytes.map(|b| l.number(b)), "status": l.t(status)?}))
            })
            .collect::<Result<_>>()?;
        let source = match (&export.items, &export.counts) {
            (Some(_), Some(_)) => "export.source_both",
            (Some(_), None) => "export.source_listing",
            _ => "export.source_declared",
        };
        let extra = json!({
            "export": {
                "id": export.id,
                "partner": partner_name(self.report, export.partner.as_str()),
                "partner_href": format!("{root}partners/{}/index.html", export.partner),
                "exported_at": l.instant(&export.exported_at),
                "outside_period": !self.report.meta.in_period(&export.exported_at),
                "description": export.description,
                "window_from": export.content_window.and_then(|w| w.0).map(|d| l.date(d)),
                "window_to": export.content_window.and_then(|w| w.1).map(|d| l.date(d)),
                "source": l.t(source)?,
                "items": self.count(row.map_or(Count::NotDeclared, |r| r.items)),
                "opt_outs_in_force": row.and_then(|r| r.opt_outs_in_force).map(|n| self.count(n)),
                "filters": filters,
                "files": files,
            },
            "rows": rows,
            "has_opted_out": rows.iter().any(|r| !r["opted_out"].is_null()),
            "findings": self.finding_list(root, |f| f.export == export.id.as_str())?,
        });
        self.render(
            "export.html",
            self.base(root, "exports", export.id.as_str()),
            extra,
        )
    }
}
