//! `pftls mta-sts`: the MTA-STS policy file (RFC 8461), its `_mta-sts` TXT record and the
//! `_smtp._tls` TLS-RPT record (RFC 8460); with `--check FILE`, validation of an existing
//! policy file and of its MX patterns against the server certificate's names.

use std::path::{Path, PathBuf};

use clap::Args;
use pftls_tls::mta_sts::{
    cert_names_from_files, check_policy, default_rua, normalize_domain, policy_url, sts_record,
    tlsrpt_record, uncovered_mx, Mode, Policy, PolicyCheck, Severity, TxtRecord, DEFAULT_MAX_AGE,
    MAX_AGE_LIMIT,
};

use crate::cli::Format;
use crate::cmd::tlsa::{file_error, server_config, usage_error, ServerConfig};
use crate::context::{io_error, Ctx};
use crate::error::{CliError, CliResult};
use crate::output::{bold, print_report};

/// `mta-sts` options.
#[derive(Debug, Args)]
pub struct MtaStsArgs {
    /// Policy domain (default: mydomain of the configuration).
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,
    /// Allowed MX host (repeatable; a leftmost `*.` wildcard is allowed; default: myhostname).
    #[arg(long = "mx", value_name = "NAME", conflicts_with = "check")]
    pub mx: Vec<String>,
    /// Policy mode: testing (senders only report failures), enforce, or none (withdraws the policy).
    #[arg(long, value_name = "MODE", default_value = "testing", value_parser = parse_mode,
          conflicts_with = "check")]
    pub mode: Mode,
    /// Seconds senders cache the policy (at most 31557600).
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_MAX_AGE,
          value_parser = clap::value_parser!(u64).range(..=MAX_AGE_LIMIT), conflicts_with = "check")]
    pub max_age: u64,
    /// TLS-RPT report destination, mailto: or https: (repeatable; default
    /// mailto:tlsrpt@DOMAIN).
    #[arg(long = "rua", value_name = "URI", conflicts_with = "check")]
    pub rua: Vec<String>,
    /// Validate an existing policy file instead of generating one (exit 1 when invalid).
    #[arg(long, value_name = "FILE")]
    pub check: Option<PathBuf>,
    /// Certificate whose names must cover the MX patterns (default: the configured one).
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    s.parse()
}

/// The certificate names and where they came from; `None` when there is no certificate to
/// compare with (a note explains why).
struct CertNames {
    files: Vec<PathBuf>,
    names: Vec<String>,
}

/// Reads the names of `--cert` (an error when unreadable) or of the configured certificate
/// (a warning when unreadable, since the policy itself can still be produced or checked).
fn cert_names(
    args: &MtaStsArgs,
    cfg: Option<&CliResult<ServerConfig>>,
    warnings: &mut Vec<String>,
) -> CliResult<Option<CertNames>> {
    if let Some(c) = &args.cert {
        let names = cert_names_from_files(std::slice::from_ref(c)).map_err(|e| file_error(&e))?;
        return Ok(Some(CertNames {
            files: vec![c.clone()],
            names,
        }));
    }
    let cfg = match cfg {
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            warnings.push(format!("MX names not checked against a certificate: {e}"));
            return Ok(None);
        }
        None => return Ok(None),
    };
    if cfg.cert_groups.is_empty() {
        warnings.push(
            "MX names not checked: no server certificate configured (use --cert FILE)".into(),
        );
        return Ok(None);
    }
    let mut out = CertNames {
        files: Vec::new(),
        names: Vec::new(),
    };
    for g in &cfg.cert_groups {
        match cert_names_from_files(g) {
            Ok(names) => {
                out.files.extend(g.iter().cloned());
                for n in names {
                    if !out.names.contains(&n) {
                        out.names.push(n);
                    }
                }
            }
            Err(e) => {
                warnings.push(format!(
                    "MX names not checked against the configured certificate ({}): {e}",
                    cfg.cert_source
                ));
                return Ok(None);
            }
        }
    }
    Ok(Some(out))
}

/// A DNS TXT record in the JSON output.
#[derive(serde::Serialize)]
struct RecordJson<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    value: &'a str,
    zone_line: String,
}

fn record_json(r: &TxtRecord) -> RecordJson<'_> {
    RecordJson {
        name: &r.name,
        kind: "TXT",
        value: &r.value,
        zone_line: r.zone_line(),
    }
}

/// The certificate the policy was checked against (null when none could be read).
#[derive(serde::Serialize)]
struct CertJson<'a> {
    files: Vec<String>,
    names: &'a [String],
    uncovered_mx: &'a [String],
}

fn cert_json<'a>(c: &'a Option<CertNames>, uncovered: &'a [String]) -> Option<CertJson<'a>> {
    c.as_ref().map(|c| CertJson {
        files: c.files.iter().map(|f| f.display().to_string()).collect(),
        names: &c.names,
        uncovered_mx: uncovered,
    })
}

