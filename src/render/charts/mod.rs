//! Charts as standalone SVG files drawn with plotters' SVG backend (no system fonts needed).
//!
//! Every chart comes with a text summary and the table behind it, so no number is only in a picture.
//! This module draws; its children build each chart from the publication.

mod deletions;
mod items;
mod opt_outs;
mod table;

pub(crate) use deletions::deletion_chart;
pub(crate) use items::{overview_charts, partner_chart};
pub(crate) use opt_outs::{opt_out_chart, period_label, protection_chart, signal_chart};
pub(crate) use table::year_range;

use crate::publish::Count;
use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::i18n::Lang;

/// The Okabe–Ito palette: distinguishable with every common colour-vision deficiency.
pub(crate) const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
];

const WIDTH: u32 = 760;
const HEIGHT: u32 = 380;

/// A chart ready for the site.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Chart {
    /// Path inside the site, e.g. `charts/items-per-year.svg`.
    pub(crate) file: String,
    /// A short title.
    pub(crate) title: String,
    /// What the data shows, in a sentence or two.
    pub(crate) summary: String,
    /// The table behind the chart: header row, then rows of formatted cells.
    pub(crate) table_head: Vec<String>,
    /// Rows of the table behind the chart.
    pub(crate) table_rows: Vec<Vec<String>>,
    /// The SVG document.
    #[serde(skip)]
    pub(crate) svg: String,
    /// The published table the numbers come from (`data/<source>.csv`).
    pub(crate) source: &'static str,
    /// False when only the table is shown: its counts are banded, and bars would claim more than
    /// the bands say.
    pub(crate) drawn: bool,
}

/// One series of a bar chart.
pub(crate) struct Series {
    pub(crate) name: String,
    /// One value per x label, as published: only exact counts are drawn.
    pub(crate) values: Vec<Count>,
}

fn chart_error<E: std::fmt::Debug>(e: E) -> Error {
    Error::Internal(format!("drawing a chart failed: {e:?}"))
}

/// Formats an axis value with thousands separators; counts are whole, so a tick between two whole
/// numbers gets no label.
fn axis_label(lang: &Lang, v: f64) -> String {
    if (v - v.round()).abs() > 1e-6 {
        return String::new();
    }
    lang.number(v.max(0.0).round() as u64)
}

/// How many y ticks to ask for: at most 10, and no more than there are whole numbers on the axis,
/// so that small counts get ticks at 0, 1, 2… rather than at fractions.
fn y_ticks(max: u64) -> usize {
    (max as usize + 1).clamp(2, 10)
}

/// How far above the tallest bar the axis ends, leaving room for the legend in the upper left.
fn headroom(series: usize) -> f64 {
    if series > 1 {
        1.15 + 0.09 * series as f64
    } else {
        1.1
    }
}

/// The chart area of every chart: one slot per x label (at most `max_labels` labelled), a y axis
/// from zero to `y_max` with whole-number ticks.
fn axes<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    x_labels: &[String],
    max_labels: usize,
    y_max: f64,
    y_desc: &str,
    lang: &Lang,
) -> Result<Chart2d<'a, 'b>> {
    let n = x_labels.len().max(1);
    let mut chart = ChartBuilder::on(root)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..y_max)
        .map_err(chart_error)?;
    let labels = x_labels.to_vec();
    let step = n.div_ceil(max_labels).max(1);
    let label_of = move |x: &f64| -> String {
        let i = x.round();
        if (x - i).abs() > 1e-6 || i < 0.0 || !(i as usize).is_multiple_of(step) {
            return String::new();
        }
        labels.get(i as usize).cloned().unwrap_or_default()
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n + 1)
        .x_label_formatter(&label_of)
        .y_labels(y_ticks(y_max as u64))
        .y_label_formatter(&|v| axis_label(lang, *v))
        .y_desc(y_desc)
        .light_line_style(WHITE.mix(0.0))
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(chart_error)?;
    Ok(chart)
}

/// The legend, in the upper left where every chart leaves room for it.
fn legend<'a, 'b: 'a>(chart: &mut Chart2d<'a, 'b>) -> Result<()> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(chart_error)
}

