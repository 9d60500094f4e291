//! Client profiles: what real sending MTAs offer in their ClientHello.

use serde::{Deserialize, Serialize};

use crate::{Protocol, TlsError};

/// The built-in profiles (from SSL Labs / testssl.sh client-simulation data).
const BUILTIN_JSON: &str = include_str!("../data/tls-client-profiles.json");

/// A TLS client to simulate: protocol range, TLS <= 1.2 cipher list (OpenSSL names),
/// TLS 1.3 suites and groups, as a real stack of that era offers them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClientProfile {
    /// Stable identifier (`openssl_315`).
    pub id: String,
    /// Display name (`OpenSSL 3.0.15 (Debian)`).
    pub name: String,
    /// What kind of sender it represents.
    #[serde(default)]
    pub stands_in_for: String,
    /// Lowest protocol offered.
    pub min_protocol: Protocol,
    /// Highest protocol offered.
    pub max_protocol: Protocol,
    /// TLS <= 1.2 ciphers, OpenSSL names, `:`-separated, in preference order.
    #[serde(default)]
    pub ciphers: String,
    /// TLS 1.3 suites, `:`-separated (empty when the client has no TLS 1.3).
    #[serde(default)]
    pub tls13_ciphersuites: String,
    /// Supported groups, `:`-separated (empty: library default).
    #[serde(default)]
    pub groups: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ProfilesFile {
    Wrapped { profiles: Vec<ClientProfile> },
    Bare(Vec<ClientProfile>),
}

/// Parses profiles from JSON: either `{"profiles": [...]}` (the shape of the built-in file)
/// or a bare array of profiles. Duplicate ids are an error.
pub fn load_profiles_json(json: &str) -> Result<Vec<ClientProfile>, TlsError> {
    let parsed: ProfilesFile =
        serde_json::from_str(json).map_err(|e| TlsError::Profiles(e.to_string()))?;
    let profiles = match parsed {
        ProfilesFile::Wrapped { profiles } => profiles,
        ProfilesFile::Bare(p) => p,
    };
    let mut seen = std::collections::BTreeSet::new();
    for p in &profiles {
        if p.id.is_empty() {
            return Err(TlsError::Profiles("a profile has an empty id".into()));
        }
        if !seen.insert(p.id.as_str()) {
            return Err(TlsError::Profiles(format!(
                "duplicate profile id \"{}\"",
                p.id
            )));
        }
        if p.min_protocol > p.max_protocol {
            return Err(TlsError::Profiles(format!(
                "profile \"{}\": min_protocol {} is above max_protocol {}",
                p.id, p.min_protocol, p.max_protocol
            )));
        }
    }
    Ok(profiles)
}

/// The built-in profiles, oldest sender first.
pub fn builtin_profiles() -> Vec<ClientProfile> {
    // The embedded file is checked by a unit test, so this cannot fail at run time.
    load_profiles_json(BUILTIN_JSON).unwrap_or_default()
}

/// The newest built-in profile (the "modern client" of probe reports).
pub fn newest_profile() -> Option<ClientProfile> {
    builtin_profiles().pop()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_file_parses() {
        let p = load_profiles_json(BUILTIN_JSON).unwrap();
        assert_eq!(p.len(), 11);
        assert_eq!(p[0].id, "openssl_098y");
        assert_eq!(p[0].max_protocol, Protocol::Tls1);
        assert_eq!(newest_profile().unwrap().id, "openssl_350");
    }

    #[test]
    fn rejects_duplicates_and_bad_json() {
        let one = r#"{"id":"a","name":"A","min_protocol":"TLSv1.2","max_protocol":"TLSv1.3"}"#;
        assert!(load_profiles_json(&format!("[{one},{one}]")).is_err());
        assert_eq!(load_profiles_json(&format!("[{one}]")).unwrap().len(), 1);
        assert!(load_profiles_json("{").is_err());
        let inverted = r#"[{"id":"b","name":"B","min_protocol":"TLSv1.3","max_protocol":"TLSv1"}]"#;
        assert!(load_profiles_json(inverted).is_err());
    }
}
