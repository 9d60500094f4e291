//! Cipher evaluation against the real `openssl ciphers -s` CLI, Postfix exclusion syntax,
//! and comparisons.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use pftls_tls::ciphers::{
    compare, evaluate_postfix, exclusion_tokens, postfix_cipher_string, supported_ciphers,
    EvalContext,
};
use pftls_tls::postfix_defaults::{HIGH_38, MEDIUM_37};
use pftls_tls::{Protocol, TlsError};

fn ctx(seclevel: u32, min: Option<Protocol>, max: Option<Protocol>) -> EvalContext {
    EvalContext {
        seclevel,
        min_protocol: min,
        max_protocol: max,
    }
}

fn cli_names(cipher_string: &str, extra: &[&str]) -> BTreeSet<String> {
    let out = Command::new("openssl")
        .args(["ciphers", "-s"])
        .args(extra)
        .arg(cipher_string)
        .output()
        .expect("openssl ciphers");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .split(':')
        .map(str::to_string)
        .collect()
}

#[test]
fn agrees_with_openssl_ciphers_cli() {
    if !common::have_tool("openssl", &["version"]) {
        return;
    }
    let cp_default = "@SECLEVEL=2:kEECDH:kRSA:kEDH:kPSK:kDHEPSK:kECDHEPSK:kRSAPSK:-aDSS:-3DES:!DES:!RC4:!RC2:!IDEA:-SEED:!eNULL:!aNULL:!MD5:-SHA384:-CAMELLIA:-ARIA:-AESCCM8";
    let cases = [
        (
            format!("{MEDIUM_37}:@SECLEVEL=2"),
            ctx(2, None, None),
            vec![],
        ),
        (
            format!("{MEDIUM_37}:!kRSA:!CBC:@SECLEVEL=2"),
            ctx(2, None, None),
            vec![],
        ),
        (format!("{HIGH_38}:@SECLEVEL=3"), ctx(3, None, None), vec![]),
        (
            format!("{MEDIUM_37}:@SECLEVEL=0"),
            ctx(0, None, None),
            vec![],
        ),
        (cp_default.to_string(), ctx(2, None, None), vec![]),
        (
            format!("{MEDIUM_37}:@SECLEVEL=2"),
            ctx(2, Some(Protocol::Tls1_2), Some(Protocol::Tls1_2)),
            vec!["-tls1_2"],
        ),
    ];
    for (s, c, extra) in cases {
        let ours: BTreeSet<String> = supported_ciphers(&s, c)
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(ours, cli_names(&s, &extra), "{s} {extra:?}");
        assert!(ours.len() > 5);
    }
}

#[test]
fn postfix_exclusion_syntax() {
    assert_eq!(
        exclusion_tokens("aNULL, MD5 DES:kEDH+aRSA").unwrap(),
        vec!["aNULL", "MD5", "DES", "kEDH+aRSA"]
    );
    assert_eq!(
        postfix_cipher_string(" HIGH ", "kRSA, CBC").unwrap(),
        "HIGH:!kRSA:!CBC"
    );
    assert_eq!(postfix_cipher_string("HIGH", "").unwrap(), "HIGH");
    for bad in ["!kRSA", "+RC4", "-CBC", "@STRENGTH", "aNULL, !MD5"] {
        match exclusion_tokens(bad) {
            Err(TlsError::CipherExclusion { token }) => {
                assert!(token.starts_with(['!', '+', '-', '@']))
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[test]
fn evaluation_respects_seclevel_protocols_and_exclusions() {
    let all = evaluate_postfix(MEDIUM_37, "", ctx(2, None, None)).unwrap();
    let info = all
        .iter()
        .find(|c| c.name == "ECDHE-RSA-AES256-GCM-SHA384")
        .unwrap();
    assert_eq!(
        info.standard_name.as_deref(),
        Some("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")
    );
    assert_eq!(
        (info.kx.as_str(), info.au.as_str(), info.bits),
        ("ECDH", "RSA", 256)
    );
    assert_eq!(info.protocol, "TLSv1.2");
    assert!(all.iter().any(|c| c.is_tls13()));
    // No anonymous ciphers at seclevel >= 1 even though the Postfix list starts with aNULL.
    assert!(all.iter().all(|c| c.au != "None"));
    let at0 = evaluate_postfix(MEDIUM_37, "", ctx(0, None, None)).unwrap();
    assert!(at0.iter().any(|c| c.au == "None"));

    let no_rsa = evaluate_postfix(MEDIUM_37, "kRSA", ctx(2, None, None)).unwrap();
    assert!(no_rsa.iter().all(|c| c.kx != "RSA"));
    let cmp = compare(&no_rsa, &all);
    assert!(cmp.a_narrower);
    assert!(cmp.gained.is_empty());
    assert!(cmp.lost.contains(&"AES256-GCM-SHA384".to_string()));
    assert!(!compare(&all, &no_rsa).a_narrower);

    // TLS 1.2 ceiling drops the TLS 1.3 suites; TLS 1.3 floor leaves only them.
    let tls12 = evaluate_postfix(MEDIUM_37, "", ctx(2, None, Some(Protocol::Tls1_2))).unwrap();
    assert!(tls12.iter().all(|c| !c.is_tls13()));
    let tls13 = evaluate_postfix(MEDIUM_37, "", ctx(2, Some(Protocol::Tls1_3), None)).unwrap();
    assert!(!tls13.is_empty() && tls13.iter().all(|c| c.is_tls13()));

    match supported_ciphers("NOSUCH", ctx(2, None, None)) {
        Err(TlsError::CipherList { reason, .. }) => {
            assert!(reason.contains("no cipher match"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}
