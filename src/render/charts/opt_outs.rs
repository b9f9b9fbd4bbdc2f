//! The charts of the opt-outs page: opt-outs per month, by signal, and site-level protections.

use super::table::*;
use super::{Chart, Series};
use crate::aggregate::{OptOutMonthRow, Tables};
use crate::error::Result;
use crate::i18n::Lang;
use crate::publish::{Count, Rules};

pub(crate) fn opt_out_chart(
    t: &Tables<Count>,
    band: Option<u64>,
    lang: &Lang,
) -> Result<Option<Chart>> {
    if t.opt_outs_monthly.is_empty() {
        return Ok(None);
    }
    let (months, month_labels) = periods(&t.opt_outs_monthly, lang);
    let bars = Series {
        name: lang.t("chart.new_opt_outs")?,
        values: t.opt_outs_monthly.iter().map(|r| r.opted_out).collect(),
    };
    let line = Series {
        name: lang.t("chart.active_opt_outs")?,
        values: t.opt_outs_monthly.iter().map(|r| r.active).collect(),
    };
    let title = lang.t("chart.opt_outs_title")?;
    let file = "charts/opt-outs-monthly.svg";
    let series = [bars, line];
    if let Some(width) = band {
        let source = "opt-outs-monthly";
        return table_only(lang, file, &title, &month_labels, &series, source, width).map(Some);
    }
    let head = series_head(&lang.t("col.month")?, &series);
    let [bars, line] = series;
    let last = t.opt_outs_monthly.last();
    let first_month = &lang.month(&t.opt_outs_monthly[0].month);
    let last_month = &last
        .map(|r| lang.month(&last_month_of(r)))
        .unwrap_or_default();
    let mut summary = lang.f(
        "chart.opt_outs_summary",
        &[("from", first_month.into()), ("to", last_month.into())],
    )?;
    if let Some(Count::Exact(active)) = last.map(|r| r.active) {
        summary.push(' ');
        summary.push_str(&lang.f(
            "chart.opt_outs_last",
            &[("month", last_month.into()), ("n", active.into())],
        )?);
    }
    Ok(Some(Chart {
        file: file.into(),
        svg: super::bars_and_line(
            &title,
            &summary,
            &months,
            &bars,
            &line,
            &lang.t("chart.unit_owners")?,
            lang,
        )?,
        title,
        summary,
        table_head: head,
        table_rows: t
            .opt_outs_monthly
            .iter()
            .zip(&month_labels)
            .map(|(r, m)| vec![m.clone(), lang.count(r.opted_out), lang.count(r.active)])
            .collect(),
        source: "opt-outs-monthly",
        drawn: true,
    }))
}

/// New opt-outs per month stacked by signal; `None` when the source gives no signals.
pub(crate) fn signal_chart(
    rules: &Rules,
    t: &Tables<Count>,
    band: Option<u64>,
    lang: &Lang,
) -> Result<Option<Chart>> {
    let rows = &t.opt_outs_monthly;
    let has_signals = rows
        .iter()
        .any(|r| r.by_signal().iter().any(Option::is_some));
    if rows.is_empty() || !has_signals {
        return Ok(None);
    }
    let min = rules.hides_up_to().map_or(1, |m| m + 1);
    let (months, month_labels) = periods(rows, lang);
    // Signals nobody used are left out of the legend; a suppressed value is not drawn.
    let series: Vec<Series> = crate::model::SIGNALS
        .iter()
        .enumerate()
        // A band's first value is 0 for small counts as well as for none: keep every signal then.
        .filter(|(k, _)| {
            rows.iter().any(|r| match band {
                Some(_) => r.by_signal()[*k].is_some(),
                None => r.by_signal()[*k] != Some(Count::Exact(0)),
            })
        })
        .map(|(k, signal)| {
            Ok(Series {
                name: signal_label(lang, signal)?,
                values: rows
                    .iter()
                    .map(|r| r.by_signal()[k].unwrap_or(Count::NotDeclared))
                    .collect(),
            })
        })
        .collect::<Result<_>>()?;
    let title = lang.t("chart.signals_title")?;
    let file = "charts/opt-outs-by-signal.svg";
    if let Some(width) = band {
        let source = "opt-outs-monthly";
        return table_only(lang, file, &title, &month_labels, &series, source, width).map(Some);
    }
    let head = series_head(&lang.t("col.month")?, &series);
    let (table_rows, suppressed) = chart_table(lang, &month_labels, &series);
    // The most used signal, when every month of every signal is published exactly: a ranking
    // over partly hidden series could be wrong. Its total is a sum of the download's cells, not a
    // number of its own, so the sentence names the signal only.
    let all_exact = series
        .iter()
        .all(|s| s.values.iter().all(|v| v.exact().is_some()));
    let top = series
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.values.iter().filter_map(|v| v.exact()).sum::<u64>(),
            )
        })
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .filter(|_| all_exact);
    let mut summary = lang.f(
        "chart.signals_summary",
        &[
            ("from", lang.month(&rows[0].month).into()),
            (
                "to",
                rows.last()
                    .map(|r| lang.month(&last_month_of(r)))
                    .unwrap_or_default()
                    .into(),
            ),
            ("n", series.len().into()),
        ],
    )?;
    if let Some((name, _)) = top {
        summary.push(' ');
        summary.push_str(&lang.f("chart.signals_top", &[("signal", name.into())])?);
    }
    summary.push_str(&suppressed_note(lang, suppressed, min)?);
    Ok(Some(Chart {
        file: file.into(),
        svg: super::stacked_bars(
            &title,
            &summary,
            &months,
            &series,
            &lang.t("chart.unit_opt_outs")?,
            lang,
        )?,
        title,
        summary,
        table_head: head,
        table_rows,
        source: "opt-outs-monthly",
        drawn: true,
    }))
}

