//! SPEC's `logs --format json` field names, the text renderer, and the memory bounds
//! (overflow rows) of the per-key maps.

use chrono::{TimeZone, Utc};
use pftls_maillog::{
    render_report, Analyzer, By, LogQuery, YearHint, MAX_BUCKETS, MAX_KEYS, OTHER,
};

fn hint() -> YearHint {
    YearHint::utc(Utc.with_ymd_and_hms(2024, 12, 1, 0, 0, 0).unwrap())
}

fn sample() -> Vec<String> {
    let mut v = Vec::new();
    for i in 0..30 {
        let c = format!("h{}.example[192.0.2.{}]", i % 3, i % 3);
        let ts = format!("2024-11-30T0{}:00:{:02}+00:00", i / 10, i);
        v.push(format!(
            "{ts} mx postfix/smtpd[{}]: connect from {c}",
            100 + i
        ));
        if i % 3 == 0 {
            v.push(format!(
                "{ts} mx postfix/smtpd[{}]: SSL_accept error from {c}: -1",
                100 + i
            ));
            v.push(format!("{ts} mx postfix/smtpd[{}]: warning: TLS library problem: error:0A000102:SSL routines::unsupported protocol:x.c:1:", 100 + i));
        } else {
            v.push(format!(
                "{ts} mx postfix/cleanup[9]: Q{i:06}: message-id=<{i}@x>"
            ));
        }
        v.push(format!("{ts} mx postfix/smtp[7]: Q{i:06}: to=<u@Dest{}.Example>, relay=none, delay=1, delays=0/0/1/0, dsn=4.7.4, status=deferred (TLS is required, but was not offered by host x[192.0.2.9])", i % 2));
    }
    v
}

#[test]
fn json_field_names_match_spec() {
    let q = LogQuery {
        bucket: std::time::Duration::from_secs(3600),
        ..LogQuery::default()
    };
    let mut a = Analyzer::new(&q, &hint());
    for l in sample() {
        a.feed_line(l.as_bytes());
    }
    let r = a.finish();
    let j = serde_json::to_value(&r).unwrap();
    for k in [
        "lines",
        "postfix_lines",
        "first",
        "last",
        "totals",
        "tls_protocols",
        "failure_reasons",
        "by_client",
        "by_domain",
        "buckets",
    ] {
        assert!(j.get(k).is_some(), "missing {k}");
    }
    for k in [
        "connections",
        "tls_established",
        "tls_handshake_failures",
        "starttls_required_rejects",
        "messages_accepted",
        "tls_deferrals",
    ] {
        assert!(j["totals"][k].is_u64(), "totals.{k}");
    }
    assert_eq!(j["first"], "2024-11-30T00:00:00Z");
    assert_eq!(j["last"], "2024-11-30T02:00:29Z");
    assert_eq!(j["totals"]["tls_handshake_failures"], 10);
    assert_eq!(j["totals"]["messages_accepted"], 20);
    assert_eq!(j["failure_reasons"]["unsupported or too low protocol"], 10);
    assert!(j["failure_samples"]["unsupported or too low protocol"].is_string());
    assert!(j["deliveries_by_transport"].is_object());
    assert!(j["notes"].is_array());
    assert_eq!(j["by_client"][0]["client"], "h0.example[192.0.2.0]");
    assert_eq!(j["by_client"][0]["tls_handshake_failures"], 10);
    assert_eq!(j["by_domain"][0]["domain"], "dest0.example", "lower-cased");
    assert_eq!(j["by_domain"][0]["tls_deferrals"], 15);
    let b = j["buckets"].as_array().unwrap();
    assert_eq!(b.len(), 3);
    assert_eq!(b[0]["start"], "2024-11-30T00:00:00Z");
    assert_eq!(b[0]["messages_accepted"], 6);
    assert_eq!(b[0]["tls_handshake_failures"], 4);

    let text = render_report(&r);
    assert!(text.contains("10 TLS handshake failures"), "{text}");
    assert!(
        text.contains("unsupported or too low protocol 10 (100.0%)"),
        "{text}"
    );
    assert!(
        text.contains(
            "note: 0 TLS established: either no client used TLS, or smtpd_tls_loglevel is 0"
        ),
        "{text}"
    );
    assert!(text.contains("h0.example[192.0.2.0]"), "{text}");
    assert!(text.contains("messages   ") && text.contains('█'), "{text}");
}

#[test]
fn per_key_maps_are_bounded() {
    let q = LogQuery {
        by: By::Client,
        top: 0,
        ..LogQuery::default()
    };
    let mut a = Analyzer::new(&q, &hint());
    let n = MAX_KEYS + 500;
    for i in 0..n {
        let l = format!(
            "2024-11-30T00:00:00Z mx postfix/smtpd[1]: connect from c{i}.example[10.{}.{}.{}]",
            i >> 16,
            (i >> 8) & 255,
            i & 255
        );
        a.feed_line(l.as_bytes());
    }
    let r = a.finish();
    assert_eq!(r.distinct_clients, MAX_KEYS as u64);
    assert_eq!(r.by_client.len(), MAX_KEYS + 1);
    let other = r.by_client.iter().find(|c| c.client == OTHER).unwrap();
    assert_eq!(other.connections, 500);
    assert_eq!(
        r.by_client.iter().map(|c| c.connections).sum::<u64>(),
        n as u64
    );
}

/// More one-second buckets than [`MAX_BUCKETS`]: the width doubles until they fit, every
/// bucket starts on a multiple of the final width, no two share a start, and the buckets add
/// up to the totals (the bucket being filled when a widening happens lands aligned too).
#[test]
fn buckets_widen_and_stay_aligned() {
    let query = LogQuery {
        bucket: std::time::Duration::from_secs(1),
        quiet: true,
        ..LogQuery::default()
    };
    let mut a = Analyzer::new(&query, &hint());
    let start = Utc
        .with_ymd_and_hms(2024, 11, 1, 0, 0, 0)
        .unwrap()
        .timestamp();
    // 3 s apart, so that each line opens a new one-second bucket; 70 000 lines span more
    // than 4 x MAX_BUCKETS seconds, so the width doubles more than once.
    let n = 70_000i64;
    for i in 0..n {
        let t = chrono::DateTime::from_timestamp(start + 3 * i, 0).unwrap();
        a.feed_line(
            format!(
                "{} mx postfix/smtpd[{}]: connect from h.example[192.0.2.1]",
                t.format("%Y-%m-%dT%H:%M:%S+00:00"),
                100 + i % 50
            )
            .as_bytes(),
        );
    }
    let r = a.finish();
    assert_eq!(r.totals.connections, n as u64);
    assert!(r.buckets.len() <= MAX_BUCKETS, "{}", r.buckets.len());
    let width = i64::try_from(r.bucket_seconds).unwrap();
    assert!(width >= 4, "widened: {width}");
    let mut starts = std::collections::BTreeSet::new();
    for b in &r.buckets {
        let s = b.start.timestamp();
        assert_eq!(
            s.rem_euclid(width),
            0,
            "bucket at {s} not on a multiple of {width}"
        );
        assert!(starts.insert(s), "two buckets start at {s}");
    }
    let sum: u64 = r.buckets.iter().map(|b| b.counts.connections).sum();
    assert_eq!(sum, n as u64);
}
