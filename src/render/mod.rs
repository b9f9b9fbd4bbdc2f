//! Render stage: checked report + tables → [`Site`], every file in memory. Nothing here touches disk.

pub(crate) mod charts;
mod dictionary;
mod downloads;
mod feeds;
pub(crate) mod format;
pub(crate) mod markdown;
mod package;
mod templates;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use self::charts::{Chart, Series};
use self::format::{count, thousands};
use crate::aggregate::Tables;
use crate::aggregate::findings::{self, PublishedFinding};
use crate::aggregate::protect::Protection;
use crate::aggregate::suppress::{Published, publish};
use crate::error::Result;
use crate::model::{Bands, Export, Partner, Report, ReportMeta};
use crate::time::format_instant;

/// The built site: output paths (with `/`) → bytes, in sorted order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Site {
    /// Every file of the site.
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Site {
    fn add(&mut self, path: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.files.insert(path.into(), bytes.into());
    }
}

/// Renders every page, chart and download.
pub(crate) fn render(report: &Report, tables: &Tables, exact: bool) -> Result<Site> {
    let min = report.meta.min_count;
    let publication = publish(report, tables, exact);
    let t = &publication.tables;
    let engine = templates::Engine::new(&report.template_overrides)?;
    let mut site = Site::default();

    site.add("assets/style.css", engine.stylesheet().as_bytes().to_vec());
    let published_findings = findings::publish(
        report,
        &t.findings,
        &publication.findings,
        if exact { 1 } else { min },
    );
    let output = Output {
        exact,
        meta: &report.meta,
    };
    add_downloads(&mut site, t, &published_findings, output)?;
    let docs: Vec<_> = dictionary::all()
        .into_iter()
        .map(|d| doc_for(d, output))
        .collect();

    let overview_charts = overview_charts(report, t)?;
    let band = |table: &str| report.meta.bands_for(table, exact).map(|b| b.width);
    let opt_out_chart = opt_out_chart(t, band("opt-outs-monthly"))?;
    let signal_chart = signal_chart(report, t, band("opt-outs-monthly"))?;
    let protection_chart = protection_chart(report, t, band("protections-monthly"))?;
    let partner_charts = report
        .partners
        .iter()
        .map(|p| partner_chart(report, t, p))
        .collect::<Result<Vec<_>>>()?;
    let deletion_charts = report
        .partners
        .iter()
        .map(|p| deletion_chart(t, p))
        .collect::<Result<Vec<_>>>()?;
    for chart in overview_charts
        .iter()
        .chain(&opt_out_chart)
        .chain(&signal_chart)
        .chain(&protection_chart)
        .chain(&partner_charts)
        .chain(deletion_charts.iter().flatten())
    {
        if chart.drawn {
            site.add(chart.file.clone(), chart.svg.clone().into_bytes());
        }
    }

    let pages = Pages {
        report,
        t,
        engine: &engine,
        findings: &published_findings,
        protection: &publication.protection,
        exact,
        docs: &docs,
    };
    site.add("index.html", pages.overview(&overview_charts)?);
    for ((partner, chart), deletions) in report
        .partners
        .iter()
        .zip(&partner_charts)
        .zip(&deletion_charts)
    {
        site.add(
            format!("partners/{}/index.html", partner.id),
            pages.partner(partner, chart, deletions.as_ref())?,
        );
    }
    for export in &report.exports {
        site.add(
            format!("exports/{}/index.html", export.id),
            pages.export(export)?,
        );
    }
    site.add(
        "opt-outs/index.html",
        pages.opt_outs([&opt_out_chart, &signal_chart, &protection_chart])?,
    );
    site.add("findings/index.html", pages.findings()?);
    site.add("data/index.html", pages.data()?);
    let rows: BTreeMap<&str, usize> = [
        ("shared-items", t.shared_items.len()),
        ("exports", t.exports.len()),
        ("partners", t.partners.len()),
        ("opt-outs-monthly", t.opt_outs_monthly.len()),
        ("opt-out-scopes", t.scopes.len()),
        ("protections-monthly", t.protections.len()),
        ("deletions", t.deletions.len()),
        ("findings", published_findings.len()),
    ]
    .into_iter()
    .collect();
    site.add(
        "data/about.html",
        pages.about_data(&rows, !report.corrections.is_empty())?,
    );
    site.add("corrections/index.html", pages.corrections()?);
    site.add("CITATION.cff", citation(report));
    for page in &report.pages {
        site.add(format!("{}/index.html", page.slug), pages.content(page)?);
    }
    site.add("feed.xml", feeds::feed(report, &t.exports));
    let summary = feeds::summary(report, t, &published_findings, exact);
    site.add("data/report.json", downloads::json(&summary)?);
    let version = env!("CARGO_PKG_VERSION");
    let package = package::datapackage(report, &docs, &site, version, exact);
    site.add("data/datapackage.json", downloads::json(&package)?);
    let croissant = package::croissant(report, &docs, &site, exact);
    site.add("data/croissant.json", downloads::json(&croissant)?);
    let sitemap = feeds::sitemap(report, &site);
    site.add("sitemap.xml", sitemap);
    if exact {
        mark_not_for_publication(&mut site);
    }
    // Last: the checksums cover every other file in data/.
    let mut sums = feeds::checksums(&site);
    if exact {
        sums = format!("# {}\n{sums}", dictionary::NOT_FOR_PUBLICATION_TEXT);
    }
    site.add("data/SHA256SUMS", sums);
    Ok(site)
}

fn add_downloads(
    site: &mut Site,
    t: &Tables<Published>,
    findings: &[PublishedFinding],
    o: Output<'_>,
) -> Result<()> {
    add_table(site, dictionary::shared_items(), &t.shared_items, o)?;
    add_table(site, dictionary::exports(), &t.exports, o)?;
    add_table(site, dictionary::partners(), &t.partners, o)?;
    add_table(site, dictionary::opt_outs_monthly(), &t.opt_outs_monthly, o)?;
    add_table(site, dictionary::opt_out_scopes(), &t.scopes, o)?;
    add_table(site, dictionary::protections_monthly(), &t.protections, o)?;
    add_table(site, dictionary::deletions(), &t.deletions, o)?;
    add_table(site, dictionary::findings(), findings, o)?;
    Ok(())
}

/// How the tables are written: an auditor's build, or with some tables banded.
#[derive(Clone, Copy)]
struct Output<'a> {
    exact: bool,
    meta: &'a ReportMeta,
}

