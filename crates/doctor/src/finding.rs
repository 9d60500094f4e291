//! The finding type, its severity, the stable check ids, ordering and before/after diffs.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing is broken.
    Info,
    /// Risky or degraded; mail still flows.
    Warning,
    /// Mail is refused, TLS is disabled, or secrets cross the wire in plaintext.
    Error,
}

impl Severity {
    /// `info`, `warning` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// Parses `info`, `warning` (or `warn`) and `error`, case-insensitively.
    pub fn parse(s: &str) -> Option<Severity> {
        match s.trim().to_ascii_lowercase().as_str() {
            "info" => Some(Severity::Info),
            "warning" | "warn" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable check id (`PFTLS-E001`); the letter repeats the severity.
    pub id: String,
    /// Severity.
    pub severity: Severity,
    /// What is wrong and what it does to mail.
    pub message: String,
    /// `main.cf:LINE`, `master.cf:LINE` or a file path, where there is one.
    pub location: Option<String>,
    /// The policy or the exact edit that fixes it.
    pub fix: String,
    /// The shipped policy that fixes it, when one does.
    pub policy: Option<String>,
    /// What the finding is about, independent of line numbers (`smtp/inet`,
    /// `main smtpd_tls_protocols`, a file path); findings with the same id and subject are
    /// the same finding before and after an edit.
    pub subject: String,
}

impl Finding {
    /// The identity used by [`diff_findings`].
    fn key(&self) -> (&str, &str) {
        (&self.id, &self.subject)
    }
}

/// Splits `file:line` into the file and a numeric line for ordering (`main.cf:8` sorts
/// before `main.cf:715`).
fn location_key(loc: &Option<String>) -> (u8, String, u64) {
    match loc {
        None => (1, String::new(), 0),
        Some(l) => match l.rsplit_once(':') {
            Some((file, line)) if line.bytes().all(|b| b.is_ascii_digit()) && !line.is_empty() => {
                (0, file.to_string(), line.parse().unwrap_or(u64::MAX))
            }
            _ => (0, l.clone(), 0),
        },
    }
}

/// The report order: severity (errors first), then location (file, numeric line; findings
/// without a location last), then id.
pub fn compare(a: &Finding, b: &Finding) -> Ordering {
    b.severity
        .cmp(&a.severity)
        .then_with(|| location_key(&a.location).cmp(&location_key(&b.location)))
        .then_with(|| a.id.cmp(&b.id))
        .then_with(|| a.subject.cmp(&b.subject))
}

/// Sorts findings in report order.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(compare);
}

/// Compares the findings of two configurations (e.g. current and planned): returns the
/// findings of `before` that `after` no longer has (fixed) and the findings of `after` that
/// `before` did not have (introduced). Findings are matched by id and subject, so line
/// numbers that shift with an edit do not count as a change.
pub fn diff_findings(before: &[Finding], after: &[Finding]) -> (Vec<Finding>, Vec<Finding>) {
    let fixed = before
        .iter()
        .filter(|b| !after.iter().any(|a| a.key() == b.key()))
        .cloned()
        .collect();
    let introduced = after
        .iter()
        .filter(|a| !before.iter().any(|b| b.key() == a.key()))
        .cloned()
        .collect();
    (fixed, introduced)
}

/// Counts per severity: (errors, warnings, infos).
pub fn counts(findings: &[Finding]) -> (usize, usize, usize) {
    let n = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    (n(Severity::Error), n(Severity::Warning), n(Severity::Info))
}

/// A check: its stable id, severity and a one-line title (the catalogue in the crate docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable id.
    pub id: &'static str,
    /// Severity of its findings.
    pub severity: Severity,
    /// What it detects.
    pub title: &'static str,
}

