//! Regenerates the example report's synthetic item listings under `data/exports/items/`.
//!
//! `cargo run --example example_data` writes the same bytes every time: the numbers come from a
//! fixed-seed generator, not from any real platform. Each listing is written in the format its
//! manifest names (CSV, Parquet or NDJSON).

use std::fs::File;
use std::path::Path;

use polars::prelude::*;

/// A small deterministic generator (xorshift64*), so the example needs no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

struct Listing {
    file: &'static str,
    seed: u64,
    items: usize,
    first_year: i32,
    last_year: i32,
    /// Per-mille rates of private, deleted, suspended, explicit, minor.
    rates: [u64; 5],
}

const CATEGORIES: [(&str, u64); 5] = [
    ("text", 45),
    ("photo", 30),
    ("video", 10),
    ("audio", 5),
    ("ask", 10),
];

fn frame(l: &Listing) -> PolarsResult<DataFrame> {
    let mut rng = Rng(l.seed);
    let mut item_id = Vec::new();
    let mut owner_id = Vec::new();
    let mut category = Vec::new();
    let mut created_at = Vec::new();
    let mut flags: [Vec<bool>; 5] = Default::default();
    let years = (l.last_year - l.first_year + 1) as u64;
    for i in 0..l.items {
        item_id.push(format!("{}-{:06}", &l.file[..3], i + 1));
        owner_id.push(1000 + rng.below(l.items as u64 / 3) as i64);
        let mut pick = rng.below(100);
        let mut cat = CATEGORIES[0].0;
        for (c, weight) in CATEGORIES {
            if pick < weight {
                cat = c;
                break;
            }
            pick -= weight;
        }
        category.push(cat);
        // Later years hold more posts, as on a growing platform.
        let year = l.first_year + (years as f64 * (rng.below(1000) as f64 / 1000.0).sqrt()) as i32;
        let month = 1 + rng.below(12);
        let day = 1 + rng.below(28);
        // Mix bare dates, UTC datetimes and datetimes with offsets, as real exports do.
        created_at.push(match rng.below(3) {
            0 => format!("{year}-{month:02}-{day:02}"),
            1 => format!(
                "{year}-{month:02}-{day:02}T{:02}:{:02}:00Z",
                rng.below(24),
                rng.below(60)
            ),
            _ => format!(
                "{year}-{month:02}-{day:02}T{:02}:{:02}:00+02:00",
                rng.below(24),
                rng.below(60)
            ),
        });
        for (k, rate) in l.rates.iter().enumerate() {
            flags[k].push(rng.chance(*rate));
        }
    }
    let [private, deleted, suspended, explicit, minor] = flags;
    df!(
        "item_id" => item_id,
        "owner_id" => owner_id,
        "category" => category,
        "created_at" => created_at,
        "private" => private,
        "deleted" => deleted,
        "suspended" => suspended,
        "explicit" => explicit,
        "minor" => minor,
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listings = [
        Listing {
            file: "pellucid-2023-01.csv",
            seed: 11,
            items: 2400,
            first_year: 2014,
            last_year: 2022,
            rates: [40, 25, 10, 30, 5],
        },
        Listing {
            file: "pellucid-2024-01.parquet",
            seed: 23,
            items: 1800,
            first_year: 2016,
            last_year: 2023,
            rates: [0, 0, 0, 20, 0],
        },
        Listing {
            file: "lumen-2024-02.ndjson",
            seed: 37,
            items: 1500,
            first_year: 2018,
            last_year: 2023,
            rates: [0, 15, 5, 0, 0],
        },
    ];
    let dir = Path::new("data/exports/items");
    std::fs::create_dir_all(dir)?;
    for l in &listings {
        let mut df = frame(l)?;
        let path = dir.join(l.file);
        let file = File::create(&path)?;
        match path.extension().and_then(|e| e.to_str()) {
            Some("csv") => CsvWriter::new(file).finish(&mut df)?,
            Some("parquet") => {
                ParquetWriter::new(file).finish(&mut df)?;
            }
            _ => JsonWriter::new(file)
                .with_json_format(JsonFormat::JsonLines)
                .finish(&mut df)?,
        }
        println!("wrote {} ({} items)", path.display(), l.items);
    }
    Ok(())
}
