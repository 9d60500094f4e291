//! Byte-identical round trips and Postfix's fatal errors.

mod common;

use postfix_conf::{MainCf, MasterCf};

#[test]
fn main_fixtures_round_trip() {
    for (name, bytes) in common::fixtures(".main.cf") {
        let doc = MainCf::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(doc.render(), bytes, "{name}");
        assert!(!doc.entries().is_empty(), "{name}: no entries");
    }
}

#[test]
fn master_fixtures_round_trip() {
    for (name, bytes) in common::fixtures(".master.cf") {
        let doc = MasterCf::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(doc.render(), bytes, "{name}");
        assert!(!doc.services().is_empty(), "{name}: no services");
    }
}

#[test]
fn stock_files_round_trip() {
    if let Some(b) = common::stock("main.cf.dist") {
        let doc = MainCf::parse(&b).expect("main.cf.dist");
        assert_eq!(doc.render(), b);
    }
    if let Some(b) = common::stock("master.cf.dist") {
        let doc = MasterCf::parse(&b).expect("master.cf.dist");
        assert_eq!(doc.render(), b);
        let keys: Vec<String> = doc.services().iter().map(|s| s.key()).collect();
        assert!(keys.contains(&"smtp/inet".to_string()), "{keys:?}");
        assert!(keys.contains(&"relay/unix".to_string()), "{keys:?}");
        let relay = doc.service("relay/unix").expect("relay");
        assert_eq!(
            relay
                .get_override("syslog_name")
                .map(|o| o.value)
                .as_deref(),
            Some("postfix/$service_name")
        );
    }
}

#[test]
fn semantics_of_values() {
    let b =
        std::fs::read(common::fixture_dir().join("comments-in-values.main.cf")).expect("fixture");
    let doc = MainCf::parse(&b).expect("parse");
    assert_eq!(
        doc.get("alias_maps").expect("alias_maps").value,
        "hash:/etc/aliases # trailing"
    );
    assert_eq!(
        doc.get("relayhost").expect("relayhost").value,
        "# not a comment"
    );
    let banner = doc.get("smtpd_banner").expect("banner");
    // Joined without separators; the leading whitespace of continuation lines is kept.
    assert_eq!(banner.value, "$myhostname   ESMTP   $mail_name  (Debian)");
    assert_eq!((banner.line, banner.last_line), (4, 9));
    let b = std::fs::read(common::fixture_dir().join("crlf.main.cf")).expect("fixture");
    let doc = MainCf::parse(&b).expect("parse");
    assert_eq!(
        doc.get("relayhost").expect("r").value,
        "[mail.example.com]:587"
    );
    assert_eq!(
        doc.get("smtpd_tls_mandatory_protocols").expect("p").value,
        "!SSLv2,\r    !SSLv3\r\t!TLSv1"
    );
    let b = std::fs::read(common::fixture_dir().join("nul.main.cf")).expect("fixture");
    assert_eq!(
        MainCf::parse(&b)
            .expect("parse")
            .get("relayhost")
            .expect("r")
            .value,
        "before"
    );
}

#[test]
fn duplicates_and_orphans_warn() {
    let doc =
        MainCf::parse(b"  orphan = 1\n   cont\nmyhostname = q\nmyhostname = r\nmyhostname = r\n")
            .expect("parse");
    let w = doc.warnings();
    assert_eq!(w.len(), 2, "{w:?}");
    assert_eq!(
        w[0].message,
        "logical line must not start with whitespace: \"  orphan = 1   cont\""
    );
    assert_eq!(
        (w[1].line, w[1].message.as_str()),
        (4, "overriding earlier entry: myhostname=q")
    );
    assert_eq!(doc.get("myhostname").expect("h").value, "r");
    assert_eq!(doc.entries().len(), 3);
    assert_eq!(doc.effective().len(), 1);
}

