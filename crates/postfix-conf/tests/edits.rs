//! Edits: exact resulting bytes, refusals, and "untouched lines stay byte-identical".

use postfix_conf::{EditError, MainCf, MasterCf};

fn main_cf(s: &[u8]) -> MainCf {
    MainCf::parse(s).expect("parse")
}

#[test]
fn set_in_place_keeps_everything_else() {
    let mut d = main_cf(
        b"# Header\n#smtpd_tls_security_level = none\n\nsmtpd_tls_security_level=may   \nsmtpd_tls_mandatory_protocols = !SSLv2,\n    !SSLv3\n  # indented comment\n\t!TLSv1\n\nsmtpd_tls_loglevel = 1\nsmtpd_tls_loglevel = 2\nmynetworks = 127.0.0.0/8\n",
    );
    assert_eq!(
        d.set("smtpd_tls_mandatory_protocols", ">=TLSv1.2"),
        Ok(true)
    );
    assert_eq!(d.set("smtpd_tls_loglevel", "1"), Ok(true));
    assert_eq!(d.set("smtpd_tls_security_level", "encrypt"), Ok(true));
    assert_eq!(d.set("tls_preempt_cipherlist", "yes"), Ok(true));
    assert_eq!(
        String::from_utf8(d.render()).expect("utf8"),
        "# Header\n#smtpd_tls_security_level = none\n\nsmtpd_tls_security_level = encrypt\nsmtpd_tls_mandatory_protocols = >=TLSv1.2\n  # indented comment\n\nsmtpd_tls_loglevel = 1\nmynetworks = 127.0.0.0/8\ntls_preempt_cipherlist = yes\n"
    );
    // Already so, no duplicates: nothing changes.
    let before = d.render();
    assert_eq!(d.set("smtpd_tls_loglevel", "1"), Ok(false));
    assert_eq!(d.render(), before);
    assert!(d.warnings().is_empty());
}

#[test]
fn crlf_and_missing_final_newline() {
    let mut d = main_cf(b"relayhost = a\r\n# c\r\nmyhostname = h\r\n  .x\r\nlast = 1");
    assert_eq!(d.set("myhostname", "n"), Ok(true));
    assert_eq!(d.set("smtpd_banner", "$myhostname  ESMTP"), Ok(true));
    assert_eq!(d.render(), b"relayhost = a\r\n# c\r\nmyhostname = n\r\nlast = 1\r\nsmtpd_banner = $myhostname  ESMTP\r\n");
    let mut d = main_cf(b"");
    assert_eq!(d.set("relayhost", ""), Ok(true));
    assert_eq!(d.render(), b"relayhost = \n");
    assert_eq!(d.get("relayhost").expect("r").value, "");
}

#[test]
fn remove_and_comment_out() {
    let src = b"a = 1\n  2\n# keep\n  3\nb = x\na = 4\n";
    let mut d = main_cf(src);
    assert!(d.comment_out("a"));
    assert_eq!(d.render(), b"#a = 1\n#  2\n# keep\n#  3\nb = x\n#a = 4\n");
    assert!(d.get("a").is_none());
    let mut d = main_cf(src);
    assert!(d.remove("a"));
    assert_eq!(d.render(), b"# keep\nb = x\n");
    assert!(!d.remove("a"));
    assert!(!d.comment_out("zzz"));
}

#[test]
fn refuses_values_postfix_would_read_differently() {
    let mut d = main_cf(b"relayhost = a\n");
    for bad in [
        "#x",
        " x",
        "x ",
        "x\ny",
        "x\ry",
        "x\0",
        "${foo",
        "$ x",
        "a$",
        "${a?{b}x}",
    ] {
        assert!(
            matches!(d.set("relayhost", bad), Err(EditError::InvalidValue { .. })),
            "{bad:?}"
        );
    }
    for bad in ["", "a b", "a=b", "#a", "-a", "a\tb"] {
        assert!(
            matches!(d.set(bad, "1"), Err(EditError::InvalidName { .. })),
            "{bad:?}"
        );
    }
    assert_eq!(d.render(), b"relayhost = a\n");
}

const MASTER: &[u8] = b"# header\nsmtp      inet  n       -       y       -       -       smtpd\nsubmission inet n       -       y       -       -       smtpd\n  -o syslog_name=postfix/submission\n  # comment inside entry\n  -o smtpd_tls_security_level=encrypt\n\n  -o { smtpd_tls_mandatory_protocols = >=TLSv1.2 }\nrelay     unix  -       -       y       -       -       smtp\n        -o syslog_name=postfix/$service_name\n#       -o smtp_helo_timeout=5 -o smtp_connect_timeout=5\nmaildrop  unix  -       n       n       -       -       pipe\n  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}\n";

fn master(s: &[u8]) -> MasterCf {
    MasterCf::parse(s).expect("parse")
}

fn text(d: &MasterCf) -> String {
    String::from_utf8(d.render()).expect("utf8")
}

