//! `pftls logs`: mail-log analytics (totals, TLS failures, protocol mix, 530 refusals, volume per
//! time bucket) and, with `--around`, the before/after comparison of a change.
//!
//! Also home of the argument wrappers shared with `apply --guard` and `rollback --if-drop`
//! ([`parse_time_arg`], [`parse_duration_arg`], [`resolve_change`]); the grammar itself is
//! [`pftls_maillog::parse_time`] / [`pftls_maillog::parse_duration`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use pftls_maillog::{parse_duration, parse_time, LogError, LogQuery, LogSource, YearHint};
use pftls_txn::SnapshotStore;

use crate::cli::Format;
use crate::cmd::apply::txn_error;
use crate::context::Ctx;
use crate::error::{CliError, CliResult, EXIT_USAGE};
use crate::output::{bold, print_json};

/// Series buckets on each side of the change with `--around` when `--bucket` is not given.
pub const AROUND_BUCKETS_PER_SIDE: u64 = 12;

/// `logs` options.
#[derive(Debug, Args)]
#[command(after_help = "\
T is RFC 3339 (2026-11-30T08:00:00Z, 2026-11-30T09:00:00+01:00), YYYY-MM-DD[ HH:MM[:SS]] (UTC), \
a snapshot-id-like YYYYMMDDTHHMMSSZ, `now`, or relative to now (-2h, -90m, -1h30m). \
DURATION is 90s, 10m, 1h, 2d, 1h30m or plain seconds.")]
pub struct LogsArgs {
    /// Mail logs, read in order (plain or gzip, detected by content; `-` for stdin).
    #[arg(required_unless_present = "journal", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Read Postfix's entries from the systemd journal (runs `journalctl -u postfix.service
    /// -u 'postfix@*.service' -o short-iso-precise`), for hosts without a maillog file.
    #[arg(long, conflicts_with = "files")]
    pub journal: bool,
    /// With --journal: read this journal file (`journalctl --file`) instead of the system
    /// journal.
    #[arg(long, value_name = "FILE", requires = "journal")]
    pub journal_file: Option<PathBuf>,
    /// Only count events at or after T.
    #[arg(
        long,
        value_name = "T",
        conflicts_with = "around",
        allow_hyphen_values = true
    )]
    pub since: Option<String>,
    /// Only count events before T.
    #[arg(
        long,
        value_name = "T",
        conflicts_with = "around",
        allow_hyphen_values = true
    )]
    pub until: Option<String>,
    /// Width of a time bucket (default 1h; with --around, the window / 12).
    #[arg(long, value_name = "DURATION")]
    pub bucket: Option<String>,
    /// List only inbound clients or only outbound recipient domains (default both).
    #[arg(long, value_enum, value_name = "client|domain")]
    pub by: Option<ByArg>,
    /// How many clients / domains to list (0 = all).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub top: usize,
    /// Compare equal windows before and after a change: a snapshot id (its creation time, from
    /// --backup-dir) or a time T.
    #[arg(long, value_name = "ID|TIME", allow_hyphen_values = true)]
    pub around: Option<String>,
    /// Length of each window with --around (default 1h).
    #[arg(long, value_name = "DURATION", requires = "around")]
    pub window: Option<String>,
}

/// `--by` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ByArg {
    /// Inbound SMTP clients.
    Client,
    /// Outbound recipient domains.
    Domain,
}

/// Runs `logs`.
pub fn run(ctx: &Ctx, args: &LogsArgs) -> CliResult<i32> {
    let now = Utc::now();
    let quiet = ctx.quiet || ctx.format == Format::Json;
    let bucket = args
        .bucket
        .as_deref()
        .map(|s| parse_duration_arg("--bucket", s))
        .transpose()?;
    if bucket.is_some_and(|b| b.as_secs() == 0) {
        return Err(bad_arg("--bucket must be at least 1s"));
    }
    let hint = YearHint::now();

    if let Some(around) = &args.around {
        let change = resolve_change(&ctx.backup_dir, around, now)?;
        let window = match &args.window {
            Some(w) => parse_duration_arg("--window", w)?,
            None => Duration::from_secs(3600),
        };
        let bucket_secs = match bucket {
            Some(b) => b.as_secs(),
            None => (window.as_secs() / AROUND_BUCKETS_PER_SIDE).max(1),
        };
        let per_side = window.as_secs() / bucket_secs.max(1);
        if per_side == 0 {
            return Err(bad_arg("--window must be at least one --bucket long"));
        }
        // The window is a whole number of buckets, so the change falls on a bucket boundary.
        let w = chrono::Duration::seconds(secs_i64(per_side * bucket_secs)?);
        let sources = sources_of(args, Some(change.time - w), Some(change.time + w))?;
        let query = LogQuery {
            since: Some(change.time - w),
            until: Some(change.time + w),
            bucket: Duration::from_secs(bucket_secs),
            by: by_of(args.by),
            top: args.top,
            quiet,
        };
        let report = pftls_maillog::analyze(sources, &query, &hint).map_err(log_error)?;
        let a = pftls_maillog::around_from_report(&report, change.time, w);
        match ctx.format {
            Format::Json => print_json(&serde_json::to_value(&a).unwrap_or_default()),
            Format::Text => {
                if !ctx.quiet {
                    println!(
                        "{} {} — around {}",
                        bold("pftls logs", ctx.color),
                        files_label(&args.files),
                        change.source
                    );
                }
                print!("{}", pftls_maillog::render_around(&a));
                // A log that ends well inside the after-window (a stale copy, or mail that
                // stopped altogether) understates the rates after the change: say so.
                let end = change.time + w;
                if let Some(last) = report.last.filter(|l| (end - *l) * 10 > w) {
                    println!(
                        "note: the log ends at {}, inside the after-window: the after figures cover only {} s",
                        last.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        (last - change.time).num_seconds().max(0)
                    );
                }
            }
        }
        return Ok(0);
    }

    let since = args
        .since
        .as_deref()
        .map(|s| parse_time_arg("--since", s, now))
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(|s| parse_time_arg("--until", s, now))
        .transpose()?;
    let sources = sources_of(args, since, until)?;
    let query = LogQuery {
        since,
        until,
        bucket: bucket.unwrap_or(Duration::from_secs(3600)),
        by: by_of(args.by),
        top: args.top,
        quiet,
    };
    let report = pftls_maillog::analyze(sources, &query, &hint).map_err(log_error)?;
    match ctx.format {
        Format::Json => print_json(&serde_json::to_value(&report).unwrap_or_default()),
        Format::Text => {
            if !ctx.quiet {
                println!(
                    "{} {}",
                    bold("pftls logs", ctx.color),
                    files_label(&args.files)
                );
            }
            print!("{}", pftls_maillog::render_report(&report));
        }
    }
    Ok(0)
}

