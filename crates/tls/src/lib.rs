//! pftls-tls: everything in pftls that needs OpenSSL (the system libssl, through the
//! `openssl` crate): crypto-policies baseline, Postfix protocol lists, cipher-string
//! evaluation, in-memory handshake simulation, the SMTP STARTTLS probe, certificate checks
//! and TLSA digests.

#![warn(missing_docs)]

pub mod cert;
pub mod ciphers;
pub mod crypto_policies;
mod error;
mod ffi;
pub mod keys;
pub mod mta_sts;
pub mod postfix_defaults;
pub mod probe;
pub mod profiles;
pub mod protocols;
pub mod sanitize;
pub mod server_model;
pub mod simulate;
pub mod tlsa;

pub use ciphers::{
    compare, evaluate_postfix, postfix_cipher_string, supported_ciphers, CipherInfo, EvalContext,
};
pub use crypto_policies::{Baseline, CryptoPolicy};
pub use error::{reason_of, TlsError};
pub use keys::{CertSpec, KeySpec};
pub use profiles::{builtin_profiles, load_profiles_json, ClientProfile};
pub use protocols::{floor_to_postfix, parse_protocols, PostfixVersion, Protocol, ProtocolRange};
pub use server_model::{postfix_server_tls, ServerLevel, ServerTlsModel};
pub use simulate::{simulate, HandshakeOutcome, ServerTls};
