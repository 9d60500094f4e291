#![warn(missing_docs)]
//! pftls-txn: moves bytes safely for pftls. It knows nothing about Postfix syntax.
//!
//! - [`SnapshotStore`]: `BACKUP_DIR/ID/` snapshots with `manifest.json`, list/verify/prune.
//! - [`lock_config_dir`]: flock(2) on the configuration directory, with a timeout.
//! - [`commit`] / [`restore`]: snapshot, write several files atomically as a group (intent
//!   journal `CONFIG_DIR/.pftls-journal`, see [`recover`]), verify, reload, undo on failure.
//! - [`preview_restore`]: what a restore would change, writing nothing.

mod atomic;
mod error;
mod fsutil;
mod hash;
mod journal;
mod lock;
mod manifest;
mod ops;
mod reload;
mod report;
mod store;
mod xattr;

pub use error::TxnError;
pub use fsutil::FileMeta;
pub use hash::sha256_hex;
pub use journal::{recover, Recovery, RecoveryAction, JOURNAL_NAME};
pub use lock::{lock_config_dir, ConfigLock};
pub use manifest::{Action, Manifest, ManifestFile};
pub use ops::{commit, preview_restore, restore, FileChange};
pub use reload::{
    run_reload, split_reload_command, DEFAULT_RELOAD_COMMAND, DEFAULT_RELOAD_TIMEOUT,
};
pub use report::{BackupRef, CommitReport, FilePreview, FileReport, ReloadReport};
pub use store::{is_snapshot_id, SnapshotInfo, SnapshotMeta, SnapshotStore, MANIFEST_NAME};
