//! MTA-STS policy generation, the TXT records, the policy-file checker on well-formed and
//! malformed files, and MX coverage by certificates made with the real `openssl` CLI.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use pftls_tls::mta_sts::{
    cert_names_from_files, check_policy, policy_id, read_policy, sts_record, tlsrpt_record,
    uncovered_mx, validate_mx_pattern, Mode, MtaStsError, Policy, PolicyCheck, Severity,
    MAX_AGE_LIMIT,
};
use proptest::prelude::*;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn errors(c: &PolicyCheck) -> Vec<(Option<usize>, String)> {
    c.issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .map(|i| (i.line, i.message.clone()))
        .collect()
}

fn warnings(c: &PolicyCheck) -> Vec<(Option<usize>, String)> {
    c.issues
        .iter()
        .filter(|i| i.severity == Severity::Warning)
        .map(|i| (i.line, i.message.clone()))
        .collect()
}

/// Asserts exactly one error, on `line`, whose message contains `needle`.
fn one_error(text: &str, line: Option<usize>, needle: &str) {
    let c = check_policy(text.as_bytes());
    let e = errors(&c);
    assert_eq!(e.len(), 1, "{text:?}: {e:?}");
    assert_eq!(e[0].0, line, "{text:?}: {e:?}");
    assert!(e[0].1.contains(needle), "{text:?}: {e:?}");
    assert!(!c.is_valid() && c.policy.is_none());
}

const GOOD: &str = "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmx: backupmx.example.com\nmax_age: 604800\n";

#[test]
fn generated_policy_text_and_records() {
    let p = Policy::new(
        Mode::Enforce,
        &s(&["Mail.Example.com", "*.example.net", "mail.example.com"]),
        604800,
    )
    .unwrap();
    assert_eq!(p.mx, s(&["mail.example.com", "*.example.net"]));
    assert_eq!(
        p.to_text(),
        "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 604800\n"
    );
    let id = p.id();
    assert_eq!(id.len(), 32);
    assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
    // Stable for the same policy, different when anything changes.
    assert_eq!(
        id,
        Policy::new(
            Mode::Enforce,
            &s(&["mail.example.com", "*.example.net"]),
            604800
        )
        .unwrap()
        .id()
    );
    let testing = Policy::new(Mode::Testing, &p.mx, 604800).unwrap();
    let longer = Policy::new(Mode::Enforce, &p.mx, 604801).unwrap();
    assert_ne!(id, testing.id());
    assert_ne!(id, longer.id());
    // The id is the hash of the text, so checking the generated file gives the same id.
    assert_eq!(id, policy_id(p.to_text().as_bytes()));

    let r = sts_record("Example.COM.", &id).unwrap();
    assert_eq!(r.name, "_mta-sts.example.com.");
    assert_eq!(
        r.zone_line(),
        format!("_mta-sts.example.com. IN TXT \"v=STSv1; id={id};\"")
    );
    let t = tlsrpt_record("example.com", &s(&["mailto:tls@example.com"])).unwrap();
    assert_eq!(
        t.zone_line(),
        "_smtp._tls.example.com. IN TXT \"v=TLSRPTv1; rua=mailto:tls@example.com\""
    );
    let t2 = tlsrpt_record(
        "example.com",
        &s(&[
            "mailto:tls@example.com",
            "https://reports.example.com/v1/tlsrpt",
        ]),
    )
    .unwrap();
    assert_eq!(
        t2.value,
        "v=TLSRPTv1; rua=mailto:tls@example.com,https://reports.example.com/v1/tlsrpt"
    );
}

#[test]
fn long_txt_values_are_split_in_255_byte_strings() {
    let rua = format!("https://r.example.com/{}", "a".repeat(300));
    let t = tlsrpt_record("example.com", &[rua]).unwrap();
    let line = t.zone_line();
    let strings: Vec<&str> = line
        .split_once(" IN TXT ")
        .unwrap()
        .1
        .split("\" \"")
        .collect();
    assert_eq!(strings.len(), 2, "{line}");
    assert_eq!(strings[0].trim_start_matches('"').len(), 255);
}

