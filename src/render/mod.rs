//! Render stage: checked report + tables → [`Site`], every file in memory. Nothing here touches disk.

pub(crate) mod charts;
mod dictionary;
mod downloads;
mod feeds;
mod findings;
pub(crate) mod format;
pub(crate) mod markdown;
mod package;
mod templates;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use self::charts::{Chart, Series};
use self::findings::PublishedFinding;
use crate::aggregate::Tables;
use crate::error::Result;
use crate::i18n::Lang;
use crate::model::{Bands, Export, Partner, Report};
use crate::publish::protect::Protection;
use crate::publish::{Count, Publication, Rules};

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

/// Renders every page, chart and download of a publication: every count is shown as the
/// publish stage decided it.
pub(crate) fn render(report: &Report, publication: &Publication) -> Result<Site> {
    let exact = publication.rules.is_auditor();
    let rules = &publication.rules;
    let t = &publication.tables;
    let lang = std::sync::Arc::new(Lang::new(report.catalogue.clone())?);
    let engine = templates::Engine::new(&report.template_overrides, &lang)?;
    let mut site = Site::default();

    site.add("assets/style.css", engine.stylesheet().as_bytes().to_vec());
    let published_findings = findings::publish(report, &lang, &t.findings, &publication.findings)?;
    let output = Output { rules };
    add_downloads(&mut site, t, &published_findings, output)?;
    let docs: Vec<_> = dictionary::all()
        .into_iter()
        .map(|d| doc_for(d, output))
        .collect();

    let lang: &Lang = &lang;
    let overview_charts = overview_charts(report, rules, t, lang)?;
    let band = |table: &str| rules.bands_for(table).map(|b| b.width);
    let opt_out_chart = opt_out_chart(t, band("opt-outs-monthly"), lang)?;
    let signal_chart = signal_chart(rules, t, band("opt-outs-monthly"), lang)?;
    let protection_chart = protection_chart(rules, t, band("protections-monthly"), lang)?;
    let partner_charts = report
        .partners
        .iter()
        .map(|p| partner_chart(report, rules, t, p, lang))
        .collect::<Result<Vec<_>>>()?;
    let deletion_charts = report
        .partners
        .iter()
        .map(|p| deletion_chart(t, p, lang))
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
        rules,
        docs: &docs,
        lang,
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
        ("item-totals", downloads::item_totals(t).len()),
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
    site.add("feed.xml", feeds::feed(report, &t.exports, lang)?);
    let summary = feeds::summary(report, rules, t, &published_findings);
    site.add("data/report.json", downloads::json(&summary)?);
    let version = env!("CARGO_PKG_VERSION");
    let package = package::datapackage(report, &docs, &site, version, rules);
    site.add("data/datapackage.json", downloads::json(&package)?);
    let croissant = package::croissant(report, &docs, &site, rules);
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
    t: &Tables<Count>,
    findings: &[PublishedFinding],
    o: Output<'_>,
) -> Result<()> {
    add_table(site, dictionary::shared_items(), &t.shared_items, o)?;
    let totals = downloads::item_totals(t);
    add_table(site, dictionary::item_totals(), &totals, o)?;
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
    rules: &'a Rules,
}

impl Output<'_> {
    /// The bands `table` is written in by this build, if any.
    fn bands(&self, table: &str) -> Option<&Bands> {
        self.rules.bands_for(table)
    }

    /// An auditor's build.
    fn exact(&self) -> bool {
        self.rules.is_auditor()
    }
}

