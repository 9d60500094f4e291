//! Server certificates for simulations: PEM files, or generated self-signed ones (cached,
//! because RSA key generation takes tens to hundreds of milliseconds).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::SubjectAlternativeName;
use openssl::x509::{X509NameBuilder, X509};
use serde::{Deserialize, Serialize};

use crate::TlsError;

/// A key to generate.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeySpec {
    /// RSA with this many bits.
    Rsa(u32),
    /// EC on this curve (`prime256v1`/`P-256`, `secp384r1`/`P-384`, `secp521r1`/`P-521`).
    Ec(String),
}

/// Where the server's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CertSpec {
    /// A PEM certificate (chain) file and a PEM key file (may be the same file).
    Files {
        /// Certificate file; the first certificate is the leaf, the rest the chain.
        cert: PathBuf,
        /// Private key file.
        key: PathBuf,
    },
    /// A generated self-signed certificate for `mx.example.org`.
    Generated(KeySpec),
}

/// A certificate with its key and any chain certificates.
#[derive(Clone)]
pub struct CertKey {
    /// The leaf certificate.
    pub cert: X509,
    /// Chain certificates after the leaf.
    pub chain: Vec<X509>,
    /// The private key.
    pub key: PKey<Private>,
}

fn curve_nid(name: &str) -> Option<Nid> {
    Some(match name.to_ascii_lowercase().as_str() {
        "prime256v1" | "p-256" | "secp256r1" => Nid::X9_62_PRIME256V1,
        "secp384r1" | "p-384" => Nid::SECP384R1,
        "secp521r1" | "p-521" => Nid::SECP521R1,
        _ => return None,
    })
}

/// Generates a key of the given type.
pub fn generate_key(spec: &KeySpec) -> Result<PKey<Private>, TlsError> {
    let ossl =
        |e: openssl::error::ErrorStack| TlsError::openssl(format!("generating {spec:?}"), &e);
    match spec {
        KeySpec::Rsa(bits) => {
            if *bits < 512 || *bits > 16384 {
                return Err(TlsError::OpenSsl {
                    context: format!("generating {spec:?}"),
                    reason: "RSA size must be between 512 and 16384 bits".into(),
                });
            }
            PKey::from_rsa(Rsa::generate(*bits).map_err(ossl)?).map_err(ossl)
        }
        KeySpec::Ec(curve) => {
            let nid = curve_nid(curve).ok_or_else(|| TlsError::OpenSsl {
                context: format!("generating {spec:?}"),
                reason: format!("unknown curve \"{curve}\""),
            })?;
            let group = EcGroup::from_curve_name(nid).map_err(ossl)?;
            PKey::from_ec_key(EcKey::generate(&group).map_err(ossl)?).map_err(ossl)
        }
    }
}

/// Builds a self-signed certificate for `key`, valid from `not_before_days` (relative to
/// now, may be negative) for `valid_days`, with CN and DNS SAN `host`, signed with SHA-256.
pub fn self_signed(
    key: &PKey<Private>,
    host: &str,
    not_before_days: i64,
    valid_days: i64,
) -> Result<X509, TlsError> {
    let ossl = |e: openssl::error::ErrorStack| TlsError::openssl("building a certificate", &e);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let start = now.saturating_add(not_before_days.saturating_mul(86_400));
    let end = start.saturating_add(valid_days.saturating_mul(86_400));
    let mut name = X509NameBuilder::new().map_err(ossl)?;
    name.append_entry_by_nid(Nid::COMMONNAME, host)
        .map_err(ossl)?;
    let name = name.build();
    let mut b = X509::builder().map_err(ossl)?;
    b.set_version(2).map_err(ossl)?;
    let mut serial = BigNum::new().map_err(ossl)?;
    serial
        .rand(64, MsbOption::MAYBE_ZERO, false)
        .map_err(ossl)?;
    let serial = serial.to_asn1_integer().map_err(ossl)?;
    b.set_serial_number(&serial).map_err(ossl)?;
    b.set_subject_name(&name).map_err(ossl)?;
    b.set_issuer_name(&name).map_err(ossl)?;
    b.set_pubkey(key).map_err(ossl)?;
    let (start, end) = (
        Asn1Time::from_unix(start).map_err(ossl)?,
        Asn1Time::from_unix(end).map_err(ossl)?,
    );
    b.set_not_before(&start).map_err(ossl)?;
    b.set_not_after(&end).map_err(ossl)?;
    let san = SubjectAlternativeName::new()
        .dns(host)
        .build(&b.x509v3_context(None, None))
        .map_err(ossl)?;
    b.append_extension(san).map_err(ossl)?;
    b.sign(key, MessageDigest::sha256()).map_err(ossl)?;
    Ok(b.build())
}

