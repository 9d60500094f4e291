//! Drift: whether the files were edited after the run that took a snapshot wrote them. A
//! rollback would silently discard such edits, so it is refused unless forced.

use std::path::PathBuf;

use serde::Serialize;

/// A file that no longer holds what the run that took the snapshot wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriftFile {
    /// Name in the snapshot (`main.cf`).
    pub name: String,
    /// The file in the configuration directory.
    pub path: PathBuf,
    /// sha256 of what pftls wrote.
    pub applied_sha256: String,
    /// sha256 now (null when the file is gone).
    pub current_sha256: Option<String>,
    /// What pftls wrote (not serialized: the CLI renders a diff from it).
    #[serde(skip)]
    pub applied: Vec<u8>,
    /// The current bytes (not serialized).
    #[serde(skip)]
    pub current: Option<Vec<u8>>,
}
