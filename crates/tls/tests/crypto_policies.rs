//! crypto-policies trees: the fixture table, malformed files, and the forbidden exclusions
//! re-checked with OpenSSL.

mod common;

use std::fs;

use pftls_tls::ciphers::{evaluate_postfix, supported_ciphers, EvalContext};
use pftls_tls::crypto_policies::POSTFIX_MEDIUM_37;
use pftls_tls::{Baseline, CryptoPolicy, Protocol, TlsError};

struct Case {
    dir: &'static str,
    source: &'static str,
    seclevel: u32,
    min: Protocol,
    forbidden: &'static [&'static str],
}

const DEFAULT_FORBIDDEN: &[&str] = &["aDSS", "SHA384", "CAMELLIA", "ARIA", "AESCCM8"];
const FIPS_FORBIDDEN: &[&str] = &[
    "kRSA", "aDSS", "SHA384", "CHACHA20", "CAMELLIA", "ARIA", "AESCCM8",
];
// kRSA is named by the policy (`-kRSA`) even though level 3 already drops RSA key exchange.
const FUTURE_FORBIDDEN: &[&str] = &["kRSA", "aDSS", "CBC", "AES128", "ARIA", "AESCCM8"];
const LEGACY_FORBIDDEN: &[&str] = &["SHA384", "CAMELLIA", "ARIA", "AESCCM8"];

const CASES: &[Case] = &[
    Case {
        dir: "fedora-2024-12-DEFAULT",
        source: "crypto-policies DEFAULT",
        seclevel: 2,
        min: Protocol::Tls1_2,
        forbidden: DEFAULT_FORBIDDEN,
    },
    Case {
        dir: "fedora-2024-12-LEGACY",
        source: "crypto-policies LEGACY",
        seclevel: 1,
        min: Protocol::Tls1,
        forbidden: LEGACY_FORBIDDEN,
    },
    Case {
        dir: "fedora-2024-12-FUTURE",
        source: "crypto-policies FUTURE",
        seclevel: 3,
        min: Protocol::Tls1_2,
        forbidden: FUTURE_FORBIDDEN,
    },
    Case {
        dir: "fedora-2024-12-FIPS",
        source: "crypto-policies FIPS",
        seclevel: 2,
        min: Protocol::Tls1_2,
        forbidden: FIPS_FORBIDDEN,
    },
    Case {
        dir: "fedora-2026-02-DEFAULT",
        source: "crypto-policies DEFAULT",
        seclevel: 2,
        min: Protocol::Tls1_2,
        forbidden: DEFAULT_FORBIDDEN,
    },
    Case {
        dir: "fedora-2026-02-DEFAULT_NO-PQ",
        source: "crypto-policies DEFAULT:NO-PQ",
        seclevel: 2,
        min: Protocol::Tls1_2,
        forbidden: DEFAULT_FORBIDDEN,
    },
    Case {
        dir: "fedora-2026-02-LEGACY",
        source: "crypto-policies LEGACY",
        seclevel: 1,
        min: Protocol::Tls1,
        forbidden: LEGACY_FORBIDDEN,
    },
    Case {
        dir: "fedora-2026-02-LEGACY_AD-SUPPORT",
        source: "crypto-policies LEGACY:AD-SUPPORT",
        seclevel: 1,
        min: Protocol::Tls1,
        forbidden: LEGACY_FORBIDDEN,
    },
    Case {
        dir: "fedora-2026-02-FUTURE",
        source: "crypto-policies FUTURE",
        seclevel: 3,
        min: Protocol::Tls1_2,
        forbidden: FUTURE_FORBIDDEN,
    },
    Case {
        dir: "fedora-2026-02-FIPS",
        source: "crypto-policies FIPS",
        seclevel: 2,
        min: Protocol::Tls1_2,
        forbidden: FIPS_FORBIDDEN,
    },
    Case {
        dir: "fedora-2026-02-FIPS_NO-ENFORCE-EMS",
        source: "crypto-policies FIPS:NO-ENFORCE-EMS",
        seclevel: 2,
        min: Protocol::Tls1_2,
        forbidden: FIPS_FORBIDDEN,
    },
];