#[test]
fn set_override_in_place_and_new() {
    let mut d = master(MASTER);
    assert_eq!(
        d.set_override("submission/inet", "smtpd_tls_security_level", "may"),
        Ok(true)
    );
    assert_eq!(
        d.set_override(
            "submission/inet",
            "smtpd_tls_mandatory_protocols",
            ">=TLSv1.3"
        ),
        Ok(true)
    );
    assert_eq!(
        d.set_override("relay/unix", "smtp_tls_security_level", "may"),
        Ok(true)
    );
    assert_eq!(
        d.set_override("smtp/inet", "smtpd_banner", "$myhostname  ESMTP"),
        Ok(true)
    );
    assert_eq!(
        d.set_override("maildrop/unix", "syslog_name", "postfix/md"),
        Ok(true)
    );
    assert_eq!(
        text(&d),
        "# header\nsmtp      inet  n       -       y       -       -       smtpd\n  -o { smtpd_banner = $myhostname  ESMTP }\nsubmission inet n       -       y       -       -       smtpd\n  -o syslog_name=postfix/submission\n  # comment inside entry\n  -o smtpd_tls_security_level=may\n\n  -o smtpd_tls_mandatory_protocols=>=TLSv1.3\nrelay     unix  -       -       y       -       -       smtp\n        -o syslog_name=postfix/$service_name\n        -o smtp_tls_security_level=may\n#       -o smtp_helo_timeout=5 -o smtp_connect_timeout=5\nmaildrop  unix  -       n       n       -       -       pipe\n  -o syslog_name=postfix/md\n  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}\n"
    );
    assert_eq!(
        d.set_override("submission/inet", "smtpd_tls_security_level", "may"),
        Ok(false)
    );
    assert_eq!(
        d.set_override("nosuch/inet", "a", "b"),
        Err(EditError::NoSuchService("nosuch/inet".into()))
    );
    assert!(matches!(
        d.set_override("smtp/inet", "a", "{b"),
        Err(EditError::InvalidValue { .. })
    ));
    let pipe = d.service("maildrop/unix").expect("pipe");
    assert_eq!(
        pipe.args[..2],
        ["-o".to_string(), "syslog_name=postfix/md".to_string()]
    );
}

#[test]
fn remove_override_drops_empty_lines_only() {
    let mut d = master(MASTER);
    assert_eq!(
        d.remove_override("submission/inet", "smtpd_tls_security_level"),
        Ok(true)
    );
    assert_eq!(
        d.remove_override("submission/inet", "smtpd_tls_security_level"),
        Ok(false)
    );
    let t = text(&d);
    assert!(t.contains("  -o syslog_name=postfix/submission\n  # comment inside entry\n\n  -o { smtpd_tls_mandatory"), "{t}");
    let mut d = master(b"s inet n - n - - smtpd -v -o a=1 -o b=2\n  -o a=3 -vo a=4 -oa=5 -o c=1\n");
    assert_eq!(d.remove_override("s/inet", "a"), Ok(true));
    assert_eq!(text(&d), "s inet n - n - - smtpd -v -o b=2\n  -v -o c=1\n");
    // Duplicates are resolved when setting: earlier ones go, the last is rewritten.
    let mut d = master(b"s inet n - n - - smtpd -o a=1 -o b=2\n  -o a=3\n");
    assert_eq!(d.set_override("s/inet", "a", "x y"), Ok(true));
    assert_eq!(
        text(&d),
        "s inet n - n - - smtpd -o b=2\n  -o { a = x y }\n"
    );
    let mut d = master(b"s inet n - n - - smtpd -oa=1\n");
    assert_eq!(d.set_override("s/inet", "a", "2"), Ok(true));
    assert_eq!(text(&d), "s inet n - n - - smtpd -o a=2\n");
}

/// Replays the fuzz target's master.cf steps on a saved input.
fn replay_master_fuzz(data: &[u8]) {
    let Ok(mut doc) = MasterCf::parse(data) else {
        return;
    };
    let Some(s) = doc.services().pop() else {
        return;
    };
    let key = s.key();
    let value: String = String::from_utf8_lossy(&data[data.len() / 3..])
        .chars()
        .take(12)
        .collect();
    let name = s
        .overrides
        .first()
        .map(|o| o.name.clone())
        .unwrap_or_else(|| "syslog_name".into());
    let before = doc.render();
    if doc.set_override(&key, &name, &value) == Ok(true) {
        let svc = doc.service(&key).expect("service");
        assert_eq!(
            svc.get_override(&name).map(|o| o.value),
            Some(value.clone()),
            "{name:?}\n{}\n---\n{}",
            String::from_utf8_lossy(&before),
            String::from_utf8_lossy(&doc.render())
        );
    }
}

#[test]
fn fuzz_regressions() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/postfix-conf");
    for e in std::fs::read_dir(dir).expect("fixtures").flatten() {
        if e.file_name()
            .to_string_lossy()
            .starts_with("fuzz-regression")
        {
            replay_master_fuzz(&std::fs::read(e.path()).expect("read"));
        }
    }
}

#[test]
fn names_match_whole_names_only() {
    let src = b"ab = 1\na = 2\na=b = 3\nab\t= 4\n";
    let mut d = main_cf(src);
    // Neither a prefix of another name nor text beyond the name (`=`, blanks) matches.
    assert!(!d.remove("a=b"));
    assert!(!d.remove("a "));
    assert!(!d.remove(""));
    assert!(!d.remove("abc"));
    assert!(d.remove("a"));
    assert_eq!(d.render(), b"ab = 1\nab\t= 4\n");
    assert!(d.comment_out("ab"));
    assert_eq!(d.render(), b"#ab = 1\n#ab\t= 4\n");
}
