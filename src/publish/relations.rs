//! Every way the published numbers relate, as relations between cells for [`super::protect`]:
//! whatever a reader can add up, subtract or compare in the downloads and on the pages is here,
//! so that no hidden count can be worked out from it.
//!
//! In pass 1 of [`super::publish`] every count is `Count::Exact(cell id)`. An inequality a
//! reader knows (a flag's count is at most its row's items) can pin a hidden count only where it
//! is tight, so each is recorded as an equality where it holds: [`Cells::relate`] keeps a
//! relation only when it holds for the actual values.

use std::collections::BTreeMap;

use super::protect::Cells;
use super::{Count, Shown};
use crate::aggregate::findings::Kind;
use crate::aggregate::{SharedItemRow, Tables, Total};
use crate::model::Report;

/// The cell id pass 1 gave a count (`None` for a count that is not a cell: not declared).
fn id(p: Count) -> Option<usize> {
    p.exact().and_then(|n| usize::try_from(n).ok())
}

/// How the published counts add up: every relation [`Cells::protect`] must respect.
pub(super) fn relate(
    report: &Report,
    ids: &Tables<Count>,
    finding_ids: &[Shown],
    cells: &mut Cells,
) {
    let ids_of = |v: Vec<Count>| -> Vec<usize> { v.into_iter().filter_map(id).collect() };
    // The rows of each export and of each (partner, category, year), gathered once.
    let mut by_export: BTreeMap<&str, Vec<&SharedItemRow<Count>>> = BTreeMap::new();
    let mut by_cell: BTreeMap<(&str, &str, String), Vec<Count>> = BTreeMap::new();
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
            // A count mismatch's sentence shows the declared total beside the export's: the same
            // number when they agree.
            if f.kind == Kind::DeclaredCountMismatch
                && f.export.as_deref() == Some(e.export.as_str())
            {
                tight(cells, fid.declared_total, e.items);
            }
            if !f.kind.counts_items() {
                continue;
            }
            let Some(fid) = id(fid.count) else { continue };
            if f.export.as_deref() != Some(e.export.as_str()) {
                continue;
            }
            let parts: Vec<Count> = match f.kind {
                Kind::OptedOutContentShared => rows.iter().map(|r| r.opted_out).collect(),
                Kind::SensitiveContentShared => rows
                    .iter()
                    .flat_map(|r| r.flag_columns())
                    .filter(|(name, _)| Some(*name) == f.flag.as_deref())
                    .map(|(_, n)| n)
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
        let mine = |totals: &[Total<Count>]| -> Vec<usize> {
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
    for p in &ids.partners {
        if let Some(total) = id(p.deletion_items) {
            let parts = ids
                .deletions
                .iter()
                .filter(|d| d.partner == p.partner)
                .map(|d| d.items)
                .collect();
            cells.sum(total, ids_of(parts));
        }
    }
    // Within a deletions row, a reader who knows how the request counts split can tie the item
    // columns together: each state's items are at most the row's items (equal when every request
    // is in that state), and when every open request is overdue and no completed one is late,
    // items = items_completed + items_overdue. Rather than enumerate which request counts allow
    // what, every equality between one column and one or two others is recorded where it holds.
    // `deletions-by-export` groups the same requests by batch and reason: per partner, its items
    // add up to the same total as `deletions`' months, the partner's deletion_items.
    for p in &ids.partners {
        let months: Vec<_> = ids
            .deletions
            .iter()
            .filter(|d| d.partner == p.partner)
            .collect();
        let groups: Vec<_> = ids
            .deletions_by_export
            .iter()
            .filter(|d| d.partner == p.partner)
            .collect();
        let by_group = ids_of(groups.iter().map(|d| d.items).collect());
        cells.relate(
            ids_of(months.iter().map(|d| d.items).collect()),
            by_group.clone(),
        );
        if let Some(total) = id(p.deletion_items) {
            cells.sum(total, by_group);
        }
    }
    for d in &ids.deletions {
        let columns = [
            d.items,
            d.items_acknowledged,
            d.items_completed,
            d.items_overdue,
        ];
        for i in 0..columns.len() {
            for j in i + 1..columns.len() {
                tight(cells, columns[i], columns[j]);
                for k in j + 1..columns.len() {
                    let (a, b, c) = (columns[i], columns[j], columns[k]);
                    // Each of the three as the sum of the other two.
                    for (total, x, y) in [(a, b, c), (b, a, c), (c, a, b)] {
                        tight_sum(cells, total, &[x, y]);
                    }
                }
            }
        }
    }
    in_force(report, ids, cells);
    owners(ids, cells);
    // Within a shared-items row: each flag, and the opted-out items, are at most its items.
    for r in &ids.shared_items {
        for (_, part) in r.flag_columns() {
            tight(cells, part, r.items);
        }
    }
}

/// `total = Σ parts`, recorded where it happens to hold (every part must be a cell).
fn tight_sum(cells: &mut Cells, total: Count, parts: &[Count]) {
    let ids: Vec<usize> = parts.iter().filter_map(|c| id(*c)).collect();
    if let (Some(t), true) = (id(total), ids.len() == parts.len()) {
        cells.relate_tight(vec![t], ids);
    }
}

/// `part ≤ whole`, a bound a reader knows: it can pin a hidden count only where it is tight, so
/// it is recorded as `part = whole` where that holds.
fn tight(cells: &mut Cells, part: Count, whole: Count) {
    if let (Some(part), Some(whole)) = (id(part), id(whole)) {
        cells.relate_tight(vec![part], vec![whole]);
    }
}

/// Opt-outs in force (per export at its instant, per partner and per scope at the report's date)
/// count the same owners as the monthly `active`: an export made at a month's end sees that
/// month's active owners, the report's date the last month's, and the owners of the scopes that
/// cover a partner make up its opt-outs in force. A reader can compare them, so every such
/// equality (each figure against each, and against sums of scopes) is recorded where it holds.
fn in_force(report: &Report, ids: &Tables<Count>, cells: &mut Cells) {
    let active: BTreeMap<&str, Count> = ids
        .opt_outs_monthly
        .iter()
        .map(|r| (r.month.as_str(), r.active))
        .collect();
    let last_active = ids.opt_outs_monthly.last().map(|r| r.active);
    let scope = |kind: &str, partner: &str| {
        ids.scopes
            .iter()
            .find(|s| s.scope == kind && s.partner == partner)
            .map(|s| s.active)
    };
    let all = scope("all-third-parties", "");
    let ai = scope("ai-training", "");
    let every_scope: Vec<Count> = ids.scopes.iter().map(|s| s.active).collect();
    // The last month's active owners are the owners with any opt-out in force now.
    if let Some(last) = last_active {
        tight_sum(cells, last, &every_scope);
        for s in &every_scope {
            tight(cells, *s, last);
        }
    }
    for p in &ids.partners {
        // The items the opt-outs ask a partner to delete are items it received.
        if let Some(now) = p.items_opted_out_now {
            tight(cells, now, p.items);
        }
        let Some(now) = p.opt_outs_in_force else {
            continue;
        };
        let trains_ai = report
            .partner(&p.partner)
            .is_some_and(|x| x.purposes.contains(&crate::model::Purpose::AiTraining));
        let own = scope("partner", &p.partner);
        let covering: Vec<Count> = [all, trains_ai.then_some(ai).flatten(), own]
            .into_iter()
            .flatten()
            .collect();
        tight_sum(cells, now, &covering);
        for c in &covering {
            tight(cells, *c, now);
        }
        if let Some(a) = last_active {
            tight(cells, now, a);
        }
        for e in ids.exports.iter().filter(|e| e.partner == p.partner) {
            let Some(at_export) = e.opt_outs_in_force else {
                continue;
            };
            tight(cells, at_export, now);
            // The month the export was made in, and the month before: an export at a month's
            // first instant sees the previous month's end.
            let month = e.exported_at.get(..7).unwrap_or_default();
            let before = crate::time::month_number(month).map(|m| crate::time::month_text(m - 1));
            for m in [Some(month.to_owned()), before].into_iter().flatten() {
                if let Some(a) = active.get(m.as_str()) {
                    tight(cells, at_export, *a);
                }
            }
        }
    }
}

/// `part ≤ Σ parts`, recorded as an equality where it holds (every part must be a cell).
fn tight_le_sum(cells: &mut Cells, part: Count, parts: &[Count]) {
    tight_sum(cells, part, parts);
}

/// Distinct owners: at most the items they own; those opted out at an export at most the
/// owners, the owners opted out then (`opt_outs_in_force`) and the export's opted-out items. A
/// partner's owners are the union of its exports' owners: at least each export's, at most their
/// sum. Every bound is recorded where it is tight.
fn owners(ids: &Tables<Count>, cells: &mut Cells) {
    let mut opted_items: BTreeMap<&str, Vec<Count>> = BTreeMap::new();
    for r in &ids.shared_items {
        opted_items
            .entry(r.export.as_str())
            .or_default()
            .push(r.opted_out);
    }
    let per = |owners: Option<Count>, opted: Option<Count>, items: Count, cells: &mut Cells| {
        let Some(owners) = owners else { return };
        tight(cells, owners, items);
        if let Some(opted) = opted {
            tight(cells, opted, owners);
        }
    };
    for e in &ids.exports {
        per(e.owners, e.owners_opted_out, e.items, cells);
        let Some(opted) = e.owners_opted_out else {
            continue;
        };
        if let Some(force) = e.opt_outs_in_force {
            tight(cells, opted, force);
        }
        if let Some(rows) = opted_items.get(e.export.as_str()) {
            tight_le_sum(cells, opted, rows);
        }
    }
    for p in &ids.partners {
        per(p.owners, p.owners_opted_out, p.items, cells);
        let mine: Vec<_> = ids
            .exports
            .iter()
            .filter(|e| e.partner == p.partner)
            .collect();
        for (whole, of) in [
            (p.owners, mine.iter().map(|e| e.owners).collect::<Vec<_>>()),
            (
                p.owners_opted_out,
                mine.iter().map(|e| e.owners_opted_out).collect(),
            ),
        ] {
            let (Some(whole), Some(of)) = (whole, of.into_iter().collect::<Option<Vec<_>>>())
            else {
                continue;
            };
            tight_le_sum(cells, whole, &of);
            for e in &of {
                tight(cells, *e, whole);
            }
        }
    }
}