#[test]
fn fixture_table() {
    for case in CASES {
        let root = common::fixtures().join(case.dir);
        let policy = CryptoPolicy::load(&root)
            .unwrap_or_else(|e| panic!("{}: {e}", case.dir))
            .unwrap_or_else(|| panic!("{}: tree not found", case.dir));
        assert!(policy.applied(), "{}", case.dir);
        let b = policy.baseline().unwrap();
        assert_eq!(b.source, case.source, "{}", case.dir);
        assert_eq!(b.seclevel, case.seclevel, "{}", case.dir);
        assert_eq!(b.min_protocol, case.min, "{}", case.dir);
        assert_eq!(b.forbidden, case.forbidden, "{}", case.dir);
        assert_eq!(
            b.cipher_string.as_deref(),
            Some(policy.cipher_string.as_str())
        );
        assert_eq!(policy.max_protocol, Some(Protocol::Tls1_3));
        // Baseline::load gives the same.
        assert_eq!(Baseline::load(&root).unwrap(), b);
    }
}

#[test]
fn subpolicies_and_optional_backend() {
    let p = CryptoPolicy::load(&common::fixtures().join("fedora-2026-02-FIPS_NO-ENFORCE-EMS"))
        .unwrap()
        .unwrap();
    assert_eq!(p.policy, "FIPS");
    assert_eq!(p.subpolicies, vec!["NO-ENFORCE-EMS"]);
    assert!(
        p.openssl_config.is_none(),
        "2026 trees have no openssl.config"
    );
    assert!(p
        .groups
        .as_deref()
        .unwrap()
        .starts_with("*?SecP256r1MLKEM768"));
    let old = CryptoPolicy::load(&common::fixtures().join("fedora-2024-12-FUTURE"))
        .unwrap()
        .unwrap();
    assert!(old
        .openssl_config
        .as_deref()
        .unwrap()
        .starts_with("@SECLEVEL=3:"));
    assert_eq!(
        old.ciphersuites.as_deref(),
        Some("TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256")
    );
}

/// The forbidden tokens, appended to Postfix's medium list, leave exactly the medium
/// ciphers the policy allows (checked independently of how they were chosen).
#[test]
fn forbidden_tokens_reproduce_the_policy() {
    for case in CASES {
        let p = CryptoPolicy::load(&common::fixtures().join(case.dir))
            .unwrap()
            .unwrap();
        let b = p.baseline().unwrap();
        let ctx = EvalContext {
            seclevel: b.seclevel,
            min_protocol: Some(b.min_protocol),
            max_protocol: p.max_protocol,
        };
        let names = |v: Vec<pftls_tls::CipherInfo>| -> Vec<String> {
            let mut n: Vec<String> = v
                .into_iter()
                .filter(|c| !c.is_tls13())
                .map(|c| c.name)
                .collect();
            n.sort();
            n
        };
        let with_excl =
            names(evaluate_postfix(POSTFIX_MEDIUM_37, &b.forbidden.join(" "), ctx).unwrap());
        let medium = names(supported_ciphers(POSTFIX_MEDIUM_37, ctx).unwrap());
        let policy = names(supported_ciphers(&p.cipher_string, ctx).unwrap());
        let expected: Vec<String> = medium
            .iter()
            .filter(|c| policy.contains(c))
            .cloned()
            .collect();
        assert_eq!(with_excl, expected, "{}", case.dir);
        assert!(
            with_excl.len() < medium.len() || b.forbidden.is_empty(),
            "{}",
            case.dir
        );
    }
}

