//! Reads the system crypto-policies state (`/etc/crypto-policies`) and derives the
//! [`Baseline`] Postfix runs under: security level, protocol floor, and the cipher
//! exclusions that make Postfix's own lists match what the policy allows.
//!
//! Postfix replaces the policy's `CipherString` with its own lists and its own protocol
//! range, but keeps the `@SECLEVEL` (reference §2.2). So the policy binds Postfix through
//! the seclevel only; everything else must be expressed in Postfix parameters.

use std::path::{Path, PathBuf};

use openssl::ssl::{SslContextBuilder, SslMethod};
use serde::Serialize;

use crate::ciphers::{supported_ciphers, EvalContext};
use crate::error::reason_of;
use crate::{Protocol, TlsError};

/// Postfix's medium grade list up to 3.7 (a superset of the 3.8+ list), used to find which
/// ciphers Postfix would enable that the policy forbids.
pub const POSTFIX_MEDIUM_37: &str = "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH";

/// The system policy parsed from a crypto-policies tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CryptoPolicy {
    /// Root of the tree (normally `/etc/crypto-policies`).
    pub root: PathBuf,
    /// The selected policy string from `config` (`DEFAULT:NO-SHA1`).
    pub config: String,
    /// Base policy (`DEFAULT`).
    pub policy: String,
    /// Sub-policies (modules) after the first `:` (`["NO-SHA1"]`).
    pub subpolicies: Vec<String>,
    /// The applied policy from `state/current`, when present.
    pub current: Option<String>,
    /// `CipherString` from `back-ends/opensslcnf.config`.
    pub cipher_string: String,
    /// `@SECLEVEL` of the CipherString (OpenSSL's build default when absent).
    pub seclevel: u32,
    /// `Ciphersuites` (TLS 1.3), when present.
    pub ciphersuites: Option<String>,
    /// `TLS.MinProtocol`, when present.
    pub min_protocol: Option<Protocol>,
    /// `TLS.MaxProtocol`, when present.
    pub max_protocol: Option<Protocol>,
    /// `Groups`, when present.
    pub groups: Option<String>,
    /// `SignatureAlgorithms`, when present.
    pub signature_algorithms: Option<String>,
    /// Content of the optional legacy back-end `back-ends/openssl.config` (a bare cipher string).
    pub openssl_config: Option<String>,
}

/// What the system imposes on Postfix's TLS, from crypto-policies or OpenSSL's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Baseline {
    /// `crypto-policies DEFAULT` (the applied policy string) or
    /// `OpenSSL defaults (no crypto-policies)`.
    pub source: String,
    /// Security level every Postfix SSL context starts with.
    pub seclevel: u32,
    /// Protocol floor the system asks for (Postfix overrides it; policies should restate it).
    pub min_protocol: Protocol,
    /// The policy's CipherString (None without crypto-policies).
    pub cipher_string: Option<String>,
    /// Postfix exclusion tokens (for `smtpd_tls_exclude_ciphers` / `_mandatory_`) that remove
    /// exactly the Postfix-medium ciphers the policy does not allow, e.g. `kRSA` under FIPS.
    pub forbidden: Vec<String>,
}