#[test]
fn generation_refuses_bad_input() {
    let mx = s(&["mx.example.com"]);
    assert!(matches!(
        Policy::new(Mode::Enforce, &mx, MAX_AGE_LIMIT + 1),
        Err(MtaStsError::MaxAge { value }) if value == MAX_AGE_LIMIT + 1
    ));
    assert!(Policy::new(Mode::Enforce, &mx, MAX_AGE_LIMIT).is_ok());
    assert!(matches!(
        Policy::new(Mode::Testing, &[], 86400),
        Err(MtaStsError::NoMx {
            mode: Mode::Testing
        })
    ));
    assert!(Policy::new(Mode::None, &[], 86400).is_ok());
    for bad in [
        "mail.*.example.com",
        "*",
        "*.com",
        "m*.example.com",
        "**.example.com",
        "mx.example.com.",
        "mx..example.com",
        "-mx.example.com",
        "mx_1.example.com",
        "192.0.2.1",
        "[192.0.2.1]",
        "",
        "bücher.example",
    ] {
        assert!(
            matches!(
                Policy::new(Mode::Enforce, &s(&[bad]), 86400),
                Err(MtaStsError::MxPattern { .. })
            ),
            "{bad:?} accepted"
        );
    }
    assert_eq!(
        validate_mx_pattern("*.MX.Example.com").unwrap(),
        "*.mx.example.com"
    );
    assert!(validate_mx_pattern(&format!("{}.example.com", "a".repeat(64))).is_err());
    for bad in [
        "ftp://x.example.com",
        "mailto:nobody",
        "mailto:a@b.example.com,c@d.example.com",
        "mailto:a b@example.com",
        "https://",
        "https://!bad/",
    ] {
        assert!(
            matches!(
                tlsrpt_record("example.com", &s(&[bad])),
                Err(MtaStsError::Rua { .. })
            ),
            "{bad:?} accepted"
        );
    }
    assert!(tlsrpt_record("example.com", &[]).is_err());
    assert!(matches!(
        sts_record("bad domain", "x"),
        Err(MtaStsError::Domain { .. })
    ));
}

#[test]
fn rfc_example_is_valid() {
    let c = check_policy(GOOD.as_bytes());
    assert!(c.is_valid(), "{:?}", c.issues);
    assert!(c.issues.is_empty(), "{:?}", c.issues);
    let p = c.policy.unwrap();
    assert_eq!(p.mode, Mode::Enforce);
    assert_eq!(p.max_age, 604800);
    assert_eq!(
        p.mx,
        s(&["mail.example.com", "*.example.net", "backupmx.example.com"])
    );
    assert_eq!(c.mx_lines, vec![3, 4, 5]);
    assert_eq!(c.id, policy_id(GOOD.as_bytes()));
}

#[test]
fn generated_policies_round_trip() {
    let p = Policy::new(
        Mode::Testing,
        &s(&["a.example.org", "*.b.example.org"]),
        1234567,
    )
    .unwrap();
    let c = check_policy(p.to_text().as_bytes());
    assert_eq!(c.policy.as_ref(), Some(&p));
    assert_eq!(c.id, p.id());
}

#[test]
fn crlf_and_missing_final_newline() {
    let crlf = GOOD.replace('\n', "\r\n");
    let c = check_policy(crlf.as_bytes());
    assert!(c.issues.is_empty(), "{:?}", c.issues);
    assert_eq!(c.policy, check_policy(GOOD.as_bytes()).policy);
    // CRLF changes the bytes, so the id changes too.
    assert_ne!(c.id, check_policy(GOOD.as_bytes()).id);

    let no_nl = GOOD.trim_end();
    let c = check_policy(no_nl.as_bytes());
    assert!(c.issues.is_empty(), "{:?}", c.issues);
    assert!(c.policy.is_some());

    // A final line "max_age: 604800\r" without LF: the CR does not end the line.
    one_error(&format!("{no_nl}\r"), Some(6), "carriage return");

    let mixed = "version: STSv1\r\nmode: testing\nmx: a.example.com\nmax_age: 86400\n";
    let c = check_policy(mixed.as_bytes());
    assert!(c.is_valid());
    assert_eq!(
        warnings(&c),
        vec![(None, "mixes CRLF and LF line ends".to_string())]
    );

    one_error(
        "version: STSv1\nmode: te\rsting\nmx: a.example.com\nmax_age: 86400\n",
        Some(2),
        "carriage return",
    );
}