impl Output<'_> {
    /// The bands `table` is written in by this build, if any.
    fn bands(&self, table: &str) -> Option<&Bands> {
        self.meta.bands_for(table, self.exact)
    }
}

/// A table's dictionary entry as this build writes it.
fn doc_for(doc: dictionary::TableDoc, o: Output<'_>) -> dictionary::TableDoc {
    if o.exact {
        return dictionary::marked(doc);
    }
    match o.bands(doc.name) {
        Some(b) => dictionary::banded(doc, b.width),
        None => doc,
    }
}

/// A row of an auditor's build: the row's fields, then the "not for publication" mark.
#[derive(serde::Serialize)]
struct Marked<'a, T> {
    #[serde(flatten)]
    row: &'a T,
    not_for_publication: &'static str,
}

/// One published table as `data/<name>.csv` (with the dictionary's header), `.json` and
/// `.parquet`; in an auditor's build every row ends with the "not for publication" mark.
fn add_table<T: serde::Serialize>(
    site: &mut Site,
    doc: dictionary::TableDoc,
    rows: &[T],
    o: Output<'_>,
) -> Result<()> {
    if o.bands(doc.name).is_some() {
        let doc = doc_for(doc, o);
        let rows = downloads::banded_rows(rows, &doc)?;
        site.add(
            format!("data/{}.csv", doc.name),
            downloads::csv_ordered(&rows, &doc.header())?,
        );
        site.add(format!("data/{}.json", doc.name), downloads::json(&rows)?);
        site.add(
            format!("data/{}.parquet", doc.name),
            downloads::parquet(&rows, &doc)?,
        );
        return Ok(());
    }
    if o.exact {
        let doc = dictionary::marked(doc);
        let marked: Vec<Marked<'_, T>> = rows
            .iter()
            .map(|row| Marked {
                row,
                not_for_publication: dictionary::NOT_FOR_PUBLICATION_TEXT,
            })
            .collect();
        let csv = downloads::csv(rows, &doc.header()[..doc.columns.len() - 1])?;
        site.add(
            format!("data/{}.csv", doc.name),
            downloads::append_column(
                &csv,
                dictionary::NOT_FOR_PUBLICATION,
                dictionary::NOT_FOR_PUBLICATION_TEXT,
            )?,
        );
        site.add(format!("data/{}.json", doc.name), downloads::json(&marked)?);
        site.add(
            format!("data/{}.parquet", doc.name),
            downloads::parquet(&marked, &doc)?,
        );
        return Ok(());
    }
    site.add(
        format!("data/{}.csv", doc.name),
        downloads::csv(rows, &doc.header())?,
    );
    site.add(format!("data/{}.json", doc.name), downloads::json(rows)?);
    site.add(
        format!("data/{}.parquet", doc.name),
        downloads::parquet(rows, &doc)?,
    );
    Ok(())
}

/// `CITATION.cff` (Citation File Format 1.2.0) at the site root, so the data can be cited.
fn citation(report: &Report) -> String {
    let m = &report.meta;
    // YAML double-quoted scalars: escape backslashes and quotes, keep it on one line.
    let q = |s: &str| {
        format!(
            "\"{}\"",
            s.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace(['\n', '\r'], " ")
        )
    };
    let mut out = String::from(
        "# This file lets you cite the report and its data: https://citation-file-format.github.io/\n",
    );
    out.push_str("cff-version: 1.2.0\n");
    out.push_str("message: \"If you use these data, please cite them as below.\"\n");
    out.push_str("type: dataset\n");
    out.push_str(&format!("title: {}\n", q(&m.title)));
    out.push_str(&format!("authors:\n  - name: {}\n", q(&m.platform.name)));
    if let Some(url) = safe_url(m.platform.url.as_deref()) {
        out.push_str(&format!("    website: {}\n", q(&url)));
    }
    if let Some(mail) = m
        .platform
        .contact
        .as_deref()
        .filter(|c| c.contains('@') && !c.contains(':'))
    {
        out.push_str(&format!("    email: {}\n", q(mail)));
    }
    out.push_str(&format!("date-released: {}\n", m.published));
    out.push_str(&format!("version: {}\n", q(&m.published.to_string())));
    if m.base_url.starts_with("http") {
        out.push_str(&format!("url: {}\n", q(&m.base_url)));
    }
    if let Some(l) = &m.license {
        out.push_str(&format!("license: {}\n", q(&l.id)));
    }
    out.push_str(&format!("abstract: {}\n", q(&package::description(report))));
    out.push_str(
        "keywords:\n  - transparency report\n  - AI training data\n  - data sharing\n  - opt-out\n",
    );
    out
}

/// Marks the files an auditor's build has not marked yet (stylesheet, charts, feed, sitemap,
/// citation) with a comment; pages carry a banner and the tables a column.
fn mark_not_for_publication(site: &mut Site) {
    let text = dictionary::NOT_FOR_PUBLICATION_TEXT;
    for (path, bytes) in &mut site.files {
        let comment = if path.ends_with(".css") {
            format!("/* {text} */\n")
        } else if path.ends_with(".cff") {
            format!("# {text}\n")
        } else if path.ends_with(".svg") || path.ends_with(".xml") {
            format!("<!-- {text} -->\n")
        } else {
            continue;
        };
        // After an XML declaration, which must come first.
        let at = if bytes.starts_with(b"<?xml") {
            bytes.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1)
        } else {
            0
        };
        bytes.splice(at..at, comment.into_bytes());
    }
}

/// A URL from the input that may become a link: only http(s) and mailto.
fn safe_url(url: Option<&str>) -> Option<String> {
    let url = url?.trim();
    let lower = url.to_ascii_lowercase();
    ["https://", "http://", "mailto:"]
        .iter()
        .any(|s| lower.starts_with(s))
        .then(|| url.to_owned())
}

fn partner_name<'a>(report: &'a Report, id: &'a str) -> &'a str {
    report.partner(id).map_or(id, |p| p.name.as_str())
}

/// The full range of years with data, gaps filled.
fn year_range(t: &Tables<Published>) -> Vec<String> {
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

fn lookup(totals: &[crate::aggregate::Total<Published>], key: &[&str]) -> Option<Published> {
    totals
        .iter()
        .find(|t| t.key.iter().map(String::as_str).eq(key.iter().copied()))
        .map(|t| t.items)
}

/// Builds a chart's table (x label per row, one column per series) and counts suppressed cells.
fn chart_table(x_labels: &[String], series: &[Series]) -> (Vec<Vec<String>>, usize) {
    chart_table_with(x_labels, series, &count)
}

/// [`chart_table`] with its own way of showing a value.
fn chart_table_with(
    x_labels: &[String],
    series: &[Series],
    show: &dyn Fn(Published) -> String,
) -> (Vec<Vec<String>>, usize) {
    let mut suppressed = 0;
    let rows = x_labels
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let mut row = vec![x.clone()];
            for s in series {
                let v = s.values.get(i).copied().flatten();
                if v.is_none() {
                    suppressed += 1;
                }
                row.push(show(v));
            }
            row
        })
        .collect();
    (rows, suppressed)
}

