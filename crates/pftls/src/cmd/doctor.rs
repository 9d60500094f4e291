//! `pftls doctor` (placeholder until the doctor crate lands; replaced in one step).

use clap::Args;

use crate::context::Ctx;
use crate::error::{CliError, CliResult};

/// `doctor` options.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Exit 3 when a finding at or above this level exists.
    #[arg(long, value_name = "LEVEL")]
    pub fail_on: Option<String>,
}

/// Runs `doctor`.
pub fn run(_ctx: &Ctx, _args: &DoctorArgs) -> CliResult<i32> {
    Err(CliError::new(
        "usage",
        "doctor is not available in this build yet",
    ))
}