#[test]
fn malformed_policies_name_the_line() {
    // Empty file.
    let c = check_policy(b"");
    assert_eq!(
        errors(&c),
        vec![(
            None,
            "empty policy file (needs version, mode, max_age and mx)".to_string()
        )]
    );
    // Missing version.
    one_error(
        "mode: enforce\nmx: a.example.com\nmax_age: 86400\n",
        None,
        "missing required key `version`",
    );
    // Wrong version.
    one_error(
        "version: STSv2\nmode: enforce\nmx: a.example.com\nmax_age: 86400\n",
        Some(1),
        "version must be `STSv1`",
    );
    // Bogus mode, and modes are case-sensitive.
    one_error(
        "version: STSv1\nmode: bogus\nmx: a.example.com\nmax_age: 86400\n",
        Some(2),
        "\"bogus\"",
    );
    one_error(
        "version: STSv1\nmode: Enforce\nmx: a.example.com\nmax_age: 86400\n",
        Some(2),
        "case-sensitive",
    );
    // max_age too large, not digits, too many digits.
    one_error(
        "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 31557601\n",
        Some(4),
        "larger than the RFC 8461 limit",
    );
    one_error(
        "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: -5\n",
        Some(4),
        "1 to 10 digits",
    );
    one_error(
        "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 00000000001\n",
        Some(4),
        "1 to 10 digits",
    );
    // Wildcard in the middle of an mx.
    one_error(
        "version: STSv1\nmode: enforce\nmx: mail.*.example.com\nmax_age: 86400\n",
        Some(3),
        "leftmost label",
    );
    // Duplicate single-valued keys.
    one_error(
        "version: STSv1\nmode: enforce\nmx: a.example.com\nmode: testing\nmax_age: 86400\n",
        Some(4),
        "duplicate key `mode` (first on line 2)",
    );
    one_error(
        "version: STSv1\nmax_age: 86400\nmode: enforce\nmx: a.example.com\nmax_age: 86400\n",
        Some(5),
        "duplicate key `max_age`",
    );
    // Enforce/testing need an mx; none does not.
    one_error(
        "version: STSv1\nmode: enforce\nmax_age: 86400\n",
        Some(2),
        "needs at least one `mx:`",
    );
    assert!(check_policy(b"version: STSv1\nmode: none\nmax_age: 86400\n").is_valid());
    // Syntax.
    // No colon: no key either, so `mode` is also missing.
    let c = check_policy(b"version: STSv1\nmode enforce\nmx: a.example.com\nmax_age: 86400\n");
    assert_eq!(
        errors(&c),
        vec![
            (
                Some(2),
                "expected `key: value`, found `mode enforce`".to_string()
            ),
            (None, "missing required key `mode`".to_string())
        ]
    );
    // (The missing mode is also reported; the first error is the whitespace.)
    let c = check_policy(b"version: STSv1\nmode : enforce\nmx: a.example.com\nmax_age: 86400\n");
    assert_eq!(errors(&c)[0].0, Some(2));
    assert!(errors(&c)[0].1.contains("whitespace before `:`"));
    let c = check_policy(b"version: STSv1\n  mode: enforce\nmx: a.example.com\nmax_age: 86400\n");
    assert!(
        errors(&c)[0].1.contains("starts with whitespace"),
        "{:?}",
        c.issues
    );
    one_error(
        "version: STSv1\nmode: enforce\nMX: a.example.com\nmx: b.example.com\nmax_age: 86400\n",
        Some(3),
        "`MX` must be written `mx`",
    );
    one_error(
        "version: STSv1\nmode: enforce\nmx:\nmx: b.example.com\nmax_age: 86400\n",
        Some(3),
        "has no value",
    );
    one_error(
        "# comment\nversion: STSv1\nmode: enforce\nmx: b.example.com\nmax_age: 86400\n",
        Some(1),
        "expected `key: value`",
    );
    // A trailing comment makes the value invalid.
    one_error(
        "version: STSv1 # v1\nmode: enforce\nmx: b.example.com\nmax_age: 86400\n",
        Some(1),
        "version must be",
    );
    // Invalid UTF-8 names its line.
    let c = check_policy(b"version: STSv1\nmode: enforce\nmx: b\xff.example.com\nmax_age: 86400\n");
    assert_eq!(errors(&c), vec![(Some(3), "not valid UTF-8".to_string())]);
    // Byte-order mark.
    one_error(
        "\u{feff}version: STSv1\nmode: enforce\nmx: b.example.com\nmax_age: 86400\n",
        Some(1),
        "byte-order mark",
    );
}

#[test]
fn warnings_do_not_invalidate() {
    let text = "version: STSv1\nmode: testing\n\nmx: a.example.com\nmx: A.example.com\nx-note: hello world\nmax_age: 3600   \n";
    let c = check_policy(text.as_bytes());
    assert!(c.is_valid(), "{:?}", c.issues);
    let w = warnings(&c);
    let lines: Vec<Option<usize>> = w.iter().map(|x| x.0).collect();
    assert_eq!(lines, vec![Some(3), Some(5), Some(6), Some(7)], "{w:?}");
    assert!(w[0].1.contains("empty line"));
    assert!(w[1].1.contains("repeats line 4"));
    assert!(w[2].1.contains("unknown key `x-note`"));
    assert!(w[3].1.contains("under one day"));
    let p = c.policy.unwrap();
    assert_eq!((p.max_age, p.mx.len()), (3600, 1));
    assert_eq!(c.mx_lines, vec![4]);

    let mut big =
        String::from("version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 86400\n");
    while big.len() <= 64 * 1024 {
        big.push_str("mx: a.example.com\n");
    }
    let c = check_policy(big.as_bytes());
    assert!(c.is_valid());
    assert!(warnings(&c)
        .iter()
        .any(|w| w.0.is_none() && w.1.contains("64 KiB")));
}