fn suppressed_note(n: usize, min: u64) -> String {
    match n {
        0 => String::new(),
        1 => format!(
            " One value is suppressed and not drawn: it is below {min}, or hidden so that such a value cannot be worked out."
        ),
        n => format!(
            " {n} values are suppressed and not drawn: each is below {min}, or hidden so that such a value cannot be worked out."
        ),
    }
}

/// Series per partner over `x_keys`, from totals keyed (partner, x).
fn partner_series(
    report: &Report,
    totals: &[crate::aggregate::Total<Published>],
    x_keys: &[String],
) -> Vec<Series> {
    report
        .partners
        .iter()
        .map(|p| Series {
            name: p.name.clone(),
            values: x_keys
                .iter()
                .map(|x| lookup(totals, &[p.id.as_str(), x]).unwrap_or(Some(0)))
                .collect(),
        })
        .collect()
}

fn overview_charts(report: &Report, t: &Tables<Published>) -> Result<Vec<Chart>> {
    let min = report.meta.min_count;
    let years = year_range(t);
    if years.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();

    // Items shared per year, stacked by partner.
    let series = partner_series(report, &t.by_partner_year, &years);
    let (rows, suppressed) = chart_table(&years, &series);
    let peak = t
        .by_year
        .iter()
        .filter_map(|y| y.items.map(|n| (n, y.key[0].clone())))
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut summary = format!(
        "Items shared with {} partner(s), by the year the items were created, {}–{}.",
        report.partners.len(),
        years[0],
        years[years.len() - 1]
    );
    if let Some((n, year)) = peak {
        summary.push_str(&format!(
            " The most items were created in {year} ({}).",
            thousands(n)
        ));
    }
    summary.push_str(&suppressed_note(suppressed, min));
    let title = "Items shared per year of creation, by partner";
    out.push(Chart {
        file: "charts/items-per-year.svg".into(),
        title: title.into(),
        svg: charts::stacked_bars(title, &summary, &years, &series, "items")?,
        summary,
        table_head: series_head("Year", &series),
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
    let (rows, suppressed) = chart_table(&labels, &series);
    let top = t
        .by_category
        .iter()
        .filter_map(|c| c.items.map(|n| (n, c.key[0].clone())))
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut summary = format!(
        "Items shared per content category, split by partner, across {} categories.",
        cats.len()
    );
    if let Some((n, cat)) = top {
        summary.push_str(&format!(
            " The largest category is {} ({} items).",
            report.category_label(&cat),
            thousands(n)
        ));
    }
    summary.push_str(&suppressed_note(suppressed, min));
    let title = "Items shared per content category, by partner";
    out.push(Chart {
        file: "charts/items-per-category.svg".into(),
        title: title.into(),
        svg: charts::stacked_bars(title, &summary, &labels, &series, "items")?,
        summary,
        table_head: series_head("Category", &series),
        table_rows: rows,
        source: "shared-items",
        drawn: true,
    });
    Ok(out)
}

fn opt_out_chart(t: &Tables<Published>, band: Option<u64>) -> Result<Option<Chart>> {
    if t.opt_outs_monthly.is_empty() {
        return Ok(None);
    }
    let months: Vec<String> = t.opt_outs_monthly.iter().map(|r| r.month.clone()).collect();
    let bars = Series {
        name: "New opt-outs".into(),
        values: t.opt_outs_monthly.iter().map(|r| r.opted_out).collect(),
    };
    let line = Series {
        name: "Active opt-outs (running total)".into(),
        values: t.opt_outs_monthly.iter().map(|r| r.active).collect(),
    };
    let title = "Opt-outs per month and running total";
    let file = "charts/opt-outs-monthly.svg";
    let series = [bars, line];
    if let Some(width) = band {
        let x = ("Month", months.as_slice());
        return Ok(Some(table_only(
            file,
            title,
            x,
            &series,
            "opt-outs-monthly",
            width,
        )));
    }
    let head = series_head("Month", &series);
    let [bars, line] = series;
    let last = t.opt_outs_monthly.last();
    let mut summary = format!(
        "New opt-outs per month from {} to {}, with the number of owners opted out at each month end.",
        months[0],
        months[months.len() - 1]
    );
    if let Some(Some(active)) = last.map(|r| r.active) {
        summary.push_str(&format!(
            " At the end of {}, {} owners were opted out.",
            months[months.len() - 1],
            thousands(active)
        ));
    }
    Ok(Some(Chart {
        file: file.into(),
        title: title.into(),
        svg: charts::bars_and_line(title, &summary, &months, &bars, &line, "owners")?,
        summary,
        table_head: head,
        table_rows: t
            .opt_outs_monthly
            .iter()
            .map(|r| vec![r.month.clone(), count(r.opted_out), count(r.active)])
            .collect(),
        source: "opt-outs-monthly",
        drawn: true,
    }))
}

/// A banded count as the pages show it: `250–499`.
fn band_label(v: Published, width: u64) -> String {
    match v {
        Some(lo) => format!("{}–{}", thousands(lo), thousands(lo + width - 1)),
        None => format::SUPPRESSED.to_owned(),
    }
}

/// A chart whose counts are banded: only its table, with the bands, and no drawing.
fn table_only(
    file: &str,
    title: &str,
    x: (&str, &[String]),
    series: &[Series],
    source: &'static str,
    width: u64,
) -> Chart {
    let (table_rows, _) = chart_table_with(x.1, series, &|v| band_label(v, width));
    Chart {
        file: file.into(),
        title: title.into(),
        summary: format!(
            "These counts are published in bands of {} ({source}.csv), so they are not drawn: the table gives the band of each.",
            thousands(width)
        ),
        table_head: series_head(x.0, series),
        table_rows,
        svg: String::new(),
        source,
        drawn: false,
    }
}

/// The header of a chart's table: the x column, then one column per series.
fn series_head(x: &str, series: &[Series]) -> Vec<String> {
    std::iter::once(x.to_owned())
        .chain(series.iter().map(|s| s.name.clone()))
        .collect()
}

/// A reader's name for a signal slug.
fn signal_label(signal: &str) -> &str {
    match signal {
        "account-setting" => "Account setting",
        "support-request" => "Support request",
        "robots-txt" => "robots.txt AI-crawler tokens",
        "tdmrep" => "TDM reservation (TDMRep)",
        "gpc" => "Global Privacy Control",
        "other" => "Other",
        other => other,
    }
}

/// A reader's name for a protection setting slug.
fn protection_label(setting: &str) -> String {
    match setting {
        "discourage-ai-crawlers" => "Discourage AI crawlers".to_owned(),
        "discourage-search-indexing" => "Discourage search indexing".to_owned(),
        other => other.replace('-', " "),
    }
}

/// New opt-outs per month stacked by signal; `None` when the source gives no signals.
fn signal_chart(
    report: &Report,
    t: &Tables<Published>,
    band: Option<u64>,
) -> Result<Option<Chart>> {
    let rows = &t.opt_outs_monthly;
    let has_signals = rows
        .iter()
        .any(|r| r.by_signal().iter().any(Option::is_some));
    if rows.is_empty() || !has_signals {
        return Ok(None);
    }
    let min = report.meta.min_count;
    let months: Vec<String> = rows.iter().map(|r| r.month.clone()).collect();
    // Signals nobody used are left out of the legend; a suppressed value is not drawn.
    let series: Vec<Series> = crate::model::SIGNALS
        .iter()
        .enumerate()
        // A band's first value is 0 for small counts as well as for none: keep every signal then.
        .filter(|(k, _)| {
            rows.iter().any(|r| match band {
                Some(_) => r.by_signal()[*k].is_some(),
                None => r.by_signal()[*k] != Some(Some(0)),
            })
        })
        .map(|(k, signal)| Series {
            name: signal_label(signal).to_owned(),
            values: rows.iter().map(|r| r.by_signal()[k].flatten()).collect(),
        })
        .collect();
    let title = "New opt-outs per month, by signal";
    let file = "charts/opt-outs-by-signal.svg";
    if let Some(width) = band {
        let x = ("Month", months.as_slice());
        return Ok(Some(table_only(
            file,
            title,
            x,
            &series,
            "opt-outs-monthly",
            width,
        )));
    }
    let head = series_head("Month", &series);
    let (table_rows, suppressed) = chart_table(&months, &series);
    let totals: Vec<(String, u64)> = series
        .iter()
        .map(|s| (s.name.clone(), s.values.iter().flatten().sum()))
        .collect();
    let top = totals
        .iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)));
    let mut summary = format!(
        "New opt-outs per month from {} to {}, stacked by how people opted out ({} ways).",
        months[0],
        months[months.len() - 1],
        series.len()
    );
    if let Some((name, n)) = top {
        summary.push_str(&format!(" The most used was {name} ({}).", thousands(*n)));
    }
    summary.push_str(&suppressed_note(suppressed, min));
    Ok(Some(Chart {
        file: file.into(),
        title: title.into(),
        svg: charts::stacked_bars(title, &summary, &months, &series, "opt-outs")?,
        summary,
        table_head: head,
        table_rows,
        source: "opt-outs-monthly",
        drawn: true,
    }))
}

