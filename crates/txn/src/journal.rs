//! The intent journal that makes a multi-file write crash-safe.
//!
//! Location: `CONFIG_DIR/.pftls-journal` (the directory that is locked), written atomically
//! (temp + fsync + rename + fsync dir) and removed when the transaction is over. It lists, per
//! file, the real target, the staged temp file `.NAME.pftls-tmp-PID`, the hard link
//! `.NAME.pftls-old-PID` that keeps the original inode, and the sha256 of the new bytes.
//!
//! States and what [`recover`] does with an unfinished journal:
//! - `prepared`: temp files are being written, no target touched yet → discard temps and links.
//! - `committing`: every temp file is complete and fsynced, renames under way → roll forward
//!   (rename the remaining temps) and check every target has the new sha256.
//! - `rolling_back`: a rename failed in-process → roll back (rename the old links back).
//!
//! Either way all files of one transaction end up wholly old or wholly new.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::TxnError;
use crate::fsutil::{fsync_dir, parent_dir, remove_if_exists, write_small_atomic};
use crate::hash::sha256_hex;
use crate::lock::ConfigLock;

/// File name of the journal inside the locked configuration directory.
pub const JOURNAL_NAME: &str = ".pftls-journal";

/// Phase of a transaction recorded in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum JournalState {
    Prepared,
    Committing,
    RollingBack,
}

/// One file of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct JournalEntry {
    pub target: PathBuf,
    pub temp: PathBuf,
    /// Hard link to the original inode; `None` when the file did not exist before.
    pub old_link: Option<PathBuf>,
    pub new_sha256: String,
}

/// The whole journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Journal {
    pub pid: u32,
    pub state: JournalState,
    pub entries: Vec<JournalEntry>,
}

impl Journal {
    /// Persist the journal atomically at `path`.
    pub fn write(&self, path: &Path) -> Result<(), TxnError> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| TxnError::Journal {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        write_small_atomic(path, &bytes)
    }
}

/// Path of the journal for a locked directory.
pub(crate) fn journal_path(dir: &Path) -> PathBuf {
    dir.join(JOURNAL_NAME)
}

/// What [`recover`] found and did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryAction {
    /// The crashed run had not touched any target: its temp files were removed.
    Discarded,
    /// The crashed run had finished staging: the remaining renames were done.
    RolledForward,
    /// The crashed run was undoing a failed rename: the originals were put back.
    RolledBack,
}

/// Result of recovering an unfinished transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recovery {
    /// What was done.
    pub action: RecoveryAction,
    /// The files of the interrupted transaction.
    pub files: Vec<PathBuf>,
}

/// Finish or undo a transaction left unfinished by a crashed run on the locked directory.
/// Returns `None` when there was nothing to recover. `commit` and `restore` call this first.
pub fn recover(lock: &ConfigLock) -> Result<Option<Recovery>, TxnError> {
    recover_dir(lock.config_dir())
}

pub(crate) fn recover_dir(dir: &Path) -> Result<Option<Recovery>, TxnError> {
    remove_stale_journal_temps(dir)?;
    let path = journal_path(dir);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(TxnError::io(&path, "read journal", e)),
    };
    let journal: Journal = serde_json::from_slice(&bytes).map_err(|e| TxnError::Journal {
        path: path.clone(),
        reason: format!("unreadable journal: {e}"),
    })?;
    let action = match journal.state {
        JournalState::Prepared => {
            discard(&journal.entries).map_err(|e| jerr(&path, e))?;
            RecoveryAction::Discarded
        }
        JournalState::Committing => {
            roll_forward(&journal.entries).map_err(|e| jerr(&path, e))?;
            RecoveryAction::RolledForward
        }
        JournalState::RollingBack => {
            roll_back(&journal.entries).map_err(|e| jerr(&path, e))?;
            RecoveryAction::RolledBack
        }
    };
    fs::remove_file(&path).map_err(|e| TxnError::io(&path, "remove journal", e))?;
    fsync_dir(dir)?;
    Ok(Some(Recovery {
        action,
        files: journal.entries.into_iter().map(|e| e.target).collect(),
    }))
}

