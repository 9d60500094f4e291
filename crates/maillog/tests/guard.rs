//! Guard verdict, window statistics and the around comparison on constructed logs.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use pftls_maillog::{
    analyze, around, decide, render_around, window_stats, window_stats_from_lines, DecisionRule,
    LogQuery, LogSource, Outcome, RuleStatus, Verdict, WindowStats, YearHint,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 10, 12, 0, 0).unwrap()
}

fn hint() -> YearHint {
    YearHint::utc(t0() + chrono::Duration::days(1))
}

/// One hour of traffic starting at `start`: `msgs` accepted TLS sessions, `fails` TLS
/// handshake failures and `refused` 530 refusals, spread evenly.
fn hour(start: DateTime<Utc>, msgs: u32, fails: u32, refused: u32, pid0: u32) -> Vec<String> {
    let mut v = Vec::new();
    let n = msgs + fails + refused;
    for i in 0..n {
        let t = start + chrono::Duration::seconds(i64::from(i) * 3600 / i64::from(n.max(1)));
        let ts = t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00");
        let pid = pid0 + i;
        let c = format!("c{i}.example[192.0.2.{}]", i % 250);
        v.push(format!("{ts} mx postfix/smtpd[{pid}]: connect from {c}"));
        if i < msgs {
            v.push(format!("{ts} mx postfix/smtpd[{pid}]: Anonymous TLS connection established from {c}: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"));
            v.push(format!(
                "{ts} mx postfix/cleanup[{}]: Q{pid:08X}: message-id=<{pid}@x>",
                pid + 100_000
            ));
            v.push(format!("{ts} mx postfix/smtpd[{pid}]: disconnect from {c} ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7"));
        } else if i < msgs + fails {
            v.push(format!(
                "{ts} mx postfix/smtpd[{pid}]: SSL_accept error from {c}: -1"
            ));
            v.push(format!("{ts} mx postfix/smtpd[{pid}]: warning: TLS library problem: error:0A0000C1:SSL routines::no shared cipher:x.c:1:"));
            v.push(format!("{ts} mx postfix/smtpd[{pid}]: disconnect from {c} ehlo=1 starttls=0/1 commands=1/2"));
        } else {
            v.push(format!("{ts} mx postfix/smtpd[{pid}]: disconnect from {c} ehlo=1 mail=0/1 quit=1 commands=2/3"));
        }
    }
    v
}

fn stats(lines: &[String], from: DateTime<Utc>) -> WindowStats {
    window_stats_from_lines(lines, from, from + chrono::Duration::hours(1), &hint())
}

fn before_after(b: (u32, u32, u32), a: (u32, u32, u32)) -> (WindowStats, WindowStats) {
    let change = t0() + chrono::Duration::hours(1);
    let mut lines = hour(t0(), b.0, b.1, b.2, 1000);
    lines.extend(hour(change, a.0, a.1, a.2, 5000));
    (stats(&lines, t0()), stats(&lines, change))
}

fn verdict(b: &WindowStats, a: &WindowStats) -> Verdict {
    decide(b, a, &DecisionRule::default(), None, vec![])
}

#[test]
fn window_stats_from_lines_counts_only_the_window() {
    let (b, a) = before_after((100, 2, 0), (30, 5, 7));
    assert_eq!(
        (b.counts.messages_accepted, b.counts.tls_handshake_failures),
        (100, 2)
    );
    assert_eq!(
        (
            a.counts.messages_accepted,
            a.counts.tls_handshake_failures,
            a.counts.starttls_required_rejects
        ),
        (30, 5, 7)
    );
    assert_eq!(a.counts.connections, 42);
    assert!((b.messages_per_hour() - 100.0).abs() < 1e-9);
}

#[test]
fn drop_rolls_back() {
    let (b, a) = before_after((100, 1, 0), (20, 0, 0));
    let v = verdict(&b, &a);
    assert!(v.rollback, "{v:?}");
    assert_eq!(v.evidence.drop_pct, Some(80.0));
    assert!(v.reasons[0].contains("dropped by 80.0%"), "{:?}", v.reasons);
}

#[test]
fn no_drop_keeps() {
    let (b, a) = before_after((100, 3, 0), (95, 3, 0));
    let v = verdict(&b, &a);
    assert!(!v.rollback, "{v:?}");
    assert!(v.reasons.is_empty());
    let d = v.evidence.drop_pct.unwrap();
    assert!((d - 5.0).abs() < 1e-9, "{d}");
}

