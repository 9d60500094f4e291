//! In-memory handshake simulation: the reference matrix (§3.2), failure reasons, and
//! agreement with real `openssl s_server` / `s_client` processes.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use pftls_tls::keys::{generated, CertSpec, KeySpec};
use pftls_tls::postfix_defaults::{HIGH_38, MEDIUM_37};
use pftls_tls::simulate::{
    effective_client, simulate, HandshakeOutcome, ServerTls, NO_CLIENT_CIPHER,
};
use pftls_tls::{builtin_profiles, ClientProfile, Protocol};

const CP_DEFAULT: &str = "@SECLEVEL=2:kEECDH:kRSA:kEDH:kPSK:kDHEPSK:kECDHEPSK:kRSAPSK:-aDSS:-3DES:!DES:!RC4:!RC2:!IDEA:-SEED:!eNULL:!aNULL:!MD5:-SHA384:-CAMELLIA:-ARIA:-AESCCM8";

fn profile(id: &str) -> ClientProfile {
    builtin_profiles().into_iter().find(|p| p.id == id).unwrap()
}

/// S1: Postfix < 3.8 medium at SECLEVEL=2 (RHEL 9 DEFAULT effective).
fn s1() -> ServerTls {
    ServerTls::default()
}
/// S2: same with @SECLEVEL=0, floor TLSv1.
fn s2() -> ServerTls {
    ServerTls {
        ciphers: format!("{MEDIUM_37}:@SECLEVEL=0"),
        seclevel: 0,
        min_protocol: Some(Protocol::Tls1),
        ..s1()
    }
}
/// S3: Postfix 3.8 high, SECLEVEL=2, >= TLS 1.2.
fn s3() -> ServerTls {
    ServerTls {
        ciphers: HIGH_38.into(),
        min_protocol: Some(Protocol::Tls1_2),
        ..s1()
    }
}
/// S4: crypto-policies DEFAULT CipherString, >= TLS 1.2.
fn s4() -> ServerTls {
    ServerTls {
        ciphers: CP_DEFAULT.into(),
        min_protocol: Some(Protocol::Tls1_2),
        ..s1()
    }
}

fn short(o: &HandshakeOutcome) -> String {
    if o.ok {
        format!(
            "{} {}",
            o.protocol.as_deref().unwrap_or("?"),
            o.cipher.as_deref().unwrap_or("?")
        )
    } else {
        "FAIL".into()
    }
}

#[test]
fn reference_matrix() {
    let expect: &[(&str, [&str; 4])] = &[
        (
            "openssl_098y",
            ["FAIL", "TLSv1 DHE-RSA-AES256-SHA", "FAIL", "FAIL"],
        ),
        (
            "ie_8-10_win7",
            ["FAIL", "TLSv1 ECDHE-RSA-AES256-SHA", "FAIL", "FAIL"],
        ),
        (
            "java_7u25",
            ["FAIL", "TLSv1 ECDHE-RSA-AES128-SHA", "FAIL", "FAIL"],
        ),
        ("openssl_101l", ["TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384"; 4]),
        (
            "ie_11_win7",
            [
                "TLSv1.2 ECDHE-RSA-AES256-SHA384",
                "TLSv1.2 ECDHE-RSA-AES256-SHA384",
                "TLSv1.2 ECDHE-RSA-AES256-SHA384",
                "TLSv1.2 ECDHE-RSA-AES128-SHA256",
            ],
        ),
        ("java_8u31", ["TLSv1.2 ECDHE-RSA-AES128-SHA256"; 4]),
        ("openssl_111d", ["TLSv1.3 TLS_AES_256_GCM_SHA384"; 4]),
        ("openssl_315", ["TLSv1.3 TLS_AES_256_GCM_SHA384"; 4]),
    ];
    let servers = [s1(), s2(), s3(), s4()];
    for (id, row) in expect {
        let p = profile(id);
        for (i, server) in servers.iter().enumerate() {
            let o = simulate(server, &p);
            assert_eq!(short(&o), row[i], "{id} vs S{}: {o:?}", i + 1);
            assert_eq!(o.ok, o.error.is_none());
        }
    }
}

#[test]
fn failure_reasons_are_openssl_reasons() {
    // TLS 1.0 client at seclevel 2 (OpenSSL 3.0): no SHA-2 signature possible.
    let o = simulate(&s1(), &profile("openssl_098y"));
    assert_eq!(o.error.as_deref(), Some("no suitable signature algorithm"));
    // TLS 1.0 client against a >= TLS 1.2 floor.
    let o = simulate(&s3(), &profile("ie_8-10_win7"));
    assert_eq!(o.error.as_deref(), Some("unsupported protocol"));
    // TLS 1.2-only client against a TLS 1.3-only server.
    let o = simulate(
        &ServerTls {
            min_protocol: Some(Protocol::Tls1_3),
            ..s1()
        },
        &profile("java_8u31"),
    );
    assert_eq!(o.error.as_deref(), Some("unsupported protocol"));
    // No common cipher.
    let o = simulate(
        &ServerTls {
            ciphers: format!("{MEDIUM_37}:!ECDHE:!kRSA:!DHE"),
            max_protocol: Some(Protocol::Tls1_2),
            ..s1()
        },
        &profile("ie_11_win7"),
    );
    assert_eq!(o.error.as_deref(), Some("no shared cipher"));
    // RSA-2048 under SECLEVEL=3 (crypto-policies FUTURE): the server cannot load its key.
    let o = simulate(
        &ServerTls {
            seclevel: 3,
            ..s1()
        },
        &profile("openssl_315"),
    );
    assert_eq!(o.error.as_deref(), Some("ee key too small"));
    // A client this OpenSSL build cannot express at all.
    let ancient = ClientProfile {
        ciphers: "EXP-RC4-MD5:RC4-MD5:IDEA-CBC-SHA".into(),
        ..profile("openssl_098y")
    };
    assert!(effective_client(&ancient).is_err());
    assert_eq!(
        simulate(&s2(), &ancient).error.as_deref(),
        Some(NO_CLIENT_CIPHER)
    );
    // Unknown names are skipped, not fatal.
    let eff = effective_client(&profile("java_7u25")).unwrap();
    assert!(!eff.ciphers.contains("RC4") && eff.ciphers.contains("ECDHE-RSA-AES128-SHA"));
    assert!(eff.groups.split(':').all(|g| !g.is_empty()));
}

