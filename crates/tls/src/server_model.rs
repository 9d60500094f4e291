//! How Postfix's smtpd derives its TLS server settings from parameters (smtpd.c,
//! tls_server.c), and what a failed handshake means for mail at that level.

use std::path::PathBuf;

use serde::Serialize;

use crate::ciphers::postfix_cipher_string;
use crate::keys::CertSpec;
use crate::postfix_defaults::default_value;
use crate::protocols::{parse_protocols, ProtocolRange};
use crate::simulate::ServerTls;
use crate::{Baseline, PostfixVersion, Protocol, TlsError};

/// Effective smtpd TLS level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerLevel {
    /// No TLS offered.
    None,
    /// Opportunistic: STARTTLS offered, never required.
    May,
    /// Mandatory: STARTTLS required (or wrapper mode).
    Encrypt,
}

/// What a failed or impossible handshake means at `may`.
pub const FAILURE_MAY: &str = "sender falls back to plaintext";
/// What a failed or impossible handshake means at `encrypt` / wrapper mode.
pub const FAILURE_ENCRYPT: &str = "mail refused";
/// At `none` there is no handshake.
pub const FAILURE_NONE: &str = "no TLS offered: mail arrives in plaintext";

/// A certificate/key file pair smtpd loads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertKeyFiles {
    /// Certificate (chain) file.
    pub cert: PathBuf,
    /// Private key file.
    pub key: PathBuf,
    /// Which parameters named them (`smtpd_tls_cert_file/smtpd_tls_key_file`).
    pub source: String,
}

/// The server settings smtpd ends up with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerTlsModel {
    /// Effective level.
    pub level: ServerLevel,
    /// Which parameter decided the level.
    pub level_source: String,
    /// `smtpd_tls_wrappermode = yes` (port 465 style).
    pub wrappermode: bool,
    /// Mandatory settings in use (`encrypt` or wrapper mode).
    pub mandatory: bool,
    /// `smtpd_tls_auth_only` after Postfix's forcing (`|| enforce`).
    pub auth_only: bool,
    /// Cipher grade (`medium`).
    pub grade: String,
    /// Parameter holding the grade's list (`tls_medium_cipherlist`).
    pub cipherlist_parameter: String,
    /// Exclusions applied, space-separated, in Postfix's order.
    pub exclusions: String,
    /// The cipher string handed to OpenSSL.
    pub cipher_string: String,
    /// Parameter the protocol list came from.
    pub protocols_parameter: String,
    /// The protocol list value.
    pub protocols: String,
    /// What the list gives OpenSSL.
    pub protocol_range: ProtocolRange,
    /// Certificate/key pairs loaded (chain files count as pairs of the same file).
    pub certs: Vec<CertKeyFiles>,
    /// Meaning of a handshake failure at this level.
    pub failure_meaning: String,
    /// Things an administrator should know (ignored settings, missing certs, ...).
    pub warnings: Vec<String>,
    /// The server to simulate (None when smtpd would not offer TLS at all).
    pub server: Option<ServerTls>,
}

fn bool_param(name: &str, value: &str) -> Result<bool, TlsError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" => Ok(true),
        "no" | "false" | "0" => Ok(false),
        _ => Err(TlsError::Parameter {
            parameter: name.into(),
            value: value.into(),
            message: "bad boolean configuration (Postfix: fatal)".into(),
        }),
    }
}

