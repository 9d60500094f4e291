//! `pftls logs` against logs written by scripts/gen-maillog.py (known totals), a constructed
//! log around a snapshot taken by a real `pftls apply`, bad input, and the real Postfix log
//! fixture when present.

mod common;
// The log generator driver is shared with the maillog crate's own tests.
#[path = "../../maillog/tests/common/mod.rs"]
mod maillog_common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use chrono::{DateTime, Utc};
use common::{repo, Sandbox};
use maillog_common::generate;
use serde_json::Value;

const OVER: &str = "centos-stream-10/over-hardened";

/// Runs pftls with `args`, optionally feeding `stdin` from a file.
fn pftls(args: &[&str], stdin: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pftls"));
    cmd.args(args)
        .env_remove("PFTLS_CONFIG_DIR")
        .env_remove("PFTLS_BACKUP_DIR")
        .env_remove("PFTLS_POLICY_PATH");
    match stdin {
        Some(p) => cmd.stdin(Stdio::from(std::fs::File::open(p).unwrap())),
        None => cmd.stdin(Stdio::null()),
    };
    cmd.output().unwrap()
}

/// Runs `pftls --format json logs ARGS` and parses the one JSON object on stdout.
fn logs_json(args: &[&str], stdin: Option<&Path>) -> (i32, Value) {
    let mut a = vec!["--format", "json", "logs"];
    a.extend_from_slice(args);
    let out = pftls(&a, stdin);
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), v)
}

/// Asserts that a `logs --format json` report equals the generator's expectations exactly.
fn assert_exact(r: &Value, exp: &Value, what: &str) {
    for k in ["lines", "postfix_lines", "first", "last"] {
        assert_eq!(r[k], exp[k], "{what}: {k}");
    }
    assert_eq!(r["unparsed_lines"], 0, "{what}: unparsed_lines");
    let totals = exp["totals"].as_object().unwrap();
    assert!(totals.len() >= 12, "{what}: generator totals");
    for (k, v) in totals {
        assert_eq!(&r["totals"][k], v, "{what}: totals.{k}");
    }
    assert!(r["totals"]["messages_accepted"].as_u64().unwrap() > 0);
    assert_eq!(
        r["failure_reasons"], exp["failure_reasons"],
        "{what}: reasons"
    );
    assert_eq!(
        r["tls_protocols"], exp["tls_protocols"],
        "{what}: protocols"
    );
    // Hourly buckets (the default width, aligned on the hour) equal the generator's.
    assert_eq!(r["bucket_seconds"], 3600, "{what}");
    let got: Vec<(String, Value, Value)> = r["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["start"].as_str().unwrap().to_string(),
                b["messages_accepted"].clone(),
                b["tls_handshake_failures"].clone(),
            )
        })
        .collect();
    let want: Vec<(String, Value, Value)> = exp["buckets"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v["messages_accepted"].clone(),
                v["tls_handshake_failures"].clone(),
            )
        })
        .collect();
    assert!(want.len() >= 3, "{what}: the log should span several hours");
    assert_eq!(got, want, "{what}: buckets");
}

#[test]
fn every_format_gives_the_generators_exact_totals() {
    let tmp = tempfile::tempdir().unwrap();
    let formats = [
        "traditional",
        "maillog",
        "rfc3339",
        "short-iso",
        "short-iso-precise",
        "rfc5424",
    ];
    for (i, f) in formats.iter().enumerate() {
        let p = tmp.path().join(format!("{f}.log"));
        let exp = generate(f, 4000, 10 + i as u64, &["--step", "20"], &p);
        let (code, r) = logs_json(&[p.to_str().unwrap(), "--top", "0"], None);
        assert_eq!(code, 0, "{f}: {r}");
        assert_exact(&r, &exp, f);
        // --top 0 lists every client; their connections add up to the total.
        let sum: u64 = r["by_client"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["connections"].as_u64().unwrap())
            .sum();
        assert_eq!(sum, exp["totals"]["connections"].as_u64().unwrap(), "{f}");
    }
}