/// A cached generated key + self-signed certificate for `spec`. RSA-2048, the common case,
/// is the built-in pair [`BUILTIN_RSA2048`] instead: only the key's type and size matter to a
/// simulated handshake, and generating an RSA key costs 0.1 to 1 s of CPU.
pub fn generated(spec: &KeySpec) -> Result<CertKey, TlsError> {
    if *spec == KeySpec::Rsa(2048) {
        let ossl = |e: openssl::error::ErrorStack| {
            TlsError::openssl("loading the built-in RSA-2048 pair", &e)
        };
        return Ok(CertKey {
            cert: X509::from_pem(BUILTIN_RSA2048.as_bytes()).map_err(ossl)?,
            chain: Vec::new(),
            key: PKey::private_key_from_pem(BUILTIN_RSA2048.as_bytes()).map_err(ossl)?,
        });
    }
    static CACHE: OnceLock<Mutex<HashMap<KeySpec, CertKey>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(spec).cloned()) {
        return Ok(hit);
    }
    // Generated outside the lock: two threads may race and both generate; harmless.
    let key = generate_key(spec)?;
    let cert = self_signed(&key, "mx.example.org", -1, 365)?;
    let ck = CertKey {
        cert,
        chain: Vec::new(),
        key,
    };
    if let Ok(mut c) = cache.lock() {
        c.insert(spec.clone(), ck.clone());
    }
    Ok(ck)
}

/// Loads (or generates) the certificate and key a [`CertSpec`] describes.
pub fn load_cert_spec(spec: &CertSpec) -> Result<CertKey, TlsError> {
    match spec {
        CertSpec::Generated(k) => generated(k),
        CertSpec::Files { cert, key } => {
            let cert_pem = pftls_safe_read::read(cert, pftls_safe_read::Kind::Certificate)
                .map_err(|e| TlsError::io(cert, e.into_reason_io()))?;
            let key_pem = pftls_safe_read::read(key, pftls_safe_read::Kind::Certificate)
                .map_err(|e| TlsError::io(key, e.into_reason_io()))?;
            let mut certs = X509::stack_from_pem(&cert_pem).map_err(|e| {
                TlsError::openssl(format!("{}: reading certificates", cert.display()), &e)
            })?;
            if certs.is_empty() {
                return Err(TlsError::OpenSsl {
                    context: format!("{}: reading certificates", cert.display()),
                    reason: "no certificate in file".into(),
                });
            }
            let leaf = certs.remove(0);
            let key = PKey::private_key_from_pem(&key_pem).map_err(|e| {
                TlsError::openssl(format!("{}: reading the private key", key.display()), &e)
            })?;
            Ok(CertKey {
                cert: leaf,
                chain: certs,
                key,
            })
        }
    }
}

