//! `pftls doctor` end to end: the real binary on copies of the examples, certificates made
//! with the real `openssl` CLI, and `pftls apply` fixing what doctor reports.

mod common;

use std::path::Path;
use std::process::Command;

use common::{require, Sandbox};

/// Makes a self-signed RSA-2048 certificate and key with the openssl CLI.
fn openssl_cert(dir: &Path) -> (String, String) {
    require("openssl");
    let cert = dir.join("mx.crt");
    let key = dir.join("mx.key");
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "365",
            "-subj",
            "/CN=mx.example.org",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl req failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert.display().to_string(), key.display().to_string())
}

/// Points the sandbox's certificate parameters at the generated pair.
fn use_cert(s: &Sandbox) {
    let (cert, key) = openssl_cert(s.tmp.path());
    let main = String::from_utf8(s.main_cf())
        .expect("utf-8 main.cf")
        .replace("/etc/pki/tls/certs/postfix.pem", &cert)
        .replace("/etc/pki/tls/private/postfix.key", &key);
    std::fs::write(s.conf.join("main.cf"), main).expect("write main.cf");
}

fn findings(v: &serde_json::Value) -> Vec<serde_json::Value> {
    v["findings"].as_array().cloned().unwrap_or_default()
}

fn ids_of(v: &serde_json::Value) -> Vec<String> {
    findings(v)
        .iter()
        .map(|f| f["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn over_hardened_port25_error_with_exact_lines() {
    let s = Sandbox::new("centos-stream-10/over-hardened");
    let (code, v) = s.json(&["doctor", "--fail-on", "error", "--no-file-checks"]);
    assert_eq!(code, 3, "{v:#}");
    let e001: Vec<_> = findings(&v)
        .into_iter()
        .filter(|f| f["id"] == "PFTLS-E001")
        .collect();
    assert_eq!(e001.len(), 1, "{v:#}");
    assert_eq!(e001[0]["severity"], "error");
    assert_eq!(e001[0]["location"], "master.cf:13");
    let msg = e001[0]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("main.cf:715"), "{msg}");
    assert!(msg.contains("530 5.7.0"), "{msg}");
    assert!(e001[0]["fix"]
        .as_str()
        .unwrap_or_default()
        .contains("inbound-opportunistic"));
    assert_eq!(v["crypto_policy"], "crypto-policies DEFAULT");
    assert!(v["postfix_version"].is_string());
    let n = |k: &str| v["counts"][k].as_u64().unwrap_or(u64::MAX);
    let total = findings(&v).len() as u64;
    assert_eq!(n("error") + n("warning") + n("info"), total);
    assert!(n("error") >= 3, "{v:#}");
    let ids = ids_of(&v);
    for id in ["PFTLS-E003", "PFTLS-W010", "PFTLS-W030", "PFTLS-W031"] {
        assert!(ids.contains(&id.to_string()), "{id} missing: {ids:?}");
    }
}

#[test]
fn text_output_groups_by_severity() {
    let s = Sandbox::new("centos-stream-10/over-hardened");
    let out = s.run(&["doctor", "--no-file-checks", "--color", "never"]);
    assert_eq!(out.status.code(), Some(0), "no --fail-on: exit 0");
    let text = String::from_utf8_lossy(&out.stdout);
    let errors = text.find("errors (").expect("errors group");
    let warnings = text.find("warnings (").expect("warnings group");
    assert!(errors < warnings, "{text}");
    assert!(text.contains("PFTLS-E001  master.cf:13"), "{text}");
    assert!(
        text.contains("fix: pftls apply -p inbound-opportunistic"),
        "{text}"
    );
}

#[test]
fn apply_inbound_opportunistic_clears_errors() {
    let s = Sandbox::new("centos-stream-10/over-hardened");
    use_cert(&s);
    // With a valid certificate, the file checks pass; the port-25 error remains.
    let (code, before) = s.json(&["doctor", "--fail-on", "error"]);
    assert_eq!(code, 3, "{before:#}");
    let before_ids = ids_of(&before);
    assert!(before_ids.contains(&"PFTLS-E001".to_string()));
    assert!(
        !before_ids.iter().any(|i| i.starts_with("PFTLS-E02")),
        "cert findings with a good cert: {before:#}"
    );

    let out = s.run(&["apply", "-p", "inbound-opportunistic"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "apply: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !s.snapshots().is_empty(),
        "apply took a snapshot in --backup-dir"
    );

    let (code, after) = s.json(&["doctor", "--fail-on", "error"]);
    assert_eq!(code, 0, "{after:#}");
    assert_eq!(after["counts"]["error"], 0);
    let after_ids = ids_of(&after);
    for id in [
        "PFTLS-E001",
        "PFTLS-E003",
        "PFTLS-W010",
        "PFTLS-W030",
        "PFTLS-W031",
    ] {
        assert!(
            !after_ids.contains(&id.to_string()),
            "{id} still reported: {after:#}"
        );
    }
}

#[test]
fn fail_on_levels() {
    let s = Sandbox::new("centos-stream-10/stock");
    // The stock config: smtpd_tls_loglevel defaults to 0 (a warning), no errors.
    assert_eq!(
        s.run(&["doctor", "--no-file-checks", "--fail-on", "error"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        s.run(&["doctor", "--no-file-checks", "--fail-on", "warning"])
            .status
            .code(),
        Some(3)
    );
    assert_eq!(
        s.run(&["doctor", "--no-file-checks", "--fail-on", "info"])
            .status
            .code(),
        Some(3)
    );
    assert_eq!(
        s.run(&["doctor", "--fail-on", "bogus"]).status.code(),
        Some(64)
    );
}

#[test]
fn unparsable_config_exits_1_with_file_and_line() {
    let s = Sandbox::new("centos-stream-10/stock");
    let mut main = s.main_cf();
    main.extend_from_slice(b"this line has no equals sign\n");
    std::fs::write(s.conf.join("main.cf"), &main).expect("write");
    let line = main.iter().filter(|&&b| b == b'\n').count();
    let (code, v) = s.json(&["doctor"]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["error"]["line"], line as u64, "{v:#}");
    assert!(v["error"]["file"]
        .as_str()
        .unwrap_or_default()
        .ends_with("main.cf"));
    let out = s.run(&["doctor"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("main.cf:{line}")), "{err}");
}

#[test]
fn custom_client_profiles_and_dane_resolver() {
    let s = Sandbox::new("centos-stream-10/stock");
    // One modern profile that only speaks a cipher the configured list leaves out.
    let profiles = s.tmp.path().join("profiles.json");
    std::fs::write(
        &profiles,
        r#"[{"id":"only_chacha","name":"ChaCha-only TLS 1.2 sender","min_protocol":"TLSv1.2","max_protocol":"TLSv1.2","ciphers":"ECDHE-RSA-CHACHA20-POLY1305"}]"#,
    )
    .expect("write profiles");
    let mut main = String::from_utf8(s.main_cf()).expect("utf-8");
    main.push_str(
        "tls_medium_cipherlist = ECDHE-RSA-AES256-GCM-SHA384\nsmtp_tls_security_level = dane\n",
    );
    std::fs::write(s.conf.join("main.cf"), main).expect("write");
    let resolv = s.tmp.path().join("resolv.conf");
    std::fs::write(&resolv, "nameserver 192.0.2.53\n").expect("write");
    let resolv_arg = resolv.display().to_string();
    let profiles_arg = profiles.display().to_string();
    let (_, v) = s.json(&[
        "doctor",
        "--no-file-checks",
        "--client-profiles",
        &profiles_arg,
        "--resolv-conf",
        &resolv_arg,
    ]);
    let ids = ids_of(&v);
    for id in ["PFTLS-W012", "PFTLS-E060", "PFTLS-W061"] {
        assert!(ids.contains(&id.to_string()), "{id} missing: {v:#}");
    }
    let w012 = findings(&v)
        .into_iter()
        .find(|f| f["id"] == "PFTLS-W012")
        .expect("W012");
    assert!(w012["message"]
        .as_str()
        .unwrap_or_default()
        .contains("only_chacha"));
    // A broken profiles file is an error naming it.
    std::fs::write(&profiles, "{").expect("write");
    let (code, v) = s.json(&["doctor", "--client-profiles", &profiles_arg]);
    assert_eq!(code, 1, "{v:#}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("profiles.json"));
}

/// MTA-STS in mode enforce with an MX the certificate does not cover is an error; the same
/// policy with a covered MX, or in mode testing, is not.
#[test]
fn mta_sts_enforce_with_uncovered_mx() {
    require("openssl");
    let s = Sandbox::new("centos-stream-10/stock");
    let cert = s.tmp.path().join("san.crt");
    let key = s.tmp.path().join("san.key");
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "365",
            "-subj",
            "/CN=mx1.example.org",
        ])
        .args([
            "-addext",
            "subjectAltName=DNS:mx1.example.org,DNS:*.backup.example.org",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let main = String::from_utf8(s.main_cf())
        .unwrap()
        .replace("/etc/pki/tls/certs/postfix.pem", cert.to_str().unwrap())
        .replace("/etc/pki/tls/private/postfix.key", key.to_str().unwrap());
    std::fs::write(s.conf.join("main.cf"), main).unwrap();
    let policy = s.tmp.path().join("mta-sts.txt");
    let run = |text: &str| {
        std::fs::write(&policy, text).unwrap();
        let (_, v) = s.json(&["doctor", "--mta-sts-policy", policy.to_str().unwrap()]);
        ids_of(&v)
    };
    let bad = run("version: STSv1\nmode: enforce\nmx: mx1.example.org\nmx: mx2.example.org\nmax_age: 604800\n");
    assert!(bad.contains(&"PFTLS-E062".to_string()), "{bad:?}");
    let good = run("version: STSv1\nmode: enforce\nmx: mx1.example.org\nmx: a.backup.example.org\nmax_age: 604800\n");
    assert!(
        !good.iter().any(|i| i == "PFTLS-E062" || i == "PFTLS-W063"),
        "{good:?}"
    );
    let testing = run("version: STSv1\nmode: testing\nmx: mx2.example.org\nmax_age: 604800\n");
    assert!(!testing.contains(&"PFTLS-E062".to_string()), "{testing:?}");
    let invalid = run("version: STSv2\nmode: sometimes\n");
    assert!(invalid.contains(&"PFTLS-W063".to_string()), "{invalid:?}");
}