#[test]
fn gzip_file_and_stdin_and_several_files() {
    let tmp = tempfile::tempdir().unwrap();
    let gz = tmp.path().join("mail.log.gz");
    let exp = generate(
        "rfc3339",
        3000,
        7,
        &["--gzip", "--step", "30", "--start", "2026-01-10T00:00:00Z"],
        &gz,
    );
    let (code, r) = logs_json(&[gz.to_str().unwrap()], None);
    assert_eq!(code, 0, "{r}");
    assert_exact(&r, &exp, "gzip file");

    // The same bytes on stdin (gzip recognised by content, not by name).
    let (code, r) = logs_json(&["-"], Some(&gz));
    assert_eq!(code, 0, "{r}");
    assert_exact(&r, &exp, "gzip stdin");

    // Plain text on stdin.
    let plain = tmp.path().join("mail.log");
    let exp2 = generate(
        "short-iso",
        2000,
        8,
        &["--step", "40", "--start", "2026-01-11T00:00:00Z"],
        &plain,
    );
    let (code, r) = logs_json(&["-"], Some(&plain));
    assert_eq!(code, 0, "{r}");
    assert_exact(&r, &exp2, "plain stdin");

    // Two files (a rotated gzip and the current plain file): totals add up. (Not
    // messages_accepted: the generator starts every log at the same queue ID, and a queue ID
    // seen twice is one message.)
    let (code, r) = logs_json(&[gz.to_str().unwrap(), plain.to_str().unwrap()], None);
    assert_eq!(code, 0, "{r}");
    for k in [
        "tls_handshake_failures",
        "connections",
        "tls_established",
        "deliveries_sent",
    ] {
        assert_eq!(
            r["totals"][k].as_u64().unwrap(),
            exp["totals"][k].as_u64().unwrap() + exp2["totals"][k].as_u64().unwrap(),
            "{k}"
        );
    }
    assert_eq!(
        r["lines"].as_u64().unwrap(),
        exp["lines"].as_u64().unwrap() + exp2["lines"].as_u64().unwrap()
    );
}

#[test]
fn since_until_by_top_and_bucket() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("mail.log");
    let exp = generate(
        "rfc3339",
        6000,
        3,
        &["--step", "30", "--start", "2026-02-01T00:00:00Z"],
        &p,
    );
    let hours: Vec<(&String, &Value)> = exp["buckets"].as_object().unwrap().iter().collect();
    assert!(hours.len() >= 5, "{}", hours.len());
    // [second hour, fourth hour): given in two of the accepted time syntaxes.
    let since = hours[1].0.clone();
    let until = hours[3].0.replace('T', " ").replace(":00:00Z", ":00");
    let want: u64 = hours[1..3]
        .iter()
        .map(|(_, v)| v["messages_accepted"].as_u64().unwrap())
        .sum();
    let want_fail: u64 = hours[1..3]
        .iter()
        .map(|(_, v)| v["tls_handshake_failures"].as_u64().unwrap())
        .sum();
    let path = p.to_str().unwrap();
    let (code, r) = logs_json(&[path, "--since", &since, "--until", &until], None);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["totals"]["messages_accepted"].as_u64().unwrap(), want);
    assert_eq!(
        r["totals"]["tls_handshake_failures"].as_u64().unwrap(),
        want_fail
    );
    assert_eq!(r["since"], since.as_str());
    assert_eq!(r["buckets"].as_array().unwrap().len(), 2);

    // --bucket 30m doubles the buckets; the totals stay.
    let (_, r30) = logs_json(
        &[
            path, "--since", &since, "--until", &until, "--bucket", "30m",
        ],
        None,
    );
    assert_eq!(r30["bucket_seconds"], 1800);
    assert_eq!(r30["buckets"].as_array().unwrap().len(), 4);
    assert_eq!(r30["totals"], r["totals"]);

    // --by domain lists only domains, --top limits the rows.
    let (code, d) = logs_json(&[path, "--by", "domain", "--top", "3"], None);
    assert_eq!(code, 0);
    assert_eq!(d["by_client"].as_array().unwrap().len(), 0);
    let rows = d["by_domain"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows[0]["domain"].as_str().unwrap().starts_with("dest"));
    // Sorted by TLS deferrals, most first.
    let tls_def: Vec<u64> = rows
        .iter()
        .map(|r| r["tls_deferrals"].as_u64().unwrap())
        .collect();
    assert!(tls_def.windows(2).all(|w| w[0] >= w[1]), "{tls_def:?}");
    let (_, c) = logs_json(&[path, "--by", "client", "--top", "5"], None);
    assert_eq!(c["by_domain"].as_array().unwrap().len(), 0);
    assert_eq!(c["by_client"].as_array().unwrap().len(), 5);

    // Text: the report with sparklines.
    let out = pftls(&["logs", path, "--bucket", "30m"], None);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let spark = text
        .lines()
        .find(|l| l.trim_start().starts_with("messages "))
        .unwrap_or_else(|| panic!("no sparkline row: {text}"));
    assert!(
        spark.chars().any(|c| ('▁'..='█').contains(&c)),
        "sparkline: {spark}"
    );
    assert!(
        text.contains(&format!("{} accepted", exp["totals"]["messages_accepted"])),
        "{text}"
    );
}

