//! Compliance findings (SPEC "Findings"): every check, computed from the aggregates, the ledger
//! join, the deletion requests and the shipped files' checksums.
//!
//! A finding is kept raw (exact numbers): the publish stage decides its numbers, and the render
//! stage writes its sentence with them (`render::findings`).

use std::io::Read;

use chrono::NaiveDate;
use polars::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::columns::{EXPORT, FLAGS, OPTED_OUT};
use super::{ExportCounts, PartnerRow, internal};
use crate::error::{Problem, Problems, Result};
use crate::model::{Export, HonoursOptOut, Report, Response, Severity};

/// The finding ids of the SPEC, plus `opt-out-statistics-mismatch` (monthly.csv vs the ledger).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Kind {
    ChecksumMismatch,
    DeclaredCountMismatch,
    DeletionOverdue,
    OptOutNotHonoured,
    OptOutStatisticsMismatch,
    OptedOutContentShared,
    OutsideContentWindow,
    SensitiveContentShared,
}

impl Kind {
    /// Every kind, in the order the findings page explains them: the one list of finding kinds.
    pub(crate) const ALL: [Kind; 8] = [
        Kind::OptedOutContentShared,
        Kind::SensitiveContentShared,
        Kind::DeclaredCountMismatch,
        Kind::OutsideContentWindow,
        Kind::ChecksumMismatch,
        Kind::DeletionOverdue,
        Kind::OptOutNotHonoured,
        Kind::OptOutStatisticsMismatch,
    ];

    /// The finding's id.
    pub(crate) fn id(self) -> &'static str {
        match self {
            Kind::ChecksumMismatch => "checksum-mismatch",
            Kind::DeclaredCountMismatch => "declared-count-mismatch",
            Kind::DeletionOverdue => "deletion-overdue",
            Kind::OptOutNotHonoured => "opt-out-not-honoured",
            Kind::OptOutStatisticsMismatch => "opt-out-statistics-mismatch",
            Kind::OptedOutContentShared => "opted-out-content-shared",
            Kind::OutsideContentWindow => "outside-content-window",
            Kind::SensitiveContentShared => "sensitive-content-shared",
        }
    }

    /// Whether `count` counts items (people's content, suppressed like every such count) rather
    /// than the platform's own records (files, cells, requests, months).
    pub(crate) fn counts_items(self) -> bool {
        matches!(
            self,
            Kind::OptedOutContentShared
                | Kind::SensitiveContentShared
                | Kind::OutsideContentWindow
                | Kind::OptOutNotHonoured
        )
    }
}

/// What a finding's sentence needs beyond its count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Detail {
    /// opted-out-content-shared: whether the manifest claimed to exclude opted-out owners, and
    /// whether the count is the manifest's own (declared counts) rather than the ledger join.
    /// `partial`: the declared counts give `opted_out` for some of the export's cells only, so the
    /// count is a lower bound.
    OptedOut {
        claimed: bool,
        declared: bool,
        partial: bool,
    },
    /// sensitive-content-shared: whether the manifest claimed to exclude the flag.
    Sensitive { claimed: Option<&'static str> },
    /// declared-count-mismatch: declared and listed item totals.
    Mismatch { declared: u64, listed: u64 },
    /// outside-content-window: whether the count is exact, and the window's dates.
    OutsideWindow {
        exact: bool,
        window: (Option<NaiveDate>, Option<NaiveDate>),
    },
    /// checksum-mismatch: the files that differ.
    Checksum { files: Vec<String> },
    /// deletion-overdue: items, completed late, still open, the deadline in days.
    Deletion {
        items: u64,
        late: u64,
        open: u64,
        days: u32,
    },
    /// opt-out-not-honoured: what the agreement says.
    NotHonoured { stance: HonoursOptOut },
    /// opt-out-statistics-mismatch: the months that differ.
    Statistics { months: Vec<String> },
}

/// One finding, before suppression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub(crate) kind: Kind,
    pub(crate) severity: Severity,
    pub(crate) partner: String,
    pub(crate) export: Option<String>,
    pub(crate) flag: Option<String>,
    pub(crate) count: u64,
    pub(crate) detail: Detail,
    /// The platform's response from `data/responses.yaml`, once matched (`responses::attach`).
    pub(crate) response: Option<Response>,
}

