//! Same inputs, same bytes.

use crate::support::{build, files, repo};

#[test]
fn building_twice_gives_byte_identical_sites() {
    let (_a, first) = build(&repo());
    let (_b, second) = build(&repo());
    let names = files(&first);
    assert_eq!(names, files(&second));
    assert!(names.len() > 20, "{names:?}");
    for name in names {
        let a = std::fs::read(first.join(&name)).expect("read");
        let b = std::fs::read(second.join(&name)).expect("read");
        assert!(a == b, "{name} differs between two builds");
    }
}
