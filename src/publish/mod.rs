//! Publish stage: raw [`Tables`] → [`Publication`]. Here, and only here, privacy is decided:
//! every count becomes a [`Count`] that says how it was decided — exact, a band, hidden (small,
//! or hidden so that a small one cannot be worked out) or not declared by the inputs — and the
//! render stage only presents what it is given.
//!
//! A count `0 < n < min_count` is hidden (primary suppression), and so is every further count
//! that would let a hidden one be worked out from the published numbers (secondary suppression,
//! see [`protect`]); every way the published numbers relate is listed in [`relations`].

pub(crate) mod protect;
mod relations;

use std::cell::{Cell, RefCell};

use serde::Serialize;

use self::protect::{Cells, Protection};
use crate::aggregate::deletions::{DeletionExportRow, DeletionRow};
use crate::aggregate::findings::{Detail, Finding, Kind};
use crate::aggregate::{
    ExportRow, OptOutMonthRow, PartnerRow, ProtectionRow, ScopeRow, SharedItemRow, Tables, Total,
};
use crate::model::{Bands, DeletionReason, Report};

/// Why a count is hidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Hidden {
    /// A count from 1 to `min_count − 1`.
    Primary,
    /// A count of any size hidden so that a primary one cannot be worked out.
    Secondary,
}

/// A published count, and how it was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Count {
    /// Published exactly.
    Exact(u64),
    /// Published as the band `first..=last` that holds it.
    Band(u64, u64),
    /// Not published, and why. Downloads do not say why: telling primary from secondary would
    /// tell which hidden counts are large.
    Hidden(Hidden),
    /// The inputs do not give it (a column a manifest's declared counts leave out).
    NotDeclared,
}

/// A published count in plain words for messages on stderr: `613`, `10–19`, `hidden`, `not
/// declared` (every hidden count alike, as in the downloads). Never the exact value of a count that is not published exactly.
pub(crate) fn plain(n: Count) -> String {
    match n {
        Count::Exact(n) => n.to_string(),
        Count::Band(lo, hi) => format!("{lo}–{hi}"),
        Count::Hidden(_) => "hidden".to_owned(),
        Count::NotDeclared => "not declared".to_owned(),
    }
}

impl Count {
    /// The exact value, when it is published exactly.
    pub(crate) fn exact(self) -> Option<u64> {
        match self {
            Count::Exact(n) => Some(n),
            _ => None,
        }
    }

    /// Whether the count is hidden by suppression.
    pub(crate) fn is_hidden(self) -> bool {
        matches!(self, Count::Hidden(_))
    }
}

/// Downloads: an exact count is a number, a band its label `first-last`, anything else `null`
/// (an empty CSV cell; which kind of empty is said by the table's `not_declared` column).
impl Serialize for Count {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match *self {
            Count::Exact(n) => s.serialize_u64(n),
            Count::Band(lo, hi) => s.serialize_str(&format!("{lo}-{hi}")),
            Count::Hidden(_) | Count::NotDeclared => s.serialize_none(),
        }
    }
}

impl crate::aggregate::CountKind for Count {
    type Maybe = Count;
}

/// The rules a publication was made by, for the labels that describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rules {
    /// An auditor's build: every count exact, nothing hidden, nothing banded.
    Auditor,
    /// The normal build.
    Public {
        /// Counts from 1 to `min_count − 1` are hidden; with 1, none is.
        min_count: u64,
        /// Tables published in bands.
        bands: Option<Bands>,
    },
}

impl Rules {
    /// The largest count that is hidden for being small, if any is (`None` in an auditor's
    /// build and with `min_count: 1`).
    pub(crate) fn hides_up_to(&self) -> Option<u64> {
        match self {
            Rules::Public { min_count, .. } if *min_count > 1 => Some(min_count - 1),
            _ => None,
        }
    }

    /// The bands `table` is published in, if any.
    pub(crate) fn bands_for(&self, table: &str) -> Option<&Bands> {
        match self {
            Rules::Public { bands, .. } => bands.as_ref().filter(|b| b.covers(table)),
            Rules::Auditor => None,
        }
    }

    /// Whether this is an auditor's build.
    pub(crate) fn is_auditor(&self) -> bool {
        *self == Rules::Auditor
    }
}

