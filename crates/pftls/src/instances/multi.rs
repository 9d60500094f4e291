//! `--all-instances`: one pftls run per postmulti instance, grouped.
//!
//! Each instance is handled by a child `pftls -c DIR ...` (the same binary), so every
//! instance gets its own lock, transaction, snapshot and reload exactly as a single-instance
//! run would, and its output is captured whole for grouping (text under a header per
//! instance, JSON as `{"instances": [{config_dir, name, exit, result}]}`).
//!
//! Writes are two-phase: `apply` first plans every instance into a saved plan (nothing is
//! written when any instance fails to plan), then applies those plans in order; `rollback`
//! first previews every instance (drift, corrupt or missing snapshots stop the run before
//! anything is written). When an instance fails in the second phase, the instances already
//! changed are rolled back (with reload when the run reloads), and the report says which
//! instance changed and, if undoing failed, the exact command that undoes it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command as Proc, Stdio};

use pftls_txn::{Action, SnapshotStore};
use serde::Serialize;

use crate::cli::{ApplyArgs, Command, Format, Global, RollbackArgs, WriteArgs};
use crate::context::Ctx;
use crate::error::{CliError, CliResult, EXIT_ERROR, EXIT_USAGE};
use crate::instances::{all_instances, shell_word, Instance};
use crate::output::bold;

/// One instance's part of the run.
#[derive(Debug, Serialize)]
struct Part {
    config_dir: PathBuf,
    name: Option<String>,
    /// Which step this is (`plan`, `apply`, `rollback`, `undo`, ...).
    step: &'static str,
    exit: i32,
    /// The child's JSON object (JSON format), or null.
    result: serde_json::Value,
    #[serde(skip)]
    stdout: String,
    #[serde(skip)]
    stderr: String,
}

fn usage(msg: impl Into<String>) -> CliError {
    let mut e = CliError::new("usage", msg);
    e.exit = EXIT_USAGE;
    e
}

/// Global options for a child, selecting `dir`.
fn global_args(g: &Global, ctx: &Ctx, dir: &Path, format: Format) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec![
        "-c".into(),
        dir.into(),
        "--backup-dir".into(),
        g.backup_dir.clone().into(),
        "--crypto-policies-dir".into(),
        g.crypto_policies_dir.clone().into(),
        "--format".into(),
        match format {
            Format::Json => "json".into(),
            Format::Text => "text".into(),
        },
        "--color".into(),
        if ctx.color { "always" } else { "never" }.into(),
    ];
    for p in &g.policy_dirs {
        a.push("--policy-dir".into());
        a.push(p.clone().into());
    }
    if let Some(v) = &g.postfix_version {
        a.push("--postfix-version".into());
        a.push(v.into());
    }
    if g.detailed_exitcode {
        a.push("--detailed-exitcode".into());
    }
    if g.quiet {
        a.push("--quiet".into());
    }
    if g.verbose {
        a.push("--verbose".into());
    }
    a
}

/// The command line as given, without `--all-instances` and any `-c`/`--config-dir`: for
/// the read-only commands, which are replayed as is per instance.
fn replay_args() -> Vec<OsString> {
    let mut out = Vec::new();
    let mut it = std::env::args_os().skip(1);
    while let Some(a) = it.next() {
        let s = a.to_string_lossy();
        if s == "--all-instances" {
            continue;
        }
        if s == "-c" || s == "--config-dir" {
            it.next();
            continue;
        }
        if s.starts_with("--config-dir=") || (s.starts_with("-c") && !s.starts_with("--")) {
            continue;
        }
        out.push(a);
    }
    out
}

/// Runs `pftls ARGS` and captures it.
fn child(inst: &Instance, step: &'static str, args: &[OsString]) -> CliResult<Part> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::new("environment", format!("cannot find pftls itself: {e}")))?;
    let out = Proc::new(exe)
        .args(args)
        .env_remove("PFTLS_CONFIG_DIR")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| CliError::new("environment", format!("cannot run pftls: {e}")))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Ok(Part {
        config_dir: inst.config_dir.clone(),
        name: inst.name.clone(),
        step,
        exit: out.status.code().unwrap_or(EXIT_ERROR),
        result: serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null),
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

fn ok(code: i32) -> bool {
    code == 0 || code == 2
}

/// `--all-instances --format json`: one object, the instances' own reports grouped.
#[derive(serde::Serialize)]
struct GroupedReport<'a> {
    changed: bool,
    instances: &'a [Part],
    summary: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a CliError>,
}

