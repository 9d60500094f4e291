//! `pftls verify` (and `apply --reload --verify`): the field report's acceptance test, live,
//! on every listener of the instance the configuration on disk defines.
//!
//! Per inet smtpd/postscreen listener (address from master.cf; a wildcard listener is probed
//! on loopback, or on the first `inet_interfaces` address when that is not `all`; a port name
//! is resolved through `known_tcp_ports` as Postfix >= 3.6 does):
//! - `connect`: the listener answers SMTP;
//! - `handshake`: some client profile completes a TLS handshake (TLS listeners);
//! - `modern-tls`: the modern client profile negotiates TLS 1.2 or newer (TLS listeners);
//! - `plaintext-mail` (mx): plaintext `MAIL FROM` is accepted, not refused with 530;
//! - `plaintext-auth` (submission with TLS required): `AUTH` before STARTTLS is refused.
//!
//! And `queue`: `postqueue -c DIR -j` of the instance holds no deferred recipient whose
//! reason is a TLS failure (with `apply --verify`: none that was not there before).
//!
//! Failing checks are retried until the window ends: smtpd processes of the old
//! configuration keep serving until they exit after a reload.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use clap::Args;
use pftls_policy::Role;
use pftls_tls::probe::{probe, ProbeOptions};
use postfix_conf::{ListenHost, Scope};
use serde::Serialize;

mod process;
mod queue;
mod smtp_auth;

pub use process::{listener_pids, wait_for_new_generation};
pub use queue::tls_deferrals;
use smtp_auth::plaintext_auth;

use crate::cli::Format;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::output::bold;

/// `verify` options.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Retry failing checks for this long (e.g. right after a reload).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub retry_for: u64,
    /// Timeout for connecting and for each read or write of one probe.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    pub probe_timeout: u64,
}

/// One check on one listener (or on the queue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// `connect`, `handshake`, `modern-tls`, `plaintext-mail`, `plaintext-auth`, `queue`.
    pub check: &'static str,
    /// `name/type` of the listener (`queue` for the queue check).
    pub listener: String,
    /// Where it was probed (`127.0.0.1:25`), empty for the queue.
    pub address: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was seen.
    pub detail: String,
}

impl Check {
    /// `modern-tls on smtp/inet (127.0.0.1:25): detail`.
    pub fn describe(&self) -> String {
        if self.listener.is_empty() {
            format!("{}: {}", self.check, self.detail)
        } else if self.address.is_empty() {
            format!("{} ({}): {}", self.check, self.listener, self.detail)
        } else {
            format!(
                "{} on {} ({}): {}",
                self.check, self.listener, self.address, self.detail
            )
        }
    }
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// The instance's configuration directory.
    pub config_dir: String,
    /// Every check, listeners in master.cf order, the queue last.
    pub checks: Vec<Check>,
    /// All checks passed.
    pub ok: bool,
    /// Rounds run before the verdict (retries while checks failed).
    pub attempts: u32,
}

impl VerifyReport {
    /// A verification that could not run (no listener, unreadable files): one failed check.
    pub fn could_not_run(ctx: &Ctx, why: String) -> VerifyReport {
        VerifyReport {
            config_dir: crate::instances::canonical(&ctx.config_dir)
                .display()
                .to_string(),
            checks: vec![Check {
                check: "setup",
                listener: String::new(),
                address: String::new(),
                ok: false,
                detail: why,
            }],
            ok: false,
            attempts: 0,
        }
    }

    /// The failing checks.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.ok)
    }

    /// Text form.
    pub fn render_text(&self, color: bool) -> String {
        let mut out = format!("{} {}\n", bold("pftls verify", color), self.config_dir);
        for c in &self.checks {
            let mark = if c.ok { "ok  " } else { "FAIL" };
            out.push_str(&format!("  {mark} {}\n", c.describe()));
        }
        out.push_str(&if self.ok {
            format!("All {} checks passed.\n", self.checks.len())
        } else {
            format!(
                "{} of {} checks FAILED.\n",
                self.failures().count(),
                self.checks.len()
            )
        });
        out
    }
}

/// A listener to probe.
struct Target {
    listener: String,
    host: String,
    port: u16,
    wrapper: bool,
    tls: bool,
    role: Role,
    auth_must_be_refused: bool,
}

/// `known_tcp_ports` (`lmtp=24, smtp=25, smtps=submissions=465`): every name maps to the
/// number at the end of its chain.
fn known_port(known: &str, name: &str) -> Option<u16> {
    known
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .find_map(|item| {
            let parts: Vec<&str> = item.split('=').map(str::trim).collect();
            let (num, names) = parts.split_last()?;
            let n = num.parse::<u16>().ok()?;
            names
                .iter()
                .any(|x| x.eq_ignore_ascii_case(name))
                .then_some(n)
        })
}