/// Accounts with each site-level protection on, per month; `None` without the table.
fn protection_chart(
    report: &Report,
    t: &Tables<Published>,
    band: Option<u64>,
) -> Result<Option<Chart>> {
    if t.protections.is_empty() {
        return Ok(None);
    }
    let min = report.meta.min_count;
    let months: Vec<String> = t
        .protections
        .iter()
        .map(|r| r.month.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let settings: Vec<String> = t
        .protections
        .iter()
        .map(|r| r.setting.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let series: Vec<Series> = settings
        .iter()
        .map(|setting| Series {
            name: protection_label(setting),
            values: months
                .iter()
                .map(|m| {
                    t.protections
                        .iter()
                        .find(|r| &r.month == m && &r.setting == setting)
                        .and_then(|r| r.accounts)
                })
                .collect(),
        })
        .collect();
    let title = "Site-level protections switched on, per month";
    let file = "charts/protections-monthly.svg";
    if let Some(width) = band {
        let x = ("Month", months.as_slice());
        return Ok(Some(table_only(
            file,
            title,
            x,
            &series,
            "protections-monthly",
            width,
        )));
    }
    let head = series_head("Month", &series);
    let (table_rows, suppressed) = chart_table(&months, &series);
    let mut summary = format!(
        "Accounts with each site-level protection switched on at the end of each month, {} to {}.",
        months[0],
        months[months.len() - 1]
    );
    for s in &series {
        if let Some(Some(last)) = s.values.last() {
            summary.push_str(&format!(
                " {}: {} at the end of {}.",
                s.name,
                thousands(*last),
                months[months.len() - 1]
            ));
        }
    }
    summary.push_str(&suppressed_note(suppressed, min));
    Ok(Some(Chart {
        file: file.into(),
        title: title.into(),
        svg: charts::lines(title, &summary, &months, &series, "accounts")?,
        summary,
        table_head: head,
        table_rows,
        source: "protections-monthly",
        drawn: true,
    }))
}

fn partner_chart(report: &Report, t: &Tables<Published>, partner: &Partner) -> Result<Chart> {
    let min = report.meta.min_count;
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
                    .unwrap_or(Some(0))
                })
                .collect(),
        })
        .collect();
    let (rows, suppressed) = chart_table(&years, &series);
    let total = t
        .partners
        .iter()
        .find(|r| r.partner == partner.id.as_str())
        .and_then(|r| r.items);
    let mut summary = match total {
        Some(0) | None if years.is_empty() => format!("{} received no items.", partner.name),
        _ => format!(
            "Items shared with {} by year of creation, stacked by content category; {} items in all.",
            partner.name,
            count(total)
        ),
    };
    summary.push_str(&suppressed_note(suppressed, min));
    let title = format!("{}: items per category and year", partner.name);
    Ok(Chart {
        file: format!("charts/partner-{}.svg", partner.id),
        svg: charts::stacked_bars(&title, &summary, &years, &series, "items")?,
        title,
        summary,
        table_head: series_head("Year", &series),
        table_rows: rows,
        source: "shared-items",
        drawn: true,
    })
}

