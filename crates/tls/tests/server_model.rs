//! How smtpd picks its TLS settings from parameters.

use std::collections::HashMap;

use pftls_tls::server_model::{FAILURE_ENCRYPT, FAILURE_MAY};
use pftls_tls::{postfix_server_tls, Baseline, CertSpec, Protocol, ServerLevel, TlsError};

fn baseline() -> Baseline {
    Baseline {
        source: "crypto-policies DEFAULT".into(),
        seclevel: 2,
        min_protocol: Protocol::Tls1_2,
        cipher_string: None,
        forbidden: vec![],
    }
}

fn model(
    pairs: &[(&str, &str)],
    version: (u32, u32),
) -> Result<pftls_tls::ServerTlsModel, TlsError> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let f = move |name: &str| map.get(name).cloned();
    postfix_server_tls(&f, &baseline(), version)
}

const CERT: (&str, &str) = ("smtpd_tls_cert_file", "/etc/postfix/cert.pem");

#[test]
fn may_uses_opportunistic_settings() {
    let m = model(
        &[
            ("smtpd_tls_security_level", "may"),
            CERT,
            ("smtpd_tls_exclude_ciphers", "kRSA, CBC"),
            ("smtpd_tls_mandatory_exclude_ciphers", "AES128"),
            ("smtpd_tls_protocols", ">=TLSv1.2"),
            ("smtpd_tls_mandatory_protocols", ">=TLSv1.3"),
            ("smtpd_tls_ciphers", "High"),
        ],
        (3, 7),
    )
    .unwrap();
    assert_eq!(m.level, ServerLevel::May);
    assert!(!m.mandatory && !m.auth_only);
    assert_eq!(m.grade, "high");
    assert_eq!(m.cipherlist_parameter, "tls_high_cipherlist");
    assert_eq!(m.cipher_string, "aNULL:-aNULL:HIGH:@STRENGTH:!kRSA:!CBC");
    assert_eq!(m.protocols_parameter, "smtpd_tls_protocols");
    assert_eq!(m.failure_meaning, FAILURE_MAY);
    let s = m.server.unwrap();
    assert_eq!(s.min_protocol, Some(Protocol::Tls1_2));
    assert_eq!(s.max_protocol, None);
    assert_eq!(s.seclevel, 2);
    assert_eq!(
        s.cert,
        CertSpec::Files {
            cert: "/etc/postfix/cert.pem".into(),
            key: "/etc/postfix/cert.pem".into()
        }
    );
    assert_eq!(
        s.groups.as_deref(),
        Some("X25519:X448:prime256v1:secp521r1:secp384r1")
    );
}

#[test]
fn encrypt_uses_mandatory_settings_and_both_excludes() {
    let m = model(
        &[
            ("smtpd_tls_security_level", "encrypt"),
            CERT,
            ("smtpd_tls_key_file", "/etc/postfix/key.pem"),
            ("smtpd_tls_exclude_ciphers", "kRSA"),
            ("smtpd_tls_mandatory_exclude_ciphers", "AES128"),
            ("smtpd_tls_mandatory_protocols", "TLSv1.2"),
        ],
        (3, 9),
    )
    .unwrap();
    assert_eq!(m.level, ServerLevel::Encrypt);
    assert!(m.mandatory && m.auth_only);
    assert_eq!(m.exclusions, "AES128 kRSA");
    assert!(
        m.cipher_string
            .starts_with("aNULL:-aNULL:HIGH:MEDIUM:!SEED"),
        "3.8+ list: {}",
        m.cipher_string
    );
    assert!(m.cipher_string.ends_with(":!AES128:!kRSA"));
    assert_eq!(m.failure_meaning, FAILURE_ENCRYPT);
    let s = m.server.unwrap();
    assert_eq!(
        (s.min_protocol, s.max_protocol),
        (Some(Protocol::Tls1_2), Some(Protocol::Tls1_2))
    );
    assert_eq!(
        s.cert,
        CertSpec::Files {
            cert: "/etc/postfix/cert.pem".into(),
            key: "/etc/postfix/key.pem".into()
        }
    );
    // 3.8+ adds the FFDHE groups.
    assert!(s.groups.unwrap().ends_with("ffdhe2048:ffdhe3072"));
}

