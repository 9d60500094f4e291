//! DANE TLSA associations (RFC 6698/7671): `3 1 1` (SHA-256 of the leaf's
//! SubjectPublicKeyInfo), `3 0 1` (SHA-256 of the whole leaf certificate) and `2 1 1` (SHA-256
//! of the issuing CA's SubjectPublicKeyInfo), and the zone-file line that publishes them.

use std::path::Path;

use openssl::sha::sha256;
use openssl::x509::{X509Ref, X509};
use serde::Serialize;

use crate::TlsError;

/// One TLSA record's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsaRecord {
    /// Certificate usage (3 = DANE-EE, 2 = DANE-TA).
    pub usage: u8,
    /// Selector (1 = SubjectPublicKeyInfo, 0 = full certificate).
    pub selector: u8,
    /// Matching type (1 = SHA-256).
    pub matching: u8,
    /// Lower-case hex digest.
    pub data: String,
}

impl TlsaRecord {
    /// The record data as `dig` prints it: `3 1 1 <hex>`.
    pub fn rdata(&self) -> String {
        format!(
            "{} {} {} {}",
            self.usage, self.selector, self.matching, self.data
        )
    }

    /// The zone-file line for an MX host and port: `_25._tcp.mx.example.org. IN TLSA 3 1 1 <hex>`.
    /// A trailing dot on `host` is accepted.
    pub fn zone_line(&self, host: &str, port: u16) -> String {
        format!(
            "_{port}._tcp.{}. IN TLSA {}",
            host.trim_end_matches('.'),
            self.rdata()
        )
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn spki_der(cert: &X509Ref) -> Result<Vec<u8>, TlsError> {
    cert.public_key()
        .and_then(|k| k.public_key_to_der())
        .map_err(|e| TlsError::openssl("reading the certificate's public key", &e))
}

/// `3 1 1` for a server (leaf) certificate.
pub fn tlsa_3_1_1(cert: &X509Ref) -> Result<TlsaRecord, TlsError> {
    Ok(TlsaRecord {
        usage: 3,
        selector: 1,
        matching: 1,
        data: hex(&sha256(&spki_der(cert)?)),
    })
}

/// `3 0 1` for a server (leaf) certificate (changes with every renewal).
pub fn tlsa_3_0_1(cert: &X509Ref) -> Result<TlsaRecord, TlsError> {
    let der = cert
        .to_der()
        .map_err(|e| TlsError::openssl("encoding the certificate", &e))?;
    Ok(TlsaRecord {
        usage: 3,
        selector: 0,
        matching: 1,
        data: hex(&sha256(&der)),
    })
}

/// `2 1 1` for an issuing CA certificate.
pub fn tlsa_2_1_1(issuer: &X509Ref) -> Result<TlsaRecord, TlsError> {
    Ok(TlsaRecord {
        usage: 2,
        ..tlsa_3_1_1(issuer)?
    })
}

/// All certificates of a PEM file, in file order (private-key blocks are skipped).
pub fn read_certs(path: &Path) -> Result<Vec<X509>, TlsError> {
    let pem = pftls_safe_read::read(path, pftls_safe_read::Kind::Certificate)
        .map_err(|e| TlsError::io(path, e.into_reason_io()))?;
    let certs = X509::stack_from_pem(&pem).map_err(|e| {
        TlsError::openssl(format!("{}: parsing PEM certificates", path.display()), &e)
    })?;
    if certs.is_empty() {
        return Err(TlsError::OpenSsl {
            context: format!("{}: parsing PEM certificates", path.display()),
            reason: "no certificate in file".into(),
        });
    }
    Ok(certs)
}

/// The recommended records for a certificate chain file: `3 1 1` for the leaf (first
/// certificate) and `2 1 1` for its issuer (second certificate) when the file has one.
pub fn tlsa_for_chain_file(path: &Path) -> Result<Vec<TlsaRecord>, TlsError> {
    let certs = read_certs(path)?;
    let mut out = Vec::new();
    if let Some(leaf) = certs.first() {
        out.push(tlsa_3_1_1(leaf)?);
    }
    if let Some(issuer) = certs.get(1) {
        out.push(tlsa_2_1_1(issuer)?);
    }
    Ok(out)
}
