//! Deletion requests to one partner per month, stacked by status.

use super::table::*;
use super::{Chart, Series};
use crate::aggregate::Tables;
use crate::error::Result;
use crate::i18n::Lang;
use crate::model::Partner;
use crate::publish::Count;

/// Deletion requests to one partner per month sent, stacked by status; `None` without requests.
pub(crate) fn deletion_chart(
    t: &Tables<Count>,
    partner: &Partner,
    lang: &Lang,
) -> Result<Option<Chart>> {
    let rows: Vec<_> = t
        .deletions
        .iter()
        .filter(|r| r.partner == partner.id.as_str())
        .collect();
    if rows.is_empty() {
        return Ok(None);
    }
    // Every month from the first request to the last, so that quiet months show as gaps.
    let month_no = |m: &str| crate::time::month_number(m).unwrap_or(0);
    let (first, last) = (
        month_no(&rows[0].month),
        month_no(&rows[rows.len() - 1].month),
    );
    let months: Vec<String> = (first..=last).map(crate::time::month_text).collect();
    let month_labels = lang.months(&months);
    let row_of = |m: &str| rows.iter().find(|r| r.month == m);
    // Each request is in exactly one of four states; the bars stack them.
    let names = [
        "chart.deletions_in_time",
        "chart.deletions_late",
        "chart.deletions_open_overdue",
        "chart.deletions_open",
    ];
    let states: Vec<[u64; 4]> = months
        .iter()
        .map(|m| {
            let Some(r) = row_of(m) else {
                return [0; 4];
            };
            [
                r.requests_completed_in_time,
                r.requests_completed_late,
                r.requests_open_overdue,
                r.requests_open_in_time,
            ]
        })
        .collect();
    let series: Vec<Series> = names
        .iter()
        .enumerate()
        .map(|(k, name)| {
            Ok(Series {
                name: lang.t(name)?,
                values: states.iter().map(|s| Count::Exact(s[k])).collect(),
            })
        })
        .collect::<Result<_>>()?;
    let requests: u64 = rows.iter().map(|r| r.requests).sum();
    let overdue: u64 = rows.iter().map(|r| r.requests_overdue).sum();
    let summary = lang.f(
        "chart.deletions_summary",
        &[
            ("partner", partner.name.as_str().into()),
            ("n", requests.into()),
            ("from", month_labels[0].clone().into()),
            ("to", month_labels[month_labels.len() - 1].clone().into()),
            ("overdue", overdue.into()),
        ],
    )?;
    let title = lang.f(
        "chart.deletions_title",
        &[("partner", partner.name.as_str().into())],
    )?;
    let (table_rows, _) = chart_table(lang, &month_labels, &series);
    Ok(Some(Chart {
        file: format!("charts/deletions-{}.svg", partner.id),
        svg: super::stacked_bars(
            &title,
            &summary,
            &months,
            &series,
            &lang.t("chart.unit_requests")?,
            lang,
        )?,
        title,
        summary,
        table_head: series_head(&lang.t("col.month_sent")?, &series),
        table_rows,
        source: "deletions",
        drawn: true,
    }))
}