/// Every check the doctor runs, in id order.
pub const CHECKS: &[Check] = &[
    Check {
        id: ids::PORT25_REQUIRES_TLS,
        severity: Severity::Error,
        title:
            "port 25 requires TLS (encrypt, smtpd_enforce_tls or wrapper mode): RFC 3207 section 4",
    },
    Check {
        id: ids::PROTOCOLS_NO_TLS12,
        severity: Severity::Error,
        title: "a protocol list excludes TLS 1.2 (or enables nothing)",
    },
    Check {
        id: ids::PORT25_TLS13_ONLY,
        severity: Severity::Error,
        title: "port 25 accepts only TLS 1.3",
    },
    Check {
        id: ids::PROTOCOLS_INVALID,
        severity: Severity::Error,
        title: "a protocol list the target Postfix does not understand (TLS disabled)",
    },
    Check {
        id: ids::INVALID_TLS_SETTING,
        severity: Severity::Error,
        title: "an invalid TLS level, grade, boolean or cipher exclusion",
    },
    Check {
        id: ids::CIPHERS_NARROWER,
        severity: Severity::Warning,
        title: "cipher settings remove ciphers the system crypto-policy allows",
    },
    Check {
        id: ids::MODERN_CLIENTS_FAIL,
        severity: Severity::Error,
        title: "modern sending MTAs cannot complete a handshake on port 25",
    },
    Check {
        id: ids::LEGACY_CLIENTS_FAIL,
        severity: Severity::Warning,
        title: "legacy sending MTAs cannot complete a handshake on port 25",
    },
    Check {
        id: ids::NO_CERT_MANDATORY,
        severity: Severity::Error,
        title: "mandatory TLS with no certificate configured",
    },
    Check {
        id: ids::NO_CERT_OPPORTUNISTIC,
        severity: Severity::Warning,
        title: "opportunistic TLS with no certificate configured",
    },
    Check {
        id: ids::CERT_UNUSABLE,
        severity: Severity::Error,
        title: "certificate or key file missing, unreadable or unparsable",
    },
    Check {
        id: ids::KEY_MISMATCH,
        severity: Severity::Error,
        title: "private key does not match the certificate",
    },
    Check {
        id: ids::CERT_EXPIRED,
        severity: Severity::Error,
        title: "certificate expired or not yet valid",
    },
    Check {
        id: ids::KEY_TOO_SMALL,
        severity: Severity::Error,
        title: "key refused at the system security level (ee key too small)",
    },
    Check {
        id: ids::WEAK_SIGNATURE,
        severity: Severity::Error,
        title: "certificate signed with MD5/SHA-1 (ca md too weak)",
    },
    Check {
        id: ids::CERT_EXPIRING,
        severity: Severity::Warning,
        title: "certificate expires soon",
    },
    Check {
        id: ids::LOGLEVEL_ZERO,
        severity: Severity::Warning,
        title: "smtpd_tls_loglevel = 0: TLS failures are invisible",
    },
    Check {
        id: ids::DEPRECATED_BOOLEAN,
        severity: Severity::Warning,
        title: "deprecated smtpd_use_tls / smtpd_enforce_tls / smtp_use_tls / smtp_enforce_tls",
    },
    Check {
        id: ids::AUTH_WITHOUT_TLS,
        severity: Severity::Error,
        title: "a submission service allows AUTH without TLS",
    },
    Check {
        id: ids::WRAPPERMODE_PORT,
        severity: Severity::Warning,
        title: "wrapper mode on a service that is not 465/submissions/smtps",
    },
    Check {
        id: ids::DUPLICATE_MAIN,
        severity: Severity::Warning,
        title: "main.cf defines a parameter twice with different values",
    },
    Check {
        id: ids::DUPLICATE_OVERRIDE,
        severity: Severity::Warning,
        title: "a master.cf service has the same -o twice with different values",
    },
    Check {
        id: ids::DUPLICATE_SERVICE,
        severity: Severity::Warning,
        title: "master.cf defines a service twice",
    },
    Check {
        id: ids::UNUSED_PARAMETER,
        severity: Severity::Warning,
        title: "a parameter nothing uses (postconf: unused parameter), usually a typo",
    },
    Check {
        id: ids::UNDEFINED_PARAMETER,
        severity: Severity::Warning,
        title: "a $name with no value anywhere (postconf: undefined parameter)",
    },
    Check {
        id: ids::DANE_NO_DNSSEC,
        severity: Severity::Error,
        title: "DANE without smtp_dns_support_level = dnssec",
    },
    Check {
        id: ids::DANE_NO_LOCAL_RESOLVER,
        severity: Severity::Warning,
        title: "DANE without a local validating resolver in resolv.conf",
    },
    Check {
        id: ids::MTA_STS_MX_UNCOVERED,
        severity: Severity::Error,
        title: "MTA-STS policy in enforce mode lists an MX the certificate does not cover",
    },
    Check {
        id: ids::MTA_STS_POLICY_INVALID,
        severity: Severity::Warning,
        title: "the MTA-STS policy file is not valid RFC 8461",
    },
    Check {
        id: ids::PORT25_NO_TLS,
        severity: Severity::Info,
        title: "port 25 does not offer STARTTLS",
    },
];