/// One inbound session at `t` as rsyslog writes it (RFC 3339): a TLS session with an accepted
/// message.
fn accepted_session(t: DateTime<Utc>, n: u32) -> String {
    let ts = t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00");
    let pid = 20_000 + n;
    let c = format!("mail{}.example.org[198.51.100.{}]", n % 40, n % 250 + 1);
    format!(
        "{ts} mx postfix/smtpd[{pid}]: connect from {c}\n\
         {ts} mx postfix/smtpd[{pid}]: Anonymous TLS connection established from {c}: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256\n\
         {ts} mx postfix/smtpd[{pid}]: 4Q{n:07X}: client={c}\n\
         {ts} mx postfix/cleanup[{}]: 4Q{n:07X}: message-id=<{n}.x@example.org>\n\
         {ts} mx postfix/qmgr[900]: 4Q{n:07X}: from=<a@example.org>, size=1234, nrcpt=1 (queue active)\n\
         {ts} mx postfix/smtpd[{pid}]: disconnect from {c} ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7\n",
        pid + 50_000
    )
}

/// `n` sessions spread evenly over `[from, from + secs)`.
fn sessions(from: DateTime<Utc>, secs: i64, n: u32, n0: u32) -> String {
    (0..n)
        .map(|i| {
            let t =
                from + chrono::Duration::milliseconds(secs * 1000 * i64::from(i) / i64::from(n));
            accepted_session(t, n0 + i)
        })
        .collect()
}

