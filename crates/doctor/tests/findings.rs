//! Every finding: a configuration that triggers it and the fixed configuration where it is
//! absent. Real OpenSSL evaluates ciphers and runs the handshakes; certificates are generated
//! in a tempdir.

use std::path::{Path, PathBuf};

use openssl::pkey::{PKey, Private};
use pftls_doctor::{diagnose, diff_findings, ids, DoctorInput, DoctorOptions, Finding, Severity};
use pftls_policy::{Catalogue, PostfixVersion};
use pftls_tls::keys::{generate_key, self_signed, KeySpec};
use pftls_tls::{builtin_profiles, Baseline, ClientProfile, Protocol};
use postfix_conf::{MainCf, MasterCf};

const MASTER_25: &str = "smtp      inet  n       -       n       -       -       smtpd\n";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The CentOS Stream 10 DEFAULT policy shipped with the examples.
fn default_policy() -> Baseline {
    Baseline::load(&repo().join("examples/centos-stream-10/crypto-policies"))
        .expect("example crypto-policies load")
}

/// A FUTURE-like baseline: SECLEVEL 3.
fn future() -> Baseline {
    Baseline {
        source: "test FUTURE".into(),
        seclevel: 3,
        min_protocol: Protocol::Tls1_2,
        cipher_string: None,
        forbidden: Vec::new(),
    }
}

struct Run {
    version: PostfixVersion,
    baseline: Baseline,
    profiles: Vec<ClientProfile>,
    options: DoctorOptions,
}

impl Run {
    fn new() -> Self {
        Run {
            version: PostfixVersion::new(3, 7, 11),
            baseline: default_policy(),
            profiles: Vec::new(),
            options: DoctorOptions {
                check_files: false,
                ..DoctorOptions::default()
            },
        }
    }

    fn diagnose(&self, main: &str, master: &str) -> Vec<Finding> {
        let main = MainCf::parse(main.as_bytes()).expect("main.cf parses");
        let master = MasterCf::parse(master.as_bytes()).expect("master.cf parses");
        let catalogue = Catalogue::builtin(self.version);
        diagnose(&DoctorInput {
            main: &main,
            master: &master,
            catalogue: &catalogue,
            version: self.version,
            baseline: &self.baseline,
            profiles: &self.profiles,
            options: self.options.clone(),
        })
    }
}

fn with_id<'a>(findings: &'a [Finding], id: &str) -> Vec<&'a Finding> {
    findings.iter().filter(|f| f.id == id).collect()
}

fn one<'a>(findings: &'a [Finding], id: &str) -> &'a Finding {
    let v = with_id(findings, id);
    assert_eq!(v.len(), 1, "expected exactly one {id} in {findings:#?}");
    v[0]
}

fn none(findings: &[Finding], id: &str) {
    assert!(
        with_id(findings, id).is_empty(),
        "unexpected {id} in {findings:#?}"
    );
}

const TLS_MAY: &str = "smtpd_tls_cert_file = /x/cert.pem\nsmtpd_tls_key_file = /x/key.pem\nsmtpd_tls_security_level = may\nsmtpd_tls_loglevel = 1\n";

// ---------------------------------------------------------------- port 25

#[test]
fn e001_main_encrypt_on_port25() {
    let r = Run::new();
    let main = "smtpd_tls_cert_file = /x/cert.pem\nsmtpd_tls_security_level = encrypt\n";
    let f = r.diagnose(main, MASTER_25);
    let e = one(&f, ids::PORT25_REQUIRES_TLS);
    assert_eq!(e.severity, Severity::Error);
    assert_eq!(e.location.as_deref(), Some("main.cf:2"));
    assert!(
        e.message
            .contains("530 5.7.0 Must issue a STARTTLS command first"),
        "{}",
        e.message
    );
    assert!(e.message.contains("RFC 3207 section 4"));
    assert_eq!(e.policy.as_deref(), Some("inbound-opportunistic"));
    none(&r.diagnose(TLS_MAY, MASTER_25), ids::PORT25_REQUIRES_TLS);
}

