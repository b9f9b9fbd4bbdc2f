//! A synthetic report root of any size, for benchmarks:
//!
//! ```sh
//! cargo run --release --example gen -- --items 10000000 --exports 20 --out /tmp/big
//! ```
//!
//! Writes `report.yaml`, four partners, one manifest per export with its item listing (Parquet by
//! default, `--format csv` for CSV) and an opt-out ledger in Parquet. Deterministic: the same
//! arguments and `--seed` give the same bytes. Items are spread evenly over the exports; owners
//! post about five items each; the ledger holds opt-outs of half the owners by default (about one
//! in six withdrawn later), with every signal and scope, around the export dates so that the
//! joins have work to do.

use std::fs::File;
use std::path::{Path, PathBuf};

use clap::Parser;
use polars::prelude::*;
use sharelog::model::SIGNALS;

#[derive(Parser)]
#[command(about = "Writes a synthetic sharelog report root of any size")]
struct Args {
    /// Items shared, over all exports.
    #[arg(long)]
    items: u64,
    /// Export batches.
    #[arg(long, default_value_t = 20)]
    exports: u64,
    /// The report root to write (created; an existing one is overwritten file by file).
    #[arg(long)]
    out: PathBuf,
    /// Distinct owners (default: items / 5).
    #[arg(long)]
    owners: Option<u64>,
    /// Opt-out ledger rows (default: owners / 2).
    #[arg(long)]
    ledger: Option<u64>,
    /// Listing format: parquet or csv.
    #[arg(long, default_value = "parquet")]
    format: String,
    /// Generator seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Instead of writing a root: append this many opt-outs to the ledger of the root at --out
    /// (written with the same --items and --exports), dated between its last two exports, as
    /// arrive between two CI runs.
    #[arg(long, value_name = "ROWS")]
    append_opt_outs: Option<u64>,
    /// Every edge a warehouse query can get wrong: owner ids as text (`u123`); `created_at` as
    /// text in four shapes (UTC with microseconds, an offset, a bare date, no offset) with items
    /// on year and content-window boundaries; a content window that ends before some batches'
    /// items; and ledger rows appended last (backdated) with instants exactly at each export
    /// and at the end of the report's date, withdrawals exactly then, and empty scopes.
    #[arg(long)]
    edges: bool,
    /// Write each listing as a folder of this many part files
    /// (`items/export=<id>/part-00000.<format>`, as Spark writes a table partitioned by batch)
    /// instead of one file.
    #[arg(long, value_name = "N")]
    parts: Option<usize>,
}

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

