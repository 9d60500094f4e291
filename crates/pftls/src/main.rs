//! pftls: remediation engine for Postfix TLS configuration (the binary; decisions live in the
//! library crates).

mod cli;
mod cmd;
mod context;
mod crypto;
mod error;
mod output;
mod parse;
mod saved_plan;
mod validate;

use clap::Parser;

use crate::cli::{Cli, Command, Format};
use crate::context::Ctx;
use crate::error::{CliError, EXIT_USAGE};

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            let code = match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => 0,
                _ => EXIT_USAGE,
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let ctx = Ctx::new(&cli.global);
    let result = match &cli.command {
        Command::Show(a) => cmd::show::run(&ctx, a),
        Command::Doctor(a) => cmd::doctor::run(&ctx, a),
        Command::Plan(a) => cmd::apply::run_plan(&ctx, a),
        Command::Apply(a) => cmd::apply::run_apply(&ctx, a),
        Command::Rollback(a) => cmd::rollback::run(&ctx, a),
        Command::Backups(c) => cmd::rollback::backups(&ctx, c),
        Command::Policies(c) => cmd::policies::run(&ctx, c),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => report_error(&ctx, &e),
    };
    std::process::exit(code);
}

fn report_error(ctx: &Ctx, e: &CliError) -> i32 {
    match ctx.format {
        Format::Json => output::print_json(&serde_json::json!({
            "changed": false,
            "error": e.to_json(),
        })),
        Format::Text => eprintln!("pftls: error: {e}"),
    }
    e.exit
}
