//! Measuring the two windows around a change from a log file (and its previous rotation).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::guard::{plan_windows, WindowPlan};
use crate::report::{By, Counts, LogQuery};
use crate::time::{to_datetime, YearHint};
use crate::window::{window_stats, WindowStats};
use crate::{analyze, LogError, LogSource};

/// `(first, last)` line times of a log.
pub type Span = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The span a log covers: the time of its first timestamped line and its latest one (lines of
/// any program count: they show the log was being written), from its first and last
/// megabyte for a plain file; for gzip and other streams, of its Postfix lines from a full
/// (sequential) read.
pub fn log_span(path: &Path, hint: &YearHint) -> Result<Span, LogError> {
    let source = LogSource::open(path)?;
    let file_hint = YearHint {
        reference: source.reference.unwrap_or(hint.reference),
        utc_offset_secs: hint.utc_offset_secs,
    };
    if let Some((file, size)) = source.positioned_plain() {
        let first = crate::seek::probe(file, size, 0, &file_hint).map(|p| to_datetime(p.0));
        let last = crate::seek::tail_time(file, size, &file_hint).map(to_datetime);
        return Ok((first, last));
    }
    let query = LogQuery {
        top: 1,
        quiet: true,
        by: By::Client,
        ..LogQuery::default()
    };
    let r = analyze(vec![source], &query, hint)?;
    Ok((r.first, r.last))
}

/// The windows around a change, measured.
#[derive(Debug, Clone)]
pub struct Measured {
    /// How the windows were fitted to the log.
    pub plan: WindowPlan,
    /// The before-window's counts.
    pub before: WindowStats,
    /// The after-window's counts (empty when `live`: the caller follows the log for it).
    pub after: WindowStats,
    /// The files read, oldest first.
    pub files: Vec<PathBuf>,
    /// Time of the log's last Postfix line when it was measured.
    pub last: Option<DateTime<Utc>>,
}

/// Fits equal windows of `requested` seconds around `change` to `log` (plus `LOG.1`, the
/// previous rotation, when the log starts inside the before-window and that file exists) with
/// [`plan_windows`], and counts them, reading only the windows' byte ranges of plain files.
/// With `live`, only the before-window is counted.
pub fn measure_around(
    log: &Path,
    change: DateTime<Utc>,
    requested: i64,
    live: bool,
    hint: &YearHint,
) -> Result<Measured, LogError> {
    let (mut first, last) = log_span(log, hint)?;
    let mut files = vec![log.to_path_buf()];
    if first.is_some_and(|f| f > change - chrono::Duration::seconds(requested)) {
        let mut name = log.as_os_str().to_os_string();
        name.push(".1");
        let rotated = PathBuf::from(name);
        if rotated.is_file() {
            let (f1, _) = log_span(&rotated, hint)?;
            first = f1.or(first);
            files.insert(0, rotated);
        }
    }
    let plan = plan_windows(change, requested, first, last, live);
    let empty = |(from, to)| WindowStats {
        from,
        to,
        counts: Counts::default(),
    };
    if plan.problem.is_some() || plan.window_seconds == 0 {
        return Ok(Measured {
            before: empty(plan.before()),
            after: empty(plan.after()),
            plan,
            files,
            last,
        });
    }
    let (from, _) = plan.before();
    let to = if live { change } else { plan.after().1 };
    let sources = files
        .iter()
        .map(LogSource::open)
        .collect::<Result<Vec<_>, _>>()?;
    let query = LogQuery {
        since: Some(from),
        until: Some(to),
        bucket: std::time::Duration::from_secs(u64::try_from(plan.window_seconds).unwrap_or(1)),
        by: By::Client,
        top: 1,
        quiet: true,
    };
    let report = analyze(sources, &query, hint)?;
    let before = window_stats(&report, from, change);
    let after = if live {
        empty(plan.after())
    } else {
        window_stats(&report, change, plan.after().1)
    };
    Ok(Measured {
        plan,
        before,
        after,
        files,
        last,
    })
}
