//! Write stage: [`Site`] → the output folder. Builds the new site in a temporary folder beside the
//! target and swaps it in only when complete, so a failed build never leaves half a site.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fs;
use crate::render::Site;

/// Writes the site to `out`, replacing what was there only once every file is written.
pub(crate) fn write(site: &Site, out: &Path) -> Result<()> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent)?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::Internal(format!("`{}` is not a folder name", out.display())))?;
    let staging = parent.join(format!(".{name}.sharelog-new"));
    let previous = parent.join(format!(".{name}.sharelog-old"));
    fs::remove_dir_all(&staging)?;
    for (path, bytes) in &site.files {
        fs::write(&staging.join(path), bytes)?;
    }
    fs::remove_dir_all(&previous)?;
    if out.exists() {
        fs::rename(out, &previous)?;
    }
    if let Err(e) = fs::rename(&staging, out) {
        // Put the old site back; the new one stays in staging for inspection.
        let _ = std::fs::rename(&previous, out);
        return Err(e);
    }
    fs::remove_dir_all(&previous)?;
    Ok(())
}
