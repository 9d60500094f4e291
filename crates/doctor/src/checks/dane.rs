//! Outbound DANE: `smtp_tls_security_level = dane|dane-only` needs DNSSEC lookups
//! (`smtp_dns_support_level = dnssec`) and a local validating resolver.

use std::net::IpAddr;
use std::path::Path;

use crate::cx::{Cx, Draft};
use crate::finding::ids;

/// E060, W061.
pub(crate) fn check(cx: &Cx<'_>, out: &mut Vec<Draft>) {
    let mut any_dane = false;
    for scope in smtp_scopes(cx) {
        let level = cx
            .value(&scope, "smtp_tls_security_level")
            .trim()
            .to_ascii_lowercase();
        if level != "dane" && level != "dane-only" {
            continue;
        }
        any_dane = true;
        let dns = cx
            .value(&scope, "smtp_dns_support_level")
            .trim()
            .to_ascii_lowercase();
        if dns == "dnssec" {
            continue;
        }
        let loc = cx.loc(&scope, "smtp_tls_security_level");
        let dns_shown = if dns.is_empty() {
            "(empty)".to_string()
        } else {
            dns
        };
        let effect = if level == "dane" {
            "falls back to opportunistic TLS without authentication"
        } else {
            "defers the mail"
        };
        out.push(
            Draft::new(
                ids::DANE_NO_DNSSEC,
                format!("dane {}", loc.clone().unwrap_or_default()),
                loc,
                format!(
                    "smtp_tls_security_level = {level} on {{scopes}} but smtp_dns_support_level = {dns_shown}: Postfix \
                     cannot see DNSSEC-validated TLSA records, logs \"dane configured with dnssec lookups disabled\" and \
                     {effect}."
                ),
                "pftls apply -p outbound-dane (or postconf -e 'smtp_dns_support_level = dnssec')",
            )
            .policy("outbound-dane")
            .scope(scope),
        );
    }
    if any_dane {
        resolver(&cx.input.options.resolv_conf, out);
    }
}

/// Scopes that run the smtp client: services whose command is `smtp`, or `main` when
/// master.cf has none.
fn smtp_scopes(cx: &Cx<'_>) -> Vec<String> {
    let scopes: Vec<String> = cx
        .services()
        .iter()
        .filter(|s| s.command == "smtp")
        .map(|s| s.key())
        .collect();
    if scopes.is_empty() {
        vec!["main".into()]
    } else {
        scopes
    }
}

/// W061: no loopback nameserver in resolv.conf (or the file cannot be read).
fn resolver(path: &Path, out: &mut Vec<Draft>) {
    let shown = path.display().to_string();
    let fix = "run a local DNSSEC-validating resolver (e.g. unbound on 127.0.0.1) and list only it in resolv.conf: \
               nameserver 127.0.0.1";
    let text = match pftls_safe_read::read_to_string(path, pftls_safe_read::Kind::Text)
        .map_err(pftls_safe_read::ReadError::into_reason_io)
    {
        Ok(t) => t,
        Err(e) => {
            out.push(Draft::new(
                ids::DANE_NO_LOCAL_RESOLVER,
                "resolver",
                Some(shown.clone()),
                format!("DANE is configured but {shown} cannot be read ({e}): no local validating resolver can be confirmed."),
                fix,
            ));
            return;
        }
    };
    let servers: Vec<(usize, String)> = text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let mut w = l.split_whitespace();
            (w.next() == Some("nameserver")).then(|| (i + 1, w.next().unwrap_or("").to_string()))
        })
        .collect();
    let loopback = servers.iter().any(|(_, s)| is_loopback(s));
    if loopback {
        return;
    }
    let listed = if servers.is_empty() {
        "no nameserver line (the resolver library then uses 127.0.0.1, but nothing says it validates)".to_string()
    } else {
        servers
            .iter()
            .map(|(_, s)| s.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let loc = servers
        .first()
        .map(|(l, _)| format!("{shown}:{l}"))
        .or(Some(shown.clone()));
    out.push(Draft::new(
        ids::DANE_NO_LOCAL_RESOLVER,
        "resolver",
        loc,
        format!(
            "DANE is configured but {shown} lists {listed}: no local resolver. DNSSEC validation (the AD bit) from a \
             remote resolver can be forged on the way, and Postfix trusts it blindly."
        ),
        fix,
    ));
}

fn is_loopback(s: &str) -> bool {
    // Scoped IPv6 addresses (`fe80::1%eth0`) are not loopback anyway.
    s.split('%')
        .next()
        .and_then(|a| a.parse::<IpAddr>().ok())
        .is_some_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback() {
        assert!(super::is_loopback("127.0.0.1"));
        assert!(super::is_loopback("127.0.0.53"));
        assert!(super::is_loopback("::1"));
        assert!(!super::is_loopback("9.9.9.9"));
        assert!(!super::is_loopback("bogus"));
    }
}
