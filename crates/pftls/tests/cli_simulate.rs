//! `pftls simulate`, the plan `impact` API and `pftls probe` error handling, run through the
//! real binary on copies of the examples. Expectations are derived from the client profiles'
//! own protocol ranges and from certificates made with the real `openssl` CLI; agreement with
//! a real Postfix is the job of `e2e_postfix.rs`.

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::Sandbox;
use pftls_tls::{builtin_profiles, Protocol};
use serde_json::Value;

const REFUSED: &str = "mail refused";
const PLAINTEXT: &str = "sender falls back to plaintext";

fn service<'a>(v: &'a Value, scope: &str) -> &'a Value {
    v["services"]
        .as_array()
        .expect("services array")
        .iter()
        .find(|s| s["service"] == scope)
        .unwrap_or_else(|| panic!("no service {scope} in {v:#}"))
}

fn clients(svc: &Value) -> &Vec<Value> {
    svc["clients"].as_array().expect("clients array")
}

fn protocol(o: &Value) -> Protocol {
    Protocol::from_name(o["protocol"].as_str().expect("protocol")).expect("known protocol")
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("the openssl CLI is needed for these tests");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Appends settings to the sandbox's main.cf (the last definition wins, as in Postfix).
fn append_main(sb: &Sandbox, text: &str) {
    let mut main = sb.main_cf();
    main.extend_from_slice(text.as_bytes());
    std::fs::write(sb.conf.join("main.cf"), main).expect("write main.cf");
}

#[test]
fn over_hardened_matrix_follows_the_profiles() {
    let sb = Sandbox::new("centos-stream-10/over-hardened");
    let (code, v) = sb.json(&["simulate", "-p", "inbound-opportunistic"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["policies"][0], "inbound-opportunistic");
    let smtp = service(&v, "smtp/inet");
    assert_eq!(smtp["level_before"], "encrypt");
    assert_eq!(smtp["level_after"], "may");
    assert_eq!(smtp["server_before"]["protocols"], ">=TLSv1.3");
    let profiles = builtin_profiles();
    let rows = clients(smtp);
    assert_eq!(rows.len(), profiles.len());
    for (p, row) in profiles.iter().zip(rows) {
        assert_eq!(row["client"], p.id.as_str());
        assert_eq!(row["name"], p.name.as_str());
        // Before: TLS 1.3 only, mandatory. Exactly the TLS 1.3 clients get through.
        let b = &row["before"];
        assert_eq!(b["ok"], p.max_protocol == Protocol::Tls1_3, "{}: {b}", p.id);
        if b["ok"] == true {
            assert_eq!(protocol(b), Protocol::Tls1_3);
            assert_eq!(row["meaning_before"], "delivered over TLS");
        } else {
            assert!(b["error"].as_str().is_some_and(|e| !e.is_empty()));
            assert_eq!(row["meaning_before"], REFUSED, "{}", p.id);
        }
        // After: opportunistic, TLS 1.2 floor. Clients without TLS 1.2 fall back to
        // plaintext; the others negotiate at least TLS 1.2; nobody is refused.
        let a = &row["after"];
        if p.max_protocol < Protocol::Tls1_2 {
            assert_eq!(a["ok"], false, "{}: {a}", p.id);
            assert_eq!(row["meaning_after"], PLAINTEXT);
        }
        if a["ok"] == true {
            assert!(protocol(a) >= Protocol::Tls1_2, "{}: {a}", p.id);
        }
        assert_ne!(row["meaning_after"], REFUSED, "{}", p.id);
        if p.max_protocol == Protocol::Tls1_3 {
            assert_eq!(a["ok"], true, "{}", p.id);
            assert_eq!(protocol(a), Protocol::Tls1_3);
        }
    }
    // The example's certificate does not exist here: a generated RSA-2048 stands in, and the
    // user is told.
    assert_eq!(smtp["server_before"]["certificate"], "stand-in RSA-2048");
    let warnings = v["warnings"].to_string();
    assert!(
        warnings.contains("/etc/pki/tls/certs/postfix.pem") && warnings.contains("RSA-2048"),
        "{warnings}"
    );
}

#[test]
fn without_policies_only_the_current_configuration() {
    let sb = Sandbox::new("centos-stream-10/over-hardened");
    let (code, v) = sb.json(&["simulate"]);
    assert_eq!(code, 0, "{v:#}");
    let smtp = service(&v, "smtp/inet");
    assert!(smtp["level_after"].is_null());
    assert!(smtp["server_after"].is_null());
    for row in clients(smtp) {
        assert!(
            row["after"].is_null() && row["meaning_after"].is_null(),
            "{row}"
        );
        assert!(row["before"]["ok"].is_boolean());
    }
    let out = sb.run(&["simulate"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("smtp/inet: encrypt\n"), "{text}");
    assert!(
        text.contains("current") && !text.contains("planned"),
        "{text}"
    );
    assert!(text.contains("REFUSED: "), "{text}");
}

#[test]
fn text_table_shows_before_and_after() {
    let sb = Sandbox::new("centos-stream-10/over-hardened");
    let out = sb.run(&[
        "--color",
        "never",
        "simulate",
        "-p",
        "inbound-opportunistic",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("smtp/inet: encrypt -> may"), "{text}");
    // A client's row; at 80 columns the planned outcome stands on the next line ("-> ...").
    let lines: Vec<&str> = text.lines().collect();
    let row = |client: &str| -> String {
        let i = lines
            .iter()
            .position(|l| l.trim_start().starts_with(client))
            .expect("a row per client");
        match lines.get(i + 1) {
            Some(n) if n.trim_start().starts_with("-> ") => format!("{} {}", lines[i], n),
            _ => lines[i].to_string(),
        }
    };
    let legacy = row("openssl_098y");
    assert!(
        legacy.contains("REFUSED: ") && legacy.contains("plaintext: "),
        "{legacy}"
    );
    let modern = row("openssl_350");
    assert_eq!(modern.matches("TLSv1.3").count(), 2, "{modern}");
    assert!(
        text.contains("current: 3/11 over TLS, 0 in plaintext, 8 refused"),
        "{text}"
    );
    assert!(!text.contains("\x1b["), "no colour with --color never");
}

#[test]
fn client_filter_and_unknown_client() {
    let sb = Sandbox::new("centos-stream-10/over-hardened");
    let (code, v) = sb.json(&[
        "simulate",
        "--client",
        "openssl_350",
        "--client",
        "java_8u31",
    ]);
    assert_eq!(code, 0, "{v:#}");
    let ids: Vec<&str> = clients(service(&v, "smtp/inet"))
        .iter()
        .map(|c| c["client"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["openssl_350", "java_8u31"]);
    let (code, v) = sb.json(&["simulate", "--client", "netscape_4"]);
    assert_eq!(code, 64, "{v:#}");
    assert_eq!(v["error"]["kind"], "usage");
    assert!(v["error"]["message"]
        .as_str()
        .expect("message")
        .contains("openssl_350"));
}

#[test]
fn extra_client_profiles_from_a_file() {
    let sb = Sandbox::new("centos-stream-10/over-hardened");
    let file = sb.tmp.path().join("profiles.json");
    std::fs::write(
        &file,
        r#"[{"id":"appliance_2016","name":"Mail appliance (2016)","min_protocol":"TLSv1.2",
            "max_protocol":"TLSv1.2","ciphers":"ECDHE-RSA-AES128-GCM-SHA256"}]"#,
    )
    .expect("write profiles");
    let f = file.to_str().expect("utf-8");
    let (code, v) = sb.json(&[
        "simulate",
        "-p",
        "inbound-opportunistic",
        "--client-profiles",
        f,
        "--client",
        "appliance_2016",
    ]);
    assert_eq!(code, 0, "{v:#}");
    let rows = clients(service(&v, "smtp/inet"));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["before"]["ok"], false);
    assert_eq!(rows[0]["after"]["ok"], true);
    assert_eq!(rows[0]["after"]["protocol"], "TLSv1.2");
    assert_eq!(rows[0]["after"]["cipher"], "ECDHE-RSA-AES128-GCM-SHA256");

    // An id that clashes with a built-in one, and a broken file, are errors naming the file.
    std::fs::write(
        &file,
        r#"[{"id":"openssl_350","name":"x","min_protocol":"TLSv1.2","max_protocol":"TLSv1.3"}]"#,
    )
    .expect("write profiles");
    let (code, v) = sb.json(&["simulate", "--client-profiles", f]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["error"]["file"], f);
    std::fs::write(&file, "{not json").expect("write");
    let (code, v) = sb.json(&["simulate", "--client-profiles", f]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["error"]["kind"], "profiles");
}

/// An EC P-256 certificate and key made by the openssl CLI in `dir`.
fn ec_cert(dir: &Path) -> (String, String) {
    let cert = dir.join("ec-cert.pem").display().to_string();
    let key = dir.join("ec-key.pem").display().to_string();
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        "/CN=mx.example.org",
        "-days",
        "2",
        "-keyout",
        &key,
        "-out",
        &cert,
    ]);
    (cert, key)
}

