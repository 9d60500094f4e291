//! pftls mail-log crate: a streaming reader for Postfix logs in every common format (plain,
//! gzip, stdin), TLS and volume analytics per time bucket (SPEC's `logs --format json`),
//! before/after comparison around a change, a `tail -F` follower and the `apply --guard`
//! verdict.
//!
//! Entry points: [`analyze`], [`around`], [`window_stats`], [`LogFollower`],
//! [`guard_verdict`], and the text renderers [`render_report`] / [`render_around`].

mod analyzer;
mod error;
mod follow;
mod guard;
mod hash;
mod input;
mod journal;
mod line;
mod measure;
mod newlines;
mod pidset;
mod progress;
mod qids;
mod reasons;
mod render;
mod report;
mod scan;
mod seek;
mod sessions;
mod stats;
mod time;
mod timearg;
mod window;

pub use analyzer::{
    analyze_split, Analyzer, MAX_LABELS, MAX_SESSIONS, PARALLEL_MIN_BYTES, UNSPECIFIED,
};
pub use error::LogError;
pub use follow::{LogFollower, DEFAULT_POLL, POLL_RANGE};
pub use guard::{
    after_window_covered, decide, plan_windows, render_verdict, DecisionRule, Evidence, Outcome,
    RuleResult, RuleStatus, Verdict, WindowPlan, DEFAULT_CONFIDENCE_PCT, DEFAULT_MAX_DROP_PCT,
    DEFAULT_MAX_FAILURE_RATE_PCT, DEFAULT_MIN_ATTEMPTS, DEFAULT_MIN_MESSAGES,
};
pub use input::{for_each_line, LogSource, CHUNK, MAX_LINE};
pub use journal::{journal_source, JournalQuery, UNITS as JOURNAL_UNITS};
pub use measure::{log_span, measure_around, Measured};
pub use progress::PROGRESS_MIN_BYTES;
pub use qids::QID_WINDOW;
pub use reasons::{CATEGORIES as FAILURE_CATEGORIES, MAX_SAMPLE};
pub use render::{render_around, render_report, sparkline};
pub use report::{
    Bucket, By, ClientRow, Counts, DomainRow, LogQuery, LogReport, TransportCounts, MAX_BUCKETS,
    MAX_KEYS, OTHER, TRANSPORTS,
};
pub use stats::{binom_cdf, binom_sf};
pub use time::YearHint;
pub use timearg::{parse_duration, parse_time, MAX_DURATION};
pub use window::{
    around, around_from_report, window_stats, window_stats_from_lines, AroundReport, Change,
    WindowStats,
};

/// Reads every source in order and aggregates them under `query`.
///
/// Gzip input is recognised by its magic bytes (concatenated members are read). Year-less
/// timestamps are placed using each source's own reference (its mtime) or else `hint`.
/// Errors name the file (and, for corrupt gzip, the number of lines read before the damage).
pub fn analyze(
    sources: Vec<LogSource>,
    query: &LogQuery,
    hint: &YearHint,
) -> Result<LogReport, LogError> {
    if let (Some(s), Some(u)) = (query.since, query.until) {
        if s >= u {
            return Err(LogError::Query(format!(
                "since ({s}) is not before until ({u})"
            )));
        }
    }
    if query.bucket.as_secs() == 0 {
        return Err(LogError::Query("bucket must be at least one second".into()));
    }
    let since = query.since.map(|t| t.timestamp());
    let until = query.until.map(|t| t.timestamp());
    let sources: Vec<LogSource> = sources
        .into_iter()
        .map(|s| s.windowed(since, until, hint))
        .collect();
    let total: u64 = sources.iter().filter_map(|s| s.size).sum();
    let bar = progress::maybe_bar(total, query.quiet);
    let mut analyzer = Analyzer::new(query, hint);
    for source in sources {
        let source = match &bar {
            Some(b) => {
                let b = b.clone();
                source.map_reader(move |r| Box::new(progress::Counting::new(r, b)))
            }
            None => source,
        };
        analyzer.begin_source(source.reference);
        if let Some((file, size)) = source.positioned_plain() {
            // A plain file: read at positions, on two threads when it is large.
            let path = source.path.clone();
            analyzer
                .feed_file(file, size)
                .map_err(|(_, e)| LogError::io(&path, e))?;
            continue;
        }
        let (path, gzip, mut reader) = source.into_decoded()?;
        for_each_line(&mut reader, |l| analyzer.feed_line(l)).map_err(|(line, e)| {
            if gzip && e.kind() != std::io::ErrorKind::PermissionDenied {
                LogError::Gzip {
                    path: path.clone(),
                    line,
                    source: e,
                }
            } else {
                LogError::io(&path, e)
            }
        })?;
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(analyzer.finish())
}