fn jerr(path: &Path, e: TxnError) -> TxnError {
    TxnError::Journal {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Remove `.pftls-journal.pftls-tmp-*` left by a crash while the journal itself was written.
fn remove_stale_journal_temps(dir: &Path) -> Result<(), TxnError> {
    let prefix = format!("{JOURNAL_NAME}.pftls-tmp-");
    let rd = fs::read_dir(dir).map_err(|e| TxnError::io(dir, "read directory", e))?;
    for entry in rd {
        let entry = entry.map_err(|e| TxnError::io(dir, "read directory", e))?;
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let p = entry.path();
            remove_if_exists(&p).map_err(|e| TxnError::io(&p, "remove stale journal", e))?;
        }
    }
    Ok(())
}

/// Nothing was renamed: drop temps and old links.
pub(crate) fn discard(entries: &[JournalEntry]) -> Result<(), TxnError> {
    for e in entries {
        remove_if_exists(&e.temp)
            .map_err(|err| TxnError::io(&e.temp, "remove temporary file", err))?;
        if let Some(old) = &e.old_link {
            remove_if_exists(old)
                .map_err(|err| TxnError::io(old, "remove link to original", err))?;
        }
    }
    Ok(())
}

/// Every temp is complete: finish the renames, drop the old links, check the results.
pub(crate) fn roll_forward(entries: &[JournalEntry]) -> Result<(), TxnError> {
    for e in entries {
        if e.temp.exists() {
            fs::rename(&e.temp, &e.target)
                .map_err(|err| TxnError::io(&e.target, "rename into place", err))?;
        }
    }
    sync_parents(entries)?;
    for e in entries {
        if let Some(old) = &e.old_link {
            remove_if_exists(old)
                .map_err(|err| TxnError::io(old, "remove link to original", err))?;
        }
        let bytes = fs::read(&e.target).map_err(|err| TxnError::io(&e.target, "re-read", err))?;
        let actual = sha256_hex(&bytes);
        if actual != e.new_sha256 {
            return Err(TxnError::Verify {
                path: e.target.clone(),
                expected: e.new_sha256.clone(),
                actual,
            });
        }
    }
    Ok(())
}

/// Put every original back. An entry whose temp file still exists was never renamed: its
/// target is the original, so only the temp and the link are dropped. Otherwise the link to
/// the original inode is renamed over the target.
pub(crate) fn roll_back(entries: &[JournalEntry]) -> Result<(), TxnError> {
    for e in entries {
        let pending = e.temp.exists();
        remove_if_exists(&e.temp)
            .map_err(|err| TxnError::io(&e.temp, "remove temporary file", err))?;
        match (&e.old_link, pending) {
            (Some(old), true) => {
                remove_if_exists(old)
                    .map_err(|err| TxnError::io(old, "remove link to original", err))?;
            }
            (Some(old), false) => {
                if old.exists() {
                    fs::rename(old, &e.target)
                        .map_err(|err| TxnError::io(&e.target, "put original back", err))?;
                    // A no-op rename (same inode) leaves `old`: remove it explicitly.
                    remove_if_exists(old)
                        .map_err(|err| TxnError::io(old, "remove link to original", err))?;
                }
            }
            // The file did not exist before and the new one was renamed in: remove it.
            (None, false) => {
                remove_if_exists(&e.target)
                    .map_err(|err| TxnError::io(&e.target, "remove new file", err))?;
            }
            (None, true) => {}
        }
    }
    sync_parents(entries)
}

/// fsync every distinct directory holding a target.
pub(crate) fn sync_parents(entries: &[JournalEntry]) -> Result<(), TxnError> {
    let mut dirs: Vec<PathBuf> = entries.iter().map(|e| parent_dir(&e.target)).collect();
    dirs.sort();
    dirs.dedup();
    for d in dirs {
        fsync_dir(&d)?;
    }
    Ok(())
}
