//! Usage errors: every one exits 64, and with `--format json` (wherever it stands on the command
//! line, even after the error) it is reported as one JSON object on stdout.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use serde::Serialize;

use crate::error::EXIT_USAGE;

/// The JSON report of a usage error (the same shape as every other error report).
#[derive(Debug, Serialize)]
pub struct UsageReport {
    /// Always false: a usage error changes nothing.
    pub changed: bool,
    /// What was wrong.
    pub error: UsageError,
}

/// The `error` object of a usage error.
#[derive(Debug, Serialize)]
pub struct UsageError {
    /// Always `usage`.
    pub kind: &'static str,
    /// The message, as the text form prints it (without the usage block).
    pub message: String,
    /// Always null for usage errors (kept so that every error object has the same fields).
    pub file: Option<String>,
    /// Always null for usage errors.
    pub line: Option<usize>,
    /// Did-you-mean candidates (subcommands, options or values), best first.
    pub suggestions: Vec<String>,
}

/// True when the raw arguments ask for JSON output. Scanned by hand because clap stops at the
/// first error, and `--format json` may come after it.
pub fn wants_json(args: &[std::ffi::OsString]) -> bool {
    let mut it = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        if a == "--format" {
            if it.next().is_some_and(|v| v == "json") {
                return true;
            }
        } else if a == "--format=json" {
            return true;
        }
    }
    false
}

/// Did-you-mean candidates: clap's own, and for an unknown subcommand the closest subcommand
/// names (pftls builds clap without its `suggestions` feature, so this is where they come from).
fn suggestions(e: &clap::Error) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(ContextValue::String(typed)) = e.get(ContextKind::InvalidSubcommand) {
        out.extend(suggest_subcommand(typed));
    }
    for kind in [
        ContextKind::SuggestedSubcommand,
        ContextKind::SuggestedArg,
        ContextKind::SuggestedValue,
    ] {
        match e.get(kind) {
            Some(ContextValue::String(s)) => out.push(s.clone()),
            Some(ContextValue::Strings(v)) => out.extend(v.iter().cloned()),
            _ => {}
        }
    }
    out.dedup();
    out
}

/// The subcommand names closest to `typed`, from every level (`plna` → `plan`, `lst` → `list`).
pub fn suggest_subcommand(typed: &str) -> Vec<String> {
    let cmd = crate::cli::command();
    let mut names: Vec<String> = Vec::new();
    for sc in cmd.get_subcommands() {
        names.push(sc.get_name().to_string());
        names.extend(sc.get_subcommands().map(|s| s.get_name().to_string()));
    }
    pftls_policy::suggest::closest(typed, names.iter().map(String::as_str))
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// The first lines of clap's rendering, without the `error: ` prefix and the usage block.
fn message(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let body: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:"))
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();
    body.join("\n")
        .trim_start_matches("error: ")
        .trim()
        .to_string()
}

/// Reports a clap error and returns the exit code: 0 for --help and --version, 64 otherwise
/// (a missing subcommand included: `pftls` alone and `pftls backups` are usage errors).
pub fn report_clap_error(e: &clap::Error, json: bool) -> i32 {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            return 0;
        }
        _ => {}
    }
    let missing_subcommand = e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand;
    if json {
        let message = if missing_subcommand {
            "a subcommand is required (see --help)".to_string()
        } else {
            message(e)
        };
        crate::output::print_report(&UsageReport {
            changed: false,
            error: UsageError {
                kind: "usage",
                message,
                file: None,
                line: None,
                suggestions: suggestions(e),
            },
        });
    } else if missing_subcommand {
        // clap renders the help here; it belongs on stderr with the error, not on stdout.
        eprintln!("pftls: error: a subcommand is required\n");
        eprint!("{}", e.render());
    } else {
        let _ = e.print();
        if let Some(best) = suggestions(e).first() {
            eprintln!("tip: did you mean '{best}'?");
        }
    }
    EXIT_USAGE
}