/// What the checks read.
pub(crate) struct Inputs<'a> {
    pub(crate) shared: &'a DataFrame,
    /// One entry per export, in the report's order.
    pub(crate) counted: &'a [ExportCounts],
    pub(crate) monthly_mismatch: &'a [String],
    pub(crate) requests: &'a DataFrame,
    pub(crate) partners: &'a [PartnerRow],
}

/// The filter that claims to exclude a flag. Suspended content is not public, so `public_only`
/// claims to exclude it as well as private content.
fn claiming_filter(export: &Export, flag: &str) -> Option<&'static str> {
    let f = export.filters;
    match flag {
        "private" if f.public_only => Some("public_only"),
        "suspended" if f.public_only => Some("public_only"),
        "deleted" if f.exclude_deleted => Some("exclude_deleted"),
        "explicit" if f.exclude_explicit => Some("exclude_explicit"),
        "minor" if f.exclude_minors => Some("exclude_minors"),
        _ => None,
    }
}

/// Every finding, sorted by severity (high first), id, partner, export and flag.
pub(crate) fn compute(report: &Report, inputs: &Inputs<'_>) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    let per_export = per_export_sums(inputs.shared).map_err(internal)?;
    let mut problems = Problems::default();
    for (export, counted) in report.exports.iter().zip(inputs.counted) {
        let sums = per_export.iter().find(|(id, ..)| id == export.id.as_str());
        let finding = |kind, severity, count, flag: Option<&str>, detail| Finding {
            kind,
            severity,
            partner: export.partner.to_string(),
            export: Some(export.id.to_string()),
            flag: flag.map(str::to_owned),
            count,
            detail,
            response: None,
        };
        if let Some((_, sums, undeclared_opted_out)) = sums {
            for (flag, n) in FLAGS.iter().zip(&sums[..FLAGS.len()]) {
                if let Some(n) = n.filter(|n| *n > 0) {
                    let claimed = claiming_filter(export, flag);
                    let severity = if claimed.is_some() {
                        Severity::High
                    } else {
                        Severity::Medium
                    };
                    out.push(finding(
                        Kind::SensitiveContentShared,
                        severity,
                        n,
                        Some(flag),
                        Detail::Sensitive { claimed },
                    ));
                }
            }
            if let Some(n) = sums[FLAGS.len()].filter(|n| *n > 0) {
                out.push(finding(
                    Kind::OptedOutContentShared,
                    Severity::High,
                    n,
                    None,
                    Detail::OptedOut {
                        claimed: export.filters.exclude_opted_out,
                        declared: export.items.is_none(),
                        partial: *undeclared_opted_out > 0,
                    },
                ));
            }
        }
        if let Some((cells, declared, listed)) = counted.mismatch {
            out.push(finding(
                Kind::DeclaredCountMismatch,
                Severity::High,
                cells,
                None,
                Detail::Mismatch { declared, listed },
            ));
        }
        if let Some((n, exact)) = counted.outside_window {
            let window = export.content_window.unwrap_or((None, None));
            out.push(finding(
                Kind::OutsideContentWindow,
                Severity::Medium,
                n,
                None,
                Detail::OutsideWindow { exact, window },
            ));
        }
        match checksum_mismatches(export) {
            Ok(files) if !files.is_empty() => out.push(finding(
                Kind::ChecksumMismatch,
                Severity::High,
                files.len() as u64,
                None,
                Detail::Checksum { files },
            )),
            Ok(_) => {}
            Err(p) => problems.push(*p),
        }
    }
    problems.finish(())?;

    let overdue = super::deletions::overdue_by_partner(inputs.requests).map_err(internal)?;
    for super::deletions::Overdue {
        partner,
        requests,
        items,
        late,
        open,
    } in overdue
    {
        let days = report
            .partner(&partner)
            .and_then(|p| p.deletion_deadline_days)
            .unwrap_or(0);
        out.push(Finding {
            kind: Kind::DeletionOverdue,
            severity: Severity::High,
            partner,
            export: None,
            flag: None,
            count: requests,
            detail: Detail::Deletion {
                items,
                late,
                open,
                days,
            },
            response: None,
        });
    }
    for row in inputs.partners.iter().filter(|r| r.items > 0) {
        let Some(partner) = report.partner(&row.partner) else {
            continue;
        };
        if partner.honours_opt_out != HonoursOptOut::Yes {
            out.push(Finding {
                kind: Kind::OptOutNotHonoured,
                severity: Severity::Info,
                partner: row.partner.clone(),
                export: None,
                flag: None,
                count: row.items,
                detail: Detail::NotHonoured {
                    stance: partner.honours_opt_out,
                },
                response: None,
            });
        }
    }
    if !inputs.monthly_mismatch.is_empty() {
        out.push(Finding {
            kind: Kind::OptOutStatisticsMismatch,
            severity: Severity::Medium,
            partner: String::new(),
            export: None,
            flag: None,
            count: inputs.monthly_mismatch.len() as u64,
            detail: Detail::Statistics {
                months: inputs.monthly_mismatch.to_vec(),
            },
            response: None,
        });
    }
    out.sort_by(|a, b| {
        (a.severity, a.kind, &a.partner, &a.export, &a.flag)
            .cmp(&(b.severity, b.kind, &b.partner, &b.export, &b.flag))
    });
    Ok(out)
}