/// Prints the grouped parts; `summary` lines close the text output.
fn print_parts(
    ctx: &Ctx,
    parts: &[Part],
    summary: &[String],
    error: Option<&CliError>,
    changed: bool,
) {
    match ctx.format {
        Format::Json => crate::output::print_report(&GroupedReport {
            changed,
            instances: parts,
            summary,
            error,
        }),
        Format::Text => {
            for p in parts {
                let label = match &p.name {
                    Some(n) => format!("{n} ({})", p.config_dir.display()),
                    None => p.config_dir.display().to_string(),
                };
                println!(
                    "{}",
                    bold(&format!("== instance {label}: {} ==", p.step), ctx.color)
                );
                print!("{}", p.stdout);
                eprint!("{}", p.stderr);
            }
            for s in summary {
                println!("{s}");
            }
            if let Some(e) = error {
                eprintln!("pftls: error: {e}");
            }
        }
    }
}

/// Exit code of a read-only run: 1 when any instance failed, else the highest.
fn combined(parts: &[Part]) -> i32 {
    if parts.iter().any(|p| !ok(p.exit) && p.exit != 3) {
        parts
            .iter()
            .map(|p| p.exit)
            .find(|c| !ok(*c) && *c != 3)
            .unwrap_or(EXIT_ERROR)
    } else {
        parts.iter().map(|p| p.exit).max().unwrap_or(0)
    }
}

/// `--all-instances` for `command`.
pub fn run(ctx: &Ctx, g: &Global, command: &Command) -> CliResult<i32> {
    let instances = all_instances(ctx, &ctx.config_dir)?;
    match command {
        Command::Show(_) => read_only(ctx, &instances, "show"),
        Command::Doctor(_) => read_only(ctx, &instances, "doctor"),
        Command::Plan(a) => {
            if a.out.is_some() {
                return Err(usage(
                    "plan --out saves one instance's plan: use -c DIR without --all-instances",
                ));
            }
            read_only(ctx, &instances, "plan")
        }
        Command::Apply(a) => apply(ctx, g, &instances, a),
        Command::Rollback(a) => rollback(ctx, g, &instances, a),
        _ => Err(usage(
            "--all-instances works with show, doctor, plan, apply and rollback",
        )),
    }
}

fn read_only(ctx: &Ctx, instances: &[Instance], step: &'static str) -> CliResult<i32> {
    let rest = replay_args();
    let mut parts = Vec::new();
    for inst in instances {
        let mut args = vec![OsString::from("-c"), inst.config_dir.clone().into()];
        if ctx.format == Format::Text {
            // The child's stdout is captured: colour only when this run colours.
            args.push("--color".into());
            args.push(if ctx.color { "always" } else { "never" }.into());
        }
        args.extend(rest.iter().cloned());
        parts.push(child(inst, step, &args)?);
    }
    let changed = parts.iter().any(|p| p.result["changed"] == true);
    print_parts(ctx, &parts, &[], None, changed);
    Ok(combined(&parts))
}

/// Reload, retention and lock options as given.
fn write_args(w: &WriteArgs) -> Vec<OsString> {
    let mut a: Vec<OsString> = Vec::new();
    if w.reload {
        a.push("--reload".into());
    }
    if let Some(c) = &w.reload_command {
        a.push("--reload-command".into());
        a.push(c.into());
    }
    if let Some(k) = w.keep {
        a.push("--keep".into());
        a.push(k.to_string().into());
    }
    a.push("--lock-timeout".into());
    a.push(w.lock_timeout.to_string().into());
    a
}

/// The newest snapshot of `inst` (of `action`), by id.
fn latest(ctx: &Ctx, inst: &Instance, action: Option<Action>) -> Option<String> {
    SnapshotStore::new(&ctx.backup_dir)
        .for_instance(&inst.config_dir)
        .latest(action)
        .ok()
        .flatten()
        .map(|s| s.id)
}

/// `pftls -c DIR --backup-dir B rollback --to ID [--reload]`, for the report.
fn undo_command(ctx: &Ctx, inst: &Instance, id: &str, w: &WriteArgs) -> String {
    format!(
        "pftls -c {} --backup-dir {} rollback --to {id}{}",
        shell_word(&inst.config_dir),
        shell_word(&crate::instances::canonical(&ctx.backup_dir)),
        crate::instances::reload_args(w)
    )
}

