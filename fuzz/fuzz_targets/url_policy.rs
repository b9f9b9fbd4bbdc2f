//! Arbitrary text as an image source or link target: the URL policy must never panic, and what it
//! allows must hold against bases it was not built with (see `sharelog::fuzzing::url_policy`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        sharelog::fuzzing::url_policy(text);
    }
});
