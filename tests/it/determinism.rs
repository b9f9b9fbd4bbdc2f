//! Same inputs, same bytes.

use crate::support::{build, build_with_env, files, repo};

#[test]
fn building_twice_gives_byte_identical_sites_whatever_the_thread_count() {
    let (_a, first) = build(&repo());
    // A second build on one thread (polars', and rayon's: exports and partners are then counted
    // one after another, not side by side), with a different clock epoch: none may change a byte.
    let (_b, second) = build_with_env(
        &repo(),
        &[
            ("POLARS_MAX_THREADS", "1"),
            ("RAYON_NUM_THREADS", "1"),
            ("SOURCE_DATE_EPOCH", "0"),
        ],
    );
    let names = files(&first);
    assert_eq!(names, files(&second));
    assert!(names.len() > 20, "{names:?}");
    for name in names {
        let a = std::fs::read(first.join(&name)).expect("read");
        let b = std::fs::read(second.join(&name)).expect("read");
        assert!(a == b, "{name} differs between two builds");
    }
}
