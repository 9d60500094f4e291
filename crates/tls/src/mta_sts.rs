//! MTA-STS (RFC 8461), TLS-RPT (RFC 8460) and DANE (RFC 6698/7671/7672) artefacts: the policy
//! file and its `_mta-sts` TXT record, the `_smtp._tls` TLS-RPT record, validation of an
//! existing policy file, whether the MX patterns are covered by the server certificate, and
//! the server's certificate chains and next-key digests for TLSA records.
//!
//! This file holds the policy model and the DNS records; the submodules hold the policy-file
//! checker ([`check_policy`]), certificate-name matching ([`uncovered_mx`]) and the chain and
//! key readers for TLSA ([`server_chains`], [`key_file_record`]).

mod check;
mod dane;
mod names;

use std::path::PathBuf;

use openssl::sha::sha256;
use serde::Serialize;

pub use check::{check_policy, read_policy, PolicyCheck, PolicyIssue, Severity};
pub use dane::{key_file_record, server_chains, ServerChain};
pub use names::{
    cert_dns_names, cert_names_from_files, host_matches_cert_name, mx_covered, uncovered_mx,
};

/// The largest `max_age` RFC 8461 allows (one year, in seconds).
pub const MAX_AGE_LIMIT: u64 = 31_557_600;
/// The default `max_age` of generated policies (one week).
pub const DEFAULT_MAX_AGE: u64 = 604_800;
/// Google's size limit for the policy file; larger files may be refused.
pub const POLICY_SIZE_LIMIT: usize = 64 * 1024;

/// Errors of this module. They name the file (and line, where the file has lines).
#[derive(Debug, thiserror::Error)]
pub enum MtaStsError {
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A PEM file holds nothing usable, or a block OpenSSL cannot parse.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Pem {
        /// The file.
        path: PathBuf,
        /// The line where the offending PEM block starts, where there is one.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// An `mx` pattern that RFC 8461 does not allow.
    #[error("invalid mx pattern \"{pattern}\": {reason}")]
    MxPattern {
        /// The pattern as given.
        pattern: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A policy domain that is not a valid host name.
    #[error("invalid domain \"{domain}\": {reason}")]
    Domain {
        /// The domain as given.
        domain: String,
        /// Why it is invalid.
        reason: String,
    },
    /// `max_age` above [`MAX_AGE_LIMIT`].
    #[error("max_age {value} is larger than {MAX_AGE_LIMIT} seconds (RFC 8461 section 3.2)")]
    MaxAge {
        /// The value given.
        value: u64,
    },
    /// A policy whose mode needs `mx` patterns but has none.
    #[error("mode {mode} needs at least one mx pattern")]
    NoMx {
        /// The mode.
        mode: Mode,
    },
    /// A TLS-RPT reporting URI RFC 8460 does not allow.
    #[error("invalid TLS-RPT rua \"{uri}\": {reason}")]
    Rua {
        /// The URI as given.
        uri: String,
        /// Why it is invalid.
        reason: String,
    },
    /// An OpenSSL call failed.
    #[error("{context}: {reason}")]
    OpenSsl {
        /// What we were doing.
        context: String,
        /// OpenSSL's reason.
        reason: String,
    },
}

/// The policy mode (RFC 8461 section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Senders refuse to deliver to MX hosts that fail the checks.
    Enforce,
    /// Senders deliver anyway and only report failures (TLS-RPT).
    Testing,
    /// The domain withdraws its policy.
    None,
}

impl Mode {
    /// The keyword as it appears in the policy file.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Testing => "testing",
            Mode::None => "none",
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Mode {
    type Err = String;

    /// Exact, case-sensitive keywords, as RFC 8461's ABNF (`%s"enforce"`) requires.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "enforce" => Ok(Mode::Enforce),
            "testing" => Ok(Mode::Testing),
            "none" => Ok(Mode::None),
            other => Err(format!(
                "mode must be enforce, testing or none (case-sensitive), not \"{other}\""
            )),
        }
    }
}

