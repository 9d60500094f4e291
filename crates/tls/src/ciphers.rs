//! Evaluates Postfix cipher settings with the system libssl, exactly as Postfix builds them.
//!
//! Postfix (`tls_set_ciphers()` in src/tls/tls_misc.c) takes the grade's list
//! (`tls_<grade>_cipherlist`), appends `":!" + token` for every exclusion token (split on
//! comma, whitespace and colon; tokens starting with `!+-@` are refused) and hands the result
//! to `SSL_set_cipher_list()`. What OpenSSL then really enables also depends on the security
//! level and the protocol range; `SSL_get1_supported_ciphers()` applies both.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use openssl::ssl::{Ssl, SslContext, SslContextBuilder, SslMethod};
use serde::Serialize;

use crate::error::reason_of;
use crate::{Protocol, TlsError};

/// One cipher OpenSSL would use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CipherInfo {
    /// OpenSSL name (`ECDHE-RSA-AES256-GCM-SHA384`, `TLS_AES_256_GCM_SHA384`).
    pub name: String,
    /// IANA/RFC name (`TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384`), when libssl knows it.
    pub standard_name: Option<String>,
    /// Lowest protocol the cipher exists in, as OpenSSL prints it (`SSLv3`, `TLSv1.2`, `TLSv1.3`).
    pub protocol: String,
    /// Secret bits of the bulk cipher.
    pub bits: i32,
    /// Key exchange (`ECDH`, `DH`, `RSA`, `any` for TLS 1.3).
    pub kx: String,
    /// Authentication (`RSA`, `ECDSA`, `any` for TLS 1.3).
    pub au: String,
    /// Encryption as OpenSSL describes it (`AESGCM(256)`).
    pub enc: String,
    /// MAC (`AEAD`, `SHA1`, `SHA256`, ...).
    pub mac: String,
}

impl CipherInfo {
    /// True for TLS 1.3 suites, which Postfix's cipher lists do not control.
    pub fn is_tls13(&self) -> bool {
        self.protocol == "TLSv1.3"
    }
}

/// Settings under which a cipher string is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvalContext {
    /// OpenSSL security level (the system's, e.g. from crypto-policies).
    pub seclevel: u32,
    /// Lowest protocol (None: library minimum).
    pub min_protocol: Option<Protocol>,
    /// Highest protocol (None: library maximum).
    pub max_protocol: Option<Protocol>,
}

/// Splits a Postfix exclusion list like Postfix does and refuses tokens starting with one
/// of `!+-@` ("invalid unary '!+-@' in cipher exclusion").
pub fn exclusion_tokens(exclusions: &str) -> Result<Vec<String>, TlsError> {
    exclusions
        .split(|c: char| c == ',' || c == ':' || c.is_ascii_whitespace())
        .filter(|t| !t.is_empty())
        .map(|t| {
            if t.starts_with(['!', '+', '-', '@']) {
                Err(TlsError::CipherExclusion {
                    token: t.to_string(),
                })
            } else {
                Ok(t.to_string())
            }
        })
        .collect()
}

/// The cipher string Postfix hands to OpenSSL: the grade list plus `:!token` per exclusion.
pub fn postfix_cipher_string(grade_list: &str, exclusions: &str) -> Result<String, TlsError> {
    let mut s = grade_list.trim().to_string();
    for tok in exclusion_tokens(exclusions)? {
        s.push_str(":!");
        s.push_str(&tok);
    }
    Ok(s)
}

/// A base context shared by all evaluations: creating an `SSL_CTX` is the expensive part
/// in OpenSSL 3, while per-`SSL` settings are cheap. It is created like Postfix's, so the
/// system OpenSSL configuration is applied; every setting we depend on is overridden per
/// `SSL` below.
fn base_context() -> Result<&'static SslContext, TlsError> {
    static BASE: OnceLock<Result<SslContext, String>> = OnceLock::new();
    BASE.get_or_init(|| {
        SslContextBuilder::new(SslMethod::tls())
            .map(|b| b.build())
            .map_err(|e| reason_of(&e))
    })
    .as_ref()
    .map_err(|reason| TlsError::OpenSsl {
        context: "creating an SSL context".into(),
        reason: reason.clone(),
    })
}

