//! Certificate and key file checks: present and readable, parseable PEM, key matches the
//! certificate, validity window, key type/size and whether OpenSSL accepts the key at a
//! security level (what fails as "ee key too small" when Postfix loads it).

use std::path::{Path, PathBuf};

use openssl::asn1::Asn1Time;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, PKeyRef, Private, Public};
use openssl::x509::X509;
use serde::Serialize;

/// Minimum security bits per OpenSSL security level 0..=5 (ssl_cert.c minbits_table).
const MIN_SECURITY_BITS: [u32; 6] = [0, 80, 112, 128, 192, 256];
/// RSA/DH sizes that reach those security bits (for messages).
const MIN_RSA_BITS: [u32; 6] = [0, 1024, 2048, 3072, 7680, 15360];

/// A problem found with a certificate/key pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CertProblem {
    /// The file does not exist.
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// The file exists but cannot be read.
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: String,
    },
    /// No PEM certificate / key could be parsed.
    Unparsable {
        /// The file.
        path: PathBuf,
        /// What OpenSSL said.
        error: String,
    },
    /// The private key does not belong to the certificate.
    KeyMismatch,
    /// The certificate has expired.
    Expired {
        /// notAfter as OpenSSL prints it.
        not_after: String,
    },
    /// The certificate expires within the warning window.
    Expiring {
        /// Whole days left.
        days_left: i64,
    },
    /// The certificate is not valid yet.
    NotYetValid {
        /// notBefore as OpenSSL prints it.
        not_before: String,
    },
    /// OpenSSL refuses the key at this security level ("ee key too small").
    KeyTooSmall {
        /// `RSA`, `EC`, ...
        key_type: String,
        /// Key size in bits.
        bits: u32,
        /// The security level checked.
        seclevel: u32,
        /// What the level needs, in words (`RSA >= 2048 bits or EC >= 224 bits`).
        required: String,
    },
    /// The certificate is signed with MD5/SHA-1, refused at security level >= 1.
    WeakSignature {
        /// Signature algorithm name.
        algorithm: String,
    },
}

impl std::fmt::Display for CertProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CertProblem::Missing { path } => write!(f, "{}: no such file", path.display()),
            CertProblem::Unreadable { path, error } => write!(f, "{}: {error}", path.display()),
            CertProblem::Unparsable { path, error } => {
                write!(f, "{}: cannot parse: {error}", path.display())
            }
            CertProblem::KeyMismatch => f.write_str("private key does not match the certificate"),
            CertProblem::Expired { not_after } => write!(f, "certificate expired on {not_after}"),
            CertProblem::Expiring { days_left } => {
                write!(f, "certificate expires in {days_left} days")
            }
            CertProblem::NotYetValid { not_before } => {
                write!(f, "certificate not valid before {not_before}")
            }
            CertProblem::KeyTooSmall {
                key_type,
                bits,
                seclevel,
                required,
            } => write!(
                f,
                "{key_type}-{bits} key is refused at security level {seclevel} (needs {required}): ee key too small"
            ),
            CertProblem::WeakSignature { algorithm } => {
                write!(f, "certificate signed with {algorithm}: ca md too weak")
            }
        }
    }
}

/// Options for [`check_cert_files`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertCheck {
    /// Warn when fewer than this many days are left.
    pub warn_days: i64,
    /// Security level the key must satisfy.
    pub seclevel: u32,
}

impl Default for CertCheck {
    fn default() -> Self {
        CertCheck {
            warn_days: 30,
            seclevel: 2,
        }
    }
}

