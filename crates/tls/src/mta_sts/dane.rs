//! The server's certificate chains as Postfix loads them (for TLSA `3 1 1` / `2 1 1` records
//! and the names MTA-STS senders check), and the `3 1 1` digest of a next key for rollover.

use std::path::{Path, PathBuf};

use openssl::pkey::PKey;
use openssl::sha::sha256;
use openssl::x509::X509;

use super::MtaStsError;
use crate::reason_of;
use crate::tlsa::{tlsa_3_1_1, TlsaRecord};

/// One server certificate with its issuer, as found in the configured files.
#[derive(Debug, Clone)]
pub struct ServerChain {
    /// The file holding the leaf certificate.
    pub file: PathBuf,
    /// The server (leaf) certificate.
    pub leaf: X509,
    /// The certificate that follows the leaf (its issuing CA), when there is one.
    pub issuer: Option<X509>,
}

/// One PEM block: its label (`CERTIFICATE`, `PRIVATE KEY`, ...), first line and text.
struct PemBlock {
    label: String,
    line: usize,
    text: String,
}

/// The PEM blocks of a file, in order; text outside blocks is ignored (as OpenSSL does).
fn pem_blocks(path: &Path, bytes: &[u8]) -> Result<Vec<PemBlock>, MtaStsError> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    let mut current: Option<PemBlock> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if let Some(block) = current.as_mut() {
            block.text.push_str(line);
            block.text.push('\n');
            if line
                .strip_prefix("-----END ")
                .and_then(|r| r.strip_suffix("-----"))
                == Some(block.label.as_str())
            {
                out.extend(current.take());
            }
        } else if let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|r| r.strip_suffix("-----"))
        {
            current = Some(PemBlock {
                label: label.to_string(),
                line: i + 1,
                text: format!("{line}\n"),
            });
        }
    }
    if let Some(block) = current {
        return Err(MtaStsError::Pem {
            path: path.to_path_buf(),
            line: Some(block.line),
            message: format!("PEM block \"{}\" has no END line", block.label),
        });
    }
    Ok(out)
}

fn read(path: &Path) -> Result<Vec<u8>, MtaStsError> {
    pftls_safe_read::read(path, pftls_safe_read::Kind::Certificate).map_err(|e| MtaStsError::Io {
        path: path.to_path_buf(),
        source: e.into_reason_io(),
    })
}

fn parse_cert(path: &Path, block: &PemBlock) -> Result<X509, MtaStsError> {
    X509::from_pem(block.text.as_bytes()).map_err(|e| MtaStsError::Pem {
        path: path.to_path_buf(),
        line: Some(block.line),
        message: format!("cannot parse the certificate: {}", reason_of(&e)),
    })
}

fn is_key_label(label: &str) -> bool {
    label.ends_with("PRIVATE KEY")
}

fn is_cert_label(label: &str) -> bool {
    matches!(
        label,
        "CERTIFICATE" | "TRUSTED CERTIFICATE" | "X509 CERTIFICATE"
    )
}

/// The server chains in `paths`, read in order as one sequence of PEM blocks, the way
/// Postfix reads `smtpd_tls_chain_files` (each private key followed by its certificate
/// chain; several files may hold one chain each, e.g. RSA and ECDSA) or
/// `smtpd_tls_cert_file` (the leaf, then its intermediates). The first certificate after a
/// key, or of a file list without keys, is a leaf; the certificate after it is its issuer.
/// A key placed after its certificate (cert file and key file in one) belongs to that chain.
pub fn server_chains(paths: &[PathBuf]) -> Result<Vec<ServerChain>, MtaStsError> {
    struct Partial {
        key: bool,
        chain: Option<ServerChain>,
    }
    let mut done: Vec<ServerChain> = Vec::new();
    let mut cur = Partial {
        key: false,
        chain: None,
    };
    for path in paths {
        let bytes = read(path)?;
        for block in pem_blocks(path, &bytes)? {
            if is_key_label(&block.label) {
                if cur.key {
                    // A second key starts the next chain.
                    done.extend(cur.chain.take());
                    cur = Partial {
                        key: true,
                        chain: None,
                    };
                } else {
                    cur.key = true;
                }
            } else if is_cert_label(&block.label) {
                let cert = parse_cert(path, &block)?;
                match cur.chain.as_mut() {
                    None => {
                        cur.chain = Some(ServerChain {
                            file: path.clone(),
                            leaf: cert,
                            issuer: None,
                        })
                    }
                    Some(c) if c.issuer.is_none() => c.issuer = Some(cert),
                    // Further CA certificates do not change the TLSA records.
                    Some(_) => {}
                }
            }
        }
    }
    done.extend(cur.chain.take());
    if done.is_empty() {
        let list: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(MtaStsError::Pem {
            path: PathBuf::from(list.join(", ")),
            line: None,
            message: "no PEM certificate found".into(),
        });
    }
    Ok(done)
}

/// The `3 1 1` record for the key in `path`: a certificate, a public key, or an unencrypted
/// private key (PEM; the first such block counts). Used to pre-publish the record of the next
/// key before a rollover. An encrypted key is refused rather than prompting for a passphrase.
pub fn key_file_record(path: &Path) -> Result<TlsaRecord, MtaStsError> {
    let bytes = read(path)?;
    let pem_err = |line: Option<usize>, message: String| MtaStsError::Pem {
        path: path.to_path_buf(),
        line,
        message,
    };
    for block in pem_blocks(path, &bytes)? {
        if is_cert_label(&block.label) {
            let cert = parse_cert(path, &block)?;
            return tlsa_3_1_1(&cert).map_err(|e| pem_err(Some(block.line), e.to_string()));
        }
        let spki = if block.label == "PUBLIC KEY" {
            PKey::public_key_from_pem(block.text.as_bytes())
                .and_then(|k| k.public_key_to_der())
                .map_err(|e| {
                    pem_err(
                        Some(block.line),
                        format!("cannot parse the public key: {}", reason_of(&e)),
                    )
                })?
        } else if block.label == "ENCRYPTED PRIVATE KEY" || block.text.contains("ENCRYPTED") {
            return Err(pem_err(
                Some(block.line),
                "the private key is encrypted; give its certificate or public key instead \
                 (openssl pkey -in KEY -pubout)"
                    .into(),
            ));
        } else if is_key_label(&block.label) {
            // The callback supplies no passphrase, so OpenSSL can never prompt on a terminal.
            PKey::private_key_from_pem_callback(block.text.as_bytes(), |_| Ok(0))
                .and_then(|k| k.public_key_to_der())
                .map_err(|e| {
                    pem_err(
                        Some(block.line),
                        format!("cannot parse the private key: {}", reason_of(&e)),
                    )
                })?
        } else {
            continue;
        };
        return Ok(TlsaRecord {
            usage: 3,
            selector: 1,
            matching: 1,
            data: sha256(&spki).iter().map(|b| format!("{b:02x}")).collect(),
        });
    }
    Err(pem_err(
        None,
        "no PEM certificate, public key or private key found".into(),
    ))
}