#[test]
fn server_preference_and_ecdsa() {
    // Server order: CHACHA20 first on the server wins only with preference on.
    let ciphers = "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256".to_string();
    let client = ClientProfile {
        max_protocol: Protocol::Tls1_2,
        ciphers: "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305".into(),
        tls13_ciphersuites: String::new(),
        ..profile("openssl_315")
    };
    let base = ServerTls { ciphers, ..s1() };
    assert_eq!(
        simulate(&base, &client).cipher.as_deref(),
        Some("ECDHE-RSA-AES128-GCM-SHA256")
    );
    let pref = ServerTls {
        prefer_server_order: true,
        ..base
    };
    assert_eq!(
        simulate(&pref, &client).cipher.as_deref(),
        Some("ECDHE-RSA-CHACHA20-POLY1305")
    );
    // ECDSA certificate: an ECDSA suite is chosen for a TLS 1.2 client.
    let ec = ServerTls {
        cert: CertSpec::Generated(KeySpec::Ec("prime256v1".into())),
        ..s1()
    };
    let o = simulate(&ec, &profile("java_8u31"));
    assert_eq!(
        o.cipher.as_deref(),
        Some("ECDHE-ECDSA-AES128-SHA256"),
        "{o:?}"
    );
}

// ---- agreement with the real openssl CLI ----

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        // Only the child we spawned, by its own handle.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_s_server(server: &ServerTls, dir: &Path) -> (Server, u16) {
    let CertSpec::Generated(spec) = &server.cert else {
        panic!("generated certs only")
    };
    let ck = generated(spec).unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, ck.cert.to_pem().unwrap()).unwrap();
    std::fs::write(&key, ck.key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let ciphers = if server.ciphers.contains("@SECLEVEL") {
        server.ciphers.clone()
    } else {
        format!("{}:@SECLEVEL={}", server.ciphers, server.seclevel)
    };
    for _attempt in 0..3 {
        let port = free_port();
        let mut cmd = Command::new("openssl");
        cmd.args(["s_server", "-accept", &format!("127.0.0.1:{port}"), "-cert"])
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .args(["-cipher", &ciphers]);
        if let Some(p) = server.min_protocol {
            cmd.args(["-min_protocol", p.name()]);
        }
        if let Some(p) = server.max_protocol {
            cmd.args(["-max_protocol", p.name()]);
        }
        if server.prefer_server_order {
            cmd.arg("-serverpref");
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .take(50)
            {
                if line.contains("ACCEPT") {
                    let _ = tx.send(());
                }
            }
        });
        let guard = Server(child);
        if rx.recv_timeout(Duration::from_secs(10)).is_ok() {
            return (guard, port);
        }
    }
    panic!("s_server did not start");
}

fn s_client(port: u16, client: &ClientProfile) -> (bool, Option<String>, Option<String>) {
    let eff = effective_client(client).unwrap();
    let mut cmd = Command::new("timeout");
    cmd.args([
        "10",
        "openssl",
        "s_client",
        "-connect",
        &format!("127.0.0.1:{port}"),
        "-brief",
    ])
    .args(["-cipher", &format!("{}:@SECLEVEL=0", eff.ciphers)])
    .args(["-ciphersuites", &eff.tls13_ciphersuites])
    .args([
        "-min_protocol",
        eff.min_protocol.name(),
        "-max_protocol",
        eff.max_protocol.name(),
    ]);
    if !eff.groups.is_empty() {
        cmd.args(["-groups", &eff.groups]);
    }
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k))
            .map(|v| v.trim().to_string())
    };
    let ok = text.contains("CONNECTION ESTABLISHED");
    (ok, field("Protocol version:"), field("Ciphersuite:"))
}

#[test]
fn agrees_with_openssl_s_server_and_s_client() {
    if !common::have_tool("openssl", &["version"]) || !common::have_tool("timeout", &["--version"])
    {
        return;
    }
    let ec = ServerTls {
        cert: CertSpec::Generated(KeySpec::Ec("prime256v1".into())),
        ..s2()
    };
    let combos: Vec<(ServerTls, &[&str])> = vec![
        (s1(), &["openssl_098y", "ie_11_win7", "openssl_315"]),
        (s2(), &["openssl_098y", "java_7u25"]),
        (s4(), &["ie_11_win7", "java_7u25", "openssl_101l"]),
        (ec, &["ie_8-10_win7", "java_8u31"]),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut compared = 0;
    for (server, clients) in combos {
        let (_guard, port) = start_s_server(&server, dir.path());
        for id in clients {
            let p = profile(id);
            let sim = simulate(&server, &p);
            let (ok, proto, cipher) = s_client(port, &p);
            assert_eq!(
                sim.ok, ok,
                "{id} vs {}: sim {sim:?}, cli {proto:?} {cipher:?}",
                server.ciphers
            );
            if ok {
                assert_eq!(sim.protocol, proto, "{id}");
                assert_eq!(sim.cipher, cipher, "{id}");
            }
            compared += 1;
        }
    }
    assert_eq!(compared, 10);
}
