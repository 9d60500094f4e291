//! `apply --guard` and `rollback --if-drop`: judge a change from the mail log, and roll it back
//! when accepted mail dropped or TLS failures rose.
//!
//! Both compare two equal windows around the change time with
//! [`pftls_maillog::guard_verdict`]:
//!
//! * `apply --guard DURATION`: the change is "now" (rounded up to the next whole second, so
//!   that no line of the after-window was written before the log was being followed). The
//!   after-window `[change, change + DURATION)` is observed live with a
//!   [`pftls_maillog::LogFollower`] (survives rotation); the before-window
//!   `[change - DURATION, change)` is read from the log file.
//! * `rollback --if-drop PCT`: the change is `--around ID|TIME`, else the creation time of the
//!   snapshot being restored. The windows are as long as the time elapsed since the change,
//!   capped at [`IF_DROP_MAX_WINDOW`]; only the drop rule applies.
//!
//! When the log starts inside the before-window (it was rotated recently), the before-window
//! is shortened to the log's first line, after also reading `FILE.1` (the previous rotation,
//! plain text) when it exists, so that rates stay comparable; the evidence says so.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use pftls_maillog::{
    guard_verdict, Analyzer, LogFollower, LogQuery, LogSource, Verdict, WindowStats, YearHint,
};
use pftls_txn::{ConfigLock, SnapshotStore};

use crate::cli::{GuardArgs, RollbackArgs};
use crate::cmd::apply::txn_error;
use crate::cmd::logs::{log_error, parse_duration_arg, resolve_change, snapshot_time};
use crate::context::Ctx;
use crate::error::{CliError, CliResult};

/// Longest `--guard` accepted: the command stays in the foreground that long.
pub const MAX_GUARD: Duration = Duration::from_secs(86_400);
/// `rollback --if-drop`: each window is the time since the change, at most this long.
pub const IF_DROP_MAX_WINDOW: Duration = Duration::from_secs(3600);
/// The guard prints a progress line on a terminal this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);
/// How often the follower looks at the log (the crate clamps it to at most one second).
const POLL_EVERY: Duration = Duration::from_millis(250);
/// How much of the log's start is read to find its first timestamp.
const HEAD_BYTES: u64 = 1 << 20;

/// What the guard decided.
#[derive(Debug, Clone, Default)]
pub struct GuardOutcome {
    /// Whether the change was rolled back.
    pub rolled_back: bool,
    /// The evidence, as JSON (`guard` in the apply output).
    pub json: serde_json::Value,
    /// The evidence, as text.
    pub text: String,
}

/// Checks the `--guard` options before anything is written: the duration parses (1 s ..
/// [`MAX_GUARD`]), the thresholds are percentages and the log can be read. Returns the
/// duration and the log, or `None` when no guard was asked for. `after_apply` calls it too;
/// calling it before the commit as well turns a typo into "nothing changed".
pub fn preflight(args: &GuardArgs) -> CliResult<Option<(Duration, PathBuf)>> {
    let Some(g) = &args.guard else {
        return Ok(None);
    };
    let d = parse_duration_arg("--guard", g)?;
    if d.is_zero() || d > MAX_GUARD {
        return Err(usage(format!(
            "--guard {g:?}: must be between 1s and {}h",
            MAX_GUARD.as_secs() / 3600
        )));
    }
    check_pct("--max-drop", args.max_drop)?;
    check_pct("--max-failure-rate", args.max_failure_rate)?;
    let Some(log) = &args.log else {
        return Err(usage("--guard needs --log FILE (the mail log to follow)"));
    };
    readable(log)?;
    Ok(Some((d, log.clone())))
}

