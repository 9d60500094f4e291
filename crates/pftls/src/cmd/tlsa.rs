//! `pftls tlsa` (placeholder until it lands; replaced in one step).

use clap::Args;

use crate::context::Ctx;
use crate::error::{CliError, CliResult};

/// `tlsa` options.
#[derive(Debug, Args)]
pub struct TlsaArgs {}

/// Runs `tlsa`.
pub fn run(_ctx: &Ctx, _args: &TlsaArgs) -> CliResult<i32> {
    Err(CliError::new("usage", "tlsa is not available in this build yet"))
}