/// A table's dictionary entry as this build writes it: no column is suppressed in an auditor's
/// build or with `min_count: 1`.
fn doc_for(doc: dictionary::TableDoc, o: Output<'_>) -> dictionary::TableDoc {
    if o.exact() {
        return dictionary::marked(dictionary::exact(doc));
    }
    let doc = match o.bands(doc.name) {
        Some(b) => dictionary::banded(doc, b.width),
        None => doc,
    };
    if o.rules.hides_up_to().is_none() {
        dictionary::exact(doc)
    } else {
        doc
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
    if o.exact() {
        let doc = doc_for(doc, o);
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
fn year_range(t: &Tables<Count>) -> Vec<String> {
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

fn lookup(totals: &[crate::aggregate::Total<Count>], key: &[&str]) -> Option<Count> {
    totals
        .iter()
        .find(|t| t.key.iter().map(String::as_str).eq(key.iter().copied()))
        .map(|t| t.items)
}

/// Builds a chart's table (x label per row, one column per series) and counts suppressed cells.
fn chart_table(lang: &Lang, x_labels: &[String], series: &[Series]) -> (Vec<Vec<String>>, usize) {
    chart_table_with(x_labels, series, &|v| lang.count(v))
}

/// [`chart_table`] with its own way of showing a value.
fn chart_table_with(
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

fn suppressed_note(lang: &Lang, n: usize, min: u64) -> Result<String> {
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
fn partner_series(
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

fn overview_charts(
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
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
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
        svg: charts::stacked_bars(
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
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut summary = lang.f("chart.per_category_summary", &[("n", cats.len().into())])?;
    if let Some((n, cat)) = top {
        summary.push(' ');
        summary.push_str(&lang.f(
            "chart.per_category_top",
            &[
                ("category", report.category_label(&cat).into()),
                ("items", n.into()),
            ],
        )?);
    }
    summary.push_str(&suppressed_note(lang, suppressed, min)?);
    let title = lang.t("chart.per_category_title")?;
    out.push(Chart {
        file: "charts/items-per-category.svg".into(),
        svg: charts::stacked_bars(
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

fn opt_out_chart(t: &Tables<Count>, band: Option<u64>, lang: &Lang) -> Result<Option<Chart>> {
    if t.opt_outs_monthly.is_empty() {
        return Ok(None);
    }
    let months: Vec<String> = t.opt_outs_monthly.iter().map(|r| r.month.clone()).collect();
    let month_labels = lang.months(&months);
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
    let first_month = &month_labels[0];
    let last_month = &month_labels[month_labels.len() - 1];
    let mut summary = lang.f(
        "chart.opt_outs_summary",
        &[("from", first_month.into()), ("to", last_month.into())],
    )?;
    if let Some(Count::Exact(active)) = last.map(|r| r.active) {
        summary.push(' ');
        summary.push_str(&lang.f(
            "chart.opt_outs_last",
            &[("month", last_month.into()), ("owners", active.into())],
        )?);
    }
    Ok(Some(Chart {
        file: file.into(),
        svg: charts::bars_and_line(
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

/// A monthly chart whose counts are banded: only its table (a row per month, the bands), and no
/// drawing.
fn table_only(
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
fn series_head(x: &str, series: &[Series]) -> Vec<String> {
    std::iter::once(x.to_owned())
        .chain(series.iter().map(|s| s.name.clone()))
        .collect()
}

/// A reader's name for a signal slug.
fn signal_label(lang: &Lang, signal: &str) -> Result<String> {
    match signal {
        "account-setting" | "support-request" | "robots-txt" | "tdmrep" | "gpc" | "other" => {
            lang.t(&format!("signal.{signal}"))
        }
        other => Ok(other.to_owned()),
    }
}

/// A reader's name for a protection setting slug.
fn protection_label(lang: &Lang, setting: &str) -> Result<String> {
    match setting {
        "discourage-ai-crawlers" | "discourage-search-indexing" => {
            lang.t(&format!("protection.{setting}"))
        }
        other => Ok(other.replace('-', " ")),
    }
}

/// New opt-outs per month stacked by signal; `None` when the source gives no signals.
fn signal_chart(
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
    let months: Vec<String> = rows.iter().map(|r| r.month.clone()).collect();
    let month_labels = lang.months(&months);
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
    let totals: Vec<(String, u64)> = series
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.values.iter().filter_map(|v| v.exact()).sum(),
            )
        })
        .collect();
    let top = totals
        .iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)));
    let mut summary = lang.f(
        "chart.signals_summary",
        &[
            ("from", month_labels[0].clone().into()),
            ("to", month_labels[month_labels.len() - 1].clone().into()),
            ("n", series.len().into()),
        ],
    )?;
    if let Some((name, n)) = top {
        summary.push(' ');
        summary.push_str(&lang.f(
            "chart.signals_top",
            &[("signal", name.into()), ("count", (*n).into())],
        )?);
    }
    summary.push_str(&suppressed_note(lang, suppressed, min)?);
    Ok(Some(Chart {
        file: file.into(),
        svg: charts::stacked_bars(
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
fn protection_chart(
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
        svg: charts::lines(
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

fn partner_chart(
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
                ("items", lang.count(total).into()),
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
        svg: charts::stacked_bars(
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

/// Deletion requests to one partner per month sent, stacked by status; `None` without requests.
fn deletion_chart(t: &Tables<Count>, partner: &Partner, lang: &Lang) -> Result<Option<Chart>> {
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
        svg: charts::stacked_bars(
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

/// The finding ids, for the findings page's "what each check means".
const FINDING_KINDS: [&str; 8] = [
    "opted-out-content-shared",
    "sensitive-content-shared",
    "declared-count-mismatch",
    "outside-content-window",
    "checksum-mismatch",
    "deletion-overdue",
    "opt-out-not-honoured",
    "opt-out-statistics-mismatch",
];

/// Page rendering with the shared context.
struct Pages<'a> {
    report: &'a Report,
    t: &'a Tables<Count>,
    engine: &'a templates::Engine,
    findings: &'a [PublishedFinding],
    protection: &'a Protection,
    /// An auditor's build: exact counts, marked "not for publication".
    exact: bool,
    /// The rules the publication was made by (for the labels that describe it).
    rules: &'a Rules,
    /// The tables as this build writes them.
    docs: &'a [dictionary::TableDoc],
    /// The report's language.
    lang: &'a Lang,
}

impl Pages<'_> {
    fn count(&self, n: Count) -> String {
        self.lang.count(n)
    }

    /// A partner's purposes in the report's language.
    fn purposes(&self, partner: &Partner) -> Result<Vec<String>> {
        partner
            .purposes
            .iter()
            .map(|p| self.lang.t(&format!("purpose.{}", p.slug())))
            .collect()
    }

    fn severity_label(&self, s: crate::model::Severity) -> Result<String> {
        self.lang.t(&format!("severity.{}", s.slug()))
    }

    /// The context every page gets; `root` is the relative path back to the site root.
    fn base(&self, root: &str, current: &str, title: &str) -> Result<Value> {
        let m = &self.report.meta;
        let l = self.lang;
        let mut nav = vec![
            json!({"title": l.t("nav.overview")?, "href": format!("{root}index.html"), "current": current == "index"}),
            json!({"title": l.t("nav.findings")?, "href": format!("{root}findings/index.html"), "current": current == "findings"}),
            json!({"title": l.t("nav.opt_outs")?, "href": format!("{root}opt-outs/index.html"), "current": current == "opt-outs"}),
            json!({"title": l.t("nav.data")?, "href": format!("{root}data/index.html"), "current": current == "data"}),
        ];
        for page in self.report.pages.iter().filter(|p| p.in_nav) {
            nav.push(json!({
                "title": page.title,
                "href": format!("{root}{}/index.html", page.slug),
                "current": current == page.slug,
            }));
        }
        Ok(json!({
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
                "published_text": l.date(m.published),
                "period_from_text": l.date(m.period_from),
                "period_to_text": l.date(m.period_to),
                "language": l.tag(),
                "hides_up_to": self.rules.hides_up_to(),
                "auditor": self.exact,
            },
        }))
    }

    fn render(&self, template: &str, ctx: Result<Value>, extra: Value) -> Result<Vec<u8>> {
        let mut ctx = ctx?;
        if let (Some(ctx), Some(extra)) = (ctx.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                ctx.insert(k.clone(), v.clone());
            }
        }
        self.engine.render(template, &ctx).map(String::into_bytes)
    }

    /// Findings for the templates, filtered by `keep`.
    fn finding_list(
        &self,
        root: &str,
        keep: impl Fn(&PublishedFinding) -> bool,
    ) -> Result<Vec<Value>> {
        self.findings
            .iter()
            .filter(|f| keep(f))
            .map(|f| {
                Ok(json!({
                    "id": f.id,
                    "severity": f.severity.slug(),
                    "severity_label": self.severity_label(f.severity)?,
                    "partner": (!f.partner.is_empty()).then(|| partner_name(self.report, &f.partner)),
                    "partner_href": (!f.partner.is_empty()).then(|| format!("{root}partners/{}/index.html", f.partner)),
                    "export": (!f.export.is_empty()).then_some(&f.export),
                    "export_href": (!f.export.is_empty()).then(|| format!("{root}exports/{}/index.html", f.export)),
                    "flag": if f.flag.is_empty() { None } else { Some(self.lang.t(&format!("flag.{}", f.flag))?) },
                    "count": self.count(f.count),
                    "message": f.message,
                }))
            })
            .collect()
    }

    /// Findings per severity, for summaries: [{severity, label, n}] for each severity.
    fn finding_counts(&self, keep: impl Fn(&PublishedFinding) -> bool) -> Result<Vec<Value>> {
        use crate::model::Severity;
        [Severity::High, Severity::Medium, Severity::Info]
            .iter()
            .map(|s| {
                let n = self
                    .findings
                    .iter()
                    .filter(|f| f.severity == *s && keep(f))
                    .count();
                Ok(json!({"severity": s.slug(), "label": self.severity_label(*s)?, "n": n}))
            })
            .collect()
    }

    fn findings(&self) -> Result<Vec<u8>> {
        let root = "../";
        let kinds = FINDING_KINDS
            .iter()
            .map(|id| Ok(json!({"id": id, "what": self.lang.t(&format!("check.{id}"))?})))
            .collect::<Result<Vec<_>>>()?;
        let extra = json!({
            "findings": self.finding_list(root, |_| true)?,
            "counts": self.finding_counts(|_| true)?,
            "kinds": kinds,
        });
        self.render(
            "findings.html",
            self.base(root, "findings", &self.lang.t("nav.findings")?),
            extra,
        )
    }

    fn export_summary(&self, root: &str, e: &crate::aggregate::ExportRow<Count>) -> Result<Value> {
        Ok(json!({
            "id": e.export,
            "href": format!("{root}exports/{}/index.html", e.export),
            "partner": partner_name(self.report, &e.partner),
            "partner_href": format!("{root}partners/{}/index.html", e.partner),
            "exported_at": self.lang.instant_text(&e.exported_at),
            "items": self.count(e.items),
            "categories": self.lang.number(e.categories),
            "opt_outs_in_force": e.opt_outs_in_force.map(|n| self.count(n)),
            "years": match (e.first_year, e.last_year) {
                (Some(a), Some(b)) if a == b => a.to_string(),
                (Some(a), Some(b)) => format!("{a}–{b}"),
                _ => "–".to_owned(),
            },
        }))
    }

    /// "12 High, 10 Medium, 2 Info" from [`Pages::finding_counts`], for the overview's sentence.
    fn findings_phrase(&self, counts: &[Value]) -> Result<String> {
        let parts = counts
            .iter()
            .filter(|c| c["n"].as_u64().unwrap_or(0) > 0)
            .map(|c| {
                self.lang.f(
                    "index.findings_part",
                    &[
                        ("n", c["n"].as_u64().unwrap_or(0).into()),
                        ("severity", c["label"].as_str().unwrap_or("").into()),
                    ],
                )
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(parts.join(&self.lang.t("format.list_separator")?))
    }

    fn overview(&self, charts: &[Chart]) -> Result<Vec<u8>> {
        let root = "";
        let years = year_range(self.t);
        let l = self.lang;
        let partners: Vec<Value> = self
            .t
            .partners
            .iter()
            .map(|p| {
                let purposes = match self.report.partner(&p.partner) {
                    Some(x) => Some(self.purposes(x)?.join(", ")),
                    None => None,
                };
                Ok(json!({
                    "id": p.partner,
                    "name": p.name,
                    "href": format!("partners/{}/index.html", p.partner),
                    "country": p.country,
                    "purposes": purposes,
                    "exports": l.number(p.exports),
                    "items": self.count(p.items),
                    "honours_opt_out": l.t(&format!("honours.{}", p.honours_opt_out))?,
                }))
            })
            .collect::<Result<_>>()?;
        let exports: Vec<Value> = self
            .t
            .exports
            .iter()
            .map(|e| self.export_summary(root, e))
            .collect::<Result<_>>()?;
        let counts = self.finding_counts(|_| true)?;
        let extra = json!({
            "totals": {
                "items": self.count(self.t.total_items),
                "partners": l.number(self.report.partners.len() as u64),
                "exports": l.number(self.report.exports.len() as u64),
                "categories": self.report.meta.categories.len(),
                "first_year": years.first(),
                "last_year": years.last(),
            },
            "charts": charts,
            "partners": partners,
            "exports": exports,
            "findings": self.finding_list(root, |f| f.severity == crate::model::Severity::High)?,
            "findings_list": self.findings_phrase(&counts)?,
            "finding_counts": counts,
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
        let l = self.lang;
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
            .collect::<Result<_>>()?;
        let description = partner
            .description
            .as_deref()
            .map(|d| markdown::render(d).html);
        let mut covered_by = vec![l.t("partner.covered_all")?];
        if partner
            .purposes
            .contains(&crate::model::Purpose::AiTraining)
        {
            covered_by.push(l.t("partner.covered_ai")?);
        }
        covered_by.push(l.t("partner.covered_named")?);
        let purposes = self.purposes(partner)?;
        let extra = json!({
            "partner": {
                "id": partner.id,
                "name": partner.name,
                "country": partner.country,
                "purposes": purposes,
                "legal_basis": l.t(&format!("legal_basis.{}", partner.legal_basis.slug()))?,
                "honours_opt_out": l.t(&format!("honours.{}", partner.honours_opt_out.slug()))?,
                "agreement_signed": l.date(partner.agreement_signed),
                "agreement_ends": partner.agreement_ends.map(|d| l.date(d)),
                "agreement_url": safe_url(partner.agreement_url.as_deref()),
                "deletion_deadline_days": partner.deletion_deadline_days,
                "ai_act_summary_url": safe_url(partner.ai_act_summary_url.as_deref()),
                "description_html": description,
                "items": self.count(row.map_or(Count::NotDeclared, |r| r.items)),
                "exports": row.map_or(0, |r| r.exports),
                "opt_outs_in_force": row.and_then(|r| r.opt_outs_in_force).map(|n| self.count(n)),
                "items_opted_out_now": row.and_then(|r| r.items_opted_out_now).map(|n| self.count(n)),
                "items_requested": row.map_or_else(|| l.number(0), |r| self.count(r.deletion_items)),
                "covered_by": covered_by,
            },
            "has_ledger": self.report.ledger.is_some(),
            "exports": exports,
            "chart": chart,
            "findings": self.finding_list(root, |f| f.partner == partner.id.as_str())?,
            "deletions": self.t.deletions.iter().filter(|r| r.partner == partner.id.as_str()).map(|r| json!({
                "month": l.month(&r.month),
                "requests": l.number(r.requests),
                "acknowledged": l.number(r.requests_acknowledged),
                "completed": l.number(r.requests_completed),
                "late": l.number(r.requests_completed_late),
                "open": l.number(r.requests_open),
                "overdue": l.number(r.requests_overdue),
                "items": self.count(r.items),
                "items_completed": self.count(r.items_completed),
                "items_overdue": self.count(r.items_overdue),
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
        let l = self.lang;
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
                    "items": self.count(r.items),
                    "private": self.count(r.private),
                    "deleted": self.count(r.deleted),
                    "suspended": self.count(r.suspended),
                    "explicit": self.count(r.explicit),
                    "minor": self.count(r.minor),
                    "opted_out": (r.opted_out != Count::NotDeclared).then(|| self.count(r.opted_out)),
                })
            })
            .collect();
        let f = export.filters;
        let filters = [
            ("public_only", f.public_only),
            ("exclude_opted_out", f.exclude_opted_out),
            ("exclude_deleted", f.exclude_deleted),
            ("exclude_explicit", f.exclude_explicit),
            ("exclude_minors", f.exclude_minors),
        ]
        .iter()
        .map(|(key, on)| Ok(json!({"label": l.t(&format!("filter.{key}"))?, "claimed": on})))
        .collect::<Result<Vec<_>>>()?;
        let differing: Vec<&str> = self
            .t
            .findings
            .iter()
            .filter(|f| f.export.as_deref() == Some(export.id.as_str()))
            .filter_map(|f| match &f.detail {
                crate::aggregate::findings::Detail::Checksum { files } => {
                    Some(files.iter().map(String::as_str))
                }
                _ => None,
            })
            .flatten()
            .collect();
        let files: Vec<Value> = export
            .files
            .iter()
            .map(|f| {
                let status = if f.local.is_none() {
                    "export.file_not_kept"
                } else if differing.contains(&f.path.as_str()) {
                    "export.file_differs"
                } else {
                    "export.file_verified"
                };
                Ok(json!({"path": f.path, "sha256": f.sha256, "bytes": f.bytes.map(|b| l.number(b)), "status": l.t(status)?}))
            })
            .collect::<Result<_>>()?;
        let source = match (&export.items, &export.counts) {
            (Some(_), Some(_)) => "export.source_both",
            (Some(_), None) => "export.source_listing",
            _ => "export.source_declared",
        };
        let extra = json!({
            "export": {
                "id": export.id,
                "partner": partner_name(self.report, export.partner.as_str()),
                "partner_href": format!("{root}partners/{}/index.html", export.partner),
                "exported_at": l.instant(&export.exported_at),
                "outside_period": !self.report.meta.in_period(&export.exported_at),
                "description": export.description,
                "window_from": export.content_window.and_then(|w| w.0).map(|d| l.date(d)),
                "window_to": export.content_window.and_then(|w| w.1).map(|d| l.date(d)),
                "source": l.t(source)?,
                "items": self.count(row.map_or(Count::NotDeclared, |r| r.items)),
                "opt_outs_in_force": row.and_then(|r| r.opt_outs_in_force).map(|n| self.count(n)),
                "filters": filters,
                "files": files,
            },
            "rows": rows,
            "has_opted_out": rows.iter().any(|r| !r["opted_out"].is_null()),
            "findings": self.finding_list(root, |f| f.export == export.id.as_str())?,
        });
        self.render(
            "export.html",
            self.base(root, "exports", export.id.as_str()),
            extra,
        )
    }

    fn opt_outs(&self, charts: [&Option<Chart>; 3]) -> Result<Vec<u8>> {
        let [chart, signal_chart, protection_chart] = charts;
        let l = self.lang;
        let rows: Vec<Value> = self
            .t
            .opt_outs_monthly
            .iter()
            .map(|r| {
                json!({
                    "month": l.month(&r.month),
                    "opted_out": self.count(r.opted_out),
                    "withdrawn": self.count(r.withdrawn),
                    "active": self.count(r.active),
                    "accounts": r.accounts.map(|a| self.count(a)),
                })
            })
            .collect();
        use crate::aggregate::OptOutSource;
        let source = match self.t.opt_outs_source {
            OptOutSource::None => None,
            OptOutSource::Monthly => Some(l.t("opt_outs.source_monthly")?),
            OptOutSource::Ledger => Some(l.t("opt_outs.source_ledger")?),
            OptOutSource::Both => Some(l.t("opt_outs.source_both")?),
        };
        let scope_label = |r: &crate::aggregate::ScopeRow<Count>| match r.scope.as_str() {
            "all-third-parties" => l.t("scope.all-third-parties"),
            "ai-training" => l.t("scope.ai-training"),
            _ => l.f(
                "scope.partner",
                &[("partner", partner_name(self.report, &r.partner).into())],
            ),
        };
        let scopes: Vec<Value> = self
            .t
            .scopes
            .iter()
            .map(|r| Ok(json!({"label": scope_label(r)?, "active": self.count(r.active)})))
            .collect::<Result<_>>()?;
        let extra = json!({
            "rows": rows,
            "chart": chart,
            "signal_chart": signal_chart,
            "protection_chart": protection_chart,
            "scopes": scopes,
            "source": source,
            "findings": self.finding_list("../", |f| f.id == "opt-out-statistics-mismatch")?,
        });
        self.render(
            "opt_outs.html",
            self.base("../", "opt-outs", &l.t("nav.opt_outs")?),
            extra,
        )
    }

    /// The "About these numbers" section: how suppression was done, with this report's figures.
    fn about_numbers(&self) -> Result<Vec<String>> {
        let l = self.lang;
        if self.exact {
            return Ok(vec![l.t("numbers.auditor")?]);
        }
        let p = self.protection;
        let Some(max) = self.rules.hides_up_to() else {
            let mut out = vec![l.t("numbers.none_hidden")?];
            out.extend(self.bands_note()?);
            return Ok(out);
        };
        let mut out = vec![
            l.f(
                "numbers.primary",
                &[("max", max.into()), ("n", p.primary.into())],
            )?,
            l.f(
                "numbers.secondary",
                &[
                    ("n", p.secondary.into()),
                    ("suppressed", l.suppressed().into()),
                ],
            )?,
            l.t("numbers.relations")?,
            l.t("numbers.method")?,
            l.t("numbers.limits")?,
        ];
        out.extend(self.bands_note()?);
        Ok(out)
    }

    /// The paragraph on bands, when some table is banded.
    fn bands_note(&self) -> Result<Option<String>> {
        let l = self.lang;
        let p = self.protection;
        let Rules::Public { bands: Some(b), .. } = self.rules else {
            return Ok(None);
        };
        {
            Ok(Some(l.f(
                "numbers.bands",
                &[
                    ("tables", b.tables.join(", ").into()),
                    ("width", b.width.into()),
                    ("first", format!("0–{}", l.number(b.width - 1)).into()),
                    (
                        "second",
                        format!("{}–{}", l.number(b.width), l.number(2 * b.width - 1)).into(),
                    ),
                    ("n", p.banded.into()),
                ],
            )?))
        }
    }

    fn data(&self) -> Result<Vec<u8>> {
        let l = self.lang;
        let tables: Vec<Value> = self
            .docs
            .iter()
            .map(|d| {
                let columns = d
                    .columns
                    .iter()
                    .map(|c| {
                        let kind = match c.band {
                            Some(w) => l.f(
                                "type.band",
                                &[
                                    ("width", w.into()),
                                    ("example", format!("0-{}", w - 1).into()),
                                ],
                            )?,
                            None => l.t(&format!("type.{}", c.kind.slug()))?,
                        };
                        Ok(json!({
                            "name": c.name,
                            "type": kind,
                            "unit": c.unit,
                            "description": c.description,
                            "suppressed": c.suppressed,
                            "empty": c.empty,
                        }))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(json!({
                    "name": d.name,
                    "csv": format!("{}.csv", d.name),
                    "json": format!("{}.json", d.name),
                    "parquet": format!("{}.parquet", d.name),
                    "title": d.title,
                    "row": d.row,
                    "primary_key": d.primary_key,
                    "columns": columns,
                }))
            })
            .collect::<Result<_>>()?;
        let extra = json!({
            "tables": tables,
            "about_numbers": self.about_numbers()?,
        });
        self.render(
            "data.html",
            self.base("../", "data", &l.t("data.heading")?),
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
                    "date_text": self.lang.date(c.date),
                    "what": c.what,
                    "why": c.why,
                    "anchor": feeds::correction_anchor(c),
                })
            })
            .collect();
        self.render(
            "corrections.html",
            self.base("../", "corrections", &self.lang.t("nav.corrections")?),
            json!({ "corrections": corrections }),
        )
    }

    /// `data/about.html`: the datasheet, from `report.yaml`, the manifests and the tables.
    fn about_data(&self, rows: &BTreeMap<&str, usize>, corrections: bool) -> Result<Vec<u8>> {
        use crate::aggregate::OptOutSource;
        let m = &self.report.meta;
        let l = self.lang;
        let years = year_range(self.t);
        let batches: Vec<Value> = self
            .report
            .exports
            .iter()
            .map(|e| {
                let f = &e.filters;
                let filters = [
                    (f.public_only, "public_only"),
                    (f.exclude_opted_out, "exclude_opted_out"),
                    (f.exclude_deleted, "exclude_deleted"),
                    (f.exclude_explicit, "exclude_explicit"),
                    (f.exclude_minors, "exclude_minors"),
                ]
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, key)| l.t(&format!("left_out.{key}")))
                .collect::<Result<Vec<_>>>()?;
                Ok(json!({
                    "id": e.id.0,
                    "partner": partner_name(self.report, &e.partner.0),
                    "exported_at": l.instant(&e.exported_at),
                    "source": l.t(if e.items.is_some() { "about.from_listing" } else { "about.from_declared" })?,
                    "filters": filters,
                }))
            })
            .collect::<Result<_>>()?;
        let tables: Vec<Value> = dictionary::all()
            .iter()
            .map(|d| json!({"name": d.name, "title": d.title, "row": d.row, "rows": l.number(rows.get(d.name).copied().unwrap_or(0) as u64)}))
            .collect();
        let sources: Vec<Value> = m
            .sources
            .iter()
            .map(|s| json!({"title": s.title, "url": safe_url(s.url.as_deref()), "description": s.description}))
            .collect();
        let about = json!({
            "description": package::description(self.report),
            "partners": l.number(self.report.partners.len() as u64),
            "exports": l.number(self.report.exports.len() as u64),
            "items": self.count(self.t.total_items),
            "first_year": years.first(),
            "last_year": years.last(),
            "categories": m.categories.iter().map(|c| json!({"id": c.id.0, "label": c.label, "description": c.description})).collect::<Vec<_>>(),
            "opt_out_source": l.t(match self.t.opt_outs_source {
                OptOutSource::None => "about.opt_outs_none",
                OptOutSource::Monthly => "about.opt_outs_monthly",
                OptOutSource::Ledger => "about.opt_outs_ledger",
                OptOutSource::Both => "about.opt_outs_both",
            })?,
            "batches": batches,
            "tables": tables,
            "sources": sources,
            "license": m.license.as_ref().map(|l| json!({"id": l.id, "url": safe_url(l.url.as_deref()), "title": l.title})),
            "version": env!("CARGO_PKG_VERSION"),
            "corrections": corrections,
        });
        self.render(
            "about_data.html",
            self.base("../", "data", &l.t("nav.about_data")?),
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
