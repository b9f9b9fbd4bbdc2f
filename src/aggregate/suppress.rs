//! Suppression (SPEC "Suppression"), applied in one place after aggregation: a count
//! `0 < n < min_count` becomes `None` (primary suppression), and so does every further count that
//! would let a suppressed one be worked out from published totals (secondary suppression, see
//! [`super::protect`]). The outputs write `None` as an empty CSV cell, JSON `null` and
//! "suppressed" in HTML.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use super::deletions::DeletionRow;
use super::findings::{Detail, Kind, Shown};
use super::protect::{Cells, Protection};
use super::{
    ExportRow, OptOutMonthRow, PartnerRow, ProtectionRow, ScopeRow, SharedItemRow, Tables, Total,
};
use crate::model::Report;

/// A published count: `None` when suppressed.
pub(crate) type Published = Option<u64>;

/// Suppresses one count.
pub(crate) fn suppress(n: u64, min_count: u64) -> Published {
    if n > 0 && n < min_count {
        None
    } else {
        Some(n)
    }
}

/// The published tables, the published counts of the findings (in the findings' order; `None`
/// when suppressed) and what suppression did.
#[derive(Debug, Clone)]
pub(crate) struct Publication {
    pub(crate) tables: Tables<Published>,
    /// Per finding, in order: the numbers its row and sentence may show.
    pub(crate) findings: Vec<Shown>,
    pub(crate) protection: Protection,
}

/// Every table with its counts suppressed: the only way from raw to published numbers. With
/// `exact`, nothing is suppressed (the auditor's build).
pub(crate) fn publish(report: &Report, t: &Tables, exact: bool) -> Publication {
    let min = if exact { 1 } else { report.meta.min_count };
    let band_of = |table: &str, n: u64| report.meta.bands_for(table, exact).map(|b| b.of(n));
    // Pass 1 gives every count a cell id, in the order `map_counts` visits them, and notes the
    // band of each banded count.
    let cells = RefCell::new(Cells::default());
    let banded = RefCell::new(Vec::new());
    let register = |table: &'static str, n: u64| {
        banded.borrow_mut().push(band_of(table, n));
        Some(cells.borrow_mut().add(n) as u64)
    };
    let ids = map_counts(t, &register);
    let finding_ids = finding_numbers(t, &|n| register("", n));
    let mut cells = cells.into_inner();
    let banded = banded.into_inner();
    relate(report, &ids, &finding_ids, &mut cells);
    let protection = cells.protect(min, &banded);
    // Pass 2 visits the counts in the same order: a banded count becomes its band's first value
    // (the outputs write the band), a suppressed one `None`.
    let next = Cell::new(0usize);
    let hidden = &protection.suppressed;
    let apply = |n: u64| {
        let id = next.get();
        next.set(id + 1);
        if let Some(Some((lo, _))) = banded.get(id) {
            return Some(*lo);
        }
        if hidden.get(id).copied().unwrap_or(true) {
            None
        } else {
            Some(n)
        }
    };
    let tables = map_counts(t, &|_, n| apply(n));
    let findings = finding_numbers(t, &apply)
        .into_iter()
        .zip(&tables.findings)
        .map(|(mut shown, f)| {
            shown.listed_total = tables
                .exports
                .iter()
                .find(|e| Some(e.export.as_str()) == f.export.as_deref())
                .and_then(|e| e.items);
            shown
        })
        .collect();
    Publication {
        tables,
        findings,
        protection,
    }
}

/// The item numbers of the findings, through `s`: the count when it counts items (counts of
/// files, cells, requests and months are always published) and the items of overdue deletion
/// requests. `listed_total` is filled in from the published exports.
fn finding_numbers(t: &Tables, s: &dyn Fn(u64) -> Published) -> Vec<Shown> {
    t.findings
        .iter()
        .map(|f| Shown {
            count: if f.kind.counts_items() {
                s(f.count)
            } else {
                Some(f.count)
            },
            listed_total: None,
            overdue_items: match &f.detail {
                Detail::Deletion { items, .. } => s(*items),
                _ => None,
            },
        })
        .collect()
}