const PARTNERS: [(&str, &str); 4] = [
    ("alpha-ai", "ai-training"),
    ("beta-search", "search-indexing"),
    ("gamma-lab", "research"),
    ("delta-models", "ai-training"),
];
const CATEGORIES: [&str; 5] = ["text", "photo", "video", "audio", "ask"];
/// 2014-01-01T00:00:00Z in microseconds.
const START: i64 = 1_388_534_400_000_000;
/// 2022-01-03T00:00:00Z in microseconds: the first export.
const FIRST_EXPORT: i64 = 1_641_168_000_000_000;
const DAY: i64 = 86_400_000_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let owners = args.owners.unwrap_or((args.items / 5).max(1));
    let ledger_rows = args.ledger.unwrap_or(owners / 2);
    let exports = args.exports.max(1);
    let root = &args.out;
    std::fs::create_dir_all(root.join("data/exports/items"))?;
    std::fs::create_dir_all(root.join("data/opt-outs"))?;
    std::fs::write(
        root.join("report.yaml"),
        "title: Synthetic benchmark report\nplatform:\n  name: Synthetic platform\nperiod:\n  from: 2022-01-01\n  to: 2025-12-31\npublished: 2026-01-31\nbase_url: https://bench.example/\ncategories:\n  - {id: text, label: Text}\n  - {id: photo, label: Photo}\n  - {id: video, label: Video}\n  - {id: audio, label: Audio}\n  - {id: ask, label: Ask}\n",
    )?;
    let partners: String = PARTNERS
        .iter()
        .map(|(id, purpose)| {
            format!(
                "- id: {id}\n  name: {id} (synthetic)\n  purposes: [{purpose}]\n  agreement: {{signed: 2021-06-01}}\n  honours_opt_out: \"yes\"\n  deletion_deadline_days: 30\n"
            )
        })
        .collect();
    std::fs::write(root.join("data/partners.yaml"), partners)?;

    // Exports spread over 2022–2025 from 2022-01-03 (every 30 days when there are few),
    // round-robin over the partners.
    let every = (30 * DAY).min(1_450 * DAY / exports as i64).max(DAY / 24);
    let export_at = |e: u64| FIRST_EXPORT + e as i64 * every;
    let mut rng = Rng(args.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    if let Some(rows) = args.append_opt_outs {
        let path = root.join("data/opt-outs/ledger.parquet");
        let old = ParquetReader::new(File::open(&path)?).finish()?;
        let (from, to) = (export_at(exports.saturating_sub(2)), export_at(exports - 1));
        let mut rng = Rng(rng.next() ^ old.height() as u64);
        let new = opt_outs(&mut rng, rows, owners, from + 1, to)?;
        let mut all = old.vstack(&new)?;
        write_table(&mut all, &path, "parquet")?;
        println!("appended {rows} opt-outs to {}", path.display());
        return Ok(());
    }
    let mut next_item = 0i64;
    // With --edges: per export, its instant and owners of some of its items, for ledger rows
    // exactly on the boundaries.
    let mut boundary_owners: Vec<(i64, Vec<i64>)> = Vec::new();
    for e in 0..exports {
        let n = args.items / exports + u64::from(e < args.items % exports);
        let at = export_at(e);
        let id = format!("e{e:05}");
        let mut df = listing(&mut rng, n, owners, at, &mut next_item)?;
        let mut window_to = String::new();
        if args.edges {
            let ids = df.column("owner_id")?.i64()?;
            boundary_owners.push((at, (20..26).filter_map(|i| ids.get(i)).collect()));
            df = edge_listing(df)?;
            if e % 2 == 1 {
                // A window that ends before most of the batch's items: they are outside it.
                window_to = "\n  to: 2021-12-31".to_owned();
            }
        }
        let items = match args.parts {
            Some(k) if k > 1 => {
                // Partitioned by batch, as Spark's `partitionBy("export")` writes it: engines
                // read the batch id from the folder name and skip the other batches' files.
                let folder = root.join("data/exports/items").join(format!("export={id}"));
                std::fs::create_dir_all(&folder)?;
                let height = df.height();
                for p in 0..k {
                    let (from, to) = (height * p / k, height * (p + 1) / k);
                    let mut part = df.slice(from as i64, to - from);
                    write_table(
                        &mut part,
                        &folder.join(format!("part-{p:05}.{}", args.format)),
                        &args.format,
                    )?;
                }
                format!("items/export={id}")
            }
            _ => {
                let file = format!("{id}.{}", args.format);
                write_table(
                    &mut df,
                    &root.join("data/exports/items").join(&file),
                    &args.format,
                )?;
                format!("items/{file}")
            }
        };
        let partner = PARTNERS[(e % PARTNERS.len() as u64) as usize].0;
        std::fs::write(
            root.join(format!("data/exports/{id}.yaml")),
            format!(
                "id: {id}\npartner: {partner}\nexported_at: {}\ncontent_window:\n  from: 2014-01-01{window_to}\nfilters:\n  public_only: true\nitems: {items}\n",
                rfc3339(at)
            ),
        )?;
    }
    let mut ledger = opt_outs(
        &mut rng,
        ledger_rows,
        owners,
        FIRST_EXPORT,
        export_at(exports),
    )?;
    if args.edges {
        ledger = edge_ledger(ledger, &boundary_owners)?;
    }
    write_table(
        &mut ledger,
        &root.join("data/opt-outs/ledger.parquet"),
        "parquet",
    )?;
    println!(
        "wrote {}: {} items in {exports} exports ({}), {owners} owners, {ledger_rows} ledger rows",
        root.display(),
        args.items,
        args.format
    );
    Ok(())
}