#[test]
fn legacy_booleans_wrappermode_and_levels() {
    let lvl = |pairs: &[(&str, &str)]| model(pairs, (3, 7)).unwrap();
    assert_eq!(lvl(&[CERT]).level, ServerLevel::None);
    assert!(lvl(&[CERT]).server.is_none());
    let m = lvl(&[("smtpd_use_tls", "yes"), CERT]);
    assert_eq!(
        (m.level, m.level_source.as_str()),
        (ServerLevel::May, "smtpd_use_tls")
    );
    let m = lvl(&[("smtpd_use_tls", "yes"), ("smtpd_enforce_tls", "yes"), CERT]);
    assert_eq!(
        (m.level, m.level_source.as_str()),
        (ServerLevel::Encrypt, "smtpd_enforce_tls")
    );
    // The level parameter wins over the booleans.
    let m = lvl(&[
        ("smtpd_tls_security_level", "may"),
        ("smtpd_enforce_tls", "yes"),
        CERT,
    ]);
    assert_eq!(m.level, ServerLevel::May);
    // Wrapper mode implies mandatory whatever the level says.
    let m = lvl(&[
        ("smtpd_tls_wrappermode", "yes"),
        ("smtpd_tls_security_level", "may"),
        CERT,
    ]);
    assert!(m.wrappermode && m.mandatory && m.level == ServerLevel::Encrypt);
    assert!(m.warnings.iter().any(|w| w.contains("ignored")));
    // Client-side levels map to encrypt with a warning; dane is fatal.
    let m = lvl(&[("smtpd_tls_security_level", "verify"), CERT]);
    assert_eq!(m.level, ServerLevel::Encrypt);
    assert!(model(&[("smtpd_tls_security_level", "dane"), CERT], (3, 7)).is_err());
    assert!(model(&[("smtpd_use_tls", "perhaps")], (3, 7)).is_err());
}

#[test]
fn versions_certs_and_errors() {
    // 3.5: protocol defaults without bounds, and ">=" is invalid.
    let m = model(&[("smtpd_tls_security_level", "may"), CERT], (3, 5)).unwrap();
    assert_eq!(m.protocols, "!SSLv2, !SSLv3");
    assert_eq!(m.server.unwrap().min_protocol, Some(Protocol::Tls1));
    assert!(matches!(
        model(
            &[
                ("smtpd_tls_security_level", "may"),
                CERT,
                ("smtpd_tls_protocols", ">=TLSv1.2")
            ],
            (3, 5)
        ),
        Err(TlsError::ProtocolList { .. })
    ));
    // low is medium from 3.8 on.
    let m = model(
        &[
            ("smtpd_tls_security_level", "may"),
            CERT,
            ("smtpd_tls_ciphers", "low"),
        ],
        (3, 8),
    )
    .unwrap();
    assert_eq!(m.grade, "medium");
    let m = model(
        &[
            ("smtpd_tls_security_level", "may"),
            CERT,
            ("smtpd_tls_ciphers", "low"),
        ],
        (3, 7),
    )
    .unwrap();
    assert_eq!(m.cipherlist_parameter, "tls_low_cipherlist");
    assert!(model(
        &[
            ("smtpd_tls_security_level", "may"),
            CERT,
            ("smtpd_tls_ciphers", "ultra")
        ],
        (3, 7)
    )
    .is_err());
    assert!(matches!(
        model(
            &[
                ("smtpd_tls_security_level", "may"),
                CERT,
                ("smtpd_tls_exclude_ciphers", "!MD5")
            ],
            (3, 7)
        ),
        Err(TlsError::CipherExclusion { .. })
    ));
    // Chain files win over cert/key; several certs give a warning.
    let m = model(
        &[
            ("smtpd_tls_security_level", "may"),
            CERT,
            ("smtpd_tls_chain_files", "/k/rsa.pem, /k/ec.pem"),
        ],
        (3, 7),
    )
    .unwrap();
    assert_eq!(m.certs.len(), 2);
    assert_eq!(
        m.server.unwrap().cert,
        CertSpec::Files {
            cert: "/k/rsa.pem".into(),
            key: "/k/rsa.pem".into()
        }
    );
    assert!(m.warnings.len() >= 2);
    // No certificate: TLS is not enabled; at encrypt that refuses everyone.
    let m = model(&[("smtpd_tls_security_level", "encrypt")], (3, 7)).unwrap();
    assert!(m.server.is_none());
    assert!(m
        .warnings
        .iter()
        .any(|w| w.contains("No server certs available")));
    let m = model(
        &[
            ("smtpd_tls_security_level", "may"),
            ("smtpd_tls_cert_file", "none"),
        ],
        (3, 7),
    )
    .unwrap();
    assert!(m.server.is_none());
    // ask_ccert adds aNULL; preempt sets server order.
    let m = model(
        &[
            ("smtpd_tls_security_level", "may"),
            CERT,
            ("smtpd_tls_ask_ccert", "yes"),
            ("tls_preempt_cipherlist", "yes"),
        ],
        (3, 7),
    )
    .unwrap();
    assert!(m.cipher_string.ends_with(":!aNULL"));
    assert!(m.server.unwrap().prefer_server_order);
}