fn list(value: &str) -> Vec<String> {
    value
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Models smtpd's TLS server settings. `params` returns a parameter's effective value
/// (defaults included, `$` already expanded); when it returns None the Postfix default for
/// `version` is used.
pub fn postfix_server_tls(
    params: &dyn Fn(&str) -> Option<String>,
    baseline: &Baseline,
    version: impl Into<PostfixVersion>,
) -> Result<ServerTlsModel, TlsError> {
    let version = version.into();
    let get = |name: &str| -> String {
        params(name)
            .or_else(|| default_value(name, version).map(str::to_string))
            .unwrap_or_default()
    };
    let mut warnings = Vec::new();

    let wrappermode = bool_param("smtpd_tls_wrappermode", &get("smtpd_tls_wrappermode"))?;
    let sec_level = get("smtpd_tls_security_level");
    let (level, level_source) = if wrappermode {
        if !sec_level.trim().is_empty() {
            warnings.push(format!(
                "smtpd_tls_security_level = {sec_level} is ignored: smtpd_tls_wrappermode = yes implies mandatory TLS"
            ));
        }
        (ServerLevel::Encrypt, "smtpd_tls_wrappermode")
    } else if !sec_level.trim().is_empty() {
        let lvl = match sec_level.trim().to_ascii_lowercase().as_str() {
            "none" => ServerLevel::None,
            "may" => ServerLevel::May,
            "encrypt" => ServerLevel::Encrypt,
            "fingerprint" | "verify" | "secure" => {
                warnings.push(format!(
                    "smtpd_tls_security_level: unsupported TLS level \"{sec_level}\", using \"encrypt\""
                ));
                ServerLevel::Encrypt
            }
            _ => {
                return Err(TlsError::Parameter {
                    parameter: "smtpd_tls_security_level".into(),
                    value: sec_level,
                    message: "Invalid TLS level (Postfix: fatal)".into(),
                })
            }
        };
        (lvl, "smtpd_tls_security_level")
    } else if bool_param("smtpd_enforce_tls", &get("smtpd_enforce_tls"))? {
        (ServerLevel::Encrypt, "smtpd_enforce_tls")
    } else if bool_param("smtpd_use_tls", &get("smtpd_use_tls"))? {
        (ServerLevel::May, "smtpd_use_tls")
    } else {
        (ServerLevel::None, "default")
    };
    let mandatory = level == ServerLevel::Encrypt;
    let auth_only = mandatory || bool_param("smtpd_tls_auth_only", &get("smtpd_tls_auth_only"))?;

    // Grade and cipher list.
    let grade_param = if mandatory {
        "smtpd_tls_mandatory_ciphers"
    } else {
        "smtpd_tls_ciphers"
    };
    let grade_value = get(grade_param).trim().to_ascii_lowercase();
    let v38 = version >= PostfixVersion::new(3, 8);
    let grade = match grade_value.as_str() {
        "high" | "medium" | "null" => grade_value.clone(),
        "low" | "export" if v38 => {
            warnings.push(format!(
                "{grade_param} = {grade_value} is treated as \"medium\" since Postfix 3.8"
            ));
            "medium".to_string()
        }
        "low" | "export" => grade_value.clone(),
        _ => {
            return Err(TlsError::Parameter {
                parameter: grade_param.into(),
                value: grade_value,
                message: "invalid cipher grade (Postfix disables TLS)".into(),
            })
        }
    };
    let cipherlist_parameter = format!("tls_{grade}_cipherlist");
    let grade_list = get(&cipherlist_parameter);
    let mut excl: Vec<String> = Vec::new();
    if mandatory {
        excl.extend(list(&get("smtpd_tls_mandatory_exclude_ciphers")));
    }
    excl.extend(list(&get("smtpd_tls_exclude_ciphers")));
    if bool_param("smtpd_tls_ask_ccert", &get("smtpd_tls_ask_ccert"))? {
        excl.push("aNULL".into());
    }
    let exclusions = excl.join(" ");
    let cipher_string = postfix_cipher_string(&grade_list, &exclusions)?;

    // Protocols.
    let protocols_parameter = if mandatory {
        "smtpd_tls_mandatory_protocols"
    } else {
        "smtpd_tls_protocols"
    };
    let protocols = get(protocols_parameter);
    let protocol_range = parse_protocols(&protocols, version)?;
    if protocol_range.has_hole() {
        warnings.push(format!(
            "{protocols_parameter} = {protocols} leaves a gap between enabled versions; simulated as one range"
        ));
    }
    let bounds = protocol_range.bounds();
    if bounds.is_none() {
        warnings.push(format!(
            "{protocols_parameter} = {protocols} enables no protocol"
        ));
    }

    // Certificates.
    let mut certs = Vec::new();
    let chain_files = list(&get("smtpd_tls_chain_files"));
    if !chain_files.is_empty() {
        for f in &chain_files {
            certs.push(CertKeyFiles {
                cert: f.into(),
                key: f.into(),
                source: "smtpd_tls_chain_files".into(),
            });
        }
        if !get("smtpd_tls_cert_file").trim().is_empty() {
            warnings
                .push("smtpd_tls_cert_file is ignored because smtpd_tls_chain_files is set".into());
        }
    } else {
        for (c, k) in [
            ("smtpd_tls_cert_file", "smtpd_tls_key_file"),
            ("smtpd_tls_eccert_file", "smtpd_tls_eckey_file"),
            ("smtpd_tls_dcert_file", "smtpd_tls_dkey_file"),
        ] {
            let cert = get(c).trim().to_string();
            if cert.is_empty() || cert.eq_ignore_ascii_case("none") {
                continue;
            }
            let key = params(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| cert.clone());
            certs.push(CertKeyFiles {
                cert: cert.into(),
                key: key.into(),
                source: format!("{c}/{k}"),
            });
        }
    }
    if certs.len() > 1 {
        warnings.push(format!(
            "{} certificates configured; the simulation uses the first ({})",
            certs.len(),
            certs[0].cert.display()
        ));
    }

    let failure_meaning = match level {
        ServerLevel::None => FAILURE_NONE,
        ServerLevel::May => FAILURE_MAY,
        ServerLevel::Encrypt => FAILURE_ENCRYPT,
    }
    .to_string();

    let server = match (level, certs.first()) {
        (ServerLevel::None, _) => None,
        _ if bounds.is_none() => None,
        (_, None) => {
            warnings.push(format!(
                "No server certs available. TLS won't be enabled ({})",
                if mandatory {
                    "every client is refused: 530/454"
                } else {
                    "STARTTLS is not offered; mail arrives in plaintext"
                }
            ));
            None
        }
        (_, Some(first)) => Some(ServerTls {
            ciphers: cipher_string.clone(),
            // Bounds at the extremes are the same as no bound; keep None for readability.
            min_protocol: bounds.map(|b| b.0).filter(|p| *p > Protocol::Ssl3),
            max_protocol: bounds.map(|b| b.1).filter(|p| *p < Protocol::Tls1_3),
            seclevel: baseline.seclevel,
            cert: CertSpec::Files {
                cert: first.cert.clone(),
                key: first.key.clone(),
            },
            prefer_server_order: bool_param(
                "tls_preempt_cipherlist",
                &get("tls_preempt_cipherlist"),
            )?,
            groups: server_groups(
                &get("smtpd_tls_eecdh_grade"),
                &get("tls_eecdh_auto_curves"),
                &get("tls_ffdhe_auto_groups"),
            ),
            tls13_ciphersuites: None,
        }),
    };

    Ok(ServerTlsModel {
        level,
        level_source: level_source.to_string(),
        wrappermode,
        mandatory,
        auth_only,
        grade,
        cipherlist_parameter,
        exclusions,
        cipher_string,
        protocols_parameter: protocols_parameter.to_string(),
        protocols,
        protocol_range,
        certs,
        failure_meaning,
        warnings,
        server,
    })
}

/// Groups smtpd configures: the ECDHE curves (unless `smtpd_tls_eecdh_grade = none`) and
/// the FFDHE groups, in that order. None when both are empty (library default).
fn server_groups(eecdh_grade: &str, curves: &str, ffdhe: &str) -> Option<String> {
    let mut groups: Vec<String> = Vec::new();
    if !eecdh_grade.trim().eq_ignore_ascii_case("none") {
        groups.extend(
            list(curves)
                .into_iter()
                .filter(|g| !g.starts_with('?') && g != "DEFAULT"),
        );
    }
    groups.extend(list(ffdhe));
    if groups.is_empty() {
        None
    } else {
        Some(groups.join(":"))
    }
}