/// Deletion requests to one partner per month sent, stacked by status; `None` without requests.
fn deletion_chart(t: &Tables<Published>, partner: &Partner) -> Result<Option<Chart>> {
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
    let row_of = |m: &str| rows.iter().find(|r| r.month == m);
    // Each request is in exactly one of four states; the bars stack them.
    let names = [
        "Completed in time",
        "Completed late",
        "Open past the deadline",
        "Open within the deadline",
    ];
    let states: Vec<[u64; 4]> = months
        .iter()
        .map(|m| {
            let Some(r) = row_of(m) else {
                return [0; 4];
            };
            let open_overdue = r.requests_overdue - r.requests_completed_late;
            [
                r.requests_completed - r.requests_completed_late,
                r.requests_completed_late,
                open_overdue,
                r.requests_open - open_overdue,
            ]
        })
        .collect();
    let series: Vec<Series> = names
        .iter()
        .enumerate()
        .map(|(k, name)| Series {
            name: (*name).to_owned(),
            values: states.iter().map(|s| Some(s[k])).collect(),
        })
        .collect();
    let requests: u64 = rows.iter().map(|r| r.requests).sum();
    let overdue: u64 = rows.iter().map(|r| r.requests_overdue).sum();
    let summary = format!(
        "Deletion requests sent to {} per month, by what became of them: {} request(s) from {} to {}, {} of them overdue.",
        partner.name,
        thousands(requests),
        months[0],
        months[months.len() - 1],
        thousands(overdue)
    );
    let title = format!("{}: deletion requests per month", partner.name);
    let (table_rows, _) = chart_table(&months, &series);
    Ok(Some(Chart {
        file: format!("charts/deletions-{}.svg", partner.id),
        svg: charts::stacked_bars(&title, &summary, &months, &series, "requests")?,
        title,
        summary,
        table_head: series_head("Month sent", &series),
        table_rows,
        source: "deletions",
        drawn: true,
    }))
}

fn severity_label(s: crate::model::Severity) -> &'static str {
    match s {
        crate::model::Severity::High => "High",
        crate::model::Severity::Medium => "Medium",
        crate::model::Severity::Info => "Info",
    }
}

/// What each finding id means, for the findings page.
const FINDING_KINDS: [(&str, &str); 8] = [
    (
        "opted-out-content-shared",
        "Items whose owner was opted out when the batch was exported (from the opt-out ledger joined with the item listing, or declared in the manifest). High.",
    ),
    (
        "sensitive-content-shared",
        "Items marked private, deleted, suspended, explicit or created by a minor; one finding per export and flag. High when the manifest's filters claimed to exclude them (public_only covers private and suspended content), else medium.",
    ),
    (
        "declared-count-mismatch",
        "The counts a manifest declares differ from the counts computed from its item listing; the count is the (category, year) cells that differ. High.",
    ),
    (
        "outside-content-window",
        "Items created outside the content window the manifest claims; from declared counts only whole years outside the window can be counted, so the figure is a lower bound. Medium.",
    ),
    (
        "checksum-mismatch",
        "A shipped file kept under the report root whose SHA-256 (or size) differs from the manifest. High.",
    ),
    (
        "deletion-overdue",
        "Deletion requests not completed within the partner's deadline: completed late, or still open at the end of the report's date. One finding per partner; the count is requests. High.",
    ),
    (
        "opt-out-not-honoured",
        "A partner that received data although its agreement does not say it honours opt-outs (no or unknown). Info.",
    ),
    (
        "opt-out-statistics-mismatch",
        "The monthly opt-out table disagrees with the opt-out ledger; the count is months. Medium.",
    ),
];

/// Page rendering with the shared context.
struct Pages<'a> {
    report: &'a Report,
    t: &'a Tables<Published>,
    engine: &'a templates::Engine,
    findings: &'a [PublishedFinding],
    protection: &'a Protection,
    /// An auditor's build: exact counts, marked "not for publication".
    exact: bool,
    /// The tables as this build writes them.
    docs: &'a [dictionary::TableDoc],
}