#[test]
fn e001_master_override_names_both_lines() {
    let r = Run::new();
    let main = "smtpd_tls_cert_file = /x/cert.pem\nsmtpd_tls_security_level = encrypt\n";
    let master = format!("{MASTER_25}  -o smtpd_tls_security_level=encrypt\n");
    let f = r.diagnose(main, &master);
    let e = one(&f, ids::PORT25_REQUIRES_TLS);
    assert_eq!(e.location.as_deref(), Some("master.cf:2"));
    assert!(e.message.contains("main.cf:2"), "{}", e.message);
    assert!(
        e.fix.contains("master.cf:2") && e.fix.contains("main.cf:2"),
        "{}",
        e.fix
    );
    // The override alone, with main.cf at may.
    let f = r.diagnose(TLS_MAY, &master);
    assert_eq!(
        one(&f, ids::PORT25_REQUIRES_TLS).location.as_deref(),
        Some("master.cf:2")
    );
    // An override to may on port 25 wins over main.cf encrypt.
    let fixed = format!("{MASTER_25}  -o smtpd_tls_security_level=may\n");
    none(&r.diagnose(main, &fixed), ids::PORT25_REQUIRES_TLS);
}

#[test]
fn e001_deprecated_enforce_tls() {
    let r = Run::new();
    let main = "smtpd_tls_cert_file = /x/cert.pem\nsmtpd_enforce_tls = yes\n";
    let f = r.diagnose(main, MASTER_25);
    let e = one(&f, ids::PORT25_REQUIRES_TLS);
    assert_eq!(e.location.as_deref(), Some("main.cf:2"));
    assert!(e.message.contains("smtpd_enforce_tls"));
    // The deprecated parameter itself is reported too.
    assert_eq!(
        one(&f, ids::DEPRECATED_BOOLEAN).location.as_deref(),
        Some("main.cf:2")
    );
    none(
        &r.diagnose(
            "smtpd_tls_cert_file = /x/cert.pem\nsmtpd_use_tls = yes\n",
            MASTER_25,
        ),
        ids::PORT25_REQUIRES_TLS,
    );
}

#[test]
fn e001_behind_postscreen() {
    let r = Run::new();
    let master = "smtp      inet  n       -       n       -       1       postscreen\n\
                  smtpd     pass  -       -       n       -       -       smtpd\n  -o smtpd_tls_security_level=encrypt\n\
                  submission inet n       -       n       -       -       smtpd\n  -o smtpd_tls_security_level=encrypt\n";
    let f = r.diagnose(TLS_MAY, master);
    let e = one(&f, ids::PORT25_REQUIRES_TLS);
    assert_eq!(e.location.as_deref(), Some("master.cf:3"));
    assert!(e.message.contains("postscreen"), "{}", e.message);
    // encrypt on submission alone is right (not publicly referenced).
    let fixed = master.replace("smtpd     pass  -       -       n       -       -       smtpd\n  -o smtpd_tls_security_level=encrypt\n", "smtpd     pass  -       -       n       -       -       smtpd\n");
    none(&r.diagnose(TLS_MAY, &fixed), ids::PORT25_REQUIRES_TLS);
}

#[test]
fn i070_port25_without_tls() {
    let r = Run::new();
    let f = r.diagnose("smtpd_tls_security_level = none\n", MASTER_25);
    assert_eq!(one(&f, ids::PORT25_NO_TLS).severity, Severity::Info);
    none(&r.diagnose(TLS_MAY, MASTER_25), ids::PORT25_NO_TLS);
}

#[test]
fn e005_invalid_level() {
    let r = Run::new();
    let f = r.diagnose(
        "smtpd_tls_cert_file = /x/c.pem\nsmtpd_tls_security_level = dane\n",
        MASTER_25,
    );
    assert_eq!(
        one(&f, ids::INVALID_TLS_SETTING).location.as_deref(),
        Some("main.cf:2")
    );
    none(&r.diagnose(TLS_MAY, MASTER_25), ids::INVALID_TLS_SETTING);
}

// ---------------------------------------------------------------- protocols

