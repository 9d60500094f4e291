//! The real and realistic lines of reference/postfix-config-syntax.md sections 7.1, 7.3 and
//! 7.4 parse without a miss and count as the SPEC says.

use chrono::{TimeZone, Utc};
use pftls_maillog::{Analyzer, By, Counts, LogQuery, LogReport, YearHint};

fn hint() -> YearHint {
    YearHint::utc(Utc.with_ymd_and_hms(2024, 12, 1, 0, 0, 0).unwrap())
}

fn run(lines: &[&str]) -> LogReport {
    let q = LogQuery {
        top: 0,
        by: By::All,
        ..LogQuery::default()
    };
    let mut a = Analyzer::new(&q, &hint());
    for l in lines {
        a.feed_line(l.as_bytes());
    }
    a.finish()
}

/// Each line alone: a Postfix line, not unparsed.
fn each_parses(lines: &[&str]) {
    for l in lines {
        let r = run(&[l]);
        assert_eq!(
            (r.lines, r.postfix_lines, r.unparsed_lines),
            (1, 1, 0),
            "missed: {l}"
        );
        assert!(r.first.is_some(), "no time: {l}");
    }
}

const SECTION_7_3: &[&str] = &[
    "Nov 30 01:02:03 mx postfix/smtpd[1234]: connect from mail.example.org[203.0.113.7]",
    "Nov 30 01:02:03 mx postfix/smtpd[1234]: Anonymous TLS connection established from mail.example.org[203.0.113.7]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
    "Nov 30 01:02:04 mx postfix/smtpd[1234]: SSL_accept error from unknown[198.51.100.23]: -1",
    "Nov 30 01:02:04 mx postfix/smtpd[1234]: warning: TLS library problem: error:0A0000C1:SSL routines::no shared cipher:../ssl/statem/statem_srvr.c:2220:",
    "Nov 30 01:02:04 mx postfix/smtpd[1234]: lost connection after STARTTLS from unknown[198.51.100.23]",
    "Nov 30 01:02:04 mx postfix/smtpd[1234]: disconnect from unknown[198.51.100.23] ehlo=1 starttls=0/1 commands=1/2",
    "Nov 30 01:02:05 mx postfix/submission/smtpd[2345]: Anonymous TLS connection established from client.example.net[192.0.2.10]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
    "Nov 30 01:02:06 mx postfix/submissions/smtpd[2346]: SSL_accept error from client.example.net[192.0.2.10]: lost connection",
    "Nov 30 01:02:06 mx postfix/submissions/smtpd[2346]: lost connection after CONNECT from client.example.net[192.0.2.10]",
    "Nov 30 01:05:10 mx postfix/smtp[3456]: Untrusted TLS connection established to mx.example.net[203.0.113.5]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
    "Nov 30 01:05:11 mx postfix/smtp[3456]: Verified TLS connection established to mx1.example.com[2001:db8::25]:25: TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128 bits) key-exchange X25519 server-signature ECDSA (prime256v1) server-digest SHA256",
    "Nov 30 01:05:12 mx postfix/smtp[3457]: 0F039B616AC: to=<user@example.net>, relay=mx.example.net[203.0.113.5]:25, delay=0.42, delays=0.05/0.01/0.31/0.05, dsn=4.7.4, status=deferred (TLS is required, but was not offered by host mx.example.net[203.0.113.5])",
    "Nov 30 01:05:13 mx postfix/smtp[3458]: SSL_connect error to mx.example.org[198.51.100.9]:25: -1",
    "Nov 30 01:05:13 mx postfix/smtp[3458]: warning: TLS library problem: error:0A000410:SSL routines::sslv3 alert handshake failure:../ssl/record/rec_layer_s3.c:1584:SSL alert number 40:",
    "Nov 30 01:05:13 mx postfix/smtp[3458]: 0F039B616AC: to=<user@example.org>, relay=mx.example.org[198.51.100.9]:25, delay=1.2, delays=0.05/0/1.1/0, dsn=4.7.5, status=deferred (Cannot start TLS: handshake failure)",
];

