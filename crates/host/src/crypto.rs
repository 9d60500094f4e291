//! The system crypto-policy (or OpenSSL's defaults) as the planner and doctor need it.

use std::path::Path;

use pftls_policy::{CryptoFacts, PostfixVersion};
use pftls_tls::protocols::{floor_to_postfix, Protocol};
use pftls_tls::Baseline;

use crate::HostError;

/// Reads the crypto-policies tree at `root`, or OpenSSL's defaults when there is none.
pub fn baseline(root: &Path) -> Result<Baseline, HostError> {
    Baseline::load(root).map_err(|e| HostError::Crypto {
        path: root.to_path_buf(),
        message: e.to_string(),
    })
}

/// The protocol floor policies should state. With crypto-policies it is the policy's
/// TLS.MinProtocol. Without (Debian, Ubuntu) OpenSSL's configured floor is usually TLSv1, but
/// OpenSSL 3 at security level 1 or more cannot complete TLS 1.0/1.1 handshakes (their SHA-1
/// signatures are refused), so TLSv1.2 is the real floor and the one to write down.
pub fn effective_floor(b: &Baseline) -> Protocol {
    let from_crypto_policies = b.cipher_string.is_some();
    if !from_crypto_policies
        && b.seclevel >= 1
        && openssl::version::number() >= 0x3000_0000
        && b.min_protocol < Protocol::Tls1_2
    {
        return Protocol::Tls1_2;
    }
    b.min_protocol
}

/// Facts for dynamic policy values.
pub fn facts(b: &Baseline, version: PostfixVersion) -> CryptoFacts {
    let floor = effective_floor(b);
    CryptoFacts {
        source: b.source.clone(),
        min_protocol: floor.name().to_string(),
        exclusions: b.forbidden.clone(),
        protocols_value: floor_to_postfix(floor, (version.major, version.minor)),
    }
}
