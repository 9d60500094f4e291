#![warn(missing_docs)]
//! pftls-txn: moves bytes safely for pftls. It knows nothing about Postfix syntax.
//!
//! - [`SnapshotStore`]: `BACKUP_DIR/ID/` snapshots with `manifest.json`, list/verify/prune.
//! - [`lock_config_dir`]: flock(2) on the configuration directory, with a timeout.
//! - [`commit`] / [`restore`]: snapshot, write several files atomically as a group (intent
//!   journal `CONFIG_DIR/.pftls-journal`, see [`recover`]), verify, reload, undo on failure.
//! - [`preview_restore`]: what a restore would change, writing nothing.

mod atomic;
mod drift;
mod error;
mod failpoint;
mod fsutil;
mod hash;
mod journal;
mod lock;
mod manifest;
mod ops;
mod reload;
mod report;
mod store;
mod trust;
mod xattr;

pub use drift::DriftFile;
pub use error::TxnError;
pub use failpoint::{CRASH_STATUS, FAILPOINTS_ENV, FAILPOINT_DIR_ENV};
pub use fsutil::{FileId, FileMeta};
pub use hash::sha256_hex;
pub use journal::{recover, Recovery, RecoveryAction, JOURNAL_NAME};
pub use lock::{lock_config_dir, ConfigLock};
pub use manifest::{Action, AppliedFile, Manifest, ManifestFile};
pub use ops::{
    commit, preview_restore, restore, restore_with, Expected, FileChange, RestoreOptions,
};
pub use reload::{
    master_status, reload_command_for, run_reload, split_reload_command, MasterStatus,
    DEFAULT_RELOAD_COMMAND, DEFAULT_RELOAD_TIMEOUT, OUTPUT_TAIL,
};
pub use report::{BackupRef, CommitReport, FilePreview, FileReport, ReloadReport};
pub use store::{
    check_manifest, is_snapshot_id, SnapshotInfo, SnapshotMeta, SnapshotStore, MANAGED_FILES,
    MANIFEST_NAME,
};