/// Undo the instances changed so far (newest first): `rollback --to ID --force`.
fn undo_done(
    ctx: &Ctx,
    g: &Global,
    done: &[(Instance, String)],
    w: &WriteArgs,
    parts: &mut Vec<Part>,
    summary: &mut Vec<String>,
) -> CliResult<bool> {
    let mut all_undone = true;
    for (inst, id) in done.iter().rev() {
        let mut args = global_args(g, ctx, &inst.config_dir, ctx.format);
        args.extend(["rollback", "--to", id, "--force"].map(OsString::from));
        args.extend(write_args(w));
        let p = child(inst, "undo", &args)?;
        if ok(p.exit) {
            summary.push(format!(
                "{}: changed by this run, then restored from snapshot {id}",
                inst.label()
            ));
        } else {
            all_undone = false;
            summary.push(format!(
                "{}: CHANGED by this run and could not be restored; undo with: {}",
                inst.label(),
                undo_command(ctx, inst, id, w)
            ));
        }
        parts.push(p);
    }
    Ok(all_undone)
}

fn apply(ctx: &Ctx, g: &Global, instances: &[Instance], a: &ApplyArgs) -> CliResult<i32> {
    if a.plan.is_some() {
        return Err(usage(
            "apply --plan FILE is one instance's plan: use -c DIR without --all-instances",
        ));
    }
    if a.guard.guard.is_some() {
        return Err(usage(
            "--guard follows one mail log: use it per instance (-c DIR)",
        ));
    }
    if a.policy.policies.is_empty() {
        return Err(usage("apply needs -p POLICY"));
    }
    if a.dry_run {
        return read_only(ctx, instances, "apply --dry-run");
    }
    // Phase 1: a saved plan per instance; nothing is written when one fails.
    let tmp = tempfile::Builder::new()
        .prefix("pftls-plans-")
        .tempdir()
        .map_err(|e| CliError::new("io", format!("cannot create a temporary directory: {e}")))?;
    let mut parts = Vec::new();
    let mut plans = Vec::new();
    for (i, inst) in instances.iter().enumerate() {
        let file = tmp.path().join(format!("{i}.json"));
        let mut args = global_args(g, ctx, &inst.config_dir, Format::Json);
        args.push("plan".into());
        for p in &a.policy.policies {
            args.push("-p".into());
            args.push(p.into());
        }
        args.push("--no-impact".into());
        args.push("--out".into());
        args.push(file.clone().into());
        let p = child(inst, "plan", &args)?;
        if !ok(p.exit) {
            let e = CliError::new(
                "plan",
                format!(
                    "planning {} failed: {}; no instance was changed",
                    inst.label(),
                    p.result["error"]["message"]
                        .as_str()
                        .unwrap_or(p.stderr.trim())
                ),
            );
            parts.push(p);
            print_parts(ctx, &parts, &[], Some(&e), false);
            return Ok(EXIT_ERROR);
        }
        parts.push(p);
        plans.push(file);
    }
    // Phase 2: apply each plan; on a failure, undo the instances already changed.
    let mut parts = Vec::new();
    let mut done: Vec<(Instance, String)> = Vec::new();
    let mut summary = Vec::new();
    for (inst, file) in instances.iter().zip(&plans) {
        let before = latest(ctx, inst, Some(Action::Apply));
        let mut args = global_args(g, ctx, &inst.config_dir, ctx.format);
        args.push("apply".into());
        args.push("--plan".into());
        args.push(file.clone().into());
        if a.policy.no_impact {
            args.push("--no-impact".into());
        }
        args.extend(write_args(&a.write));
        if a.verify {
            args.push("--verify".into());
            args.push("--verify-timeout".into());
            args.push(a.verify_timeout.to_string().into());
        }
        let p = child(inst, "apply", &args)?;
        let after = latest(ctx, inst, Some(Action::Apply));
        let failed = !ok(p.exit);
        let exit = p.exit;
        parts.push(p);
        if failed {
            summary.push(format!(
                "{}: apply FAILED (exit {exit}); see its report above",
                inst.label()
            ));
            let undone = undo_done(ctx, g, &done, &a.write, &mut parts, &mut summary)?;
            for rest in instances.iter().skip(done.len() + 1) {
                summary.push(format!("{}: not attempted, unchanged", rest.label()));
            }
            let e = CliError::new(
                "instance",
                format!(
                    "apply failed in {}; {}",
                    inst.label(),
                    if done.is_empty() {
                        "no other instance had been changed".to_string()
                    } else if undone {
                        "the instances changed before it were restored".to_string()
                    } else {
                        "some instances could NOT be restored: see the undo commands above"
                            .to_string()
                    }
                ),
            );
            print_parts(ctx, &parts, &summary, Some(&e), !undone);
            return Ok(EXIT_ERROR);
        }
        match after.filter(|id| Some(id) != before.as_ref()) {
            Some(id) => {
                summary.push(format!(
                    "{}: changed (snapshot {id}); undo with: {}",
                    inst.label(),
                    undo_command(ctx, inst, &id, &a.write)
                ));
                done.push((inst.clone(), id));
            }
            None => summary.push(format!("{}: nothing to change", inst.label())),
        }
    }
    let changed = !done.is_empty();
    print_parts(ctx, &parts, &summary, None, changed);
    Ok(if g.detailed_exitcode && changed { 2 } else { 0 })
}

