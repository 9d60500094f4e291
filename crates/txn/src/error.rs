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