/// The ciphers OpenSSL really enables for `cipher_string` at the given security level and
/// protocol range, in OpenSSL's preference order (TLS 1.3 suites first when in range).
pub fn supported_ciphers(
    cipher_string: &str,
    ctx: EvalContext,
) -> Result<Vec<CipherInfo>, TlsError> {
    let base = base_context()?;
    let mut ssl = Ssl::new(base).map_err(|e| TlsError::openssl("creating an SSL object", &e))?;
    ssl.set_security_level(ctx.seclevel);
    // Version bounds first: the cipher string's @SECLEVEL (if any) must win over ours, and
    // protocol bounds do not interact with it.
    ssl.set_min_proto_version(ctx.min_protocol.and_then(Protocol::to_ssl_version))
        .map_err(|e| TlsError::openssl("setting the minimum protocol", &e))?;
    ssl.set_max_proto_version(ctx.max_protocol.and_then(Protocol::to_ssl_version))
        .map_err(|e| TlsError::openssl("setting the maximum protocol", &e))?;
    ssl.set_cipher_list(cipher_string)
        .map_err(|e| TlsError::CipherList {
            cipher_string: cipher_string.to_string(),
            reason: reason_of(&e),
        })?;
    let list = crate::ffi::with_supported_ciphers(&ssl, |stack| {
        stack.iter().map(cipher_info).collect::<Vec<_>>()
    });
    Ok(list.unwrap_or_default())
}

/// Evaluates a Postfix setting: grade list (the value of `tls_<grade>_cipherlist`) plus
/// exclusions, under `ctx`.
pub fn evaluate_postfix(
    grade_list: &str,
    exclusions: &str,
    ctx: EvalContext,
) -> Result<Vec<CipherInfo>, TlsError> {
    supported_ciphers(&postfix_cipher_string(grade_list, exclusions)?, ctx)
}

/// Every TLS <= 1.2 cipher name this libssl knows (any security level), for filtering
/// client profiles down to what can be expressed here.
pub fn known_cipher_names() -> &'static BTreeSet<String> {
    static NAMES: OnceLock<BTreeSet<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let ctx = EvalContext {
            seclevel: 0,
            min_protocol: None,
            max_protocol: Some(Protocol::Tls1_2),
        };
        // Supported ciphers would drop PSK/SRP (no callbacks) which no client profile
        // needs anyway; what matters is that every real name is present.
        supported_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0", ctx)
            .map(|v| v.into_iter().map(|c| c.name).collect())
            .unwrap_or_default()
    })
}

fn cipher_info(c: &openssl::ssl::SslCipherRef) -> CipherInfo {
    let desc = c.description();
    let field = |key: &str| {
        desc.split_whitespace()
            .find_map(|f| f.strip_prefix(key))
            .unwrap_or("")
            .to_string()
    };
    CipherInfo {
        name: c.name().to_string(),
        standard_name: c.standard_name().map(str::to_string),
        protocol: c.version().to_string(),
        bits: c.bits().secret,
        kx: field("Kx="),
        au: field("Au="),
        enc: field("Enc="),
        mac: field("Mac="),
    }
}

/// How two cipher sets differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CipherComparison {
    /// Ciphers B allows that A does not (what moving from B to A loses).
    pub lost: Vec<String>,
    /// Ciphers A allows that B does not.
    pub gained: Vec<String>,
    /// True when A loses at least one cipher B has.
    pub a_narrower: bool,
}

/// Compares setting A with setting B (e.g. planned vs current).
pub fn compare(a: &[CipherInfo], b: &[CipherInfo]) -> CipherComparison {
    let a_names: BTreeSet<&str> = a.iter().map(|c| c.name.as_str()).collect();
    let b_names: BTreeSet<&str> = b.iter().map(|c| c.name.as_str()).collect();
    let lost: Vec<String> = b
        .iter()
        .filter(|c| !a_names.contains(c.name.as_str()))
        .map(|c| c.name.clone())
        .collect();
    let gained: Vec<String> = a
        .iter()
        .filter(|c| !b_names.contains(c.name.as_str()))
        .map(|c| c.name.clone())
        .collect();
    CipherComparison {
        a_narrower: !lost.is_empty(),
        lost,
        gained,
    }
}
