//! `pftls rollback` and `pftls backups list|show|prune`.

use pftls_txn::{Action, DriftFile, SnapshotStore, TxnError};

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
                "no snapshot taken by apply of {} in {}: nothing to roll back{}",
                store
                    .instance()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                store.dir().display(),
                other_instances_hint(store)
            ),
        )),
    }
}

/// " (it holds snapshots of A, B: use -c DIR)" when the backup dir serves other instances.
fn other_instances_hint(store: &SnapshotStore) -> String {
    let mut dirs: Vec<String> = Vec::new();
    for i in SnapshotStore::new(store.dir())
        .list_all()
        .unwrap_or_default()
    {
        if let Some(d) = i.config_dir() {
            let d = d.display().to_string();
            if Some(d.as_str()) != store.instance().and_then(|p| p.to_str()) && !dirs.contains(&d) {
                dirs.push(d);
            }
        }
    }
    if dirs.is_empty() {
        String::new()
    } else {
        format!(
            " (it holds snapshots of {}: select one with -c DIR)",
            dirs.join(", ")
        )
    }
}

/// This run's store: the backup directory restricted to the instance of -c.
pub fn instance_store(ctx: &Ctx) -> SnapshotStore {
    SnapshotStore::new(&ctx.backup_dir).for_instance(&ctx.config_dir)
}

/// Unified diffs of what a rollback would discard (what apply wrote -> what is there now).
fn drift_diff(files: &[DriftFile]) -> String {
    files
        .iter()
        .map(|f| {
            let path = f.path.display().to_string();
            crate::output::labeled_diff(
                &format!("{path} (as pftls wrote it)"),
                &format!("{path} (now)"),
                &f.applied,
                f.current.as_deref().unwrap_or_default(),
            )
        })
        .collect()
}

/// One file edited since the apply a rollback would undo: the drift record and its diff.
#[derive(serde::Serialize)]
struct DriftRow<'a> {
    #[serde(flatten)]
    file: &'a DriftFile,
    diff: String,
}

fn drift_rows(files: &[DriftFile]) -> Vec<DriftRow<'_>> {
    files
        .iter()
        .map(|f| DriftRow {
            file: f,
            diff: drift_diff(std::slice::from_ref(f)),
        })
        .collect()
}

/// `rollback --format json` when it refuses to discard later edits.
#[derive(serde::Serialize)]
struct DriftRefusal<'a> {
    changed: bool,
    dry_run: bool,
    to: &'a str,
    drift: Vec<DriftRow<'a>>,
    error: CliError,
}

/// One file of `rollback --dry-run --format json`.
#[derive(serde::Serialize)]
struct PreviewFile<'a> {
    path: String,
    changed: bool,
    diff: String,
    /// null when the file does not exist now.
    before_sha256: Option<&'a str>,
    after_sha256: &'a str,
}

/// `rollback --dry-run --format json`.
#[derive(serde::Serialize)]
struct RollbackPreview<'a> {
    apply_command: Option<String>,
    changed: bool,
    dry_run: bool,
    to: &'a str,
    files: Vec<PreviewFile<'a>>,
}

/// `rollback --if-drop --format json` when the change stays.
#[derive(serde::Serialize)]
struct KeptReport<'a> {
    changed: bool,
    dry_run: bool,
    to: &'a str,
    guard: &'a serde_json::Value,
}

/// `rollback --format json`: the restore report plus what was restored, how to undo it and
/// whether it is active.
#[derive(serde::Serialize)]
struct RestoreReport<'a> {
    #[serde(flatten)]
    report: &'a pftls_txn::CommitReport,
    dry_run: bool,
    to: &'a str,
    undo: Option<String>,
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    activate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    guard: Option<&'a serde_json::Value>,
}

/// `backups list --format json`.
#[derive(serde::Serialize)]
struct BackupList<'a, T: serde::Serialize> {
    backup_dir: &'a std::path::Path,
    config_dir: Option<&'a str>,
    backups: &'a [T],
}

/// `backups show --format json`.
#[derive(serde::Serialize)]
struct BackupShow<'a, T: serde::Serialize> {
    backup: &'a T,
    verified: bool,
    problem: Option<String>,
}

/// `backups prune --format json`.
#[derive(serde::Serialize)]
struct Pruned<'a> {
    changed: bool,
    removed: &'a [String],
}

/// Reports a drift refusal (text: the message and the diff; JSON: one object) and exits 1.
fn refuse_drift(ctx: &Ctx, id: &str, files: &[DriftFile], dry_run: bool) -> i32 {
    let message = TxnError::Drift {
        id: id.to_string(),
        files: files.to_vec(),
    }
    .to_string();
    match ctx.format {
        Format::Json => print_report(&DriftRefusal {
            changed: false,
            dry_run,
            to: id,
            drift: drift_rows(files),
            error: CliError::new("drift", message),
        }),
        Format::Text => {
            println!("Edits made after snapshot {id}'s apply, which a rollback would discard:");
            let d = drift_diff(files);
            print!("{}", if ctx.color { colorize_diff(&d) } else { d });
            eprintln!("pftls: error: {message}");
        }
    }
    crate::error::EXIT_ERROR
}