/// The published numbers a finding's row and sentence may show.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shown {
    /// The finding's count (counts of files, cells, requests and months are always exact).
    pub(crate) count: Count,
    /// For declared-count-mismatch: the export's total.
    pub(crate) listed_total: Count,
    /// For declared-count-mismatch: the items the manifest declares.
    pub(crate) declared_total: Count,
    /// For deletion-overdue: the items in the overdue requests.
    pub(crate) overdue_items: Count,
    /// For opted-out and sensitive content shared in a batch, when the report's deletion
    /// requests name batches: the requests that name this batch with the matching reason
    /// (`opt-out`, `sensitive-content`), their items, and how many of them are completed, as
    /// published in `deletions-by-export` (no request: 0, an exact 0 and 0).
    pub(crate) requested: Option<(u64, Count, u64)>,
}

/// Everything the site publishes, every count decided.
#[derive(Debug, Clone)]
pub(crate) struct Publication {
    /// The tables, with every count a [`Count`].
    pub(crate) tables: Tables<Count>,
    /// Per finding, in the findings' order: the numbers its row and sentence may show.
    pub(crate) findings: Vec<Shown>,
    /// What suppression did.
    pub(crate) protection: Protection,
    /// The rules it was made by.
    pub(crate) rules: Rules,
    /// Whether any count may be hidden: small counts are (`min_count` above 1), or some count
    /// was hidden so that a banded one cannot be worked out. Labels that speak of suppression
    /// depend on it.
    pub(crate) hides_any: bool,
    /// Per table, how many of its counts are hidden.
    pub(crate) hidden: Vec<HiddenShare>,
    /// The receipts' commitments (`build --receipt-key`), published as `data/commitments.json`
    /// with the `verify/` page.
    pub(crate) commitments: Option<crate::receipts::Commitments>,
}

/// `privacy.quarters`: the tables with every calendar quarter of `opt-outs-monthly` that has a
/// month whose new opt-outs, withdrawals or new opt-outs by a signal are from 1 to
/// `min_count − 1`, while the quarter's sum of that flow is not, published as one row (whole
/// quarters only, all three months in the series): its flows summed, its `active` and `accounts` those
/// at its last month's end. Rows still add up (`active` = the previous row's + opted out −
/// withdrawn), so suppression treats a quarter like a month, and where three small months make
/// a quarter that is not small, the quarter is shown instead of hiding them and a neighbour.
fn by_quarter(t: &Tables, min_count: u64) -> Tables {
    let small = |n: u64| n > 0 && n < min_count;
    let quarter = |month: &str| -> String {
        let number = crate::time::month_number(month).unwrap_or(0);
        let (year, m) = (number.div_euclid(12), number.rem_euclid(12));
        format!("{year}-Q{}", m / 3 + 1)
    };
    // Per quarter and flow (opted_out, withdrawn, each signal): whether a month is small, and
    // the quarter's sum. A quarter is rolled up where that shows a flow a month would hide.
    let flows = |r: &OptOutMonthRow| -> [Option<u64>; 8] {
        let s = r.by_signal();
        [
            Some(r.opted_out),
            Some(r.withdrawn),
            s[0],
            s[1],
            s[2],
            s[3],
            s[4],
            s[5],
        ]
    };
    let mut per_quarter: std::collections::BTreeMap<String, (usize, [(bool, u64); 8])> =
        Default::default();
    for r in &t.opt_outs_monthly {
        let (months, entry) = per_quarter.entry(quarter(&r.month)).or_default();
        *months += 1;
        for (slot, n) in entry.iter_mut().zip(flows(r)) {
            let n = n.unwrap_or(0);
            slot.0 |= small(n);
            slot.1 += n;
        }
    }
    // Only whole quarters: a quarter the series has only part of (at its start or end) would
    // be published as another sum in the edition that has all of it, and the difference would
    // give the missing months away.
    let rolled: std::collections::BTreeSet<String> = per_quarter
        .into_iter()
        .filter(|(_, (months, f))| {
            *months == 3
                && f.iter()
                    .any(|(has_small, sum)| *has_small && *sum >= min_count)
        })
        .map(|(q, _)| q)
        .collect();
    let mut out: Vec<OptOutMonthRow> = Vec::new();
    let mut last_quarter: Option<String> = None;
    for r in &t.opt_outs_monthly {
        let q = quarter(&r.month);
        let merge = rolled.contains(&q) && last_quarter.as_deref() == Some(q.as_str());
        last_quarter = Some(q);
        match out.last_mut() {
            Some(row) if merge => {
                let add = |a: Option<u64>, b: Option<u64>| match (a, b) {
                    (None, None) => None,
                    (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
                };
                let signals = row.by_signal();
                *row = OptOutMonthRow::new(
                    row.month.clone(),
                    row.opted_out + r.opted_out,
                    row.withdrawn + r.withdrawn,
                    r.active,
                    r.accounts,
                )
                .with_signals(std::array::from_fn(|i| add(signals[i], r.by_signal()[i])))
                .covering(row.months + 1);
            }
            _ => out.push(r.clone()),
        }
    }
    Tables {
        opt_outs_monthly: out,
        ..t.clone()
    }
}

/// How many of a table's counts are hidden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiddenShare {
    /// The table's name under `data/`.
    pub table: &'static str,
    /// Its counts that exist (not those the inputs do not give), exact, banded or hidden.
    pub counts: usize,
    /// Of them, hidden (small, or to protect a small or banded one).
    pub hidden: usize,
}