fn id(p: Published) -> Option<usize> {
    p.and_then(|n| usize::try_from(n).ok())
}

/// How the published counts add up: every relation [`Cells::protect`] must respect.
fn relate(report: &Report, ids: &Tables<Published>, finding_ids: &[Shown], cells: &mut Cells) {
    let ids_of = |v: Vec<Published>| -> Vec<usize> { v.into_iter().filter_map(id).collect() };
    // The rows of each export and of each (partner, category, year), gathered once.
    let mut by_export: BTreeMap<&str, Vec<&SharedItemRow<Published>>> = BTreeMap::new();
    let mut by_cell: BTreeMap<(&str, &str, String), Vec<Published>> = BTreeMap::new();
    for r in &ids.shared_items {
        by_export.entry(r.export.as_str()).or_default().push(r);
        by_cell
            .entry((r.partner.as_str(), r.category.as_str(), r.year.to_string()))
            .or_default()
            .push(r.items);
    }
    // Exports: the sum of their rows; each flag's finding: the sum of that flag over the rows.
    for e in &ids.exports {
        let rows = by_export.remove(e.export.as_str()).unwrap_or_default();
        if let Some(total) = id(e.items) {
            cells.sum(total, ids_of(rows.iter().map(|r| r.items).collect()));
        }
        let export = report.exports.iter().find(|x| x.id.as_str() == e.export);
        for (f, fid) in ids.findings.iter().zip(finding_ids) {
            if !f.kind.counts_items() {
                continue;
            }
            let Some(fid) = id(fid.count) else { continue };
            if f.export.as_deref() != Some(e.export.as_str()) {
                continue;
            }
            let parts: Vec<Published> = match f.kind {
                Kind::OptedOutContentShared => rows.iter().filter_map(|r| r.opted_out).collect(),
                Kind::SensitiveContentShared => rows
                    .iter()
                    .map(|r| match f.flag.as_deref() {
                        Some("private") => r.private,
                        Some("deleted") => r.deleted,
                        Some("suspended") => r.suspended,
                        Some("explicit") => r.explicit,
                        _ => r.minor,
                    })
                    .collect(),
                Kind::OutsideContentWindow => {
                    let window = export.and_then(|x| x.content_window);
                    let from = window.and_then(|w| w.0).map(|d| chrono::Datelike::year(&d));
                    let to = window.and_then(|w| w.1).map(|d| chrono::Datelike::year(&d));
                    rows.iter()
                        .filter(|r| {
                            from.is_some_and(|f| r.year < f) || to.is_some_and(|t| r.year > t)
                        })
                        .map(|r| r.items)
                        .collect()
                }
                _ => continue,
            };
            cells.sum(fid, ids_of(parts));
        }
    }
    // Partners: the sum of their exports, years, categories and (category, year) cells.
    for p in &ids.partners {
        let Some(total) = id(p.items) else { continue };
        let mine = |totals: &[Total<Published>]| -> Vec<usize> {
            totals
                .iter()
                .filter(|t| t.key.first() == Some(&p.partner))
                .filter_map(|t| id(t.items))
                .collect()
        };
        cells.sum(
            total,
            ids_of(
                ids.exports
                    .iter()
                    .filter(|e| e.partner == p.partner)
                    .map(|e| e.items)
                    .collect(),
            ),
        );
        cells.sum(total, mine(&ids.by_partner_year));
        cells.sum(total, mine(&ids.by_partner_category));
        cells.sum(total, mine(&ids.by_partner_category_year));
        for (f, fid) in ids.findings.iter().zip(finding_ids) {
            if f.kind == Kind::OptOutNotHonoured
                && f.partner == p.partner
                && let Some(fid) = id(fid.count)
            {
                cells.relate(vec![fid], vec![total]);
            }
        }
    }
    // (partner, category, year) across exports, and its margins.
    for t in &ids.by_partner_category_year {
        let Some(cell) = id(t.items) else { continue };
        let key = (t.key[0].as_str(), t.key[1].as_str(), t.key[2].clone());
        cells.sum(cell, ids_of(by_cell.remove(&key).unwrap_or_default()));
    }
    for t in &ids.by_partner_year {
        let Some(cell) = id(t.items) else { continue };
        let parts = ids
            .by_partner_category_year
            .iter()
            .filter(|x| x.key[0] == t.key[0] && x.key[2] == t.key[1])
            .map(|x| x.items)
            .collect();
        cells.sum(cell, ids_of(parts));
    }
    for t in &ids.by_partner_category {
        let Some(cell) = id(t.items) else { continue };
        let parts = ids
            .by_partner_category_year
            .iter()
            .filter(|x| x.key[0] == t.key[0] && x.key[1] == t.key[1])
            .map(|x| x.items)
            .collect();
        cells.sum(cell, ids_of(parts));
    }
    for (totals, margin) in [
        (&ids.by_year, &ids.by_partner_year),
        (&ids.by_category, &ids.by_partner_category),
    ] {
        for t in totals {
            let Some(cell) = id(t.items) else { continue };
            let parts = margin
                .iter()
                .filter(|x| x.key[1] == t.key[0])
                .map(|x| x.items)
                .collect();
            cells.sum(cell, ids_of(parts));
        }
    }
    if let Some(total) = id(ids.total_items) {
        cells.sum(total, ids_of(ids.by_year.iter().map(|t| t.items).collect()));
        cells.sum(
            total,
            ids_of(ids.by_category.iter().map(|t| t.items).collect()),
        );
        cells.sum(
            total,
            ids_of(ids.partners.iter().map(|p| p.items).collect()),
        );
    }
    // Opt-outs: active(m) + withdrawn(m) = active(m−1) + opted_out(m); signals add up to opted_out.
    let mut previous: Option<usize> = None;
    for r in &ids.opt_outs_monthly {
        if let (Some(active), Some(opted)) = (id(r.active), id(r.opted_out)) {
            let mut plus = vec![active];
            plus.extend(id(r.withdrawn));
            let mut minus = vec![opted];
            minus.extend(previous);
            cells.relate(plus, minus);
            let signals: Vec<usize> = r.by_signal().into_iter().flatten().filter_map(id).collect();
            if !signals.is_empty() {
                cells.sum(opted, signals);
            }
        }
        previous = id(r.active);
    }
    // Deletion requests: each partner's items asked to be deleted, and the items of its overdue
    // requests, over its months.
    for (f, fid) in ids.findings.iter().zip(finding_ids) {
        if let Some(total) = id(fid.overdue_items) {
            let parts = ids
                .deletions
                .iter()
                .filter(|d| d.partner == f.partner)
                .map(|d| d.items_overdue)
                .collect();
            cells.sum(total, ids_of(parts));
        }
    }
    for t in &ids.deletion_items {
        if let Some(total) = id(t.items) {
            let parts = ids
                .deletions
                .iter()
                .filter(|d| d.partner == t.key[0])
                .map(|d| d.items)
                .collect();
            cells.sum(total, ids_of(parts));
        }
    }
}

