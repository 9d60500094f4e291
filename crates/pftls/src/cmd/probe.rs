//! `pftls probe` (placeholder until it lands; replaced in one step).

use clap::Args;

use crate::context::Ctx;
use crate::error::{CliError, CliResult};

/// `probe` options.
#[derive(Debug, Args)]
pub struct ProbeArgs {}

/// Runs `probe`.
pub fn run(_ctx: &Ctx, _args: &ProbeArgs) -> CliResult<i32> {
    Err(CliError::new("usage", "probe is not available in this build yet"))
}