/// What was found about a certificate/key pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertReport {
    /// Certificate file.
    pub cert_path: PathBuf,
    /// Key file (the certificate file when none was given).
    pub key_path: PathBuf,
    /// Subject, one line (`CN=mx.example.org`).
    pub subject: Option<String>,
    /// Issuer, one line.
    pub issuer: Option<String>,
    /// Subject CN and DNS subjectAltNames.
    pub names: Vec<String>,
    /// notBefore as OpenSSL prints it.
    pub not_before: Option<String>,
    /// notAfter as OpenSSL prints it.
    pub not_after: Option<String>,
    /// Whole days until notAfter (negative when expired).
    pub days_left: Option<i64>,
    /// `RSA`, `EC`, `ED25519`, `DSA`, ...
    pub key_type: Option<String>,
    /// Key size in bits.
    pub key_bits: Option<u32>,
    /// EC curve name.
    pub curve: Option<String>,
    /// Signature algorithm of the certificate.
    pub signature_algorithm: Option<String>,
    /// Whether the key file's key belongs to the certificate.
    pub key_matches: Option<bool>,
    /// Whether OpenSSL accepts the key at the checked security level.
    pub seclevel_ok: Option<bool>,
    /// Everything wrong, most serious first.
    pub problems: Vec<CertProblem>,
}

impl CertReport {
    /// True when nothing is wrong (an expiry warning counts as wrong).
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// True when a key of `security_bits` passes OpenSSL's check at `seclevel`.
pub fn key_acceptable(security_bits: u32, seclevel: u32) -> bool {
    let idx = (seclevel as usize).min(MIN_SECURITY_BITS.len() - 1);
    security_bits >= MIN_SECURITY_BITS[idx]
}

/// Words describing what `seclevel` needs of a key.
pub fn key_requirement(seclevel: u32) -> String {
    let idx = (seclevel as usize).min(MIN_SECURITY_BITS.len() - 1);
    if idx == 0 {
        return "nothing".into();
    }
    format!(
        "RSA >= {} bits or EC >= {} bits",
        MIN_RSA_BITS[idx],
        MIN_SECURITY_BITS[idx] * 2
    )
}

fn read_file(path: &Path, problems: &mut Vec<CertProblem>) -> Option<Vec<u8>> {
    match pftls_safe_read::read(path, pftls_safe_read::Kind::Certificate)
        .map_err(pftls_safe_read::ReadError::into_reason_io)
    {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            problems.push(CertProblem::Missing {
                path: path.to_path_buf(),
            });
            None
        }
        Err(e) => {
            problems.push(CertProblem::Unreadable {
                path: path.to_path_buf(),
                error: e.to_string(),
            });
            None
        }
    }
}

fn key_type_name(id: Id) -> String {
    match id {
        Id::RSA => "RSA".into(),
        Id::RSA_PSS => "RSA-PSS".into(),
        Id::EC => "EC".into(),
        Id::DSA => "DSA".into(),
        Id::ED25519 => "ED25519".into(),
        Id::ED448 => "ED448".into(),
        other => format!("pkey-{}", other.as_raw()),
    }
}

