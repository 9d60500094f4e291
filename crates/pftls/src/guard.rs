//! `apply --guard` and `rollback --if-drop`: judge a change from the mail log, and roll it back
//! when the evidence shows that accepted mail dropped or TLS failures rose.
//!
//! The decision (windows fitted to the log, significance tests, `inconclusive` on thin
//! evidence) is [`pftls_maillog::measure_around`] + [`pftls_maillog::decide`]; this module only
//! follows the log, restores the snapshot and prints. See docs/logs.md for the rule.
//!
//! * `apply --guard DURATION`: the change is "now" (rounded up to the next whole second, so
//!   that no line of the after-window was written before the log was being followed). The
//!   after-window is observed live with a [`pftls_maillog::LogFollower`] (survives rotation);
//!   the before-window is read from the log file (bisected); after the window the guard waits
//!   up to `--guard-wait` for a line past its end (else: inconclusive, a stale log).
//! * `rollback --if-drop PCT`: the change is `--around ID|TIME`, else the creation time of the
//!   snapshot being restored. The windows are as long as the time elapsed since the change,
//!   capped at [`IF_DROP_MAX_WINDOW`] and fitted to the log; only the drop rule applies.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use pftls_maillog::{
    after_window_covered, decide, measure_around, render_verdict, Analyzer, DecisionRule,
    LogFollower, Verdict, WindowPlan, YearHint,
};
use pftls_txn::{ConfigLock, SnapshotStore};

use crate::cli::{DecisionArgs, GuardArgs, RollbackArgs};
use crate::cmd::apply::txn_error;
use crate::cmd::logs::{log_error, parse_duration_arg, resolve_change, snapshot_time, usage};
use crate::context::Ctx;
use crate::error::{CliError, CliResult};

/// Longest `--guard` accepted: the command stays in the foreground that long.
pub const MAX_GUARD: Duration = Duration::from_secs(86_400);
/// Longest `--guard-wait`.
pub const MAX_GUARD_WAIT: Duration = Duration::from_secs(3600);
/// `rollback --if-drop`: each window is the time since the change, at most this long.
pub const IF_DROP_MAX_WINDOW: Duration = Duration::from_secs(3600);
/// The guard prints a progress line on a terminal this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);
/// How often the follower looks at the log (the crate clamps it to at most one second).
const POLL_EVERY: Duration = Duration::from_millis(250);
/// Lines read before the change second are kept for the after-window analyser (at most one
/// second's worth; bounded anyway).
const MAX_EARLY_LINES: usize = 100_000;

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

/// The checked `--guard` options.
#[derive(Debug, Clone)]
pub struct GuardPlan {
    /// How long to watch.
    pub duration: Duration,
    /// How long to wait for a line past the after-window.
    pub wait: Duration,
    /// The log to follow.
    pub log: PathBuf,
    /// The decision rule.
    pub rule: DecisionRule,
}

/// The decision rule from the flags (usage error, exit 64, when out of range).
fn rule_of(
    d: &DecisionArgs,
    max_drop: f64,
    max_failure_rate: Option<f64>,
) -> CliResult<DecisionRule> {
    let rule = DecisionRule {
        max_drop_pct: max_drop,
        max_failure_rate_pct: max_failure_rate,
        min_messages: d.min_messages,
        min_attempts: d.min_attempts,
        confidence_pct: d.confidence,
    };
    rule.validate().map_err(usage)?;
    Ok(rule)
}

