//! `pftls simulate` and the `impact` section of `plan`/`apply`: for the current and the
//! planned configuration, which sending MTAs (client profiles) each inbound TLS service would
//! accept, over which protocol and cipher, and what a failure means for mail.
//!
//! The model lives in [`host::simulate`]; this module parses the options, picks the client
//! profiles and renders.

use std::path::{Path, PathBuf};

use clap::Args;
use pftls_tls::{builtin_profiles, load_profiles_json, ClientProfile};

pub use host::simulate::*;
pub use pftls_policy::{inbound_tls_services, InboundService};

use crate::cli::Format;
use crate::context::Ctx;
use crate::error::{CliError, CliResult, EXIT_USAGE};
use crate::output::{bold, print_report};

/// `simulate` options.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Policies whose planned result is simulated next to the current configuration: a
    /// built-in name, a name in a --policy-dir, or a YAML file (repeatable; merged in order).
    #[arg(short = 'p', long = "policy", value_name = "POLICY")]
    pub policies: Vec<String>,
    /// Only these client profiles (repeatable; see the ids in the output).
    #[arg(long = "client", value_name = "ID")]
    pub clients: Vec<String>,
    /// Extra client profiles (JSON: an array of profiles or `{"profiles": [...]}`), added to
    /// the built-in ones.
    #[arg(long, value_name = "FILE")]
    pub client_profiles: Option<PathBuf>,
}

/// The client profiles to use: built-in, plus those of `file`, filtered to `ids` (all when
/// empty). Unknown ids are a usage error listing the known ones.
pub fn select_clients(ids: &[String], file: Option<&Path>) -> CliResult<Vec<ClientProfile>> {
    let mut all = builtin_profiles();
    if let Some(path) = file {
        let text = pftls_safe_read::read_to_string(path, pftls_safe_read::Kind::Text)
            .map_err(|e| crate::context::io_error(path, &e.into_reason_io()))?;
        let extra = load_profiles_json(&text).map_err(|e| {
            CliError::new("profiles", format!("{}: {e}", path.display()))
                .at(path.display().to_string(), None)
        })?;
        for p in extra {
            if all.iter().any(|b| b.id == p.id) {
                return Err(CliError::new(
                    "profiles",
                    format!(
                        "{}: profile id \"{}\" is already a built-in profile",
                        path.display(),
                        p.id
                    ),
                )
                .at(path.display().to_string(), None));
            }
            all.push(p);
        }
    }
    if ids.is_empty() {
        return Ok(all);
    }
    let mut out = Vec::new();
    for id in ids {
        match all.iter().find(|p| &p.id == id) {
            Some(p) if !out.contains(p) => out.push(p.clone()),
            Some(_) => {}
            None => {
                let known: Vec<&str> = all.iter().map(|p| p.id.as_str()).collect();
                let mut e = CliError::new(
                    "usage",
                    format!(
                        "unknown client profile \"{id}\"; known: {}",
                        known.join(", ")
                    ),
                );
                e.exit = EXIT_USAGE;
                return Err(e);
            }
        }
    }
    Ok(out)
}

/// `simulate --format json`.
#[derive(serde::Serialize)]
struct SimulateReport<'a> {
    postfix_version: String,
    crypto_policy: &'a str,
    config_dir: String,
    policies: &'a [String],
    services: Vec<ServiceJson<'a>>,
    warnings: &'a [String],
}

/// Runs `simulate`.
pub fn run(ctx: &Ctx, args: &SimulateArgs) -> CliResult<i32> {
    let clients = select_clients(&args.clients, args.client_profiles.as_deref())?;
    let host = ctx.host()?;
    let env = host.environment();
    let baseline = &host.baseline;
    let mut warnings = host.notes.clone();
    let files = &host.files;
    let main_name = files.main_path.display().to_string();
    let master_name = files.master_path.display().to_string();
    let before = Docs {
        main: host.main.clone(),
        master: host.master.clone(),
    };
    let plan = if args.policies.is_empty() {
        None
    } else {
        let policies = crate::cmd::apply::load_policies(ctx, &args.policies)?;
        let plan = host::plan::plan(host, &policies)
            .map_err(|e| crate::cmd::apply::plan_error(e, files))?;
        Some(plan)
    };
    let after = match &plan {
        Some(p) => Some(
            Docs::parse(
                &p.main_after,
                &p.master_after,
                &format!("{main_name} (planned)"),
                &format!("{master_name} (planned)"),
            )
            .map_err(crate::context::host_error)?,
        ),
        None => None,
    };
    let matrix = simulate_configs(
        &before,
        after.as_ref(),
        &env.catalogue,
        baseline,
        env.version,
        &clients,
    );
    warnings.extend(matrix.notes());
    let policies: Vec<String> = plan
        .as_ref()
        .map(|p| p.policies.clone())
        .unwrap_or_default();
    match ctx.format {
        Format::Json => print_report(&SimulateReport {
            postfix_version: env.version.to_string(),
            crypto_policy: &baseline.source,
            config_dir: ctx.config_dir.display().to_string(),
            policies: &policies,
            services: matrix.to_json(),
            warnings: &warnings,
        }),
        Format::Text => {
            if !ctx.quiet {
                let pol = if policies.is_empty() {
                    String::new()
                } else {
                    format!("; planned with: {}", policies.join(", "))
                };
                let head = format!(
                    "{} — Postfix {}, {}{pol}",
                    ctx.config_dir.display(),
                    env.version,
                    baseline.source
                );
                let first = format!("{} ", bold("pftls simulate", ctx.color));
                println!(
                    "{}",
                    crate::text::wrap(&head, crate::text::width(), &first, 2)
                );
            }
            print!("{}", crate::render_impact::matrix_text(&matrix, ctx.color));
            for w in &warnings {
                eprintln!("note: {w}");
            }
        }
    }
    Ok(0)
}
