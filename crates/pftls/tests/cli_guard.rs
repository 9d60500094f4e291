//! `apply --guard` and `rollback --if-drop` with a real `pftls apply` on a copy of an example
//! config and a mail log written while the guard watches (a writer thread appending realistic
//! rsyslog-format lines with current timestamps).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::Sandbox;

const OVER: &str = "centos-stream-10/over-hardened";
/// One session per tick: 20 per second.
const TICK: Duration = Duration::from_millis(50);
/// The writer stops by itself after this long, whatever happens.
const WRITER_MAX: Duration = Duration::from_secs(60);

/// A log line prefix as rsyslog writes it on Debian 12.
fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

/// An inbound TLS session that delivers one message.
fn accepted(t: DateTime<Utc>, n: u64) -> String {
    let ts = ts(t);
    let pid = 10_000 + n % 50_000;
    let c = format!("mail{}.example.org[198.51.100.{}]", n % 40, n % 250 + 1);
    format!(
        "{ts} mx postfix/smtpd[{pid}]: connect from {c}\n\
         {ts} mx postfix/smtpd[{pid}]: Anonymous TLS connection established from {c}: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256\n\
         {ts} mx postfix/smtpd[{pid}]: 4Q{n:08X}: client={c}\n\
         {ts} mx postfix/cleanup[7{pid}]: 4Q{n:08X}: message-id=<{n}.guard@example.org>\n\
         {ts} mx postfix/qmgr[900]: 4Q{n:08X}: from=<a@example.org>, size=2345, nrcpt=1 (queue active)\n\
         {ts} mx postfix/smtpd[{pid}]: disconnect from {c} ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7\n"
    )
}

/// An inbound session whose TLS handshake fails (no shared cipher), as Postfix 3.7 logs it.
fn handshake_failure(t: DateTime<Utc>, n: u64) -> String {
    let ts = ts(t);
    let pid = 10_000 + n % 50_000;
    let c = format!("old{}.example.net[203.0.113.{}]", n % 20, n % 250 + 1);
    format!(
        "{ts} mx postfix/smtpd[{pid}]: connect from {c}\n\
         {ts} mx postfix/smtpd[{pid}]: SSL_accept error from {c}: -1\n\
         {ts} mx postfix/smtpd[{pid}]: warning: TLS library problem: error:0A0000C1:SSL routines::no shared cipher:../ssl/statem/statem_srvr.c:2226:\n\
         {ts} mx postfix/smtpd[{pid}]: lost connection after STARTTLS from {c}\n\
         {ts} mx postfix/smtpd[{pid}]: disconnect from {c} ehlo=1 starttls=0/1 commands=1/2\n"
    )
}

/// Non-Postfix noise that keeps the log moving.
fn noise(t: DateTime<Utc>, n: u64) -> String {
    format!(
        "{} mx dovecot[{}]: imap-login: Login: user=<u>, method=PLAIN, rip=192.0.2.9, lip=192.0.2.1, TLS\n",
        ts(t),
        30_000 + n % 1000
    )
}

/// What the writer writes once the change is in place (a snapshot exists).
#[derive(Clone, Copy, Debug)]
enum After {
    /// Same traffic as before.
    Same,
    /// No accepted mail any more (only unrelated noise).
    NoMail,
    /// The same mail, plus a handshake failure per message.
    Failures,
}

/// Appends one session per [`TICK`] with current timestamps until stopped (or
/// [`WRITER_MAX`]); switches to `after` once `backups` holds a snapshot.
struct Writer {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<u64>>,
}

fn snapshot_exists(backups: &Path) -> bool {
    std::fs::read_dir(backups)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .any(|e| !e.file_name().to_string_lossy().starts_with('.'))
        })
        .unwrap_or(false)
}

impl Writer {
    /// Writes 30 s of history at the same rate (past timestamps), then starts the thread.
    fn start(log: PathBuf, backups: PathBuf, after: After) -> Writer {
        let now = Utc::now();
        let tick = chrono::Duration::from_std(TICK).unwrap();
        let history: String = (0..600u64)
            .map(|i| accepted(now - tick * (600 - i as i32), i))
            .collect();
        std::fs::write(&log, history).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
            let started = Instant::now();
            let mut n = 1_000u64;
            while !flag.load(Ordering::Relaxed) && started.elapsed() < WRITER_MAX {
                let t = Utc::now();
                let changed = snapshot_exists(&backups);
                let text = match (changed, after) {
                    (false, _) | (true, After::Same) => accepted(t, n),
                    (true, After::NoMail) => noise(t, n),
                    (true, After::Failures) => accepted(t, n) + &handshake_failure(t, n + 1),
                };
                // One write per session, like syslog: the follower never sees half a session.
                f.write_all(text.as_bytes()).unwrap();
                n += 2;
                std::thread::sleep(TICK);
            }
            n
        });
        Writer {
            stop,
            handle: Some(handle),
        }
    }

    fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            h.join().expect("writer thread");
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn guard_args(log: &str) -> Vec<&str> {
    vec![
        "apply",
        "-p",
        "inbound-opportunistic",
        "--no-impact",
        "--guard",
        "4s",
        "--log",
        log,
        "--reload",
        "--reload-command",
        "true",
    ]
}

