//! Typed errors of the transaction crate. Every variant names the path it concerns.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

use crate::report::CommitReport;

/// Everything that can go wrong while locking, snapshotting, writing, restoring or reloading.
#[derive(Debug, Error)]
pub enum TxnError {
    /// Another process (or thread) held the config-directory lock for the whole timeout.
    #[error("another pftls run holds the lock on {} (waited {})", dir.display(), fmt_secs(*waited))]
    LockTimeout {
        /// The locked configuration directory.
        dir: PathBuf,
        /// How long we waited.
        waited: Duration,
    },
    /// An I/O operation failed.
    #[error("{}: {action}: {source}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What was being attempted ("write temporary file", "rename", ...).
        action: &'static str,
        /// The underlying OS error.
        #[source]
        source: io::Error,
    },
    /// A snapshot does not match its manifest, or the manifest is unreadable.
    #[error("snapshot {id} is corrupt: {}: {reason}", file.display())]
    Corrupt {
        /// Snapshot id.
        id: String,
        /// The file inside the snapshot that is wrong (or `manifest.json`).
        file: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// No snapshot with this id exists in the backup directory.
    #[error("no snapshot {id} in {}", dir.display())]
    NoSuchSnapshot {
        /// The id asked for.
        id: String,
        /// The backup directory searched.
        dir: PathBuf,
    },
    /// The backup directory holds no (suitable) snapshot.
    #[error("no snapshots in {}", dir.display())]
    NoSnapshots {
        /// The backup directory searched.
        dir: PathBuf,
    },
    /// A file re-read after writing does not have the intended checksum.
    #[error("{}: after writing, sha256 is {actual}, expected {expected}", path.display())]
    Verify {
        /// The file written.
        path: PathBuf,
        /// sha256 of the intended contents.
        expected: String,
        /// sha256 of what was read back.
        actual: String,
    },
    /// The reload command failed; the previous files were restored if `restored`.
    #[error("{}", reload_failed_message(report, *restored, restore_error.as_deref()))]
    ReloadFailed {
        /// What was done, including the reload command and its output.
        report: Box<CommitReport>,
        /// Whether the files were put back as they were before.
        restored: bool,
        /// Why restoring failed, when it did.
        restore_error: Option<String>,
    },
    /// A file name (from a caller or a manifest) is not a plain file name.
    #[error("{}: invalid file name {name:?} (must be a plain name such as main.cf)", context.display())]
    InvalidName {
        /// The offending name.
        name: String,
        /// Where the name came from (manifest path or target path).
        context: PathBuf,
    },
    /// Two changes target the same file.
    #[error("{}: listed twice in one transaction", path.display())]
    Duplicate {
        /// The file listed twice.
        path: PathBuf,
    },
    /// A file is not what the plan was made from: someone changed it between planning and
    /// writing. Nothing was written.
    #[error("{} changed during apply (sha256 {} when planned, {} now){}: nothing was written; run pftls again to plan on the current file", path.display(), short(then_sha256), short(now_sha256), if *identity { ", and it is a different file now" } else { "" })]
    ChangedDuringApply {
        /// The file that changed.
        path: PathBuf,
        /// sha256 when the plan was made (`None`: it did not exist).
        then_sha256: Option<String>,
        /// sha256 now (`None`: it does not exist).
        now_sha256: Option<String>,
        /// Whether the path now names another inode (replaced, not edited).
        identity: bool,
    },
    /// A file could not be read safely (FIFO, device, too large, unreadable).
    #[error(transparent)]
    Read(#[from] pftls_safe_read::ReadError),
    /// The backup directory or a snapshot in it could be controlled by someone other than the
    /// invoking user or root: nothing is read from it or written to it.
    #[error("{}: {reason}; refusing to use it (it must be owned by you or root and not writable by group or others)", path.display())]
    Untrusted {
        /// The directory or file.
        path: PathBuf,
        /// What is wrong ("owned by uid 1000", "mode 1777 is writable by others").
        reason: String,
    },
    /// A snapshot asks for something pftls will not restore (a file it does not manage, a
    /// set-id or world-writable mode, a foreign owner).
    #[error("snapshot {id} is refused: {reason}")]
    UnsafeSnapshot {
        /// Snapshot id.
        id: String,
        /// Why it is refused.
        reason: String,
    },
    /// The snapshot belongs to another configuration directory (Postfix instance).
    #[error("snapshot {id} belongs to {}, not {}: refusing to restore another instance's files (use -c {} to restore it there)", snapshot_dir.display(), config_dir.display(), snapshot_dir.display())]
    OtherInstance {
        /// Snapshot id.
        id: String,
        /// The configuration directory recorded in the snapshot.
        snapshot_dir: PathBuf,
        /// The configuration directory being restored.
        config_dir: PathBuf,
    },
    /// Files were edited after the apply that took the snapshot; a rollback would discard
    /// those edits.
    #[error("{}", drift_message(id, files))]
    Drift {
        /// Snapshot id.
        id: String,
        /// The files that differ from what the apply wrote.
        files: Vec<crate::drift::DriftFile>,
    },
    /// `--keep 0` would delete the snapshot just taken, the only undo of this run.
    #[error("--keep must be at least 1: the snapshot this run takes is its undo")]
    InvalidKeep,
    /// A step after the first rename failed: the new files ARE in place (`report.changed`).
    #[error(
        "{source}; the configuration files were changed (changed: true) and the next pftls run finishes the interrupted transaction{}",
        incomplete_hint(report)
    )]
    Incomplete {
        /// What was done (changed: true).
        report: Box<CommitReport>,
        /// The step that failed.
        #[source]
        source: Box<TxnError>,
    },
    /// An interrupted earlier run left a journal that could not be finished as written; pftls
    /// made the files consistent, cleared the journal and says what it did.
    #[error("{message}")]
    StaleJournal {
        /// The journal (or where it was moved).
        path: PathBuf,
        /// What happened and what pftls did.
        message: String,
    },
    /// An unfinished transaction journal could not be rolled forward or back.
    #[error("{}: cannot recover unfinished transaction: {reason}", path.display())]
    Journal {
        /// The journal file.
        path: PathBuf,
        /// Why recovery failed.
        reason: String,
    },
}