/// The stable check ids.
pub mod ids {
    /// Port 25 requires TLS.
    pub const PORT25_REQUIRES_TLS: &str = "PFTLS-E001";
    /// A protocol list excludes TLS 1.2.
    pub const PROTOCOLS_NO_TLS12: &str = "PFTLS-E002";
    /// Port 25 accepts only TLS 1.3.
    pub const PORT25_TLS13_ONLY: &str = "PFTLS-E003";
    /// Protocol list not understood by the target Postfix.
    pub const PROTOCOLS_INVALID: &str = "PFTLS-E004";
    /// Invalid TLS level/grade/boolean/exclusion.
    pub const INVALID_TLS_SETTING: &str = "PFTLS-E005";
    /// Ciphers narrower than the crypto-policy.
    pub const CIPHERS_NARROWER: &str = "PFTLS-W010";
    /// Modern client profiles fail.
    pub const MODERN_CLIENTS_FAIL: &str = "PFTLS-E011";
    /// Legacy client profiles fail.
    pub const LEGACY_CLIENTS_FAIL: &str = "PFTLS-W012";
    /// Mandatory TLS without a certificate.
    pub const NO_CERT_MANDATORY: &str = "PFTLS-E020";
    /// Opportunistic TLS without a certificate.
    pub const NO_CERT_OPPORTUNISTIC: &str = "PFTLS-W021";
    /// Certificate/key file unusable.
    pub const CERT_UNUSABLE: &str = "PFTLS-E022";
    /// Key does not match the certificate.
    pub const KEY_MISMATCH: &str = "PFTLS-E023";
    /// Certificate expired or not yet valid.
    pub const CERT_EXPIRED: &str = "PFTLS-E024";
    /// Key too small for the security level.
    pub const KEY_TOO_SMALL: &str = "PFTLS-E026";
    /// Weak certificate signature.
    pub const WEAK_SIGNATURE: &str = "PFTLS-E027";
    /// Certificate expires soon.
    pub const CERT_EXPIRING: &str = "PFTLS-W025";
    /// smtpd_tls_loglevel = 0.
    pub const LOGLEVEL_ZERO: &str = "PFTLS-W030";
    /// Deprecated TLS booleans.
    pub const DEPRECATED_BOOLEAN: &str = "PFTLS-W031";
    /// AUTH without TLS on submission.
    pub const AUTH_WITHOUT_TLS: &str = "PFTLS-E040";
    /// Wrapper mode on the wrong port.
    pub const WRAPPERMODE_PORT: &str = "PFTLS-W041";
    /// main.cf duplicate with different values.
    pub const DUPLICATE_MAIN: &str = "PFTLS-W050";
    /// Duplicate -o with different values.
    pub const DUPLICATE_OVERRIDE: &str = "PFTLS-W051";
    /// Duplicate master.cf service.
    pub const DUPLICATE_SERVICE: &str = "PFTLS-W052";
    /// A parameter nothing uses (postconf's "unused parameter").
    pub const UNUSED_PARAMETER: &str = "PFTLS-W053";
    /// A `$name` with no value (postconf's "undefined parameter").
    pub const UNDEFINED_PARAMETER: &str = "PFTLS-W054";
    /// DANE without dnssec lookups.
    pub const DANE_NO_DNSSEC: &str = "PFTLS-E060";
    /// DANE without a local resolver.
    pub const DANE_NO_LOCAL_RESOLVER: &str = "PFTLS-W061";
    /// MTA-STS enforce with an MX the certificate does not cover.
    pub const MTA_STS_MX_UNCOVERED: &str = "PFTLS-E062";
    /// MTA-STS policy file invalid.
    pub const MTA_STS_POLICY_INVALID: &str = "PFTLS-W063";
    /// Port 25 offers no TLS.
    pub const PORT25_NO_TLS: &str = "PFTLS-I070";
}

