//! `pftls policies list|show|check`.

use crate::cli::{Format, PoliciesCmd};
use crate::cmd::apply::plan_error;
use crate::context::Ctx;
use crate::error::CliResult;
use crate::output::print_report;

/// `policies list --format json`.
#[derive(serde::Serialize)]
struct ListReport<'a> {
    policies: Vec<ListEntry<'a>>,
}

#[derive(serde::Serialize)]
#[serde(untagged)]
enum ListEntry<'a> {
    Policy {
        name: &'a str,
        source: String,
        summary: String,
    },
    Invalid {
        error: String,
    },
}

/// `policies show --format json`.
#[derive(serde::Serialize)]
struct ShowReport<'a> {
    name: &'a str,
    source: String,
    description: &'a str,
    yaml: &'a str,
}

/// `policies check --format json`.
#[derive(serde::Serialize)]
struct CheckReport<'a> {
    ok: bool,
    postfix_version: String,
    results: Vec<CheckResult<'a>>,
}

#[derive(serde::Serialize)]
struct CheckResult<'a> {
    policy: &'a str,
    ok: bool,
    errors: &'a [String],
}

/// Runs a `policies` subcommand.
pub fn run(ctx: &Ctx, cmd: &PoliciesCmd) -> CliResult<i32> {
    let search = ctx.policy_search();
    match cmd {
        PoliciesCmd::List => {
            let all = search.list();
            match ctx.format {
                Format::Json => print_report(&ListReport {
                    policies: all
                        .iter()
                        .map(|p| match p {
                            Ok(p) => ListEntry::Policy {
                                name: &p.name,
                                source: p.file_name(),
                                summary: summary(&p.description),
                            },
                            Err(e) => ListEntry::Invalid {
                                error: e.to_string(),
                            },
                        })
                        .collect(),
                }),
                // -q: the names alone, one per line (what shell completion reads).
                Format::Text if ctx.quiet => {
                    for p in all.iter().flatten() {
                        println!("{}", p.name);
                    }
                }
                Format::Text => {
                    for p in &all {
                        match p {
                            Ok(p) => println!("{:<24} {}", p.name, summary(&p.description)),
                            Err(e) => println!("{:<24} INVALID: {e}", "?"),
                        }
                    }
                }
            }
            Ok(0)
        }
        PoliciesCmd::Show { name } => {
            let p = search
                .load(name)
                .map_err(|e| crate::cmd::apply::policy_load_error(&search, e))?;
            match ctx.format {
                Format::Json => print_report(&ShowReport {
                    name: &p.name,
                    source: p.file_name(),
                    description: &p.description,
                    yaml: &p.text,
                }),
                Format::Text => {
                    println!("# {}", p.file_name());
                    print!("{}", p.text);
                }
            }
            Ok(0)
        }
        PoliciesCmd::Check { files } => {
            let (env, _, _) = ctx.environment()?;
            // Without a (parseable) configuration, policies are checked against the target
            // version only.
            let host = ctx.host().ok();
            let master = host.filter(|h| h.files.master_exists).map(|h| &h.master);
            let mut results = Vec::new();
            let mut failed = false;
            for f in files {
                let errors: Vec<String> = match search.load(f) {
                    Ok(p) => pftls_policy::validate::validate(&p, &env, master)
                        .iter()
                        .map(|e| e.to_string())
                        .collect(),
                    Err(e) => crate::cmd::apply::policy_load_error(&search, e)
                        .message
                        .lines()
                        .map(str::to_string)
                        .collect(),
                };
                failed |= !errors.is_empty();
                results.push((f.clone(), errors));
            }
            match ctx.format {
                Format::Json => print_report(&CheckReport {
                    ok: !failed,
                    postfix_version: env.version.to_string(),
                    results: results
                        .iter()
                        .map(|(f, e)| CheckResult {
                            policy: f,
                            ok: e.is_empty(),
                            errors: e,
                        })
                        .collect(),
                }),
                Format::Text => {
                    for (f, errors) in &results {
                        if errors.is_empty() {
                            println!("{f}: OK (Postfix {})", env.version);
                        }
                        for e in errors {
                            eprintln!("{e}");
                        }
                    }
                }
            }
            let _ = plan_error;
            Ok(if failed { 1 } else { 0 })
        }
    }
}

fn summary(description: &str) -> String {
    let first = description.split(". ").next().unwrap_or(description).trim();
    let first = first.replace('\n', " ");
    if first.len() > 100 {
        format!(
            "{}…",
            &first[..first
                .char_indices()
                .take_while(|(i, _)| *i < 97)
                .last()
                .map(|(i, c)| i + c.len_utf8())
                .unwrap_or(0)]
        )
    } else {
        first
    }
}