/// Checks the `--guard` options before anything is written: the durations parse (1 s ..
/// [`MAX_GUARD`]), the thresholds are in range and the log can be read. `None` when no guard
/// was asked for. `after_apply` calls it too; calling it before the commit as well turns a
/// typo into "nothing changed".
pub fn preflight(args: &GuardArgs) -> CliResult<Option<GuardPlan>> {
    let Some(g) = &args.guard else {
        return Ok(None);
    };
    let duration = parse_duration_arg("--guard", g)?;
    if duration.is_zero() || duration > MAX_GUARD {
        return Err(usage(format!(
            "--guard {g:?}: must be between 1s and {}h",
            MAX_GUARD.as_secs() / 3600
        )));
    }
    let wait = parse_duration_arg("--guard-wait", &args.guard_wait)?;
    if wait > MAX_GUARD_WAIT {
        return Err(usage(format!(
            "--guard-wait {:?}: at most {}h",
            args.guard_wait,
            MAX_GUARD_WAIT.as_secs() / 3600
        )));
    }
    let rule = rule_of(&args.decision, args.max_drop, Some(args.max_failure_rate))?;
    let Some(log) = &args.log else {
        return Err(usage("--guard needs --log FILE (the mail log to follow)"));
    };
    readable(log)?;
    Ok(Some(GuardPlan {
        duration,
        wait,
        log: log.clone(),
        rule,
    }))
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
    let Some(plan) = preflight(args).map_err(still_applied)? else {
        return Err(usage("after_apply called without --guard"));
    };
    let watched = watch(ctx, &plan).map_err(still_applied)?;
    let verdict = &watched.verdict;
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
        plan.log.display(),
        watched.plan.window_seconds,
        rfc3339(watched.plan.change)
    );
    let mut text = render_verdict(&title, verdict);
    if let Some(r) = &restore {
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
    let report = GuardReport {
        log: plan.log.display().to_string(),
        duration_seconds: plan.duration.as_secs(),
        change: rfc3339(watched.plan.change),
        snapshot: Some(snapshot_id.to_string()),
        windows: watched.plan.clone(),
        verdict: verdict.clone(),
        rolled_back: restore.is_some(),
        restore: restore.as_ref().and_then(|r| serde_json::to_value(r).ok()),
    };
    Ok(GuardOutcome {
        rolled_back: restore.is_some(),
        json: to_json(&report),
        text: text.trim_end().to_string(),
    })
}

/// The guard's / `--if-drop`'s JSON object.
#[derive(Debug, serde::Serialize)]
struct GuardReport {
    log: String,
    duration_seconds: u64,
    change: String,
    snapshot: Option<String>,
    /// How the windows were fitted to the log.
    windows: WindowPlan,
    /// `verdict`, `rollback`, `reasons`, `inconclusive`, `evidence` at the top level.
    #[serde(flatten)]
    verdict: Verdict,
    rolled_back: bool,
    restore: Option<serde_json::Value>,
}

/// `rollback --if-drop`'s JSON: the guard report plus what the change time came from and the
/// threshold asked for.
#[derive(Debug, serde::Serialize)]
struct IfDropReport<'a, S: serde::Serialize> {
    #[serde(flatten)]
    report: &'a GuardReport,
    change_source: &'a S,
    if_drop_pct: f64,
}

/// The report as a JSON value for embedding in the apply/rollback report. These structs hold
/// only strings, numbers, booleans and string-keyed maps, so serialisation cannot fail; should
/// it ever, the value says so instead of silently becoming null.
fn to_json<T: serde::Serialize>(report: &T) -> serde_json::Value {
    serde_json::to_value(report).unwrap_or_else(|e| {
        serde_json::Value::String(format!("guard report not serialisable: {e}"))
    })
}