impl HiddenShare {
    /// The hidden share in whole percent, rounded up (so that any hidden count shows as at
    /// least 1%).
    pub fn percent(&self) -> usize {
        (self.hidden * 100).div_ceil(self.counts.max(1))
    }
}

/// Per published table (in the data page's order), how many of its counts are hidden; the
/// counts of the platform's own records (requests, files, months) are never hidden and not
/// counted.
fn hidden_shares(t: &Tables<Count>, findings: &[Shown]) -> Vec<HiddenShare> {
    let totals =
        |v: &[crate::aggregate::Total<Count>]| v.iter().map(|x| x.items).collect::<Vec<_>>();
    let mut item_totals = totals(&t.by_partner_category_year);
    item_totals.extend(totals(&t.by_partner_year));
    item_totals.extend(totals(&t.by_partner_category));
    item_totals.extend(totals(&t.by_year));
    item_totals.extend(totals(&t.by_category));
    item_totals.push(t.total_items);
    let tables: Vec<(&'static str, Vec<Count>)> = vec![
        (
            "shared-items",
            t.shared_items
                .iter()
                .flat_map(|r| {
                    std::iter::once(r.items).chain(r.flag_columns().into_iter().map(|(_, n)| n))
                })
                .collect(),
        ),
        ("item-totals", item_totals),
        (
            "exports",
            t.exports
                .iter()
                .flat_map(|r| {
                    [
                        Some(r.items),
                        r.opt_outs_in_force,
                        r.owners,
                        r.owners_opted_out,
                    ]
                    .into_iter()
                    .flatten()
                })
                .collect(),
        ),
        (
            "partners",
            t.partners
                .iter()
                .flat_map(|r| {
                    [
                        Some(r.items),
                        r.opt_outs_in_force,
                        r.items_opted_out_now,
                        Some(r.deletion_items),
                        r.owners,
                        r.owners_opted_out,
                    ]
                    .into_iter()
                    .flatten()
                })
                .collect(),
        ),
        (
            "opt-outs-monthly",
            t.opt_outs_monthly
                .iter()
                .flat_map(|r| {
                    [
                        Some(r.opted_out),
                        Some(r.withdrawn),
                        Some(r.active),
                        r.accounts,
                    ]
                    .into_iter()
                    .chain(r.by_signal())
                    .flatten()
                })
                .collect(),
        ),
        (
            "opt-out-scopes",
            t.scopes.iter().map(|r| r.active).collect(),
        ),
        (
            "protections-monthly",
            t.protections.iter().map(|r| r.accounts).collect(),
        ),
        (
            "deletions",
            t.deletions
                .iter()
                .flat_map(|r| {
                    [
                        r.items,
                        r.items_acknowledged,
                        r.items_completed,
                        r.items_overdue,
                    ]
                })
                .collect(),
        ),
        (
            "deletions-by-export",
            t.deletions_by_export.iter().map(|r| r.items).collect(),
        ),
        (
            "findings",
            t.findings
                .iter()
                .zip(findings)
                .filter(|(f, _)| f.kind.counts_items())
                .map(|(_, shown)| shown.count)
                .collect(),
        ),
    ];
    tables
        .into_iter()
        .map(|(table, counts)| {
            let counts: Vec<Count> = counts
                .into_iter()
                .filter(|c| *c != Count::NotDeclared)
                .collect();
            HiddenShare {
                table,
                counts: counts.len(),
                hidden: counts.iter().filter(|c| c.is_hidden()).count(),
            }
        })
        .collect()
}

