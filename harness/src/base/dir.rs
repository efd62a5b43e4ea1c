//! Scratch directories.

use crate::Result;
use std::path::{Path, PathBuf};

/// A scratch directory of the caller's own (tests and runs go in parallel),
/// emptied first.
pub fn scratch(parent: &Path, name: &str) -> Result<PathBuf> {
    let dir = parent.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// Removes a scratch directory, whatever is in it.
pub fn remove(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}