#[test]
fn around_a_real_snapshot_shows_the_drop() {
    let s = Sandbox::new(OVER);
    let (code, v) = s.json(&["apply", "-p", "inbound-opportunistic", "--no-impact"]);
    assert_eq!(code, 0, "{v}");
    let id = v["backup"]["id"].as_str().expect("snapshot id").to_string();
    let (_, b) = s.json(&["backups", "show", &id]);
    let created: DateTime<Utc> = b["backup"]["manifest"]["created"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    // 60 messages in the hour before the change, 10 in the hour after.
    let log = s.tmp.path().join("mail.log");
    let hour = chrono::Duration::hours(1);
    let text = sessions(created - hour, 3600, 60, 0) + &sessions(created, 3600, 10, 1000);
    std::fs::write(&log, text).unwrap();
    let log = log.to_str().unwrap();

    let (code, a) = s.json(&["logs", log, "--around", &id]);
    assert_eq!(code, 0, "{a}");
    assert_eq!(
        a["change"],
        created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    assert_eq!(a["window_seconds"], 3600);
    assert_eq!(a["before"]["messages_accepted"], 60);
    assert_eq!(a["after"]["messages_accepted"], 10);
    let pct = a["messages_per_hour"]["change_pct"].as_f64().unwrap();
    assert!((pct - (10.0 - 60.0) / 60.0 * 100.0).abs() < 1e-9, "{pct}");
    assert_eq!(a["series"].as_array().unwrap().len(), 24);

    // The same in text, with the change marked in the sparkline.
    let out = s.run(&["logs", log, "--around", &id]);
    assert_eq!(out.status.code(), Some(0));
    let t = String::from_utf8(out.stdout).unwrap();
    assert!(t.contains("-83.3%"), "{t}");
    assert!(t.contains(&format!("snapshot {id}")), "{t}");
    let spark = t
        .lines()
        .find(|l| l.trim_start().starts_with("messages "))
        .unwrap();
    assert!(spark.contains('│'), "{spark}");
    // Windows longer than the log: the text says where the log ends.
    let out = s.run(&["logs", log, "--around", &id, "--window", "2h"]);
    let t = String::from_utf8(out.stdout).unwrap();
    assert!(t.contains("note: the log ends at"), "{t}");

    // A time instead of an id; --window and --bucket set the series.
    let when = created.to_rfc3339();
    let (code, a2) = s.json(&[
        "logs", log, "--around", &when, "--window", "30m", "--bucket", "5m",
    ]);
    assert_eq!(code, 0, "{a2}");
    assert_eq!(a2["window_seconds"], 1800);
    assert_eq!(a2["before"]["messages_accepted"], 30);
    assert_eq!(a2["after"]["messages_accepted"], 5);
    assert_eq!(a2["series"].as_array().unwrap().len(), 12);

    // An id that is not in the backup dir is an error naming it.
    let (code, e) = s.json(&["logs", log, "--around", "20200101T000000Z"]);
    assert_eq!(code, 1, "{e}");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("20200101T000000Z"));
}

#[test]
fn bad_input_exits_1_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope.log");
    let out = pftls(&["logs", missing.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(missing.to_str().unwrap()), "{err}");
    let (code, v) = logs_json(&[missing.to_str().unwrap()], None);
    assert_eq!(code, 1);
    assert_eq!(v["error"]["file"], missing.to_str().unwrap());

    // A gzip file cut in the middle.
    let gz = tmp.path().join("cut.log.gz");
    generate("rfc3339", 3000, 5, &["--gzip"], &gz);
    let bytes = std::fs::read(&gz).unwrap();
    let cut = tmp.path().join("cut2.log.gz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = pftls(&["logs", cut.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(cut.to_str().unwrap()) && err.contains("gzip"),
        "{err}"
    );

    // Bad times and durations: usage errors, exit 64.
    let ok = tmp.path().join("ok.log");
    std::fs::write(
        &ok,
        sessions(Utc::now() - chrono::Duration::minutes(10), 10, 3, 0),
    )
    .unwrap();
    let ok = ok.to_str().unwrap();
    for args in [
        vec!["logs", ok, "--since", "yesterday"],
        vec!["logs", ok, "--until", "2026-13-01"],
        vec!["logs", ok, "--bucket", "5x"],
        vec!["logs", ok, "--since", "-1h", "--until", "-2h"],
        vec!["logs", ok, "--around", "later"],
    ] {
        let out = pftls(&args, None);
        assert_eq!(out.status.code(), Some(64), "usage error: {args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("pftls: error:"), "{args:?}: {err}");
    }
    // Relative times are fine (also in the `--since=-1h` spelling).
    for args in [[ok, "--since", "-1h"], [ok, "--since=-1h", "--until=now"]] {
        let (code, v) = logs_json(&args, None);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["totals"]["messages_accepted"], 3);
    }
    let (_, v) = logs_json(&[ok, "--until", "-1h"], None);
    assert_eq!(v["totals"]["messages_accepted"], 0);
}

#[test]
fn real_postfix_log_fixture_when_present() {
    let p: PathBuf = repo().join("tests/fixtures/maillog/real-postfix-3.7.11.log");
    if !p.exists() {
        // Optional fixture (written by the end-to-end run); the generated logs cover the rest.
        eprintln!("{} not present: nothing to check", p.display());
        return;
    }
    let text = std::fs::read_to_string(&p).unwrap();
    let count = |needle: &str| text.lines().filter(|l| l.contains(needle)).count() as u64;
    let (code, r) = logs_json(&[p.to_str().unwrap(), "--bucket", "1m"], None);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["lines"].as_u64().unwrap(), text.lines().count() as u64);
    assert_eq!(r["unparsed_lines"], 0);
    assert_eq!(
        r["totals"]["tls_handshake_failures"].as_u64().unwrap(),
        count("SSL_accept error from")
    );
    assert_eq!(
        r["totals"]["connections"].as_u64().unwrap(),
        count("]: connect from ")
    );
    assert_eq!(
        r["totals"]["tls_established"].as_u64().unwrap(),
        count(" TLS connection established from ")
    );
}

