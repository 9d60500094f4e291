//! Write several files "together or not at all".
//!
//! 1. Journal `prepared`.
//! 2. Per file: temp `.NAME.pftls-tmp-PID` in the target's directory, written, owner, mode and
//!    xattrs copied, fsynced; plus a hard link `.NAME.pftls-old-PID` to the original inode.
//! 3. Journal `committing`.
//! 4. Rename every temp over its target.
//! 5. fsync the directories.
//! 6. Drop the links and the journal.
//! 7. Re-read every target and compare sha256.
//!
//! A failure before step 4 removes the temps and leaves the originals untouched; a failed
//! rename in step 4 renames the original inodes back (mode, owner, label exactly as before).

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::TxnError;
use crate::fsutil::{fsync_dir, read_current, remove_if_exists, sibling, write_new_file, FileMeta};
use crate::hash::sha256_hex;
use crate::journal::{
    discard, journal_path, roll_back, sync_parents, Journal, JournalEntry, JournalState,
};

/// One file to write.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    /// The real file (symlinks already resolved).
    pub target: PathBuf,
    /// Bytes to write.
    pub new: Vec<u8>,
    /// Mode and owner for the new file.
    pub meta: FileMeta,
    /// Whether the target exists now (its xattrs are copied and its inode kept for rollback).
    pub exists: bool,
}

/// A failed group write.
#[derive(Debug)]
pub(crate) struct GroupError {
    /// What went wrong.
    pub error: TxnError,
    /// Whether every original is still (or again) in place, untouched.
    pub intact: bool,
}

/// Write all `plans` atomically as a group; the journal lives in `journal_dir` (the locked
/// configuration directory).
pub(crate) fn write_group(journal_dir: &Path, plans: &[Planned]) -> Result<(), GroupError> {
    let intact = |error| GroupError {
        error,
        intact: true,
    };
    let touched = |error| GroupError {
        error,
        intact: false,
    };
    if plans.is_empty() {
        return Ok(());
    }
    let jpath = journal_path(journal_dir);
    let mut journal = Journal {
        pid: std::process::id(),
        state: JournalState::Prepared,
        entries: plans
            .iter()
            .map(|p| JournalEntry {
                target: p.target.clone(),
                temp: sibling(&p.target, "tmp"),
                old_link: p.exists.then(|| sibling(&p.target, "old")),
                new_sha256: sha256_hex(&p.new),
            })
            .collect(),
    };
    journal.write(&jpath).map_err(intact)?;

    let abort = |journal: &Journal, err: TxnError| -> TxnError {
        // Nothing renamed yet: drop temps/links and the journal; the first error is reported.
        let _ = discard(&journal.entries);
        let _ = remove_if_exists(&jpath);
        let _ = fsync_dir(journal_dir);
        err
    };
    if let Err(e) = stage(plans, &journal.entries) {
        return Err(intact(abort(&journal, e)));
    }
    journal.state = JournalState::Committing;
    if let Err(e) = journal.write(&jpath) {
        return Err(intact(abort(&journal, e)));
    }

    for entry in &journal.entries {
        if let Err(e) = fs::rename(&entry.temp, &entry.target) {
            let err = TxnError::io(&entry.target, "rename into place", e);
            journal.state = JournalState::RollingBack;
            // If this journal write fails, a crash now would roll forward instead: also
            // consistent, so the failure is not fatal.
            let _ = journal.write(&jpath);
            return match roll_back(&journal.entries) {
                Ok(()) => {
                    let _ = remove_if_exists(&jpath);
                    let _ = fsync_dir(journal_dir);
                    Err(intact(err))
                }
                Err(e2) => Err(touched(TxnError::Journal {
                    path: jpath,
                    reason: format!("{err}; putting the originals back failed: {e2}"),
                })),
            };
        }
    }
    // From here on the new files are in place; a failure leaves the journal, and the next
    // recover() rolls forward (a no-op apart from the cleanup).
    sync_parents(&journal.entries).map_err(touched)?;
    for entry in &journal.entries {
        if let Some(old) = &entry.old_link {
            remove_if_exists(old)
                .map_err(|e| touched(TxnError::io(old, "remove link to original", e)))?;
        }
    }
    fs::remove_file(&jpath).map_err(|e| touched(TxnError::io(&jpath, "remove journal", e)))?;
    fsync_dir(journal_dir).map_err(touched)?;

    for entry in &journal.entries {
        let actual = match read_current(&entry.target).map_err(touched)? {
            Some((bytes, _)) => sha256_hex(&bytes),
            None => "(missing)".to_string(),
        };
        if actual != entry.new_sha256 {
            return Err(touched(TxnError::Verify {
                path: entry.target.clone(),
                expected: entry.new_sha256.clone(),
                actual,
            }));
        }
    }
    Ok(())
}

/// Write every temp file and link every original.
fn stage(plans: &[Planned], entries: &[JournalEntry]) -> Result<(), TxnError> {
    for (plan, entry) in plans.iter().zip(entries) {
        let xattrs_from = plan.exists.then_some(plan.target.as_path());
        write_new_file(&entry.temp, &plan.new, Some(plan.meta), xattrs_from)?;
        if let Some(old) = &entry.old_link {
            link_original(&plan.target, old)?;
        }
    }
    Ok(())
}

/// Keep the original inode reachable as `old` (a hard link costs no space); on filesystems
/// without hard links, fall back to a full copy with the same owner, mode and xattrs.
fn link_original(target: &Path, old: &Path) -> Result<(), TxnError> {
    remove_if_exists(old).map_err(|e| TxnError::io(old, "remove stale link", e))?;
    if fs::hard_link(target, old).is_ok() {
        return Ok(());
    }
    let Some((bytes, meta)) = read_current(target)? else {
        return Err(TxnError::io(
            target,
            "keep original",
            std::io::Error::new(std::io::ErrorKind::NotFound, "file vanished"),
        ));
    };
    write_new_file(old, &bytes, Some(meta), Some(target))
}
