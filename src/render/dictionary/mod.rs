//! The data dictionary: every published table, its columns, types, units and keys, in output
//! order. It is the one schema definition behind the CSV headers, the Parquet column types, the
//! Data Package (`data/datapackage.json`), the Croissant record sets and the data page.

mod tables;

use serde::Serialize;

pub(crate) use self::tables::*;

/// A column's type, named as in Frictionless Table Schema v2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Type {
    String,
    Integer,
    /// `YYYY-MM-DD`.
    Date,
    /// RFC 3339 in UTC, e.g. `2024-02-12T09:15:00Z`.
    Datetime,
    /// `YYYY-MM`.
    Yearmonth,
    /// Strings joined by `;`.
    List,
}

impl Type {
    /// The type's name in Table Schema (and the catalogue's `type.<slug>` key).
    pub(crate) fn slug(self) -> &'static str {
        match self {
            Type::String => "string",
            Type::Integer => "integer",
            Type::Date => "date",
            Type::Datetime => "datetime",
            Type::Yearmonth => "yearmonth",
            Type::List => "list",
        }
    }
}

/// A published table.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TableDoc {
    /// File stem under `data/`.
    pub(crate) name: &'static str,
    /// A human title.
    pub(crate) title: &'static str,
    /// What one row is.
    pub(crate) row: &'static str,
    /// Columns in output order.
    pub(crate) columns: Vec<ColumnDoc>,
    /// The columns that identify a row (empty when no set of columns does).
    pub(crate) primary_key: Vec<&'static str>,
    /// `(column, table, column there)`: references to other tables.
    pub(crate) foreign_keys: Vec<(&'static str, &'static str, &'static str)>,
}

/// A column of a published table.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ColumnDoc {
    pub(crate) name: &'static str,
    #[serde(rename = "type")]
    pub(crate) kind: Type,
    pub(crate) description: &'static str,
    /// What is counted, for counts.
    pub(crate) unit: Option<&'static str>,
    /// Whether small values are suppressed (empty cell, JSON null).
    pub(crate) suppressed: bool,
    /// What an empty cell means other than suppression; `None` when a value is always present.
    pub(crate) empty: Option<&'static str>,
    /// The band width when the count is published as a band (`privacy.bands`).
    pub(crate) band: Option<u64>,
}

impl TableDoc {
    /// The CSV header.
    pub(crate) fn header(&self) -> Vec<&'static str> {
        self.columns.iter().map(|c| c.name).collect()
    }
}

impl ColumnDoc {
    /// Small values are suppressed.
    fn suppressed(mut self) -> Self {
        self.suppressed = true;
        self
    }

    /// The cell may be empty, meaning `what`.
    fn or_empty(mut self, what: &'static str) -> Self {
        self.empty = Some(what);
        self
    }

    /// Whether the cell can be empty at all.
    pub(crate) fn may_be_empty(&self) -> bool {
        self.suppressed || self.empty.is_some()
    }
}

pub(crate) fn col(name: &'static str, kind: Type, description: &'static str) -> ColumnDoc {
    ColumnDoc {
        name,
        kind,
        description,
        unit: None,
        suppressed: false,
        empty: None,
        band: None,
    }
}

/// A count of `unit`; small values are suppressed.
pub(crate) fn count(
    name: &'static str,
    unit: &'static str,
    description: &'static str,
) -> ColumnDoc {
    ColumnDoc {
        unit: Some(unit),
        ..col(name, Type::Integer, description)
    }
    .suppressed()
}

/// A count of the platform's own records (requests, files, exports), never suppressed.
pub(crate) fn tally(
    name: &'static str,
    unit: &'static str,
    description: &'static str,
) -> ColumnDoc {
    ColumnDoc {
        unit: Some(unit),
        ..col(name, Type::Integer, description)
    }
}

/// A table whose counts are published as bands of `width` (`privacy.bands`): each count column
/// becomes text such as `250-499`. Bands are never suppressed: the width is at least min_count.
pub(crate) fn banded(mut doc: TableDoc, width: u64) -> TableDoc {
    for c in doc.columns.iter_mut().filter(|c| c.suppressed) {
        c.kind = Type::String;
        c.suppressed = false;
        c.band = Some(width);
    }
    doc
}

/// A table as a build that suppresses nothing writes it (an auditor's build, `min_count: 1`):
/// no count column is marked suppressed.
pub(crate) fn exact(mut doc: TableDoc) -> TableDoc {
    for c in &mut doc.columns {
        c.suppressed = false;
    }
    doc
}

/// The column every table of an auditor's build ends with.
pub(crate) const NOT_FOR_PUBLICATION: &str = "not_for_publication";

/// The value of that column.
pub(crate) const NOT_FOR_PUBLICATION_TEXT: &str =
    "NOT FOR PUBLICATION: auditor's build with exact, unsuppressed counts";

/// A table as an auditor's build writes it: with a last column that marks every row.
pub(crate) fn marked(mut doc: TableDoc) -> TableDoc {
    doc.columns.push(col(
        NOT_FOR_PUBLICATION,
        Type::String,
        "always \"NOT FOR PUBLICATION: auditor's build with exact, unsuppressed counts\": this file comes from sharelog build --unsuppressed and must not be published",
    ));
    doc
}

/// Every table, in the order the data page lists them.
pub(crate) fn all() -> Vec<TableDoc> {
    vec![
        shared_items(),
        item_totals(),
        exports(),
        partners(),
        opt_outs_monthly(),
        opt_out_scopes(),
        protections_monthly(),
        deletions(),
        deletions_by_export(),
        findings(),
        shipped_files(),
    ]
}
