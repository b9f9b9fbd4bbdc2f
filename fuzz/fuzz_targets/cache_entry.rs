//! Arbitrary bytes as a listing-cache entry: the reader must never panic, never hang, and never
//! accept an entry whose MAC does not verify. The first byte chooses how the rest is used: odd,
//! as a body that gets a valid MAC appended (so that arbitrary bodies reach the Parquet reader);
//! even, as a whole entry as it would be found on disk.
#![no_main]

use libfuzzer_sys::fuzz_target;

const KEY: &[u8] = b"fuzzing-key-0123456789abcdef";

fuzz_target!(
    // The Parquet reader (polars) panics on some damaged files; sharelog catches that and counts
    // the listing again, so only a panic that escapes the reader is a crash. libfuzzer-sys's hook
    // would abort before the catch: replace it with one that stays quiet and lets it unwind (a
    // panic that escapes still aborts, at the `extern "C"` boundary).
    init: std::panic::set_hook(Box::new(|_| {})),
    |data: &[u8]| {
        let Some((&mode, bytes)) = data.split_first() else {
            return;
        };
        let sign = mode & 1 == 1;
        let accepted = sharelog::fuzzing::cache_entry("e.slc", KEY, bytes, sign);
        // A whole entry off the disk verifies only with a MAC made with the key, which the
        // fuzzer cannot compute by chance.
        if !sign {
            assert!(!accepted, "an entry without a valid MAC was accepted");
        }
    }
);