impl CryptoPolicy {
    /// Loads the tree at `root`. `Ok(None)` when `root` does not exist (Debian, Ubuntu).
    /// A tree that exists but lacks `config` or `back-ends/opensslcnf.config`, or has a
    /// malformed line, is an error naming the file (and line).
    pub fn load(root: &Path) -> Result<Option<CryptoPolicy>, TlsError> {
        if !root.exists() {
            return Ok(None);
        }
        let config_path = root.join("config");
        let config = read_policy_name(&config_path)?.ok_or_else(|| TlsError::Parse {
            path: config_path.clone(),
            line: 1,
            message: "no policy name in file".into(),
        })?;
        let current_path = root.join("state").join("current");
        let current = if current_path.exists() {
            read_policy_name(&current_path)?
        } else {
            None
        };
        let mut parts = config.split(':');
        let policy = parts.next().unwrap_or_default().to_string();
        let subpolicies = parts.map(str::to_string).collect();

        let cnf_path = root.join("back-ends").join("opensslcnf.config");
        let cnf = parse_opensslcnf(&cnf_path)?;

        let legacy_path = root.join("back-ends").join("openssl.config");
        let openssl_config = if legacy_path.exists() {
            let text = read(&legacy_path)?;
            text.lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
        } else {
            None
        };

        Ok(Some(CryptoPolicy {
            root: root.to_path_buf(),
            config,
            policy,
            subpolicies,
            current,
            cipher_string: cnf.cipher_string,
            seclevel: cnf.seclevel,
            ciphersuites: cnf.ciphersuites,
            min_protocol: cnf.min_protocol,
            max_protocol: cnf.max_protocol,
            groups: cnf.groups,
            signature_algorithms: cnf.signature_algorithms,
            openssl_config,
        }))
    }

    /// The policy in force: `state/current` when present, else `config`.
    pub fn name(&self) -> &str {
        self.current.as_deref().unwrap_or(&self.config)
    }

    /// False when `config` names a different policy than `state/current` (selected with
    /// `update-crypto-policies --set` but the back-ends were not regenerated).
    pub fn applied(&self) -> bool {
        !matches!(self.current.as_deref(), Some(c) if c != self.config)
    }

    /// The baseline this policy imposes on Postfix, with `forbidden` computed by OpenSSL.
    pub fn baseline(&self) -> Result<Baseline, TlsError> {
        let min = self.min_protocol.unwrap_or(Protocol::Tls1_2);
        let forbidden =
            forbidden_exclusions(&self.cipher_string, self.seclevel, min, self.max_protocol)?;
        Ok(Baseline {
            source: format!("crypto-policies {}", self.name()),
            seclevel: self.seclevel,
            min_protocol: min,
            cipher_string: Some(self.cipher_string.clone()),
            forbidden,
        })
    }
}

impl Baseline {
    /// OpenSSL's own defaults when there is no crypto-policies tree: the security level and
    /// protocol floor of a fresh context (which applies the system `openssl.cnf`, as Postfix's
    /// contexts do). Without a configured floor, OpenSSL's is TLSv1 (SSLv3 is not built).
    pub fn openssl_default() -> Result<Baseline, TlsError> {
        let mut builder =
            SslContextBuilder::new(SslMethod::tls()).map_err(|e| TlsError::OpenSsl {
                context: "creating an SSL context".into(),
                reason: reason_of(&e),
            })?;
        let min = builder
            .min_proto_version()
            .and_then(protocol_of_version)
            .unwrap_or(Protocol::Tls1);
        let ctx = builder.build();
        Ok(Baseline {
            source: "OpenSSL defaults (no crypto-policies)".into(),
            seclevel: ctx.security_level(),
            min_protocol: min,
            cipher_string: None,
            forbidden: Vec::new(),
        })
    }

    /// The baseline for a crypto-policies root: the policy's if the tree exists, else
    /// OpenSSL's defaults.
    pub fn load(root: &Path) -> Result<Baseline, TlsError> {
        match CryptoPolicy::load(root)? {
            Some(policy) => policy.baseline(),
            None => Baseline::openssl_default(),
        }
    }
}

fn protocol_of_version(v: openssl::ssl::SslVersion) -> Option<Protocol> {
    Protocol::ALL
        .into_iter()
        .find(|p| p.to_ssl_version() == Some(v))
}

fn read(path: &Path) -> Result<String, TlsError> {
    pftls_safe_read::read_to_string(path, pftls_safe_read::Kind::Text)
        .map_err(|e| TlsError::io(path, e.into_reason_io()))
}