/// An MTA-STS policy: what `https://mta-sts.DOMAIN/.well-known/mta-sts.txt` serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// The mode.
    pub mode: Mode,
    /// Seconds senders may cache the policy.
    pub max_age: u64,
    /// Allowed MX host patterns, lower case, in order (`*.example.com` allowed).
    pub mx: Vec<String>,
}

impl Policy {
    /// A validated policy: every pattern checked and lower-cased (duplicates dropped),
    /// `max_age` within the RFC bound, and at least one `mx` unless the mode is `none`.
    pub fn new(mode: Mode, mx: &[String], max_age: u64) -> Result<Policy, MtaStsError> {
        let mut patterns: Vec<String> = Vec::new();
        for m in mx {
            let p = validate_mx_pattern(m).map_err(|reason| MtaStsError::MxPattern {
                pattern: m.clone(),
                reason,
            })?;
            if !patterns.contains(&p) {
                patterns.push(p);
            }
        }
        if max_age > MAX_AGE_LIMIT {
            return Err(MtaStsError::MaxAge { value: max_age });
        }
        if patterns.is_empty() && mode != Mode::None {
            return Err(MtaStsError::NoMx { mode });
        }
        Ok(Policy {
            mode,
            max_age,
            mx: patterns,
        })
    }

    /// The policy file text (LF line ends, the RFC 8461 section 3.2 field order).
    pub fn to_text(&self) -> String {
        let mut s = format!("version: STSv1\nmode: {}\n", self.mode);
        for m in &self.mx {
            s.push_str("mx: ");
            s.push_str(m);
            s.push('\n');
        }
        s.push_str(&format!("max_age: {}\n", self.max_age));
        s
    }

    /// The `id` for the `_mta-sts` TXT record of this policy's text (see [`policy_id`]).
    pub fn id(&self) -> String {
        policy_id(self.to_text().as_bytes())
    }
}

/// A TXT record id for a policy file's bytes: the first 32 hex digits of its SHA-256. RFC 8461
/// section 3.1 needs 1-32 letters or digits that change whenever the policy changes; a hash is
/// stable for the same text (re-running changes nothing) and changes with any edit.
pub fn policy_id(policy_text: &[u8]) -> String {
    sha256(policy_text)
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The HTTPS URL senders fetch the policy from.
pub fn policy_url(domain: &str) -> String {
    format!("https://mta-sts.{domain}/.well-known/mta-sts.txt")
}

/// The default TLS-RPT reporting address for a domain.
pub fn default_rua(domain: &str) -> String {
    format!("mailto:tlsrpt@{domain}")
}

/// A DNS TXT record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TxtRecord {
    /// Owner name, fully qualified with the trailing dot.
    pub name: String,
    /// The record's text (unquoted).
    pub value: String,
}

impl TxtRecord {
    /// The zone-file line. Texts longer than 255 bytes are split into several quoted strings,
    /// because one TXT character-string holds at most 255 bytes (RFC 1035 section 3.3).
    pub fn zone_line(&self) -> String {
        let chunks: Vec<String> = self
            .value
            .as_bytes()
            .chunks(255)
            .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
            .collect();
        format!("{} IN TXT {}", self.name, chunks.join(" "))
    }
}

/// The `_mta-sts.DOMAIN` record announcing the policy with `id` (RFC 8461 section 3.1).
pub fn sts_record(domain: &str, id: &str) -> Result<TxtRecord, MtaStsError> {
    let domain = normalize_domain(domain)?;
    Ok(TxtRecord {
        name: format!("_mta-sts.{domain}."),
        value: format!("v=STSv1; id={id};"),
    })
}