#[test]
fn section_7_3_traditional() {
    each_parses(SECTION_7_3);
    let r = run(SECTION_7_3);
    let want = Counts {
        connections: 1,
        tls_established: 2,
        tls_handshake_failures: 2,
        starttls_required_rejects: 0,
        messages_accepted: 0,
        tls_deferrals: 2,
        plaintext_sessions: 1,
        tls_sessions: 0,
        tls_established_outbound: 2,
        deliveries_sent: 0,
        deliveries_deferred: 2,
        deliveries_bounced: 0,
    };
    assert_eq!(r.totals, want);
    assert_eq!(r.failure_reasons.get("no shared cipher"), Some(&1));
    assert_eq!(r.failure_reasons.get("lost connection"), Some(&1));
    assert_eq!(r.failure_reasons.len(), 2);
    assert_eq!(r.tls_protocols.get("TLSv1.3"), Some(&2));
    assert_eq!(r.tls_ciphers.get("TLS_AES_256_GCM_SHA384"), Some(&2));
    let failing = &r.by_client[0];
    assert_eq!(failing.tls_handshake_failures, 1);
    let domains: Vec<(&str, u64)> = r
        .by_domain
        .iter()
        .map(|d| (d.domain.as_str(), d.tls_deferrals))
        .collect();
    assert_eq!(domains, vec![("example.net", 1), ("example.org", 1)]);
    // Maillog_file (zero-padded day) gives the same.
    let zero: Vec<String> = SECTION_7_3
        .iter()
        .map(|l| l.replacen("Nov 30", "Nov 03", 1))
        .collect();
    let zero: Vec<&str> = zero.iter().map(String::as_str).collect();
    assert_eq!(run(&zero).totals, want);
}

/// Section 7.1: captured 3.7.11 smtpd lines (stderr copies, given a syslog prefix here).
const SECTION_7_1: &[&str] = &[
    "connect from localhost[127.0.0.1]",
    "Anonymous TLS connection established from localhost[127.0.0.1]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
    "disconnect from localhost[127.0.0.1] ehlo=2 starttls=1 mail=0/1 quit=1 commands=4/5",
    "Anonymous TLS connection established from localhost[127.0.0.1]: TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)",
    "Untrusted TLS connection established from localhost[127.0.0.1]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256 client-signature RSA-PSS (2048 bits) client-digest SHA256",
    "Trusted TLS connection established from localhost[127.0.0.1]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256 client-signature RSA-PSS (2048 bits) client-digest SHA256",
    "SSL_accept error from localhost[127.0.0.1]: -1",
    "warning: TLS library problem: error:0A0000C1:SSL routines::no shared cipher:../ssl/statem/statem_srvr.c:2226:",
    "lost connection after STARTTLS from localhost[127.0.0.1]",
    "disconnect from localhost[127.0.0.1] ehlo=1 starttls=0/1 mail=0/1 commands=1/3",
    "SSL_accept error from localhost[127.0.0.1]: -1",
    "warning: TLS library problem: error:0A00010B:SSL routines::wrong version number:../ssl/record/ssl3_record.c:350:",
    "lost connection after STARTTLS from localhost[127.0.0.1]",
    "SSL_accept error from localhost[127.0.0.1]: lost connection",
    "lost connection after STARTTLS from localhost[127.0.0.1]",
    "SSL_accept error from localhost[127.0.0.1]: -1",
    "warning: TLS library problem: error:0A000102:SSL routines::unsupported protocol:../ssl/statem/statem_srvr.c:1664:",
    "lost connection after STARTTLS from localhost[127.0.0.1]",
    "SSL_accept error from localhost[127.0.0.1]: -1",
    "warning: TLS library problem: error:0A00010B:SSL routines::wrong version number:../ssl/record/ssl3_record.c:350:",
    "lost connection after CONNECT from localhost[127.0.0.1]",
    "disconnect from localhost[127.0.0.1] commands=0/0",
    "warning: No server certs available. TLS won't be enabled",
    "warning: error opening chain file: /path/to/missing.pem: No such file or directory",
    // Section 6.1: the 530 transcript's disconnect line.
    "disconnect from localhost[127.0.0.1] helo=1 auth=0/1 mail=0/1 rset=0/1 noop=1 vrfy=0/1 quit=1 unknown=0/2 commands=3/9",
    // OpenSSL 1.1.1 names the function; Postfix <= 2.10 prefixed a thread id.
    "SSL_accept error from old.example[192.0.2.1]: -1",
    "warning: TLS library problem: error:1417A0C1:SSL routines:tls_post_process_client_hello:no shared cipher:ssl/statem/statem_srvr.c:2283:",
    "SSL_accept error from older.example[192.0.2.2]: 0",
    "warning: TLS library problem: 4711:error:1408A0C1:SSL routines:ssl3_get_client_hello:no shared cipher:s3_srvr.c:1417:",
    "SSL_accept error from rst.example[192.0.2.3]: Connection reset by peer",
];