fn rfc3339(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// One export's listing: item_id, owner_id, category, created_at (UTC datetime) and the flags.
fn listing(
    rng: &mut Rng,
    n: u64,
    owners: u64,
    exported_at: i64,
    next_item: &mut i64,
) -> PolarsResult<DataFrame> {
    let n = n as usize;
    let mut item_id = Vec::with_capacity(n);
    let mut owner_id = Vec::with_capacity(n);
    let mut category = Vec::with_capacity(n);
    let mut created_at = Vec::with_capacity(n);
    let mut flags: [Vec<bool>; 5] = std::array::from_fn(|_| Vec::with_capacity(n));
    let span = (exported_at - START).max(1) as u64;
    // Per-mille rates of private, deleted, suspended, explicit, minor.
    let rates = [8, 5, 3, 20, 2];
    for _ in 0..n {
        *next_item += 1;
        item_id.push(*next_item);
        owner_id.push(rng.below(owners) as i64);
        category.push(CATEGORIES[rng.below(CATEGORIES.len() as u64) as usize]);
        created_at.push(START + rng.below(span) as i64);
        let r = rng.next();
        for (k, rate) in rates.iter().enumerate() {
            flags[k].push((r >> (10 * k)) % 1000 < *rate);
        }
    }
    let [private, deleted, suspended, explicit, minor] = flags;
    let created = Column::new("created_at".into(), created_at).cast(&DataType::Datetime(
        TimeUnit::Microseconds,
        Some(TimeZone::UTC),
    ))?;
    let mut df = df!(
        "item_id" => item_id,
        "owner_id" => owner_id,
        "category" => category,
        "private" => private,
        "deleted" => deleted,
        "suspended" => suspended,
        "explicit" => explicit,
        "minor" => minor,
    )?;
    df.with_column(created)?;
    df.select([
        "item_id",
        "owner_id",
        "category",
        "created_at",
        "private",
        "deleted",
        "suspended",
        "explicit",
        "minor",
    ])
}

/// The ledger: opt-outs spread over the exports' period, about one in six withdrawn; times as UTC
/// datetimes, as a warehouse export writes them.
fn opt_outs(
    rng: &mut Rng,
    rows: u64,
    owners: u64,
    start: i64,
    end: i64,
) -> PolarsResult<DataFrame> {
    let span = (end - start).max(1) as u64;
    let rows = rows as usize;
    let mut owner = Vec::with_capacity(rows);
    let mut at = Vec::with_capacity(rows);
    let mut withdrawn = Vec::with_capacity(rows);
    let mut signal = Vec::with_capacity(rows);
    let mut scope = Vec::with_capacity(rows);
    for _ in 0..rows {
        owner.push(rng.below(owners) as i64);
        let t = start + rng.below(span) as i64;
        at.push(t);
        withdrawn.push((rng.below(6) == 0).then(|| t + (1 + rng.below(200)) as i64 * DAY));
        signal.push(SIGNALS[rng.below(SIGNALS.len() as u64) as usize]);
        scope.push(match rng.below(10) {
            0..=5 => "all-third-parties".to_owned(),
            6 | 7 => "ai-training".to_owned(),
            _ => PARTNERS[rng.below(PARTNERS.len() as u64) as usize]
                .0
                .to_owned(),
        });
    }
    let utc = DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC));
    let mut df = df!(
        "owner_id" => owner,
        "signal" => signal,
        "scope" => scope,
    )?;
    df.with_column(Column::new("opted_out_at".into(), at).cast(&utc)?)?;
    df.with_column(Column::new("withdrawn_at".into(), withdrawn).cast(&utc)?)?;
    df.select([
        "owner_id",
        "opted_out_at",
        "withdrawn_at",
        "signal",
        "scope",
    ])
}

/// The end of the report's date (published: 2026-01-31) in microseconds: the instant
/// `items_opted_out_now` is counted at.
const REPORT_END: i64 = 1_769_903_999_999_999;

