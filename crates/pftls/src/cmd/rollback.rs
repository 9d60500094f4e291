//! `pftls rollback` and `pftls backups list|show|prune`.

use pftls_txn::{Action, SnapshotStore};

use crate::cli::{BackupsCmd, Format, RollbackArgs};
use crate::cmd::apply::{change_exit, txn_error};
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::output::{bold, colorize_diff, print_json, unified_diff};

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

/// `pftls rollback`.
pub fn run(ctx: &Ctx, args: &RollbackArgs) -> CliResult<i32> {
    let store = SnapshotStore::new(&ctx.backup_dir);
    if args.dry_run {
        let id = match &args.to {
            Some(id) => id.clone(),
            None => default_target(&store)?,
        };
        store.verify(&id).map_err(txn_error)?;
        let preview =
            pftls_txn::preview_restore(&store, &id, &ctx.config_dir).map_err(txn_error)?;
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
            Format::Json => print_json(&serde_json::json!({
                "apply_command": next,
                "changed": changed,
                "dry_run": true,
                "to": id,
                "files": preview.iter().map(|p| {
                    let path = p.path.display().to_string();
                    serde_json::json!({
                        "path": path, "changed": p.changed,
                        "diff": unified_diff(&path, p.current.as_deref().unwrap_or_default(), &p.snapshot),
                        "before_sha256": p.current_sha256, "after_sha256": p.snapshot_sha256,
                    })
                }).collect::<Vec<_>>(),
            })),
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
                    Format::Json => print_json(&serde_json::json!({
                        "changed": false, "dry_run": false, "to": id, "guard": json,
                    })),
                    Format::Text => println!("{text}\nNo rollback: the change stays."),
                }
                return Ok(0);
            }
            Some((json, text))
        }
        None => None,
    };
    let reload_argv = args.write.reload_argv();
    let report = pftls_txn::restore(
        &lock,
        &store,
        &id,
        &ctx.config_dir,
        reload_argv.as_deref(),
        args.write.keep,
    )
    .map_err(txn_error)?;
    match ctx.format {
        Format::Json => {
            let mut v = serde_json::to_value(&report).unwrap_or_default();
            v["dry_run"] = serde_json::json!(false);
            v["to"] = serde_json::json!(id);
            if let Some((json, _)) = &evidence {
                v["guard"] = json.clone();
            }
            print_json(&v);
        }
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

/// `pftls backups ...`.
pub fn backups(ctx: &Ctx, cmd: &BackupsCmd) -> CliResult<i32> {
    let store = SnapshotStore::new(&ctx.backup_dir);
    match cmd {
        BackupsCmd::List => {
            let list = store.list().map_err(txn_error)?;
            match ctx.format {
                Format::Json => print_json(&serde_json::json!({ "backups": list })),
                // -q: the ids alone, one per line (what shell completion reads).
                Format::Text if ctx.quiet => {
                    for s in list.iter().filter(|s| s.manifest.is_some()) {
                        println!("{}", s.id);
                    }
                }
                Format::Text => {
                    if list.is_empty() {
                        println!("No snapshots in {}.", ctx.backup_dir.display());
                    }
                    for s in &list {
                        match &s.manifest {
                            Some(m) => println!(
                                "{:<20} {:<8} {:<25} {}",
                                s.id,
                                m.action.to_string(),
                                m.created,
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
                Format::Json => print_json(&serde_json::json!({
                    "backup": info,
                    "verified": verified.is_ok(),
                    "problem": verified.as_ref().err().map(|e| e.to_string()),
                })),
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
                Format::Json => print_json(
                    &serde_json::json!({ "changed": !removed.is_empty(), "removed": removed }),
                ),
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