fn by_of(by: Option<ByArg>) -> pftls_maillog::By {
    match by {
        Some(ByArg::Client) => pftls_maillog::By::Client,
        Some(ByArg::Domain) => pftls_maillog::By::Domain,
        None => pftls_maillog::By::All,
    }
}

/// The inputs: the files, or journalctl's output for `[since, until)`.
fn sources_of(
    args: &LogsArgs,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> CliResult<Vec<LogSource>> {
    if !args.journal {
        return open_sources(&args.files);
    }
    let q = pftls_maillog::JournalQuery {
        since,
        until,
        file: args.journal_file.clone(),
        program: None,
    };
    Ok(vec![pftls_maillog::journal_source(&q).map_err(log_error)?])
}

fn files_label(files: &[PathBuf]) -> String {
    if files.is_empty() {
        return "(systemd journal)".to_string();
    }
    files
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Opens every input up front, so that a missing file fails before any work is done.
fn open_sources(files: &[PathBuf]) -> CliResult<Vec<LogSource>> {
    if files.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        return Err(bad_arg("stdin (-) can be read only once"));
    }
    files
        .iter()
        .map(|p| LogSource::open(p).map_err(log_error))
        .collect()
}

/// A mail-log error as the user sees it: it names the file (and, for corrupt gzip, the line).
pub fn log_error(e: LogError) -> CliError {
    match &e {
        LogError::Io { path, .. } => {
            CliError::new("io", e.to_string()).at(path.display().to_string(), None)
        }
        LogError::Gzip { path, line, .. } => {
            let line = usize::try_from(*line).ok();
            CliError::new("io", e.to_string()).at(path.display().to_string(), line)
        }
        LogError::Query(_) => usage(e.to_string()),
    }
}

/// A usage error (a bad option value: a time, a duration, a percentage): exit 64.
pub fn usage(msg: impl Into<String>) -> CliError {
    let mut e = CliError::new("usage", msg);
    e.exit = EXIT_USAGE;
    e
}

fn bad_arg(msg: impl Into<String>) -> CliError {
    usage(msg)
}

fn secs_i64(secs: u64) -> CliResult<i64> {
    i64::try_from(secs).map_err(|_| bad_arg(format!("{secs} s is too long")))
}

/// [`parse_duration`] with the option name in the error.
pub fn parse_duration_arg(option: &str, s: &str) -> CliResult<Duration> {
    parse_duration(s).map_err(|e| bad_arg(format!("{option} {s:?}: {e}")))
}

/// [`parse_time`] with the option name in the error.
pub fn parse_time_arg(option: &str, s: &str, now: DateTime<Utc>) -> CliResult<DateTime<Utc>> {
    parse_time(s, now).map_err(|e| bad_arg(format!("{option} {s:?}: {e}")))
}

/// A change time and where it came from.
#[derive(Debug, Clone)]
pub struct ChangeTime {
    /// The time.
    pub time: DateTime<Utc>,
    /// For people: `snapshot ID (created T)` or `T`.
    pub source: String,
    /// The snapshot id, when the change was given as one.
    pub snapshot: Option<String>,
}

/// Resolves `--around ID|TIME`: a snapshot id in `backup_dir` becomes its creation time (from
/// its manifest); anything else is parsed with [`parse_time`].
pub fn resolve_change(backup_dir: &Path, s: &str, now: DateTime<Utc>) -> CliResult<ChangeTime> {
    if pftls_txn::is_snapshot_id(s) {
        return snapshot_time(&SnapshotStore::new(backup_dir), s);
    }
    let time = parse_time_arg("--around", s, now)?;
    Ok(ChangeTime {
        time,
        source: time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        snapshot: None,
    })
}

/// The creation time of snapshot `id`.
pub fn snapshot_time(store: &SnapshotStore, id: &str) -> CliResult<ChangeTime> {
    let info = store.get(id).map_err(txn_error)?;
    let Some(m) = info.manifest else {
        return Err(CliError::new(
            "snapshot",
            format!(
                "snapshot {id} has no readable manifest{}: its time is unknown",
                info.problem.map(|p| format!(" ({p})")).unwrap_or_default()
            ),
        )
        .at(info.path.display().to_string(), None));
    };
    let time = DateTime::parse_from_rfc3339(&m.created)
        .map_err(|e| {
            CliError::new(
                "snapshot",
                format!(
                    "snapshot {id}: creation time {:?} is not RFC 3339: {e}",
                    m.created
                ),
            )
            .at(info.path.join("manifest.json").display().to_string(), None)
        })?
        .with_timezone(&Utc);
    Ok(ChangeTime {
        time,
        source: format!(
            "snapshot {id} (created {})",
            time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
        snapshot: Some(id.to_string()),
    })
}
