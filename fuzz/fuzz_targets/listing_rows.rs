//! Arbitrary bytes as an item listing (CSV) and an opt-out ledger (CSV): `sharelog check` must
//! never panic. The input is split on the first NUL byte into the listing and the ledger.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let root = common::root();
    let mut parts = data.splitn(2, |b| *b == 0);
    let listing = parts.next().unwrap_or_default();
    common::write("data/exports/items/items.csv", listing);
    let ledger = root.join("data/opt-outs/ledger.csv");
    match parts.next() {
        Some(bytes) => {
            let _ = std::fs::create_dir_all(root.join("data/opt-outs"));
            let _ = std::fs::write(&ledger, bytes);
        }
        None => {
            let _ = std::fs::remove_file(&ledger);
        }
    }
    let _ = sharelog::check(root);
});
