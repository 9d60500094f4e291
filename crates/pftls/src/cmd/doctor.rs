//! `pftls doctor`: findings over the effective configuration, grouped by severity, each with
//! its location and fix; `--fail-on LEVEL` exits 3 when a finding reaches LEVEL.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use pftls_doctor::{counts, diagnose, DoctorInput, DoctorOptions, Finding, Severity};
use pftls_tls::{builtin_profiles, load_profiles_json, ClientProfile};

use crate::cli::Format;
use crate::context::{read_file, Ctx};
use crate::error::{CliError, CliResult};
use crate::output::{bold, first_sentence, print_report, severity, topology_lines};

/// Exit code when findings reach `--fail-on`.
pub const EXIT_FINDINGS: i32 = 3;

/// A severity threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Level {
    /// Any finding.
    Info,
    /// Warnings and errors.
    Warning,
    /// Errors only.
    Error,
}

impl Level {
    fn severity(self) -> Severity {
        match self {
            Level::Info => Severity::Info,
            Level::Warning => Severity::Warning,
            Level::Error => Severity::Error,
        }
    }
}

/// `doctor` options.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Exit 3 when a finding at or above this level exists.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub fail_on: Option<Level>,
    /// Do not read certificate and key files (only the configuration is checked).
    #[arg(long)]
    pub no_file_checks: bool,
    /// Client profiles (JSON, `{"profiles": [...]}` or an array) instead of the built-in ones.
    #[arg(long, value_name = "FILE")]
    pub client_profiles: Option<PathBuf>,
    /// Warn when a certificate expires within this many days.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub expiry_days: u32,
    /// The resolver configuration checked for DANE (a local validating resolver).
    #[arg(long, value_name = "FILE", default_value = "/etc/resolv.conf")]
    pub resolv_conf: PathBuf,
    /// The published MTA-STS policy (mta-sts.txt): checked against RFC 8461 and, in mode
    /// enforce, against the names of the configured certificate.
    #[arg(long, value_name = "FILE")]
    pub mta_sts_policy: Option<PathBuf>,
}

/// `doctor --format json`.
#[derive(serde::Serialize)]
struct DoctorReport<'a> {
    postfix_version: String,
    crypto_policy: &'a str,
    config_dir: String,
    findings: &'a [Finding],
    counts: Counts,
    warnings: &'a [String],
    /// Addition: every master.cf service with its role and effective TLS level.
    topology: &'a host::topology::Topology,
}

#[derive(serde::Serialize)]
struct Counts {
    error: usize,
    warning: usize,
    info: usize,
}

/// Runs `doctor`.
pub fn run(ctx: &Ctx, args: &DoctorArgs) -> CliResult<i32> {
    let host = ctx.host()?;
    let (baseline, notes) = (&host.baseline, &host.notes);
    let profiles = profiles(args)?;
    let input = DoctorInput {
        main: &host.main,
        master: &host.master,
        catalogue: &host.catalogue,
        version: host.version,
        baseline,
        profiles: &profiles,
        options: DoctorOptions {
            check_files: !args.no_file_checks,
            expiry_days: args.expiry_days,
            resolv_conf: args.resolv_conf.clone(),
            mta_sts_policy: args.mta_sts_policy.clone(),
            now: None,
        },
    };
    let findings = diagnose(&input);
    let (errors, warnings, infos) = counts(&findings);

    match ctx.format {
        Format::Json => print_report(&DoctorReport {
            postfix_version: host.version.to_string(),
            crypto_policy: &baseline.source,
            config_dir: ctx.config_dir.display().to_string(),
            findings: &findings,
            counts: Counts {
                error: errors,
                warning: warnings,
                info: infos,
            },
            warnings: notes,
            topology: &host.topology,
        }),
        Format::Text => {
            for n in notes {
                eprintln!("warning: {n}");
            }
            print_text(ctx, &findings, &host.version.to_string(), &baseline.source);
            // The topology is the reasoning behind the findings: shown with -v.
            if ctx.verbose {
                println!("\n{}", bold("listeners", ctx.color));
                for l in topology_lines(host) {
                    println!("{l}");
                }
            }
        }
    }
    let failed = args
        .fail_on
        .is_some_and(|level| findings.iter().any(|f| f.severity >= level.severity()));
    Ok(if failed { EXIT_FINDINGS } else { 0 })
}

/// The built-in profiles, or those of `--client-profiles`.
fn profiles(args: &DoctorArgs) -> CliResult<Vec<ClientProfile>> {
    let Some(path) = &args.client_profiles else {
        return Ok(builtin_profiles());
    };
    let bytes = read_file(path)?;
    load_profiles_json(&String::from_utf8_lossy(&bytes)).map_err(|e| {
        CliError::new("usage", format!("{}: {e}", path.display()))
            .at(path.display().to_string(), None)
    })
}

fn print_text(ctx: &Ctx, findings: &[Finding], version: &str, policy: &str) {
    let width = crate::text::width();
    if !ctx.quiet {
        println!(
            "{} {} — Postfix {version}, {policy}",
            bold("pftls doctor", ctx.color),
            ctx.config_dir.display()
        );
    }
    if findings.is_empty() {
        if !ctx.quiet {
            println!("\nNo findings.");
        }
        return;
    }
    for (sev, title) in [
        (Severity::Error, "errors"),
        (Severity::Warning, "warnings"),
        (Severity::Info, "info"),
    ] {
        let group: Vec<&Finding> = findings.iter().filter(|f| f.severity == sev).collect();
        if group.is_empty() {
            continue;
        }
        if !ctx.quiet {
            println!(
                "\n{} ({})",
                bold(&severity(title, ctx.color), ctx.color),
                group.len()
            );
        }
        for f in group {
            let loc = f.location.as_deref().unwrap_or("-");
            println!("  {}  {}  {loc}", severity(sev.as_str(), ctx.color), f.id);
            if ctx.quiet {
                println!(
                    "{}",
                    crate::text::wrap(first_sentence(&f.message), width, "      ", 6)
                );
                continue;
            }
            println!("{}", crate::text::wrap(&f.message, width, "      ", 6));
            println!("{}", crate::text::wrap(&f.fix, width, "      fix: ", 11));
        }
    }
    if ctx.quiet {
        return;
    }
    let (e, w, i) = counts(findings);
    println!("\n{e} error(s), {w} warning(s), {i} info");
}
