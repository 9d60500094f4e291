//! The two-core scan equals the sequential one: on generated logs with sessions interleaved
//! across processes, split at every line boundary (property test), and on the log written by
//! a real Postfix 3.7.11 (tests/fixtures/maillog), split at every line boundary.

use std::io::Write;
use std::path::Path;

use chrono::{TimeZone, Utc};
use pftls_maillog::{analyze, analyze_split, LogQuery, LogSource, YearHint};
use proptest::prelude::*;

fn hint() -> YearHint {
    YearHint::utc(Utc.with_ymd_and_hms(2025, 3, 11, 0, 0, 0).unwrap())
}

fn query() -> LogQuery {
    LogQuery {
        bucket: std::time::Duration::from_secs(60),
        top: 0,
        quiet: true,
        ..LogQuery::default()
    }
}

/// Line starts of `data` (every possible seam).
fn seams(data: &[u8]) -> Vec<u64> {
    let mut v = vec![0];
    v.extend(
        data.iter()
            .enumerate()
            .filter(|(_, &c)| c == b'\n')
            .map(|(i, _)| i as u64 + 1),
    );
    v
}

fn check_every_seam(path: &Path) {
    let data = std::fs::read(path).unwrap();
    let seq = analyze(vec![LogSource::open(path).unwrap()], &query(), &hint()).unwrap();
    let file = std::fs::File::open(path).unwrap();
    for seam in seams(&data) {
        let par = analyze_split(&file, seam, &query(), &hint()).unwrap();
        assert_eq!(par, seq, "split at byte {seam}");
    }
}

/// One session of a kind; each kind writes several lines of the same pid.
fn session(kind: u8, pid: u32, n: u32) -> Vec<String> {
    let c = format!("c{}.example[192.0.2.{}]:{}", n % 7, n % 7, 40000 + n);
    let q = format!("4Q{n:08X}");
    match kind % 5 {
        0 => vec![
            format!("postfix/smtpd[{pid}]: connect from {c}"),
            format!("postfix/smtpd[{pid}]: Anonymous TLS connection established from {c}: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"),
            format!("postfix/smtpd[{pid}]: {q}: client={c}"),
            format!("postfix/cleanup[{}]: {q}: message-id=<{n}@x>", pid + 1),
            format!("postfix/cleanup[{}]: {q}: message-id=<{n}@x>", pid + 1),
            format!("postfix/smtp[{}]: {q}: to=<a@d{}.example>, relay=x, status=sent (250 ok)", pid + 2, n % 3),
            format!("postfix/smtpd[{pid}]: disconnect from {c} ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7"),
        ],
        1 => vec![
            format!("postfix/smtpd[{pid}]: connect from {c}"),
            format!("postfix/smtpd[{pid}]: SSL_accept error from {c}: -1"),
            format!("postfix/smtpd[{pid}]: warning: TLS library problem: error:0A000102:SSL routines::unsupported protocol:x.c:1:"),
            format!("postfix/smtpd[{pid}]: disconnect from {c} ehlo=1 starttls=0/1 commands=1/2"),
        ],
        2 => vec![
            format!("postfix/smtpd[{pid}]: connect from {c}"),
            format!("postfix/smtpd[{pid}]: disconnect from {c} ehlo=1 mail=0/1 quit=1 commands=2/3"),
        ],
        3 => vec![
            format!("postfix/tlsproxy[{pid}]: CONNECT from [192.0.2.{}]:{}", n % 9, 50000 + n),
            format!("postfix/tlsproxy[{pid}]: SSL_accept error from [192.0.2.{}]:{}: -1", n % 9, 50000 + n),
            format!("postfix/tlsproxy[{pid}]: warning: TLS library problem: error:0A0000C1:SSL routines::no shared cipher:x.c:1:"),
        ],
        _ => vec![
            format!("postfix/smtpd[{pid}]: connect from {c}"),
            format!("postfix/smtpd[{pid}]: SSL_accept error from {c}: -1"),
            format!("postfix/smtpd[{pid}]: lost connection after STARTTLS from {c}"),
            format!("postfix/smtpd[{pid}]: disconnect from {c} ehlo=1 starttls=0/1 commands=1/2"),
        ],
    }
}