#[test]
fn e002_protocols_without_tls12() {
    let r = Run::new();
    let f = r.diagnose(
        &format!(
            "{TLS_MAY}smtpd_tls_protocols = !TLSv1.2\nsmtp_tls_mandatory_protocols = TLSv1.3\n"
        ),
        MASTER_25,
    );
    let e = with_id(&f, ids::PROTOCOLS_NO_TLS12);
    assert_eq!(e.len(), 2, "{f:#?}");
    assert!(e.iter().any(|x| x.location.as_deref() == Some("main.cf:5")));
    assert!(e.iter().any(|x| x.location.as_deref() == Some("main.cf:6")
        && x.policy.as_deref() == Some("crypto-policy-aligned")));
    let ok = r.diagnose(
        &format!(
            "{TLS_MAY}smtpd_tls_protocols = >=TLSv1.2\nsmtp_tls_mandatory_protocols = >=TLSv1.2\n"
        ),
        MASTER_25,
    );
    none(&ok, ids::PROTOCOLS_NO_TLS12);
    none(&ok, ids::PORT25_TLS13_ONLY);
}

#[test]
fn e003_tls13_only_on_port25() {
    let r = Run::new();
    let f = r.diagnose(
        &format!("{TLS_MAY}smtpd_tls_protocols = >=TLSv1.3\n"),
        MASTER_25,
    );
    let e = one(&f, ids::PORT25_TLS13_ONLY);
    assert_eq!(e.location.as_deref(), Some("main.cf:5"));
    assert!(e.fix.contains(">=TLSv1.2"), "{}", e.fix);
    none(&f, ids::PROTOCOLS_NO_TLS12);
    // TLS 1.3 only on a submission override is E002, not the port-25 finding.
    let master =
        format!("{MASTER_25}submission inet n - n - - smtpd\n  -o smtpd_tls_protocols=TLSv1.3\n");
    let f = r.diagnose(TLS_MAY, &master);
    none(&f, ids::PORT25_TLS13_ONLY);
    assert_eq!(
        one(&f, ids::PROTOCOLS_NO_TLS12).location.as_deref(),
        Some("master.cf:3")
    );
}

#[test]
fn e004_bounds_syntax_before_36() {
    let mut r = Run::new();
    r.version = PostfixVersion::new(3, 5, 25);
    let main = format!("{TLS_MAY}smtpd_tls_protocols = >=TLSv1.2\n");
    let f = r.diagnose(&main, MASTER_25);
    let e = one(&f, ids::PROTOCOLS_INVALID);
    assert_eq!(e.location.as_deref(), Some("main.cf:5"));
    assert!(e.message.contains("disables TLS"), "{}", e.message);
    assert!(
        e.fix.contains("!SSLv2, !SSLv3, !TLSv1, !TLSv1.1"),
        "{}",
        e.fix
    );
    // The exclusion syntax works on 3.5; the bounds syntax on 3.7.
    none(
        &r.diagnose(
            &format!("{TLS_MAY}smtpd_tls_protocols = !SSLv2, !SSLv3, !TLSv1, !TLSv1.1\n"),
            MASTER_25,
        ),
        ids::PROTOCOLS_INVALID,
    );
    none(
        &Run::new().diagnose(&main, MASTER_25),
        ids::PROTOCOLS_INVALID,
    );
}

// ---------------------------------------------------------------- ciphers and handshakes

#[test]
fn w010_cipherlist_narrower_than_policy() {
    let r = Run::new();
    let main = format!(
        "{TLS_MAY}smtpd_tls_ciphers = high\ntls_high_cipherlist = ECDHE-RSA-AES256-GCM-SHA384\n"
    );
    let f = r.diagnose(&main, MASTER_25);
    let w = one(&f, ids::CIPHERS_NARROWER);
    assert_eq!(w.location.as_deref(), Some("main.cf:6"));
    assert!(
        w.message.contains("ECDHE-ECDSA-AES256-GCM-SHA384"),
        "{}",
        w.message
    );
    // The policy's own exclusions (what crypto-policy-aligned writes) are not narrower.
    let aligned = format!(
        "{TLS_MAY}smtpd_tls_exclude_ciphers = {}\n",
        r.baseline.forbidden.join(", ")
    );
    none(&r.diagnose(&aligned, MASTER_25), ids::CIPHERS_NARROWER);
    none(&r.diagnose(TLS_MAY, MASTER_25), ids::CIPHERS_NARROWER);
}

