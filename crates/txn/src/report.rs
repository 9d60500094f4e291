//! Serializable results of `commit`, `restore` and `preview_restore` (SPEC "JSON output").

use std::path::PathBuf;

use serde::Serialize;

/// What a commit or restore did. Field names follow the SPEC's JSON contract.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CommitReport {
    /// Whether any file now differs from before.
    pub changed: bool,
    /// The snapshot taken before writing (absent when nothing changed).
    pub backup: Option<BackupRef>,
    /// The reload run, when one was asked for and something changed.
    pub reload: Option<ReloadReport>,
    /// One entry per file the caller named.
    pub files: Vec<FileReport>,
    /// Snapshot ids removed by `--keep` retention.
    pub pruned: Vec<String>,
    /// Non-fatal problems (e.g. retention failed after a successful write).
    pub warnings: Vec<String>,
}

/// Reference to a snapshot (`backup` in the JSON output).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BackupRef {
    /// Snapshot id, e.g. `20261130T023645Z` or `20261130T023645Z-2`.
    pub id: String,
    /// Snapshot directory.
    pub path: PathBuf,
}

/// Outcome of the reload command (`reload` in the JSON output).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReloadReport {
    /// The argv joined with spaces.
    pub command: String,
    /// Exit status 0 within the timeout.
    pub ok: bool,
    /// stdout followed by stderr, trimmed (or the reason it could not run).
    pub output: String,
}

/// Per-file outcome.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileReport {
    /// The path as the caller gave it (a symlink stays a symlink; its target was written).
    pub path: PathBuf,
    /// Whether this file now differs from before.
    pub changed: bool,
    /// sha256 before (null when the file did not exist).
    pub before_sha256: Option<String>,
    /// sha256 now.
    pub after_sha256: Option<String>,
}

/// What `restore` would do to one file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FilePreview {
    /// Name in the snapshot (`main.cf`).
    pub name: String,
    /// Path in the config directory.
    pub path: PathBuf,
    /// Whether restoring would change the file (bytes, mode or owner).
    pub changed: bool,
    /// sha256 of the current file (null when missing).
    pub current_sha256: Option<String>,
    /// sha256 of the snapshot copy.
    pub snapshot_sha256: String,
    /// Current bytes (not serialized: the CLI renders a diff from them).
    #[serde(skip)]
    pub current: Option<Vec<u8>>,
    /// Snapshot bytes (not serialized).
    #[serde(skip)]
    pub snapshot: Vec<u8>,
}