#[test]
fn guard_keeps_a_change_when_traffic_continues() {
    let s = Sandbox::new(OVER);
    let main_before = s.main_cf();
    let log = s.tmp.path().join("mail.log");
    let w = Writer::start(log.clone(), s.backups.clone(), After::Same);
    let started = Instant::now();
    let (code, v) = s.json(&guard_args(log.to_str().unwrap()));
    w.finish();
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "the guard watched"
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["changed"], true);
    let g = &v["guard"];
    assert_eq!(g["rolled_back"], false, "{g}");
    assert_eq!(g["rollback"], false);
    assert_eq!(g["duration_seconds"], 4);
    let e = &g["evidence"];
    let (b, a) = (
        e["before"]["messages_accepted"].as_u64().unwrap(),
        e["after"]["messages_accepted"].as_u64().unwrap(),
    );
    // 20 sessions a second, 4 s each side (a loaded machine may write somewhat fewer).
    assert!((20..=90).contains(&b), "before {b}: {g}");
    assert!(a * 2 > b, "after {a} vs before {b}: {g}");
    assert_ne!(s.main_cf(), main_before, "the change stays");
    assert_eq!(s.snapshots().len(), 1, "no rollback snapshot");
}

#[test]
fn guard_rolls_back_when_accepted_mail_stops() {
    let s = Sandbox::new(OVER);
    let (main_before, master_before) = (s.main_cf(), s.master_cf());
    let log = s.tmp.path().join("mail.log");
    let w = Writer::start(log.clone(), s.backups.clone(), After::NoMail);
    let out = s.run(&guard_args(log.to_str().unwrap()));
    w.finish();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(s.main_cf(), main_before, "main.cf byte-identical");
    assert_eq!(s.master_cf(), master_before, "master.cf byte-identical");
    // The evidence is printed: the table, the reason, the rollback.
    assert!(stdout.contains("Guard: watched"), "{stdout}");
    assert!(stdout.contains("accepted messages"), "{stdout}");
    assert!(stdout.contains("dropped by 100.0%"), "{stdout}");
    assert!(stdout.contains("Verdict: rollback."), "{stdout}");
    assert!(stdout.contains("ROLLED BACK"), "{stdout}");
    assert!(stdout.contains("Reload `true`: ok"), "{stdout}");
    // The apply snapshot and the rollback's snapshot of the applied state.
    assert_eq!(s.snapshots().len(), 2);
}

#[test]
fn guard_rolls_back_when_tls_failures_rise() {
    let s = Sandbox::new(OVER);
    let (main_before, master_before) = (s.main_cf(), s.master_cf());
    let log = s.tmp.path().join("mail.log");
    let w = Writer::start(log.clone(), s.backups.clone(), After::Failures);
    let (code, v) = s.json(&guard_args(log.to_str().unwrap()));
    w.finish();
    assert_eq!(code, 1, "{v}");
    let g = &v["guard"];
    assert_eq!(g["rolled_back"], true, "{g}");
    assert_eq!(v["rolled_back"], true);
    let reasons = g["reasons"].as_array().unwrap();
    assert!(
        reasons
            .iter()
            .any(|r| r.as_str().unwrap().contains("failure rate rose")),
        "{g}"
    );
    // Mail kept flowing: the drop rule did not fire.
    assert!(
        !reasons
            .iter()
            .any(|r| r.as_str().unwrap().contains("dropped")),
        "{g}"
    );
    let e = &g["evidence"];
    // The guard starts once apply has written and reloaded, so the before-window may hold
    // the first few failures of the new configuration; the after-window holds many more.
    let fb = e["before"]["tls_handshake_failures"].as_u64().unwrap();
    let fa = e["after"]["tls_handshake_failures"].as_u64().unwrap();
    assert!(fa > 10 && fb * 4 < fa, "before {fb}, after {fa}: {g}");
    assert!(e["failure_rate_after_pct"].as_f64().unwrap() > 10.0);
    assert_eq!(g["restore"]["changed"], true);
    assert_eq!(g["restore"]["reload"]["ok"], true);
    assert_eq!(s.main_cf(), main_before);
    assert_eq!(s.master_cf(), master_before);
}