#[test]
fn w012_legacy_profiles_fail_modern_pass() {
    let mut r = Run::new();
    r.profiles = builtin_profiles();
    let main = format!("{TLS_MAY}tls_medium_cipherlist = ECDHE-RSA-CHACHA20-POLY1305\n");
    let f = r.diagnose(&main, MASTER_25);
    let w = one(&f, ids::LEGACY_CLIENTS_FAIL);
    assert!(w.message.contains("ie_11_win81"), "{}", w.message);
    assert_eq!(w.location.as_deref(), Some("main.cf:5"));
    none(&f, ids::MODERN_CLIENTS_FAIL);
    let ok = r.diagnose(TLS_MAY, MASTER_25);
    none(&ok, ids::LEGACY_CLIENTS_FAIL);
    none(&ok, ids::MODERN_CLIENTS_FAIL);
}

#[test]
fn e011_modern_profiles_fail() {
    let mut r = Run::new();
    r.profiles = builtin_profiles();
    // Only TLS 1.1 and older: OpenSSL 3 at SECLEVEL 2 completes no handshake at all.
    let f = r.diagnose(
        &format!("{TLS_MAY}smtpd_tls_protocols = <=TLSv1.1\n"),
        MASTER_25,
    );
    let e = one(&f, ids::MODERN_CLIENTS_FAIL);
    for id in ["openssl_111d", "openssl_315", "openssl_350"] {
        assert!(e.message.contains(id), "{}", e.message);
    }
    assert!(
        e.message.contains("sender falls back to plaintext"),
        "{}",
        e.message
    );
    one(&f, ids::PROTOCOLS_NO_TLS12);
    // A cipher string OpenSSL rejects: every handshake fails.
    let f = r.diagnose(
        &format!("{TLS_MAY}tls_medium_cipherlist = NO-SUCH-CIPHER\n"),
        MASTER_25,
    );
    one(&f, ids::MODERN_CLIENTS_FAIL);
    one(&f, ids::CIPHERS_NARROWER);
}

// ---------------------------------------------------------------- certificates

struct Certs {
    dir: tempfile::TempDir,
}

