//! Times sharelog's whole pipeline on a report root against the bare polars query that does the
//! same aggregation and ledger join, in the same process, and prints both and their ratio.
//!
//! ```sh
//! cargo run --release --example bench_query -- ROOT [RUNS]
//! ```
//!
//! The bare query reads every listing named by the manifests (Parquet or CSV), takes the UTC year
//! of `created_at`, marks items whose owner had an opt-out in force at the export instant (scope
//! rules included), and counts items, flags and opted-out items per (partner, export, category,
//! year): the numbers of `data/shared-items.csv`, without sharelog's checks, findings, suppression
//! and pages; its total items and opted-out items must equal the site's. Both run `RUNS` times (default 3); the medians are printed. Both use polars'
//! in-memory engine (sharelog does not enable the `streaming` feature yet).

use std::path::{Path, PathBuf};
use std::time::Instant;

use polars::prelude::*;

// The same allocator as the sharelog binary, so that both sides of the comparison use it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FLAGS: [&str; 5] = ["private", "deleted", "suspended", "explicit", "minor"];

struct Export {
    id: String,
    partner: String,
    trains_ai: bool,
    at_micros: i64,
    listing: PathBuf,
}

fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(|v| v.trim().trim_matches('"'))
}

/// The exports with a listing, read from the manifests the way `examples/gen.rs` writes them.
fn exports(root: &Path) -> Result<Vec<Export>, Box<dyn std::error::Error>> {
    let partners = std::fs::read_to_string(root.join("data/partners.yaml"))?;
    let mut out = Vec::new();
    let mut manifests: Vec<PathBuf> = std::fs::read_dir(root.join("data/exports"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    manifests.sort();
    for m in manifests {
        let text = std::fs::read_to_string(&m)?;
        let (Some(id), Some(partner), Some(at), Some(items)) = (
            field(&text, "id"),
            field(&text, "partner"),
            field(&text, "exported_at"),
            field(&text, "items"),
        ) else {
            continue;
        };
        let trains_ai = partners
            .split("- id: ")
            .find(|p| p.starts_with(partner))
            .is_some_and(|p| p.contains("ai-training"));
        let at = chrono::DateTime::parse_from_rfc3339(at)?.timestamp_micros();
        out.push(Export {
            id: id.to_owned(),
            partner: partner.to_owned(),
            trains_ai,
            at_micros: at,
            listing: m.parent().ok_or("manifest without folder")?.join(items),
        });
    }
    Ok(out)
}

fn scan(path: &Path) -> PolarsResult<LazyFrame> {
    let p = PlRefPath::try_from_path(path)?;
    if path.extension().is_some_and(|x| x == "csv") {
        LazyCsvReader::new(p).with_has_header(true).finish()
    } else {
        LazyFrame::scan_parquet(p, ScanArgsParquet::default())
    }
}

/// The bare query: one lazy plan over every listing, collected once. The ledger's times are UTC
/// datetimes (as `examples/gen.rs` writes them), stored as microseconds.
fn bare(root: &Path, exports: &[Export]) -> PolarsResult<DataFrame> {
    let ledger = scan(&root.join("data/opt-outs/ledger.parquet"))?.with_columns([
        col("opted_out_at")
            .cast(DataType::Datetime(
                TimeUnit::Microseconds,
                Some(TimeZone::UTC),
            ))
            .cast(DataType::Int64)
            .alias("from"),
        col("withdrawn_at")
            .cast(DataType::Datetime(
                TimeUnit::Microseconds,
                Some(TimeZone::UTC),
            ))
            .cast(DataType::Int64)
            .alias("to"),
    ]);
    let mut parts = Vec::new();
    for e in exports {
        let at = e.at_micros;
        let covers = col("scope")
            .eq(lit("all-third-parties"))
            .or(col("scope").eq(lit(e.partner.as_str())))
            .or(col("scope").eq(lit("ai-training")).and(lit(e.trains_ai)));
        let opted = ledger
            .clone()
            .filter(
                col("from")
                    .lt_eq(lit(at))
                    .and(col("to").is_null().or(col("to").gt(lit(at))))
                    .and(covers),
            )
            .select([col("owner_id")])
            .unique(None, UniqueKeepStrategy::Any)
            .with_column(lit(true).alias("opted"));
        let items = scan(&e.listing)?
            .with_columns([
                col("created_at")
                    .cast(DataType::Datetime(
                        TimeUnit::Microseconds,
                        Some(TimeZone::UTC),
                    ))
                    .dt()
                    .year()
                    .alias("year"),
                lit(e.partner.as_str()).alias("partner"),
                lit(e.id.as_str()).alias("export"),
            ])
            .join(
                opted,
                [col("owner_id")],
                [col("owner_id")],
                JoinArgs::new(JoinType::Left),
            );
        parts.push(items);
    }
    let mut aggs = vec![len().alias("items")];
    aggs.extend(FLAGS.iter().map(|f| col(*f).sum().alias(*f)));
    aggs.push(col("opted").sum().alias("opted_out"));
    concat(parts, UnionArgs::default())?
        .group_by([col("partner"), col("export"), col("category"), col("year")])
        .agg(aggs)
        .sort(
            ["partner", "export", "category", "year"],
            SortMultipleOptions::default(),
        )
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let root = PathBuf::from(args.next().ok_or("usage: bench_query ROOT [RUNS]")?);
    let runs: usize = args.next().map_or(Ok(3), |r| r.parse())?;
    let exports = exports(&root)?;
    let mut ours = Vec::new();
    let mut engine = Vec::new();
    let mut rows = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let (site, summary) = sharelog::render_site_with(
            &root,
            &sharelog::RenderOptions {
                unsuppressed: true,
                ..Default::default()
            },
            &sharelog::Progress::silent(),
        )?;
        ours.push(t.elapsed().as_secs_f64());
        rows = summary.items;
        let t = Instant::now();
        let df = bare(&root, &exports)?;
        engine.push(t.elapsed().as_secs_f64());
        // The same numbers: total items and opted-out items agree with the (exact) site.
        let sum = |c: &str| -> PolarsResult<u64> {
            Ok(df
                .column(c)?
                .cast(&DataType::UInt64)?
                .u64()?
                .sum()
                .unwrap_or(0))
        };
        let csv = site
            .files
            .get("data/shared-items.csv")
            .ok_or("no shared-items.csv")?;
        let text = String::from_utf8_lossy(csv);
        let opted: u64 = text
            .lines()
            .skip(1)
            .filter_map(|l| l.split(',').nth(10)?.parse::<u64>().ok())
            .sum();
        if sum("items")? != rows || sum("opted_out")? != opted {
            return Err(format!(
                "the bare query disagrees with sharelog: items {} vs {rows}, opted_out {} vs {opted}",
                sum("items")?,
                sum("opted_out")?
            )
            .into());
        }
    }
    let (ours, engine) = (median(ours), median(engine));
    println!(
        "items={rows} exports={} sharelog_s={ours:.3} bare_polars_s={engine:.3} ratio={:.2}",
        exports.len(),
        ours / engine
    );
    Ok(())
}