#[test]
fn failure_rate_rise_rolls_back() {
    // Same message volume, but 530 refusals and handshake failures appear.
    let (b, a) = before_after((100, 1, 0), (100, 20, 20));
    let v = verdict(&b, &a);
    assert!(v.rollback, "{v:?}");
    let fa = v.evidence.failure_rate_after_pct.unwrap();
    assert!((fa - 40.0 * 100.0 / 140.0).abs() < 1e-9, "{fa}");
    assert!(
        v.reasons.iter().any(|r| r.contains("failure rate rose")),
        "{:?}",
        v.reasons
    );
}

#[test]
fn failure_rate_already_high_is_not_blamed() {
    let (b, a) = before_after((50, 50, 0), (50, 40, 0));
    let v = verdict(&b, &a);
    assert_eq!(v.verdict, Outcome::Keep, "{v:?}");
    assert_eq!(v.evidence.failure_rule.status, RuleStatus::Passed);
    assert!(v
        .evidence
        .failure_rule
        .detail
        .contains("not significantly above 50.0%"));
}

#[test]
fn zero_baseline_is_inconclusive() {
    let (b, a) = before_after((0, 0, 0), (0, 0, 0));
    let v = verdict(&b, &a);
    assert!(!v.rollback);
    assert_eq!(v.verdict, Outcome::Inconclusive);
    assert_eq!(v.evidence.drop_pct, None);
    assert_eq!(v.inconclusive.len(), 2, "{:?}", v.inconclusive);
    assert!(v.inconclusive[0]
        .starts_with("not enough mail for the drop rule: 0 accepted messages before, 0 after"));
    assert!(v.inconclusive[1].starts_with("not enough mail for the failure rule: 0 failures"));
    // And a zero baseline followed by traffic is no drop either.
    let (b, a) = before_after((0, 0, 0), (10, 0, 0));
    assert!(!verdict(&b, &a).rollback);
    let json = serde_json::to_value(verdict(&b, &a)).unwrap();
    assert_eq!(json["verdict"], "inconclusive");
    assert_eq!(json["evidence"]["drop_pct"], serde_json::Value::Null);
    assert_eq!(json["evidence"]["before"]["from"], "2025-03-10T12:00:00Z");
    assert_eq!(json["evidence"]["drop_rule"]["status"], "inconclusive");
}

#[test]
fn report_window_stats_and_around() {
    let change = t0() + chrono::Duration::hours(1);
    let mut lines = hour(t0(), 120, 2, 0, 1000);
    lines.extend(hour(change, 12, 30, 40, 5000));
    let text = lines.join("\n") + "\n";
    let src =
        || LogSource::from_reader("mem", std::io::Cursor::new(text.clone().into_bytes()), None);

    // window_stats over a report made with since = window start and one bucket per window.
    let q = LogQuery {
        since: Some(t0()),
        bucket: Duration::from_secs(3600),
        ..LogQuery::default()
    };
    let report = analyze(vec![src()], &q, &hint()).unwrap();
    let b = window_stats(&report, t0(), change);
    let a = window_stats(&report, change, change + chrono::Duration::hours(1));
    assert_eq!(
        (b.counts.messages_accepted, a.counts.messages_accepted),
        (120, 12)
    );
    assert_eq!(a.counts.starttls_required_rejects, 40);

    let ar = around(vec![src()], change, Duration::from_secs(3600), 12, &hint()).unwrap();
    assert_eq!(ar.series.len(), 24);
    assert_eq!(ar.before.counts.messages_accepted, 120);
    assert_eq!(ar.after.counts.messages_accepted, 12);
    assert_eq!(ar.messages_per_hour.change_pct, Some(-90.0));
    assert_eq!(
        ar.starttls_required_rejects.change_pct, None,
        "no basis: 0 before"
    );
    assert_eq!(ar.starttls_required_rejects.after, Some(40.0));
    let txt = render_around(&ar);
    let spark = txt
        .lines()
        .find(|l| l.trim_start().starts_with("messages "))
        .unwrap();
    let (left, right) = spark.split_once('│').unwrap();
    assert!(
        left.contains('█') && !right.contains('█'),
        "drop visible: {spark}"
    );
    assert!(txt.contains("-90.0%"), "{txt}");
}