/// Accounts with each site-level protection on, per month; `None` without the table.
pub(crate) fn protection_chart(
    rules: &Rules,
    t: &Tables<Count>,
    band: Option<u64>,
    lang: &Lang,
) -> Result<Option<Chart>> {
    if t.protections.is_empty() {
        return Ok(None);
    }
    let min = rules.hides_up_to().map_or(1, |m| m + 1);
    let months: Vec<String> = t
        .protections
        .iter()
        .map(|r| r.month.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let month_labels = lang.months(&months);
    let settings: Vec<String> = t
        .protections
        .iter()
        .map(|r| r.setting.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let series: Vec<Series> = settings
        .iter()
        .map(|setting| {
            Ok(Series {
                name: protection_label(lang, setting)?,
                values: months
                    .iter()
                    .map(|m| {
                        t.protections
                            .iter()
                            .find(|r| &r.month == m && &r.setting == setting)
                            .map_or(Count::NotDeclared, |r| r.accounts)
                    })
                    .collect(),
            })
        })
        .collect::<Result<_>>()?;
    let title = lang.t("chart.protections_title")?;
    let file = "charts/protections-monthly.svg";
    if let Some(width) = band {
        let source = "protections-monthly";
        return table_only(lang, file, &title, &month_labels, &series, source, width).map(Some);
    }
    let head = series_head(&lang.t("col.month")?, &series);
    let (table_rows, suppressed) = chart_table(lang, &month_labels, &series);
    let last_month = &month_labels[month_labels.len() - 1];
    let mut summary = lang.f(
        "chart.protections_summary",
        &[
            ("from", month_labels[0].clone().into()),
            ("to", last_month.into()),
        ],
    )?;
    for s in &series {
        if let Some(Count::Exact(last)) = s.values.last() {
            summary.push(' ');
            summary.push_str(&lang.f(
                "chart.protections_last",
                &[
                    ("setting", s.name.clone().into()),
                    ("accounts", (*last).into()),
                    ("month", last_month.into()),
                ],
            )?);
        }
    }
    summary.push_str(&suppressed_note(lang, suppressed, min)?);
    Ok(Some(Chart {
        file: file.into(),
        svg: super::lines(
            &title,
            &summary,
            &months,
            &series,
            &lang.t("chart.unit_accounts")?,
            lang,
        )?,
        title,
        summary,
        table_head: head,
        table_rows,
        source: "protections-monthly",
        drawn: true,
    }))
}

/// The last month a row covers: its month, or its quarter's last.
pub(crate) fn last_month_of<C>(r: &OptOutMonthRow<C>) -> String {
    crate::time::month_number(&r.month).map_or_else(
        || r.month.clone(),
        |m| crate::time::month_text(m + r.months.max(1) as i32 - 1),
    )
}

/// A row's period for readers: its month ("July 2023"), or the months of its quarter ("July 2023
/// to September 2023").
pub(crate) fn period_label<C>(lang: &Lang, r: &OptOutMonthRow<C>) -> String {
    if r.months <= 1 {
        return lang.month(&r.month);
    }
    lang.f(
        "format.range",
        &[
            ("from", lang.month(&r.month).into()),
            ("to", lang.month(&last_month_of(r)).into()),
        ],
    )
    .unwrap_or_else(|_| lang.month(&r.month))
}

/// The chart's categories (`2023-07`, or `2023-Q3` for a quarter's row) and the rows' periods.
fn periods<C>(rows: &[OptOutMonthRow<C>], lang: &Lang) -> (Vec<String>, Vec<String>) {
    rows.iter()
        .map(|r| {
            let axis = match (r.months, crate::time::month_number(&r.month)) {
                (2.., Some(m)) => format!("{}-Q{}", m.div_euclid(12), m.rem_euclid(12) / 3 + 1),
                _ => r.month.clone(),
            };
            (axis, period_label(lang, r))
        })
        .unzip()
}