#[test]
fn fatal_errors_are_errors_with_lines() {
    let e = MainCf::parse(b"myhostname = a\nrelayhost = b\n  c\n  d\nbogus\n").expect_err("fatal");
    assert_eq!(
        (e.line, e.message.as_str(), e.text.as_str()),
        (5, "missing '=' after attribute name", "bogus")
    );
    let e = MainCf::parse(b"# c\n=foo\n").expect_err("fatal");
    assert_eq!((e.line, e.message.as_str()), (2, "missing attribute name"));
    assert_eq!(e.to_string(), "line 2: missing attribute name: \"=foo\"");
    let e = MainCf::parse(b"a = 1\nrel\0ayhost = x\n").expect_err("NUL cuts the name");
    assert_eq!(e.line, 2);
    // The '=' may sit on a continuation line.
    assert_eq!(
        MainCf::parse(b"relayhost\n  = foo\n")
            .expect("ok")
            .get("relayhost")
            .expect("r")
            .value,
        "foo"
    );

    let e = MasterCf::parse(b"smtp inet n - y - - smtpd\nfoo tcp n - y - -\n  smtpd\n")
        .expect_err("type");
    assert_eq!(
        (e.line, e.message.as_str()),
        (2, "invalid type field \"tcp\"")
    );
    let e = MasterCf::parse(b"foo inet n - yes - - smtpd\n").expect_err("bool");
    assert_eq!(e.message, "invalid chroot field \"yes\"");
    let e = MasterCf::parse(b"foo inet n\n").expect_err("count");
    assert_eq!(e.message, "bad field count");
    let e = MasterCf::parse(b"foo inet n - n 10x - smtpd\n").expect_err("wakeup");
    assert_eq!(e.message, "invalid wakeup field \"10x\"");
    let e = MasterCf::parse(b"foo inet n - n 10? x1 smtpd\n").expect_err("maxproc");
    assert_eq!(e.message, "invalid process_limit field \"x1\"");
}

#[test]
fn master_fields_and_overrides() {
    let b = std::fs::read(common::fixture_dir().join("ipv6.master.cf")).expect("fixture");
    let doc = MasterCf::parse(&b).expect("parse");
    let s = doc.service("[::1]:10025/inet").expect("ipv6 service");
    assert_eq!(s.process_limit, "-");
    assert_eq!(s.get_override("content_filter").expect("cf").value, "");
    let s = doc.service("127.0.0.1:submission/inet").expect("lo");
    let names: Vec<&str> = s.overrides.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        ["syslog_name", "smtpd_tls_cert_file", "smtpd_tls_key_file"]
    );
    assert_eq!(s.overrides[2].line, 5);
    let s = doc.service("[2001:db8::1]:smtp/inet").expect("v6 smtp");
    assert_eq!(s.process_limit, "10");

    let b = std::fs::read(common::fixture_dir().join("braces.master.cf")).expect("fixture");
    let doc = MasterCf::parse(&b).expect("parse");
    let sub = doc.service("submission/inet").expect("submission");
    assert_eq!(
        sub.get_override("smtpd_banner").expect("b").value,
        "$myhostname   ESMTP  submission"
    );
    assert_eq!(
        sub.get_override("smtpd_tls_mandatory_protocols")
            .expect("p")
            .value,
        ">=TLSv1.2"
    );
    let pipe = doc.service("maildrop/unix").expect("maildrop");
    assert_eq!(pipe.command, "pipe");
    assert_eq!(pipe.args.last().map(String::as_str), Some("two words"));
    assert!(pipe.overrides.is_empty());

    let doc = MasterCf::parse(b"a inet n - n - - smtpd -o {x} -o { y = 1\n").expect("parse");
    let msgs: Vec<String> = doc.warnings().into_iter().map(|w| w.message).collect();
    assert!(
        msgs.contains(&"missing '=' after attribute name: \"x\"".to_string()),
        "{msgs:?}"
    );
    assert!(
        msgs.contains(&"missing '}' in \"{ y = 1\"".to_string()),
        "{msgs:?}"
    );
    assert_eq!(
        doc.service("a/inet")
            .expect("a")
            .get_override("y")
            .expect("y")
            .value,
        "1"
    );

    let doc =
        MasterCf::parse(b"a inet n - n - - smtpd\na inet n - n - - smtpd -o x=1\n").expect("parse");
    assert_eq!(
        doc.warnings()[0].message,
        "duplicate entry for service \"a/inet\" -- using the last entry"
    );
    assert_eq!(doc.service("a/inet").expect("a").line, 2);
}