/// The address a wildcard listener is reached on.
fn wildcard_host(inet_interfaces: &str) -> String {
    let first = inet_interfaces
        .split(|c: char| c == ',' || c.is_whitespace())
        .find(|s| !s.is_empty())
        .unwrap_or("all");
    match first.to_ascii_lowercase().as_str() {
        "all" | "loopback-only" | "localhost" => "127.0.0.1".to_string(),
        _ => first
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
    }
}

/// The listeners of the configuration now on disk.
fn targets(ctx: &Ctx) -> CliResult<Vec<Target>> {
    let t = ctx.host_target()?;
    let env = t.environment();
    let files = ctx.read_config()?;
    let host = host::Host::from_parts(
        files,
        env.version,
        env.catalogue,
        t.baseline.clone(),
        env.crypto,
    )
    .map_err(crate::context::host_error)?;
    let view = host.view();
    let main = |n: &str| view.expanded_in(&Scope::Main, n).unwrap_or_default();
    let known = main("known_tcp_ports");
    let wildcard = wildcard_host(&main("inet_interfaces"));
    let mut out = Vec::new();
    for l in &host.topology.listeners {
        let Some(addr) = &l.address else { continue };
        if l.command != "smtpd" && l.command != "postscreen" {
            continue;
        }
        let port = if addr.port_text.parse::<u16>().is_ok() {
            addr.port
        } else {
            known_port(&known, &addr.port_text).or(addr.port)
        };
        let Some(port) = port else { continue };
        let h = match &addr.host {
            ListenHost::All => wildcard.clone(),
            ListenHost::Address(a) => a.to_string(),
            ListenHost::Name(n) => n.clone(),
        };
        let level = l.tls.as_ref().map(|t| t.level.as_str()).unwrap_or("none");
        let wrapper = level == "wrappermode";
        let mandatory = l.tls.as_ref().is_some_and(|t| t.mandatory);
        let auth_only = view
            .expanded_in(&l.scope, "smtpd_tls_auth_only")
            .is_ok_and(|v| v.trim().eq_ignore_ascii_case("yes"));
        out.push(Target {
            listener: l.service.to_string(),
            host: h,
            port,
            wrapper,
            tls: level != "none" && !level.is_empty(),
            role: l.role,
            auth_must_be_refused: !wrapper
                && matches!(l.role, Role::Submission)
                && (mandatory || auth_only),
        });
    }
    Ok(out)
}

fn addr_text(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The checks of one listener.
fn check_listener(t: &Target, timeout: Duration) -> Vec<Check> {
    let address = addr_text(&t.host, t.port);
    let mk = |check: &'static str, ok: bool, detail: String| Check {
        check,
        listener: t.listener.clone(),
        address: address.clone(),
        ok,
        detail,
    };
    let mut opts = ProbeOptions::new(t.host.clone(), t.port);
    opts.starttls = !t.wrapper;
    opts.timeout = timeout;
    opts.ehlo_name = "pftls-verify.invalid".into();
    opts.check_plaintext_mail = !t.wrapper && t.role == Role::Mx;
    if !t.tls {
        opts.clients.clear();
    }
    let mut out = match probe(&opts) {
        Ok(r) => probe_checks(t, &r, opts.check_plaintext_mail, &mk),
        Err(e) => vec![mk("connect", false, e.to_string())],
    };
    if t.auth_must_be_refused {
        out.push(match plaintext_auth(&t.host, t.port, timeout) {
            Ok((code, text)) => {
                // 535: the credentials were examined, i.e. AUTH ran without TLS; 334/235: it
                // is running. Refusal is 503 (not offered) or 530/538 (TLS first).
                let refused = (500..600).contains(&code) && code != 535;
                mk(
                    "plaintext-auth",
                    refused,
                    format!("AUTH before STARTTLS answered {code} {text}"),
                )
            }
            Err(e) => mk("plaintext-auth", false, e),
        });
    }
    out
}

