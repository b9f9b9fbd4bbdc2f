//! The opt-out tables: opt-outs in force per export and partner, `opt-out-scopes` and
//! `opt-outs-monthly`, from the ledger and `monthly.csv`.

use polars::prelude::*;

use super::columns::*;
use super::ledger::{self, Ledger};
use super::{ExportRow, OptOutMonthRow, OptOutSource, PartnerRow, ScopeRow, internal, report_now};
use crate::error::{Error, Problem, Result};
use crate::model::Report;

/// Fills `opt_outs_in_force`: owners opted out for the partner at each export, and at the
/// report's date for each partner.
pub(crate) fn in_force(
    report: &Report,
    ledger: &Ledger,
    exports: &mut [ExportRow],
    partners: &mut [PartnerRow],
) -> PolarsResult<()> {
    let now = report_now(report);
    // Each partner's exports, and their instants then the report's date: one pass for all.
    let mine: Vec<Vec<usize>> = report
        .partners
        .iter()
        .map(|partner| {
            (0..report.exports.len())
                .filter(|&i| report.exports[i].partner == partner.id)
                .collect()
        })
        .collect();
    let wanted: Vec<_> = report
        .partners
        .iter()
        .zip(&mine)
        .map(|(partner, mine)| {
            let instants = mine
                .iter()
                .map(|&i| report.exports[i].exported_at.timestamp_micros())
                .chain([now])
                .collect();
            (partner, instants)
        })
        .collect();
    let counts = ledger.in_force_all(&wanted)?;
    for ((row, mine), counts) in partners.iter_mut().zip(&mine).zip(&counts) {
        for (&i, &n) in mine.iter().zip(counts) {
            exports[i].opt_outs_in_force = Some(n);
        }
        row.opt_outs_in_force = counts.last().copied();
    }
    Ok(())
}

/// `opt-out-scopes`: owners with an active opt-out of each scope at the report's date; every
/// scope kind and every partner is listed, with zeros.
pub(crate) fn scope_rows(report: &Report, ledger: &Ledger) -> PolarsResult<Vec<ScopeRow>> {
    let active: std::collections::BTreeMap<String, u64> = ledger
        .active_by_scope(report_now(report))?
        .into_iter()
        .collect();
    let get = |k: &str| active.get(k).copied().unwrap_or(0);
    let mut rows = vec![
        ScopeRow {
            scope: ledger::ALL_THIRD_PARTIES.to_owned(),
            partner: String::new(),
            active: get(ledger::ALL_THIRD_PARTIES),
        },
        ScopeRow {
            scope: ledger::AI_TRAINING.to_owned(),
            partner: String::new(),
            active: get(ledger::AI_TRAINING),
        },
    ];
    rows.extend(report.partners.iter().map(|p| ScopeRow {
        scope: "partner".to_owned(),
        partner: p.id.to_string(),
        active: get(p.id.as_str()),
    }));
    Ok(rows)
}

/// The opt-out table, where it came from, and the months where `monthly.csv` and the ledger
/// disagree.
type MonthlyResult = (Vec<OptOutMonthRow>, OptOutSource, Vec<String>);

