//! Window statistics and the before/after comparison around a change (`logs --around`).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::analyzer::Analyzer;
use crate::report::{ser_time, Bucket, By, Counts, LogQuery, LogReport};
use crate::time::YearHint;

/// Counters over one time window `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WindowStats {
    /// Start (inclusive).
    #[serde(serialize_with = "ser_time")]
    pub from: DateTime<Utc>,
    /// End (exclusive).
    #[serde(serialize_with = "ser_time")]
    pub to: DateTime<Utc>,
    /// The counters of events inside the window.
    #[serde(flatten)]
    pub counts: Counts,
}

impl WindowStats {
    /// Window length in seconds (at least 1, so rates are defined).
    pub fn seconds(&self) -> i64 {
        (self.to - self.from).num_seconds().max(1)
    }

    /// Accepted messages per hour.
    pub fn messages_per_hour(&self) -> f64 {
        self.counts.messages_accepted as f64 * 3600.0 / self.seconds() as f64
    }

    /// Inbound sessions that reached the TLS stage or were refused for lack of it: the
    /// denominator of the failure rate. Counted as the larger of `connect` lines and
    /// (established + failures + 530 refusals), so a log without `connect` lines still works.
    pub fn attempts(&self) -> u64 {
        let c = &self.counts;
        c.connections
            .max(c.tls_established + c.tls_handshake_failures + c.starttls_required_rejects)
    }

    /// Failed sessions in percent of [`WindowStats::attempts`]: TLS handshake failures plus
    /// 530 (STARTTLS required) refusals. `None` when there were no attempts.
    pub fn failure_rate_pct(&self) -> Option<f64> {
        let a = self.attempts();
        (a > 0).then(|| {
            (self.counts.tls_handshake_failures + self.counts.starttls_required_rejects) as f64
                * 100.0
                / a as f64
        })
    }
}

/// Sums the report's buckets whose start lies in `[from, to)`.
///
/// Exact when `from` and `to` fall on bucket boundaries, which holds when the report was made
/// with `since = from` and a bucket width dividing `to - from` (e.g. one bucket of exactly the
/// window length); otherwise a bucket is counted wholly in the window where it starts.
pub fn window_stats(report: &LogReport, from: DateTime<Utc>, to: DateTime<Utc>) -> WindowStats {
    let mut counts = Counts::default();
    for b in report
        .buckets
        .iter()
        .filter(|b| b.start >= from && b.start < to)
    {
        counts.add(&b.counts);
    }
    WindowStats { from, to, counts }
}

impl Analyzer {
    /// An analyser that counts only lines in `[from, to)` (for the guard's after-window:
    /// feed it the [`crate::LogFollower`]'s lines as they come, then call
    /// [`Analyzer::finish_window`]; memory stays bounded however long the guard runs).
    pub fn for_window(from: DateTime<Utc>, to: DateTime<Utc>, hint: &YearHint) -> Analyzer {
        let span = (to - from)
            .to_std()
            .unwrap_or_default()
            .max(std::time::Duration::from_secs(1));
        let query = LogQuery {
            since: Some(from),
            until: Some(to),
            bucket: span,
            by: By::Client,
            top: 1,
            quiet: true,
        };
        Analyzer::new(&query, hint)
    }

    /// Ends an analyser made by [`Analyzer::for_window`] and returns the window's counters.
    pub fn finish_window(self) -> WindowStats {
        let report = self.finish();
        let from = report.since.unwrap_or_default();
        let to = report.until.unwrap_or_default();
        WindowStats {
            from,
            to,
            counts: report.totals,
        }
    }
}

/// Window statistics of raw lines (e.g. from a [`crate::LogFollower`]): only lines with a
/// timestamp in `[from, to)` count. Year-less timestamps are placed with `hint`.
pub fn window_stats_from_lines<I, L>(
    lines: I,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    hint: &YearHint,
) -> WindowStats
where
    I: IntoIterator<Item = L>,
    L: AsRef<[u8]>,
{
    let mut a = Analyzer::for_window(from, to, hint);
    for l in lines {
        a.feed_line(l.as_ref());
    }
    a.finish_window()
}

