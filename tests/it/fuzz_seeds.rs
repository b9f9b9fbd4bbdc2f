//! The fuzz targets' functions (`fuzz/`, run with cargo-fuzz on nightly) on their seed corpora and
//! on deterministic mutations of them, so that CI exercises the cache reader and the URL policy
//! on stable too.

use sharelog::fuzzing::{cache_entry, url_policy};

use crate::support::repo;

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = repo().join("fuzz/corpus").join(target);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        // Only the seeds kept in git: a fuzzing run adds its own finds beside them.
        .filter(|e| e.file_name().to_string_lossy().starts_with("seed-"))
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).expect("seed"))
        })
        .collect();
    out.sort();
    out
}

/// A small deterministic generator (xorshift64*), so that every run checks the same cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Flips, inserts, deletes or duplicates a few bytes, the way a fuzzer's mutators do.
fn mutate(rng: &mut Rng, seed: &[u8], interesting: &[u8]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(5) {
            0 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] ^= 1 << rng.below(8);
            }
            1 => out.insert(at, interesting[rng.below(interesting.len())]),
            2 if at < out.len() => {
                out.remove(at);
            }
            3 => {
                let end = (at + rng.below(16)).min(out.len());
                let piece = out[at..end].to_vec();
                out.splice(at..at, piece);
            }
            _ => out.insert(at, rng.next() as u8),
        }
    }
    out
}

#[test]
fn the_cache_reader_survives_its_seeds_and_their_mutations() {
    let key = b"fuzzing-key-0123456789abcdef";
    let corpus = seeds("cache_entry");
    assert!(corpus.len() >= 3);
    let mut rng = Rng(0x5eed_cace);
    let mut accepted = 0;
    for (name, seed) in &corpus {
        let Some((&mode, bytes)) = seed.split_first() else {
            continue;
        };
        let sign = mode & 1 == 1;
        if cache_entry("e.slc", key, bytes, sign) {
            accepted += 1;
        }
        // Unsigned, a real entry written under another key never verifies.
        assert!(!cache_entry("e.slc", key, bytes, false) || !sign, "{name}");
        for _ in 0..60 {
            let mutated = mutate(&mut rng, bytes, b"\0\xffPAR1SLCACHE3");
            let ok = cache_entry("e.slc", key, &mutated, sign);
            assert!(sign || !ok, "{name}: a mutated unsigned entry was accepted");
        }
    }
    // The signed aggregate seed reaches the Parquet reader and comes out whole.
    assert!(
        accepted >= 1,
        "no seed was accepted: the Parquet path is not exercised"
    );
}

#[test]
fn the_url_policy_survives_its_seeds_and_their_mutations() {
    let corpus = seeds("url_policy");
    assert!(corpus.len() >= 10);
    let mut rng = Rng(0x0ddba11);
    for (_, seed) in &corpus {
        for _ in 0..400 {
            let mutated = mutate(&mut rng, seed, b"/\\\t\n\r :@#?%.[]\x0c\x00");
            if let Ok(text) = std::str::from_utf8(&mutated) {
                url_policy(text);
            }
        }
    }
}

/// The Parquet body the `cache_entry` fuzzer found that makes polars' reader panic ("thrift bool
/// field"), as an item listing: a located error, not a crash. (As a signed cache body the eager
/// reader asks for 37 GB instead, an abort no catch can stop; only a body signed with the cache
/// key can ever reach that reader, so it is kept out of the fuzz corpus.)
#[test]
fn a_damaged_parquet_listing_found_by_fuzzing_is_a_located_error() {
    let body = std::fs::read(repo().join("tests/fixtures/damaged/thrift-bool-field.parquet"))
        .expect("fixture");
    let (_dir, root) = crate::support::example_copy();
    std::fs::write(
        root.join("data/exports/items/pellucid-2024-01.parquet"),
        &body,
    )
    .expect("write");
    let output = crate::support::sharelog(&["check", "--root", root.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "error: data/exports/items/pellucid-2024-01.parquet: cannot be read as Parquet"
        ),
        "{stderr}"
    );
}
