//! `pftls mta-sts` and `pftls tlsa` end to end: the real binary on a sandboxed Debian config
//! with certificates made by the real `openssl` CLI; TLSA data cross-checked against the
//! openssl pipeline of the reference (section 6.3).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{require, Sandbox};

fn openssl(args: &[&str]) -> Vec<u8> {
    require("openssl");
    let out = Command::new("openssl").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Key + certificate (EC P-256) for `cn` with DNS SANs, self-signed or signed by `ca`.
fn make(dir: &Path, name: &str, sans: &[&str], ca: Option<(&Path, &Path)>) -> (PathBuf, PathBuf) {
    let crt = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    let mut args: Vec<String> = vec![
        "req".into(),
        "-x509".into(),
        "-nodes".into(),
        "-days".into(),
        "30".into(),
        "-newkey".into(),
        "ec".into(),
        "-pkeyopt".into(),
        "ec_paramgen_curve:P-256".into(),
        "-keyout".into(),
        key.display().to_string(),
        "-out".into(),
        crt.display().to_string(),
        "-subj".into(),
        format!("/CN={name}"),
    ];
    if !sans.is_empty() {
        let list: Vec<String> = sans.iter().map(|s| format!("DNS:{s}")).collect();
        args.push("-addext".into());
        args.push(format!("subjectAltName={}", list.join(",")));
    }
    if let Some((c, k)) = ca {
        args.extend([
            "-CA".into(),
            c.display().to_string(),
            "-CAkey".into(),
            k.display().to_string(),
        ]);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    openssl(&refs);
    (crt, key)
}

/// `openssl x509 -pubkey | openssl pkey -pubin -outform DER | sha256` via the CLI.
fn spki_sha256(cert: &Path) -> String {
    let dir = tempfile::tempdir().unwrap();
    let pubkey = dir.path().join("pub.pem");
    std::fs::write(
        &pubkey,
        openssl(&["x509", "-in", cert.to_str().unwrap(), "-noout", "-pubkey"]),
    )
    .unwrap();
    let der = dir.path().join("pub.der");
    openssl(&[
        "pkey",
        "-pubin",
        "-in",
        pubkey.to_str().unwrap(),
        "-outform",
        "DER",
        "-out",
        der.to_str().unwrap(),
    ]);
    let out = openssl(&["dgst", "-sha256", "-r", der.to_str().unwrap()]);
    String::from_utf8_lossy(&out)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// A sandbox whose main.cf sets myhostname (Debian example: mx.example.org, no mydomain) and
/// serves a CA-signed chain (key, leaf, CA) through smtpd_tls_chain_files.
struct Env {
    sb: Sandbox,
    ca: PathBuf,
    ca_key: PathBuf,
    leaf: PathBuf,
    chain: PathBuf,
}

fn env(sans: &[&str]) -> Env {
    let sb = Sandbox::new("debian-12/stock");
    let d = sb.tmp.path().to_path_buf();
    let (ca, ca_key) = make(&d, "Test CA", &[], None);
    let (leaf, key) = make(&d, "mx.example.org", sans, Some((&ca, &ca_key)));
    let chain = d.join("chain.pem");
    let mut all = std::fs::read(&key).unwrap();
    all.extend(std::fs::read(&leaf).unwrap());
    all.extend(std::fs::read(&ca).unwrap());
    std::fs::write(&chain, all).unwrap();
    let mut main = sb.main_cf();
    main.extend(format!("smtpd_tls_chain_files = {}\n", chain.display()).as_bytes());
    std::fs::write(sb.conf.join("main.cf"), main).unwrap();
    Env {
        sb,
        ca,
        ca_key,
        leaf,
        chain,
    }
}

fn text(o: &Output) -> (i32, String, String) {
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn sha256_hex(b: &[u8]) -> String {
    openssl::sha::sha256(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

#[test]
fn generate_from_the_configuration() {
    let e = env(&["mx.example.org"]);
    let (code, out, err) = text(&e.sb.run(&["mta-sts"]));
    assert_eq!(code, 0, "{out}{err}");
    let policy = "version: STSv1\nmode: testing\nmx: mx.example.org\nmax_age: 604800\n";
    assert!(out.contains(policy), "{out}");
    assert!(
        out.contains("https://mta-sts.example.org/.well-known/mta-sts.txt"),
        "{out}"
    );
    let id = &sha256_hex(policy.as_bytes())[..32];
    assert!(
        out.contains(&format!(
            "_mta-sts.example.org. IN TXT \"v=STSv1; id={id};\""
        )),
        "{out}"
    );
    assert!(
        out.contains(
            "_smtp._tls.example.org. IN TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@example.org\""
        ),
        "{out}"
    );
    assert!(!err.contains("warning"), "{err}");

    // JSON: same id on a second run, another id when the policy changes.
    let (code, v) = e.sb.json(&["mta-sts"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["id"], id);
    assert_eq!(v["policy"]["text"], policy);
    assert_eq!(v["domain"], "example.org");
    assert_eq!(
        v["certificate"]["names"],
        serde_json::json!(["mx.example.org"])
    );
    assert_eq!(v["certificate"]["uncovered_mx"], serde_json::json!([]));
    let (_, v2) = e.sb.json(&["mta-sts", "--mode", "enforce"]);
    assert_ne!(v2["id"], v["id"]);
    assert_eq!(v2["policy"]["mode"], "enforce");
}

#[test]
fn generate_with_options_and_uncovered_mx() {
    let e = env(&["mx.example.org", "*.in.example.net"]);
    let (code, v) = e.sb.json(&[
        "mta-sts",
        "--domain",
        "Example.NET",
        "--mx",
        "a.in.example.net",
        "--mx",
        "*.example.net",
        "--mode",
        "enforce",
        "--max-age",
        "31557600",
        "--rua",
        "mailto:reports@example.net",
        "--rua",
        "https://tlsrpt.example.net/v1",
    ]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["domain"], "example.net");
    assert_eq!(
        v["policy"]["mx"],
        serde_json::json!(["a.in.example.net", "*.example.net"])
    );
    assert_eq!(v["policy"]["max_age"], 31557600);
    assert_eq!(
        v["records"]["tlsrpt"]["value"],
        "v=TLSRPTv1; rua=mailto:reports@example.net,https://tlsrpt.example.net/v1"
    );
    assert_eq!(v["records"]["mta_sts"]["name"], "_mta-sts.example.net.");
    assert_eq!(
        v["certificate"]["uncovered_mx"],
        serde_json::json!(["*.example.net"])
    );
    let w = v["warnings"].as_array().unwrap();
    assert!(
        w.iter().any(|w| w
            .as_str()
            .unwrap()
            .contains("mx *.example.net is not covered")),
        "{w:?}"
    );
}

#[test]
fn generate_refuses_bad_options() {
    let e = env(&["mx.example.org"]);
    for args in [
        vec!["mta-sts", "--mode", "bogus"],
        vec!["mta-sts", "--max-age", "31557601"],
        vec!["mta-sts", "--mx", "mail.*.example.org"],
        vec!["mta-sts", "--rua", "ftp://example.org/x"],
        vec!["mta-sts", "--domain", "not a domain"],
        vec!["mta-sts", "--check", "x", "--mx", "a.example.org"],
        vec!["mta-sts", "--check", "x", "--mode", "enforce"],
    ] {
        let (code, out, err) = text(&e.sb.run(&args));
        assert_eq!(code, 64, "{args:?}: {out}{err}");
    }
    // Single-label names (Postfix's fall-backs) are flagged.
    let (code, v) =
        e.sb.json(&["mta-sts", "--domain", "localdomain", "--mx", "localhost"]);
    assert_eq!(code, 0, "{v}");
    let w: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        w[0].starts_with("domain localdomain is not a fully qualified"),
        "{w:?}"
    );
    assert!(
        w[1].starts_with("mx localhost is not a fully qualified"),
        "{w:?}"
    );
    // JSON mode: one object with the error.
    let (code, v) = e.sb.json(&["mta-sts", "--mx", "mail.*.example.org"]);
    assert_eq!(code, 64);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("leftmost label"),
        "{v}"
    );
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

#[test]
fn check_valid_and_malformed_policies() {
    let e = env(&["mx.example.org", "*.mail.example.org"]);
    let d = e.sb.tmp.path();
    let good = write(
        d,
        "good.txt",
        "version: STSv1\r\nmode: enforce\r\nmx: mx.example.org\r\nmx: in.mail.example.org\r\nmax_age: 604800\r\n",
    );
    let (code, out, err) = text(&e.sb.run(&["mta-sts", "--check", good.to_str().unwrap()]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("valid MTA-STS policy (mode enforce, 2 mx, max_age 604800)"),
        "{out}"
    );
    let id = &sha256_hex(&std::fs::read(&good).unwrap())[..32];
    assert!(
        out.contains(&format!(
            "_mta-sts.example.org. IN TXT \"v=STSv1; id={id};\""
        )),
        "{out}"
    );

    let cases: &[(&str, &str, Option<usize>, &str)] = &[
        ("empty.txt", "", None, "empty policy file"),
        (
            "noversion.txt",
            "mode: enforce\nmx: mx.example.org\nmax_age: 86400\n",
            None,
            "missing required key `version`",
        ),
        (
            "bogus.txt",
            "version: STSv1\nmode: bogus\nmx: mx.example.org\nmax_age: 86400\n",
            Some(2),
            "\"bogus\"",
        ),
        (
            "maxage.txt",
            "version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 31557601\n",
            Some(4),
            "larger than",
        ),
        (
            "wild.txt",
            "version: STSv1\nmode: enforce\nmx: mx.*.example.org\nmax_age: 86400\n",
            Some(3),
            "leftmost label",
        ),
        (
            "dup.txt",
            "version: STSv1\r\nversion: STSv1\r\nmode: enforce\r\nmx: mx.example.org\r\nmax_age: 86400\r\n",
            Some(2),
            "duplicate key `version`",
        ),
        (
            "uncovered.txt",
            "version: STSv1\nmode: enforce\nmx: mx.example.org\nmx: backup.example.org\nmax_age: 86400\n",
            Some(4),
            "mx backup.example.org is not covered by the certificate names (mx.example.org, *.mail.example.org)",
        ),
    ];
    for (name, body, line, needle) in cases {
        let p = write(d, name, body);
        let ps = p.display().to_string();
        let (code, out, err) = text(&e.sb.run(&["mta-sts", "--check", &ps]));
        assert_eq!(code, 1, "{name}: {out}{err}");
        let loc = match line {
            Some(l) => format!("{ps}:{l}: error: "),
            None => format!("{ps}: error: "),
        };
        assert!(
            out.lines()
                .any(|l| l.starts_with(&loc) && l.contains(needle)),
            "{name}: want {loc}...{needle} in\n{out}"
        );
        assert!(out.contains("invalid MTA-STS policy"), "{out}");

        let (code, v) = e.sb.json(&["mta-sts", "--check", &ps]);
        assert_eq!(code, 1, "{v}");
        assert_eq!(v["valid"], false);
        assert_eq!(v["error"]["kind"], "validation");
        assert_eq!(v["error"]["file"], ps.as_str());
        assert_eq!(v["error"]["line"], serde_json::json!(line));
        let issue = v["issues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["severity"] == "error")
            .unwrap();
        assert!(issue["message"].as_str().unwrap().contains(needle), "{v}");
    }

    // Mode none: an uncovered mx is only a warning.
    let none = write(
        d,
        "none.txt",
        "version: STSv1\nmode: none\nmx: backup.example.org\nmax_age: 86400\n",
    );
    let (code, v) = e.sb.json(&["mta-sts", "--check", none.to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["valid"], true);
    assert_eq!(v["issues"][0]["severity"], "warning");
    assert_eq!(
        v["certificate"]["uncovered_mx"],
        serde_json::json!(["backup.example.org"])
    );
}

#[test]
fn check_with_explicit_and_unreadable_certificates() {
    let e = env(&["mx.example.org"]);
    let d = e.sb.tmp.path();
    let p = write(
        d,
        "p.txt",
        "version: STSv1\nmode: enforce\nmx: other.example.com\nmax_age: 86400\n",
    );
    let ps = p.to_str().unwrap();
    // The configured certificate does not cover other.example.com...
    let (code, _, _) = text(&e.sb.run(&["mta-sts", "--check", ps]));
    assert_eq!(code, 1);
    // ...a given one with a wildcard does.
    let (other, _) = make(d, "other", &["*.example.com"], None);
    let (code, v) =
        e.sb.json(&["mta-sts", "--check", ps, "--cert", other.to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        v["certificate"]["names"],
        serde_json::json!(["*.example.com"])
    );

    // An unreadable --cert is an error naming the file.
    let missing = d.join("missing.crt");
    let (code, out, err) = text(&e.sb.run(&[
        "mta-sts",
        "--check",
        ps,
        "--cert",
        missing.to_str().unwrap(),
    ]));
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains(&missing.display().to_string()), "{err}");
    let junk = write(d, "junk.crt", "hello\n");
    let (code, v) =
        e.sb.json(&["mta-sts", "--check", ps, "--cert", junk.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(v["error"]["file"], junk.to_str().unwrap());

    // A configured certificate that cannot be read only skips the name check (with a warning).
    std::fs::remove_file(&e.chain).unwrap();
    let ok = write(
        d,
        "ok.txt",
        "version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 86400\n",
    );
    let (code, v) = e.sb.json(&["mta-sts", "--check", ok.to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    assert!(v["certificate"].is_null());
    assert!(
        v["warnings"][0].as_str().unwrap().contains("not checked"),
        "{v}"
    );
    // A missing policy file is an I/O error naming it.
    let (code, v) =
        e.sb.json(&["mta-sts", "--check", d.join("nope.txt").to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(v["error"]["kind"], "io");
}

#[test]
fn tlsa_from_configuration_matches_openssl() {
    let e = env(&["mx.example.org"]);
    let leaf = spki_sha256(&e.leaf);
    let ca = spki_sha256(&e.ca);
    let (code, out, err) = text(&e.sb.run(&["tlsa"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("_25._tcp.mx.example.org. IN TLSA 3 1 1 {leaf}")),
        "{out}"
    );
    assert!(
        out.contains(&format!("_25._tcp.mx.example.org. IN TLSA 2 1 1 {ca}")),
        "{out}"
    );
    assert!(
        err.contains(
            "publish a 3 1 1 record for the next key now; keep both until the old key is retired"
        ),
        "{err}"
    );

    let (code, v) = e.sb.json(&["tlsa"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["owner"], "_25._tcp.mx.example.org.");
    let recs = v["records"].as_array().unwrap();
    assert_eq!(recs.len(), 2, "{v}");
    assert_eq!(recs[0]["role"], "current");
    assert_eq!(recs[0]["rdata"], format!("3 1 1 {leaf}"));
    assert_eq!(recs[1]["role"], "issuer");
    assert_eq!(recs[1]["data"], ca);
    assert!(v["verify_command"]
        .as_str()
        .unwrap()
        .contains(&format!("-dane_tlsa_rrdata \"3 1 1 {leaf}\"")));
}

#[test]
fn tlsa_with_given_files_next_key_host_and_port() {
    let e = env(&["mx.example.org"]);
    let d = e.sb.tmp.path();
    let (next_crt, next_key) = make(d, "next", &["mx.example.org"], Some((&e.ca, &e.ca_key)));
    let (code, v) = e.sb.json(&[
        "tlsa",
        "--cert",
        e.leaf.to_str().unwrap(),
        "--chain",
        e.ca.to_str().unwrap(),
        "--host",
        "MX2.example.org.",
        "--port",
        "587",
        "--next-key",
        next_key.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{v}");
    let recs = v["records"].as_array().unwrap();
    let roles: Vec<&str> = recs.iter().map(|r| r["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["current", "issuer", "next"]);
    assert_eq!(
        recs[2]["zone_line"],
        format!(
            "_587._tcp.mx2.example.org. IN TLSA 3 1 1 {}",
            spki_sha256(&next_crt)
        )
    );
    assert_eq!(recs[0]["data"], spki_sha256(&e.leaf));
    assert_eq!(recs[1]["data"], spki_sha256(&e.ca));

    // Without a chain only the 3 1 1 record; the next key equal to the current one is flagged.
    let leaf_key = d.join("mx.example.org.key");
    let (code, v) = e.sb.json(&[
        "tlsa",
        "--cert",
        e.leaf.to_str().unwrap(),
        "--next-key",
        leaf_key.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["records"].as_array().unwrap().len(), 1);
    assert!(v["warnings"][0]
        .as_str()
        .unwrap()
        .contains("the next key is the key in use"));

    // A "chain" certificate that did not sign the leaf gives no 2 1 1 record, and says so.
    let (stranger, _) = make(d, "Stranger CA", &[], None);
    let (code, v) = e.sb.json(&[
        "tlsa",
        "--cert",
        e.leaf.to_str().unwrap(),
        "--chain",
        stranger.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["records"].as_array().unwrap().len(), 1, "{v}");
    assert!(
        v["warnings"][0]
            .as_str()
            .unwrap()
            .contains("did not issue it"),
        "{v}"
    );

    // Unreadable certificate / next key: exit 1, the file named.
    for args in [
        vec!["tlsa", "--cert", "/nonexistent/x.crt"],
        vec!["tlsa", "--next-key", "/nonexistent/next.key"],
    ] {
        let (code, v) = e.sb.json(&args);
        assert_eq!(code, 1, "{v}");
        assert!(
            v["error"]["file"]
                .as_str()
                .unwrap()
                .starts_with("/nonexistent/"),
            "{v}"
        );
    }
    // A bad host is a usage error.
    let (code, _, _) = text(&e.sb.run(&["tlsa", "--host", "bad host"]));
    assert_eq!(code, 64);
}

/// Adds `-o` lines after the master.cf service line that starts with `service_line`.
fn add_overrides(sb: &Sandbox, service_line: &str, overrides: &[String]) {
    let master = String::from_utf8(sb.master_cf()).unwrap();
    let mut out = String::new();
    let mut done = false;
    for line in master.lines() {
        out.push_str(line);
        out.push('\n');
        if !done && line.starts_with(service_line) {
            for o in overrides {
                out.push_str(&format!("  -o {o}\n"));
            }
            done = true;
        }
    }
    assert!(done, "{service_line:?} not in master.cf");
    std::fs::write(sb.conf.join("master.cf"), out).unwrap();
}

/// The TLSA record must describe what port 25 presents: with a master.cf certificate override
/// on smtp/inet, main.cf's certificate is not it.
#[test]
fn tlsa_uses_the_certificate_of_the_port_25_listener() {
    let e = env(&["mx.example.org"]);
    let d = e.sb.tmp.path().to_path_buf();
    let (port25, port25_key) = make(&d, "port25.example.org", &["mx.example.org"], None);
    let chain = d.join("port25-chain.pem");
    let mut all = std::fs::read(&port25_key).unwrap();
    all.extend(std::fs::read(&port25).unwrap());
    std::fs::write(&chain, all).unwrap();
    add_overrides(
        &e.sb,
        "smtp      inet",
        &[format!("smtpd_tls_chain_files={}", chain.display())],
    );
    let want = spki_sha256(&port25);
    let main_cert = spki_sha256(&e.leaf);
    assert_ne!(want, main_cert);
    let (code, v) = e.sb.json(&["tlsa"]);
    assert_eq!(code, 0, "{v}");
    let recs = v["records"].as_array().unwrap();
    assert_eq!(recs[0]["rdata"], format!("3 1 1 {want}"), "{v}");
    assert!(
        !v.to_string().contains(&main_cert),
        "main.cf's key must not appear: {v}"
    );
    // Port 587 has no override: main.cf's certificate.
    let (code, v) = e.sb.json(&["tlsa", "--port", "587"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        v["records"][0]["rdata"],
        format!("3 1 1 {main_cert}"),
        "{v}"
    );
}

/// Behind postscreen, the smtpd pass service does the STARTTLS: its override counts.
#[test]
fn tlsa_behind_postscreen_uses_the_pass_service_certificate() {
    let e = env(&["mx.example.org"]);
    let d = e.sb.tmp.path().to_path_buf();
    let (pass, pass_key) = make(&d, "pass.example.org", &["mx.example.org"], None);
    let master = format!(
        "smtp      inet  n       -       y       -       1       postscreen\n\
         smtpd     pass  -       -       y       -       -       smtpd\n  \
         -o smtpd_tls_chain_files={},{}\n",
        pass_key.display(),
        pass.display()
    );
    std::fs::write(e.sb.conf.join("master.cf"), master).unwrap();
    let (code, v) = e.sb.json(&["tlsa"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        v["records"][0]["rdata"],
        format!("3 1 1 {}", spki_sha256(&pass)),
        "{v}"
    );
}
