//! Write stage: [`Site`] → the output folder. Builds the new site in a temporary folder beside the
//! target and swaps it in only when complete, so a failed build never leaves half a site.
//!
//! Two rules keep `--out` from losing anything that is not sharelog's:
//! - **Only sharelog's own folder is replaced.** `--out` must not exist, be an empty folder, or
//!   be a site that sharelog wrote: its [`MARKER`] file lists every file the last build wrote,
//!   and a file that is not on that list stops the build (it would be deleted). A site written
//!   before the marker existed is recognised by its `data/report.json` generator.
//! - **One writer at a time.** The swap happens under an exclusive lock on a file beside `--out`,
//!   so two builds into one folder at once each publish a whole site, one after the other, and
//!   never delete each other's files. A build that finds the lock taken waits for it.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Problem, Result};
use crate::fs;
use crate::progress::Progress;
use crate::render::Site;

/// The file in the site's top folder that lists what sharelog wrote there.
pub(crate) const MARKER: &str = ".sharelog-site";

/// The marker's first line: what the file is, for someone who finds it.
const MARKER_HEADER: &str = "# Written by `sharelog build`, which replaces this folder whole on the next build. The files it wrote:";

/// How many unknown files a refusal names before it says how many more there are.
const MAX_NAMED: usize = 5;

/// The longest marker read (a site of a million pages lists about 40 MB of names).
const MAX_MARKER_BYTES: u64 = 64 << 20;

/// Where a site goes: the folder and the staging, previous and lock paths beside it.
struct Target {
    out: PathBuf,
    staging: PathBuf,
    previous: PathBuf,
    lock: PathBuf,
}

impl Target {
    fn new(out: &Path) -> Result<Target> {
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| {
                Error::invalid(vec![
                    Problem::new(out.display().to_string(), "--out is not a folder name")
                        .help("name the site's own folder, e.g. --out public"),
                ])
            })?;
        Ok(Target {
            out: out.to_path_buf(),
            staging: parent.join(format!(".{name}.sharelog-new")),
            previous: parent.join(format!(".{name}.sharelog-old")),
            lock: parent.join(format!(".{name}.sharelog-lock")),
        })
    }
}

/// Writes the site to `out`, replacing what was there only once every file is written.
pub(crate) fn write(site: &Site, out: &Path, progress: &Progress) -> Result<()> {
    // `public/`, `public/.` and `./public` are all the folder `public`, never what a link at
    // that name points to.
    let out = &fs::normalize(out);
    let target = Target::new(out)?;
    if let Some(parent) = target.lock.parent() {
        fs::create_dir_all(parent)?;
    }
    let _lock = Lock::acquire(&target.lock, progress)?;
    recover(&target)?;
    check_replaceable(&target.out)?;
    fs::remove_dir_all(&target.staging)?;
    for (path, bytes) in &site.files {
        fs::write(&target.staging.join(path), bytes)?;
    }
    fs::write(&target.staging.join(MARKER), marker(site).as_bytes())?;
    fs::remove_dir_all(&target.previous)?;
    if target.out.exists() {
        // One atomic exchange where the system has it: the folder never goes missing.
        if exchange(&target.staging, &target.out) {
            return fs::remove_dir_all(&target.staging);
        }
        fs::rename(&target.out, &target.previous)?;
    }
    if let Err(e) = fs::rename(&target.staging, &target.out) {
        // Put the old site back; the new one stays in staging for inspection.
        let _ = std::fs::rename(&target.previous, &target.out);
        return Err(e);
    }
    fs::remove_dir_all(&target.previous)?;
    Ok(())
}

/// Swaps two folders in one step (Linux `renameat2(RENAME_EXCHANGE)`); `false` where the system
/// or the file system cannot, and the caller renames twice instead.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let (Ok(a), Ok(b)) = (
        std::ffi::CString::new(a.as_os_str().as_bytes()),
        std::ffi::CString::new(b.as_os_str().as_bytes()),
    ) else {
        return false;
    };
    // SAFETY: both paths are valid NUL-terminated strings that live across the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    rc == 0
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> bool {
    false
}

/// The marker's text: the header, then every file written, one `/`-separated path a line.
fn marker(site: &Site) -> String {
    let mut text = String::from(MARKER_HEADER);
    text.push('\n');
    for path in site.files.keys() {
        text.push_str(path);
        text.push('\n');
    }
    text
}

/// A build that stopped between moving the old site aside and moving the new one in left no
/// `--out` but a previous site: put it back before anything else.
fn recover(target: &Target) -> Result<()> {
    if std::fs::symlink_metadata(&target.out).is_err() && target.previous.is_dir() {
        fs::rename(&target.previous, &target.out)?;
    }
    Ok(())
}