#[test]
fn configured_certificate_is_used_or_stood_in_for() {
    let sb = Sandbox::new("centos-stream-10/over-hardened");
    let (cert, key) = ec_cert(sb.tmp.path());
    append_main(
        &sb,
        &format!("smtpd_tls_cert_file = {cert}\nsmtpd_tls_key_file = {key}\n"),
    );
    let ecdsa_for_tls12 = |v: &Value| {
        let row = clients(service(v, "smtp/inet"))
            .iter()
            .find(|c| c["client"] == "java_8u31")
            .expect("java_8u31")
            .clone();
        assert_eq!(row["after"]["ok"], true, "{row}");
        let cipher = row["after"]["cipher"].as_str().expect("cipher").to_string();
        assert!(cipher.starts_with("ECDHE-ECDSA-"), "{cipher}");
    };
    // Readable files: the real certificate and key are used.
    let (code, v) = sb.json(&["simulate", "-p", "inbound-opportunistic"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(
        service(&v, "smtp/inet")["server_before"]["certificate"],
        cert.as_str()
    );
    assert!(!v["warnings"].to_string().contains("stand-in"), "{v:#}");
    ecdsa_for_tls12(&v);

    // Unreadable key: a generated key of the certificate's type and size, and a note.
    std::fs::remove_file(&key).expect("rm key");
    let (code, v) = sb.json(&["simulate", "-p", "inbound-opportunistic"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(
        service(&v, "smtp/inet")["server_before"]["certificate"],
        "stand-in EC prime256v1"
    );
    let w = v["warnings"].to_string();
    assert!(w.contains(&key) && w.contains("EC prime256v1"), "{w}");
    ecdsa_for_tls12(&v);

    // No certificate either: RSA-2048.
    std::fs::remove_file(&cert).expect("rm cert");
    let (_, v) = sb.json(&["simulate"]);
    assert_eq!(
        service(&v, "smtp/inet")["server_before"]["certificate"],
        "stand-in RSA-2048"
    );
}

#[test]
fn every_inbound_smtpd_service_is_simulated() {
    let sb = Sandbox::new("centos-stream-10/over-hardened");
    let master = "\
smtp      inet  n       -       n       -       1       postscreen
smtpd     pass  -       -       n       -       -       smtpd
dnsblog   unix  -       -       n       -       0       dnsblog
tlsproxy  unix  -       -       n       -       0       tlsproxy
submission inet n       -       n       -       -       smtpd
  -o smtpd_tls_security_level=encrypt
smtps     inet  n       -       n       -       -       smtpd
  -o smtpd_tls_wrappermode=yes
127.0.0.1:10025 inet n  -       n       -       -       smtpd
  -o smtpd_tls_security_level=none
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
";
    std::fs::write(sb.conf.join("master.cf"), master).expect("write master.cf");
    let (code, v) = sb.json(&[
        "simulate",
        "-p",
        "inbound-opportunistic",
        "--client",
        "openssl_350",
    ]);
    assert_eq!(code, 0, "{v:#}");
    let scopes: Vec<&str> = v["services"]
        .as_array()
        .expect("services")
        .iter()
        .map(|s| s["service"].as_str().expect("service"))
        .collect();
    assert_eq!(
        scopes,
        [
            "smtpd/pass",
            "submission/inet",
            "smtps/inet",
            "127.0.0.1:10025/inet"
        ]
    );
    let pass = service(&v, "smtpd/pass");
    assert_eq!(pass["listener"], "smtp/inet");
    assert_eq!(
        (pass["level_before"].as_str(), pass["level_after"].as_str()),
        (Some("encrypt"), Some("may"))
    );
    let sub = service(&v, "submission/inet");
    assert_eq!(
        (sub["level_before"].as_str(), sub["level_after"].as_str()),
        (Some("encrypt"), Some("encrypt"))
    );
    let smtps = service(&v, "smtps/inet");
    assert_eq!(smtps["server_after"]["wrappermode"], true);
    assert_eq!(smtps["level_after"], "encrypt");
    assert_eq!(clients(smtps)[0]["after"]["ok"], true);
    let filter = service(&v, "127.0.0.1:10025/inet");
    assert_eq!(filter["level_before"], "none");
    let row = &clients(filter)[0];
    assert_eq!(row["before"]["ok"], false);
    assert_eq!(
        row["meaning_before"],
        "no TLS offered: mail arrives in plaintext"
    );
}

#[test]
fn impact_api_for_plan_and_apply() {
    use pftls::cmd::simulate::impact;
    use pftls_policy::{Catalogue, Environment, PostfixVersion};

    let sb = Sandbox::new("centos-stream-10/over-hardened");
    let version = PostfixVersion::new(3, 7, 11);
    let baseline = pftls::crypto::baseline(&sb.crypto).expect("baseline");
    let env = Environment {
        version,
        catalogue: Catalogue::builtin(version),
        crypto: pftls::crypto::facts(&baseline, version),
    };
    let policy = pftls_policy::PolicySearch { dirs: Vec::new() }
        .load("inbound-opportunistic")
        .expect("policy");
    let plan = host::plan::plan_documents(
        &sb.main_cf(),
        &sb.master_cf(),
        &[policy],
        &env,
        (Path::new("main.cf"), Path::new("master.cf")),
    )
    .expect("plan");
    let clients = builtin_profiles();
    let imp = impact(&plan, &env, &baseline, &clients).expect("impact");
    assert_eq!(
        imp.rows.len(),
        clients.len(),
        "one TLS service x all profiles"
    );
    let json = serde_json::to_value(&imp.rows).expect("rows serialise");
    let rows = json.as_array().expect("array");
    for (row, p) in rows.iter().zip(&clients) {
        assert_eq!(row["service"], "smtp/inet");
        assert_eq!(row["client"], p.id.as_str());
        for side in ["before", "after"] {
            for k in ["ok", "protocol", "cipher", "error"] {
                assert!(row[side].get(k).is_some(), "{side}.{k} in {row}");
            }
        }
    }
    // Nobody is refused after the fix, and somebody was before.
    assert!(rows.iter().any(|r| r["meaning_before"] == REFUSED));
    assert!(rows.iter().all(|r| r["meaning_after"] != REFUSED));
    let text = pftls::render_impact::impact_text(&imp, false);
    assert!(
        text.contains("Handshake impact") && text.contains("encrypt -> may"),
        "{text}"
    );
    assert!(
        imp.notes.iter().any(|n| n.contains("RSA-2048")),
        "{:?}",
        imp.notes
    );
}

#[test]
fn probe_reports_network_errors() {
    let sb = Sandbox::new("centos-stream-10/over-hardened");
    // Nothing listens: connection refused, exit 1.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let target = format!("127.0.0.1:{port}");
    let (code, v) = sb.json(&["probe", &target, "--timeout", "2"]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["error"]["kind"], "network");
    assert!(
        v["error"]["message"]
            .as_str()
            .expect("msg")
            .contains("refused"),
        "{v:#}"
    );

    // A server that accepts but never greets: timeout, exit 1. The listener thread holds the
    // connection for at most 5 seconds.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let target = format!("127.0.0.1:{}", listener.local_addr().expect("addr").port());
    let silent = std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 64];
            let _ = s.read(&mut buf);
        }
    });
    let (code, v) = sb.json(&["probe", &target, "--timeout", "0.5"]);
    assert_eq!(code, 1, "{v:#}");
    assert!(
        v["error"]["message"]
            .as_str()
            .expect("msg")
            .contains("timeout"),
        "{v:#}"
    );
    silent.join().expect("listener thread");

    // Bad targets and options are usage errors.
    for args in [
        vec!["probe", "host:notaport"],
        vec!["probe", "127.0.0.1:25", "--timeout", "0"],
        vec!["probe", "127.0.0.1:25", "--client", "nobody"],
    ] {
        let (code, v) = sb.json(&args);
        assert_eq!(code, 64, "{args:?}: {v:#}");
    }
}
