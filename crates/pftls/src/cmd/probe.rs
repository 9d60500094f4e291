//! `pftls probe HOST[:PORT]`: a live SMTP dialogue with a server — banner, EHLO, whether
//! plaintext `MAIL FROM` is refused with 530, and one STARTTLS (or wrapper-mode) handshake
//! per client profile — the acceptance test of the field report: senders connect over TLS
//! 1.2 or newer, and plaintext senders are not locked out on port 25.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use pftls_tls::probe::{probe, ProbeOptions, ProbeReport};
use pftls_tls::{ClientProfile, TlsError};

use crate::cli::Format;
use crate::cmd::simulate::select_clients;
use crate::context::Ctx;
use crate::error::{CliError, CliResult, EXIT_USAGE};
use crate::output::{bold, print_report};

/// `probe` options.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// HOST, HOST:PORT or [IPv6]:PORT (default port 25, or 465 with --no-starttls). Without
    /// it: the first mx listener of the configuration (the first submissions listener with
    /// --no-starttls), at its bound address (127.0.0.1 when it listens on all addresses) and
    /// port (known_tcp_ports applies).
    #[arg(value_name = "HOST[:PORT]")]
    pub target: Option<String>,
    /// TLS from the first byte (wrapper mode, port 465) instead of STARTTLS.
    #[arg(long)]
    pub no_starttls: bool,
    /// Only these client profiles (repeatable).
    #[arg(long = "client", value_name = "ID")]
    pub clients: Vec<String>,
    /// Extra client profiles (JSON), added to the built-in ones.
    #[arg(long, value_name = "FILE")]
    pub client_profiles: Option<PathBuf>,
    /// Timeout for connecting and for each read or write.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub timeout: f64,
    /// Name sent with EHLO.
    #[arg(long, value_name = "NAME", default_value = "pftls-probe.example.org")]
    pub ehlo: String,
    /// SNI name (default: the host when it is a name, none for an address).
    #[arg(long, value_name = "NAME")]
    pub sni: Option<String>,
    /// The target is an mx listener (implied for port 25): a 530 to plaintext MAIL is a
    /// lock-out and exits 1.
    #[arg(long)]
    pub mx: bool,
}

/// Why the probe found a lock-out (exit 1): 530 to plaintext MAIL on an mx listener, or no
/// client profile completing a handshake.
/// `probe --format json`: the probe report plus the lock-out verdict (null when none).
#[derive(serde::Serialize)]
struct ProbeOutput<'a> {
    #[serde(flatten)]
    report: ProbeJson<'a>,
    lockout: Option<String>,
}

/// A lock-out found by the probe: 530 to plaintext mail on an mx listener, or no handshake.
pub fn lockout(r: &ProbeReport, mx: bool) -> Option<String> {
    if mx {
        if let Some(pm) = r.plaintext_mail.as_ref().filter(|p| p.refused_530) {
            return Some(format!(
                "plaintext MAIL FROM refused with {} on an mx listener: senders without TLS are locked out",
                pm.code
            ));
        }
    }
    if !r.clients.is_empty() && !r.clients.iter().any(|c| c.outcome.ok) {
        return Some("no client profile completed a TLS handshake".into());
    }
    None
}

fn usage(message: String) -> CliError {
    let mut e = CliError::new("usage", message);
    e.exit = EXIT_USAGE;
    e
}

/// Splits `HOST[:PORT]` / `[V6]:PORT` / a bare IPv6 address into host and port.
pub fn parse_target(target: &str, default_port: u16) -> CliResult<(String, u16)> {
    let bad = || {
        usage(format!(
            "bad target \"{target}\": use HOST, HOST:PORT or [IPv6]:PORT"
        ))
    };
    let port = |p: &str| p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(bad);
    let (host, port) = if let Some(rest) = target.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or_else(bad)?;
        match after {
            "" => (h.to_string(), default_port),
            _ => (
                h.to_string(),
                port(after.strip_prefix(':').ok_or_else(bad)?)?,
            ),
        }
    } else if target.matches(':').count() > 1 {
        // A bare IPv6 address: the port needs brackets.
        (target.to_string(), default_port)
    } else if let Some((h, p)) = target.split_once(':') {
        (h.to_string(), port(p)?)
    } else {
        (target.to_string(), default_port)
    };
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(bad());
    }
    Ok((host, port))
}

