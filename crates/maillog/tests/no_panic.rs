//! No input makes the analyser panic: random bytes, and real lines cut and mutated anywhere.

use chrono::{TimeZone, Utc};
use pftls_maillog::{Analyzer, LogQuery, YearHint};
use proptest::prelude::*;

const SEEDS: &[&str] = &[
    "Nov 30 01:02:04 mx postfix/smtpd[1234]: SSL_accept error from unknown[198.51.100.23]: -1",
    "Nov 30 01:02:04 mx postfix/smtpd[1234]: warning: TLS library problem: error:0A0000C1:SSL routines::no shared cipher:../ssl/statem/statem_srvr.c:2220:",
    "<22>1 2024-11-30T01:02:03.123456+00:00 mx postfix/smtpd 1234 - [a@1 x=\"]\"] SSL_accept error from unknown[198.51.100.23]: -1",
    "2024-11-30T01:02:03+0000 mx postfix/smtp[3457]: 0F039B616AC: to=<user@example.net>, relay=mx.example.net[203.0.113.5]:25, delay=0.42, delays=0.05/0.01/0.31/0.05, dsn=4.7.4, status=deferred (TLS is required, but was not offered by host mx.example.net[203.0.113.5])",
    "Nov  3 01:02:03 mx postfix/smtpd[1]: disconnect from localhost[127.0.0.1] helo=1 auth=0/1 mail=0/1 rset=0/1 commands=3/9",
    "2024-11-30T01:02:03.1+01:00 mx postfix/submission/smtpd[2345]: Anonymous TLS connection established from client.example.net[192.0.2.10]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
    "Nov 30 01:02:03 mx postfix/cleanup[5]: 0F039B616AC: message-id=<x@y>",
];

fn feed(lines: &[Vec<u8>]) {
    let hint = YearHint::utc(Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap());
    let mut a = Analyzer::new(&LogQuery::default(), &hint);
    for l in lines {
        a.feed_line(l);
    }
    let r = a.finish();
    assert_eq!(r.lines, lines.len() as u64);
    let _ = pftls_maillog::render_report(&r);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_bytes(lines in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..20)) {
        feed(&lines);
    }

    #[test]
    fn cut_and_mutated_real_lines(
        picks in prop::collection::vec((0..SEEDS.len(), 0usize..400, 0usize..400, any::<u8>()), 1..30)
    ) {
        let lines: Vec<Vec<u8>> = picks
            .iter()
            .map(|&(i, cut, pos, byte)| {
                let mut l = SEEDS[i].as_bytes().to_vec();
                if pos < l.len() {
                    l[pos] = byte;
                }
                l.truncate(cut.min(l.len()));
                l
            })
            .collect();
        feed(&lines);
    }
}
