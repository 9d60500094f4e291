//! `pftls mta-sts` (placeholder until it lands; replaced in one step).

use clap::Args;

use crate::context::Ctx;
use crate::error::{CliError, CliResult};

/// `mta-sts` options.
#[derive(Debug, Args)]
pub struct MtaStsArgs {}

/// Runs `mta-sts`.
pub fn run(_ctx: &Ctx, _args: &MtaStsArgs) -> CliResult<i32> {
    Err(CliError::new("usage", "mta-sts is not available in this build yet"))
}