#[test]
fn read_policy_names_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("nope.txt");
    let e = read_policy(&p).unwrap_err();
    assert!(matches!(e, MtaStsError::Io { .. }));
    assert!(e.to_string().starts_with(&p.display().to_string()), "{e}");
    std::fs::write(&p, GOOD).unwrap();
    assert!(read_policy(&p).unwrap().is_valid());
}

/// A self-signed certificate with the given SANs (none: CN only), made by the openssl CLI.
fn openssl_cert(dir: &Path, name: &str, cn: &str, sans: &[&str]) -> PathBuf {
    let crt = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    let mut cmd = Command::new("openssl");
    cmd.args([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ])
    .arg("-keyout")
    .arg(&key)
    .arg("-out")
    .arg(&crt)
    .args(["-days", "30", "-subj", &format!("/CN={cn}")]);
    if !sans.is_empty() {
        let list: Vec<String> = sans.iter().map(|s| format!("DNS:{s}")).collect();
        cmd.args(["-addext", &format!("subjectAltName={}", list.join(","))]);
    }
    let out = cmd.output().expect("run openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    crt
}

#[test]
fn mx_coverage_against_openssl_certificates() {
    if !common::have_tool("openssl", &["version"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let crt = openssl_cert(
        dir.path(),
        "mx",
        "ignored-cn.example.com",
        &["MX1.example.com", "*.mail.example.com"],
    );
    let names = cert_names_from_files(std::slice::from_ref(&crt)).unwrap();
    assert_eq!(names, s(&["mx1.example.com", "*.mail.example.com"]));

    let p = Policy::new(
        Mode::Enforce,
        &s(&[
            "mx1.example.com",
            "in.mail.example.com",
            "a.b.mail.example.com",
            "*.mail.example.com",
            "*.example.com",
            "ignored-cn.example.com",
        ]),
        86400,
    )
    .unwrap();
    assert_eq!(
        uncovered_mx(&p, &names),
        s(&[
            "a.b.mail.example.com",
            "*.example.com",
            "ignored-cn.example.com"
        ])
    );

    // A certificate with a CN but no SAN covers nothing (RFC 8461 section 4.1 needs a SAN).
    let cn_only = openssl_cert(dir.path(), "cn", "mx1.example.com", &[]);
    let names = cert_names_from_files(&[cn_only]).unwrap();
    assert!(names.is_empty(), "{names:?}");
    let p = Policy::new(Mode::Enforce, &s(&["mx1.example.com"]), 86400).unwrap();
    assert_eq!(uncovered_mx(&p, &names), s(&["mx1.example.com"]));

    // Unreadable or certificate-less files are errors naming the file.
    let missing = dir.path().join("missing.pem");
    let e = cert_names_from_files(std::slice::from_ref(&missing)).unwrap_err();
    assert!(e.to_string().contains("missing.pem"), "{e}");
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let e = cert_names_from_files(std::slice::from_ref(&junk)).unwrap_err();
    assert!(
        e.to_string().contains("junk.pem") && e.to_string().contains("no PEM certificate"),
        "{e}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The checker never panics, and a valid result always carries a policy.
    #[test]
    fn checker_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let c = check_policy(&bytes);
        prop_assert_eq!(c.is_valid(), c.policy.is_some());
    }

    /// Line-shaped input built from policy-like pieces never panics either.
    #[test]
    fn checker_on_policy_like_lines(lines in proptest::collection::vec(
        "(version|mode|max_age|mx|Mode|x)(:| :|)[ \t]?(STSv1|enforce|testing|none|[0-9]{1,12}|\\*?\\.?[a-z*.]{0,12})[ \r]?",
        0..8))
    {
        let text = lines.join("\n");
        let c = check_policy(text.as_bytes());
        if let Some(p) = &c.policy {
            prop_assert!(p.max_age <= MAX_AGE_LIMIT);
            prop_assert_eq!(p.mx.len(), c.mx_lines.len());
        }
    }

    /// Every policy that Policy::new accepts round-trips through its text.
    #[test]
    fn generated_round_trip(labels in proptest::collection::vec("[a-z][a-z0-9-]{0,8}[a-z0-9]", 1..4),
                            wild in any::<bool>(), age in 0u64..=MAX_AGE_LIMIT) {
        let host = format!("{}.example.org", labels.join("."));
        let mx = if wild { format!("*.{host}") } else { host };
        let p = Policy::new(Mode::Enforce, &[mx], age).unwrap();
        let c = check_policy(p.to_text().as_bytes());
        prop_assert_eq!(c.policy, Some(p));
    }
}