#[test]
fn guard_with_a_missing_log_is_refused() {
    let s = Sandbox::new(OVER);
    let missing = s.tmp.path().join("no-such.log");
    let (code, v) = s.json(&guard_args(missing.to_str().unwrap()));
    assert_eq!(code, 1, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("no-such.log"), "{msg}");
}

/// Applies, then returns (bytes before, bytes after apply, snapshot id, created).
fn applied(s: &Sandbox) -> (Vec<u8>, Vec<u8>, String, DateTime<Utc>) {
    let before = s.main_cf();
    let (code, v) = s.json(&["apply", "-p", "inbound-opportunistic", "--no-impact"]);
    assert_eq!(code, 0, "{v}");
    let id = v["backup"]["id"].as_str().unwrap().to_string();
    let (_, b) = s.json(&["backups", "show", &id]);
    let created = b["backup"]["manifest"]["created"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    (before, s.main_cf(), id, created)
}

/// `n` accepted sessions spread over `[from, from + secs)`.
fn spread(from: DateTime<Utc>, secs: i64, n: u64, n0: u64) -> String {
    (0..n)
        .map(|i| {
            accepted(
                from + chrono::Duration::milliseconds(secs * 1000 * i as i64 / n as i64),
                n0 + i,
            )
        })
        .collect()
}

/// Unrelated lines every `step` seconds over `[from, to)`: the log is being written.
fn noise_every(from: DateTime<Utc>, to: DateTime<Utc>, step: i64) -> String {
    let mut s = String::new();
    let mut t = from;
    let mut n = 0;
    while t < to {
        s.push_str(&noise(t, n));
        t += chrono::Duration::seconds(step);
        n += 1;
    }
    s
}

/// Lines of `parts` merged in time order (each part is time-ordered; lines start with an
/// RFC 3339 timestamp of fixed width, so a string sort is a time sort).
fn merged(parts: &[String]) -> String {
    let mut lines: Vec<&str> = parts.iter().flat_map(|p| p.lines()).collect();
    lines.sort_by(|a, b| a[..26].cmp(&b[..26]));
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// A whole second, `ago` before now.
fn second_ago(ago: chrono::Duration) -> DateTime<Utc> {
    let t = Utc::now() - ago;
    DateTime::<Utc>::from_timestamp(t.timestamp(), 0).unwrap()
}

fn if_drop(s: &Sandbox, log: &Path, pct: &str, around: &str) -> (i32, serde_json::Value) {
    s.json(&[
        "rollback",
        "--if-drop",
        pct,
        "--log",
        log.to_str().unwrap(),
        "--around",
        around,
    ])
}

/// Thin evidence on a quiet host (1 or 3 messages in the hour before a change, none in the
/// hour after, the log alive throughout): inconclusive, the change stays.
#[test]
fn if_drop_on_thin_evidence_is_inconclusive() {
    let s = Sandbox::new(OVER);
    let (_, applied_bytes, _, _) = applied(&s);
    let change = second_ago(chrono::Duration::hours(2));
    let log = s.tmp.path().join("mail.log");
    for n in [1u64, 3] {
        let msgs = spread(change - chrono::Duration::minutes(10), 300, n, 0);
        let alive = noise_every(change - chrono::Duration::hours(2), Utc::now(), 600);
        std::fs::write(&log, merged(&[msgs, alive])).unwrap();
        let (code, v) = if_drop(&s, &log, "50", &change.to_rfc3339());
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["changed"], false, "{v}");
        let g = &v["guard"];
        assert_eq!(g["verdict"], "inconclusive", "{g}");
        assert_eq!(g["rollback"], false);
        assert_eq!(g["windows"]["window_seconds"], 3600);
        assert_eq!(g["windows"]["problem"], serde_json::Value::Null);
        let e = &g["evidence"];
        assert_eq!(e["before"]["messages_accepted"], n);
        assert_eq!(e["after"]["messages_accepted"], 0);
        assert_eq!(e["drop_rule"]["status"], "inconclusive");
        assert_eq!(e["rule"]["min_messages"], 10);
        assert_eq!(e["rule"]["confidence_pct"], 95.0);
        assert_eq!(
            g["inconclusive"][0],
            format!(
                "not enough mail for the drop rule: {n} accepted messages before, 0 after; at least 10 before are needed"
            )
        );
        assert_eq!(s.main_cf(), applied_bytes, "the change stays");
        // Even with the minimum count lowered, 3 → 0 is not significant at 95 %.
        if n == 3 {
            let (code, v) = s.json(&[
                "rollback",
                "--if-drop",
                "50",
                "--log",
                log.to_str().unwrap(),
                "--around",
                &change.to_rfc3339(),
                "--min-messages",
                "1",
            ]);
            assert_eq!(code, 0, "{v}");
            assert_eq!(v["guard"]["verdict"], "inconclusive", "{v}");
            let why = v["guard"]["inconclusive"][0].as_str().unwrap();
            assert!(
                why.contains("even no message after would not show a drop"),
                "{why}"
            );
            assert_eq!(s.main_cf(), applied_bytes);
        }
    }
    // Text says the same.
    let out = s.run(&[
        "rollback",
        "--if-drop",
        "50",
        "--log",
        log.to_str().unwrap(),
        "--around",
        &change.to_rfc3339(),
    ]);
    let t = String::from_utf8_lossy(&out.stdout);
    assert!(
        t.contains("Verdict: inconclusive: not enough mail for the drop rule: 3 accepted messages before, 0 after"),
        "{t}"
    );
}

/// 60 messages in the half hour before, 2 in the half hour after: rolled back. The log starts
/// 30 min before the change, so both windows are shortened to 30 min.
#[test]
fn if_drop_on_a_real_drop_rolls_back() {
    let s = Sandbox::new(OVER);
    let (original, _, _, _) = applied(&s);
    let change = second_ago(chrono::Duration::hours(2));
    let half = chrono::Duration::minutes(30);
    let log = s.tmp.path().join("mail.log");
    let text = merged(&[
        spread(change - half, 1800, 60, 0),
        spread(change, 1800, 2, 100),
        noise_every(change - half, Utc::now(), 300),
    ]);
    std::fs::write(&log, text).unwrap();
    let (code, v) = if_drop(&s, &log, "50", &change.to_rfc3339());
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["changed"], true, "{v}");
    let g = &v["guard"];
    assert_eq!(g["verdict"], "rollback", "{g}");
    assert_eq!(g["windows"]["requested_seconds"], 3600);
    assert_eq!(g["windows"]["window_seconds"], 1800);
    let e = &g["evidence"];
    assert_eq!(e["before"]["messages_accepted"], 60);
    assert_eq!(e["after"]["messages_accepted"], 2);
    assert_eq!(e["drop_rule"]["status"], "fired");
    assert!(e["drop_rule"]["p_value"].as_f64().unwrap() < 1e-6, "{e}");
    let r = g["reasons"][0].as_str().unwrap();
    assert!(
        r.starts_with("accepted messages dropped by 96.7% (120.0/h before, 4.0/h after; 60 accepted messages before, 2 after)"),
        "{r}"
    );
    assert_eq!(s.main_cf(), original, "restored byte for byte");
}

