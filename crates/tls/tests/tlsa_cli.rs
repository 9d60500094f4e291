//! Server chains and next-key TLSA digests, cross-checked against the `openssl` command-line
//! pipelines of the reference (section 6.3):
//! `openssl x509 -in cert.pem -noout -pubkey | openssl pkey -pubin -outform DER | sha256` and
//! `openssl pkey -in key.pem -pubout -outform DER | openssl dgst -sha256`.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use pftls_tls::mta_sts::{key_file_record, server_chains, MtaStsError};
use pftls_tls::tlsa::{tlsa_2_1_1, tlsa_3_1_1};

fn openssl(args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run openssl");
    {
        let mut si = child.stdin.take().unwrap();
        if let Some(data) = stdin {
            si.write_all(data).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// SHA-256 hex of DER bytes, by `openssl dgst -sha256 -r`.
fn dgst(der: &[u8]) -> String {
    let out = openssl(&["dgst", "-sha256", "-r"], Some(der));
    String::from_utf8_lossy(&out)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// The reference pipeline for a certificate's `3 1 1` / `2 1 1` data.
fn cert_spki_sha256(cert: &Path) -> String {
    let pubkey = openssl(
        &["x509", "-in", cert.to_str().unwrap(), "-noout", "-pubkey"],
        None,
    );
    let der = openssl(&["pkey", "-pubin", "-outform", "DER"], Some(&pubkey));
    dgst(&der)
}

/// Postfix TLS_README variant, from the private key.
fn key_spki_sha256(key: &Path) -> String {
    let der = openssl(
        &[
            "pkey",
            "-in",
            key.to_str().unwrap(),
            "-pubout",
            "-outform",
            "DER",
        ],
        None,
    );
    dgst(&der)
}

/// A key and certificate made by the openssl CLI: self-signed CA, or signed by `ca`.
fn make(
    dir: &Path,
    name: &str,
    key_alg: &[&str],
    ca: Option<(&Path, &Path)>,
) -> (PathBuf, PathBuf) {
    let crt = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    let mut args: Vec<String> = ["req", "-x509", "-nodes", "-days", "30", "-newkey"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(key_alg.iter().map(|s| s.to_string()));
    args.extend([
        "-keyout".into(),
        key.display().to_string(),
        "-out".into(),
        crt.display().to_string(),
        "-subj".into(),
        format!("/CN={name}.example.org"),
        "-addext".into(),
        format!("subjectAltName=DNS:{name}.example.org"),
    ]);
    if let Some((ca_crt, ca_key)) = ca {
        args.extend([
            "-CA".into(),
            ca_crt.display().to_string(),
            "-CAkey".into(),
            ca_key.display().to_string(),
        ]);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    openssl(&refs, None);
    (crt, key)
}

const EC: &[&str] = &["ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
const RSA: &[&str] = &["rsa:2048"];

fn cat(dir: &Path, name: &str, parts: &[&Path]) -> PathBuf {
    let p = dir.join(name);
    let mut all = Vec::new();
    for part in parts {
        all.extend(std::fs::read(part).unwrap());
    }
    std::fs::write(&p, all).unwrap();
    p
}

#[test]
fn chain_files_match_the_openssl_pipeline() {
    if !common::have_tool("openssl", &["version"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ca_crt, ca_key) = make(d, "ca", EC, None);
    let (ec_crt, ec_key) = make(d, "mx-ec", EC, Some((&ca_crt, &ca_key)));
    let (rsa_crt, rsa_key) = make(d, "mx-rsa", RSA, Some((&ca_crt, &ca_key)));

    // smtpd_tls_chain_files = ec.pem, rsa.pem: each key followed by its chain.
    let ec_pem = cat(d, "ec.pem", &[&ec_key, &ec_crt, &ca_crt]);
    let rsa_pem = cat(d, "rsa.pem", &[&rsa_key, &rsa_crt, &ca_crt]);
    let chains = server_chains(&[ec_pem.clone(), rsa_pem.clone()]).unwrap();
    assert_eq!(chains.len(), 2);
    assert_eq!(chains[0].file, ec_pem);
    assert_eq!(chains[1].file, rsa_pem);
    let ca_hash = cert_spki_sha256(&ca_crt);
    for (chain, crt, key) in [
        (&chains[0], &ec_crt, &ec_key),
        (&chains[1], &rsa_crt, &rsa_key),
    ] {
        let leaf = tlsa_3_1_1(&chain.leaf).unwrap();
        assert_eq!(leaf.data, cert_spki_sha256(crt));
        assert_eq!(leaf.data, key_spki_sha256(key));
        let issuer = tlsa_2_1_1(chain.issuer.as_ref().unwrap()).unwrap();
        assert_eq!(issuer.rdata(), format!("2 1 1 {ca_hash}"));
    }

    // Both chains in one file, and the key-file/cert-file split (key, then cert, then CA).
    let both = cat(
        d,
        "both.pem",
        &[&ec_key, &ec_crt, &ca_crt, &rsa_key, &rsa_crt],
    );
    let chains = server_chains(std::slice::from_ref(&both)).unwrap();
    assert_eq!(chains.len(), 2);
    assert!(chains[1].issuer.is_none());
    assert_eq!(
        tlsa_3_1_1(&chains[1].leaf).unwrap().data,
        key_spki_sha256(&rsa_key)
    );
    let chains = server_chains(&[ec_key.clone(), ec_crt.clone(), ca_crt.clone()]).unwrap();
    assert_eq!(chains.len(), 1);
    assert_eq!(
        tlsa_2_1_1(chains[0].issuer.as_ref().unwrap()).unwrap().data,
        ca_hash
    );

    // smtpd_tls_cert_file style: certificate first, key after it in the same file.
    let cert_key = cat(d, "certkey.pem", &[&ec_crt, &ec_key]);
    let chains = server_chains(std::slice::from_ref(&cert_key)).unwrap();
    assert_eq!(chains.len(), 1);
    assert_eq!(
        tlsa_3_1_1(&chains[0].leaf).unwrap().data,
        key_spki_sha256(&ec_key)
    );
}

#[test]
fn next_key_records_match_the_openssl_pipeline() {
    if !common::have_tool("openssl", &["version"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ec_crt, ec_key) = make(d, "next-ec", EC, None);
    let (rsa_crt, rsa_key) = make(d, "next-rsa", RSA, None);
    for (crt, key) in [(&ec_crt, &ec_key), (&rsa_crt, &rsa_key)] {
        let want = key_spki_sha256(key);
        assert_eq!(want, cert_spki_sha256(crt));
        // From the PKCS#8 private key, the certificate, and the public key.
        assert_eq!(
            key_file_record(key).unwrap().rdata(),
            format!("3 1 1 {want}")
        );
        assert_eq!(key_file_record(crt).unwrap().data, want);
        let pubkey = d.join("pub.pem");
        std::fs::write(
            &pubkey,
            openssl(&["pkey", "-in", key.to_str().unwrap(), "-pubout"], None),
        )
        .unwrap();
        assert_eq!(key_file_record(&pubkey).unwrap().data, want);
    }
    // A traditional "RSA PRIVATE KEY" file.
    let trad = d.join("trad.key");
    std::fs::write(
        &trad,
        openssl(
            &["pkey", "-in", rsa_key.to_str().unwrap(), "-traditional"],
            None,
        ),
    )
    .unwrap();
    assert!(std::fs::read_to_string(&trad)
        .unwrap()
        .contains("BEGIN RSA PRIVATE KEY"));
    assert_eq!(
        key_file_record(&trad).unwrap().data,
        key_spki_sha256(&rsa_key)
    );

    // An encrypted key is refused without prompting for a passphrase.
    let enc = d.join("enc.key");
    std::fs::write(
        &enc,
        openssl(
            &[
                "pkey",
                "-in",
                ec_key.to_str().unwrap(),
                "-aes256",
                "-passout",
                "pass:secret",
            ],
            None,
        ),
    )
    .unwrap();
    let e = key_file_record(&enc).unwrap_err();
    assert!(e.to_string().contains("encrypted"), "{e}");
    assert!(
        e.to_string().starts_with(&format!("{}:1:", enc.display())),
        "{e}"
    );
}

#[test]
fn bad_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let missing = d.join("missing.pem");
    assert!(matches!(
        server_chains(std::slice::from_ref(&missing)),
        Err(MtaStsError::Io { .. })
    ));
    assert!(matches!(
        key_file_record(&missing),
        Err(MtaStsError::Io { .. })
    ));

    let empty = d.join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let e = server_chains(std::slice::from_ref(&empty)).unwrap_err();
    assert!(e.to_string().contains("no PEM certificate"), "{e}");
    let e = key_file_record(&empty).unwrap_err();
    assert!(e.to_string().contains("empty.pem"), "{e}");

    // An unterminated block names the line it starts on.
    let cut = d.join("cut.pem");
    std::fs::write(&cut, "junk\n-----BEGIN CERTIFICATE-----\nMIIB\n").unwrap();
    let e = server_chains(std::slice::from_ref(&cut)).unwrap_err();
    assert!(
        e.to_string().starts_with(&format!("{}:2:", cut.display()))
            && e.to_string().contains("no END line"),
        "{e}"
    );
    // A block OpenSSL cannot parse names its line too.
    let garbage = d.join("garbage.pem");
    std::fs::write(
        &garbage,
        "\n\n-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let e = server_chains(std::slice::from_ref(&garbage)).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("{}:3:", garbage.display())),
        "{e}"
    );
}
