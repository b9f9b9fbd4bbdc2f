//! The aggregate tables: one row type per published table, generic over how a count is held
//! (`u64` as aggregated, the publish stage's `Count` once decided).

use serde::Serialize;

use super::deletions::{DeletionExportRow, DeletionRow};
use super::findings::Finding;

/// A count as the tables hold it: `u64` as aggregated, the publish stage's `Count` once decided.
pub(crate) trait CountKind {
    /// A count the inputs may not give (a flag a manifest does not declare): `Option<u64>` as
    /// aggregated; once published, a `Count` that says it is not declared.
    type Maybe: std::fmt::Debug + Copy + PartialEq + Eq + Serialize;
}

impl CountKind for u64 {
    type Maybe = Option<u64>;
}

/// One row of `data/shared-items.csv` (SPEC column order). `C` is `u64` before publication and
/// `Count` after; the flags and `opted_out` are `None` where a manifest's declared counts do not
/// give them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct SharedItemRow<C: CountKind = u64> {
    pub(crate) partner: String,
    pub(crate) export: String,
    pub(crate) category: String,
    pub(crate) year: i32,
    pub(crate) items: C,
    pub(crate) private: C::Maybe,
    pub(crate) deleted: C::Maybe,
    pub(crate) suspended: C::Maybe,
    pub(crate) explicit: C::Maybe,
    pub(crate) minor: C::Maybe,
    pub(crate) opted_out: C::Maybe,
    /// The columns above that the manifest does not declare, `;`-separated (filled in by the
    /// publish stage).
    pub(crate) not_declared: String,
}

impl<C: CountKind> SharedItemRow<C> {
    /// The flag columns and `opted_out`, named, in column order.
    pub(crate) fn flag_columns(&self) -> [(&'static str, C::Maybe); 6] {
        [
            ("private", self.private),
            ("deleted", self.deleted),
            ("suspended", self.suspended),
            ("explicit", self.explicit),
            ("minor", self.minor),
            ("opted_out", self.opted_out),
        ]
    }
}

/// One row of `data/exports.csv` (SPEC column order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ExportRow<C = u64> {
    pub(crate) export: String,
    pub(crate) partner: String,
    pub(crate) exported_at: String,
    pub(crate) items: C,
    pub(crate) categories: u64,
    pub(crate) first_year: Option<i32>,
    pub(crate) last_year: Option<i32>,
    /// Owners opted out for the partner at `exported_at` (empty without a ledger).
    pub(crate) opt_outs_in_force: Option<C>,
    /// Distinct owners with items in the batch (empty without an item listing).
    pub(crate) owners: Option<C>,
    /// Of them, owners opted out for the partner at `exported_at` (empty without an item listing
    /// or a ledger).
    pub(crate) owners_opted_out: Option<C>,
}

/// One row of `data/partners.csv`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PartnerRow<C = u64> {
    pub(crate) partner: String,
    pub(crate) name: String,
    pub(crate) country: Option<String>,
    pub(crate) purposes: String,
    pub(crate) legal_basis: String,
    pub(crate) honours_opt_out: String,
    pub(crate) agreement_signed: String,
    pub(crate) agreement_ends: Option<String>,
    pub(crate) deletion_deadline_days: Option<u32>,
    pub(crate) exports: u64,
    pub(crate) items: C,
    pub(crate) first_export: Option<String>,
    pub(crate) last_export: Option<String>,
    /// Owners opted out for this partner at the end of the report's date (empty without a ledger).
    pub(crate) opt_outs_in_force: Option<C>,
    /// Items it received (in item listings) whose owner is opted out for it at the end of the
    /// report's date: what the opt-outs ask it to delete (empty without a ledger).
    pub(crate) items_opted_out_now: Option<C>,
    /// `purposes` as W3C DPV IRIs, `;`-separated (purposes without a DPV term are left out).
    pub(crate) purposes_dpv: String,
    /// `legal_basis` as a W3C DPV IRI; empty when unknown.
    pub(crate) legal_basis_dpv: Option<String>,
    /// Deletion requests the platform sent it.
    pub(crate) deletion_requests: u64,
    /// Items those requests asked it to delete.
    pub(crate) deletion_items: C,
    /// Distinct owners with items in any batch it received (empty unless every batch has an
    /// item listing).
    pub(crate) owners: Option<C>,
    /// Of them, owners opted out for it when a batch with their items was exported (empty
    /// without a ledger, or as `owners`).
    pub(crate) owners_opted_out: Option<C>,
}