/// Watches the log after an apply that took snapshot `snapshot_id`; rolls back when the
/// verdict says so. Called with the config lock still held.
pub fn after_apply(
    ctx: &Ctx,
    args: &GuardArgs,
    lock: &ConfigLock,
    store: &SnapshotStore,
    snapshot_id: &str,
    reload: Option<&[String]>,
) -> CliResult<GuardOutcome> {
    let still_applied = |mut e: CliError| {
        e.message = format!(
            "{}; the guard could not judge the change, which stays applied (undo it with: pftls rollback --to {snapshot_id})",
            e.message
        );
        e.changed = true;
        e
    };
    let Some((duration, log)) = preflight(args).map_err(still_applied)? else {
        return Err(usage("after_apply called without --guard"));
    };
    let watched = watch(ctx, &log, duration).map_err(still_applied)?;
    let verdict = guard_verdict(
        &watched.before,
        &watched.after,
        args.max_drop,
        args.max_failure_rate,
    );
    let restore = if verdict.rollback {
        let report = pftls_txn::restore(lock, store, snapshot_id, &ctx.config_dir, reload, None)
            .map_err(|e| {
                let mut c = txn_error(e);
                c.message = format!(
                    "the guard decided to roll back ({}), but restoring snapshot {snapshot_id} failed: {}; restore by hand with: pftls rollback --to {snapshot_id}",
                    verdict.reasons.join("; "),
                    c.message
                );
                // The applied change is still on disk.
                c.changed = true;
                c
            })?;
        Some(report)
    } else {
        None
    };
    let title = format!(
        "Guard: watched {} for {} s after the change at {}",
        log.display(),
        duration.as_secs(),
        rfc3339(watched.change)
    );
    let mut text = render(&title, &verdict, &watched.notes);
    match &restore {
        Some(r) => {
            text.push_str(&format!(
                "ROLLED BACK: restored snapshot {snapshot_id}{}.\n",
                r.backup
                    .as_ref()
                    .map(|b| format!(" (the applied state was saved as {})", b.id))
                    .unwrap_or_default()
            ));
            if let Some(rl) = &r.reload {
                text.push_str(&format!(
                    "Reload `{}`: {}\n",
                    rl.command,
                    if rl.ok { "ok" } else { "FAILED" }
                ));
            }
        }
        None => text.push_str("Verdict: the change stays.\n"),
    }
    let json = serde_json::json!({
        "log": log.display().to_string(),
        "duration_seconds": duration.as_secs(),
        "change": rfc3339(watched.change),
        "snapshot": snapshot_id,
        "rollback": verdict.rollback,
        "rolled_back": restore.is_some(),
        "reasons": verdict.reasons,
        "evidence": verdict.evidence,
        "notes": watched.notes,
        "restore": restore,
    });
    Ok(GuardOutcome {
        rolled_back: restore.is_some(),
        json,
        text: text.trim_end().to_string(),
    })
}

/// For `rollback --if-drop`: `(true, ..)` when accepted mail dropped by more than the
/// percentage after the change (roll back), `(false, ..)` when it did not or when there is no
/// basis to tell (keep the change); with the evidence as JSON and text.
pub fn drop_check(
    ctx: &Ctx,
    args: &RollbackArgs,
    snapshot_id: &str,
) -> CliResult<(bool, serde_json::Value, String)> {
    let Some(pct) = args.if_drop else {
        return Err(usage("drop_check called without --if-drop"));
    };
    check_pct("--if-drop", pct)?;
    let Some(log) = &args.log else {
        return Err(usage("--if-drop needs --log FILE (the mail log to read)"));
    };
    readable(log)?;
    let now = Utc::now();
    let change = match &args.around {
        Some(a) => resolve_change(&ctx.backup_dir, a, now)?,
        None => snapshot_time(&SnapshotStore::new(&ctx.backup_dir), snapshot_id)?,
    };
    let elapsed = (now - change.time).num_seconds();
    let cap = i64::try_from(IF_DROP_MAX_WINDOW.as_secs()).unwrap_or(3600);
    let window = elapsed.min(cap);
    let mut json = serde_json::json!({
        "log": log.display().to_string(),
        "change": rfc3339(change.time),
        "change_source": change.source,
        "if_drop_pct": pct,
        "window_seconds": window.max(0),
    });
    if window < 1 {
        let note = format!(
            "no basis: the change ({}) is less than a second ago or in the future, so there is no log after it to judge; the change stays",
            change.source
        );
        json["rollback"] = serde_json::json!(false);
        json["reasons"] = serde_json::json!([]);
        json["notes"] = serde_json::json!([note]);
        return Ok((false, json, format!("--if-drop: {note}.")));
    }
    let mut m = measure(log, change.time, chrono::Duration::seconds(window))?;
    // The after-window ends now: a log that stops well before that is either a total stop
    // of mail (what --if-drop is for) or a stale copy of the log; say which time it ends at.
    let end = change.time + chrono::Duration::seconds(window);
    if let Some(last) = m.last.filter(|l| (end - *l).num_seconds() * 10 > window) {
        m.notes.push(format!(
            "the log's last Postfix line is at {}, {} s before the end of the after-window: the after-window counts no mail after it",
            rfc3339(last),
            (end - last).num_seconds()
        ));
    }
    // Only the drop rule: a failure rate cannot exceed 100 %.
    let verdict = guard_verdict(&m.before, &m.after, pct, 100.0);
    let title = format!(
        "--if-drop {pct}%: {} around {}, {window} s before vs {window} s after",
        log.display(),
        change.source
    );
    let text = render(&title, &verdict, &m.notes);
    json["rollback"] = serde_json::json!(verdict.rollback);
    json["reasons"] = serde_json::json!(verdict.reasons);
    json["evidence"] = serde_json::to_value(&verdict.evidence).unwrap_or_default();
    json["notes"] = serde_json::json!(m.notes);
    Ok((verdict.rollback, json, text.trim_end().to_string()))
}