/// The severity a check id stands for (from [`CHECKS`]); `Info` for unknown ids.
pub fn severity_of(id: &str) -> Severity {
    CHECKS
        .iter()
        .find(|c| c.id == id)
        .map_or(Severity::Info, |c| c.severity)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(id: &str, loc: Option<&str>, subject: &str) -> Finding {
        Finding {
            id: id.into(),
            severity: severity_of(id),
            message: String::new(),
            location: loc.map(str::to_string),
            fix: String::new(),
            policy: None,
            subject: subject.into(),
        }
    }

    #[test]
    fn order_is_severity_then_numeric_line() {
        let mut v = vec![
            f(ids::LOGLEVEL_ZERO, Some("main.cf:3"), "a"),
            f(ids::PORT25_REQUIRES_TLS, Some("main.cf:715"), "b"),
            f(ids::PROTOCOLS_NO_TLS12, Some("main.cf:8"), "c"),
            f(ids::PORT25_NO_TLS, None, "d"),
            f(ids::DEPRECATED_BOOLEAN, None, "e"),
        ];
        sort(&mut v);
        let order: Vec<&str> = v.iter().map(|x| x.subject.as_str()).collect();
        assert_eq!(order, ["c", "b", "a", "e", "d"]);
    }

    #[test]
    fn diff_ignores_line_shifts() {
        let before = vec![
            f(ids::LOGLEVEL_ZERO, Some("main.cf:3"), "x"),
            f(ids::PORT25_REQUIRES_TLS, Some("main.cf:9"), "y"),
        ];
        let after = vec![
            f(ids::LOGLEVEL_ZERO, Some("main.cf:2"), "x"),
            f(ids::CERT_EXPIRING, None, "z"),
        ];
        let (fixed, introduced) = diff_findings(&before, &after);
        assert_eq!(fixed.len(), 1);
        assert_eq!(fixed[0].id, ids::PORT25_REQUIRES_TLS);
        assert_eq!(introduced.len(), 1);
        assert_eq!(introduced[0].id, ids::CERT_EXPIRING);
    }

    #[test]
    fn ids_unique_and_letter_matches_severity() {
        let mut seen = std::collections::BTreeSet::new();
        for c in CHECKS {
            assert!(seen.insert(c.id), "duplicate id {}", c.id);
            let letter = c.id.as_bytes()[6];
            let want = match c.severity {
                Severity::Error => b'E',
                Severity::Warning => b'W',
                Severity::Info => b'I',
            };
            assert_eq!(letter, want, "{}", c.id);
        }
        assert_eq!(Severity::parse("Warning"), Some(Severity::Warning));
        assert_eq!(Severity::parse("bogus"), None);
    }
}
