//! Names this build of sharelog for its listing cache: a hash of the sources and the locked
//! dependencies (`SHARELOG_BUILD_ID`). Cache entries are keyed by it, so that an entry written
//! by another build (one whose counting differed, even under the same version number) is
//! counted again rather than trusted.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let mut inputs = Vec::new();
    files(&root.join("src"), &mut inputs);
    inputs.push(root.join("Cargo.lock"));
    inputs.sort();
    // Two independent 64-bit hashes: a name for a build, not a security boundary (entries are
    // signed with the cache's key).
    let mut hashers = [
        std::collections::hash_map::DefaultHasher::new(),
        std::collections::hash_map::DefaultHasher::new(),
    ];
    hashers[1].write_u8(1);
    for path in &inputs {
        let relative = path.strip_prefix(&root).unwrap_or(path);
        let bytes = std::fs::read(path).unwrap_or_default();
        for h in &mut hashers {
            relative.to_string_lossy().hash(h);
            bytes.hash(h);
        }
    }
    println!(
        "cargo:rustc-env=SHARELOG_BUILD_ID={:016x}{:016x}",
        hashers[0].finish(),
        hashers[1].finish()
    );
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.lock");
}
