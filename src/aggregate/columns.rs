//! Column names of inputs and published tables, in one place.

pub(crate) const ITEM_ID: &str = "item_id";
pub(crate) const OWNER_ID: &str = "owner_id";
pub(crate) const CATEGORY: &str = "category";
pub(crate) const CREATED_AT: &str = "created_at";
pub(crate) const PARTNER: &str = "partner";
pub(crate) const EXPORT: &str = "export";
pub(crate) const EXPORTED_AT: &str = "exported_at";
pub(crate) const YEAR: &str = "year";
pub(crate) const ITEMS: &str = "items";
pub(crate) const PRIVATE: &str = "private";
pub(crate) const DELETED: &str = "deleted";
pub(crate) const SUSPENDED: &str = "suspended";
pub(crate) const EXPLICIT: &str = "explicit";
pub(crate) const MINOR: &str = "minor";
pub(crate) const OPTED_OUT: &str = "opted_out";
pub(crate) const CATEGORIES: &str = "categories";
pub(crate) const FIRST_YEAR: &str = "first_year";
pub(crate) const LAST_YEAR: &str = "last_year";
pub(crate) const MONTH: &str = "month";
pub(crate) const WITHDRAWN: &str = "withdrawn";
pub(crate) const ACTIVE: &str = "active";
pub(crate) const ACCOUNTS: &str = "accounts";
pub(crate) const OUTSIDE_WINDOW: &str = "outside_window";
pub(crate) const OPTED_OUT_AT: &str = "opted_out_at";
pub(crate) const WITHDRAWN_AT: &str = "withdrawn_at";

/// The item flags, in the order of the SPEC's `shared-items` columns.
pub(crate) const FLAGS: [&str; 5] = [PRIVATE, DELETED, SUSPENDED, EXPLICIT, MINOR];

/// Columns an item listing must have.
pub(crate) const LISTING_REQUIRED: [&str; 4] = [ITEM_ID, OWNER_ID, CATEGORY, CREATED_AT];