/// The checks read from one probe report.
fn probe_checks(
    t: &Target,
    report: &pftls_tls::probe::ProbeReport,
    plaintext_checked: bool,
    mk: &dyn Fn(&'static str, bool, String) -> Check,
) -> Vec<Check> {
    let mut out = vec![mk(
        "connect",
        true,
        report.banner.lines().next().unwrap_or("").to_string(),
    )];
    if t.tls {
        let ok = report.clients.iter().filter(|c| c.outcome.ok).count();
        out.push(mk(
            "handshake",
            ok > 0,
            format!(
                "{ok}/{} client profiles completed a TLS handshake",
                report.clients.len()
            ),
        ));
        let modern = report
            .clients
            .iter()
            .find(|c| c.client == report.modern_client);
        let detail = match modern.map(|c| &c.outcome) {
            Some(o) if o.ok => format!(
                "{} negotiated {} {}",
                report.modern_client,
                o.protocol.as_deref().unwrap_or("?"),
                o.cipher.as_deref().unwrap_or("?")
            ),
            Some(o) => format!(
                "{} failed: {}",
                report.modern_client,
                o.error.as_deref().unwrap_or("unknown error")
            ),
            None => format!("{} was not probed", report.modern_client),
        };
        out.push(mk("modern-tls", report.modern_tls12_plus, detail));
    }
    if plaintext_checked {
        match &report.plaintext_mail {
            Some(pm) => out.push(mk(
                "plaintext-mail",
                (200..300).contains(&pm.code),
                format!(
                    "MAIL FROM without TLS answered {} {}{}",
                    pm.code,
                    pm.reply,
                    if pm.refused_530 {
                        ": senders without TLS are locked out"
                    } else {
                        ""
                    }
                ),
            )),
            None => out.push(mk(
                "plaintext-mail",
                false,
                "the plaintext MAIL FROM got no answer".into(),
            )),
        }
    }
    out
}

/// The queue check; `ignore` are queue ids already deferred for TLS before a change.
fn check_queue(config_dir: &Path, ignore: &BTreeSet<String>) -> Check {
    let mk = |ok: bool, detail: String| Check {
        check: "queue",
        listener: "queue".into(),
        address: String::new(),
        ok,
        detail,
    };
    match tls_deferrals(config_dir) {
        Ok(found) => {
            let new: Vec<&(String, String)> = found
                .iter()
                .filter(|(id, _)| !ignore.contains(id))
                .collect();
            match new.first() {
                None => mk(true, "no deferred mail with a TLS reason".into()),
                Some((id, reason)) => mk(
                    false,
                    format!(
                        "{} deferred recipient(s) with a TLS reason, e.g. {id}: {reason}",
                        new.len()
                    ),
                ),
            }
        }
        Err(e) => mk(false, e),
    }
}

/// Runs every check, retrying failures for `retry_for`.
pub fn verify(
    ctx: &Ctx,
    retry_for: Duration,
    probe_timeout: Duration,
    ignore_queue: &BTreeSet<String>,
) -> CliResult<VerifyReport> {
    let targets = targets(ctx)?;
    if targets.is_empty() {
        return Err(CliError::new(
            "verify",
            format!(
                "{}: no inet smtpd or postscreen listener to verify",
                ctx.config_dir.display()
            ),
        ));
    }
    let config_dir = crate::instances::canonical(&ctx.config_dir);
    let deadline = Instant::now() + retry_for;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut checks: Vec<Check> = targets
            .iter()
            .flat_map(|t| check_listener(t, probe_timeout))
            .collect();
        checks.push(check_queue(&config_dir, ignore_queue));
        let ok = checks.iter().all(|c| c.ok);
        if ok || Instant::now() >= deadline {
            return Ok(VerifyReport {
                config_dir: config_dir.display().to_string(),
                checks,
                ok,
                attempts,
            });
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `pftls verify`.
pub fn run(ctx: &Ctx, args: &VerifyArgs) -> CliResult<i32> {
    if args.probe_timeout == 0 || args.probe_timeout > 3600 {
        let mut e = CliError::new("usage", "--probe-timeout: give seconds between 1 and 3600");
        e.exit = crate::error::EXIT_USAGE;
        return Err(e);
    }
    let report = verify(
        ctx,
        Duration::from_secs(args.retry_for.min(3600)),
        Duration::from_secs(args.probe_timeout),
        &BTreeSet::new(),
    )?;
    match ctx.format {
        Format::Json => crate::output::print_report(&report),
        Format::Text => print!("{}", report.render_text(ctx.color)),
    }
    Ok(if report.ok {
        0
    } else {
        crate::error::EXIT_ERROR
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_tcp_ports_chains() {
        let k = "lmtp=24, smtp=2525, smtps=submissions=465, submission=587";
        assert_eq!(known_port(k, "smtp"), Some(2525));
        assert_eq!(known_port(k, "submissions"), Some(465));
        assert_eq!(known_port(k, "smtps"), Some(465));
        assert_eq!(known_port(k, "SUBMISSION"), Some(587));
        assert_eq!(known_port(k, "imap"), None);
        assert_eq!(known_port("", "smtp"), None);
    }

    #[test]
    fn wildcard_addresses() {
        assert_eq!(wildcard_host("all"), "127.0.0.1");
        assert_eq!(wildcard_host("loopback-only"), "127.0.0.1");
        assert_eq!(wildcard_host("192.0.2.1, 127.0.0.1"), "192.0.2.1");
        assert_eq!(wildcard_host("[::1]"), "::1");
    }
}
