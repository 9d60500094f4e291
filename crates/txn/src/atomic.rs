//! Write several files "together or not at all", as a compare-and-swap.
//!
//! 1. Journal `prepared` (absolute, canonical paths).
//! 2. Per file: temp `.NAME.pftls-tmp-PID` in the target's directory, written, owner, mode and
//!    xattrs copied, fsynced; plus a hard link `.NAME.pftls-old-PID` to the original inode.
//! 3. Compare: every target still is the inode, with the bytes, the plan was made from;
//!    otherwise nothing is renamed and the run fails with "changed during apply".
//! 4. Journal `committing`.
//! 5. Rename every temp over its target.
//! 6. fsync the directories.
//! 7. Drop the links and the journal.
//! 8. Re-read every target and compare sha256.
//!
//! A failure before step 5 removes the temps and leaves the originals untouched; a failed
//! rename in step 5 renames the original inodes back (mode, owner, label exactly as before).
//! A failure after the first rename is reported as "not intact" so that the caller tells the
//! truth (`changed: true`).

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::TxnError;
use crate::failpoint::hit;
use crate::fsutil::{
    fsync_dir, read_current, remove_if_exists, sibling, write_new_file, FileId, FileMeta,
};
use crate::hash::sha256_hex;
use crate::journal::{
    discard, journal_path, roll_back, sync_parents, Journal, JournalEntry, JournalState,
};

/// What a target must still be right before the renames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expect {
    /// No check (used when undoing our own write).
    Nothing,
    /// The target must not exist.
    Absent,
    /// The target must be this inode with these bytes.
    File {
        /// sha256 of the bytes.
        sha256: String,
        /// The inode.
        id: FileId,
    },
}

/// One file to write.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    /// The real file (symlinks resolved, absolute).
    pub target: PathBuf,
    /// Bytes to write.
    pub new: Vec<u8>,
    /// Mode and owner for the new file.
    pub meta: FileMeta,
    /// Whether the target exists now (its xattrs are copied and its inode kept for rollback).
    pub exists: bool,
    /// The compare of the compare-and-swap.
    pub expect: Expect,
}

/// A failed group write.
#[derive(Debug)]
pub(crate) struct GroupError {
    /// What went wrong.
    pub error: TxnError,
    /// Whether every original is still (or again) in place, untouched.
    pub intact: bool,
}

fn fp(name: &str, path: &Path) -> Result<(), TxnError> {
    hit(name).map_err(|e| TxnError::io(path, "failpoint", e))
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
    fp("prepare", &jpath).map_err(intact)?;
    journal.write(&jpath).map_err(intact)?;

    let abort = |journal: &Journal, err: TxnError| -> TxnError {
        // Nothing renamed yet: drop temps/links and the journal; the first error is reported.
        let _ = discard(&journal.entries);
        let _ = remove_if_exists(&jpath);
        let _ = fsync_dir(journal_dir);
        err
    };
    let prepared = stage(plans, &journal.entries)
        .and_then(|()| fp("staged", &jpath))
        .and_then(|()| fp("verify", &jpath))
        .and_then(|()| compare(plans))
        .and_then(|()| fp("committing", &jpath));
    if let Err(e) = prepared {
        return Err(intact(abort(&journal, e)));
    }
    journal.state = JournalState::Committing;
    if let Err(e) = journal.write(&jpath) {
        return Err(intact(abort(&journal, e)));
    }

    for (i, entry) in journal.entries.iter().enumerate() {
        let renamed =
            hit(&format!("rename-{i}")).and_then(|()| fs::rename(&entry.temp, &entry.target));
        if let Err(e) = renamed {
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
        // After the first rename the new state is committed: a failpoint error here is
        // reported like any later failure (files changed, journal left for recovery).
        fp(&format!("renamed-{i}"), &entry.target).map_err(touched)?;
    }
    // From here on the new files are in place; a failure leaves the journal, and the next
    // recover() rolls forward (a no-op apart from the cleanup).
    fp("fsync-dirs", journal_dir).map_err(touched)?;
    sync_parents(&journal.entries).map_err(touched)?;
    fp("unlink-old", journal_dir).map_err(touched)?;
    for entry in &journal.entries {
        if let Some(old) = &entry.old_link {
            remove_if_exists(old)
                .map_err(|e| touched(TxnError::io(old, "remove link to original", e)))?;
        }
    }
    fp("journal-remove", &jpath).map_err(touched)?;
    fs::remove_file(&jpath).map_err(|e| touched(TxnError::io(&jpath, "remove journal", e)))?;
    fp("journal-removed", &jpath).map_err(touched)?;
    fsync_dir(journal_dir).map_err(touched)?;

    for entry in &journal.entries {
        let actual = match read_current(&entry.target).map_err(touched)? {
            Some(c) => sha256_hex(&c.bytes),
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

/// The compare of the compare-and-swap: right before the renames, each target must still be
/// what the plan was made from: the same inode (not replaced) with the same bytes (not edited).
fn compare(plans: &[Planned]) -> Result<(), TxnError> {
    for plan in plans {
        let (then_sha, want_id) = match &plan.expect {
            Expect::Nothing => continue,
            Expect::Absent => (None, None),
            Expect::File { sha256, id } => (Some(sha256.clone()), Some(*id)),
        };
        let now = read_current(&plan.target)?;
        let now_sha = now.as_ref().map(|c| sha256_hex(&c.bytes));
        let now_id = now.as_ref().map(|c| c.id);
        let same_inode = now_id == want_id;
        if now_sha != then_sha || !same_inode {
            let identity = now_sha.is_some() && !same_inode;
            return Err(TxnError::ChangedDuringApply {
                path: plan.target.clone(),
                then_sha256: then_sha,
                now_sha256: now_sha,
                identity,
            });
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
    let Some(cur) = read_current(target)? else {
        return Err(TxnError::io(
            target,
            "keep original",
            std::io::Error::new(std::io::ErrorKind::NotFound, "file vanished"),
        ));
    };
    write_new_file(old, &cur.bytes, Some(cur.meta), Some(target))
}
