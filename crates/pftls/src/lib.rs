//! pftls: remediation engine for Postfix TLS configuration. This crate is the command line:
//! clap definitions, environment discovery, text and JSON rendering. Decisions live in the
//! library crates. It is a library too so that the man page and completions can be generated
//! from the same clap definitions (`examples/gen-assets.rs`).

pub mod cli;
pub mod cmd;
pub mod completions;
pub mod context;
pub use host::crypto;
pub mod error;
pub mod guard;
pub mod help;
pub mod instances;
pub mod output;
pub mod parse;
pub mod render_impact;
pub mod saved_plan;
pub mod text;
pub mod usage;
pub mod validate;
pub mod versions;

use clap::FromArgMatches;

use crate::cli::{Cli, Command, Format};
use crate::context::Ctx;
use crate::error::CliError;

/// Parses the command line, runs the command and exits with its code.
pub fn run_main() -> ! {
    // Like other Unix tools, die quietly on a closed pipe (`pftls show | head`) instead of
    // panicking in println!.
    // SAFETY: restoring the default disposition of SIGPIPE at start-up, before any thread
    // exists, has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let json = usage::wants_json(&args);
    let parsed = cli::command()
        .try_get_matches_from(&args)
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => std::process::exit(usage::report_clap_error(&e, json)),
    };
    let mut ctx = Ctx::new(&cli.global);
    ctx.command = cli.command.name();
    ctx.invocation = std::iter::once("pftls".to_string())
        .chain(
            args.iter()
                .skip(1)
                .map(|a| a.to_string_lossy().into_owned()),
        )
        .collect();
    // Checked before any command runs, so that no command plans with another line's data.
    if let Some(v) = &cli.global.postfix_version {
        if let Err(msg) = versions::parse_target(v) {
            std::process::exit(report_error(&ctx, &CliError::usage(msg)));
        }
    }
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
        Command::Set(a) => cmd::set::run(&ctx, a),
        Command::Completions(a) => completions::run(a),
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
