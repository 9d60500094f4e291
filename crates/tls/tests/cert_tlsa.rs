//! Certificate checks on generated certificates, and TLSA digests cross-checked with the
//! `openssl` CLI pipelines from the reference (§6.3).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use pftls_tls::cert::{check_cert_files, key_acceptable, CertCheck, CertProblem};
use pftls_tls::keys::{generate_key, self_signed, KeySpec};
use pftls_tls::tlsa::{read_certs, tlsa_2_1_1, tlsa_3_0_1, tlsa_3_1_1, tlsa_for_chain_file};

fn write_pair(dir: &Path, name: &str, key: &PKey<Private>, cert: &X509) -> (PathBuf, PathBuf) {
    let c = dir.join(format!("{name}.crt"));
    let k = dir.join(format!("{name}.key"));
    std::fs::write(&c, cert.to_pem().unwrap()).unwrap();
    std::fs::write(&k, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    (c, k)
}

fn rsa(bits: u32) -> PKey<Private> {
    generate_key(&KeySpec::Rsa(bits)).unwrap()
}

#[test]
fn cert_checks() {
    let dir = tempfile::tempdir().unwrap();
    let check = CertCheck {
        warn_days: 30,
        seclevel: 2,
    };
    let k2048 = rsa(2048);

    // Good certificate, separate key file.
    let good = self_signed(&k2048, "mx.example.org", -1, 365).unwrap();
    let (c, k) = write_pair(dir.path(), "good", &k2048, &good);
    let r = check_cert_files(&c, Some(&k), &check);
    assert!(r.ok(), "{:?}", r.problems);
    assert_eq!(r.key_matches, Some(true));
    assert_eq!(
        (r.key_type.as_deref(), r.key_bits),
        (Some("RSA"), Some(2048))
    );
    assert_eq!(r.names, vec!["mx.example.org"]);
    assert!(
        (363..=365).contains(&r.days_left.unwrap()),
        "{:?}",
        r.days_left
    );
    assert_eq!(r.seclevel_ok, Some(true));

    // Key and cert in one file (smtpd_tls_chain_files style), key first.
    let both = dir.path().join("both.pem");
    std::fs::write(
        &both,
        [
            k2048.private_key_to_pem_pkcs8().unwrap(),
            good.to_pem().unwrap(),
        ]
        .concat(),
    )
    .unwrap();
    let r = check_cert_files(&both, None, &check);
    assert!(r.ok() && r.key_matches == Some(true), "{:?}", r.problems);

    // Expired and expiring.
    let expired = self_signed(&k2048, "old.example.org", -100, 50).unwrap();
    let (c, k) = write_pair(dir.path(), "expired", &k2048, &expired);
    let r = check_cert_files(&c, Some(&k), &check);
    assert!(
        matches!(r.problems.as_slice(), [CertProblem::Expired { .. }]),
        "{:?}",
        r.problems
    );
    assert!(r.days_left.unwrap() < 0);
    let soon = self_signed(&k2048, "soon.example.org", -10, 20).unwrap();
    let (c, k) = write_pair(dir.path(), "soon", &k2048, &soon);
    let r = check_cert_files(&c, Some(&k), &check);
    assert!(
        matches!(r.problems.as_slice(), [CertProblem::Expiring { days_left }] if (9..=10).contains(days_left)),
        "{:?}",
        r.problems
    );
    assert!(check_cert_files(
        &c,
        Some(&k),
        &CertCheck {
            warn_days: 5,
            seclevel: 2
        }
    )
    .ok());

    // Mismatched key.
    let other = rsa(2048);
    let (c, _) = write_pair(dir.path(), "mismatch", &k2048, &good);
    let (_, wrong_key) = write_pair(dir.path(), "other", &other, &good);
    let r = check_cert_files(&c, Some(&wrong_key), &check);
    assert_eq!(r.key_matches, Some(false));
    assert_eq!(r.problems.first(), Some(&CertProblem::KeyMismatch));

    // RSA-1024 at seclevel 2; RSA-2048 at seclevel 3; EC P-256 passes 3.
    let k1024 = rsa(1024);
    let weak = self_signed(&k1024, "weak.example.org", -1, 365).unwrap();
    let (c, k) = write_pair(dir.path(), "weak", &k1024, &weak);
    let r = check_cert_files(&c, Some(&k), &check);
    assert!(
        matches!(
            &r.problems[..],
            [CertProblem::KeyTooSmall {
                bits: 1024,
                seclevel: 2,
                ..
            }]
        ),
        "{:?}",
        r.problems
    );
    assert!(r.problems[0].to_string().contains("ee key too small"));
    assert!(check_cert_files(
        &c,
        Some(&k),
        &CertCheck {
            warn_days: 30,
            seclevel: 1
        }
    )
    .ok());
    let (c, k) = write_pair(dir.path(), "good3", &k2048, &good);
    let r = check_cert_files(
        &c,
        Some(&k),
        &CertCheck {
            warn_days: 30,
            seclevel: 3,
        },
    );
    assert_eq!(r.seclevel_ok, Some(false));
    let ec = generate_key(&KeySpec::Ec("P-256".into())).unwrap();
    let ec_cert = self_signed(&ec, "ec.example.org", -1, 365).unwrap();
    let (c, k) = write_pair(dir.path(), "ec", &ec, &ec_cert);
    let r = check_cert_files(
        &c,
        Some(&k),
        &CertCheck {
            warn_days: 30,
            seclevel: 3,
        },
    );
    assert!(r.ok(), "{:?}", r.problems);
    assert_eq!(
        (r.key_type.as_deref(), r.curve.as_deref()),
        (Some("EC"), Some("prime256v1"))
    );
    assert!(key_acceptable(112, 2) && !key_acceptable(112, 3) && key_acceptable(0, 0));

    // Missing, unreadable (a directory), garbage.
    let r = check_cert_files(&dir.path().join("nope.pem"), None, &check);
    assert!(matches!(&r.problems[..], [CertProblem::Missing { .. }]));
    let r = check_cert_files(dir.path(), None, &check);
    assert!(
        matches!(&r.problems[..], [CertProblem::Unreadable { .. }]),
        "{:?}",
        r.problems
    );
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let r = check_cert_files(&junk, None, &check);
    assert!(matches!(&r.problems[..], [CertProblem::Unparsable { .. }]));
    // Cert without any key in the key file.
    let (c, _) = write_pair(dir.path(), "nokey", &k2048, &good);
    let r = check_cert_files(&c, None, &check);
    assert!(r
        .problems
        .iter()
        .any(|p| matches!(p, CertProblem::Unparsable { .. })));
}

fn sh(script: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "{script}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn tlsa_matches_openssl_cli() {
    if !common::have_tool("openssl", &["version"])
        || !common::have_tool("sha256sum", &["--version"])
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for spec in [KeySpec::Rsa(2048), KeySpec::Ec("prime256v1".into())] {
        let key = generate_key(&spec).unwrap();
        let cert = self_signed(&key, "mx.example.org", -1, 30).unwrap();
        let (c, k) = write_pair(dir.path(), "leaf", &key, &cert);
        let c = c.display();
        let spki_cli = sh(&format!(
            "openssl x509 -in {c} -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | od -An -tx1 | tr -d ' \\n'"
        ));
        let from_key = sh(&format!(
            "openssl pkey -in {} -pubout -outform DER | openssl dgst -sha256 | sed 's/.*= *//'",
            k.display()
        ));
        let full = sh(&format!(
            "openssl x509 -in {c} -outform DER | sha256sum | cut -d' ' -f1"
        ));
        let r311 = tlsa_3_1_1(&cert).unwrap();
        assert_eq!(r311.data, spki_cli);
        assert_eq!(r311.data, from_key.trim());
        assert_eq!(tlsa_3_0_1(&cert).unwrap().data, full.trim());
        assert_eq!(
            r311.zone_line("mx.example.org.", 25),
            format!("_25._tcp.mx.example.org. IN TLSA 3 1 1 {spki_cli}")
        );
        assert_eq!(r311.data.len(), 64);
    }
    // Chain file: leaf 3 1 1, issuer 2 1 1.
    let ca_key = rsa(2048);
    let ca = self_signed(&ca_key, "ca.example.org", -1, 300).unwrap();
    let leaf_key = rsa(2048);
    let leaf = self_signed(&leaf_key, "mx.example.org", -1, 30).unwrap();
    let chain = dir.path().join("chain.pem");
    std::fs::write(
        &chain,
        [
            leaf_key.private_key_to_pem_pkcs8().unwrap(),
            leaf.to_pem().unwrap(),
            ca.to_pem().unwrap(),
        ]
        .concat(),
    )
    .unwrap();
    let recs = tlsa_for_chain_file(&chain).unwrap();
    assert_eq!(read_certs(&chain).unwrap().len(), 2);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0], tlsa_3_1_1(&leaf).unwrap());
    assert_eq!(recs[1], tlsa_2_1_1(&ca).unwrap());
    assert!(recs[1].rdata().starts_with("2 1 1 "));
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, ca.to_pem().unwrap()).unwrap();
    let ca_cli = sh(&format!("openssl x509 -in {} -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1", ca_path.display()));
    assert_eq!(recs[1].data, ca_cli.trim());
    assert!(tlsa_for_chain_file(&dir.path().join("missing.pem")).is_err());
}
