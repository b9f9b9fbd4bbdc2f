//! The charts of items shared: per year and per category on the overview, per partner.

use super::table::*;
use super::{Chart, Series};
use crate::aggregate::Tables;
use crate::error::Result;
use crate::i18n::Lang;
use crate::model::{Partner, Report};
use crate::publish::{Count, Rules};

pub(crate) fn overview_charts(
    report: &Report,
    rules: &Rules,
    t: &Tables<Count>,
    lang: &Lang,
) -> Result<Vec<Chart>> {
    let min = rules.hides_up_to().map_or(1, |m| m + 1);
    let years = year_range(t);
    if years.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();

    // Items shared per year, stacked by partner.
    let series = partner_series(report, &t.by_partner_year, &years);
    let (rows, suppressed) = chart_table(lang, &years, &series);
    let peak = t
        .by_year
        .iter()
        .filter_map(|y| y.items.exact().map(|n| (n, y.key[0].clone())))
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
        // Only when every year is published: a hidden year may be larger.
        .filter(|_| t.by_year.iter().all(|y| y.items.exact().is_some()));
    let mut summary = lang.f(
        "chart.per_year_summary",
        &[
            ("n", report.partners.len().into()),
            ("from", years[0].clone().into()),
            ("to", years[years.len() - 1].clone().into()),
        ],
    )?;
    if let Some((n, year)) = peak {
        summary.push(' ');
        summary.push_str(&lang.f(
            "chart.per_year_peak",
            &[("year", year.into()), ("items", n.into())],
        )?);
    }
    summary.push_str(&suppressed_note(lang, suppressed, min)?);
    let title = lang.t("chart.per_year_title")?;
    out.push(Chart {
        file: "charts/items-per-year.svg".into(),
        svg: super::stacked_bars(
            &title,
            &summary,
            &years,
            &series,
            &lang.t("chart.unit_items")?,
            lang,
        )?,
        title,
        summary,
        table_head: series_head(&lang.t("col.year")?, &series),
        table_rows: rows,
        source: "shared-items",
        drawn: true,
    });

    // Items per category, stacked by partner.
    let cats: Vec<String> = report
        .meta
        .categories
        .iter()
        .map(|c| c.id.0.clone())
        .collect();
    let labels: Vec<String> = report
        .meta
        .categories
        .iter()
        .map(|c| c.label.clone())
        .collect();
    let series = partner_series(report, &t.by_partner_category, &cats);
    let (rows, suppressed) = chart_table(lang, &labels, &series);
    let top = t
        .by_category
        .iter()
        .filter_map(|c| c.items.exact().map(|n| (n, c.key[0].clone())))
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
        // Only when every category is published: a hidden one may be larger.
        .filter(|_| t.by_category.iter().all(|c| c.items.exact().is_some()));
    let mut summary = lang.f("chart.per_category_summary", &[("n", cats.len().into())])?;
    if let Some((n, cat)) = top {
        summary.push(' ');
        summary.push_str(&lang.f(
            "chart.per_category_top",
            &[
                ("category", report.category_label(&cat).into()),
                ("items", lang.counted("items", Count::Exact(n)).into()),
            ],
        )?);
    }
    summary.push_str(&suppressed_note(lang, suppressed, min)?);
    let title = lang.t("chart.per_category_title")?;
    out.push(Chart {
        file: "charts/items-per-category.svg".into(),
        svg: super::stacked_bars(
            &title,
            &summary,
            &labels,
            &series,
            &lang.t("chart.unit_items")?,
            lang,
        )?,
        title,
        summary,
        table_head: series_head(&lang.t("col.category")?, &series),
        table_rows: rows,
        source: "shared-items",
        drawn: true,
    });
    Ok(out)
}

pub(crate) fn partner_chart(
    report: &Report,
    rules: &Rules,
    t: &Tables<Count>,
    partner: &Partner,
    lang: &Lang,
) -> Result<Chart> {
    let min = rules.hides_up_to().map_or(1, |m| m + 1);
    let years = year_range(t);
    let series: Vec<Series> = report
        .meta
        .categories
        .iter()
        .map(|c| Series {
            name: c.label.clone(),
            values: years
                .iter()
                .map(|y| {
                    lookup(
                        &t.by_partner_category_year,
                        &[partner.id.as_str(), c.id.as_str(), y],
                    )
                    .unwrap_or(Count::Exact(0))
                })
                .collect(),
        })
        .collect();
    let (rows, suppressed) = chart_table(lang, &years, &series);
    let total = t
        .partners
        .iter()
        .find(|r| r.partner == partner.id.as_str())
        .map_or(Count::NotDeclared, |r| r.items);
    let mut summary = match total {
        Count::Exact(0) | Count::NotDeclared if years.is_empty() => lang.f(
            "chart.partner_none",
            &[("partner", partner.name.as_str().into())],
        )?,
        _ => lang.f(
            "chart.partner_summary",
            &[
                ("partner", partner.name.as_str().into()),
                ("items", lang.counted("items", total).into()),
            ],
        )?,
    };
    summary.push_str(&suppressed_note(lang, suppressed, min)?);
    let title = lang.f(
        "chart.partner_title",
        &[("partner", partner.name.as_str().into())],
    )?;
    Ok(Chart {
        file: format!("charts/partner-{}.svg", partner.id),
        svg: super::stacked_bars(
            &title,
            &summary,
            &years,
            &series,
            &lang.t("chart.unit_items")?,
            lang,
        )?,
        title,
        summary,
        table_head: series_head(&lang.t("col.year")?, &series),
        table_rows: rows,
        source: "shared-items",
        drawn: true,
    })
}
