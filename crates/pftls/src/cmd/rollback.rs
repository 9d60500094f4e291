//! `pftls rollback` and `pftls backups list|show|prune`.

use pftls_txn::{Action, SnapshotStore};

use crate::cli::{BackupsCmd, Format, RollbackArgs};
use crate::cmd::apply::{change_exit, txn_error};
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::output::{bold, colorize_diff, print_report, unified_diff};

/// The snapshot rollback restores by default: the one taken by the most recent apply.
fn default_target(store: &SnapshotStore) -> CliResult<String> {
    match store.latest(Some(Action::Apply)).map_err(txn_error)? {
        Some(s) => Ok(s.id),
        None => Err(CliError::new(
            "snapshot",
            format!(
                "no snapshot taken by apply in {}: nothing to roll back",
                store.dir().display()
            ),
        )),
    }
}

/// The diff of what a rollback would discard (edits made after the apply).
fn drift_diff(files: &[pftls_txn::DriftFile]) -> String {
    files
        .iter()
        .map(|f| {
            let path = f.path.display().to_string();
            unified_diff(&path, &f.applied, f.current.as_deref().unwrap_or_default())
        })
        .collect()
}

/// A drift refusal with the diff of the edits that would be lost.
fn rollback_error(ctx: &Ctx, e: pftls_txn::TxnError) -> CliError {
    let diff = match &e {
        pftls_txn::TxnError::Drift { files, .. } => Some(drift_diff(files)),
        _ => None,
    };
    let mut c = crate::cmd::apply::txn_error_in(ctx, e);
    if let Some(d) = diff {
        c.message = format!(
            "{}\nEdits since the apply (they would be discarded):\n{d}",
            c.message
        );
    }
    c
}

/// `rollback --dry-run --format json`.
#[derive(serde::Serialize)]
struct RollbackPreview<'a> {
    changed: bool,
    dry_run: bool,
    to: &'a str,
    files: Vec<PreviewFile<'a>>,
    /// Edits made after the apply that a rollback would discard.
    drift: Vec<DriftRow>,
}

/// One file edited since the apply it would roll back.
#[derive(serde::Serialize)]
struct DriftRow {
    path: String,
    applied_sha256: String,
    current_sha256: Option<String>,
    diff: String,
}

/// One file of the preview (`before_sha256` is null when the file does not exist now).
#[derive(serde::Serialize)]
struct PreviewFile<'a> {
    path: String,
    changed: bool,
    diff: String,
    before_sha256: Option<&'a str>,
    after_sha256: &'a str,
}

/// `rollback --if-drop` when the change stays.
#[derive(serde::Serialize)]
struct KeptReport<'a> {
    changed: bool,
    dry_run: bool,
    to: &'a str,
    guard: &'a serde_json::Value,
}

/// `rollback --format json`: the restore report plus what was restored and why.
#[derive(serde::Serialize)]
struct RestoreReport<'a> {
    #[serde(flatten)]
    report: &'a pftls_txn::CommitReport,
    dry_run: bool,
    to: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    guard: Option<&'a serde_json::Value>,
}

/// `pftls rollback`.
pub fn run(ctx: &Ctx, args: &RollbackArgs) -> CliResult<i32> {
    // Only this instance's snapshots are candidates; restoring checks the instance again.
    let store = SnapshotStore::new(&ctx.backup_dir).for_instance(&ctx.config_dir);
    if args.dry_run {
        let id = match &args.to {
            Some(id) => id.clone(),
            None => default_target(&store)?,
        };
        store.verify(&id).map_err(txn_error)?;
        let preview =
            pftls_txn::preview_restore(&store, &id, &ctx.config_dir).map_err(txn_error)?;
        let drift = store.drift(&id, &ctx.config_dir).map_err(txn_error)?;
        let changed = preview.iter().any(|p| p.changed);
        match ctx.format {
            Format::Json => print_report(&RollbackPreview {
                changed,
                dry_run: true,
                to: &id,
                files: preview
                    .iter()
                    .map(|p| {
                        let path = p.path.display().to_string();
                        // A file the snapshot has but the directory lacks diffs from nothing.
                        let current = p.current.as_deref().unwrap_or_default();
                        PreviewFile {
                            diff: unified_diff(&path, current, &p.snapshot),
                            path,
                            changed: p.changed,
                            before_sha256: p.current_sha256.as_deref(),
                            after_sha256: &p.snapshot_sha256,
                        }
                    })
                    .collect(),
                drift: drift
                    .iter()
                    .map(|f| {
                        let path = f.path.display().to_string();
                        DriftRow {
                            diff: unified_diff(
                                &path,
                                &f.applied,
                                f.current.as_deref().unwrap_or_default(),
                            ),
                            path,
                            applied_sha256: f.applied_sha256.clone(),
                            current_sha256: f.current_sha256.clone(),
                        }
                    })
                    .collect(),
            }),
            Format::Text => {
                println!(
                    "{} would restore snapshot {id}",
                    bold("pftls rollback --dry-run", ctx.color)
                );
                for p in &preview {
                    let path = p.path.display().to_string();
                    let d =
                        unified_diff(&path, p.current.as_deref().unwrap_or_default(), &p.snapshot);
                    print!(
                        "{}",
                        if ctx.color && !d.is_empty() {
                            colorize_diff(&d)
                        } else {
                            d
                        }
                    );
                }
                if !drift.is_empty() {
                    println!(
                        "Edits since the apply that this rollback would discard (it needs --force):"
                    );
                    print!("{}", drift_diff(&drift));
                }
                println!(
                    "{}",
                    if changed {
                        "Dry run: nothing was written."
                    } else {
                        "Nothing to change: the files already equal the snapshot."
                    }
                );
            }
        }
        return Ok(change_exit(ctx, changed));
    }

    let lock = pftls_txn::lock_config_dir(&ctx.config_dir, args.write.lock_timeout())
        .map_err(txn_error)?;
    // Finish an interrupted earlier run before choosing what to restore.
    pftls_txn::recover(&lock).map_err(txn_error)?;
    let id = match &args.to {
        Some(id) => id.clone(),
        None => default_target(&store)?,
    };
    // --if-drop: judge the change from the mail log first; keep it when the drop is not there.
    let evidence = match args.if_drop {
        Some(_) => {
            let (roll_back, json, text) = crate::guard::drop_check(ctx, args, &id)?;
            if !roll_back {
                match ctx.format {
                    Format::Json => print_report(&KeptReport {
                        changed: false,
                        dry_run: false,
                        to: &id,
                        guard: &json,
                    }),
                    Format::Text => println!("{text}\nNo rollback: the change stays."),
                }
                return Ok(0);
            }
            Some((json, text))
        }
        None => None,
    };
    let reload_argv = args.write.reload_argv(&ctx.config_dir);
    let report = pftls_txn::restore_with(
        &lock,
        &store,
        &id,
        &ctx.config_dir,
        &pftls_txn::RestoreOptions {
            reload: reload_argv.as_deref(),
            keep: args.write.keep(),
            force: args.force,
        },
    )
    .map_err(|e| rollback_error(ctx, e))?;
    match ctx.format {
        Format::Json => print_report(&RestoreReport {
            report: &report,
            dry_run: false,
            to: &id,
            guard: evidence.as_ref().map(|(json, _)| json),
        }),
        Format::Text => {
            if let Some((_, text)) = &evidence {
                println!("{text}");
            }
            if report.changed {
                println!("Restored snapshot {id}.");
                if let Some(b) = &report.backup {
                    println!("The state before the rollback was saved as {}; undo with: pftls rollback --to {}", b.id, b.id);
                }
            } else {
                println!("Nothing to change: the files already equal snapshot {id}.");
            }
            if let Some(r) = &report.reload {
                println!(
                    "Reload `{}`: {}",
                    r.command,
                    if r.ok { "ok" } else { "FAILED" }
                );
            }
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
        }
    }
    Ok(change_exit(ctx, report.changed))
}

