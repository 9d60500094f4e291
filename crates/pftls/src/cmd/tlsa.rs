//! `pftls tlsa`: DANE TLSA records (RFC 6698/7671/7672) for the server certificate: `3 1 1`
//! for each server key, `2 1 1` for its issuer when the chain holds one, and `3 1 1` for a
//! next key to pre-publish before a rollover. Also home of the configuration lookup
//! (myhostname, mydomain, certificate files) that `mta-sts` shares.

use std::path::PathBuf;

use clap::Args;
use host::Scope;
use openssl::x509::{X509NameRef, X509VerifyResult};
use pftls_tls::mta_sts::{key_file_record, normalize_domain, server_chains, ServerChain};
use pftls_tls::tlsa::{tlsa_2_1_1, tlsa_3_1_1, TlsaRecord};

use crate::cli::Format;
use crate::context::Ctx;
use crate::error::{CliError, CliResult, EXIT_USAGE};
use crate::output::{bold, print_report};

/// One record of `tlsa --format json`.
#[derive(serde::Serialize)]
struct RecordJson<'a> {
    role: &'a str,
    usage: u8,
    selector: u8,
    matching: u8,
    data: &'a str,
    rdata: String,
    zone_line: String,
    file: String,
    subject: Option<&'a str>,
}

/// `tlsa --format json`.
#[derive(serde::Serialize)]
struct TlsaReport<'a> {
    host: &'a str,
    port: u16,
    owner: &'a str,
    records: Vec<RecordJson<'a>>,
    verify_command: &'a str,
    warnings: &'a [String],
}

/// The rollover advice printed with every run.
pub const ROLLOVER_ADVICE: &str =
    "rollover: publish a 3 1 1 record for the next key now; keep both until the old key is retired";

/// `tlsa` options.
#[derive(Debug, Args)]
pub struct TlsaArgs {
    /// Server certificate file (default: the configured smtpd_tls_chain_files, else
    /// smtpd_tls_cert_file and smtpd_tls_eccert_file). The certificate after the leaf, if any,
    /// is taken as its issuer.
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// File holding the issuing CA certificate (adds its 2 1 1 record).
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub chain: Option<PathBuf>,
    /// MX host name the records are published for (default: myhostname).
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// SMTP port.
    #[arg(long, default_value_t = 25)]
    pub port: u16,
    /// The next key (certificate, public key or unencrypted private key, PEM): adds its 3 1 1
    /// record, to publish before switching keys (repeatable).
    #[arg(long = "next-key", value_name = "FILE")]
    pub next_key: Vec<PathBuf>,
}

/// What `mta-sts` and `tlsa` need from the Postfix configuration.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `myhostname`, expanded.
    pub myhostname: String,
    /// `mydomain`, expanded (when unset: myhostname minus its first label, as Postfix does).
    pub mydomain: String,
    /// The server certificate files, one group per chain source: `smtpd_tls_chain_files` as
    /// one group, else `smtpd_tls_cert_file` and `smtpd_tls_eccert_file` each on its own.
    pub cert_groups: Vec<Vec<PathBuf>>,
    /// Which parameter the certificate files came from (for messages).
    pub cert_source: String,
}

/// Reads myhostname, mydomain and the certificate files of the smtpd that answers on `port`
/// (its master.cf `-o` overrides first, then main.cf): the record must match what that port
/// presents, not main.cf's certificate.
pub fn server_config(ctx: &Ctx, port: u16) -> CliResult<ServerConfig> {
    let host = ctx.host()?;
    let view = host.view();
    let main_path = host.files.main_path.display().to_string();
    let get = |name: &str| -> CliResult<String> {
        view.expanded_in(&Scope::Main, name).map_err(|e| {
            let line = host.main.get(name).map(|e| e.line);
            CliError::new("config", format!("{name}: {e}")).at(main_path.clone(), line)
        })
    };
    let myhostname = get("myhostname")?.trim().to_string();
    let mydomain = if host.main.get("mydomain").is_some() {
        get("mydomain")?.trim().to_string()
    } else {
        // Postfix's default: $myhostname minus its first component ("localdomain" if none).
        match myhostname.split_once('.') {
            Some((_, rest)) if !rest.is_empty() => rest.to_string(),
            _ => "localdomain".to_string(),
        }
    };
    let (scope, listener) = match host.topology.smtpd_for_port(port) {
        Some(l) => (l.scope.clone(), l.service.to_string()),
        None => (Scope::Main, "main.cf".to_string()),
    };
    let choice = host::certs::server_certs(&view, &scope).map_err(|e| {
        CliError::new("config", e.to_string())
            .at(host.files.master_path.display().to_string(), None)
    })?;
    Ok(ServerConfig {
        myhostname,
        mydomain,
        cert_groups: choice.groups,
        cert_source: format!("{} of {listener}", choice.source),
    })
}

/// A usage error (exit 64) for a bad option value.
pub fn usage_error(message: impl Into<String>) -> CliError {
    let mut e = CliError::new("usage", message);
    e.exit = EXIT_USAGE;
    e
}

/// Maps a library error about a file to a CLI error naming that file (and line).
pub fn file_error(e: &pftls_tls::mta_sts::MtaStsError) -> CliError {
    use pftls_tls::mta_sts::MtaStsError as E;
    match e {
        E::Io { path, .. } => {
            CliError::new("io", e.to_string()).at(path.display().to_string(), None)
        }
        E::Pem { path, line, .. } => {
            CliError::new("certificate", e.to_string()).at(path.display().to_string(), *line)
        }
        _ => CliError::new("certificate", e.to_string()),
    }
}