/// Publishes every table: the only way from raw to published numbers. With `exact`, nothing is
/// hidden or banded (the auditor's build).
pub(crate) fn publish(report: &Report, t: &Tables, exact: bool) -> Publication {
    let quarters;
    let banded = report
        .meta
        .bands
        .as_ref()
        .is_some_and(|b| b.covers("opt-outs-monthly"));
    let t = if report.meta.quarters && !exact && report.meta.min_count > 1 && !banded {
        quarters = by_quarter(t, report.meta.min_count);
        &quarters
    } else {
        t
    };
    let rules = if exact {
        Rules::Auditor
    } else {
        Rules::Public {
            min_count: report.meta.min_count,
            bands: report.meta.bands.clone(),
        }
    };
    let min = if exact { 1 } else { report.meta.min_count };
    let band_of = |table: &str, n: u64| rules.bands_for(table).map(|b| b.of(n));
    // Pass 1 gives every count a cell id, in the order `map_counts` visits them, and notes the
    // band of each banded count.
    let cells = RefCell::new(Cells::default());
    let banded = RefCell::new(Vec::new());
    let register = |table: &'static str, n: u64| {
        banded.borrow_mut().push(band_of(table, n));
        Count::Exact(cells.borrow_mut().add(n) as u64)
    };
    let ids = map_counts(t, &register);
    let finding_ids = finding_numbers(t, &|n| register("", n));
    let mut cells = cells.into_inner();
    let banded = banded.into_inner();
    relations::relate(report, &ids, &finding_ids, &mut cells);
    let protection = cells.protect(min, &banded);
    // Pass 2 visits the counts in the same order and decides each.
    let next = Cell::new(0usize);
    let decide = |n: u64| {
        let id = next.get();
        next.set(id + 1);
        protection.decide(id, n, banded.get(id).copied().flatten())
    };
    let tables = whole_groups(map_counts(t, &|_, n| decide(n)));
    let findings: Vec<Shown> = finding_numbers(t, &decide)
        .into_iter()
        .zip(&tables.findings)
        .map(|(mut shown, f)| {
            shown.listed_total = tables
                .exports
                .iter()
                .find(|e| Some(e.export.as_str()) == f.export.as_deref())
                .map_or(Count::NotDeclared, |e| e.items);
            shown.requested = requested(report, &tables, f);
            shown
        })
        .collect();
    Publication {
        hides_any: rules.hides_up_to().is_some() || protection.secondary > 0,
        hidden: hidden_shares(&tables, &findings),
        tables,
        findings,
        protection,
        rules,
        commitments: None,
    }
}

/// `deletions-by-export` groups the same requests as `deletions`, and both publish how many
/// requests are in each state: a reader can match a group's requests with months' and read a
/// hidden month from a group's items (or the reverse), which no sum shows. So where any item
/// count of a partner's deletion rows or groups is hidden, every one of its groups' items is
/// (unless it has one group only, which is its published total): hiding more than protection
/// asked for never gives anything away.
fn whole_groups(mut tables: Tables<Count>) -> Tables<Count> {
    let hidden: std::collections::BTreeSet<String> = tables
        .deletions
        .iter()
        .filter(|d| {
            [
                d.items,
                d.items_acknowledged,
                d.items_completed,
                d.items_overdue,
            ]
            .iter()
            .any(|c| c.is_hidden())
        })
        .map(|d| d.partner.clone())
        .chain(
            tables
                .deletions_by_export
                .iter()
                .filter(|g| g.items.is_hidden())
                .map(|g| g.partner.clone()),
        )
        .collect();
    // A partner's only group is its published total again: nothing to match, nothing to hide.
    let mut groups: std::collections::BTreeMap<String, usize> = Default::default();
    for g in &tables.deletions_by_export {
        *groups.entry(g.partner.clone()).or_default() += 1;
    }
    for g in &mut tables.deletions_by_export {
        if hidden.contains(&g.partner)
            && groups.get(&g.partner).is_some_and(|n| *n > 1)
            && !matches!(g.items, Count::Exact(0))
        {
            g.items = Count::Hidden(Hidden::Secondary);
        }
    }
    tables
}

/// The deletion requests that name a finding's batch with the reason that matches it, as
/// published (see [`Shown::requested`]).
fn requested(report: &Report, tables: &Tables<Count>, f: &Finding) -> Option<(u64, Count, u64)> {
    let reason = match f.kind {
        Kind::OptedOutContentShared => DeletionReason::OptOut,
        Kind::SensitiveContentShared => DeletionReason::SensitiveContent,
        _ => return None,
    };
    let export = f.export.as_deref()?;
    if !report.deletions.iter().any(|d| d.export.is_some()) {
        return None;
    }
    Some(
        tables
            .deletions_by_export
            .iter()
            .find(|d| d.partner == f.partner && d.export == export && d.reason == reason.slug())
            .map_or((0, Count::Exact(0), 0), |d| {
                (d.requests, d.items, d.requests_completed)
            }),
    )
}