/// For `rollback --if-drop`: `(true, ..)` when the drop rule fired (roll back), `(false, ..)`
/// when it did not or the evidence is inconclusive (keep the change); with the evidence as
/// JSON and text.
pub fn drop_check(
    ctx: &Ctx,
    args: &RollbackArgs,
    snapshot_id: &str,
) -> CliResult<(bool, serde_json::Value, String)> {
    let Some(pct) = args.if_drop else {
        return Err(usage("drop_check called without --if-drop"));
    };
    let rule = rule_of(&args.decision, pct, None)
        .map_err(|e| usage(e.message.replace("max drop", "--if-drop")))?;
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
    let requested = elapsed.min(cap);
    let m = measure_around(log, change.time, requested.max(0), false, &YearHint::now())
        .map_err(log_error)?;
    let mut plan = m.plan;
    if requested < 1 {
        plan.problem = Some(format!(
            "the change ({}) is less than a second ago or in the future: there is no log after it",
            change.source
        ));
    }
    let verdict = decide(
        &m.before,
        &m.after,
        &rule,
        plan.problem.as_deref(),
        plan.notes.clone(),
    );
    let title = format!(
        "--if-drop {pct}%: {} around {}, {} s before vs {} s after",
        log.display(),
        change.source,
        plan.window_seconds,
        plan.window_seconds
    );
    let text = render_verdict(&title, &verdict);
    let report = GuardReport {
        log: log.display().to_string(),
        duration_seconds: u64::try_from(plan.window_seconds).unwrap_or(0),
        change: rfc3339(change.time),
        snapshot: change.snapshot.clone(),
        windows: plan,
        rolled_back: false,
        verdict,
        restore: None,
    };
    let json = to_json(&IfDropReport {
        report: &report,
        change_source: &change.source,
        if_drop_pct: pct,
    });
    Ok((report.verdict.rollback, json, text.trim_end().to_string()))
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

/// What the guard observed and decided.
struct Watched {
    plan: WindowPlan,
    verdict: Verdict,
}

/// Follows the log for the after-window; reads the before-window from the file.
fn watch(ctx: &Ctx, g: &GuardPlan) -> CliResult<Watched> {
    // Follow first, then fix the change time: every line written from here on is seen.
    let mut follower = LogFollower::open(&g.log)
        .map_err(log_error)?
        .with_poll_interval(POLL_EVERY);
    let started = Instant::now();
    let now = Utc::now();
    let change = ceil_second(now);
    let change_at = started + (change - now).to_std().unwrap_or_default();
    let requested = i64::try_from(g.duration.as_secs()).unwrap_or(1);
    let mut progress = Progress::new(ctx, started, g.duration);
    // Reach the change second first, so that the before-window read below is complete; keep
    // what was followed meanwhile for the after-window analyser.
    let mut early: Vec<String> = Vec::new();
    follow(&mut follower, change_at, &mut progress, |l| {
        if early.len() < MAX_EARLY_LINES {
            early.push(l.to_string());
        }
    })?;
    let hint = YearHint::now();
    let m = measure_around(&g.log, change, requested, true, &hint).map_err(log_error)?;
    let plan = m.plan;
    if let Some(p) = plan.problem.clone() {
        let v = decide(&m.before, &m.after, &g.rule, Some(&p), plan.notes.clone());
        return Ok(Watched { plan, verdict: v });
    }
    let (from, to) = plan.after();
    let mut after = Analyzer::for_window(from, to, &hint);
    for l in &early {
        after.feed_line(l.as_bytes());
    }
    let window = Duration::from_secs(u64::try_from(plan.window_seconds).unwrap_or(0));
    let deadline = change_at + window;
    follow(&mut follower, deadline, &mut progress, |l| {
        after.feed_line(l.as_bytes())
    })?;
    // Coverage: wait (bounded by --guard-wait) for a line at or past the window's end.
    let wait_until = deadline + g.wait;
    loop {
        for l in follower.poll().map_err(log_error)? {
            after.feed_line(l.as_bytes());
            progress.lines += 1;
        }
        if after_window_covered(&plan, after.latest()).is_ok() || Instant::now() >= wait_until {
            break;
        }
        let step = (wait_until - Instant::now()).min(Duration::from_secs(1));
        for l in follower.wait_lines(step).map_err(log_error)? {
            after.feed_line(l.as_bytes());
            progress.lines += 1;
        }
    }
    progress.done();
    // The latest line seen: followed, or (nothing followed) the file's own last line.
    let covered = after_window_covered(&plan, after.latest().max(m.last)).err();
    let mut notes = plan.notes.clone();
    if covered.is_some() {
        notes.push(format!(
            "waited {} s after the window for a newer log line",
            g.wait.as_secs()
        ));
    }
    let v = decide(
        &m.before,
        &after.finish_window(),
        &g.rule,
        covered.as_deref(),
        notes,
    );
    Ok(Watched { plan, verdict: v })
}

/// Hands followed lines to `f` until `until`; each wait is at most one second, so the loop
/// ends at `until` (plus at most one poll interval) whatever the log does.
fn follow(
    follower: &mut LogFollower,
    until: Instant,
    progress: &mut Progress,
    mut f: impl FnMut(&str),
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
            f(l);
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
    fn preflight_rejects_bad_guard_options() {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let args = |g: &str, log: Option<PathBuf>| GuardArgs {
            guard: Some(g.to_string()),
            log,
            max_drop: 50.0,
            max_failure_rate: 10.0,
            guard_wait: "2s".into(),
            decision: DecisionArgs {
                min_messages: 10,
                min_attempts: 10,
                confidence: 95.0,
            },
        };
        let ok = preflight(&args("4s", Some(tmp.path().into()))).unwrap();
        assert_eq!(ok.map(|o| o.duration), Some(Duration::from_secs(4)));
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
