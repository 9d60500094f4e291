//! `apply --guard` and `rollback --if-drop` (placeholder until it lands; replaced in one step).

use pftls_txn::{ConfigLock, SnapshotStore};

use crate::cli::{GuardArgs, RollbackArgs};
use crate::context::Ctx;
use crate::error::{CliError, CliResult};

/// What the guard decided.
#[derive(Debug, Clone, Default)]
pub struct GuardOutcome {
    /// Whether the change was rolled back.
    pub rolled_back: bool,
    /// The evidence, as JSON (`guard` in the apply output).
    pub json: serde_json::Value,
    /// The evidence, as text.
    pub text: String,
}

/// Watches the log after an apply that took snapshot `snapshot_id`; rolls back when the
/// verdict says so. Called with the config lock still held.
pub fn after_apply(
    _ctx: &Ctx,
    _args: &GuardArgs,
    _lock: &ConfigLock,
    _store: &SnapshotStore,
    _snapshot_id: &str,
    _reload: Option<&[String]>,
) -> CliResult<GuardOutcome> {
    Err(CliError::new(
        "usage",
        "--guard is not available in this build yet",
    ))
}

/// For `rollback --if-drop`: Ok(Some(reason)) when the drop criterion holds (roll back),
/// Ok(None) when it does not (keep the change).
pub fn drop_check(
    _ctx: &Ctx,
    _args: &RollbackArgs,
    _snapshot_id: &str,
) -> CliResult<(bool, serde_json::Value, String)> {
    Err(CliError::new(
        "usage",
        "--if-drop is not available in this build yet",
    ))
}