#[derive(serde::Serialize)]
struct BackupList<'a, T: serde::Serialize> {
    backups: &'a [T],
}

#[derive(serde::Serialize)]
struct BackupShow<'a, T: serde::Serialize> {
    backup: &'a T,
    verified: bool,
    problem: Option<String>,
}

#[derive(serde::Serialize)]
struct Pruned<'a> {
    changed: bool,
    removed: &'a [String],
}

/// `pftls backups ...`.
pub fn backups(ctx: &Ctx, cmd: &BackupsCmd) -> CliResult<i32> {
    let store = SnapshotStore::new(&ctx.backup_dir).for_instance(&ctx.config_dir);
    match cmd {
        BackupsCmd::List { all } => {
            let list = if *all { store.list_all() } else { store.list() }.map_err(txn_error)?;
            match ctx.format {
                Format::Json => print_report(&BackupList { backups: &list }),
                Format::Text => {
                    if list.is_empty() {
                        println!("No snapshots in {}.", ctx.backup_dir.display());
                    }
                    for s in &list {
                        match &s.manifest {
                            Some(m) => println!(
                                "{:<20} {:<8} {:<25} {:<20} {}",
                                s.id,
                                m.action.to_string(),
                                m.created,
                                m.config_dir.display(),
                                if m.policies.is_empty() {
                                    "-".to_string()
                                } else {
                                    m.policies.join(",")
                                }
                            ),
                            None => println!(
                                "{:<20} INCOMPLETE {}",
                                s.id,
                                s.problem.clone().unwrap_or_default()
                            ),
                        }
                    }
                }
            }
        }
        BackupsCmd::Show { id } => {
            let info = store.get(id).map_err(txn_error)?;
            let verified = store.verify(id);
            match ctx.format {
                Format::Json => print_report(&BackupShow {
                    backup: &info,
                    verified: verified.is_ok(),
                    problem: verified.as_ref().err().map(|e| e.to_string()),
                }),
                Format::Text => {
                    println!("Snapshot {} at {}", info.id, info.path.display());
                    if let Some(m) = &info.manifest {
                        println!("  created   {}\n  host      {}\n  action    {}\n  policies  {}\n  config    {}", m.created, m.host, m.action, m.policies.join(", "), m.config_dir.display());
                        for f in &m.files {
                            println!(
                                "  {:<10} {} bytes  mode {:o}  uid {} gid {}  sha256 {}",
                                f.name, f.size, f.mode, f.uid, f.gid, f.sha256
                            );
                        }
                    }
                    match &verified {
                        Ok(()) => println!("  checksums OK"),
                        Err(e) => println!("  CORRUPT: {e}"),
                    }
                }
            }
            if verified.is_err() {
                return Ok(1);
            }
        }
        BackupsCmd::Prune { keep } => {
            let removed = store.prune(*keep).map_err(txn_error)?;
            match ctx.format {
                Format::Json => print_report(&Pruned {
                    changed: !removed.is_empty(),
                    removed: &removed,
                }),
                Format::Text => {
                    if removed.is_empty() {
                        println!("Nothing to prune.");
                    }
                    for id in &removed {
                        println!("removed {id}");
                    }
                }
            }
        }
    }
    Ok(0)
}