impl TxnError {
    /// Build an [`TxnError::Io`] from a path, an action and an OS error.
    pub fn io(path: impl Into<PathBuf>, action: &'static str, source: io::Error) -> Self {
        TxnError::Io {
            path: path.into(),
            action,
            source,
        }
    }

    /// A short, stable machine-readable kind for JSON output (`error.kind`).
    pub fn kind(&self) -> &'static str {
        match self {
            TxnError::LockTimeout { .. } => "lock_timeout",
            TxnError::Io { .. } => "io",
            TxnError::Corrupt { .. } => "corrupt_snapshot",
            TxnError::NoSuchSnapshot { .. } => "no_such_snapshot",
            TxnError::NoSnapshots { .. } => "no_snapshots",
            TxnError::Verify { .. } => "verify",
            TxnError::ReloadFailed { .. } => "reload_failed",
            TxnError::InvalidName { .. } => "invalid_name",
            TxnError::Duplicate { .. } => "duplicate_file",
            TxnError::Journal { .. } => "journal",
            TxnError::ChangedDuringApply { .. } => "changed_during_apply",
            TxnError::Read(_) => "unsafe_file",
            TxnError::Untrusted { .. } => "untrusted_backup_dir",
            TxnError::UnsafeSnapshot { .. } => "unsafe_snapshot",
            TxnError::OtherInstance { .. } => "other_instance",
            TxnError::Drift { .. } => "drift",
            TxnError::InvalidKeep => "usage",
            TxnError::Incomplete { .. } => "incomplete",
            TxnError::StaleJournal { .. } => "stale_journal",
        }
    }

    /// Whether the files on disk differ from before the run although it failed (the truthful
    /// `changed` of the JSON report).
    pub fn changed(&self) -> bool {
        match self {
            TxnError::Incomplete { report, .. } => report.changed,
            TxnError::ReloadFailed {
                report, restored, ..
            } => !restored && report.changed,
            _ => false,
        }
    }

    /// The file or directory the error concerns, for JSON output (`error.file`).
    pub fn path(&self) -> Option<&Path> {
        match self {
            TxnError::LockTimeout { dir, .. } => Some(dir),
            TxnError::Io { path, .. } => Some(path),
            TxnError::Corrupt { file, .. } => Some(file),
            TxnError::NoSuchSnapshot { dir, .. } | TxnError::NoSnapshots { dir } => Some(dir),
            TxnError::Verify { path, .. } => Some(path),
            TxnError::ReloadFailed { .. } => None,
            TxnError::InvalidName { context, .. } => Some(context),
            TxnError::Duplicate { path } => Some(path),
            TxnError::Journal { path, .. } => Some(path),
            TxnError::ChangedDuringApply { path, .. } => Some(path),
            TxnError::Read(e) => Some(e.path()),
            TxnError::Untrusted { path, .. } => Some(path),
            TxnError::UnsafeSnapshot { .. } | TxnError::InvalidKeep => None,
            TxnError::OtherInstance { config_dir, .. } => Some(config_dir),
            TxnError::Drift { files, .. } => files.first().map(|f| f.path.as_path()),
            TxnError::Incomplete { source, .. } => source.path(),
            TxnError::StaleJournal { path, .. } => Some(path),
        }
    }
}

/// "30s" for whole seconds, "0.2s" otherwise.
fn fmt_secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

fn reload_failed_message(
    report: &CommitReport,
    restored: bool,
    restore_error: Option<&str>,
) -> String {
    let (command, output) = match &report.reload {
        Some(r) => (r.command.as_str(), r.output.as_str()),
        None => ("", ""),
    };
    let output = if output.is_empty() {
        "(no output)"
    } else {
        output
    };
    let outcome = match (restored, restore_error) {
        (true, _) => match &report.backup {
            Some(b) => format!("the previous files were restored (snapshot {})", b.id),
            None => "the previous files were restored".to_string(),
        },
        (false, Some(e)) => format!("restoring the previous files FAILED: {e}"),
        (false, None) => "the previous files were NOT restored".to_string(),
    };
    format!("reload command `{command}` failed: {output}; {outcome}")
}

fn short(sha: &Option<String>) -> String {
    match sha {
        Some(s) => s.get(..12).unwrap_or(s).to_string(),
        None => "(absent)".to_string(),
    }
}

fn incomplete_hint(report: &CommitReport) -> String {
    match &report.backup {
        Some(b) => format!("; undo with: pftls rollback --to {}", b.id),
        None => String::new(),
    }
}

fn drift_message(id: &str, files: &[crate::drift::DriftFile]) -> String {
    let names: Vec<String> = files.iter().map(|f| f.path.display().to_string()).collect();
    format!(
        "{} changed since pftls wrote {} (snapshot {id}); rolling back would discard those edits: nothing was written (see the diff; use --force to roll back anyway)",
        names.join(", "),
        if files.len() == 1 { "it" } else { "them" }
    )
}
