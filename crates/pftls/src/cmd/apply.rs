//! `pftls plan` and `pftls apply` (also `--dry-run` and `--plan FILE`): one [`Plan`] behind all.

use pftls_policy::{Plan, PlanError, Policy};
use pftls_txn::{Expected, FileChange, SnapshotMeta, SnapshotStore};
use std::path::Path;

use crate::cli::{ApplyArgs, Format, PlanArgs};
use crate::context::{ConfigFiles, Ctx};
use crate::error::{CliError, CliResult};
use crate::output::{
    bold, colorize_diff, first_sentence, or_unset, print_json, severity, unified_diff,
};
use crate::saved_plan::SavedPlan;
use crate::validate::validate_candidate;

/// Everything the output needs about one planning run.
pub struct Planned {
    /// The plan.
    pub plan: Plan,
    /// The files it was made from.
    pub files: ConfigFiles,
    /// Notes about the environment.
    pub notes: Vec<String>,
    /// crypto-policy description.
    pub crypto_source: String,
    /// Target version.
    pub version: String,
    /// Findings of the planned configuration.
    pub findings: Vec<pftls_doctor::Finding>,
    /// Findings of the current configuration that the plan fixes.
    pub fixed: Vec<pftls_doctor::Finding>,
    /// Findings the plan introduces.
    pub introduced: Vec<pftls_doctor::Finding>,
    /// Handshake impact per inbound service and client profile, before and after.
    pub impact: Option<crate::cmd::simulate::Impact>,
}

/// Runs doctor on the current and the planned documents and simulates the handshakes of both,
/// so that the plan can say which findings it fixes and introduces and who gets locked out.
/// Skipped entirely when `simulate` is false (`--no-impact`).
pub fn annotate(ctx: &Ctx, planned: &mut Planned, simulate: bool) -> CliResult<()> {
    if !simulate {
        // --no-impact: the diff and parameters only (the fast path for fleets).
        return Ok(());
    }
    let (env, baseline, _) = ctx.environment()?;
    let profiles = pftls_tls::builtin_profiles();
    let run = |main: &[u8], master: &[u8]| -> CliResult<Vec<pftls_doctor::Finding>> {
        let main =
            pftls_policy::plan::parse_main(main).map_err(|e| plan_error(e, &planned.files))?;
        let master =
            pftls_policy::plan::parse_master(master).map_err(|e| plan_error(e, &planned.files))?;
        Ok(pftls_doctor::diagnose(&pftls_doctor::DoctorInput {
            main: &main,
            master: &master,
            catalogue: &env.catalogue,
            version: env.version,
            baseline: &baseline,
            profiles: &profiles,
            options: pftls_doctor::DoctorOptions::default(),
        }))
    };
    let before = run(&planned.plan.main_before, &planned.plan.master_before)?;
    let after = run(&planned.plan.main_after, &planned.plan.master_after)?;
    let (fixed, introduced) = pftls_doctor::diff_findings(&before, &after);
    let imp = crate::cmd::simulate::impact(&planned.plan, &env, &baseline, &profiles)?;
    planned.notes.extend(imp.notes.iter().cloned());
    planned.impact = Some(imp);
    planned.findings = after;
    planned.fixed = fixed;
    planned.introduced = introduced;
    Ok(())
}

/// Loads the policies named by `-p`.
pub fn load_policies(ctx: &Ctx, specs: &[String]) -> CliResult<Vec<Policy>> {
    if specs.is_empty() {
        let mut e = CliError::new(
            "usage",
            "no policy given: use -p NAME (see `pftls policies list`)",
        );
        e.exit = crate::error::EXIT_USAGE;
        return Err(e);
    }
    let search = ctx.policy_search();
    specs
        .iter()
        .map(|s| search.load(s).map_err(|e| policy_load_error(&search, e)))
        .collect()
}

/// Maps a policy that cannot be loaded to the user's report; a name that is not found gets a
/// did-you-mean from the names the search knows.
pub fn policy_load_error(
    search: &pftls_policy::PolicySearch,
    e: pftls_policy::policy::LoadError,
) -> CliError {
    use pftls_policy::policy::LoadError;
    match e {
        LoadError::Invalid(errs) => policy_errors(&errs),
        LoadError::NotFound { ref name, .. } => {
            let suggestions = search.suggest(name);
            let mut msg = e.to_string();
            if let Some(best) = suggestions.first() {
                msg = format!("{msg}; did you mean {best:?}?");
            }
            let mut err = CliError::new("policy", msg);
            err.suggestions = suggestions;
            err
        }
        other => CliError::new("policy", other.to_string()),
    }
}