/// Refuses an `--out` that is not sharelog's to replace: a file, a link, or a folder with files
/// sharelog did not write. A missing or empty folder is fine.
pub(crate) fn check_replaceable(given: &Path) -> Result<()> {
    let out = &fs::normalize(given);
    let refuse = |message: String, help: &str| {
        Err(Error::invalid(vec![
            Problem::new(given.display().to_string(), message).help(help),
        ]))
    };
    let meta = match std::fs::symlink_metadata(out) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(fs::io_error(out, source)),
    };
    if meta.file_type().is_symlink() {
        return refuse(
            "--out is a symbolic link; sharelog replaces the folder it is given, so it would replace the link".to_owned(),
            "give the folder the link points to, or a new folder",
        );
    }
    if !meta.is_dir() {
        return refuse(
            "--out is a file, not a folder; building would replace it with the site".to_owned(),
            "choose a new folder for the site, e.g. --out public",
        );
    }
    let found = files_under(out)?;
    if found.is_empty() {
        return Ok(());
    }
    let marker = fs::read_regular(&out.join(MARKER), MAX_MARKER_BYTES, false)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|text| text.starts_with(MARKER_HEADER));
    let listed = marker.map(|text| {
        text.lines()
            .skip(1)
            .map(str::to_owned)
            .chain([MARKER.to_owned()])
            .collect::<BTreeSet<_>>()
    });
    let unknown: Vec<&String> = match &listed {
        Some(listed) => found.iter().filter(|f| !listed.contains(*f)).collect(),
        None if written_before_the_marker(out) => {
            // Only the kinds of file a site holds: a user's own files in the folder are not
            // sharelog's to delete, marker or no marker.
            found.iter().filter(|f| !site_like(f)).collect()
        }
        None => {
            return refuse(
                format!(
                    "--out is a folder that sharelog did not write (it has no `{MARKER}` file) and it holds {}; building would delete {}",
                    name_some(&found.iter().collect::<Vec<_>>()),
                    if found.len() == 1 { "it" } else { "them" }
                ),
                "choose a new or empty folder for the site, e.g. --out public; sharelog replaces the whole folder on every build",
            );
        }
    };
    if unknown.is_empty() {
        return Ok(());
    }
    refuse(
        format!(
            "--out holds {} that the last build did not write; building would delete {}",
            name_some(&unknown),
            if unknown.len() == 1 { "it" } else { "them" }
        ),
        "move those files out of the site's folder (sharelog replaces the whole folder on every build), then build again",
    )
}

/// Whether a file found in a site written before the marker is of a kind a site holds: its
/// pages, styles, charts, tables, feeds and checksums.
fn site_like(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let extension = name.rsplit_once('.').map(|(_, e)| e);
    name == "SHA256SUMS"
        || matches!(
            extension,
            Some("html" | "css" | "svg" | "csv" | "json" | "parquet" | "xml" | "cff" | "minisig")
        )
}

/// "`a`, `b` and 3 more files" — at most [`MAX_NAMED`] names.
fn name_some(files: &[&String]) -> String {
    let named = files
        .iter()
        .take(MAX_NAMED)
        .map(|f| {
            let short: String = f.chars().take(60).collect();
            if short.len() < f.len() {
                format!("`{short}…`")
            } else {
                format!("`{f}`")
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    match files.len() {
        n if n > MAX_NAMED => format!("{named} and {} more files", n - MAX_NAMED),
        _ => named,
    }
}

/// Every file and link under `dir` (links are not followed), as `/`-separated relative paths.
fn files_under(dir: &Path) -> Result<Vec<String>> {
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(dir).min_depth(1).sort_by_file_name() {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(dir).to_path_buf();
            let source = e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("a folder loop"));
            fs::io_error(&path, source)
        })?;
        if !entry.file_type().is_dir() {
            found.push(fs::display_rel(dir, entry.path()));
        }
    }
    Ok(found)
}

/// A site written by a sharelog without the marker: its `data/report.json` names sharelog as
/// its generator.
fn written_before_the_marker(out: &Path) -> bool {
    let Some(text) = fs::read_regular(&out.join("data/report.json"), MAX_MARKER_BYTES, false)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
    else {
        return false;
    };
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| {
            v.get("generator")
                .and_then(|g| g.get("name"))
                .and_then(|n| n.as_str().map(|n| n == "sharelog"))
        })
        .unwrap_or(false)
}

/// An exclusive lock on the file beside `--out`, removed when released.
#[derive(Debug)]
pub(crate) struct Lock {
    file: File,
    path: PathBuf,
}

impl Lock {
    /// Takes the lock, waiting (and saying so) while another build holds it.
    pub(crate) fn acquire(path: &Path, progress: &Progress) -> Result<Lock> {
        let mut waited = false;
        loop {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(path)
                .map_err(|source| fs::io_error(path, source))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    if !waited {
                        progress.stage("waiting for another build writing the same folder");
                        waited = true;
                    }
                    file.lock().map_err(|source| fs::io_error(path, source))?;
                }
                Err(std::fs::TryLockError::Error(source)) => {
                    return Err(fs::io_error(path, source));
                }
            }
            // The holder before us removes the file as it lets go; a lock on a removed file
            // guards nothing, so take the lock again on the file now at the path.
            if same_file(&file, path) {
                return Ok(Lock {
                    file,
                    path: path.to_path_buf(),
                });
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Removed while still held, so a waiting build sees the file gone and takes a new one.
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

/// Whether the open `file` is still the file at `path`.
#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Whether the open `file` is still the file at `path` (no inode to compare: trust the path).
#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}