fn rollback(ctx: &Ctx, g: &Global, instances: &[Instance], a: &RollbackArgs) -> CliResult<i32> {
    if a.to.is_some() {
        return Err(usage(
            "--to names one instance's snapshot: use -c DIR without --all-instances",
        ));
    }
    if a.if_drop.is_some() {
        return Err(usage(
            "--if-drop reads one mail log: use it per instance (-c DIR)",
        ));
    }
    // Phase 1: every instance's target, previewed (drift, corrupt snapshot): nothing is
    // written when one would be refused.
    let mut parts = Vec::new();
    let mut targets = Vec::new();
    let mut summary = Vec::new();
    for inst in instances {
        let Some(id) = latest(ctx, inst, Some(Action::Apply)) else {
            summary.push(format!(
                "{}: no snapshot taken by apply: left alone",
                inst.label()
            ));
            continue;
        };
        let mut args = global_args(g, ctx, &inst.config_dir, ctx.format);
        args.extend(["rollback", "--dry-run", "--to", &id].map(OsString::from));
        if a.force {
            args.push("--force".into());
        }
        let p = child(inst, "rollback --dry-run", &args)?;
        let failed = !ok(p.exit);
        parts.push(p);
        if failed {
            let e = CliError::new(
                "instance",
                format!(
                    "rollback of {} would be refused; no instance was changed",
                    inst.label()
                ),
            );
            print_parts(ctx, &parts, &summary, Some(&e), false);
            return Ok(EXIT_ERROR);
        }
        targets.push((inst.clone(), id));
    }
    if a.dry_run {
        let changed = parts.iter().any(|p| p.result["changed"] == true);
        print_parts(ctx, &parts, &summary, None, changed);
        return Ok(if g.detailed_exitcode && changed { 2 } else { 0 });
    }
    let mut parts = Vec::new();
    let mut done: Vec<(Instance, String)> = Vec::new();
    for (k, (inst, id)) in targets.iter().enumerate() {
        let before = latest(ctx, inst, Some(Action::Rollback));
        let mut args = global_args(g, ctx, &inst.config_dir, ctx.format);
        args.extend(["rollback", "--to", id].map(OsString::from));
        if a.force {
            args.push("--force".into());
        }
        args.extend(write_args(&a.write));
        let p = child(inst, "rollback", &args)?;
        let after = latest(ctx, inst, Some(Action::Rollback));
        let failed = !ok(p.exit);
        parts.push(p);
        if failed {
            summary.push(format!(
                "{}: rollback FAILED; see its report above",
                inst.label()
            ));
            let undone = undo_done(ctx, g, &done, &a.write, &mut parts, &mut summary)?;
            for (rest, _) in targets.iter().skip(k + 1) {
                summary.push(format!("{}: not attempted, unchanged", rest.label()));
            }
            let e = CliError::new(
                "instance",
                format!(
                    "rollback failed in {}; {}",
                    inst.label(),
                    if done.is_empty() || undone {
                        "the other instances are as they were before this run"
                    } else {
                        "some instances could NOT be put back: see the undo commands above"
                    }
                ),
            );
            print_parts(ctx, &parts, &summary, Some(&e), !undone);
            return Ok(EXIT_ERROR);
        }
        match after.filter(|x| Some(x) != before.as_ref()) {
            Some(undo_id) => {
                summary.push(format!(
                    "{}: restored snapshot {id}; undo with: {}",
                    inst.label(),
                    undo_command(ctx, inst, &undo_id, &a.write)
                ));
                done.push((inst.clone(), undo_id));
            }
            None => summary.push(format!("{}: already equal to snapshot {id}", inst.label())),
        }
    }
    let changed = !done.is_empty();
    print_parts(ctx, &parts, &summary, None, changed);
    Ok(if g.detailed_exitcode && changed { 2 } else { 0 })
}