/// A log that ends before the change (stale or the wrong file) is no evidence.
#[test]
fn if_drop_on_a_stale_log_is_inconclusive() {
    let s = Sandbox::new(OVER);
    let (_, applied_bytes, id, created) = applied(&s);
    let log = s.tmp.path().join("mail.log");
    std::fs::write(
        &log,
        spread(created - chrono::Duration::seconds(60), 50, 300, 0),
    )
    .unwrap();
    while Utc::now() < created + chrono::Duration::seconds(2) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let (code, v) = s.json(&[
        "rollback",
        "--if-drop",
        "50",
        "--log",
        log.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["changed"], false, "{v}");
    let g = &v["guard"];
    assert_eq!(g["verdict"], "inconclusive", "{g}");
    assert!(g["change_source"].as_str().unwrap().contains(&id));
    let p = g["windows"]["problem"].as_str().unwrap();
    assert!(
        p.contains("before the change") && p.contains("stale"),
        "{p}"
    );
    assert!(
        g["inconclusive"][0]
            .as_str()
            .unwrap()
            .starts_with("log does not cover the windows: the log ends at"),
        "{g}"
    );
    assert_eq!(g["evidence"]["drop_rule"]["status"], "not_applied");
    assert_eq!(s.main_cf(), applied_bytes, "the change stays");
}

#[test]
fn if_drop_usage_errors_exit_64() {
    let s = Sandbox::new(OVER);
    let _ = applied(&s);
    let log = s.tmp.path().join("mail.log");
    std::fs::write(&log, "").unwrap();
    for args in [
        vec!["--if-drop", "150"],
        vec!["--if-drop", "50", "--confidence", "100"],
        vec!["--if-drop", "50", "--around", "yesterday-ish"],
    ] {
        let mut a = vec!["rollback", "--log", log.to_str().unwrap()];
        a.extend(args.iter().copied());
        let (code, v) = s.json(&a);
        assert_eq!(code, 64, "{args:?}: {v}");
        assert_eq!(v["error"]["kind"], "usage");
    }
}

/// A live guard on a log nobody writes to: inconclusive after --guard-wait, the change stays.
#[test]
fn guard_on_a_stale_log_is_inconclusive() {
    let s = Sandbox::new(OVER);
    let main_before = s.main_cf();
    let log = s.tmp.path().join("mail.log");
    let now = Utc::now();
    std::fs::write(
        &log,
        spread(now - chrono::Duration::seconds(60), 60, 600, 0),
    )
    .unwrap();
    let mut args = guard_args(log.to_str().unwrap());
    args[5] = "2s";
    args.extend(["--guard-wait", "1s"]);
    let (code, v) = s.json(&args);
    assert_eq!(code, 0, "{v}");
    let g = &v["guard"];
    assert_eq!(g["verdict"], "inconclusive", "{g}");
    assert_eq!(g["rolled_back"], false);
    let why = g["inconclusive"][0].as_str().unwrap();
    assert!(
        why.starts_with("log does not cover the windows: the log's last line is at"),
        "{why}"
    );
    assert!(
        g["evidence"]["before"]["messages_accepted"]
            .as_u64()
            .unwrap()
            > 0,
        "{g}"
    );
    assert_ne!(s.main_cf(), main_before, "the change stays");
}

#[test]
fn rollback_if_drop_keeps_the_change_without_a_drop() {
    let s = Sandbox::new(OVER);
    let (_, applied_bytes, _, _) = applied(&s);
    // A change two hours ago, judged on the hour before vs the hour after it.
    let change = second_ago(chrono::Duration::hours(2));
    let log = s.tmp.path().join("mail.log");
    let hour = chrono::Duration::hours(1);
    let text = merged(&[
        spread(change - hour, 3600, 60, 0),
        spread(change, 3600, 58, 100),
        noise_every(change - hour, Utc::now(), 600),
    ]);
    std::fs::write(&log, text).unwrap();
    let when = change.to_rfc3339();
    let (code, v) = if_drop(&s, &log, "50", &when);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["changed"], false, "{v}");
    let g = &v["guard"];
    assert_eq!(g["verdict"], "keep", "{g}");
    assert_eq!(g["windows"]["window_seconds"], 3600);
    assert_eq!(g["evidence"]["before"]["messages_accepted"], 60);
    assert_eq!(g["evidence"]["after"]["messages_accepted"], 58);
    assert_eq!(g["evidence"]["drop_rule"]["status"], "passed");
    assert_eq!(s.main_cf(), applied_bytes, "the change stays");
    assert_eq!(s.snapshots().len(), 1);
    // Text: the evidence and the decision.
    let out = s.run(&[
        "rollback",
        "--if-drop",
        "50",
        "--log",
        log.to_str().unwrap(),
        "--around",
        &when,
    ]);
    assert_eq!(out.status.code(), Some(0));
    let t = String::from_utf8_lossy(&out.stdout);
    assert!(t.contains("Verdict: keep; the change stays."), "{t}");
    assert!(
        t.contains("no significant drop of more than 50%: 60 accepted messages before, 58 after"),
        "{t}"
    );
    // A 3 % fall is no evidence of a drop of more than 2 % either: 60 vs 58 is chance.
    let (_, v) = if_drop(&s, &log, "2", &when);
    assert_eq!(v["guard"]["verdict"], "keep", "{v}");
    // A threshold of 0 (any drop) on a real fall: 60 → 20 rolls back.
    let text = merged(&[
        spread(change - hour, 3600, 60, 0),
        spread(change, 3600, 20, 100),
        noise_every(change - hour, Utc::now(), 600),
    ]);
    std::fs::write(&log, text).unwrap();
    let (code, v) = if_drop(&s, &log, "0", &when);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["changed"], true, "{v}");
    assert_ne!(s.main_cf(), applied_bytes);
}