fn policy_errors(errs: &pftls_policy::PolicyErrors) -> CliError {
    let mut e = CliError::new("policy", errs.to_string());
    if let Some(first) = errs.0.first() {
        e.file = Some(first.file.clone());
        e.line = Some(first.line);
    }
    e
}

/// Maps planner errors to the user's report.
pub fn plan_error(e: PlanError, files: &ConfigFiles) -> CliError {
    match e {
        PlanError::Parse {
            file,
            line,
            message,
        } => {
            let path = if file == "main.cf" {
                &files.main_path
            } else {
                &files.master_path
            };
            CliError::new("config", format!("{}:{line}: {message}", path.display()))
                .at(path.display().to_string(), Some(line))
        }
        PlanError::Policy(errs) => policy_errors(&errs),
        other => CliError::new("plan", other.to_string()),
    }
}

/// Reads the config and plans the given policies.
pub fn plan_policies(ctx: &Ctx, specs: &[String]) -> CliResult<Planned> {
    let policies = load_policies(ctx, specs)?;
    plan_loaded(ctx, &policies)
}

/// Plans policies that are already in memory (loaded by `-p`, or built by `pftls set`).
pub fn plan_loaded(ctx: &Ctx, policies: &[Policy]) -> CliResult<Planned> {
    let host = ctx.host()?;
    let plan = host::plan::plan(host, policies).map_err(|e| plan_error(e, &host.files))?;
    Ok(Planned {
        plan,
        files: host.files.clone(),
        notes: host.notes.clone(),
        crypto_source: host.crypto.source.clone(),
        version: host.version.to_string(),
        findings: Vec::new(),
        fixed: Vec::new(),
        introduced: Vec::new(),
        impact: None,
    })
}

/// `pftls plan`.
pub fn run_plan(ctx: &Ctx, args: &PlanArgs) -> CliResult<i32> {
    let mut planned = plan_policies(ctx, &args.policy.policies)?;
    annotate(ctx, &mut planned, !args.policy.no_impact)?;
    if let Some(out) = &args.out {
        SavedPlan::from_plan(&planned, &ctx.config_dir).save(out)?;
    }
    report(ctx, &planned, true, None, args.out.as_deref())?;
    Ok(change_exit(ctx, planned.plan.changed()))
}

/// `pftls apply`.
pub fn run_apply(ctx: &Ctx, args: &ApplyArgs) -> CliResult<i32> {
    run_apply_with(ctx, args, None)
}

/// Plans what apply works on: the policies given in memory (`pftls set`), a saved plan, or `-p`.
fn planned_for(
    ctx: &Ctx,
    args: &ApplyArgs,
    inline: Option<&[Policy]>,
    dry_run: bool,
) -> CliResult<Planned> {
    match (inline, &args.plan) {
        (Some(policies), _) => plan_loaded(ctx, policies),
        (None, Some(path)) => SavedPlan::load(path)?.into_planned(ctx, dry_run),
        (None, None) => plan_policies(ctx, &args.policy.policies),
    }
}