impl Pages<'_> {
    fn min(&self) -> u64 {
        self.report.meta.min_count
    }

    /// The context every page gets; `root` is the relative path back to the site root.
    fn base(&self, root: &str, current: &str, title: &str) -> Value {
        let m = &self.report.meta;
        let mut nav = vec![
            json!({"title": "Overview", "href": format!("{root}index.html"), "current": current == "index"}),
            json!({"title": "Findings", "href": format!("{root}findings/index.html"), "current": current == "findings"}),
            json!({"title": "Opt-outs", "href": format!("{root}opt-outs/index.html"), "current": current == "opt-outs"}),
            json!({"title": "Data", "href": format!("{root}data/index.html"), "current": current == "data"}),
        ];
        for page in self.report.pages.iter().filter(|p| p.in_nav) {
            nav.push(json!({
                "title": page.title,
                "href": format!("{root}{}/index.html", page.slug),
                "current": current == page.slug,
            }));
        }
        json!({
            "root": root,
            "page_title": title,
            "not_for_publication": self.exact,
            "nav": nav,
            "site": {
                "title": m.title,
                "platform": m.platform.name,
                "platform_url": safe_url(m.platform.url.as_deref()),
                "contact": m.platform.contact,
                "contact_url": m.platform.contact.as_deref().and_then(|c| {
                    if c.contains('@') && !c.contains(':') { Some(format!("mailto:{c}")) } else { safe_url(Some(c)) }
                }),
                "published": m.published.to_string(),
                "period_from": m.period_from.to_string(),
                "period_to": m.period_to.to_string(),
                "language": m.language,
                "min_count": m.min_count,
            },
        })
    }

    fn render(&self, template: &str, mut ctx: Value, extra: Value) -> Result<Vec<u8>> {
        if let (Some(ctx), Some(extra)) = (ctx.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                ctx.insert(k.clone(), v.clone());
            }
        }
        self.engine.render(template, &ctx).map(String::into_bytes)
    }

    /// Findings for the templates, filtered by `keep`.
    fn finding_list(&self, root: &str, keep: impl Fn(&PublishedFinding) -> bool) -> Vec<Value> {
        self.findings
            .iter()
            .filter(|f| keep(f))
            .map(|f| {
                json!({
                    "id": f.id,
                    "severity": f.severity.slug(),
                    "severity_label": severity_label(f.severity),
                    "partner": (!f.partner.is_empty()).then(|| partner_name(self.report, &f.partner)),
                    "partner_href": (!f.partner.is_empty()).then(|| format!("{root}partners/{}/index.html", f.partner)),
                    "export": (!f.export.is_empty()).then_some(&f.export),
                    "export_href": (!f.export.is_empty()).then(|| format!("{root}exports/{}/index.html", f.export)),
                    "flag": (!f.flag.is_empty()).then_some(&f.flag),
                    "count": count(f.count),
                    "message": f.message,
                })
            })
            .collect()
    }

    /// Findings per severity, for summaries: [{severity, label, n}] for each severity present.
    fn finding_counts(&self, keep: impl Fn(&PublishedFinding) -> bool) -> Vec<Value> {
        use crate::model::Severity;
        [Severity::High, Severity::Medium, Severity::Info]
            .iter()
            .map(|s| {
                let n = self
                    .findings
                    .iter()
                    .filter(|f| f.severity == *s && keep(f))
                    .count();
                json!({"severity": s.slug(), "label": severity_label(*s), "n": n})
            })
            .collect()
    }

    fn findings(&self) -> Result<Vec<u8>> {
        let root = "../";
        let extra = json!({
            "findings": self.finding_list(root, |_| true),
            "counts": self.finding_counts(|_| true),
            "kinds": FINDING_KINDS.iter().map(|(id, what)| json!({"id": id, "what": what})).collect::<Vec<_>>(),
        });
        self.render(
            "findings.html",
            self.base(root, "findings", "Findings"),
            extra,
        )
    }

    fn export_summary(&self, root: &str, e: &crate::aggregate::ExportRow<Published>) -> Value {
        json!({
            "id": e.export,
            "href": format!("{root}exports/{}/index.html", e.export),
            "partner": partner_name(self.report, &e.partner),
            "partner_href": format!("{root}partners/{}/index.html", e.partner),
            "exported_at": crate::time::display_instant(&e.exported_at),
            "items": count(e.items),
            "categories": e.categories,
            "opt_outs_in_force": e.opt_outs_in_force.map(count),
            "years": match (e.first_year, e.last_year) {
                (Some(a), Some(b)) if a == b => a.to_string(),
                (Some(a), Some(b)) => format!("{a}–{b}"),
                _ => "–".to_owned(),
            },
        })
    }

    fn overview(&self, charts: &[Chart]) -> Result<Vec<u8>> {
        let root = "";
        let years = year_range(self.t);
        let partners: Vec<Value> = self
            .t
            .partners
            .iter()
            .map(|p| {
                json!({
                    "id": p.partner,
                    "name": p.name,
                    "href": format!("partners/{}/index.html", p.partner),
                    "country": p.country,
                    "purposes": self.report.partner(&p.partner)
                        .map(|x| x.purposes.iter().map(|u| u.label()).collect::<Vec<_>>().join(", ")),
                    "exports": p.exports,
                    "items": count(p.items),
                    "honours_opt_out": p.honours_opt_out,
                })
            })
            .collect();
        let exports: Vec<Value> = self
            .t
            .exports
            .iter()
            .map(|e| self.export_summary(root, e))
            .collect();
        let extra = json!({
            "totals": {
                "items": count(self.t.total_items),
                "partners": self.report.partners.len(),
                "exports": self.report.exports.len(),
                "categories": self.report.meta.categories.len(),
                "first_year": years.first(),
                "last_year": years.last(),
            },
            "charts": charts,
            "partners": partners,
            "exports": exports,
            "findings": self.finding_list(root, |f| f.severity == crate::model::Severity::High),
            "finding_counts": self.finding_counts(|_| true),
            "findings_total": self.findings.len(),
        });
        self.render(
            "index.html",
            self.base(root, "index", &self.report.meta.title),
            extra,
        )
    }

    fn partner(
        &self,
        partner: &Partner,
        chart: &Chart,
        deletion_chart: Option<&Chart>,
    ) -> Result<Vec<u8>> {
        let root = "../../";
        let row = self
            .t
            .partners
            .iter()
            .find(|r| r.partner == partner.id.as_str());
        let exports: Vec<Value> = self
            .t
            .exports
            .iter()
            .filter(|e| e.partner == partner.id.as_str())
            .map(|e| self.export_summary(root, e))
            .collect();
        let description = partner
            .description
            .as_deref()
            .map(|d| markdown::render(d).html);
        let mut covered_by = vec!["opt-outs from all third parties"];
        if partner
            .purposes
            .contains(&crate::model::Purpose::AiTraining)
        {
            covered_by.push("opt-outs from AI training (it trains AI models)");
        }
        covered_by.push("opt-outs naming this partner");
        let extra = json!({
            "partner": {
                "id": partner.id,
                "name": partner.name,
                "country": partner.country,
                "purposes": partner.purposes.iter().map(|p| p.label()).collect::<Vec<_>>(),
                "legal_basis": partner.legal_basis.slug(),
                "honours_opt_out": partner.honours_opt_out.slug(),
                "agreement_signed": partner.agreement_signed.to_string(),
                "agreement_ends": partner.agreement_ends.map(|d| d.to_string()),
                "agreement_url": safe_url(partner.agreement_url.as_deref()),
                "deletion_deadline_days": partner.deletion_deadline_days,
                "ai_act_summary_url": safe_url(partner.ai_act_summary_url.as_deref()),
                "description_html": description,
                "items": count(row.and_then(|r| r.items)),
                "exports": row.map_or(0, |r| r.exports),
                "opt_outs_in_force": row.and_then(|r| r.opt_outs_in_force).map(count),
                "items_opted_out_now": row.and_then(|r| r.items_opted_out_now).map(count),
                "items_requested": self.t.deletion_items.iter().find(|d| d.key[0] == partner.id.as_str()).map_or_else(|| "0".to_owned(), |d| self.shown("deletions", d.items)),
                "covered_by": covered_by,
            },
            "has_ledger": self.report.ledger.is_some(),
            "exports": exports,
            "chart": chart,
            "findings": self.finding_list(root, |f| f.partner == partner.id.as_str()),
            "deletions": self.t.deletions.iter().filter(|r| r.partner == partner.id.as_str()).map(|r| json!({
                "month": r.month,
                "requests": thousands(r.requests),
                "acknowledged": thousands(r.requests_acknowledged),
                "completed": thousands(r.requests_completed),
                "late": thousands(r.requests_completed_late),
                "open": thousands(r.requests_open),
                "overdue": thousands(r.requests_overdue),
                "items": self.shown("deletions", r.items),
                "items_completed": self.shown("deletions", r.items_completed),
                "items_overdue": self.shown("deletions", r.items_overdue),
            })).collect::<Vec<_>>(),
            "deletion_chart": deletion_chart,
        });
        self.render(
            "partner.html",
            self.base(root, "partners", &partner.name),
            extra,
        )
    }

    fn export(&self, export: &Export) -> Result<Vec<u8>> {
        let root = "../../";
        let row = self
            .t
            .exports
            .iter()
            .find(|e| e.export == export.id.as_str());
        let rows: Vec<Value> = self
            .t
            .shared_items
            .iter()
            .filter(|r| r.export == export.id.as_str())
            .map(|r| {
                json!({
                    "category": self.report.category_label(&r.category),
                    "year": r.year,
                    "items": count(r.items),
                    "private": count(r.private),
                    "deleted": count(r.deleted),
                    "suspended": count(r.suspended),
                    "explicit": count(r.explicit),
                    "minor": count(r.minor),
                    "opted_out": r.opted_out.map(count),
                })
            })
            .collect();
        let f = export.filters;
        let filters = [
            ("Public posts only", f.public_only),
            ("Opted-out owners excluded", f.exclude_opted_out),
            ("Deleted content excluded", f.exclude_deleted),
            ("Explicit content excluded", f.exclude_explicit),
            ("Minors' content excluded", f.exclude_minors),
        ]
        .iter()
        .map(|(label, on)| json!({"label": label, "claimed": on}))
        .collect::<Vec<_>>();
        let differing: Vec<&str> = self
            .t
            .findings
            .iter()
            .filter(|f| f.export.as_deref() == Some(export.id.as_str()))
            .filter_map(|f| match &f.detail {
                findings::Detail::Checksum { files } => Some(files.iter().map(String::as_str)),
                _ => None,
            })
            .flatten()
            .collect();
        let files: Vec<Value> = export
            .files
            .iter()
            .map(|f| {
                let status = if f.local.is_none() {
                    "not kept under the report root: not verified"
                } else if differing.contains(&f.path.as_str()) {
                    "differs from the file kept under the report root"
                } else {
                    "verified against the file kept under the report root"
                };
                json!({"path": f.path, "sha256": f.sha256, "bytes": f.bytes, "status": status})
            })
            .collect();
        let source = match (&export.items, &export.counts) {
            (Some(_), Some(_)) => "item listing (declared counts also given)",
            (Some(_), None) => "item listing",
            _ => "declared counts",
        };
        let extra = json!({
            "export": {
                "id": export.id,
                "partner": partner_name(self.report, export.partner.as_str()),
                "partner_href": format!("{root}partners/{}/index.html", export.partner),
                "exported_at": format_instant(&export.exported_at),
                "outside_period": !self.report.meta.in_period(&export.exported_at),
                "description": export.description,
                "window_from": export.content_window.and_then(|w| w.0).map(|d| d.to_string()),
                "window_to": export.content_window.and_then(|w| w.1).map(|d| d.to_string()),
                "source": source,
                "items": count(row.and_then(|r| r.items)),
                "opt_outs_in_force": row.and_then(|r| r.opt_outs_in_force).map(count),
                "filters": filters,
                "files": files,
            },
            "rows": rows,
            "has_opted_out": rows.iter().any(|r| !r["opted_out"].is_null()),
            "findings": self.finding_list(root, |f| f.export == export.id.as_str()),
        });
        self.render(
            "export.html",
            self.base(root, "exports", export.id.as_str()),
            extra,
        )
    }

    fn opt_outs(&self, charts: [&Option<Chart>; 3]) -> Result<Vec<u8>> {
        let [chart, signal_chart, protection_chart] = charts;
        let rows: Vec<Value> = self
            .t
            .opt_outs_monthly
            .iter()
            .map(|r| {
                json!({
                    "month": r.month,
                    "opted_out": self.shown("opt-outs-monthly", r.opted_out),
                    "withdrawn": self.shown("opt-outs-monthly", r.withdrawn),
                    "active": self.shown("opt-outs-monthly", r.active),
                    "accounts": r.accounts.map(|a| self.shown("opt-outs-monthly", a)),
                })
            })
            .collect();
        use crate::aggregate::OptOutSource;
        let source = match self.t.opt_outs_source {
            OptOutSource::None => None,
            OptOutSource::Monthly => Some("the platform's monthly opt-out table"),
            OptOutSource::Ledger => Some("the opt-out ledger (one row per opt-out)"),
            OptOutSource::Both => Some(
                "the opt-out ledger (one row per opt-out), checked against the platform's monthly table; eligible accounts come from the monthly table",
            ),
        };
        let scope_label = |r: &crate::aggregate::ScopeRow<Published>| match r.scope.as_str() {
            "all-third-parties" => "All third parties".to_owned(),
            "ai-training" => "AI training (every partner whose purposes include it)".to_owned(),
            _ => format!("Only {}", partner_name(self.report, &r.partner)),
        };
        let scopes: Vec<Value> = self
            .t
            .scopes
            .iter()
            .map(|r| json!({"label": scope_label(r), "active": self.shown("opt-out-scopes", r.active)}))
            .collect();
        let extra = json!({
            "rows": rows,
            "chart": chart,
            "signal_chart": signal_chart,
            "protection_chart": protection_chart,
            "scopes": scopes,
            "source": source,
            "findings": self.finding_list("../", |f| f.id == "opt-out-statistics-mismatch"),
        });
        self.render(
            "opt_outs.html",
            self.base("../", "opt-outs", "Opt-outs"),
            extra,
        )
    }

    /// A published count of `table` as the pages show it: its band when the table is banded.
    fn shown(&self, table: &str, v: Published) -> String {
        match self.report.meta.bands_for(table, self.exact) {
            Some(b) => band_label(v, b.width),
            None => count(v),
        }
    }

    /// The "About these numbers" section: how suppression was done, with this report's figures.
    fn about_numbers(&self) -> Vec<String> {
        let min = self.min();
        if self.exact {
            return vec![
                "NOT FOR PUBLICATION. This is an auditor's build (sharelog build --unsuppressed): every count is exact and nothing is suppressed. Publish only the normal build.".to_owned(),
            ];
        }
        let p = self.protection;
        let mut out = vec![
            format!(
                "Small counts are suppressed: a count from 1 to {} is not published (primary suppression, {} in this report). Zero is always published.",
                min.saturating_sub(1),
                thousands(p.primary as u64)
            ),
            format!(
                "Published numbers add up, so a small count could be worked out by subtraction: from an export's total and its other rows, say. To prevent that, {} further counts are suppressed (secondary suppression). Every suppressed count looks the same, whatever the reason: an empty cell in CSV, null in JSON and Parquet, \"{}\" on the pages; telling them apart would tell you which hidden counts are large.",
                thousands(p.secondary as u64),
                format::SUPPRESSED
            ),
            "The numbers add up in these ways, and all of them are taken into account: the rows of shared-items add up to their export's total in exports, and per partner, year and category to the totals on the overview and partner pages; exports add up to their partner's total in partners; each sensitive-content or opted-out finding is the sum of its column over the export's rows, and an outside-content-window finding the sum of the years outside the window; each month's active opt-outs are the previous month's plus the new ones minus the withdrawn, and the signal columns add up to opted_out; a partner's deletion items add up over the months of deletions. Counts of the platform's own records (requests, files, months) are never suppressed.".to_owned(),
            "The method: while some relation has exactly one suppressed count, the smallest non-zero published count of that relation is suppressed too. A relation whose suppressed counts could only be 1 each (zero is never suppressed) gets one more. Finally every relation is solved together, exactly (Gaussian elimination), and any suppressed count the published numbers still determine gets a further count suppressed beside it, until none is determined. Totals stay exact: they include the suppressed counts.".to_owned(),
            "What it does not promise: a reader can still narrow a suppressed count to a range (at least 1, and at most the smallest total it is part of), and combinations of ranges across many relations are not checked for an exact answer.".to_owned(),
        ];
        if let Some(b) = &self.report.meta.bands {
            out.push(format!(
                "Bands: the counts of {} are published as the band of {} that holds them (0-{}, {}-{}, …) instead of exactly, {} counts in all. A band is never suppressed, and it is treated like a hidden count above: no exact total may give a banded count away, so totals that would are suppressed too. Without requests of a kind there are no items of it, so those counts are known to be 0 and do not need protecting.",
                b.tables.join(", "),
                thousands(b.width),
                b.width - 1,
                b.width,
                2 * b.width - 1,
                thousands(p.banded as u64)
            ));
        }
        out
    }

    fn data(&self) -> Result<Vec<u8>> {
        let tables: Vec<Value> = self
            .docs
            .iter()
            .map(|d| {
                json!({
                    "name": d.name,
                    "csv": format!("{}.csv", d.name),
                    "json": format!("{}.json", d.name),
                    "parquet": format!("{}.parquet", d.name),
                    "title": d.title,
                    "row": d.row,
                    "primary_key": d.primary_key,
                    "columns": d.columns.iter().map(|c| json!({
                        "name": c.name,
                        "type": c.band.map_or_else(|| c.kind.label().to_owned(), |w| format!("band of {w}, e.g. 0-{}", w - 1)),
                        "unit": c.unit,
                        "description": c.description,
                        "suppressed": c.suppressed,
                        "empty": c.empty,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let extra = json!({
            "tables": tables,
            "about_numbers": self.about_numbers(),
        });
        self.render(
            "data.html",
            self.base("../", "data", "Data and downloads"),
            extra,
        )
    }

    /// `corrections/index.html`: the errata log.
    fn corrections(&self) -> Result<Vec<u8>> {
        let corrections: Vec<Value> = self
            .report
            .corrections
            .iter()
            .map(|c| {
                json!({
                    "date": c.date.to_string(),
                    "what": c.what,
                    "why": c.why,
                    "anchor": feeds::correction_anchor(c),
                })
            })
            .collect();
        self.render(
            "corrections.html",
            self.base("../", "corrections", "Corrections"),
            json!({ "corrections": corrections }),
        )
    }

    /// `data/about.html`: the datasheet, from `report.yaml`, the manifests and the tables.
    fn about_data(&self, rows: &BTreeMap<&str, usize>, corrections: bool) -> Result<Vec<u8>> {
        use crate::aggregate::OptOutSource;
        let m = &self.report.meta;
        let years = year_range(self.t);
        let batches: Vec<Value> = self
            .report
            .exports
            .iter()
            .map(|e| {
                let f = &e.filters;
                let filters: Vec<&str> = [
                    (f.public_only, "non-public posts"),
                    (f.exclude_opted_out, "opted-out users' content"),
                    (f.exclude_deleted, "deleted content"),
                    (f.exclude_explicit, "explicit content"),
                    (f.exclude_minors, "minors' content"),
                ]
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, what)| *what)
                .collect();
                json!({
                    "id": e.id.0,
                    "partner": partner_name(self.report, &e.partner.0),
                    "exported_at": crate::time::format_instant(&e.exported_at),
                    "source": if e.items.is_some() { "its item listing" } else { "the counts declared in its manifest" },
                    "filters": filters,
                })
            })
            .collect();
        let tables: Vec<Value> = dictionary::all()
            .iter()
            .map(|d| json!({"name": d.name, "title": d.title, "row": d.row, "rows": rows.get(d.name).copied().unwrap_or(0)}))
            .collect();
        let sources: Vec<Value> = m
            .sources
            .iter()
            .map(|s| json!({"title": s.title, "url": safe_url(s.url.as_deref()), "description": s.description}))
            .collect();
        let about = json!({
            "description": package::description(self.report),
            "partners": self.report.partners.len(),
            "exports": self.report.exports.len(),
            "items": count(self.t.total_items),
            "first_year": years.first(),
            "last_year": years.last(),
            "categories": m.categories.iter().map(|c| json!({"id": c.id.0, "label": c.label, "description": c.description})).collect::<Vec<_>>(),
            "opt_out_source": match self.t.opt_outs_source {
                OptOutSource::None => "nowhere: the platform supplied no opt-out records",
                OptOutSource::Monthly => "the platform's monthly opt-out statistics (data/opt-outs/monthly.csv)",
                OptOutSource::Ledger => "the platform's opt-out ledger, one row per opt-out",
                OptOutSource::Both => "the platform's opt-out ledger, one row per opt-out, checked against its monthly statistics",
            },
            "batches": batches,
            "tables": tables,
            "sources": sources,
            "license": m.license.as_ref().map(|l| json!({"id": l.id, "url": safe_url(l.url.as_deref()), "title": l.title})),
            "version": env!("CARGO_PKG_VERSION"),
            "corrections": corrections,
        });
        self.render(
            "about_data.html",
            self.base("../", "data", "About this data"),
            json!({ "about": about }),
        )
    }

    fn content(&self, page: &crate::model::Page) -> Result<Vec<u8>> {
        let depth = page.slug.split('/').count();
        let root = "../".repeat(depth);
        let extra = json!({
            "page": {
                "title": page.title,
                "description": page.description,
                "html": page.html,
                "toc": page.toc.iter().map(|(level, id, text)| json!({"level": level, "id": id, "text": text})).collect::<Vec<_>>(),
            }
        });
        self.render(
            "page.html",
            self.base(&root, &page.slug, &page.title),
            extra,
        )
    }
}