fn name_line(name: &openssl::x509::X509NameRef) -> String {
    name.entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?");
            let val = e
                .data()
                .to_string()
                .map(|s| s.to_string())
                .unwrap_or_default();
            format!("{key}={}", crate::sanitize::printable(&val))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_key(report: &mut CertReport, key: &PKeyRef<Public>, check: &CertCheck) {
    let key_type = key_type_name(key.id());
    report.key_type = Some(key_type.clone());
    report.key_bits = Some(key.bits());
    if let Ok(ec) = key.ec_key() {
        report.curve = ec
            .group()
            .curve_name()
            .and_then(|n| n.short_name().ok())
            .map(str::to_string);
    }
    let ok = key_acceptable(key.security_bits(), check.seclevel);
    report.seclevel_ok = Some(ok);
    if !ok {
        report.problems.push(CertProblem::KeyTooSmall {
            key_type,
            bits: key.bits(),
            seclevel: check.seclevel,
            required: key_requirement(check.seclevel),
        });
    }
}

/// Checks a certificate file and its key file (`key = None`: the key is in the
/// certificate file, as with `smtpd_tls_chain_files` or a key_file defaulting to the
/// cert file). Never fails: everything wrong is listed in `problems`.
pub fn check_cert_files(cert: &Path, key: Option<&Path>, check: &CertCheck) -> CertReport {
    let key_path = key.unwrap_or(cert).to_path_buf();
    let mut report = CertReport {
        cert_path: cert.to_path_buf(),
        key_path: key_path.clone(),
        subject: None,
        issuer: None,
        names: Vec::new(),
        not_before: None,
        not_after: None,
        days_left: None,
        key_type: None,
        key_bits: None,
        curve: None,
        signature_algorithm: None,
        key_matches: None,
        seclevel_ok: None,
        problems: Vec::new(),
    };
    let Some(cert_pem) = read_file(cert, &mut report.problems) else {
        return report;
    };
    let x509 = match X509::from_pem(&cert_pem) {
        Ok(c) => c,
        Err(e) => {
            report.problems.push(CertProblem::Unparsable {
                path: cert.to_path_buf(),
                error: crate::reason_of(&e),
            });
            return report;
        }
    };
    inspect_cert(&mut report, &x509, check);

    let key_pem = if key_path == cert {
        Some(cert_pem)
    } else {
        read_file(&key_path, &mut report.problems)
    };
    if let Some(key_pem) = key_pem {
        match PKey::<Private>::private_key_from_pem(&key_pem) {
            Ok(private) => {
                let matches = x509
                    .public_key()
                    .map(|public| public.public_eq(&private))
                    .unwrap_or(false);
                report.key_matches = Some(matches);
                if !matches {
                    report.problems.insert(0, CertProblem::KeyMismatch);
                }
            }
            Err(e) => report.problems.push(CertProblem::Unparsable {
                path: key_path.clone(),
                error: format!("no private key: {}", crate::reason_of(&e)),
            }),
        }
    }
    report
}

fn inspect_cert(report: &mut CertReport, x509: &X509, check: &CertCheck) {
    report.subject = Some(name_line(x509.subject_name()));
    report.issuer = Some(name_line(x509.issuer_name()));
    for e in x509.subject_name().entries_by_nid(Nid::COMMONNAME) {
        if let Ok(s) = e.data().to_string() {
            report.names.push(crate::sanitize::printable(&s));
        }
    }
    if let Some(sans) = x509.subject_alt_names() {
        for san in sans.iter() {
            if let Some(dns) = san.dnsname() {
                let dns = crate::sanitize::printable(dns);
                if !report.names.contains(&dns) {
                    report.names.push(dns);
                }
            }
        }
    }
    report.not_before = Some(x509.not_before().to_string());
    report.not_after = Some(x509.not_after().to_string());
    let sig = x509
        .signature_algorithm()
        .object()
        .nid()
        .long_name()
        .unwrap_or("unknown")
        .to_string();
    report.signature_algorithm = Some(sig.clone());

    if let Ok(now) = Asn1Time::days_from_now(0) {
        if let Ok(diff) = now.diff(x509.not_after()) {
            let expired = diff.days < 0 || (diff.days == 0 && diff.secs < 0);
            report.days_left = Some(i64::from(diff.days));
            if expired {
                report.problems.push(CertProblem::Expired {
                    not_after: x509.not_after().to_string(),
                });
            } else if i64::from(diff.days) < check.warn_days {
                report.problems.push(CertProblem::Expiring {
                    days_left: i64::from(diff.days),
                });
            }
        }
        if let Ok(diff) = now.diff(x509.not_before()) {
            if diff.days > 0 || (diff.days == 0 && diff.secs > 0) {
                report.problems.push(CertProblem::NotYetValid {
                    not_before: x509.not_before().to_string(),
                });
            }
        }
    }
    let self_signed = x509.issuer_name().to_der().ok() == x509.subject_name().to_der().ok();
    let lower = sig.to_ascii_lowercase();
    if check.seclevel >= 1 && !self_signed && (lower.contains("sha1") || lower.contains("md5")) {
        report
            .problems
            .push(CertProblem::WeakSignature { algorithm: sig });
    }
    if let Ok(public) = x509.public_key() {
        describe_key(report, &public, check);
    }
}