/// The `_smtp._tls.DOMAIN` TLS-RPT record (RFC 8460 section 3) sending reports to `rua`
/// (`mailto:` or `https:` URIs; several are comma-separated in the record).
pub fn tlsrpt_record(domain: &str, rua: &[String]) -> Result<TxtRecord, MtaStsError> {
    let domain = normalize_domain(domain)?;
    if rua.is_empty() {
        return Err(MtaStsError::Rua {
            uri: String::new(),
            reason: "at least one reporting URI is needed".into(),
        });
    }
    for uri in rua {
        validate_rua(uri).map_err(|reason| MtaStsError::Rua {
            uri: uri.clone(),
            reason,
        })?;
    }
    Ok(TxtRecord {
        name: format!("_smtp._tls.{domain}."),
        value: format!("v=TLSRPTv1; rua={}", rua.join(",")),
    })
}

/// Checks a TLS-RPT URI: `mailto:LOCAL@DOMAIN` or `https://HOST/...`, without the characters
/// RFC 8460 section 3 requires to be percent-encoded (`,` `!`) or that end the field (`;`).
fn validate_rua(uri: &str) -> Result<(), String> {
    if let Some(c) = uri
        .chars()
        .find(|c| !c.is_ascii_graphic() || matches!(c, ',' | '!' | ';' | '"'))
    {
        return Err(format!("character {c:?} must be percent-encoded"));
    }
    let lower = uri.to_ascii_lowercase();
    if let Some(addr) = lower.strip_prefix("mailto:") {
        let addr = addr.split('?').next().unwrap_or_default();
        match addr.rsplit_once('@') {
            Some((local, domain)) if !local.is_empty() => normalize_domain(domain)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            _ => Err("mailto: needs an address LOCAL@DOMAIN".into()),
        }
    } else if let Some(rest) = lower.strip_prefix("https://") {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
        normalize_domain(host)
            .map(|_| ())
            .map_err(|e| e.to_string())
    } else {
        Err("the scheme must be mailto: or https:".into())
    }
}

/// A host name in canonical form (lower case, no trailing dot), or why it is not one: ASCII
/// letters, digits and hyphens in labels of 1-63 characters, at most 253 in all, no label
/// starting or ending with a hyphen, and not an IP address. Internationalised names must be
/// given as A-labels (`xn--...`).
pub fn normalize_domain(domain: &str) -> Result<String, MtaStsError> {
    validate_hostname(domain).map_err(|reason| MtaStsError::Domain {
        domain: domain.to_string(),
        reason,
    })
}

fn validate_hostname(name: &str) -> Result<String, String> {
    let n = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    if n.is_empty() {
        return Err("empty name".into());
    }
    if n.len() > 253 {
        return Err("longer than 253 characters".into());
    }
    for label in n.split('.') {
        if label.is_empty() {
            return Err("empty label".into());
        }
        if label.len() > 63 {
            return Err(format!("label \"{label}\" is longer than 63 characters"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(if c == '*' {
                "wildcard `*` is allowed only as the whole leftmost label (`*.example.com`)".into()
            } else if !c.is_ascii() {
                "non-ASCII character; use the A-label form (xn--...)".into()
            } else {
                format!("character {c:?} is not allowed in a host name")
            });
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label \"{label}\" starts or ends with a hyphen"));
        }
    }
    let last = n.rsplit('.').next().unwrap_or_default();
    if last.chars().all(|c| c.is_ascii_digit()) {
        return Err("an IP address is not a host name".into());
    }
    Ok(n)
}

/// Checks an `mx` pattern (RFC 8461 section 3.2: `["*."] Domain`) and returns it lower-cased.
/// A trailing dot is refused: the ABNF's Domain (RFC 5321) has none.
pub fn validate_mx_pattern(pattern: &str) -> Result<String, String> {
    if pattern.ends_with('.') {
        return Err("trailing dot is not allowed".into());
    }
    let (wild, base) = match pattern.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, pattern),
    };
    let base = validate_hostname(base)?;
    if wild && !base.contains('.') {
        return Err("a wildcard needs at least two labels after `*.`".into());
    }
    Ok(if wild { format!("*.{base}") } else { base })
}