/// The one apply path: `pftls apply`, and `pftls set` with its in-memory policy (`inline`).
pub fn run_apply_with(ctx: &Ctx, args: &ApplyArgs, inline: Option<&[Policy]>) -> CliResult<i32> {
    if inline.is_none() && args.plan.is_none() && args.policy.policies.is_empty() {
        let mut e = CliError::new("usage", "apply needs -p POLICY or --plan FILE");
        e.exit = crate::error::EXIT_USAGE;
        return Err(e);
    }
    // A bad --guard/--log must fail before anything is written.
    crate::guard::preflight(&args.guard)?;
    if args.dry_run {
        // Exactly what the real run would do, with no lock, no snapshot and no write.
        let mut planned = planned_for(ctx, args, inline, true)?;
        annotate(ctx, &mut planned, !args.policy.no_impact)?;
        report(ctx, &planned, true, None, None)?;
        return Ok(change_exit(ctx, planned.plan.changed()));
    }

    let lock = pftls_txn::lock_config_dir(&ctx.config_dir, args.write.lock_timeout())
        .map_err(txn_error)?;
    // Planned under the lock, so that concurrent runs serialise on fresh input.
    let planned = planned_for(ctx, args, inline, false)?;
    if !planned.plan.changed() {
        report(ctx, &planned, false, None, None)?;
        return Ok(0);
    }
    let validation_warnings = validate_candidate(&planned)?;
    let mut planned = planned;
    annotate(ctx, &mut planned, !args.policy.no_impact)?;
    let store = SnapshotStore::new(&ctx.backup_dir);
    let changes = vec![
        FileChange {
            name: "main.cf".into(),
            path: planned.files.main_path.clone(),
            new_contents: planned.plan.main_after.clone(),
            expected: Expected::planned_on(true, &planned.plan.main_before),
        },
        FileChange {
            name: "master.cf".into(),
            path: planned.files.master_path.clone(),
            new_contents: planned.plan.master_after.clone(),
            expected: Expected::planned_on(
                planned.files.master_exists,
                &planned.plan.master_before,
            ),
        },
    ];
    // master.cf that does not exist and stays empty is not created.
    let changes: Vec<FileChange> = changes
        .into_iter()
        .filter(|c| {
            c.name != "master.cf" || planned.files.master_exists || !c.new_contents.is_empty()
        })
        .collect();
    let meta = SnapshotMeta {
        action: pftls_txn::Action::Apply,
        policies: planned.plan.policies.clone(),
        config_dir: ctx.config_dir.clone(),
        pftls_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let reload_argv = args.write.reload_argv();
    let commit = pftls_txn::commit(
        &lock,
        &store,
        &changes,
        &meta,
        reload_argv.as_deref(),
        args.write.keep,
    )
    .map_err(txn_error)?;
    planned.notes.extend(validation_warnings);
    planned.notes.extend(commit.warnings.iter().cloned());
    let guard = match (&args.guard.guard, &commit.backup) {
        (Some(_), Some(b)) => Some(crate::guard::after_apply(
            ctx,
            &args.guard,
            &lock,
            &store,
            &b.id,
            reload_argv.as_deref(),
        )?),
        _ => None,
    };
    report_with_guard(ctx, &planned, &commit, guard.as_ref())?;
    match guard {
        Some(g) if g.rolled_back => Ok(crate::error::EXIT_ERROR),
        _ => Ok(change_exit(ctx, commit.changed)),
    }
}

/// Prints the apply report, then the guard's evidence when a guard ran.
fn report_with_guard(
    ctx: &Ctx,
    planned: &Planned,
    commit: &pftls_txn::CommitReport,
    guard: Option<&crate::guard::GuardOutcome>,
) -> CliResult<()> {
    match (ctx.format, guard) {
        (Format::Json, Some(g)) => {
            // One JSON object: the apply report with the guard's verdict inside.
            let mut v = report_json(planned, false, Some(commit), None);
            v["guard"] = g.json.clone();
            if g.rolled_back {
                v["rolled_back"] = serde_json::json!(true);
            }
            print_json(&v);
            Ok(())
        }
        (Format::Text, Some(g)) => {
            report(ctx, planned, false, Some(commit), None)?;
            println!("{}", g.text);
            Ok(())
        }
        (_, None) => report(ctx, planned, false, Some(commit), None),
    }
}

/// Exit code for a successful run: 2 with --detailed-exitcode when something (would) change.
pub fn change_exit(ctx: &Ctx, changed: bool) -> i32 {
    if ctx.detailed_exitcode && changed {
        2
    } else {
        0
    }
}

/// Maps transaction errors to the user's report.
pub fn txn_error(e: pftls_txn::TxnError) -> CliError {
    let mut c = CliError::new(e.kind(), e.to_string());
    if let Some(p) = e.path() {
        c.file = Some(p.display().to_string());
    }
    c
}

/// A file of the report: its path, the bytes before and the bytes after.
type FileEntry<'a> = (String, &'a [u8], &'a [u8]);

/// What both report forms show: per file (path, before, after), whether anything changed,
/// and the warnings (environment notes first, then the plan's).
fn report_parts<'a>(
    planned: &'a Planned,
    commit: Option<&pftls_txn::CommitReport>,
) -> ([FileEntry<'a>; 2], bool, Vec<String>) {
    let plan = &planned.plan;
    let files = [
        (
            planned.files.main_path.display().to_string(),
            plan.main_before.as_slice(),
            plan.main_after.as_slice(),
        ),
        (
            planned.files.master_path.display().to_string(),
            plan.master_before.as_slice(),
            plan.master_after.as_slice(),
        ),
    ];
    let changed = commit.map_or_else(|| plan.changed(), |c| c.changed);
    let mut warnings = planned.notes.clone();
    warnings.extend(plan.warnings.iter().cloned());
    (files, changed, warnings)
}

/// The plan/apply report as SPEC's JSON object.
pub fn report_json(
    planned: &Planned,
    dry_run: bool,
    commit: Option<&pftls_txn::CommitReport>,
    saved_to: Option<&Path>,
) -> serde_json::Value {
    let plan = &planned.plan;
    let (file_entries, changed, warnings) = report_parts(planned, commit);
    let files: Vec<serde_json::Value> = file_entries
        .iter()
        .map(|(p, b, a)| {
            serde_json::json!({
                "path": p, "changed": b != a, "diff": unified_diff(p, b, a),
                "before_sha256": pftls_txn::sha256_hex(b), "after_sha256": pftls_txn::sha256_hex(a),
            })
        })
        .collect();
    let mut v = serde_json::json!({
        "changed": changed,
        "dry_run": dry_run,
        "postfix_version": planned.version,
        "crypto_policy": planned.crypto_source,
        "policies": plan.policies,
        "files": files,
        "parameters": plan.changes.iter().map(|c| serde_json::json!({
            "scope": c.scope, "name": c.name, "before": c.before, "after": c.after, "policy": c.policy,
        })).collect::<Vec<_>>(),
        "resolutions": plan.resolutions,
        "skipped_services": plan.skipped_services,
        "findings": planned.findings,
        "findings_fixed": planned.fixed,
        "findings_introduced": planned.introduced,
        "warnings": warnings,
    });
    if let Some(c) = commit {
        v["backup"] = serde_json::to_value(&c.backup).unwrap_or_default();
        if let Some(r) = &c.reload {
            v["reload"] = serde_json::to_value(r).unwrap_or_default();
        }
    }
    if let Some(i) = &planned.impact {
        v["impact"] = i.to_json();
    }
    if let Some(p) = saved_to {
        v["plan_file"] = serde_json::json!(p.display().to_string());
    }
    v
}

/// Prints a plan (and what the commit did) as text or JSON.
pub fn report(
    ctx: &Ctx,
    planned: &Planned,
    dry_run: bool,
    commit: Option<&pftls_txn::CommitReport>,
    saved_to: Option<&Path>,
) -> CliResult<()> {
    let plan = &planned.plan;
    let (file_entries, changed, warnings) = report_parts(planned, commit);
    // What would apply this plan, for a plan or dry run that would change something.
    let next = (commit.is_none() && changed && saved_to.is_none())
        .then(|| crate::output::apply_command(&ctx.invocation, ctx.command))
        .flatten();
    match ctx.format {
        Format::Json => {
            let mut v = report_json(planned, dry_run, commit, saved_to);
            if let Some(cmd) = &next {
                v["apply_command"] = serde_json::json!(cmd);
            }
            print_json(&v);
        }
        Format::Text => {
            let width = crate::text::width();
            let command = if ctx.command.is_empty() {
                "apply"
            } else {
                ctx.command
            };
            let title = if commit.is_none() && dry_run && command != "plan" {
                format!("pftls {command} dry run")
            } else {
                format!("pftls {command}")
            };
            if !ctx.quiet {
                let head = format!(
                    "{} — Postfix {}, {}; policies: {}",
                    ctx.config_dir.display(),
                    planned.version,
                    planned.crypto_source,
                    plan.policies.join(", ")
                );
                println!(
                    "{}",
                    crate::text::wrap(&head, width, &format!("{} ", bold(&title, ctx.color)), 2)
                );
            }
            if ctx.verbose {
                if let Ok(host) = ctx.host() {
                    println!("\n{}", bold("Listeners:", ctx.color));
                    for l in crate::output::topology_lines(host) {
                        println!("{l}");
                    }
                }
            }
            if !ctx.quiet {
                for (p, b, a) in file_entries {
                    let d = unified_diff(&p, b, a);
                    if !d.is_empty() {
                        print!("{}", if ctx.color { colorize_diff(&d) } else { d });
                    }
                }
            }
            if !plan.changes.is_empty() {
                if !ctx.quiet {
                    println!("\n{}", bold("Parameters:", ctx.color));
                }
                let mut t = crate::text::Table::new(2);
                for c in &plan.changes {
                    t.row([
                        c.scope.to_string(),
                        c.name.clone(),
                        format!(
                            "{} -> {}  [{}]",
                            crate::text::one_line(&or_unset(&c.before)),
                            crate::text::one_line(&or_unset(&c.after)),
                            c.policy
                        ),
                    ]);
                }
                print!("{}", t.render(width));
            }
            if !plan.resolutions.is_empty() && ctx.verbose {
                println!("\n{}", bold("Resolved values:", ctx.color));
                let mut t = crate::text::Table::new(2);
                for r in &plan.resolutions {
                    t.row([
                        r.scope.to_string(),
                        r.name.clone(),
                        format!(
                            "= {}  ({})",
                            crate::text::one_line(&or_unset(&r.value)),
                            r.why
                        ),
                    ]);
                }
                print!("{}", t.render(width));
            }
            if ctx.verbose && commit.is_some() {
                println!("\n{}", bold("Validation:", ctx.color));
                let step = |t: &str| println!("{}", crate::text::wrap(t, width, "  ", 4));
                step("candidate main.cf and master.cf: parsed by pftls, ok");
                match crate::validate::which("postconf") {
                    Some(p) => step(&format!(
                        "{} -c COPY -n and -M on a copy of the candidate: no fatal error",
                        p.display()
                    )),
                    None => step("postconf not installed: postconf check skipped"),
                }
                step(
                    "main.cf and master.cf compared with what was planned on, under the lock, \
                     right before the renames: unchanged",
                );
            }
            if !ctx.quiet {
                if let Some(i) = &planned.impact {
                    print!("{}", i.render_text(ctx.color));
                }
            }
            let show_fixed = !ctx.quiet && !planned.fixed.is_empty();
            if show_fixed || !planned.introduced.is_empty() {
                println!("\n{}", bold("Findings:", ctx.color));
                if show_fixed {
                    for f in &planned.fixed {
                        let first = format!("  fixed       {} {} ", f.id, f.subject);
                        println!(
                            "{}",
                            crate::text::wrap(first_sentence(&f.message), width, &first, 14)
                        );
                    }
                }
                for f in &planned.introduced {
                    let first = format!(
                        "  introduced  {} {} ",
                        severity(f.severity.as_str(), ctx.color),
                        f.id
                    );
                    println!(
                        "{}",
                        crate::text::wrap(first_sentence(&f.message), width, &first, 14)
                    );
                }
            }
            for s in &plan.skipped_services {
                println!("note: master.cf does not define {s}: its settings were skipped");
            }
            for w in &warnings {
                eprintln!("{}", crate::text::wrap(w, width, "warning: ", 9));
            }
            match commit {
                Some(c) => {
                    if let Some(b) = &c.backup {
                        let line = format!(
                            "Snapshot {} taken at {}; undo with: pftls rollback",
                            b.id,
                            b.path.display()
                        );
                        println!("\n{}", crate::text::wrap(&line, width, "", 2));
                    }
                    if let Some(r) = &c.reload {
                        println!(
                            "Reload `{}`: {}",
                            r.command,
                            if r.ok { "ok" } else { "FAILED" }
                        );
                    }
                    if !ctx.quiet || c.changed {
                        println!(
                            "{}",
                            if c.changed {
                                "Applied."
                            } else {
                                "Nothing to change."
                            }
                        );
                    }
                }
                None if !changed => {
                    if !ctx.quiet {
                        println!(
                            "\nNothing to change: the configuration already satisfies the policies."
                        )
                    }
                }
                None => {
                    if let Some(p) = saved_to {
                        println!(
                            "\nPlan saved to {}; apply it with: pftls apply --plan {}",
                            p.display(),
                            p.display()
                        );
                    } else {
                        if dry_run && command != "plan" {
                            println!("\nDry run: nothing was written.");
                        } else {
                            println!();
                        }
                        if let Some(cmd) = &next {
                            println!("Apply it with: {cmd}");
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
