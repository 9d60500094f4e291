//! pftls doctor: findings over the effective Postfix TLS configuration.
//!
//! [`diagnose`] works on in-memory documents (the planner runs it on the current and the
//! planned configuration and reports findings fixed/introduced with [`diff_findings`]).
//! Every finding has a stable id whose letter repeats its severity, a message saying what
//! happens to mail, a location (`main.cf:LINE` / `master.cf:LINE` of the line that makes
//! the value effective) and a fix naming the shipped policy or the exact edit.
//!
//! | id | severity | finding |
//! |---|---|---|
//! | PFTLS-E001 | error | port 25 (`smtp/inet`, or the `smtpd pass` service behind postscreen) requires TLS: `encrypt`, `smtpd_enforce_tls = yes` or wrapper mode, from main.cf or a master.cf override (RFC 3207 section 4; senders get `530 5.7.0 Must issue a STARTTLS command first`); also an explicit `postscreen_tls_security_level = encrypt` |
//! | PFTLS-E002 | error | a `smtpd_`/`smtp_tls_[mandatory_]protocols` definition excludes TLS 1.2 (or enables nothing) |
//! | PFTLS-E003 | error | the protocol list port 25 uses allows only TLS 1.3 |
//! | PFTLS-E004 | error | a protocol list the target Postfix does not understand (`>=` before 3.6, unknown names): Postfix disables TLS |
//! | PFTLS-E005 | error | an invalid TLS level, grade, boolean or cipher exclusion token for an smtpd service |
//! | PFTLS-W010 | warning | port-25 cipher settings (`tls_*_cipherlist`, grade, exclusions) remove TLS 1.2 ciphers that Postfix's medium grade under the system crypto-policy allows (evaluated with OpenSSL) |
//! | PFTLS-E011 | error | a modern client profile (max protocol TLS 1.3: openssl_111d, openssl_315, openssl_350) fails a simulated handshake with the port-25 server that the policy's reference settings would complete |
//! | PFTLS-W012 | warning | the same for legacy profiles (max protocol below TLS 1.3) |
//! | PFTLS-E020 | error | mandatory TLS (encrypt/wrapper mode) with no certificate configured |
//! | PFTLS-W021 | warning | opportunistic TLS with no certificate configured (STARTTLS not offered) |
//! | PFTLS-E022 | error | certificate or key file missing, unreadable or unparsable |
//! | PFTLS-E023 | error | the key file does not match the certificate |
//! | PFTLS-E024 | error | the certificate has expired (or is not valid yet) |
//! | PFTLS-W025 | warning | the certificate expires within `expiry_days` (30) |
//! | PFTLS-E026 | error | the key is below what the baseline's SECLEVEL accepts (RSA-2048 under FUTURE: every handshake fails) |
//! | PFTLS-E027 | error | the certificate is signed with MD5/SHA-1 |
//! | PFTLS-W030 | warning | `smtpd_tls_loglevel = 0` where port 25 offers TLS |
//! | PFTLS-W031 | warning | deprecated `smtpd_use_tls` / `smtpd_enforce_tls` / `smtp_use_tls` / `smtp_enforce_tls` |
//! | PFTLS-E040 | error | a submission service (any non-25 smtpd with `smtpd_sasl_auth_enable = yes`) allows AUTH without TLS |
//! | PFTLS-W041 | warning | `smtpd_tls_wrappermode = yes` on a service that is not 465/submissions/smtps |
//! | PFTLS-W050 | warning | main.cf defines a parameter more than once with different values |
//! | PFTLS-W051 | warning | a service repeats `-o name=` with different values |
//! | PFTLS-W052 | warning | master.cf defines the same service twice |
//! | PFTLS-W053 | warning | a parameter nothing uses (postconf: unused parameter), usually a typo |
//! | PFTLS-W054 | warning | a `$name` with no value anywhere (postconf: undefined parameter) |
//! | PFTLS-E060 | error | `smtp_tls_security_level` = `dane` or `dane-only` without `smtp_dns_support_level = dnssec` |
//! | PFTLS-W061 | warning | DANE configured and no loopback nameserver in resolv.conf |
//! | PFTLS-I070 | info | port 25 does not offer STARTTLS at all |
//!
//! Handshake findings (E011/W012) only count failures caused by the configuration: a
//! profile the system policy itself refuses (e.g. TLS 1.0-only stacks at SECLEVEL 2 with
//! OpenSSL 3) is not reported.

mod checks;
mod cx;
pub mod finding;

use std::path::PathBuf;

use pftls_policy::{Catalogue, PostfixVersion};
use pftls_tls::{Baseline, ClientProfile};
use postfix_conf::{MainCf, MasterCf};

pub use finding::{counts, diff_findings, ids, Check, Finding, Severity, CHECKS};

/// What the doctor looks at.
pub struct DoctorInput<'a> {
    /// main.cf.
    pub main: &'a MainCf,
    /// master.cf (an empty document when the file is absent).
    pub master: &'a MasterCf,
    /// Parameter defaults of the target version.
    pub catalogue: &'a Catalogue,
    /// The target Postfix version (protocol syntax, cipher defaults).
    pub version: PostfixVersion,
    /// The system crypto-policy (or OpenSSL defaults).
    pub baseline: &'a Baseline,
    /// Client profiles for the handshake simulation (empty: no simulation).
    pub profiles: &'a [ClientProfile],
    /// Options.
    pub options: DoctorOptions,
}

/// Options of a diagnosis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoctorOptions {
    /// Check the certificate and key files on disk.
    pub check_files: bool,
    /// Warn when a certificate expires within this many days.
    pub expiry_days: u32,
    /// The resolver configuration to check for DANE.
    pub resolv_conf: PathBuf,
    /// "Now" in seconds since the epoch for certificate validity (None: the clock).
    pub now: Option<i64>,
    /// A published MTA-STS policy file (`mta-sts.txt`) to check against the certificate.
    pub mta_sts_policy: Option<PathBuf>,
}

impl Default for DoctorOptions {
    fn default() -> Self {
        DoctorOptions {
            check_files: true,
            expiry_days: 30,
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
            now: None,
            mta_sts_policy: None,
        }
    }
}

/// Runs every check and returns the findings sorted by severity (errors first), then
/// location, then id. Never fails: what cannot be evaluated is reported as a finding or
/// skipped.
pub fn diagnose(input: &DoctorInput<'_>) -> Vec<Finding> {
    let cx = cx::Cx::new(input);
    let mut drafts = Vec::new();
    checks::port25::check(&cx, &mut drafts);
    checks::protocols::check(&cx, &mut drafts);
    checks::ciphers::check(&cx, &mut drafts);
    checks::certs::check(&cx, &mut drafts);
    checks::hygiene::check(&cx, &mut drafts);
    checks::duplicates::check(&cx, &mut drafts);
    checks::dane::check(&cx, &mut drafts);
    checks::mta_sts::check(&cx, &mut drafts);
    checks::params::check(&cx, &mut drafts);
    let mut findings = cx::finish(drafts);
    finding::sort(&mut findings);
    findings
}