/// One row of `data/opt-outs-monthly.csv`: the SPEC's columns, then new opt-outs per signal
/// (empty when the source gives no breakdown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct OptOutMonthRow<C = u64> {
    pub(crate) month: String,
    pub(crate) opted_out: C,
    pub(crate) withdrawn: C,
    pub(crate) active: C,
    pub(crate) accounts: Option<C>,
    pub(crate) opted_out_account_setting: Option<C>,
    pub(crate) opted_out_support_request: Option<C>,
    pub(crate) opted_out_robots_txt: Option<C>,
    pub(crate) opted_out_tdmrep: Option<C>,
    pub(crate) opted_out_gpc: Option<C>,
    pub(crate) opted_out_other: Option<C>,
    /// The months the row covers: 1, or its quarter's months when they are published as one
    /// row (`privacy.quarters`); `month` is then the first of them.
    pub(crate) months: u64,
}

impl<C: Copy> OptOutMonthRow<C> {
    /// A row without a breakdown by signal.
    pub(crate) fn new(
        month: String,
        opted_out: C,
        withdrawn: C,
        active: C,
        accounts: Option<C>,
    ) -> Self {
        OptOutMonthRow {
            month,
            opted_out,
            withdrawn,
            active,
            accounts,
            opted_out_account_setting: None,
            opted_out_support_request: None,
            opted_out_robots_txt: None,
            opted_out_tdmrep: None,
            opted_out_gpc: None,
            opted_out_other: None,
            months: 1,
        }
    }

    /// The row as covering `months` months.
    pub(crate) fn covering(mut self, months: u64) -> Self {
        self.months = months;
        self
    }

    /// New opt-outs per signal, in the order of [`crate::model::SIGNALS`].
    pub(crate) fn by_signal(&self) -> [Option<C>; 6] {
        [
            self.opted_out_account_setting,
            self.opted_out_support_request,
            self.opted_out_robots_txt,
            self.opted_out_tdmrep,
            self.opted_out_gpc,
            self.opted_out_other,
        ]
    }

    /// Sets the per-signal counts from an array in the order of [`crate::model::SIGNALS`].
    pub(crate) fn with_signals(mut self, s: [Option<C>; 6]) -> Self {
        [
            self.opted_out_account_setting,
            self.opted_out_support_request,
            self.opted_out_robots_txt,
            self.opted_out_tdmrep,
            self.opted_out_gpc,
            self.opted_out_other,
        ] = s;
        self
    }
}

/// One row of `data/opt-out-scopes.csv`: owners with an active opt-out of a scope at the end of
/// the report's date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ScopeRow<C = u64> {
    /// `all-third-parties`, `ai-training` or `partner`.
    pub(crate) scope: String,
    /// The partner id when `scope` is `partner`.
    pub(crate) partner: String,
    pub(crate) active: C,
}

/// One row of `data/protections-monthly.csv`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ProtectionRow<C = u64> {
    pub(crate) month: String,
    pub(crate) setting: String,
    pub(crate) accounts: C,
}

/// Where `opt-outs-monthly` comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum OptOutSource {
    /// No opt-out data.
    #[default]
    None,
    /// `monthly.csv` only.
    Monthly,
    /// The ledger only.
    Ledger,
    /// The ledger, checked against `monthly.csv` (whose `accounts` column is kept).
    Both,
}

/// Item totals over a grouping, for charts and summaries: the key values and the item count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Total<C = u64> {
    pub(crate) key: Vec<String>,
    pub(crate) items: C,
}

/// Every aggregate the site publishes, before publication decides each count.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tables<C: CountKind = u64> {
    pub(crate) shared_items: Vec<SharedItemRow<C>>,
    pub(crate) exports: Vec<ExportRow<C>>,
    pub(crate) partners: Vec<PartnerRow<C>>,
    pub(crate) opt_outs_monthly: Vec<OptOutMonthRow<C>>,
    /// Where the monthly opt-out table comes from.
    pub(crate) opt_outs_source: OptOutSource,
    /// `opt-out-scopes`: active opt-outs per scope at the report's date (empty without a ledger).
    pub(crate) scopes: Vec<ScopeRow<C>>,
    /// `protections-monthly`.
    pub(crate) protections: Vec<ProtectionRow<C>>,
    /// `deletions`: one row per (partner, month sent).
    pub(crate) deletions: Vec<DeletionRow<C>>,
    /// `deletions-by-export`: one row per (partner, export named, reason given).
    pub(crate) deletions_by_export: Vec<DeletionExportRow<C>>,
    /// Every finding, sorted as the SPEC says (raw; published by [`findings::publish`]).
    pub(crate) findings: Vec<Finding>,
    /// Items by (partner, year).
    pub(crate) by_partner_year: Vec<Total<C>>,
    /// Items by (partner, category).
    pub(crate) by_partner_category: Vec<Total<C>>,
    /// Items by (partner, category, year), across exports.
    pub(crate) by_partner_category_year: Vec<Total<C>>,
    /// Items by year.
    pub(crate) by_year: Vec<Total<C>>,
    /// Items by category.
    pub(crate) by_category: Vec<Total<C>>,
    /// All items.
    pub(crate) total_items: C,
}