/// Per export: the sums of each flag and of `opted_out` (null when no row has it).
type FlagSums = [Option<u64>; 6];

/// Column of [`per_export_sums`]' query: the rows whose `opted_out` is not declared.
const UNDECLARED_OPTED_OUT: &str = "__undeclared_opted_out";

/// Per export: its flag sums, and how many of its rows do not declare `opted_out` (an opted-out
/// finding over the others is a lower bound).
fn per_export_sums(shared: &DataFrame) -> PolarsResult<Vec<(String, FlagSums, u64)>> {
    let columns: Vec<&str> = FLAGS.iter().copied().chain([OPTED_OUT]).collect();
    // SELECT export, sum(private), ..., sum(minor), sum(opted_out),
    //        count(*) FILTER (WHERE opted_out IS NULL)
    // FROM shared_items GROUP BY export
    let df = shared
        .clone()
        .lazy()
        .group_by([col(EXPORT)])
        .agg(
            columns
                .iter()
                .map(|c| {
                    // sum() of an all-null column is 0; keep "no opted_out data" as null.
                    when(col(*c).is_not_null().any(true))
                        .then(col(*c).sum())
                        .otherwise(lit(NULL))
                        .cast(DataType::UInt64)
                        .alias(*c)
                })
                .chain([col(OPTED_OUT)
                    .null_count()
                    .cast(DataType::UInt64)
                    .alias(UNDECLARED_OPTED_OUT)])
                .collect::<Vec<_>>(),
        )
        .sort([EXPORT], SortMultipleOptions::default())
        .collect()?;
    let ids = df.column(EXPORT)?.str()?;
    let undeclared = df.column(UNDECLARED_OPTED_OUT)?.u64()?;
    let sums = columns
        .iter()
        .map(|c| Ok(df.column(c)?.u64()?.clone()))
        .collect::<PolarsResult<Vec<_>>>()?;
    Ok((0..df.height())
        .map(|i| {
            let mut row: FlagSums = [None; 6];
            for (slot, c) in row.iter_mut().zip(&sums) {
                *slot = c.get(i);
            }
            (
                ids.get(i).unwrap_or_default().to_owned(),
                row,
                undeclared.get(i).unwrap_or(0),
            )
        })
        .collect())
}

/// The shipped files of an export that exist under the root but whose SHA-256 (or size, when
/// given) differs from the manifest's.
fn checksum_mismatches(export: &Export) -> std::result::Result<Vec<String>, Box<Problem>> {
    let mut out = Vec::new();
    for file in &export.files {
        let Some(path) = &file.local else { continue };
        let (digest, size) = sha256(path).map_err(|e| {
            Box::new(Problem::new(
                &export.manifest,
                format!("shipped file `{}` cannot be read to verify it: {e}", file.path),
            )
            .help("check the file's permissions, or remove it from the root if it is not the shipped copy"))
        })?;
        if digest != file.sha256 || file.bytes.is_some_and(|b| b != size) {
            out.push(file.path.clone());
        }
    }
    Ok(out)
}

/// SHA-256 (lowercase hex) and size of a file, read in blocks.
pub(crate) fn sha256(path: &std::path::Path) -> std::io::Result<(String, u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buffer[..n]);
    }
    Ok((hex::encode(hasher.finalize()), size))
}