/// `mta-sts --format json`.
#[derive(serde::Serialize)]
struct GenerateReport<'a> {
    domain: &'a str,
    policy_url: &'a str,
    policy: PolicyJson<'a>,
    id: String,
    records: GenerateRecords<'a>,
    certificate: Option<CertJson<'a>>,
    warnings: &'a [String],
}

#[derive(serde::Serialize)]
struct PolicyJson<'a> {
    mode: Mode,
    max_age: u64,
    mx: &'a [String],
    text: &'a str,
}

#[derive(serde::Serialize)]
struct GenerateRecords<'a> {
    mta_sts: RecordJson<'a>,
    tlsrpt: RecordJson<'a>,
}

/// `mta-sts --check FILE --format json`.
#[derive(serde::Serialize)]
struct CheckReport<'a> {
    file: &'a str,
    valid: bool,
    policy: &'a Option<Policy>,
    id: &'a str,
    issues: Vec<IssueJson<'a>>,
    records: CheckRecords<'a>,
    certificate: Option<CertJson<'a>>,
    warnings: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<serde_json::Value>,
}

#[derive(serde::Serialize)]
struct CheckRecords<'a> {
    mta_sts: Option<RecordJson<'a>>,
}

#[derive(serde::Serialize)]
struct IssueJson<'a> {
    severity: &'a Severity,
    line: Option<usize>,
    location: String,
    message: &'a str,
}