/// First non-comment line of `config` / `state/current`, validated as `NAME(:MODULE)*`.
fn read_policy_name(path: &Path) -> Result<Option<String>, TlsError> {
    let text = read(path)?;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let valid = line.split(':').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        });
        if !valid {
            return Err(TlsError::Parse {
                path: path.to_path_buf(),
                line: i + 1,
                message: format!("invalid policy name \"{line}\" (expected POLICY[:MODULE...])"),
            });
        }
        return Ok(Some(line.to_string()));
    }
    Ok(None)
}

struct OpensslCnf {
    cipher_string: String,
    seclevel: u32,
    ciphersuites: Option<String>,
    min_protocol: Option<Protocol>,
    max_protocol: Option<Protocol>,
    groups: Option<String>,
    signature_algorithms: Option<String>,
}

/// Parses the key = value lines of `opensslcnf.config` that precede its first section
/// header (they land in openssl.cnf's `[crypto_policy]` section through `.include`).
fn parse_opensslcnf(path: &Path) -> Result<OpensslCnf, TlsError> {
    let text = read(path)?;
    let err = |line: usize, message: String| TlsError::Parse {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut cipher: Option<(String, usize)> = None;
    let mut cnf = OpensslCnf {
        cipher_string: String::new(),
        seclevel: 0,
        ciphersuites: None,
        min_protocol: None,
        max_protocol: None,
        groups: None,
        signature_algorithms: None,
    };
    let mut in_policy_section = true;
    for (i, raw) in text.lines().enumerate() {
        let lineno = i + 1;
        // OpenSSL config comments start at an unescaped '#'.
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() || line.starts_with('.') {
            continue;
        }
        if line.starts_with('[') {
            if !line.ends_with(']') || line.len() < 3 {
                return Err(err(lineno, format!("malformed section header \"{line}\"")));
            }
            in_policy_section = false;
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(err(
                lineno,
                format!("expected \"key = value\", found \"{line}\""),
            ));
        };
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() {
            return Err(err(lineno, "missing key before '='".into()));
        }
        if !in_policy_section {
            continue;
        }
        let protocol = |v: &str| {
            Protocol::from_name(v)
                .ok_or_else(|| err(lineno, format!("unknown protocol \"{v}\" for {key}")))
        };
        match key.to_ascii_lowercase().as_str() {
            "cipherstring" => cipher = Some((value.to_string(), lineno)),
            "ciphersuites" => cnf.ciphersuites = Some(value.to_string()),
            "tls.minprotocol" | "minprotocol" => cnf.min_protocol = Some(protocol(value)?),
            "tls.maxprotocol" | "maxprotocol" => cnf.max_protocol = Some(protocol(value)?),
            "groups" | "curves" => cnf.groups = Some(value.to_string()),
            "signaturealgorithms" => cnf.signature_algorithms = Some(value.to_string()),
            _ => {}
        }
    }
    let (cipher_string, lineno) =
        cipher.ok_or_else(|| err(1, "no CipherString line in the policy section".into()))?;
    cnf.seclevel = match seclevel_of(&cipher_string) {
        Some(Ok(level)) => level,
        Some(Err(bad)) => return Err(err(lineno, format!("invalid @SECLEVEL \"{bad}\""))),
        None => default_seclevel()?,
    };
    // Reject strings OpenSSL cannot use, naming the line.
    let ctx = EvalContext {
        seclevel: cnf.seclevel,
        min_protocol: cnf.min_protocol,
        max_protocol: cnf.max_protocol,
    };
    if let Err(e) = supported_ciphers(&cipher_string, ctx) {
        return Err(err(
            lineno,
            format!("CipherString rejected by OpenSSL: {e}"),
        ));
    }
    cnf.cipher_string = cipher_string;
    Ok(cnf)
}

/// The `@SECLEVEL=n` of a cipher string (the last one wins in OpenSSL).
fn seclevel_of(cipher_string: &str) -> Option<Result<u32, String>> {
    cipher_string
        .split([':', ',', ' '])
        .rev()
        .find_map(|t| t.strip_prefix("@SECLEVEL="))
        .map(|v| match v.parse::<u32>() {
            Ok(n) if n <= 5 => Ok(n),
            _ => Err(v.to_string()),
        })
}

fn default_seclevel() -> Result<u32, TlsError> {
    SslContextBuilder::new(SslMethod::tls())
        .map(|b| b.build().security_level())
        .map_err(|e| TlsError::openssl("creating an SSL context", &e))
}

/// Candidate Postfix exclusion tokens, most meaningful first. Only tokens that remove
/// nothing the policy allows are used.
const CANDIDATE_TOKENS: &[&str] = &[
    "aNULL", "eNULL", "kRSA", "aDSS", "kDHE", "CBC", "SHA1", "SHA256", "SHA384", "AES128",
    "CHACHA20", "CAMELLIA", "ARIA", "AESCCM8", "AESCCM", "SEED", "IDEA", "3DES", "RC4", "MD5",
    "PSK", "SRP", "kECDHE", "aECDSA", "aRSA", "AES256",
];

/// Postfix exclusion tokens that remove from Postfix's medium list exactly the TLS <= 1.2
/// ciphers `policy_cipher_string` does not allow (at `seclevel`, for the policy's protocol
/// range). Computed with OpenSSL: a token is used only if everything it removes is
/// forbidden; what no token covers is excluded by cipher name.
pub fn forbidden_exclusions(
    policy_cipher_string: &str,
    seclevel: u32,
    min: Protocol,
    max: Option<Protocol>,
) -> Result<Vec<String>, TlsError> {
    let ctx = EvalContext {
        seclevel,
        min_protocol: Some(min),
        max_protocol: max,
    };
    let names = |s: &str| -> Result<Vec<String>, TlsError> {
        Ok(supported_ciphers(s, ctx)?
            .into_iter()
            .filter(|c| !c.is_tls13())
            .map(|c| c.name)
            .collect())
    };
    let medium = names(POSTFIX_MEDIUM_37)?;
    let allowed = names(policy_cipher_string)?;
    let forbidden: Vec<String> = medium
        .iter()
        .filter(|c| !allowed.contains(c))
        .cloned()
        .collect();
    let mut uncovered = forbidden.clone();
    let mut tokens: Vec<String> = Vec::new();
    for tok in CANDIDATE_TOKENS {
        if uncovered.is_empty() {
            break;
        }
        // An error means the token excluded everything: then "removed" is all of medium.
        let after: Vec<String> = names(&format!("{POSTFIX_MEDIUM_37}:!{tok}")).unwrap_or_default();
        let removed: Vec<&String> = medium.iter().filter(|c| !after.contains(c)).collect();
        let safe = removed.iter().all(|c| forbidden.contains(c));
        let useful = removed.iter().any(|c| uncovered.contains(c));
        if safe && useful {
            uncovered.retain(|c| !removed.contains(&c));
            tokens.push((*tok).to_string());
        }
    }
    tokens.extend(uncovered);
    // Key exchanges the policy removes by name (FUTURE's `-kRSA`) are stated too, even when its
    // security level already drops them: Postfix's exclusions should carry the policy on their
    // own, e.g. if an admin lowers the level through tls_config_file.
    for kx in ["kRSA", "kDHE", "kEDH", "kECDHE"] {
        let named = policy_cipher_string
            .split(':')
            .any(|t| t == format!("-{kx}") || t == format!("!{kx}"));
        if named && !tokens.iter().any(|t| t == kx) {
            let after: Vec<String> =
                names(&format!("{POSTFIX_MEDIUM_37}:!{kx}")).unwrap_or_default();
            let safe = medium
                .iter()
                .filter(|c| !after.contains(c))
                .all(|c| forbidden.contains(c));
            if safe {
                tokens.insert(0, kx.to_string());
            }
        }
    }
    Ok(tokens)
}