/// A fixed RSA-2048 key and self-signed certificate (CN "pftls stand-in (not secret,
/// simulation only)", valid until 2126), made with `openssl req -x509 -newkey rsa:2048`. It is
/// public on purpose: it only ever serves in-memory handshakes in place of a certificate
/// whose key pftls cannot read. Never configure it on a server.
const BUILTIN_RSA2048: &str = "\
-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQC+58zpjc9wbZfD
eeyA7lwyrNa2Zf9HKgE4bVenShRniPb/nol3a8MDuzcC57G4ulBg5oLC5gib4jqz
3me9SSj998MhCZcb0D4S9FBhSstcO3aBaLfFCptEiBRND3Lyxy4JUkMsIPpn8aSQ
Wb+7DoBD5nXE1xrMRPrnRau0RFE8y1/IfcYV3W8TXboFcOFt3t+Wq+su/B71QuCX
NoV61OdyQOKeBfmDuXs9hIc3G1ynHN9Ne2KM58g3u5fXXO/L2+VMHclCCGhiSxej
/T8zy7lLGD9FC+RNbiHMBZ+6vGcvtu53qMg+5kJHcrJ8UjsiwddT6KbmUGyzRxVm
3rv1S80vAgMBAAECggEAUzSMpy7bvtDFWLmHTxqUrLGQU6dZABdauNFPZuZuxkF4
Bil/GMGrGbE7ZNS/LRhneBR/4ZqJHggYNdU1udZtO2QFdBzN851rsK8zaXRD9ksk
d3rAvezFh7UXxA57tz0A36cvB8jH2w4C/7deTZUganfD1Ks8TtOx16MSF1u/XJM2
ul4ZtAKaKleaI/GpmOysvbvI/sXyd4DetjQdPXBomQw0M4JgWTGsC/dLMHtGzvDA
A+XyEjbEdODmxkYuMe+/rpDUeb4k5H4APqFCvTAg+xv479YdGiP73/mG0jutps7T
OgZL9FM85AgtlnwzvpR3Ax8Apvd8jAsoY7VBlBoC4QKBgQDkKzvp/OLSXCb9P0sH
Luv2asv/FJQcvcS/tMBt2vfk+1wd1OXry95scK8hBM+3GPZfBEU2UmWwujRqzdWl
vu4UfOuP8nEwChIk8Vrn+67c4/W4YrAHQ5l6FD9XsmGJXqOh+AugCUokss99n/PJ
27CGXbS++yc0xtAYpFwC3tr1HQKBgQDWMPwh12hmLi6PNq4+0N7/4NZcpaeO8r1Y
yDG7jKtN4NtmnK9PChyddzs4BklJeW72QqI0ePM+f2FJSztSAgyYgVOuDJCZpuLC
eYxsq8XV0DyNlvnqKC9xg5npJEJYuMPpAk6OwDXl8vKP90aVLHcvjcqeVpB4Bsfl
N4s+XP71uwKBgGFWKEsbvM+szF1BAQrhc3w99ySsbLsOIb7+pxC2VwZyTMvVJPjA
kfSE5dEaMlqT5ZaHRdd0szj/VpkxkjEREJPg7sUL0kmCIldsNzG75s8I2Kx+PUX8
Cp9Pv+3zhTSLERdpr9vn2p9pQKcA84lrlRTdKNxIXGNhZSj+BNqco5/pAoGANQcB
lNtAdHOggUI3V0PcwZqHV36HgiNkbzN45IbJ7kjp6HiIClhlhzJ6jb84q6ENsJgE
klsTVXixvDSM5hutxJ/X+LIRpoijgSQYeNr56ppYM3GaQ7dZL5A2LXsVleOAVRKG
Il9BuMEx/iRo7AuLIlHHRPYHZD/Bg2UB6xmY4XsCgYAWNDahp546RR8rrv/oxtiw
zCOsL5AIa5zJ/3di5meQvELbGfF2/yA6avQrmh40VAIF0sM2YNahOUFPTZBoBUwS
ehghSr4eXZeJDWAwBQZbTLcjlc1PNIdhIuS+xr/Q/zaYmO14MvK3ut1qMGo66W6+
c6+xI5kzlnMRCE4IZhcH8w==
-----END PRIVATE KEY-----
-----BEGIN CERTIFICATE-----
MIIDUTCCAjmgAwIBAgIUfEuBdKMjX+0b5jf+AKLwCb6IltUwDQYJKoZIhvcNAQEL
BQAwNzE1MDMGA1UEAwwscGZ0bHMgc3RhbmQtaW4gKG5vdCBzZWNyZXQsIHNpbXVs
YXRpb24gb25seSkwIBcNMjYxMTMwMDMyOTUyWhgPMjEyNjExMDYwMzI5NTJaMDcx
NTAzBgNVBAMMLHBmdGxzIHN0YW5kLWluIChub3Qgc2VjcmV0LCBzaW11bGF0aW9u
IG9ubHkpMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvufM6Y3PcG2X
w3nsgO5cMqzWtmX/RyoBOG1Xp0oUZ4j2/56Jd2vDA7s3AuexuLpQYOaCwuYIm+I6
s95nvUko/ffDIQmXG9A+EvRQYUrLXDt2gWi3xQqbRIgUTQ9y8scuCVJDLCD6Z/Gk
kFm/uw6AQ+Z1xNcazET650WrtERRPMtfyH3GFd1vE126BXDhbd7flqvrLvwe9ULg
lzaFetTnckDingX5g7l7PYSHNxtcpxzfTXtijOfIN7uX11zvy9vlTB3JQghoYksX
o/0/M8u5Sxg/RQvkTW4hzAWfurxnL7bud6jIPuZCR3KyfFI7IsHXU+im5lBss0cV
Zt679UvNLwIDAQABo1MwUTAdBgNVHQ4EFgQU0P3IYWr4kPNJEf07sInj5HOzEeUw
HwYDVR0jBBgwFoAU0P3IYWr4kPNJEf07sInj5HOzEeUwDwYDVR0TAQH/BAUwAwEB
/zANBgkqhkiG9w0BAQsFAAOCAQEAoFJIx1G6XPRWgshf2Rtw2sJ0VLtLx8KSIJyT
HHPchaK4sqimFdinNomn+1f0Vl/BOvecPZz+hRQbj5FojF21z2zxD4ALz73lIYFN
6C3pJaBKOV+ddl+L3pkIQEhszgHjOk+qoDXvejvwd6BoKQiJW2hKbDtVB6ACqNxG
GrpbvG6IAdZ73kuUgLRiYqluROjY6j+3bsA/AJuIqHlzvbrBD012CFzuxZhS9vpy
ZG5jgL9UwqiYBTk3H54aXFdBJtu8p8QW3nXAUESDE/u2UiO/14oRLuDr5sqBXqPV
oSfV66Fnlo1Q4Y5wqsW1CmQa7TF5cSBAfYYP+RJmBgpWwwLU9A==
-----END CERTIFICATE-----
";