impl Certs {
    fn new() -> Self {
        Certs {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// Writes key and a self-signed cert; returns (cert, key) paths.
    fn make(
        &self,
        name: &str,
        spec: KeySpec,
        not_before_days: i64,
        valid_days: i64,
    ) -> (PathBuf, PathBuf) {
        let key = generate_key(&spec).expect("key");
        self.write(name, &key, &key, not_before_days, valid_days)
    }

    fn write(
        &self,
        name: &str,
        cert_key: &PKey<Private>,
        file_key: &PKey<Private>,
        nb: i64,
        days: i64,
    ) -> (PathBuf, PathBuf) {
        let cert = self_signed(cert_key, "mx.example.org", nb, days).expect("cert");
        let c = self.dir.path().join(format!("{name}.crt"));
        let k = self.dir.path().join(format!("{name}.key"));
        std::fs::write(&c, cert.to_pem().expect("pem")).expect("write cert");
        std::fs::write(&k, file_key.private_key_to_pem_pkcs8().expect("pem")).expect("write key");
        (c, k)
    }
}

fn cert_main(c: &Path, k: &Path, level: &str) -> String {
    format!(
        "smtpd_tls_cert_file = {}\nsmtpd_tls_key_file = {}\nsmtpd_tls_security_level = {level}\nsmtpd_tls_loglevel = 1\n",
        c.display(),
        k.display()
    )
}

fn file_run() -> Run {
    let mut r = Run::new();
    r.options.check_files = true;
    r
}

#[test]
fn certificates_good_pair_has_no_findings() {
    let certs = Certs::new();
    let (c, k) = certs.make("good", KeySpec::Rsa(2048), -1, 365);
    let f = file_run().diagnose(&cert_main(&c, &k, "may"), MASTER_25);
    assert!(f.is_empty(), "{f:#?}");
    // EC P-256 passes even at SECLEVEL 3.
    let (c, k) = certs.make("ec", KeySpec::Ec("prime256v1".into()), -1, 365);
    let mut r = file_run();
    r.baseline = future();
    let f = r.diagnose(&cert_main(&c, &k, "may"), MASTER_25);
    none(&f, ids::KEY_TOO_SMALL);
}

#[test]
fn e020_w021_no_certificate() {
    let r = Run::new();
    let master = format!(
        "{MASTER_25}submission inet n - n - - smtpd\n  -o smtpd_tls_security_level=encrypt\n"
    );
    let f = r.diagnose(
        "smtpd_tls_security_level = may\nsmtpd_tls_loglevel = 1\n",
        &master,
    );
    let w = one(&f, ids::NO_CERT_OPPORTUNISTIC);
    assert!(w.message.contains("smtp/inet"), "{}", w.message);
    let e = one(&f, ids::NO_CERT_MANDATORY);
    assert_eq!(e.location.as_deref(), Some("master.cf:3"));
    let f = r.diagnose(TLS_MAY, &master);
    none(&f, ids::NO_CERT_OPPORTUNISTIC);
    none(&f, ids::NO_CERT_MANDATORY);
}

#[test]
fn e022_missing_files_only_with_file_checks() {
    let certs = Certs::new();
    let missing = certs.dir.path().join("nope.pem");
    let main = cert_main(&missing, &missing, "may");
    let f = file_run().diagnose(&main, MASTER_25);
    assert_eq!(
        one(&f, ids::CERT_UNUSABLE).location.as_deref(),
        Some("main.cf:1")
    );
    none(&Run::new().diagnose(&main, MASTER_25), ids::CERT_UNUSABLE);
    // Unreadable: a directory where the key should be.
    let (c, _) = certs.make("dirkey", KeySpec::Rsa(2048), -1, 365);
    let f = file_run().diagnose(&cert_main(&c, certs.dir.path(), "may"), MASTER_25);
    assert_eq!(
        one(&f, ids::CERT_UNUSABLE).location.as_deref(),
        Some("main.cf:2")
    );
}

#[test]
fn e023_mismatched_key() {
    let certs = Certs::new();
    let a = generate_key(&KeySpec::Rsa(2048)).expect("key");
    let b = generate_key(&KeySpec::Ec("prime256v1".into())).expect("key");
    let (c, k) = certs.write("mismatch", &a, &b, -1, 365);
    let f = file_run().diagnose(&cert_main(&c, &k, "may"), MASTER_25);
    assert_eq!(
        one(&f, ids::KEY_MISMATCH).location.as_deref(),
        Some("main.cf:2")
    );
    let (c, k) = certs.write("match", &a, &a, -1, 365);
    none(
        &file_run().diagnose(&cert_main(&c, &k, "may"), MASTER_25),
        ids::KEY_MISMATCH,
    );
}

#[test]
fn e024_expired_and_w025_expiring() {
    let certs = Certs::new();
    let (c, k) = certs.make("expired", KeySpec::Rsa(2048), -30, 20);
    let f = file_run().diagnose(&cert_main(&c, &k, "may"), MASTER_25);
    assert_eq!(
        one(&f, ids::CERT_EXPIRED).location.as_deref(),
        Some("main.cf:1")
    );
    none(&f, ids::CERT_EXPIRING);

    let (c, k) = certs.make("soon", KeySpec::Rsa(2048), -1, 11);
    let f = file_run().diagnose(&cert_main(&c, &k, "may"), MASTER_25);
    let w = one(&f, ids::CERT_EXPIRING);
    assert!(
        w.message.contains("expires in 9 days") || w.message.contains("expires in 10 days"),
        "{}",
        w.message
    );
    none(&f, ids::CERT_EXPIRED);
    // A shorter window, or a fixed "now" before the window, clears it.
    let mut r = file_run();
    r.options.expiry_days = 5;
    none(
        &r.diagnose(&cert_main(&c, &k, "may"), MASTER_25),
        ids::CERT_EXPIRING,
    );
    // "now" 100 days later: expired.
    let mut r = file_run();
    r.options.now = Some(now() + 100 * 86_400);
    one(
        &r.diagnose(&cert_main(&c, &k, "may"), MASTER_25),
        ids::CERT_EXPIRED,
    );
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[test]
fn e026_key_too_small_for_seclevel() {
    let certs = Certs::new();
    let (c, k) = certs.make("rsa2048", KeySpec::Rsa(2048), -1, 365);
    let main = cert_main(&c, &k, "may");
    let mut r = file_run();
    r.baseline = future();
    let f = r.diagnose(&main, MASTER_25);
    let e = one(&f, ids::KEY_TOO_SMALL);
    assert!(e.message.contains("SECLEVEL=3"), "{}", e.message);
    assert_eq!(e.location.as_deref(), Some("main.cf:2"));
    none(&file_run().diagnose(&main, MASTER_25), ids::KEY_TOO_SMALL);
    let (c, k) = certs.make("rsa1024", KeySpec::Rsa(1024), -1, 365);
    one(
        &file_run().diagnose(&cert_main(&c, &k, "may"), MASTER_25),
        ids::KEY_TOO_SMALL,
    );
}

// ---------------------------------------------------------------- hygiene

#[test]
fn w030_loglevel_zero() {
    let r = Run::new();
    let base = "smtpd_tls_cert_file = /x/c.pem\nsmtpd_tls_security_level = may\n";
    let f = r.diagnose(&format!("{base}smtpd_tls_loglevel = 0\n"), MASTER_25);
    let w = one(&f, ids::LOGLEVEL_ZERO);
    assert_eq!(w.location.as_deref(), Some("main.cf:3"));
    assert_eq!(w.policy.as_deref(), Some("tls-logging"));
    // The truth about level 0 (Postfix 3.7): failures are logged, established sessions not.
    assert!(
        w.message
            .contains("does not log the `TLS connection established` lines"),
        "{}",
        w.message
    );
    assert!(w.message.contains("handshake failures, `SSL_accept error` and `TLS library problem`, are logged at every level"), "{}", w.message);
    // The default is 0 too; no location then.
    assert_eq!(
        one(&r.diagnose(base, MASTER_25), ids::LOGLEVEL_ZERO).location,
        None
    );
    none(
        &r.diagnose(&format!("{base}smtpd_tls_loglevel = 1\n"), MASTER_25),
        ids::LOGLEVEL_ZERO,
    );
}

#[test]
fn w031_deprecated_booleans() {
    let r = Run::new();
    let master = format!("{MASTER_25}relay unix - - n - - smtp\n  -o smtp_enforce_tls=yes\n");
    let f = r.diagnose(
        &format!("{TLS_MAY}smtpd_use_tls = yes\nsmtp_use_tls = yes\n"),
        &master,
    );
    let w = with_id(&f, ids::DEPRECATED_BOOLEAN);
    let locs: Vec<_> = w
        .iter()
        .map(|x| x.location.clone().unwrap_or_default())
        .collect();
    assert_eq!(w.len(), 3, "{locs:?}");
    assert!(
        locs.contains(&"main.cf:5".to_string())
            && locs.contains(&"main.cf:6".to_string())
            && locs.contains(&"master.cf:3".to_string())
    );
    none(&r.diagnose(TLS_MAY, MASTER_25), ids::DEPRECATED_BOOLEAN);
}

#[test]
fn e040_submission_auth_without_tls() {
    let r = Run::new();
    let master =
        format!("{MASTER_25}submission inet n - n - - smtpd\n  -o smtpd_sasl_auth_enable=yes\n");
    let f = r.diagnose(TLS_MAY, &master);
    let e = one(&f, ids::AUTH_WITHOUT_TLS);
    assert_eq!(e.location.as_deref(), Some("master.cf:2"));
    assert_eq!(e.policy.as_deref(), Some("submission-mandatory"));
    // Any non-25 smtpd with SASL counts; the fix is then the exact edit.
    let other = format!("{MASTER_25}2525 inet n - n - - smtpd\n  -o smtpd_sasl_auth_enable=yes\n");
    let e2 = r.diagnose(TLS_MAY, &other);
    assert!(one(&e2, ids::AUTH_WITHOUT_TLS)
        .fix
        .contains("postconf -P '2525/inet/smtpd_tls_security_level=encrypt'"));
    for fixed in [
        format!("{master}  -o smtpd_tls_security_level=encrypt\n"),
        format!("{master}  -o smtpd_tls_auth_only=yes\n"),
    ] {
        none(&r.diagnose(TLS_MAY, &fixed), ids::AUTH_WITHOUT_TLS);
    }
    // SASL on port 25 is not a submission service.
    let p25 = format!("{MASTER_25}  -o smtpd_sasl_auth_enable=yes\n");
    none(&r.diagnose(TLS_MAY, &p25), ids::AUTH_WITHOUT_TLS);
}

#[test]
fn w041_wrappermode_on_wrong_port() {
    let r = Run::new();
    let master =
        format!("{MASTER_25}submission inet n - n - - smtpd\n  -o smtpd_tls_wrappermode=yes\n");
    let f = r.diagnose(TLS_MAY, &master);
    assert_eq!(
        one(&f, ids::WRAPPERMODE_PORT).location.as_deref(),
        Some("master.cf:3")
    );
    let ok =
        format!("{MASTER_25}submissions inet n - n - - smtpd\n  -o smtpd_tls_wrappermode=yes\n");
    none(&r.diagnose(TLS_MAY, &ok), ids::WRAPPERMODE_PORT);
}

// ---------------------------------------------------------------- duplicates

#[test]
fn w050_main_duplicates() {
    let r = Run::new();
    let f = r.diagnose(
        &format!("smtpd_tls_security_level = encrypt\n{TLS_MAY}"),
        MASTER_25,
    );
    let w = one(&f, ids::DUPLICATE_MAIN);
    assert_eq!(w.location.as_deref(), Some("main.cf:4"));
    assert!(w.message.contains("main.cf:1 (encrypt)"), "{}", w.message);
    // The same value twice is harmless.
    none(
        &r.diagnose(
            &format!("smtpd_tls_security_level = may\n{TLS_MAY}"),
            MASTER_25,
        ),
        ids::DUPLICATE_MAIN,
    );
}

#[test]
fn w051_w052_master_duplicates() {
    let r = Run::new();
    let master =
        format!("{MASTER_25}  -o smtpd_tls_loglevel=0\n  -o smtpd_tls_loglevel=1\n{MASTER_25}");
    let f = r.diagnose(TLS_MAY, &master);
    assert_eq!(
        one(&f, ids::DUPLICATE_OVERRIDE).location.as_deref(),
        Some("master.cf:3")
    );
    assert_eq!(
        one(&f, ids::DUPLICATE_SERVICE).location.as_deref(),
        Some("master.cf:4")
    );
    let f = r.diagnose(
        TLS_MAY,
        &format!("{MASTER_25}  -o smtpd_tls_loglevel=1\n  -o smtpd_tls_loglevel=1\n"),
    );
    none(&f, ids::DUPLICATE_OVERRIDE);
    none(&f, ids::DUPLICATE_SERVICE);
}

// ---------------------------------------------------------------- DANE

#[test]
fn e060_w061_dane() {
    let dir = tempfile::tempdir().expect("tempdir");
    let remote = dir.path().join("resolv-remote");
    std::fs::write(
        &remote,
        "search example.org\nnameserver 9.9.9.9\nnameserver 1.1.1.1\n",
    )
    .expect("write");
    let local = dir.path().join("resolv-local");
    std::fs::write(&local, "nameserver 127.0.0.1\n").expect("write");
    let master = format!("{MASTER_25}smtp unix - - n - - smtp\n");
    let mut r = Run::new();
    r.options.resolv_conf = remote.clone();

    let f = r.diagnose(
        &format!("{TLS_MAY}smtp_tls_security_level = dane\n"),
        &master,
    );
    let e = one(&f, ids::DANE_NO_DNSSEC);
    assert_eq!(e.location.as_deref(), Some("main.cf:5"));
    assert_eq!(e.policy.as_deref(), Some("outbound-dane"));
    let w = one(&f, ids::DANE_NO_LOCAL_RESOLVER);
    assert_eq!(
        w.location.as_deref(),
        Some(format!("{}:2", remote.display()).as_str())
    );

    let fixed =
        format!("{TLS_MAY}smtp_tls_security_level = dane\nsmtp_dns_support_level = dnssec\n");
    let f = r.diagnose(&fixed, &master);
    none(&f, ids::DANE_NO_DNSSEC);
    one(&f, ids::DANE_NO_LOCAL_RESOLVER);
    r.options.resolv_conf = local;
    let f = r.diagnose(&fixed, &master);
    none(&f, ids::DANE_NO_LOCAL_RESOLVER);
    // dane-only on a transport override.
    let over =
        format!("{MASTER_25}secure unix - - n - - smtp\n  -o smtp_tls_security_level=dane-only\n");
    assert_eq!(
        one(&r.diagnose(TLS_MAY, &over), ids::DANE_NO_DNSSEC)
            .location
            .as_deref(),
        Some("master.cf:3")
    );
    // No DANE: the resolver is not looked at.
    r.options.resolv_conf = remote;
    none(&r.diagnose(TLS_MAY, &master), ids::DANE_NO_LOCAL_RESOLVER);
}

// ---------------------------------------------------------------- whole configurations

fn example(dir: &str) -> (String, String) {
    let d = repo().join("examples").join(dir);
    (
        std::fs::read_to_string(d.join("main.cf")).expect("main.cf"),
        std::fs::read_to_string(d.join("master.cf")).expect("master.cf"),
    )
}

#[test]
fn over_hardened_example() {
    let mut r = Run::new();
    r.profiles = builtin_profiles();
    let (main, master) = example("centos-stream-10/over-hardened");
    let f = r.diagnose(&main, &master);
    let e = one(&f, ids::PORT25_REQUIRES_TLS);
    assert_eq!(e.location.as_deref(), Some("master.cf:13"));
    assert!(e.message.contains("main.cf:715"));
    for id in [
        ids::PORT25_TLS13_ONLY,
        ids::CIPHERS_NARROWER,
        ids::LEGACY_CLIENTS_FAIL,
        ids::LOGLEVEL_ZERO,
        ids::DEPRECATED_BOOLEAN,
    ] {
        assert!(!with_id(&f, id).is_empty(), "{id} missing in {f:#?}");
    }
    // Sorted: severity first, then location.
    let sev: Vec<Severity> = f.iter().map(|x| x.severity).collect();
    let mut sorted = sev.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(sev, sorted);
}

#[test]
fn stock_examples_have_no_errors() {
    let mut r = Run::new();
    r.profiles = builtin_profiles();
    for dir in ["centos-stream-10/stock", "debian-12/stock"] {
        let (main, master) = example(dir);
        let f = r.diagnose(&main, &master);
        assert!(
            f.iter().all(|x| x.severity < Severity::Error),
            "{dir}: {f:#?}"
        );
        one(&f, ids::LOGLEVEL_ZERO);
    }
}

#[test]
fn diff_reports_fixed_and_introduced() {
    let r = Run::new();
    let (main, master) = example("centos-stream-10/over-hardened");
    let before = r.diagnose(&main, &master);
    // The planned documents: main.cf at may, the port-25 override removed, loglevel 0 kept.
    let mut m = MainCf::parse(main.as_bytes()).expect("parse");
    m.set("smtpd_tls_security_level", "may").expect("set");
    m.set("smtp_tls_security_level", "dane").expect("set");
    let mut ms = MasterCf::parse(master.as_bytes()).expect("parse");
    ms.remove_override("smtp/inet", "smtpd_tls_security_level")
        .expect("remove");
    let after = r.diagnose(
        &String::from_utf8_lossy(&m.render()),
        &String::from_utf8_lossy(&ms.render()),
    );
    let (fixed, introduced) = diff_findings(&before, &after);
    assert!(
        fixed.iter().any(|f| f.id == ids::PORT25_REQUIRES_TLS),
        "{fixed:#?}"
    );
    assert!(!fixed.iter().any(|f| f.id == ids::LOGLEVEL_ZERO));
    assert!(
        introduced.iter().any(|f| f.id == ids::DANE_NO_DNSSEC),
        "{introduced:#?}"
    );
    assert!(!introduced.iter().any(|f| f.id == ids::LOGLEVEL_ZERO));
}

#[test]
fn never_panics_on_odd_values() {
    let r = Run::new();
    let odd = [
        "smtpd_tls_security_level = $undefined\n",
        "smtpd_tls_protocols = >=\n",
        "smtpd_tls_exclude_ciphers = !aNULL\n",
        "smtpd_tls_wrappermode = maybe\n",
        "smtpd_tls_ciphers = ultra\n",
        "tls_medium_cipherlist =\n",
        "smtpd_tls_chain_files = ,,,\nsmtpd_tls_security_level = may\n",
    ];
    for main in odd {
        let f = r.diagnose(main, MASTER_25);
        let _ = f.len();
    }
    assert!(!r
        .diagnose(
            "smtpd_tls_exclude_ciphers = !aNULL\nsmtpd_tls_security_level = may\n",
            MASTER_25
        )
        .is_empty());
}
