//! Candidate validation before writing: a view over [`host::validate`].

use crate::cmd::apply::Planned;
use crate::error::{CliError, CliResult};

pub use host::validate::{which, write_settled};

/// Validates the plan's candidate files. Returns postconf's warnings that the current files do
/// not already produce.
pub fn validate_candidate(p: &Planned) -> CliResult<Vec<String>> {
    host::validate::validate_candidate(
        &p.plan.main_before,
        &p.plan.master_before,
        &p.plan.main_after,
        &p.plan.master_after,
    )
    .map_err(|e| CliError::new("validation", e.to_string()))
}
