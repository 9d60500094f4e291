//! Shipped policies: dynamic values resolve from each crypto-policy for each Postfix version,
//! and every shipped policy applies cleanly to every example (postconf accepts the result with
//! no new warning, a second apply is a no-op).

mod common;

use common::{postconf, postconf_warnings, repo, Sandbox};

fn resolutions(policy_fixture: &str, version: &str) -> Vec<(String, String, String)> {
    let mut s = Sandbox::new("debian-12/stock");
    s.crypto = repo()
        .join("tests/fixtures/crypto-policies")
        .join(policy_fixture);
    let (code, v) = s.json(&[
        "--postfix-version",
        version,
        "plan",
        "-p",
        "crypto-policy-aligned",
    ]);
    assert_eq!(code, 0, "{policy_fixture} {version}: {v}");
    v["resolutions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["value"].as_str().unwrap_or("(removed)").to_string(),
                r["why"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn dynamic_values_follow_the_crypto_policy_and_the_postfix_version() {
    // (fixture, version, expected protocols value, exclusions that must be present)
    let table: &[(&str, &str, &str, &[&str])] = &[
        (
            "fedora-2024-12-DEFAULT",
            "3.5",
            "!SSLv2, !SSLv3, !TLSv1, !TLSv1.1",
            &[],
        ),
        ("fedora-2024-12-DEFAULT", "3.7", ">=TLSv1.2", &[]),
        ("fedora-2024-12-DEFAULT", "3.10", ">=TLSv1.2", &[]),
        ("fedora-2024-12-LEGACY", "3.5", "!SSLv2, !SSLv3", &[]),
        ("fedora-2024-12-LEGACY", "3.7", ">=TLSv1", &[]),
        ("fedora-2024-12-LEGACY", "3.10", ">=TLSv1", &[]),
        (
            "fedora-2024-12-FUTURE",
            "3.5",
            "!SSLv2, !SSLv3, !TLSv1, !TLSv1.1",
            &["kRSA"],
        ),
        ("fedora-2024-12-FUTURE", "3.7", ">=TLSv1.2", &["kRSA"]),
        ("fedora-2024-12-FUTURE", "3.10", ">=TLSv1.2", &["kRSA"]),
        (
            "fedora-2024-12-FIPS",
            "3.5",
            "!SSLv2, !SSLv3, !TLSv1, !TLSv1.1",
            &["kRSA"],
        ),
        ("fedora-2024-12-FIPS", "3.7", ">=TLSv1.2", &["kRSA"]),
        ("fedora-2024-12-FIPS", "3.10", ">=TLSv1.2", &["kRSA"]),
        ("fedora-2026-02-FUTURE", "3.10", ">=TLSv1.2", &["kRSA"]),
        ("fedora-2026-02-LEGACY_AD-SUPPORT", "3.7", ">=TLSv1", &[]),
    ];
    for (fixture, version, protocols, exclusions) in table {
        let r = resolutions(fixture, version);
        let policy = fixture
            .rsplit('-')
            .next()
            .unwrap()
            .split('_')
            .next()
            .unwrap();
        for name in [
            "smtpd_tls_protocols",
            "smtpd_tls_mandatory_protocols",
            "smtp_tls_protocols",
            "smtp_tls_mandatory_protocols",
        ] {
            let (_, value, why) = r
                .iter()
                .find(|(n, _, _)| n == name)
                .unwrap_or_else(|| panic!("{fixture}: {name} not resolved"));
            assert_eq!(value, protocols, "{fixture} {version} {name}");
            assert!(
                why.contains(policy) && why.contains(version),
                "{fixture}: the plan must say where {name} came from: {why}"
            );
        }
        let (_, excl, why) = r
            .iter()
            .find(|(n, _, _)| n == "smtpd_tls_exclude_ciphers")
            .unwrap();
        for e in *exclusions {
            assert!(
                excl.split(", ").any(|x| x == *e),
                "{fixture} {version}: {e} missing from {excl}"
            );
        }
        assert!(why.contains(policy), "{why}");
        if exclusions.is_empty() {
            assert!(
                !excl.split(", ").any(|x| x == "kRSA"),
                "{fixture}: kRSA is allowed by this policy: {excl}"
            );
        }
    }
}

#[test]
fn without_crypto_policies_openssl_defaults_are_the_baseline() {
    let mut s = Sandbox::new("debian-12/stock");
    s.crypto = s.tmp.path().join("no-crypto-policies-here");
    let (code, v) = s.json(&["plan", "-p", "crypto-policy-aligned"]);
    assert_eq!(code, 0, "{v}");
    assert!(
        v["crypto_policy"]
            .as_str()
            .unwrap()
            .contains("no crypto-policies"),
        "{v}"
    );
    let r = &v["resolutions"][0];
    assert_eq!(
        r["value"], ">=TLSv1.2",
        "OpenSSL 3 at security level 2 cannot do TLS < 1.2: {r}"
    );
}

#[test]
fn every_shipped_policy_applies_cleanly_to_every_example() {
    let examples = [
        "centos-stream-10/stock",
        "centos-stream-10/over-hardened",
        "centos-stream-10/submission",
        "debian-12/stock",
    ];
    let policies = [
        "inbound-opportunistic",
        "submission-mandatory",
        "crypto-policy-aligned",
        "tls-logging",
        "outbound-dane",
    ];
    for ex in examples {
        for p in policies {
            let s = Sandbox::new(ex);
            let warnings_before = postconf_warnings(&s.conf);
            let (code, v) = s.json(&["apply", "-p", p, "--no-impact"]);
            assert_eq!(code, 0, "{ex} {p}: {v}");
            let new: Vec<String> = postconf_warnings(&s.conf)
                .into_iter()
                .filter(|w| !warnings_before.contains(w))
                .collect();
            assert!(new.is_empty(), "{ex} {p}: postconf warns: {new:?}");
            let bytes = (s.main_cf(), s.master_cf());
            let (code, v2) = s.json(&["apply", "-p", p, "--no-impact"]);
            assert_eq!(
                (code, &v2["changed"]),
                (0, &serde_json::json!(false)),
                "{ex} {p}: second apply changed: {v2}"
            );
            assert_eq!(bytes, (s.main_cf(), s.master_cf()));
            if p == "inbound-opportunistic" || p == "crypto-policy-aligned" {
                let n = postconf(&s.conf, "-n");
                assert!(
                    !n.iter().any(|l| l.starts_with("tls_high_cipherlist")
                        || l.starts_with("tls_medium_cipherlist")),
                    "{ex} {p}: narrowed cipherlist left: {n:?}"
                );
            }
            if p == "inbound-opportunistic" {
                let n = postconf(&s.conf, "-n");
                assert!(n.contains(&"smtpd_tls_security_level = may".to_string()));
                let pp = postconf(&s.conf, "-P");
                assert!(
                    !pp.iter()
                        .any(|l| l.starts_with("smtp/inet/smtpd_tls_security_level")),
                    "{ex}: {pp:?}"
                );
            }
        }
    }
}

#[test]
fn submission_mandatory_only_touches_services_that_exist() {
    let s = Sandbox::new("centos-stream-10/submission");
    let (code, v) = s.json(&["apply", "-p", "submission-mandatory"]);
    assert_eq!(code, 0, "{v}");
    let p = postconf(&s.conf, "-P");
    for want in [
        "submission/inet/smtpd_tls_security_level = encrypt",
        "submission/inet/smtpd_tls_auth_only = yes",
        "submissions/inet/smtpd_tls_wrappermode = yes",
    ] {
        assert!(p.contains(&want.to_string()), "{want} missing: {p:?}");
    }
    // Roles address only listeners master.cf defines: no smtps/inet is created.
    assert!(!p.iter().any(|l| l.starts_with("smtps/")), "{p:?}");
    assert!(v["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["holds"] == true));
    // On a host without submission services nothing is created.
    let s = Sandbox::new("centos-stream-10/stock");
    let (code, v) = s.json(&["apply", "-p", "submission-mandatory"]);
    assert_eq!(code, 0);
    assert_eq!(v["changed"], false);
}
