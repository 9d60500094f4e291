//! pftls: remediation engine for Postfix TLS configuration. This crate is the command line:
//! clap definitions, environment discovery, text and JSON rendering. Decisions live in the
//! library crates. It is a library too so that the man page and completions can be generated
//! from the same clap definitions (`examples/gen-assets.rs`).

pub mod cli;
pub mod cmd;
pub mod context;
pub use host::crypto;
pub mod error;
pub mod guard;
pub mod instances;
pub mod output;
pub mod parse;
pub mod saved_plan;
pub mod validate;

use clap::Parser;

use crate::cli::{Cli, Command, Format};
use crate::context::Ctx;
use crate::error::{CliError, EXIT_USAGE};

/// Parses the command line, runs the command and exits with its code.
pub fn run_main() -> ! {
    // Like other Unix tools, die quietly on a closed pipe (`pftls show | head`) instead of
    // panicking in println!.
    // SAFETY: restoring the default disposition of SIGPIPE at start-up, before any thread
    // exists, has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
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
    if cli.global.all_instances {
        let code = match instances::multi::run(&ctx, &cli.global, &cli.command) {
            Ok(code) => code,
            Err(e) => report_error(&ctx, &e),
        };
        std::process::exit(code);
    }
    let result = match &cli.command {
        Command::Show(a) => cmd::show::run(&ctx, a),
        Command::Doctor(a) => cmd::doctor::run(&ctx, a),
        Command::Plan(a) => cmd::apply::run_plan(&ctx, a),
        Command::Apply(a) => cmd::apply::run_apply(&ctx, a),
        Command::Rollback(a) => cmd::rollback::run(&ctx, a),
        Command::Verify(a) => cmd::verify::run(&ctx, a),
        Command::Simulate(a) => cmd::simulate::run(&ctx, a),
        Command::Probe(a) => cmd::probe::run(&ctx, a),
        Command::Logs(a) => cmd::logs::run(&ctx, a),
        Command::MtaSts(a) => cmd::mta_sts::run(&ctx, a),
        Command::Tlsa(a) => cmd::tlsa::run(&ctx, a),
        Command::Backups(c) => cmd::rollback::backups(&ctx, c),
        Command::Policies(c) => cmd::policies::run(&ctx, c),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => report_error(&ctx, &e),
    };
    std::process::exit(code);
}

/// The one JSON object printed on failure.
#[derive(serde::Serialize)]
struct ErrorReport<'a> {
    changed: bool,
    error: &'a CliError,
}

fn report_error(ctx: &Ctx, e: &CliError) -> i32 {
    match ctx.format {
        // `changed` tells the truth about the files on disk, also on failure (a failure
        // after the first rename leaves new files in place).
        Format::Json => output::print_report(&ErrorReport {
            changed: e.changed,
            error: e,
        }),
        Format::Text => eprintln!("pftls: error: {e}"),
    }
    e.exit
}