#[test]
fn section_7_1_captured_smtpd() {
    let lines: Vec<String> = SECTION_7_1
        .iter()
        .map(|m| format!("2024-11-30T01:02:03.123456+00:00 mx postfix/smtpd[4242]: {m}"))
        .collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    each_parses(&lines);
    let r = run(&lines);
    assert_eq!(r.totals.connections, 1);
    assert_eq!(r.totals.tls_established, 4);
    assert_eq!(r.totals.tls_handshake_failures, 8);
    assert_eq!(
        r.totals.starttls_required_rejects, 1,
        "only the 6.1 transcript's disconnect"
    );
    let reasons: Vec<(&str, u64)> = r
        .failure_reasons
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    // one sample line per category, the first seen
    assert_eq!(r.failure_samples.len(), 3);
    assert!(r.failure_samples["no shared cipher"].contains("no shared cipher"));
    assert_eq!(
        reasons,
        vec![
            // `Connection reset by peer` and `lost connection`
            ("lost connection", 2),
            ("no shared cipher", 3),
            // `unsupported protocol` and 2 × `wrong version number`
            ("unsupported or too low protocol", 3),
        ]
    );
    assert_eq!(r.tls_protocols.get("TLSv1.2"), Some(&1));
    assert_eq!(r.tls_protocols.get("TLSv1.3"), Some(&3));
}

const SECTION_7_4: &[&str] = &[
    "2024-11-30T01:02:03.123456+00:00 mx postfix/smtpd[1234]: Anonymous TLS connection established from mail.example.org[203.0.113.7]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
    "2024-11-30T01:02:03+0000 mx postfix/smtpd[1234]: lost connection after STARTTLS from unknown[198.51.100.23]",
    "2024-11-30T01:02:03.123456+0000 mx postfix/smtpd[1234]: connect from unknown[198.51.100.23]",
    "<22>1 2024-11-30T01:02:03.123456+00:00 mx postfix/smtpd 1234 - - SSL_accept error from unknown[198.51.100.23]: -1",
    "<20>1 2024-11-30T01:02:03.124001+00:00 mx postfix/smtpd 1234 - - warning: TLS library problem: error:0A0000C1:SSL routines::no shared cipher:../ssl/statem/statem_srvr.c:2220:",
];

#[test]
fn section_7_4_iso_5424_journald() {
    each_parses(SECTION_7_4);
    let r = run(SECTION_7_4);
    assert_eq!(r.totals.tls_established, 1);
    assert_eq!(r.totals.connections, 1);
    assert_eq!(r.totals.tls_handshake_failures, 1);
    assert_eq!(r.failure_reasons.get("no shared cipher"), Some(&1));
    assert_eq!(
        r.first,
        Some(Utc.with_ymd_and_hms(2024, 11, 30, 1, 2, 3).unwrap())
    );
}

#[test]
fn other_programs_are_counted_but_skipped() {
    let r = run(&[
        "Nov 30 01:02:03 mx dovecot: imap-login: Login: user=<u>",
        "Nov 30 01:02:03 mx systemd[1]: Started Postfix Mail Transport Agent.",
        "Nov 30 01:02:03 mx opendkim[99]: 0F039B616AC: DKIM-Signature field added",
        "Nov 30 01:02:03 mx postfix-out/smtp[7]: 0F039B616AC: to=<a@b.example>, relay=none, delay=1, delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to b.example: Connection refused)",
        "not a log line",
    ]);
    assert_eq!((r.lines, r.postfix_lines, r.unparsed_lines), (5, 1, 1));
    assert_eq!(r.totals.deliveries_deferred, 1);
    assert_eq!(r.totals.tls_deferrals, 0);
}