/// `owner_id` as text (`u123`), and `created_at` as text in four shapes, the first rows on the
/// year and content-window boundaries.
fn edge_listing(df: DataFrame) -> PolarsResult<DataFrame> {
    let owners: Vec<Option<String>> = df
        .column("owner_id")?
        .i64()?
        .iter()
        .map(|o| o.map(|o| format!("u{o}")))
        .collect();
    let created = df.column("created_at")?.cast(&DataType::Int64)?;
    let created = created.i64()?;
    // Around 2014-01-01 (the window's start) and 2022-01-01 (a year's start), in several shapes.
    const BOUNDARIES: [&str; 8] = [
        "2013-12-31T23:59:59.999999Z",
        "2014-01-01T00:00:00Z",
        "2014-01-01T00:30:00+01:00",
        "2021-12-31T23:59:59.999999Z",
        "2022-01-01T00:00:00+01:00",
        "2021-12-31T23:30:00-01:00",
        "2022-01-01",
        "2021-12-31T23:59:59",
    ];
    let text: Vec<Option<String>> = created
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if let Some(b) = BOUNDARIES.get(i) {
                return Some((*b).to_owned());
            }
            let t = chrono::DateTime::from_timestamp_micros(t?)?;
            Some(match i % 4 {
                0 => t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                1 => t
                    .with_timezone(&chrono::FixedOffset::east_opt(5 * 3600 + 1800)?)
                    .format("%Y-%m-%dT%H:%M:%S%:z")
                    .to_string(),
                2 => t.format("%Y-%m-%d").to_string(),
                _ => t.format("%Y-%m-%dT%H:%M:%S").to_string(),
            })
        })
        .collect();
    // One owner written the ways spreadsheets and pandas write an integer: sharelog compares
    // ids by value, so these are one owner (opted out in the ledger as `777777`).
    const ONE_OWNER: [&str; 5] = ["777777", "0777777", "+777777", " 777777 ", "777777.0"];
    let mut owners = owners;
    for (k, form) in ONE_OWNER.iter().enumerate() {
        if let Some(o) = owners.get_mut(BOUNDARIES.len() + k) {
            *o = Some((*form).to_owned());
        }
    }
    let mut df = df;
    df.with_column(Column::new("owner_id".into(), owners))?;
    df.with_column(Column::new("created_at".into(), text))?;
    Ok(df)
}

/// The ledger with text owner ids and, appended last (recorded after rows dated later: backdated),
/// rows exactly on each export's instant (active at it), withdrawn exactly then (not active),
/// a microsecond after (not active), on the end of the report's date, and with an empty scope.
fn edge_ledger(ledger: DataFrame, boundaries: &[(i64, Vec<i64>)]) -> PolarsResult<DataFrame> {
    let utc = DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC));
    let mut owner = Vec::new();
    let mut at = Vec::new();
    let mut withdrawn: Vec<Option<i64>> = Vec::new();
    let mut scope: Vec<Option<&str>> = Vec::new();
    let mut push = |o: i64, a: i64, w: Option<i64>, s: Option<&'static str>| {
        owner.push(format!("u{o}"));
        at.push(a);
        withdrawn.push(w);
        scope.push(s);
    };
    for (export_at, owners) in boundaries {
        let o = |k: usize| owners.get(k).copied().unwrap_or(0);
        push(o(0), *export_at, None, Some("all-third-parties"));
        push(o(1), export_at - 30 * DAY, Some(*export_at), None);
        push(o(2), export_at + 1, None, Some("ai-training"));
        push(o(3), REPORT_END, None, None);
        push(
            o(4),
            export_at - DAY,
            Some(REPORT_END),
            Some("all-third-parties"),
        );
        push(
            o(5),
            export_at - DAY,
            Some(REPORT_END + 1),
            Some("all-third-parties"),
        );
    }
    // The owner whose id the listings write in several forms (see `edge_listing`).
    owner.push("777777".to_owned());
    at.push(FIRST_EXPORT - DAY);
    withdrawn.push(None);
    scope.push(Some("all-third-parties"));
    let rows = owner.len();
    let mut extra = df!(
        "owner_id" => owner,
        "signal" => vec!["other"; rows],
        "scope" => scope,
    )?;
    extra.with_column(Column::new("opted_out_at".into(), at).cast(&utc)?)?;
    extra.with_column(Column::new("withdrawn_at".into(), withdrawn).cast(&utc)?)?;
    let extra = extra.select([
        "owner_id",
        "opted_out_at",
        "withdrawn_at",
        "signal",
        "scope",
    ])?;
    let mut ledger = ledger;
    let owners: Vec<Option<String>> = ledger
        .column("owner_id")?
        .i64()?
        .iter()
        .map(|o| o.map(|o| format!("u{o}")))
        .collect();
    ledger.with_column(Column::new("owner_id".into(), owners))?;
    ledger.vstack(&extra)
}

fn write_table(df: &mut DataFrame, path: &Path, format: &str) -> PolarsResult<()> {
    let file = File::create(path)?;
    match format {
        "csv" => CsvWriter::new(file).finish(df),
        _ => ParquetWriter::new(file).finish(df).map(|_| ()),
    }
}
