//! Who may have written a directory or file that pftls (often running as root) reads back:
//! only the invoking user or root, and nobody through group/other write permission. A backup
//! directory another user controls could otherwise plant a snapshot that root restores.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::error::TxnError;

/// The effective uid of this process.
pub(crate) fn euid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

/// Why `meta` is not trustworthy, or `None` when it is.
pub(crate) fn problem(meta: &fs::Metadata) -> Option<String> {
    let uid = meta.uid();
    let me = euid();
    if uid != me && uid != 0 {
        return Some(format!("owned by uid {uid} (you are uid {me})"));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        let who = if mode & 0o002 != 0 {
            "others"
        } else {
            "its group"
        };
        return Some(format!("mode {mode:04o} is writable by {who}"));
    }
    None
}

/// Check a directory pftls reads snapshots from (symlinks followed: the final directory
/// counts).
pub(crate) fn check_dir(path: &Path) -> Result<(), TxnError> {
    let meta = fs::metadata(path).map_err(|e| TxnError::io(path, "stat", e))?;
    if !meta.is_dir() {
        return Err(TxnError::Untrusted {
            path: path.to_path_buf(),
            reason: "not a directory".into(),
        });
    }
    match problem(&meta) {
        Some(reason) => Err(TxnError::Untrusted {
            path: path.to_path_buf(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Check one entry of a snapshot directory without following symlinks: it must be a regular
/// file (or, with `dir`, a directory) that passes [`problem`].
pub(crate) fn entry_problem(path: &Path, dir: bool) -> Option<String> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) => return Some(format!("{}: {e}", path.display())),
    };
    let ok_type = if dir { meta.is_dir() } else { meta.is_file() };
    if !ok_type {
        return Some(format!(
            "{} is not a {}",
            path.display(),
            if dir { "directory" } else { "regular file" }
        ));
    }
    problem(&meta).map(|p| format!("{} is {p}", path.display()))
}