/// Interleaves sessions: `order` picks which open session writes its next line.
fn log(kinds: &[u8], order: &[usize]) -> String {
    let mut open: Vec<(Vec<String>, usize)> = kinds
        .iter()
        .enumerate()
        // One pid per session: concurrent sessions never share a process.
        .map(|(i, &k)| (session(k, 100 + i as u32 * 10, i as u32), 0))
        .collect();
    let mut out = String::new();
    let mut t = 0u32;
    let mut oi = 0;
    while open.iter().any(|(l, i)| *i < l.len()) {
        let live: Vec<usize> = (0..open.len())
            .filter(|&j| open[j].1 < open[j].0.len())
            .collect();
        // Only the first few live sessions interleave, like concurrent processes.
        let pick = live[order.get(oi).copied().unwrap_or(0) % live.len().min(3)];
        oi += 1;
        let (lines, i) = &mut open[pick];
        let sec = t / 3;
        out.push_str(&format!(
            "Mar 10 12:{:02}:{:02} mx {}\n",
            (sec / 60) % 60,
            sec % 60,
            lines[*i]
        ));
        *i += 1;
        t += 1;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn parallel_equals_sequential_at_every_seam(
        kinds in proptest::collection::vec(0u8..5, 1..12),
        order in proptest::collection::vec(0usize..3, 0..80),
    ) {
        let text = log(&kinds, &order);
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f.flush().unwrap();
        check_every_seam(f.path());
    }
}

#[test]
fn real_postfix_log_at_every_seam() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/maillog/real-postfix-3.7.11.log");
    check_every_seam(&p);
}

/// Sessions still open at the end of a file scanned on two threads continue in the next
/// file: their disconnect lines (here without `starttls=` counters, so the session's own TLS
/// state decides) are judged with the state the second half handed over, whose per-client
/// slots belong to the second half's table. Same result as reading both files sequentially.
#[test]
fn sessions_open_across_a_split_file_continue_in_the_next() {
    let ts = |i: usize| {
        format!(
            "2025-03-10T12:{:02}:{:02}.000000+00:00",
            (i / 60) % 60,
            i % 60
        )
    };
    let mut first = String::new();
    let mut n = 0;
    // The first half sees other clients first, so that slot numbers differ between halves.
    for i in 0..40 {
        let c = format!("head{i}.example[198.51.100.{i}]");
        first.push_str(&format!(
            "{} mx postfix/smtpd[{}]: connect from {c}\n",
            ts(n),
            2000 + i
        ));
        first.push_str(&format!(
            "{} mx postfix/smtpd[{}]: disconnect from {c} ehlo=1 quit=1 commands=2\n",
            ts(n),
            2000 + i
        ));
        n += 1;
    }
    let filler = "mx postfix/qmgr[9]: 4QABCDEF0123: removed\n";
    while first.len() < (pftls_maillog::PARALLEL_MIN_BYTES as usize) + (1 << 20) {
        first.push_str(&ts(n / 1000));
        first.push(' ');
        first.push_str(filler);
        n += 1;
    }
    // Sessions that begin in the second half and stay open.
    for (k, tls) in [(0, true), (1, true), (2, false)] {
        let c = format!("tail{k}.example[203.0.113.{k}]");
        first.push_str(&format!(
            "{} mx postfix/smtpd[{}]: connect from {c}\n",
            ts(3000),
            500 + k
        ));
        if tls {
            first.push_str(&format!(
                "{} mx postfix/smtpd[{}]: Anonymous TLS connection established from {c}: TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128 bits)\n",
                ts(3000),
                500 + k
            ));
        }
    }
    let mut second = String::new();
    for k in 0..3 {
        let c = format!("tail{k}.example[203.0.113.{k}]");
        let counters = if k == 2 {
            "ehlo=1 mail=0/1 quit=1 commands=2/3"
        } else {
            "ehlo=2 mail=1 quit=1 commands=4"
        };
        second.push_str(&format!(
            "{} mx postfix/smtpd[{}]: disconnect from {c} {counters}\n",
            ts(3001),
            500 + k
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("maillog.1"), dir.path().join("maillog"));
    std::fs::write(&a, &first).unwrap();
    std::fs::write(&b, &second).unwrap();
    let split = analyze(
        vec![LogSource::open(&a).unwrap(), LogSource::open(&b).unwrap()],
        &query(),
        &hint(),
    )
    .unwrap();
    let reader = |s: &String| {
        LogSource::from_reader("-", std::io::Cursor::new(s.clone().into_bytes()), None)
    };
    let sequential = analyze(vec![reader(&first), reader(&second)], &query(), &hint()).unwrap();
    assert_eq!(split, sequential);
    assert_eq!(split.totals.tls_sessions, 2, "{:?}", split.totals);
    assert_eq!(split.totals.plaintext_sessions, 41);
    assert_eq!(split.totals.starttls_required_rejects, 1);
    let tail2 = split
        .by_client
        .iter()
        .find(|r| r.client.starts_with("tail2."))
        .unwrap();
    assert_eq!(tail2.starttls_required_rejects, 1);
}