fn print_warnings(warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

/// Runs `mta-sts`.
pub fn run(ctx: &Ctx, args: &MtaStsArgs) -> CliResult<i32> {
    match &args.check {
        Some(file) => run_check(ctx, args, file),
        None => run_generate(ctx, args),
    }
}

fn run_generate(ctx: &Ctx, args: &MtaStsArgs) -> CliResult<i32> {
    let needs_config = args.domain.is_none() || args.mx.is_empty() || args.cert.is_none();
    let cfg = needs_config.then(|| server_config(ctx, 25));
    // The domain and MX names cannot be guessed: without the configuration they must be given.
    let from_cfg = |what: &str| -> CliResult<&ServerConfig> {
        match &cfg {
            Some(Ok(c)) => Ok(c),
            Some(Err(e)) => {
                let mut e = e.clone();
                e.message = format!("{} (or give {what})", e.message);
                Err(e)
            }
            None => Err(usage_error(format!("give {what}"))),
        }
    };
    let domain_raw = match &args.domain {
        Some(d) => d.clone(),
        None => from_cfg("--domain")?.mydomain.clone(),
    };
    let domain = normalize_domain(&domain_raw).map_err(|e| {
        if args.domain.is_some() {
            usage_error(format!("--domain: {e}"))
        } else {
            CliError::new("config", format!("mydomain: {e}; give --domain"))
        }
    })?;
    let mx = if args.mx.is_empty() {
        vec![from_cfg("--mx")?.myhostname.clone()]
    } else {
        args.mx.clone()
    };
    let policy = Policy::new(args.mode, &mx, args.max_age).map_err(|e| {
        if args.mx.is_empty() {
            CliError::new("config", format!("myhostname: {e}; give --mx"))
        } else {
            usage_error(e.to_string())
        }
    })?;
    let rua = if args.rua.is_empty() {
        vec![default_rua(&domain)]
    } else {
        args.rua.clone()
    };
    let sts = sts_record(&domain, &policy.id()).map_err(|e| usage_error(e.to_string()))?;
    let tlsrpt = tlsrpt_record(&domain, &rua).map_err(|e| usage_error(e.to_string()))?;

    let mut warnings = Vec::new();
    // Postfix falls back to the machine's name (or "localdomain") when myhostname/mydomain are
    // unset; such single-label names cannot be an Internet mail domain or MX.
    for (what, name) in
        std::iter::once(("domain", &domain)).chain(policy.mx.iter().map(|m| ("mx", m)))
    {
        if !name.contains('.') {
            warnings.push(format!(
                "{what} {name} is not a fully qualified domain name; set it with --{what} or in main.cf"
            ));
        }
    }
    let cert = cert_names(args, cfg.as_ref(), &mut warnings)?;
    let uncovered = cert
        .as_ref()
        .map(|c| uncovered_mx(&policy, &c.names))
        .unwrap_or_default();
    if let Some(c) = &cert {
        for m in &uncovered {
            warnings.push(format!(
                "mx {m} is not covered by the certificate names ({}); senders enforcing MTA-STS would refuse to deliver to it",
                c.names.join(", ")
            ));
        }
    }
    let text = policy.to_text();
    let url = policy_url(&domain);

    match ctx.format {
        Format::Json => print_report(&GenerateReport {
            domain: &domain,
            policy_url: &url,
            policy: PolicyJson {
                mode: policy.mode,
                max_age: policy.max_age,
                mx: &policy.mx,
                text: &text,
            },
            id: policy.id(),
            records: GenerateRecords {
                mta_sts: record_json(&sts),
                tlsrpt: record_json(&tlsrpt),
            },
            certificate: cert_json(&cert, &uncovered),
            warnings: &warnings,
        }),
        Format::Text => {
            if !ctx.quiet {
                println!(
                    "{}",
                    bold(
                        &format!("# Policy file: serve as text/plain at {url}"),
                        ctx.color
                    )
                );
            }
            print!("{text}");
            if !ctx.quiet {
                println!("\n{}", bold("# DNS records", ctx.color));
            }
            println!("{}", sts.zone_line());
            println!("{}", tlsrpt.zone_line());
            if let (Some(c), false) = (&cert, ctx.quiet) {
                println!(
                    "\n# Certificate names ({}): {}",
                    c.files
                        .iter()
                        .map(|f| f.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    c.names.join(", ")
                );
            }
            print_warnings(&warnings);
        }
    }
    Ok(0)
}

fn run_check(ctx: &Ctx, args: &MtaStsArgs, file: &Path) -> CliResult<i32> {
    let bytes = pftls_safe_read::read(file, pftls_safe_read::Kind::Text)
        .map_err(|e| io_error(file, &e.into_reason_io()))?;
    let mut check: PolicyCheck = check_policy(&bytes);
    // The configuration is optional here: it only supplies the default certificate and domain.
    let cfg = (args.cert.is_none() || args.domain.is_none()).then(|| server_config(ctx, 25));
    let mut warnings = Vec::new();
    let domain = match &args.domain {
        Some(d) => Some(normalize_domain(d).map_err(|e| usage_error(format!("--domain: {e}")))?),
        None => match &cfg {
            Some(Ok(c)) => normalize_domain(&c.mydomain).ok(),
            _ => None,
        },
    };
    let mut cert = None;
    let mut uncovered = Vec::new();
    if let Some(policy) = &check.policy {
        cert = cert_names(args, cfg.as_ref(), &mut warnings)?;
        if let Some(c) = &cert {
            uncovered = uncovered_mx(policy, &c.names);
            for m in &uncovered {
                let line = policy
                    .mx
                    .iter()
                    .position(|p| p == m)
                    .and_then(|i| check.mx_lines.get(i).copied());
                // A policy in mode none is being withdrawn, so a mismatch no longer matters.
                let severity = if policy.mode == Mode::None {
                    Severity::Warning
                } else {
                    Severity::Error
                };
                check.issues.push(pftls_tls::mta_sts::PolicyIssue {
                    severity,
                    line,
                    message: format!(
                        "mx {m} is not covered by the certificate names ({}) of {}",
                        if c.names.is_empty() {
                            "none".to_string()
                        } else {
                            c.names.join(", ")
                        },
                        c.files
                            .iter()
                            .map(|f| f.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
            check.issues.sort_by_key(|i| i.line.unwrap_or(usize::MAX));
        }
    }
    let valid = check.is_valid();
    let sts = domain
        .as_deref()
        .and_then(|d| sts_record(d, &check.id).ok());
    let errors: Vec<_> = check
        .issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .collect();
    let file_s = file.display().to_string();

    match ctx.format {
        Format::Json => {
            let issues = check
                .issues
                .iter()
                .map(|i| IssueJson {
                    severity: &i.severity,
                    line: i.line,
                    location: match i.line {
                        Some(l) => format!("{file_s}:{l}"),
                        None => file_s.clone(),
                    },
                    message: &i.message,
                })
                .collect();
            let error = errors.first().map(|first| {
                CliError::new(
                    "validation",
                    format!(
                        "invalid MTA-STS policy: {} error(s); first: {}",
                        errors.len(),
                        first.message
                    ),
                )
                .at(file_s.clone(), first.line)
                .to_json()
            });
            print_report(&CheckReport {
                file: &file_s,
                valid,
                policy: &check.policy,
                id: &check.id,
                issues,
                records: CheckRecords {
                    mta_sts: sts.as_ref().map(record_json),
                },
                certificate: cert_json(&cert, &uncovered),
                warnings: &warnings,
                error,
            });
        }
        Format::Text => {
            for i in &check.issues {
                let sev = match i.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                };
                let loc = match i.line {
                    Some(l) => format!("{file_s}:{l}"),
                    None => file_s.clone(),
                };
                println!("{loc}: {sev}: {}", i.message);
            }
            match (&check.policy, valid) {
                (Some(p), true) => {
                    println!(
                        "{file_s}: valid MTA-STS policy (mode {}, {} mx, max_age {})",
                        p.mode,
                        p.mx.len(),
                        p.max_age
                    );
                    if let Some(r) = &sts {
                        println!("{}", r.zone_line());
                    }
                }
                _ => println!(
                    "{file_s}: invalid MTA-STS policy ({} error(s))",
                    errors.len()
                ),
            }
            print_warnings(&warnings);
        }
    }
    Ok(if valid { 0 } else { 1 })
}