#[test]
fn missing_tree_is_none_and_openssl_default_reads_the_context() {
    let dir = tempfile::tempdir().unwrap();
    assert!(CryptoPolicy::load(&dir.path().join("nope"))
        .unwrap()
        .is_none());
    let b = Baseline::load(&dir.path().join("nope")).unwrap();
    assert_eq!(b.source, "OpenSSL defaults (no crypto-policies)");
    assert!(b.cipher_string.is_none() && b.forbidden.is_empty());
    // The same level a fresh context reports (Debian 12 builds with level 2).
    let ctx = openssl::ssl::SslContext::builder(openssl::ssl::SslMethod::tls())
        .unwrap()
        .build();
    assert_eq!(b.seclevel, ctx.security_level());
}

fn tree(cnf: &str, config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("back-ends")).unwrap();
    fs::create_dir_all(dir.path().join("state")).unwrap();
    fs::write(dir.path().join("config"), config).unwrap();
    fs::write(dir.path().join("back-ends/opensslcnf.config"), cnf).unwrap();
    dir
}

fn parse_error(dir: &tempfile::TempDir) -> (String, usize, String) {
    match CryptoPolicy::load(dir.path()) {
        Err(TlsError::Parse {
            path,
            line,
            message,
        }) => (path.display().to_string(), line, message),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn malformed_files_name_file_and_line() {
    let good = "CipherString = @SECLEVEL=2:kEECDH:kRSA\nTLS.MinProtocol = TLSv1.2\n";

    let d = tree(
        "CipherString = @SECLEVEL=2:kEECDH\nthis line is junk\n",
        "DEFAULT\n",
    );
    let (path, line, msg) = parse_error(&d);
    assert!(
        path.ends_with("back-ends/opensslcnf.config") && line == 2,
        "{path}:{line}: {msg}"
    );

    let d = tree(
        "# c\nCipherString = @SECLEVEL=2:kEECDH\nTLS.MinProtocol = TLSv9\n",
        "DEFAULT\n",
    );
    let (_, line, msg) = parse_error(&d);
    assert_eq!(line, 3, "{msg}");
    assert!(msg.contains("TLSv9"));

    let d = tree("CipherString = @SECLEVEL=x:kEECDH\n", "DEFAULT\n");
    assert_eq!(parse_error(&d).1, 1);

    let d = tree("\nCipherString = NOSUCHCIPHER\n", "DEFAULT\n");
    let (_, line, msg) = parse_error(&d);
    assert_eq!(line, 2);
    assert!(msg.contains("no cipher match"), "{msg}");

    let d = tree("Ciphersuites = TLS_AES_256_GCM_SHA384\n", "DEFAULT\n");
    assert!(parse_error(&d).2.contains("no CipherString"));

    let d = tree("CipherString = @SECLEVEL=2:kEECDH\n[broken\n", "DEFAULT\n");
    assert_eq!(parse_error(&d).1, 2);

    let d = tree(good, "# policy\nDEFAULT:NO SHA1\n");
    let (path, line, _) = parse_error(&d);
    assert!(path.ends_with("config") && line == 2);

    // A valid tree with keys after a section header (other sections are ignored there).
    let d = tree(
        &format!("{good}[openssl_init]\nalg_section = evp_properties\n"),
        "DEFAULT:NO-SHA1\n",
    );
    let p = CryptoPolicy::load(d.path()).unwrap().unwrap();
    assert_eq!(p.subpolicies, vec!["NO-SHA1"]);
    assert_eq!(p.current, None);
    assert!(p.applied());

    // Selected but not applied.
    fs::write(d.path().join("state/current"), "LEGACY\n").unwrap();
    let p = CryptoPolicy::load(d.path()).unwrap().unwrap();
    assert!(!p.applied());
    assert_eq!(p.name(), "LEGACY");

    // Missing back-end file: I/O error naming it.
    fs::remove_file(d.path().join("back-ends/opensslcnf.config")).unwrap();
    match CryptoPolicy::load(d.path()) {
        Err(TlsError::Io { path, .. }) => assert!(path.ends_with("opensslcnf.config")),
        other => panic!("{other:?}"),
    }
}