#[test]
fn stdin_once_only() {
    let out = pftls(&["logs", "-", "-"], None);
    assert_eq!(out.status.code(), Some(64), "a usage error");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pftls"))
        .args(["--format", "json", "logs", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sessions(Utc::now(), 5, 4, 0).as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["totals"]["messages_accepted"], 4);
    assert_eq!(v["totals"]["tls_established"], 4);
}

/// Counts on a real Postfix instance's log.
#[path = "cli_logs/real_postfix.rs"]
mod real_postfix;

/// `logs --journal`: the real journalctl reads a real journal file written by
/// systemd-journal-remote (this machine runs no journald), only Postfix's units count, and
/// `--since` reaches journalctl.
#[test]
fn journal_via_real_journalctl() {
    let remote = Path::new("/lib/systemd/systemd-journal-remote");
    if !remote.exists()
        || Command::new("journalctl")
            .arg("--version")
            .output()
            .is_err()
    {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true and systemd-journal-remote/journalctl missing"
        );
        eprintln!("skipped: systemd-journal-remote or journalctl missing");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t0 = (Utc::now() - chrono::Duration::hours(2)).timestamp() * 1_000_000;
    let entries = [
        ("postfix@-.service", "postfix/smtpd", 101, "connect from a.example[192.0.2.1]"),
        ("postfix@-.service", "postfix/smtpd", 101, "Anonymous TLS connection established from a.example[192.0.2.1]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"),
        ("postfix@-.service", "postfix/cleanup", 102, "4QABCDEF01: message-id=<1@x>"),
        ("postfix@-.service", "postfix/smtpd", 101, "disconnect from a.example[192.0.2.1] ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7"),
        // Another unit logging a Postfix-looking line: not read.
        ("other.service", "postfix/smtpd", 300, "connect from b.example[192.0.2.2]"),
        // An hour later, on postfix.service.
        ("postfix.service", "postfix/smtpd", 201, "connect from c.example[192.0.2.3]"),
    ];
    let mut export = String::new();
    for (i, (unit, ident, pid, msg)) in entries.iter().enumerate() {
        let usec = t0 + i as i64 * 1_000_000 + if i == 5 { 3_600_000_000 } else { 0 };
        export.push_str(&format!(
            "__CURSOR=s=0;i={i}\n__REALTIME_TIMESTAMP={usec}\n__MONOTONIC_TIMESTAMP={i}\n_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=mx\nSYSLOG_IDENTIFIER={ident}\n_PID={pid}\n_SYSTEMD_UNIT={unit}\nPRIORITY=6\nMESSAGE={msg}\n\n"
        ));
    }
    let journal = tmp.path().join("postfix.journal");
    let mut child = Command::new(remote)
        .arg("-o")
        .arg(&journal)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(export.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    let j = journal.to_str().unwrap();
    let (code, r) = logs_json(&["--journal", "--journal-file", j], None);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["totals"]["connections"], 2, "{r}");
    assert_eq!(r["totals"]["tls_established"], 1);
    assert_eq!(r["totals"]["messages_accepted"], 1);
    assert_eq!(r["lines"], 5, "the other unit's entry is not read");
    // --since is applied (by journalctl and the analyser): only the later entry.
    let since = Utc::now() - chrono::Duration::minutes(90);
    let (code, r) = logs_json(
        &[
            "--journal",
            "--journal-file",
            j,
            "--since",
            &since.to_rfc3339(),
        ],
        None,
    );
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["totals"]["connections"], 1, "{r}");
    assert_eq!(r["lines"], 1, "journalctl itself windowed the read");
    // A journal file that does not exist: journalctl's error, exit 1.
    let (code, r) = logs_json(
        &["--journal", "--journal-file", "/nonexistent/x.journal"],
        None,
    );
    assert_eq!(code, 1, "{r}");
}
