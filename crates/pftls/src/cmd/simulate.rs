//! `pftls simulate` (placeholder until it lands; replaced in one step).

use clap::Args;

use crate::context::Ctx;
use crate::error::{CliError, CliResult};

/// `simulate` options.
#[derive(Debug, Args)]
pub struct SimulateArgs {}

/// Runs `simulate`.
pub fn run(_ctx: &Ctx, _args: &SimulateArgs) -> CliResult<i32> {
    Err(CliError::new("usage", "simulate is not available in this build yet"))
}
