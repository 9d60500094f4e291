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
//!   (rename the remaining temps); if a pending temp was damaged, roll back instead. A target
//!   edited after the transaction completed is left alone and reported (stale journal).
//! - `rolling_back`: a rename failed in-process → roll back (rename the old links back).
//!
//! Either way all files of one transaction end up wholly old or wholly new.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::TxnError;
use crate::fsutil::{fsync_dir, parent_dir, read_current, remove_if_exists, write_small_atomic};
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
    /// The crashed run was undoing a failed rename (or its staged files are damaged): the
    /// originals were put back.
    RolledBack,
}

/// Result of recovering an unfinished transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recovery {
    /// What was done.
    pub action: RecoveryAction,
    /// The files of the interrupted transaction (absolute paths).
    pub files: Vec<PathBuf>,
}

/// Finish or undo a transaction left unfinished by a crashed run on the locked directory, so
/// that its files are wholly old or wholly new. Returns `None` when there was nothing to
/// recover. Call it right after taking the lock and before reading anything to plan on;
/// `commit` and `restore` call it too.
///
/// A journal that cannot be finished as written is cleared by pftls itself: when a file of a
/// completed transaction was edited afterwards, or the journal is unreadable, the files are
/// left as they are, the journal is removed (or moved aside), and a
/// [`TxnError::StaleJournal`] says what happened and what was done; the next run proceeds.
pub fn recover(lock: &ConfigLock) -> Result<Option<Recovery>, TxnError> {
    recover_dir(lock.config_dir())
}

pub(crate) fn recover_dir(dir: &Path) -> Result<Option<Recovery>, TxnError> {
    remove_stale_journal_temps(dir)?;
    let path = journal_path(dir);
    let bytes = match pftls_safe_read::read(&path, pftls_safe_read::Kind::Journal) {
        Ok(b) => b,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e @ pftls_safe_read::ReadError::Io { .. }) => return Err(TxnError::Read(e)),
        Err(e) => return Err(set_aside(dir, &path, &e.to_string())?),
    };
    let journal: Journal = match serde_json::from_slice(&bytes) {
        Ok(j) => j,
        Err(e) => return Err(set_aside(dir, &path, &format!("unreadable journal: {e}"))?),
    };
    let entries: Vec<JournalEntry> = journal
        .entries
        .into_iter()
        .map(|e| anchor(dir, e))
        .collect();
    let (action, edited) = match journal.state {
        JournalState::Prepared => {
            discard(&entries).map_err(|e| jerr(&path, e))?;
            (RecoveryAction::Discarded, Vec::new())
        }
        JournalState::Committing if staged_intact(&entries) => {
            let edited = roll_forward(&entries).map_err(|e| jerr(&path, e))?;
            (RecoveryAction::RolledForward, edited)
        }
        JournalState::Committing | JournalState::RollingBack => {
            roll_back(&entries).map_err(|e| jerr(&path, e))?;
            (RecoveryAction::RolledBack, Vec::new())
        }
    };
    fs::remove_file(&path).map_err(|e| TxnError::io(&path, "remove journal", e))?;
    fsync_dir(dir)?;
    let files: Vec<PathBuf> = entries.into_iter().map(|e| e.target).collect();
    if !edited.is_empty() {
        let list: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        let what: Vec<String> = edited
            .iter()
            .map(|(p, now, wrote)| {
                format!(
                    "{} was changed after that (sha256 now {}, pftls wrote {})",
                    p.display(),
                    now.get(..12).unwrap_or(now),
                    wrote.get(..12).unwrap_or(wrote)
                )
            })
            .collect();
        return Err(TxnError::StaleJournal {
            path,
            message: format!(
                "an earlier pftls run (pid {}) was interrupted after it had written {}; {}. pftls left the files as they are and removed its stale journal {}: check the files and run pftls again",
                journal.pid,
                list.join(" and "),
                what.join("; "),
                journal_path(dir).display()
            ),
        });
    }
    Ok(Some(Recovery { action, files }))
}

/// Entries of journals written by older versions may hold relative paths: anchor them in
/// the journal's directory (where pftls writes), never in the current working directory.
fn anchor(dir: &Path, mut e: JournalEntry) -> JournalEntry {
    let fix = |p: &Path| -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            dir.join(p.file_name().unwrap_or(p.as_os_str()))
        }
    };
    e.target = fix(&e.target);
    e.temp = fix(&e.temp);
    e.old_link = e.old_link.as_deref().map(fix);
    e
}

/// Whether every temp file still waiting to be renamed holds exactly the staged bytes; if
/// one does not (damaged after the crash), rolling forward would install it, so the
/// transaction is rolled back instead.
fn staged_intact(entries: &[JournalEntry]) -> bool {
    entries.iter().all(|e| {
        if fs::symlink_metadata(&e.temp).is_err() {
            return true;
        }
        match pftls_safe_read::read(&e.temp, pftls_safe_read::Kind::Config) {
            Ok(b) => sha256_hex(&b) == e.new_sha256,
            Err(_) => false,
        }
    })
}

/// Move an unusable journal aside (`.pftls-journal.bad-TIMESTAMP`) and explain.
fn set_aside(dir: &Path, path: &Path, why: &str) -> Result<TxnError, TxnError> {
    let aside = dir.join(format!(
        "{JOURNAL_NAME}.bad-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
    ));
    fs::rename(path, &aside).map_err(|e| TxnError::io(path, "move stale journal aside", e))?;
    fsync_dir(dir)?;
    Ok(TxnError::StaleJournal {
        path: aside.clone(),
        message: format!(
            "{}: the journal of an interrupted pftls run cannot be used ({why}); pftls moved it to {} and left the configuration files as they are (each is wholly old or wholly new; leftover .pftls-tmp-*/.pftls-old-* files next to them are the interrupted run's): check the files and run pftls again",
            path.display(),
            aside.display()
        ),
    })
}

fn jerr(path: &Path, e: TxnError) -> TxnError {
    TxnError::Journal {
        path: path.to_path_buf(),
        reason: format!(
            "{e}; the journal was kept so that the next run can finish it (remove {} only after checking the files by hand)",
            path.display()
        ),
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

/// Every pending temp is complete: finish the renames, drop the old links. Returns the
/// targets that no longer hold what the transaction wrote (edited after it completed):
/// `(path, sha256 now, sha256 written)`; they are left alone.
pub(crate) fn roll_forward(
    entries: &[JournalEntry],
) -> Result<Vec<(PathBuf, String, String)>, TxnError> {
    for e in entries {
        if fs::symlink_metadata(&e.temp).is_ok() {
            fs::rename(&e.temp, &e.target)
                .map_err(|err| TxnError::io(&e.target, "rename into place", err))?;
        }
    }
    sync_parents(entries)?;
    let mut edited = Vec::new();
    for e in entries {
        if let Some(old) = &e.old_link {
            remove_if_exists(old)
                .map_err(|err| TxnError::io(old, "remove link to original", err))?;
        }
        let actual = match read_current(&e.target)? {
            Some(c) => sha256_hex(&c.bytes),
            None => "(missing)".to_string(),
        };
        if actual != e.new_sha256 {
            edited.push((e.target.clone(), actual, e.new_sha256.clone()));
        }
    }
    Ok(edited)
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