fn usage(msg: impl Into<String>) -> CliError {
    CliError::new("usage", msg)
}

fn check_pct(option: &str, v: f64) -> CliResult<()> {
    if v.is_finite() && (0.0..=100.0).contains(&v) {
        Ok(())
    } else {
        Err(usage(format!(
            "{option} {v}: must be a percentage between 0 and 100"
        )))
    }
}

/// Fails with a message naming the file when the log cannot be opened.
fn readable(log: &Path) -> CliResult<()> {
    // Non-blocking open: a FIFO as --log must be refused, not wait for a writer.
    pftls_safe_read::open(log, pftls_safe_read::Kind::Log)
        .map(drop)
        .map_err(|e| CliError::new("io", e.to_string()).at(log.display().to_string(), None))
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The two windows around a change, and notes on how they were measured.
struct Measured {
    before: WindowStats,
    after: WindowStats,
    /// The last Postfix line inside the two windows.
    last: Option<DateTime<Utc>>,
    notes: Vec<String>,
}

/// What the guard observed.
struct Watched {
    change: DateTime<Utc>,
    before: WindowStats,
    after: WindowStats,
    notes: Vec<String>,
}

/// Follows `log` for `duration` after now; reads the before-window from the file.
fn watch(ctx: &Ctx, log: &Path, duration: Duration) -> CliResult<Watched> {
    // Follow first, then fix the change time: every line written from here on is seen.
    let mut follower = LogFollower::open(log)
        .map_err(log_error)?
        .with_poll_interval(POLL_EVERY);
    let started = Instant::now();
    let now = Utc::now();
    let change = ceil_second(now);
    let change_at = started + (change - now).to_std().unwrap_or_default();
    let deadline = change_at + duration;
    let d =
        chrono::Duration::from_std(duration).map_err(|_| usage("--guard: duration too long"))?;
    let mut after = Analyzer::for_window(change, change + d, &YearHint::now());
    let mut progress = Progress::new(ctx, started, duration);
    // Reach the change second first, so that the before-window read below is complete.
    follow(&mut follower, &mut after, change_at, &mut progress)?;
    let before = measure(log, change, d)?;
    follow(&mut follower, &mut after, deadline, &mut progress)?;
    // Lines the writer completed right at the deadline.
    for l in follower.poll().map_err(log_error)? {
        after.feed_line(l.as_bytes());
        progress.lines += 1;
    }
    progress.done();
    Ok(Watched {
        change,
        before: before.before,
        after: after.finish_window(),
        notes: before.notes,
    })
}

/// Feeds followed lines to `analyzer` until `until`; each wait is at most one second, so the
/// loop ends at `until` (plus at most one poll interval) whatever the log does.
fn follow(
    follower: &mut LogFollower,
    analyzer: &mut Analyzer,
    until: Instant,
    progress: &mut Progress,
) -> CliResult<()> {
    loop {
        let now = Instant::now();
        if now >= until {
            return Ok(());
        }
        let lines = follower
            .wait_lines((until - now).min(Duration::from_secs(1)))
            .map_err(log_error)?;
        for l in &lines {
            analyzer.feed_line(l.as_bytes());
        }
        progress.lines += lines.len() as u64;
        progress.tick();
    }
}

/// The next whole second at or after `t`.
fn ceil_second(t: DateTime<Utc>) -> DateTime<Utc> {
    let floor = DateTime::<Utc>::from_timestamp(t.timestamp(), 0).unwrap_or(t);
    if floor == t {
        t
    } else {
        floor + chrono::Duration::seconds(1)
    }
}

/// A short progress line on stderr every [`PROGRESS_EVERY`], only on a terminal.
struct Progress {
    enabled: bool,
    started: Instant,
    total: Duration,
    last: Instant,
    lines: u64,
}

impl Progress {
    fn new(ctx: &Ctx, started: Instant, total: Duration) -> Self {
        Progress {
            enabled: !ctx.quiet && std::io::stderr().is_terminal(),
            started,
            total,
            last: started,
            lines: 0,
        }
    }

    fn tick(&mut self) {
        if self.enabled && self.last.elapsed() >= PROGRESS_EVERY {
            self.last = Instant::now();
            eprint!(
                "\rguard: {} s of {} s, {} new log lines   ",
                self.started.elapsed().as_secs(),
                self.total.as_secs(),
                self.lines
            );
        }
    }

    fn done(&self) {
        if self.enabled && self.total >= PROGRESS_EVERY {
            eprintln!();
        }
    }
}

/// Counts `[change - window, change)` and `[change, change + window)` in one pass over the
/// log (and `FILE.1` when the log starts inside the before-window).
fn measure(log: &Path, change: DateTime<Utc>, window: chrono::Duration) -> CliResult<Measured> {
    let start = change - window;
    let mut notes = Vec::new();
    let mut files = vec![log.to_path_buf()];
    let mut covered_from = head_time(log)?;
    if covered_from.is_some_and(|t| t > start) {
        let mut name = log.as_os_str().to_os_string();
        name.push(".1");
        let rotated = PathBuf::from(name);
        if rotated.is_file() {
            covered_from = head_time(&rotated)?.or(covered_from);
            files.insert(0, rotated);
        }
    }
    let sources = files
        .iter()
        .map(|p| LogSource::open(p).map_err(log_error))
        .collect::<CliResult<Vec<_>>>()?;
    let secs = u64::try_from(window.num_seconds()).unwrap_or(1).max(1);
    let query = LogQuery {
        since: Some(start),
        until: Some(change + window),
        bucket: Duration::from_secs(secs),
        top: 1,
        quiet: true,
        ..LogQuery::default()
    };
    let report = pftls_maillog::analyze(sources, &query, &YearHint::now()).map_err(log_error)?;
    let mut before = pftls_maillog::window_stats(&report, start, change);
    let after = pftls_maillog::window_stats(&report, change, change + window);
    if let Some(first) = covered_from.filter(|t| *t > start) {
        before.from = first.min(change);
        notes.push(format!(
            "the log starts at {} (inside the before-window): the before-window was shortened to {} s so that rates compare",
            rfc3339(first),
            (change - before.from).num_seconds()
        ));
    }
    Ok(Measured {
        before,
        after,
        last: report.last,
        notes,
    })
}

/// Time of the first Postfix line in the first [`HEAD_BYTES`] of `path` (decoded).
fn head_time(path: &Path) -> CliResult<Option<DateTime<Utc>>> {
    let source = LogSource::open(path).map_err(log_error)?;
    let reference = source.reference;
    let (name, _, reader) = source.into_decoded().map_err(log_error)?;
    let head = LogSource::from_reader(name, reader.take(HEAD_BYTES), reference);
    let query = LogQuery {
        top: 1,
        quiet: true,
        ..LogQuery::default()
    };
    match pftls_maillog::analyze(vec![head], &query, &YearHint::now()) {
        Ok(r) => Ok(r.first),
        // A gzip member cut by the byte limit: the start is simply unknown.
        Err(pftls_maillog::LogError::Gzip { .. }) => Ok(None),
        Err(e) => Err(log_error(e)),
    }
}

/// The evidence as text: a before/after table, the reasons and the notes.
fn render(title: &str, v: &Verdict, notes: &[String]) -> String {
    let e = &v.evidence;
    let pct = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.1}%"));
    let mut s = format!("{title}\n");
    s.push_str(&format!("  {:<26} {:>20} {:>20}\n", "", "before", "after"));
    let window =
        |w: &WindowStats| format!("{}..{}", w.from.format("%H:%M:%S"), w.to.format("%H:%M:%S"));
    s.push_str(&format!(
        "  {:<26} {:>20} {:>20}\n",
        "window (UTC)",
        window(&e.before),
        window(&e.after)
    ));
    let row = |name: &str, b: String, a: String| format!("  {name:<26} {b:>20} {a:>20}\n");
    s.push_str(&row(
        "accepted messages",
        e.before.counts.messages_accepted.to_string(),
        e.after.counts.messages_accepted.to_string(),
    ));
    s.push_str(&row(
        "messages/hour",
        format!("{:.1}", e.messages_per_hour_before),
        format!("{:.1}", e.messages_per_hour_after),
    ));
    s.push_str(&row(
        "TLS handshake failures",
        e.before.counts.tls_handshake_failures.to_string(),
        e.after.counts.tls_handshake_failures.to_string(),
    ));
    s.push_str(&row(
        "530 refusals",
        e.before.counts.starttls_required_rejects.to_string(),
        e.after.counts.starttls_required_rejects.to_string(),
    ));
    s.push_str(&row(
        "failure rate",
        pct(e.failure_rate_before_pct),
        pct(e.failure_rate_after_pct),
    ));
    s.push_str(&format!(
        "  drop {} (max {}%)\n",
        pct(e.drop_pct),
        e.max_drop_pct
    ));
    for r in &v.reasons {
        s.push_str(&format!("  reason: {r}\n"));
    }
    for n in notes.iter().chain(&e.notes) {
        s.push_str(&format!("  note: {n}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn ceil_second_rounds_up_only_fractions() {
        let t = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
        assert_eq!(ceil_second(t), t);
        let frac = t + chrono::Duration::milliseconds(1);
        assert_eq!(ceil_second(frac), t + chrono::Duration::seconds(1));
    }

    #[test]
    fn percentages_are_checked() {
        assert!(check_pct("--x", 50.0).is_ok());
        assert!(check_pct("--x", 0.0).is_ok());
        for bad in [-1.0, 100.5, f64::NAN, f64::INFINITY] {
            assert!(check_pct("--x", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn preflight_rejects_bad_guard_options() {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let args = |g: &str, log: Option<PathBuf>| GuardArgs {
            guard: Some(g.to_string()),
            log,
            max_drop: 50.0,
            max_failure_rate: 10.0,
        };
        let ok = preflight(&args("4s", Some(tmp.path().into()))).unwrap();
        assert_eq!(ok.map(|o| o.0), Some(Duration::from_secs(4)));
        for bad in ["0", "2d", "soon"] {
            assert!(preflight(&args(bad, Some(tmp.path().into()))).is_err());
        }
        // A FIFO as the log is refused at once instead of blocking for a writer.
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("maillog");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = preflight(&args("4s", Some(fifo))).unwrap_err();
        assert!(err.message.contains("FIFO"), "{}", err.message);
        let missing = preflight(&args("4s", Some("/nonexistent/mail.log".into())));
        assert!(missing
            .unwrap_err()
            .to_string()
            .contains("/nonexistent/mail.log"));
        assert!(preflight(&args("4s", None)).is_err());
    }
}