/// Relative change of one measure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Change {
    /// Value in the window before the change.
    pub before: Option<f64>,
    /// Value in the window after the change.
    pub after: Option<f64>,
    /// `(after - before) / before * 100`; `None` when `before` is 0 or unknown (no basis).
    pub change_pct: Option<f64>,
}

impl Change {
    fn new(before: Option<f64>, after: Option<f64>) -> Self {
        let change_pct = match (before, after) {
            (Some(b), Some(a)) if b != 0.0 => Some((a - b) / b * 100.0),
            _ => None,
        };
        Change {
            before,
            after,
            change_pct,
        }
    }
}

/// Before/after comparison of equal windows around a change time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AroundReport {
    /// The change time (a snapshot's time, resolved by the caller).
    #[serde(serialize_with = "ser_time")]
    pub change: DateTime<Utc>,
    /// Length of each window in seconds.
    pub window_seconds: u64,
    /// Width of each series bucket in seconds.
    pub bucket_seconds: u64,
    /// `[change - window, change)`.
    pub before: WindowStats,
    /// `[change, change + window)`.
    pub after: WindowStats,
    /// Accepted messages per hour.
    pub messages_per_hour: Change,
    /// TLS handshake failures + 530 refusals, percent of attempts.
    pub failure_rate_pct: Change,
    /// 530 (STARTTLS required) refusals, counts.
    pub starttls_required_rejects: Change,
    /// Every bucket of both windows in order (empty ones included, so a drop shows).
    pub series: Vec<Bucket>,
}

/// Compares `[change - window, change)` with `[change, change + window)`, with a series of
/// `buckets_per_side` buckets on each side. `window` is rounded down to a multiple of the
/// bucket width (whole seconds) so that the change falls on a bucket boundary.
pub fn around(
    sources: Vec<crate::LogSource>,
    change: DateTime<Utc>,
    window: std::time::Duration,
    buckets_per_side: usize,
    hint: &YearHint,
) -> Result<AroundReport, crate::LogError> {
    let n = buckets_per_side.max(1) as u64;
    let bucket_secs = (window.as_secs() / n).max(1);
    let window_secs = bucket_secs * n;
    let w =
        chrono::Duration::seconds(i64::try_from(window_secs).map_err(|_| {
            crate::LogError::Query(format!("window of {window_secs} s is too long"))
        })?);
    let query = LogQuery {
        since: Some(change - w),
        until: Some(change + w),
        bucket: std::time::Duration::from_secs(bucket_secs),
        by: By::All,
        top: 10,
        quiet: false,
    };
    let report = crate::analyze(sources, &query, hint)?;
    Ok(around_from_report(&report, change, w))
}

/// [`around`] over an existing report (made with `since = change - window`).
pub fn around_from_report(
    report: &LogReport,
    change: DateTime<Utc>,
    window: chrono::Duration,
) -> AroundReport {
    let before = window_stats(report, change - window, change);
    let after = window_stats(report, change, change + window);
    let width = chrono::Duration::seconds(i64::try_from(report.bucket_seconds).unwrap_or(1).max(1));
    let mut series = Vec::new();
    let mut t = change - window;
    let mut it = report.buckets.iter().peekable();
    while t < change + window && series.len() < 100_000 {
        while it.peek().is_some_and(|b| b.start < t) {
            it.next();
        }
        let counts = match it.peek() {
            Some(b) if b.start == t => b.counts,
            _ => Counts::default(),
        };
        series.push(Bucket { start: t, counts });
        t += width;
    }
    let rejects = |w: &WindowStats| Some(w.counts.starttls_required_rejects as f64);
    AroundReport {
        change,
        window_seconds: u64::try_from(window.num_seconds()).unwrap_or(0),
        bucket_seconds: report.bucket_seconds,
        messages_per_hour: Change::new(
            Some(before.messages_per_hour()),
            Some(after.messages_per_hour()),
        ),
        failure_rate_pct: Change::new(before.failure_rate_pct(), after.failure_rate_pct()),
        starttls_required_rejects: Change::new(rejects(&before), rejects(&after)),
        before,
        after,
        series,
    }
}