/// The chart context every chart draws on.
type Chart2d<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// Stacked bars: one bar per x label, one coloured segment per series.
pub(crate) fn stacked_bars(
    title: &str,
    desc: &str,
    x_labels: &[String],
    series: &[Series],
    y_desc: &str,
    lang: &Lang,
) -> Result<String> {
    let n = x_labels.len().max(1);
    let totals: Vec<u64> = (0..n)
        .map(|i| {
            series
                .iter()
                .map(|s| s.values.get(i).and_then(|v| v.exact()).unwrap_or(0))
                .sum()
        })
        .collect();
    let y_max = (totals.iter().copied().max().unwrap_or(0).max(1) as f64) * headroom(series.len());
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let mut chart = axes(&root, x_labels, 12, y_max, y_desc, lang)?;
        let mut base = vec![0u64; n];
        for (k, s) in series.iter().enumerate() {
            let color = PALETTE[k % PALETTE.len()];
            let mut rects = Vec::new();
            for (i, v) in s.values.iter().enumerate().take(n) {
                let v = v.exact().unwrap_or(0);
                if v == 0 {
                    continue;
                }
                let x = i as f64;
                rects.push(Rectangle::new(
                    [(x - 0.38, base[i] as f64), (x + 0.38, (base[i] + v) as f64)],
                    color.filled(),
                ));
                base[i] += v;
            }
            chart
                .draw_series(rects)
                .map_err(chart_error)?
                .label(s.name.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                });
        }
        if series.len() > 1 {
            legend(&mut chart)?;
        }
        root.present().map_err(chart_error)?;
    }
    Ok(accessible(svg, title, desc, lang.tag()))
}

/// Bars (new per month) with a line (the running total) on a shared axis.
pub(crate) fn bars_and_line(
    title: &str,
    desc: &str,
    x_labels: &[String],
    bars: &Series,
    line: &Series,
    y_desc: &str,
    lang: &Lang,
) -> Result<String> {
    bars_and_lines(
        title,
        desc,
        x_labels,
        Some(bars),
        std::slice::from_ref(line),
        y_desc,
        lang,
    )
}

/// Lines, one per series, on a shared axis (for quantities that are not parts of a whole).
pub(crate) fn lines(
    title: &str,
    desc: &str,
    x_labels: &[String],
    lines: &[Series],
    y_desc: &str,
    lang: &Lang,
) -> Result<String> {
    bars_and_lines(title, desc, x_labels, None, lines, y_desc, lang)
}

/// Optional bars plus any number of lines on a shared axis.
fn bars_and_lines(
    title: &str,
    desc: &str,
    x_labels: &[String],
    bars: Option<&Series>,
    lines: &[Series],
    y_desc: &str,
    lang: &Lang,
) -> Result<String> {
    let max = bars
        .iter()
        .copied()
        .chain(lines)
        .flat_map(|s| s.values.iter())
        .map(|v| v.exact().unwrap_or(0))
        .max()
        .unwrap_or(0)
        .max(1);
    let y_max = max as f64 * headroom(lines.len() + usize::from(bars.is_some()));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let mut chart = axes(&root, x_labels, 8, y_max, y_desc, lang)?;
        if let Some(bars) = bars {
            let bar_color = PALETTE[0];
            chart
                .draw_series(bars.values.iter().enumerate().filter_map(|(i, v)| {
                    let v = v.exact()?;
                    let x = i as f64;
                    Some(Rectangle::new(
                        [(x - 0.35, 0.0), (x + 0.35, v as f64)],
                        bar_color.filled(),
                    ))
                }))
                .map_err(chart_error)?
                .label(bars.name.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], bar_color.filled())
                });
        }
        // Lines take colours that differ from the bars' and read well on white (no yellow).
        const LINE_COLOURS: [usize; 6] = [5, 7, 2, 3, 1, 4];
        for (k, line) in lines.iter().enumerate() {
            let line_color = PALETTE[LINE_COLOURS[k % LINE_COLOURS.len()]];
            let points: Vec<(f64, f64)> = line
                .values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.exact().map(|v| (i as f64, v as f64)))
                .collect();
            chart
                .draw_series(LineSeries::new(points, line_color.stroke_width(3)))
                .map_err(chart_error)?
                .label(line.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 12, y)], line_color.stroke_width(3))
                });
        }
        legend(&mut chart)?;
        root.present().map_err(chart_error)?;
    }
    Ok(accessible(svg, title, desc, lang.tag()))
}

/// Adds `role="img"`, a `<title>` and a `<desc>` to the SVG, so screen readers announce what it shows.
fn accessible(svg: String, title: &str, desc: &str, tag: &str) -> String {
    let Some(start) = svg.find("<svg") else {
        return svg;
    };
    let Some(end) = svg[start..].find('>').map(|e| start + e) else {
        return svg;
    };
    format!(
        "{}<svg role=\"img\" aria-labelledby=\"chart-title chart-desc\" xml:lang=\"{}\"{}><title id=\"chart-title\">{}</title><desc id=\"chart-desc\">{}</desc>{}",
        &svg[..start],
        tera::escape_html(tag),
        &svg[start + 4..end],
        tera::escape_html(title),
        tera::escape_html(desc),
        &svg[end + 1..]
    )
}