fn probe_error(e: TlsError) -> CliError {
    let kind = match e {
        TlsError::ConnectionRefused { .. } | TlsError::Timeout { .. } => "network",
        TlsError::Network { .. } | TlsError::UnexpectedReply { .. } => "network",
        _ => "probe",
    };
    CliError::new(kind, e.to_string())
}

/// Runs `probe`.
pub fn run(ctx: &Ctx, args: &ProbeArgs) -> CliResult<i32> {
    let default_port = if args.no_starttls { 465 } else { 25 };
    let (host, port) = match &args.target {
        Some(t) => parse_target(t, default_port)?,
        None => configured_target(ctx, args.no_starttls)?,
    };
    if !args.timeout.is_finite() || args.timeout <= 0.0 || args.timeout > 3600.0 {
        return Err(usage(format!(
            "--timeout {}: give seconds between 0 and 3600",
            args.timeout
        )));
    }
    let clients = select_clients(&args.clients, args.client_profiles.as_deref())?;
    let mut opts = ProbeOptions::new(host, port);
    opts.starttls = !args.no_starttls;
    opts.timeout = Duration::from_secs_f64(args.timeout);
    opts.ehlo_name = args.ehlo.clone();
    opts.sni = args.sni.clone();
    opts.clients = clients.clone();
    let report = probe(&opts).map_err(probe_error)?;
    let lock_out = lockout(&report, args.mx || port == 25);
    match ctx.format {
        Format::Json => print_report(&ProbeOutput {
            report: to_json(&report, &clients, opts.starttls),
            lockout: lock_out.clone(),
        }),
        Format::Text => {
            print!(
                "{}",
                render_text(&report, &clients, opts.starttls, ctx.color)
            );
            if let Some(l) = &lock_out {
                println!("  LOCK-OUT: {l}");
            }
        }
    }
    Ok(if lock_out.is_some() {
        crate::error::EXIT_ERROR
    } else {
        0
    })
}

/// The probe target the configuration implies: its first mx (or submissions) listener.
fn configured_target(ctx: &Ctx, wrapper: bool) -> CliResult<(String, u16)> {
    use postfix_conf::ListenHost;
    let host = ctx.host()?;
    let role = if wrapper {
        pftls_policy::Role::Submissions
    } else {
        pftls_policy::Role::Mx
    };
    let view = host.view();
    let found = host.topology.with_role(role).find_map(|l| {
        let addr = l.address.as_ref()?;
        let port = host::topology::bound_port(&view, addr)?;
        let h = match &addr.host {
            ListenHost::All => "127.0.0.1".to_string(),
            ListenHost::Address(a) => a.to_string(),
            ListenHost::Name(n) => n.clone(),
        };
        Some((h, port))
    });
    found.ok_or_else(|| {
        usage(format!(
            "no target given and {} defines no {role} listener to probe; give HOST[:PORT]",
            host.files.master_path.display()
        ))
    })
}

fn name_of<'a>(clients: &'a [ClientProfile], id: &str) -> &'a str {
    clients
        .iter()
        .find(|c| c.id == id)
        .map(|c| c.name.as_str())
        .unwrap_or("")
}

/// One client of the probe's JSON.
#[derive(serde::Serialize)]
pub struct ClientJson<'a> {
    client: &'a str,
    name: &'a str,
    ok: bool,
    protocol: &'a Option<String>,
    cipher: &'a Option<String>,
    error: &'a Option<String>,
}

/// The probe's JSON: target, banner, EHLO, STARTTLS, plaintext MAIL result, per client
/// `{client, name, ok, protocol, cipher, error}`, and the modern-client acceptance check.
#[derive(serde::Serialize)]
pub struct ProbeJson<'a> {
    target: &'a str,
    mode: &'static str,
    banner: &'a str,
    ehlo: &'a [String],
    starttls_offered: bool,
    plaintext_mail: &'a Option<pftls_tls::probe::PlaintextMail>,
    clients: Vec<ClientJson<'a>>,
    modern_client: &'a str,
    modern_tls12_plus: bool,
}

