//! Which host names a server certificate is valid for, and whether the MX patterns of a policy
//! are covered by them.
//!
//! RFC 8461 section 4.1: the MX's certificate "MUST have a subject alternative name (SAN) with
//! a DNS-ID matching the host name, per the rules given in RFC 6125". So only SAN dNSNames
//! count (no fall-back to the subject CN), and a `*.example.com` name matches exactly one
//! leftmost label. Partial-label wildcards (`m*.example.com`) are not honoured by every
//! client (RFC 6125 section 6.4.3 makes them optional), so they never count as coverage here.

use std::path::PathBuf;

use openssl::x509::X509Ref;

use super::{server_chains, MtaStsError, Policy};

/// The SAN dNSNames of a certificate, lower case, without trailing dots, deduplicated.
pub fn cert_dns_names(cert: &X509Ref) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Some(sans) = cert.subject_alt_names() {
        for san in sans.iter() {
            if let Some(dns) = san.dnsname() {
                let n = dns.trim_end_matches('.').to_ascii_lowercase();
                if !n.is_empty() && !out.contains(&n) {
                    out.push(n);
                }
            }
        }
    }
    out
}

/// The SAN dNSNames of every server (leaf) certificate in `paths` (read as
/// [`server_chains`] reads them), in order, deduplicated.
pub fn cert_names_from_files(paths: &[PathBuf]) -> Result<Vec<String>, MtaStsError> {
    let mut out: Vec<String> = Vec::new();
    for chain in server_chains(paths)? {
        for n in cert_dns_names(&chain.leaf) {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    Ok(out)
}

/// Whether a certificate name (a SAN dNSName) is valid for `host` under RFC 6125 rules:
/// equal ignoring case and a trailing dot, or `*.REST` where `host` is one label plus `REST`
/// and `REST` has at least two labels (no `*.com`).
pub fn host_matches_cert_name(host: &str, cert_name: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let name = cert_name.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() || name.is_empty() || host.contains('*') {
        return false;
    }
    match name.strip_prefix("*.") {
        Some(rest) => {
            if rest.contains('*') || !rest.contains('.') {
                return false;
            }
            match host.split_once('.') {
                Some((first, tail)) => !first.is_empty() && tail == rest,
                None => false,
            }
        }
        None => !name.contains('*') && name == host,
    }
}

/// Whether the certificate names cover an `mx` pattern: a plain host must match one name
/// (see [`host_matches_cert_name`]); a `*.example.com` pattern lets any host one label below
/// `example.com` be an MX, so only the certificate name `*.example.com` itself covers it.
pub fn mx_covered(pattern: &str, cert_names: &[String]) -> bool {
    let p = pattern.trim_end_matches('.').to_ascii_lowercase();
    if p.starts_with("*.") {
        cert_names
            .iter()
            .any(|n| n.trim_end_matches('.').eq_ignore_ascii_case(&p))
    } else {
        cert_names.iter().any(|n| host_matches_cert_name(&p, n))
    }
}

/// The policy's `mx` patterns that the certificate names do not cover, in policy order (for
/// doctor: "MTA-STS policy mode enforce with an MX not covered by the certificate").
pub fn uncovered_mx(policy: &Policy, cert_names: &[String]) -> Vec<String> {
    policy
        .mx
        .iter()
        .filter(|m| !mx_covered(m, cert_names))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6125_matching() {
        assert!(host_matches_cert_name("MX.Example.com.", "mx.example.com"));
        assert!(host_matches_cert_name("mx.example.com", "*.example.com"));
        assert!(!host_matches_cert_name("a.mx.example.com", "*.example.com"));
        assert!(!host_matches_cert_name("example.com", "*.example.com"));
        assert!(!host_matches_cert_name("example.com", "*.com"));
        assert!(!host_matches_cert_name("mx.example.com", "m*.example.com"));
        assert!(!host_matches_cert_name("mx.example.com", "mx.example.org"));
        assert!(!host_matches_cert_name("*.example.com", "*.example.com"));
    }

    #[test]
    fn wildcard_patterns_need_wildcard_names() {
        let names = vec!["mx1.example.com".to_string(), "*.example.net".to_string()];
        assert!(!mx_covered("*.example.com", &names));
        assert!(mx_covered("*.example.net", &names));
        assert!(mx_covered("mx1.example.com", &names));
        assert!(mx_covered("anything.example.net", &names));
    }
}
