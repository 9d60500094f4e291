//! `pftls logs` (placeholder until it lands; replaced in one step).

use clap::Args;

use crate::context::Ctx;
use crate::error::{CliError, CliResult};

/// `logs` options.
#[derive(Debug, Args)]
pub struct LogsArgs {}

/// Runs `logs`.
pub fn run(_ctx: &Ctx, _args: &LogsArgs) -> CliResult<i32> {
    Err(CliError::new(
        "usage",
        "logs is not available in this build yet",
    ))
}
