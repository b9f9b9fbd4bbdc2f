//! Small-count suppression (SPEC "Suppression"), applied in one place after aggregation: a count
//! `0 < n < min_count` becomes `None`, which the outputs write as an empty CSV cell, JSON `null`
//! and `<min_count` in HTML.

use super::deletions::DeletionRow;
use super::{
    ExportRow, OptOutMonthRow, PartnerRow, ProtectionRow, ScopeRow, SharedItemRow, Tables, Total,
};

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

/// Every table with its counts suppressed. The only way from raw to published numbers.
pub(crate) fn publish(t: &Tables, min_count: u64) -> Tables<Published> {
    let s = |n: u64| suppress(n, min_count);
    let totals = |v: &[Total]| -> Vec<Total<Published>> {
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
                items_opted_out_now: r.items_opted_out_now.map(s),
            })
            .collect(),
        opt_outs_monthly: t
            .opt_outs_monthly
            .iter()
            .map(|r| {
                OptOutMonthRow::new(
                    r.month.clone(),
                    s(r.opted_out),
                    s(r.withdrawn),
                    s(r.active),
                    r.accounts.map(s),
                )
                .with_signals(r.by_signal().map(|n| n.map(s)))
            })
            .collect(),
        opt_outs_source: t.opt_outs_source,
        scopes: t
            .scopes
            .iter()
            .map(|r| ScopeRow {
                scope: r.scope.clone(),
                partner: r.partner.clone(),
                active: s(r.active),
            })
            .collect(),
        protections: t
            .protections
            .iter()
            .map(|r| ProtectionRow {
                month: r.month.clone(),
                setting: r.setting.clone(),
                accounts: s(r.accounts),
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
                items: s(r.items),
                items_acknowledged: s(r.items_acknowledged),
                items_completed: s(r.items_completed),
                items_overdue: s(r.items_overdue),
            })
            .collect(),
        // Findings keep their raw counts here; `findings::publish` suppresses them with this
        // module's `suppress` when they are written.
        findings: t.findings.clone(),
        by_partner_year: totals(&t.by_partner_year),
        by_partner_category: totals(&t.by_partner_category),
        by_partner_category_year: totals(&t.by_partner_category_year),
        by_year: totals(&t.by_year),
        by_category: totals(&t.by_category),
        total_items: s(t.total_items),
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