/// Every count of `t` through `s`, in a fixed order.
fn map_counts(t: &Tables, by_table: &dyn Fn(&'static str, u64) -> Published) -> Tables<Published> {
    let s = |n: u64| by_table("", n);
    let m = |n: u64| by_table("opt-outs-monthly", n);
    let sc = |n: u64| by_table("opt-out-scopes", n);
    let pr = |n: u64| by_table("protections-monthly", n);
    let d = |n: u64| by_table("deletions", n);
    let known_zero = |requests: u64, n: u64| if requests == 0 { s(n) } else { d(n) };
    let totals = |v: &[Total], s: &dyn Fn(u64) -> Published| -> Vec<Total<Published>> {
        v.iter()
            .map(|t| Total {
                key: t.key.clone(),
                items: s(t.items),
            })
            .collect()
    };
    Tables {
        shared_items: t
            .shared_items
            .iter()
            .map(|r| SharedItemRow {
                partner: r.partner.clone(),
                export: r.export.clone(),
                category: r.category.clone(),
                year: r.year,
                items: s(r.items),
                private: s(r.private),
                deleted: s(r.deleted),
                suspended: s(r.suspended),
                explicit: s(r.explicit),
                minor: s(r.minor),
                opted_out: r.opted_out.map(s),
            })
            .collect(),
        exports: t
            .exports
            .iter()
            .map(|r| ExportRow {
                export: r.export.clone(),
                partner: r.partner.clone(),
                exported_at: r.exported_at.clone(),
                items: s(r.items),
                categories: r.categories,
                first_year: r.first_year,
                last_year: r.last_year,
                opt_outs_in_force: r.opt_outs_in_force.map(s),
            })
            .collect(),
        partners: t
            .partners
            .iter()
            .map(|r| PartnerRow {
                partner: r.partner.clone(),
                name: r.name.clone(),
                country: r.country.clone(),
                purposes: r.purposes.clone(),
                legal_basis: r.legal_basis.clone(),
                honours_opt_out: r.honours_opt_out.clone(),
                agreement_signed: r.agreement_signed.clone(),
                agreement_ends: r.agreement_ends.clone(),
                deletion_deadline_days: r.deletion_deadline_days,
                exports: r.exports,
                items: s(r.items),
                first_export: r.first_export.clone(),
                last_export: r.last_export.clone(),
                opt_outs_in_force: r.opt_outs_in_force.map(s),
                purposes_dpv: r.purposes_dpv.clone(),
                legal_basis_dpv: r.legal_basis_dpv.clone(),
                items_opted_out_now: r.items_opted_out_now.map(s),
            })
            .collect(),
        opt_outs_monthly: t
            .opt_outs_monthly
            .iter()
            .map(|r| {
                OptOutMonthRow::new(
                    r.month.clone(),
                    m(r.opted_out),
                    m(r.withdrawn),
                    m(r.active),
                    r.accounts.map(m),
                )
                .with_signals(r.by_signal().map(|n| n.map(m)))
            })
            .collect(),
        opt_outs_source: t.opt_outs_source,
        scopes: t
            .scopes
            .iter()
            .map(|r| ScopeRow {
                scope: r.scope.clone(),
                partner: r.partner.clone(),
                active: sc(r.active),
            })
            .collect(),
        protections: t
            .protections
            .iter()
            .map(|r| ProtectionRow {
                month: r.month.clone(),
                setting: r.setting.clone(),
                accounts: pr(r.accounts),
            })
            .collect(),
        deletions: t
            .deletions
            .iter()
            .map(|r| DeletionRow {
                partner: r.partner.clone(),
                month: r.month.clone(),
                requests: r.requests,
                requests_acknowledged: r.requests_acknowledged,
                requests_completed: r.requests_completed,
                requests_completed_late: r.requests_completed_late,
                requests_open: r.requests_open,
                requests_overdue: r.requests_overdue,
                // Without requests of a status there are no items of it: readers know that 0
                // from the published request counts, so it is published as such, never banded.
                items: known_zero(r.requests, r.items),
                items_acknowledged: known_zero(r.requests_acknowledged, r.items_acknowledged),
                items_completed: known_zero(r.requests_completed, r.items_completed),
                items_overdue: known_zero(r.requests_overdue, r.items_overdue),
            })
            .collect(),
        // Findings keep their raw counts here; `findings::publish` suppresses them with this
        // module's `suppress` when they are written.
        findings: t.findings.clone(),
        by_partner_year: totals(&t.by_partner_year, &s),
        by_partner_category: totals(&t.by_partner_category, &s),
        by_partner_category_year: totals(&t.by_partner_category_year, &s),
        by_year: totals(&t.by_year, &s),
        by_category: totals(&t.by_category, &s),
        total_items: s(t.total_items),
        deletion_items: totals(&t.deletion_items, &d),
    }
}

#[cfg(test)]
mod tests {
    use super::suppress;

    #[test]
    fn suppresses_counts_below_min_count() {
        let cases = [
            (0, 10, Some(0)),
            (1, 10, None),
            (9, 10, None),
            (10, 10, Some(10)),
            (3, 1, Some(3)),
        ];
        for (n, min, want) in cases {
            assert_eq!(suppress(n, min), want, "n={n} min={min}");
        }
    }
}
