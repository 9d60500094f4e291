//! The certificate and key a listener presents: its own `-o smtpd_tls_*` overrides first, then
//! main.cf, then the default — the same lookup smtpd performs. `tlsa` and `mta-sts` use this so
//! that a DANE record describes what the port really presents.

use std::path::PathBuf;

use pftls_policy::ConfigView;
use postfix_conf::Scope;
use serde::Serialize;

/// The server certificate files of one scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertChoice {
    /// One group per chain source: `smtpd_tls_chain_files` as one group, else
    /// `smtpd_tls_cert_file` and `smtpd_tls_eccert_file` each on its own.
    pub groups: Vec<Vec<PathBuf>>,
    /// The parameters the files came from, with their source, e.g.
    /// `smtpd_tls_cert_file (master.cf:12)`.
    pub source: String,
}

/// A certificate parameter whose `$name` expansion fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{scope} {name}: {message}")]
pub struct CertError {
    /// Scope.
    pub scope: String,
    /// Parameter.
    pub name: String,
    /// Expansion error.
    pub message: String,
}

fn split(v: &str) -> Vec<PathBuf> {
    v.split([',', ' ', '\t', '\n', '\r'])
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .collect()
}

/// The certificate files smtpd uses in `scope`.
pub fn server_certs(view: &ConfigView<'_>, scope: &Scope) -> Result<CertChoice, CertError> {
    let get = |name: &str| {
        view.expanded_in(scope, name).map_err(|message| CertError {
            scope: scope.to_string(),
            name: name.into(),
            message,
        })
    };
    let label = |name: &str| format!("{name} ({})", view.value_in(scope, name).source);
    let chain = split(&get("smtpd_tls_chain_files")?);
    if !chain.is_empty() {
        return Ok(CertChoice {
            groups: vec![chain],
            source: label("smtpd_tls_chain_files"),
        });
    }
    let mut groups = Vec::new();
    let mut names = Vec::new();
    for p in ["smtpd_tls_cert_file", "smtpd_tls_eccert_file"] {
        let v = get(p)?;
        let v = v.trim();
        if !v.is_empty() {
            groups.push(vec![PathBuf::from(v)]);
            names.push(label(p));
        }
    }
    Ok(CertChoice {
        groups,
        source: names.join(", "),
    })
}
