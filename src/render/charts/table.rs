//! A chart's table and the small helpers the chart builders share.

use super::{Chart, Series};
use crate::aggregate::Tables;
use crate::error::Result;
use crate::i18n::Lang;
use crate::model::Report;
use crate::publish::Count;

/// The full range of years with data, gaps filled.
pub(crate) fn year_range(t: &Tables<Count>) -> Vec<String> {
    let years: Vec<i32> = t
        .by_year
        .iter()
        .filter_map(|y| y.key[0].parse().ok())
        .collect();
    match (years.iter().min(), years.iter().max()) {
        (Some(a), Some(b)) => (*a..=*b).map(|y| y.to_string()).collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn lookup(totals: &[crate::aggregate::Total<Count>], key: &[&str]) -> Option<Count> {
    totals
        .iter()
        .find(|t| t.key.iter().map(String::as_str).eq(key.iter().copied()))
        .map(|t| t.items)
}

/// Builds a chart's table (x label per row, one column per series) and counts suppressed cells.
pub(crate) fn chart_table(
    lang: &Lang,
    x_labels: &[String],
    series: &[Series],
) -> (Vec<Vec<String>>, usize) {
    chart_table_with(x_labels, series, &|v| lang.count(v))
}

/// [`chart_table`] with its own way of showing a value.
pub(crate) fn chart_table_with(
    x_labels: &[String],
    series: &[Series],
    show: &dyn Fn(Count) -> String,
) -> (Vec<Vec<String>>, usize) {
    let mut suppressed = 0;
    let rows = x_labels
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let mut row = vec![x.clone()];
            for s in series {
                let v = s.values.get(i).copied().unwrap_or(Count::NotDeclared);
                if v.is_hidden() {
                    suppressed += 1;
                }
                row.push(show(v));
            }
            row
        })
        .collect();
    (rows, suppressed)
}

pub(crate) fn suppressed_note(lang: &Lang, n: usize, min: u64) -> Result<String> {
    if n == 0 {
        return Ok(String::new());
    }
    Ok(format!(
        " {}",
        lang.f(
            "chart.suppressed_note",
            &[("n", n.into()), ("min", min.into())]
        )?
    ))
}

/// Series per partner over `x_keys`, from totals keyed (partner, x).
pub(crate) fn partner_series(
    report: &Report,
    totals: &[crate::aggregate::Total<Count>],
    x_keys: &[String],
) -> Vec<Series> {
    report
        .partners
        .iter()
        .map(|p| Series {
            name: p.name.clone(),
            values: x_keys
                .iter()
                .map(|x| lookup(totals, &[p.id.as_str(), x]).unwrap_or(Count::Exact(0)))
                .collect(),
        })
        .collect()
}

/// A monthly chart whose counts are banded: only its table (a row per month, the bands), and no
/// drawing.
pub(crate) fn table_only(
    lang: &Lang,
    file: &str,
    title: &str,
    months: &[String],
    series: &[Series],
    source: &'static str,
    width: u64,
) -> Result<Chart> {
    let (table_rows, _) = chart_table(lang, months, series);
    Ok(Chart {
        file: file.into(),
        title: title.into(),
        summary: lang.f(
            "chart.banded",
            &[
                ("width", width.into()),
                ("file", format!("{source}.csv").into()),
            ],
        )?,
        table_head: series_head(&lang.t("col.month")?, series),
        table_rows,
        svg: String::new(),
        source,
        drawn: false,
    })
}

/// The header of a chart's table: the x column, then one column per series.
pub(crate) fn series_head(x: &str, series: &[Series]) -> Vec<String> {
    std::iter::once(x.to_owned())
        .chain(series.iter().map(|s| s.name.clone()))
        .collect()
}

/// A reader's name for a signal slug.
pub(crate) fn signal_label(lang: &Lang, signal: &str) -> Result<String> {
    if crate::model::SIGNALS.contains(&signal) {
        lang.t(&format!("signal.{signal}"))
    } else {
        Ok(signal.to_owned())
    }
}

/// A reader's name for a protection setting slug.
pub(crate) fn protection_label(lang: &Lang, setting: &str) -> Result<String> {
    match setting {
        "discourage-ai-crawlers" | "discourage-search-indexing" => {
            lang.t(&format!("protection.{setting}"))
        }
        other => Ok(other.replace('-', " ")),
    }
}