/// `opt-outs-monthly`. From the ledger when there is one (the truth: `active` counts distinct
/// owners opted out at month end), with `accounts` taken from `monthly.csv`; else from
/// `monthly.csv`, with `active` as the running balance of opt-outs and withdrawals.
pub(crate) fn opt_outs_monthly(report: &Report, ledger: Option<&Ledger>) -> Result<MonthlyResult> {
    let Some(ledger) = ledger else {
        return match &report.opt_outs_monthly {
            Some(rows) => Ok((monthly_from_table(rows)?, OptOutSource::Monthly, Vec::new())),
            None => Ok((Vec::new(), OptOutSource::None, Vec::new())),
        };
    };
    let events = ledger.monthly().map_err(internal)?;
    let table = report.opt_outs_monthly.as_deref().unwrap_or_default();
    let months_of = |df: &DataFrame| -> PolarsResult<Vec<i32>> {
        Ok(df
            .column(ledger::MONTH_NO)?
            .i32()?
            .into_no_null_iter()
            .collect())
    };
    let ledger_months = months_of(&events).map_err(internal)?;
    let signals = ledger.signals_by_month().map_err(internal)?;
    let table_months: Vec<i32> = table
        .iter()
        .filter_map(|r| crate::time::month_number(&r.month))
        .collect();
    let all = ledger_months.iter().chain(&table_months);
    let (Some(first), Some(last)) = (all.clone().min().copied(), all.max().copied()) else {
        return Ok((Vec::new(), OptOutSource::Ledger, Vec::new()));
    };
    let declared = df!(
        ledger::MONTH_NO => table_months,
        "__declared_opted_out" => table.iter().map(|r| r.opted_out).collect::<Vec<u64>>(),
        "__declared_withdrawn" => table.iter().map(|r| r.withdrawn).collect::<Vec<u64>>(),
        ACCOUNTS => table.iter().map(|r| r.accounts).collect::<Vec<Option<u64>>>(),
    )
    .map_err(internal)?;
    let left = JoinArgs::new(JoinType::Left);
    // SELECT m.month, e.opted_out, e.withdrawn, sum(e.change) OVER (ORDER BY m.month) AS active,
    //        d.accounts, (e.opted_out, e.withdrawn) <> (d.opted_out, d.withdrawn) AS differs
    // FROM every_month m LEFT JOIN ledger_events e USING (month) LEFT JOIN monthly_csv d USING (month)
    let df = df!(ledger::MONTH_NO => (first..=last).collect::<Vec<i32>>())
        .and_then(|months| {
            months
                .lazy()
                .join(
                    events.lazy(),
                    [col(ledger::MONTH_NO)],
                    [col(ledger::MONTH_NO)],
                    left.clone(),
                )
                .join(
                    declared.lazy(),
                    [col(ledger::MONTH_NO)],
                    [col(ledger::MONTH_NO)],
                    left,
                )
                .sort([ledger::MONTH_NO], SortMultipleOptions::default())
                .select([
                    col(ledger::MONTH_NO),
                    col(OPTED_OUT).fill_null(lit(0u64)),
                    col(WITHDRAWN).fill_null(lit(0u64)),
                    col(ledger::CHANGE)
                        .fill_null(lit(0i64))
                        .cum_sum(false)
                        .alias(ACTIVE),
                    col(ACCOUNTS),
                    col(OPTED_OUT)
                        .fill_null(lit(0u64))
                        .neq(col("__declared_opted_out").fill_null(lit(0u64)))
                        .or(col(WITHDRAWN)
                            .fill_null(lit(0u64))
                            .neq(col("__declared_withdrawn").fill_null(lit(0u64))))
                        .alias("__differs"),
                ])
                .collect()
        })
        .map_err(internal)?;
    let get = || -> PolarsResult<(Vec<OptOutMonthRow>, Vec<String>)> {
        let month = df.column(ledger::MONTH_NO)?.i32()?;
        let opted = df.column(OPTED_OUT)?.u64()?;
        let withdrawn = df.column(WITHDRAWN)?.u64()?;
        let active = df.column(ACTIVE)?.i64()?;
        let accounts = df.column(ACCOUNTS)?.u64()?;
        let differs = df.column("__differs")?.bool()?;
        let mut rows = Vec::new();
        let mut mismatched = Vec::new();
        for i in 0..df.height() {
            let m = crate::time::month_text(month.get(i).unwrap_or(0));
            if differs.get(i).unwrap_or(false) {
                mismatched.push(m.clone());
            }
            rows.push(
                OptOutMonthRow::new(
                    m,
                    opted.get(i).unwrap_or(0),
                    withdrawn.get(i).unwrap_or(0),
                    active.get(i).unwrap_or(0).max(0) as u64,
                    accounts.get(i),
                )
                .with_signals(
                    signals
                        .get(&month.get(i).unwrap_or(0))
                        .copied()
                        .unwrap_or([Some(0); 6]),
                ),
            );
        }
        Ok((rows, mismatched))
    };
    let (rows, mut mismatched) = get().map_err(internal)?;
    // Where monthly.csv gives signals, each signal's new opt-outs must agree too.
    for r in table {
        let (Some(declared), Some(m)) = (r.by_signal, crate::time::month_number(&r.month)) else {
            continue;
        };
        let ledger_counts = signals.get(&m).copied().unwrap_or([Some(0); 6]);
        if declared
            .iter()
            .zip(ledger_counts)
            .any(|(d, l)| Some(*d) != l)
            && !mismatched.contains(&r.month)
        {
            mismatched.push(r.month.clone());
        }
    }
    mismatched.sort();
    if report.opt_outs_monthly.is_some() {
        Ok((rows, OptOutSource::Both, mismatched))
    } else {
        Ok((rows, OptOutSource::Ledger, Vec::new()))
    }
}

/// `opt-outs-monthly` from `monthly.csv` alone: `active` is the running balance of opt-outs and
/// withdrawals.
pub(crate) fn monthly_from_table(
    rows: &[crate::model::MonthlyOptOuts],
) -> Result<Vec<OptOutMonthRow>> {
    // SELECT month, opted_out, withdrawn,
    //        sum(opted_out - withdrawn) OVER (ORDER BY month) AS active, accounts
    // FROM monthly ORDER BY month
    let df = df!(
        MONTH => rows.iter().map(|r| r.month.as_str()).collect::<Vec<_>>(),
        OPTED_OUT => rows.iter().map(|r| r.opted_out).collect::<Vec<u64>>(),
        WITHDRAWN => rows.iter().map(|r| r.withdrawn).collect::<Vec<u64>>(),
        ACCOUNTS => rows.iter().map(|r| r.accounts).collect::<Vec<Option<u64>>>(),
    )
    .and_then(|df| {
        df.lazy()
            .sort([MONTH], SortMultipleOptions::default())
            .with_column(
                (col(OPTED_OUT).cast(DataType::Int64) - col(WITHDRAWN).cast(DataType::Int64))
                    .cum_sum(false)
                    .alias(ACTIVE),
            )
            .collect()
    })
    .map_err(internal)?;
    let active = df
        .column(ACTIVE)
        .and_then(|c| Ok(c.i64()?.clone()))
        .map_err(internal)?;
    let mut problems = Vec::new();
    let out = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let a = active.get(i).unwrap_or(0);
            if a < 0 {
                problems.push(
                    Problem::new("data/opt-outs/monthly.csv", format!(
                        "month `{}`: more opt-outs withdrawn than made so far (balance {a})",
                        r.month
                    ))
                    .help("the table must start with the first month of opt-outs; add the missing months"),
                );
            }
            OptOutMonthRow::new(r.month.clone(), r.opted_out, r.withdrawn, a.max(0) as u64, r.accounts)
            .with_signals(r.by_signal.map_or([None; 6], |b| b.map(Some)))
        })
        .collect();
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(Error::invalid(problems))
    }
}
