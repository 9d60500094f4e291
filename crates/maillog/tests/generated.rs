//! Exact totals against logs written by scripts/gen-maillog.py, in every format, plain and
//! gzip, from files, from a reader (stdin-like), and across a Dec -> Jan year wrap.

mod common;

use std::time::Duration;

use chrono::{TimeZone, Utc};
use common::{assert_matches, generate};
use pftls_maillog::{analyze, By, LogQuery, LogSource, YearHint};

const FORMATS: [&str; 6] = [
    "traditional",
    "maillog",
    "rfc3339",
    "short-iso",
    "short-iso-precise",
    "rfc5424",
];

fn query() -> LogQuery {
    LogQuery {
        bucket: Duration::from_secs(3600),
        top: 0,
        ..LogQuery::default()
    }
}

/// A hint far from the logs' dates: year-less formats must take the year from the mtime.
fn hint() -> YearHint {
    YearHint::utc(Utc.with_ymd_and_hms(2030, 6, 1, 0, 0, 0).unwrap())
}

#[test]
fn every_format_plain_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    for (i, fmt) in FORMATS.iter().enumerate() {
        for gz in [false, true] {
            let path = dir.path().join(format!("{fmt}-{gz}.log"));
            let extra: &[&str] = if gz { &["--gzip"] } else { &[] };
            let exp = generate(fmt, 30_000, 7 + i as u64, extra, &path);
            let src = LogSource::open(&path).unwrap();
            let report = analyze(vec![src], &query(), &hint()).unwrap();
            assert_matches(&report, &exp, &format!("{fmt} gzip={gz}"));
            assert!(
                report.totals.tls_handshake_failures > 100,
                "{fmt}: sample too small"
            );
        }
    }
}

#[test]
fn reader_input_detects_gzip_by_magic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.gz");
    let exp = generate("rfc3339", 5_000, 99, &["--gzip"], &path);
    let bytes = std::fs::read(&path).unwrap();
    // Concatenated gzip members, as `cat a.gz b.gz` gives: both halves are read.
    let mut twice = bytes.clone();
    twice.extend_from_slice(&bytes);
    let src = LogSource::from_reader("-", std::io::Cursor::new(twice), None);
    let report = analyze(vec![src], &query(), &hint()).unwrap();
    assert_eq!(
        serde_json::json!(report.lines),
        serde_json::json!(exp["lines"].as_u64().unwrap() * 2)
    );
    // Messages are deduplicated by queue ID; the second copy repeats the same IDs
    // (within the de-duplication window), so the count stays the same.
    assert_eq!(
        serde_json::json!(report.totals.messages_accepted),
        exp["totals"]["messages_accepted"]
    );
}

#[test]
fn december_to_january_wrap() {
    let dir = tempfile::tempdir().unwrap();
    for fmt in ["traditional", "maillog"] {
        let path = dir.path().join(format!("wrap-{fmt}.log"));
        let exp = generate(fmt, 20_000, 5, &["--start", "2025-12-31T23:20:00Z"], &path);
        assert!(
            exp["last"].as_str().unwrap().starts_with("2026-01-01"),
            "{exp}"
        );
        let report = analyze(vec![LogSource::open(&path).unwrap()], &query(), &hint()).unwrap();
        assert_matches(&report, &exp, &format!("wrap {fmt}"));
        let years: Vec<i32> = report
            .buckets
            .iter()
            .map(|b| chrono::Datelike::year(&b.start))
            .collect();
        assert_eq!(
            (years.first(), years.last()),
            (Some(&2025), Some(&2026)),
            "{fmt}"
        );
    }
}

#[test]
fn since_until_and_grouping() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.log");
    let exp = generate("rfc3339", 40_000, 11, &["--step", "4"], &path);
    let buckets = exp["buckets"].as_object().unwrap();
    assert!(buckets.len() >= 3, "need several hours: {}", buckets.len());
    // Select the second hour only.
    let (start, b) = buckets.iter().nth(1).unwrap();
    let since = chrono::DateTime::parse_from_rfc3339(start)
        .unwrap()
        .with_timezone(&Utc);
    let q = LogQuery {
        since: Some(since),
        until: Some(since + chrono::Duration::hours(1)),
        by: By::Client,
        top: 5,
        ..query()
    };
    let report = analyze(vec![LogSource::open(&path).unwrap()], &q, &hint()).unwrap();
    assert_eq!(
        serde_json::json!(report.totals.messages_accepted),
        b["messages_accepted"]
    );
    assert_eq!(
        serde_json::json!(report.totals.tls_handshake_failures),
        b["tls_handshake_failures"]
    );
    assert_eq!(report.buckets.len(), 1);
    assert_eq!(report.by_client.len(), 5);
    assert!(report.by_domain.is_empty());
    // sorted: most handshake failures first
    assert!(report
        .by_client
        .windows(2)
        .all(|w| w[0].tls_handshake_failures >= w[1].tls_handshake_failures));
    let total_failures: u64 = {
        let q = LogQuery {
            by: By::Client,
            top: 0,
            ..q.clone()
        };
        let r = analyze(vec![LogSource::open(&path).unwrap()], &q, &hint()).unwrap();
        r.by_client.iter().map(|c| c.tls_handshake_failures).sum()
    };
    assert_eq!(total_failures, report.totals.tls_handshake_failures);
    // a windowed read of a plain file reads only the bisected byte range, not every line
    assert!(report.lines > 0 && serde_json::json!(report.lines) != exp["lines"]);
    assert!(report.lines < exp["lines"].as_u64().unwrap());
}

#[test]
fn bad_query_and_missing_file() {
    let t = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let q = LogQuery {
        since: Some(t),
        until: Some(t),
        ..query()
    };
    assert!(matches!(
        analyze(vec![], &q, &hint()),
        Err(pftls_maillog::LogError::Query(_))
    ));
    let e = LogSource::open("/nonexistent/mail.log").unwrap_err();
    assert!(e.to_string().contains("/nonexistent/mail.log"), "{e}");
}

#[test]
fn corrupt_gzip_names_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.gz");
    generate("traditional", 3_000, 1, &["--gzip"], &path);
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0x5a;
    }
    std::fs::write(&path, &bytes).unwrap();
    let err = analyze(vec![LogSource::open(&path).unwrap()], &query(), &hint()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("c.gz") && msg.contains("corrupt gzip"),
        "{msg}"
    );
}