/// Builds [`ProbeJson`].
pub fn to_json<'a>(
    r: &'a ProbeReport,
    clients: &'a [ClientProfile],
    starttls: bool,
) -> ProbeJson<'a> {
    ProbeJson {
        target: &r.target,
        mode: if starttls { "starttls" } else { "wrapper" },
        banner: &r.banner,
        ehlo: &r.ehlo,
        starttls_offered: r.starttls_offered,
        plaintext_mail: &r.plaintext_mail,
        clients: r
            .clients
            .iter()
            .map(|c| ClientJson {
                client: &c.client,
                name: name_of(clients, &c.client),
                ok: c.outcome.ok,
                protocol: &c.outcome.protocol,
                cipher: &c.outcome.cipher,
                error: &c.outcome.error,
            })
            .collect(),
        modern_client: &r.modern_client,
        modern_tls12_plus: r.modern_tls12_plus,
    }
}

/// The readable report.
pub fn render_text(
    r: &ProbeReport,
    clients: &[ClientProfile],
    starttls: bool,
    color: bool,
) -> String {
    let mut out = format!(
        "{} {} ({})\n",
        bold("pftls probe", color),
        r.target,
        if starttls {
            "SMTP + STARTTLS"
        } else {
            "TLS wrapper mode"
        }
    );
    out.push_str(&format!(
        "  banner:          {}\n",
        r.banner.lines().next().unwrap_or("")
    ));
    if starttls {
        out.push_str(&format!(
            "  STARTTLS:        {}\n",
            if r.starttls_offered {
                "offered"
            } else {
                "NOT offered"
            }
        ));
    }
    if let Some(pm) = &r.plaintext_mail {
        let what = if pm.refused_530 {
            "refused with 530: senders without TLS are locked out"
        } else if (200..300).contains(&pm.code) {
            "accepted: senders without TLS can deliver"
        } else {
            "answered"
        };
        out.push_str(&format!(
            "  plaintext MAIL:  {what} ({} {})\n",
            pm.code, pm.reply
        ));
    }
    let modern = if r.modern_tls12_plus { "yes" } else { "NO" };
    out.push_str(&format!(
        "  modern client ({}) gets TLS 1.2 or newer: {modern}\n",
        r.modern_client
    ));
    let w = r
        .clients
        .iter()
        .map(|c| c.client.len())
        .max()
        .unwrap_or(6)
        .max(6);
    out.push_str(&format!("\n  {:<w$}  result\n", "client"));
    for c in &r.clients {
        let o = &c.outcome;
        let text = if o.ok {
            format!(
                "{} {}",
                o.protocol.as_deref().unwrap_or("?"),
                o.cipher.as_deref().unwrap_or("?")
            )
        } else {
            format!("FAILED: {}", o.error.as_deref().unwrap_or("unknown error"))
        };
        let text = match (color, o.ok) {
            (false, _) => text,
            (true, true) => format!("\x1b[32m{text}\x1b[0m"),
            (true, false) => format!("\x1b[31m{text}\x1b[0m"),
        };
        let name = name_of(clients, &c.client);
        out.push_str(&format!("  {:<w$}  {text}   ({name})\n", c.client));
    }
    let ok = r.clients.iter().filter(|c| c.outcome.ok).count();
    out.push_str(&format!(
        "\n  {ok}/{} client profiles completed a TLS handshake\n",
        r.clients.len()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            parse_target("mx.example.org", 25).unwrap(),
            ("mx.example.org".into(), 25)
        );
        assert_eq!(
            parse_target("127.0.0.1:2525", 25).unwrap(),
            ("127.0.0.1".into(), 2525)
        );
        assert_eq!(parse_target("[::1]:465", 25).unwrap(), ("::1".into(), 465));
        assert_eq!(parse_target("[::1]", 465).unwrap(), ("::1".into(), 465));
        assert_eq!(parse_target("::1", 25).unwrap(), ("::1".into(), 25));
        for bad in [
            "",
            ":25",
            "host:",
            "host:0",
            "host:99999",
            "[::1",
            "[::1]x",
            "a b",
        ] {
            let e = parse_target(bad, 25).unwrap_err();
            assert_eq!(e.exit, EXIT_USAGE, "{bad}");
        }
    }
}