/// `CN=mx.example.org, O=...` for messages.
pub fn name_line(name: &X509NameRef) -> String {
    name.entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?");
            let val = String::from_utf8_lossy(e.data().as_slice());
            format!("{key}={val}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One record with where it comes from.
struct Entry {
    role: &'static str,
    record: TlsaRecord,
    file: PathBuf,
    subject: Option<String>,
}

fn chain_entries(chains: &[ServerChain], warnings: &mut Vec<String>) -> CliResult<Vec<Entry>> {
    let mut out = Vec::new();
    let ossl = |e: pftls_tls::TlsError| CliError::new("certificate", e.to_string());
    for c in chains {
        out.push(Entry {
            role: "current",
            record: tlsa_3_1_1(&c.leaf).map_err(ossl)?,
            file: c.file.clone(),
            subject: Some(name_line(c.leaf.subject_name())),
        });
        if let Some(issuer) = &c.issuer {
            // A certificate that did not sign the leaf (wrong order in the file) would give a
            // 2 1 1 record that never matches.
            if issuer.issued(&c.leaf) != X509VerifyResult::OK {
                warnings.push(format!(
                    "{}: the certificate after the leaf ({}) did not issue it; no 2 1 1 record",
                    c.file.display(),
                    name_line(issuer.subject_name())
                ));
                continue;
            }
            out.push(Entry {
                role: "issuer",
                record: tlsa_2_1_1(issuer).map_err(ossl)?,
                file: c.file.clone(),
                subject: Some(name_line(issuer.subject_name())),
            });
        }
    }
    Ok(out)
}

/// Runs `tlsa`.
pub fn run(ctx: &Ctx, args: &TlsaArgs) -> CliResult<i32> {
    let cfg = if args.host.is_none() || args.cert.is_none() {
        Some(server_config(ctx, args.port)?)
    } else {
        None
    };
    let host_raw = match (&args.host, &cfg) {
        (Some(h), _) => h.clone(),
        (None, Some(c)) => c.myhostname.clone(),
        (None, None) => String::new(),
    };
    let host = normalize_domain(&host_raw).map_err(|e| usage_error(format!("--host: {e}")))?;
    let groups: Vec<Vec<PathBuf>> = match (&args.cert, &cfg) {
        (Some(c), _) => vec![std::iter::once(c.clone()).chain(args.chain.clone()).collect()],
        (None, Some(c)) if !c.cert_groups.is_empty() => c.cert_groups.clone(),
        (None, _) => {
            return Err(CliError::new(
                "config",
                "no server certificate configured (smtpd_tls_chain_files, smtpd_tls_cert_file); use --cert FILE",
            )
            .at(ctx.config_dir.join("main.cf").display().to_string(), None))
        }
    };
    let mut entries = Vec::new();
    let mut warnings = Vec::new();
    if !host.contains('.') {
        warnings.push(format!(
            "host {host} is not a fully qualified domain name; give the MX name with --host or set myhostname"
        ));
    }
    for g in &groups {
        let chains = server_chains(g).map_err(|e| file_error(&e))?;
        entries.extend(chain_entries(&chains, &mut warnings)?);
    }
    for nk in &args.next_key {
        let record = key_file_record(nk).map_err(|e| file_error(&e))?;
        if entries.iter().any(|e| e.record == record) {
            warnings.push(format!(
                "{}: the next key is the key in use (same 3 1 1 digest); generate a new key",
                nk.display()
            ));
            continue;
        }
        entries.push(Entry {
            role: "next",
            record,
            file: nk.clone(),
            subject: None,
        });
    }
    warnings.push(ROLLOVER_ADVICE.to_string());
    if entries.iter().any(|e| e.role == "issuer") {
        warnings.push(
            "a 2 1 1 record matches only when the server sends that issuer certificate in its chain"
                .to_string(),
        );
    }
    warnings.push(
        "publish the records in a DNSSEC-signed zone; without DNSSEC, senders ignore them"
            .to_string(),
    );
    let owner = format!("_{}._tcp.{host}.", args.port);
    let current = entries
        .iter()
        .find(|e| e.role == "current")
        .map(|e| e.record.rdata())
        .unwrap_or_default();
    let verify = format!(
        "openssl s_client -brief -starttls smtp -connect {host}:{} -verify 1 -verify_return_error -dane_tlsa_domain {host} -dane_tlsa_rrdata \"{current}\"",
        args.port
    );

    match ctx.format {
        Format::Json => {
            let records = entries
                .iter()
                .map(|e| RecordJson {
                    role: e.role,
                    usage: e.record.usage,
                    selector: e.record.selector,
                    matching: e.record.matching,
                    data: &e.record.data,
                    rdata: e.record.rdata(),
                    zone_line: e.record.zone_line(&host, args.port),
                    file: e.file.display().to_string(),
                    subject: e.subject.as_deref(),
                })
                .collect();
            print_report(&TlsaReport {
                host: &host,
                port: args.port,
                owner: &owner,
                records,
                verify_command: &verify,
                warnings: &warnings,
            });
        }
        Format::Text => {
            if !ctx.quiet {
                println!(
                    "{}",
                    bold(&format!("; TLSA records for {owner}"), ctx.color)
                );
            }
            for e in &entries {
                let what = match e.role {
                    "current" => "server key",
                    "issuer" => "issuing CA",
                    _ => "next key",
                };
                if ctx.quiet {
                    println!("{}", e.record.zone_line(&host, args.port));
                } else {
                    let subject = e
                        .subject
                        .as_ref()
                        .map(|s| format!(" ({s})"))
                        .unwrap_or_default();
                    println!(
                        "{}\t; {what} of {}{subject}",
                        e.record.zone_line(&host, args.port),
                        e.file.display()
                    );
                }
            }
            if !ctx.quiet {
                println!("; verify: {verify}");
            }
            for w in &warnings {
                eprintln!("warning: {w}");
            }
        }
    }
    Ok(0)
}