/// `pftls rollback`.
pub fn run(ctx: &Ctx, args: &RollbackArgs) -> CliResult<i32> {
    let store = instance_store(ctx);
    if args.dry_run {
        let id = match &args.to {
            Some(id) => id.clone(),
            None => default_target(&store)?,
        };
        store.verify(&id).map_err(txn_error)?;
        let preview =
            pftls_txn::preview_restore(&store, &id, &ctx.config_dir).map_err(txn_error)?;
        let drift = store.drift(&id, &ctx.config_dir).map_err(txn_error)?;
        if !drift.is_empty() && !args.force {
            return Ok(refuse_drift(ctx, &id, &drift, true));
        }
        let changed = preview.iter().any(|p| p.changed);
        // The exact command that restores what this dry run showed: pinned to the snapshot,
        // so that a later apply does not change what it restores.
        let next = changed
            .then(|| crate::output::apply_command(&ctx.invocation, "rollback"))
            .flatten()
            .map(|c| match &args.to {
                Some(_) => c,
                None => format!("{c} --to {}", crate::output::shell_quote(&id)),
            });
        match ctx.format {
            Format::Json => print_report(&RollbackPreview {
                apply_command: next.clone(),
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
            }),
            Format::Text => {
                println!(
                    "{} would restore snapshot {id}",
                    bold("pftls rollback dry run:", ctx.color)
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
                println!(
                    "{}",
                    if changed {
                        "Dry run: nothing was written."
                    } else {
                        "Nothing to change: the files already equal the snapshot."
                    }
                );
                if let Some(cmd) = &next {
                    println!("Roll back with: {cmd}");
                }
            }
        }
        return Ok(change_exit(ctx, changed));
    }

    let lock = pftls_txn::lock_config_dir(&ctx.config_dir, args.write.lock_timeout())
        .map_err(txn_error)?;
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
    let reload = crate::instances::reload_plan(ctx, &args.write);
    let result = pftls_txn::restore_with(
        &lock,
        &store,
        &id,
        &ctx.config_dir,
        &pftls_txn::RestoreOptions {
            reload: reload.argv(),
            keep: args.write.keep(),
            force: args.force,
        },
    );
    let report = match result {
        Err(TxnError::Drift { id, files }) => return Ok(refuse_drift(ctx, &id, &files, false)),
        // A failed reload says whether Postfix is running at all (the master may have died
        // between the check above and the reload).
        r => r.map_err(|e| crate::cmd::apply::txn_error_in(ctx, e))?,
    };
    let not_active = match (&reload, report.changed) {
        (_, false) | (crate::instances::ReloadPlan::Run(_), _) => None,
        (crate::instances::ReloadPlan::None, true) => Some((
            format!(
                "Not active yet: the running Postfix keeps the current settings until it reloads: {}",
                crate::instances::reload_hint(ctx, &args.write)
            ),
            crate::instances::reload_hint(ctx, &args.write),
        )),
        (crate::instances::ReloadPlan::NotRunning { reason, start }, true) => Some((
            format!(
                "Postfix is not running for {} ({reason}): nothing was reloaded; the restored files take effect when it starts: {start}",
                ctx.config_dir.display()
            ),
            start.clone(),
        )),
    };
    let undo = report.backup.as_ref().map(|b| {
        format!(
            "pftls {} rollback --to {}{}",
            crate::instances::selection_args(ctx),
            b.id,
            crate::instances::reload_args(&args.write)
        )
    });
    match ctx.format {
        Format::Json => print_report(&RestoreReport {
            report: &report,
            dry_run: false,
            to: &id,
            undo: undo.clone(),
            active: not_active.is_none(),
            activate: not_active.as_ref().map(|(_, cmd)| cmd.clone()),
            guard: evidence.as_ref().map(|(json, _)| json),
        }),
        Format::Text => {
            if let Some((_, text)) = &evidence {
                println!("{text}");
            }
            if report.changed {
                println!("Restored snapshot {id}.");
                if let (Some(b), Some(u)) = (&report.backup, &undo) {
                    println!(
                        "The state before the rollback was saved as {}; undo with: {u}",
                        b.id
                    );
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
            if let Some((n, _)) = &not_active {
                println!("{n}");
            }
        }
    }
    Ok(change_exit(ctx, report.changed))
}

/// `pftls backups ...`.
pub fn backups(ctx: &Ctx, cmd: &BackupsCmd) -> CliResult<i32> {
    let store = instance_store(ctx);
    match cmd {
        BackupsCmd::List { all } => {
            let list = if *all { store.list_all() } else { store.list() }.map_err(txn_error)?;
            let scope = if *all {
                "every instance".to_string()
            } else {
                crate::instances::canonical(&ctx.config_dir)
                    .display()
                    .to_string()
            };
            match ctx.format {
                Format::Json => print_report(&BackupList {
                    backup_dir: &ctx.backup_dir,
                    config_dir: (!*all).then_some(scope.as_str()),
                    backups: &list,
                }),
                // -q: the ids alone, one per line (what shell completion reads).
                Format::Text if ctx.quiet => {
                    for s in list.iter().filter(|s| s.manifest.is_some()) {
                        println!("{}", s.id);
                    }
                }
                Format::Text => {
                    if list.is_empty() {
                        println!(
                            "No snapshots of {scope} in {}.{}",
                            ctx.backup_dir.display(),
                            if *all {
                                String::new()
                            } else {
                                other_instances_hint(&store)
                            }
                        );
                    }
                    for s in &list {
                        match &s.manifest {
                            Some(m) => println!(
                                "{:<20} {:<8} {:<25} {:<24} {}",
                                s.id,
                                m.action.to_string(),
                                m.created,
                                match &m.instance {
                                    Some(n) => format!("{} ({n})", m.config_dir.display()),
                                    None => m.config_dir.display().to_string(),
                                },
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
            if let (Some(theirs), Some(here)) = (info.config_dir(), store.instance()) {
                if crate::instances::canonical(theirs) != here {
                    return Err(txn_error(TxnError::OtherInstance {
                        id: id.clone(),
                        snapshot_dir: theirs.to_path_buf(),
                        config_dir: here.to_path_buf(),
                    }));
                }
            }
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
                        if let Some(n) = &m.instance {
                            println!("  instance  {n}");
                        }
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