/// The item numbers of the findings, through `s`: the count when it counts items (counts of
/// files, cells, requests and months are always exact), the declared items of a count mismatch
/// and the items of overdue deletion requests. `listed_total` is filled in from the published
/// exports.
fn finding_numbers(t: &Tables, s: &dyn Fn(u64) -> Count) -> Vec<Shown> {
    t.findings
        .iter()
        .map(|f: &Finding| Shown {
            count: if f.kind.counts_items() {
                s(f.count)
            } else {
                Count::Exact(f.count)
            },
            listed_total: Count::NotDeclared,
            declared_total: match &f.detail {
                Detail::Mismatch { declared, .. } => s(*declared),
                _ => Count::NotDeclared,
            },
            overdue_items: match &f.detail {
                Detail::Deletion { items, .. } => s(*items),
                _ => Count::NotDeclared,
            },
            requested: None,
        })
        .collect()
}

/// Every count of `t` through `by_table` (which is told the count's table, for bands), in a
/// fixed order.
fn map_counts(t: &Tables, by_table: &dyn Fn(&'static str, u64) -> Count) -> Tables<Count> {
    let s = |n: u64| by_table("", n);
    // A count a manifest may leave out: not declared, never zero.
    let declared = |n: Option<u64>| n.map_or(Count::NotDeclared, s);
    let m = |n: u64| by_table("opt-outs-monthly", n);
    let sc = |n: u64| by_table("opt-out-scopes", n);
    let pr = |n: u64| by_table("protections-monthly", n);
    let d = |n: u64| by_table("deletions", n);
    // Without requests of a status there are no items of it: readers know that 0 from the
    // published request counts, so it is published as such, never banded.
    let known_zero = |requests: u64, n: u64| if requests == 0 { s(n) } else { d(n) };
    let totals = |v: &[Total], s: &dyn Fn(u64) -> Count| -> Vec<Total<Count>> {
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
                private: declared(r.private),
                deleted: declared(r.deleted),
                suspended: declared(r.suspended),
                explicit: declared(r.explicit),
                minor: declared(r.minor),
                opted_out: declared(r.opted_out),
                not_declared: r
                    .flag_columns()
                    .iter()
                    .filter(|(_, n)| n.is_none())
                    .map(|(name, _)| *name)
                    .collect::<Vec<_>>()
                    .join(";"),
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
                owners: r.owners.map(s),
                owners_opted_out: r.owners_opted_out.map(s),
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
                deletion_requests: r.deletion_requests,
                deletion_items: known_zero(r.deletion_requests, r.deletion_items),
                owners: r.owners.map(s),
                owners_opted_out: r.owners_opted_out.map(s),
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
                .covering(r.months)
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
                items: known_zero(r.requests, r.items),
                items_acknowledged: known_zero(r.requests_acknowledged, r.items_acknowledged),
                items_completed: known_zero(r.requests_completed, r.items_completed),
                items_overdue: known_zero(r.requests_overdue, r.items_overdue),
                requests_completed_in_time: r.requests_completed_in_time,
                requests_open_overdue: r.requests_open_overdue,
                requests_open_in_time: r.requests_open_in_time,
            })
            .collect(),
        deletions_by_export: t
            .deletions_by_export
            .iter()
            .map(|r| DeletionExportRow {
                partner: r.partner.clone(),
                export: r.export.clone(),
                reason: r.reason.clone(),
                requests: r.requests,
                requests_completed: r.requests_completed,
                requests_overdue: r.requests_overdue,
                items: d(r.items),
            })
            .collect(),
        // Findings keep their raw counts; their published numbers are `Publication::findings`.
        findings: t.findings.clone(),
        by_partner_year: totals(&t.by_partner_year, &s),
        by_partner_category: totals(&t.by_partner_category, &s),
        by_partner_category_year: totals(&t.by_partner_category_year, &s),
        by_year: totals(&t.by_year, &s),
        by_category: totals(&t.by_category, &s),
        total_items: s(t.total_items),
    }
}

#[cfg(test)]
mod tests {
    use super::{Count, Hidden};

    #[test]
    fn downloads_write_exact_counts_bands_and_empty_cells() {
        let cases = [
            (Count::Exact(0), "0"),
            (Count::Exact(12), "12"),
            (Count::Band(250, 499), "\"250-499\""),
            (Count::Hidden(Hidden::Primary), "null"),
            (Count::Hidden(Hidden::Secondary), "null"),
            (Count::NotDeclared, "null"),
        ];
        for (count, want) in cases {
            assert_eq!(serde_json::to_string(&count).ok().as_deref(), Some(want));
        }
    }
}
