//! `pftls plan` and `pftls apply` (also `--dry-run` and `--plan FILE`): one [`Plan`] behind all.

use pftls_policy::{Plan, PlanError, Policy};
use pftls_txn::{Expected, FileChange, SnapshotMeta, SnapshotStore};
use std::path::Path;

use crate::cli::{ApplyArgs, Format, PlanArgs};
use crate::context::{ConfigFiles, Ctx};
use crate::error::{CliError, CliResult};
use crate::output::{
    bold, colorize_diff, first_sentence, or_unset, print_report, severity, unified_diff,
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
    let imp = crate::cmd::simulate::impact(&planned.plan, &env, &baseline, &profiles)
        .map_err(crate::context::host_error)?;
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
        let policies = load_policies(ctx, &args.policy.policies)?;
        SavedPlan::from_plan(&planned, &policies, &ctx.config_dir).save(out)?;
    }
    report(ctx, &planned, true, None, args.out.as_deref())?;
    Ok(expectation_exit(ctx, &planned.plan))
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
        return Ok(expectation_exit(ctx, &planned.plan));
    }

    let reload = crate::instances::reload_plan(ctx, &args.write);
    if let (true, crate::instances::ReloadPlan::NotRunning { reason, start }) =
        (args.verify, &reload)
    {
        return Err(CliError::new(
            "reload",
            format!(
                "Postfix is not running for {} ({reason}): --verify needs a running instance; nothing was written (start it with: {start})",
                ctx.config_dir.display()
            ),
        ));
    }
    let lock = pftls_txn::lock_config_dir(&ctx.config_dir, args.write.lock_timeout())
        .map_err(txn_error)?;
    // Finish an interrupted earlier run before reading anything to plan on.
    let recovered = pftls_txn::recover(&lock).map_err(txn_error)?;
    // Planned under the lock, so that concurrent runs serialise on fresh input.
    let planned = planned_for(ctx, args, inline, false)?;
    refuse_failed_expectations(&planned.plan)?;
    if !planned.plan.changed() {
        report(ctx, &planned, false, None, None)?;
        return Ok(0);
    }
    let validation_warnings = validate_candidate(&planned)?;
    let mut planned = planned;
    annotate(ctx, &mut planned, !args.policy.no_impact)?;
    // The snapshot records its instance: the canonical config dir, and the postmulti name.
    let instance = crate::instances::describe(ctx, &ctx.config_dir);
    let store = SnapshotStore::new(&ctx.backup_dir)
        .for_instance(&ctx.config_dir)
        .with_instance_name(instance.name.clone());
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
    let reload_argv = reload.argv().map(<[String]>::to_vec);
    // Deferrals already queued for TLS reasons are not this change's doing.
    let queued_before = if args.verify {
        crate::cmd::verify::tls_deferrals(&ctx.config_dir)
            .map(|v| v.into_iter().map(|(id, _)| id).collect())
            .unwrap_or_default()
    } else {
        std::collections::BTreeSet::new()
    };
    // The listener processes of the old configuration: --verify waits for them to exit.
    let old_listeners = if args.verify {
        crate::cmd::verify::listener_pids(&instance.queue_directory)
    } else {
        Vec::new()
    };
    let commit = pftls_txn::commit(
        &lock,
        &store,
        &changes,
        &meta,
        reload_argv.as_deref(),
        args.write.keep(),
    )
    .map_err(|e| txn_error_in(ctx, e))?;
    if let Some(r) = &recovered {
        planned.notes.push(format!(
            "an interrupted earlier run was recovered ({:?}) before planning",
            r.action
        ));
    }
    planned.notes.extend(validation_warnings);
    planned.notes.extend(commit.warnings.iter().cloned());
    let mut after = crate::cmd::after_apply::AfterApply::new(ctx, args, &reload, &commit);
    if let (true, Some(b)) = (args.verify, &commit.backup) {
        let window = std::time::Duration::from_secs(args.verify_timeout.min(3600));
        crate::cmd::verify::wait_for_new_generation(&old_listeners, window);
        // The change is written and reloaded: a verification that cannot run is a failed
        // verification (restored below), never an error that leaves the change in place.
        let report = crate::cmd::verify::verify(
            ctx,
            window,
            std::time::Duration::from_secs(5),
            &queued_before,
        )
        .unwrap_or_else(|e| crate::cmd::verify::VerifyReport::could_not_run(ctx, e.message));
        if !report.ok {
            return crate::cmd::after_apply::verify_failed(
                ctx,
                &planned,
                &commit,
                &after,
                &report,
                (&lock, &store, &b.id),
                reload_argv.as_deref(),
            );
        }
        after.verify = Some(report);
    }
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
    report_with_guard(ctx, &planned, &commit, guard.as_ref(), &after)?;
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
    after: &crate::cmd::after_apply::AfterApply,
) -> CliResult<()> {
    match ctx.format {
        Format::Json => {
            // One JSON object: the apply report with the guard's verdict inside.
            let mut r = plan_report(planned, false, Some(commit), None);
            after.fill(&mut r);
            if let Some(g) = guard {
                r.guard = Some(&g.json);
                r.rolled_back = g.rolled_back.then_some(true);
            }
            print_report(&r);
            Ok(())
        }
        Format::Text => {
            report(ctx, planned, false, Some(commit), None)?;
            after.text(ctx.color);
            if let Some(g) = guard {
                println!("{}", g.text);
            }
            Ok(())
        }
    }
}

/// Exit code of plan and dry runs: 1 when an expectation fails (apply would refuse), else
/// [`change_exit`].
fn expectation_exit(ctx: &Ctx, plan: &Plan) -> i32 {
    if plan.failed_expectations().next().is_some() {
        if !ctx.quiet {
            eprintln!(
                "error: the plan does not achieve what its policies state: apply would refuse it"
            );
        }
        crate::error::EXIT_ERROR
    } else {
        change_exit(ctx, plan.changed())
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

/// "Postfix is not running ..." when the instance of `config_dir` has no live master
/// (`postconf -c DIR -h queue_directory`, then `pid/master.pid` there); `None` when it runs
/// or postconf cannot say.
pub fn postfix_not_running(config_dir: &Path) -> Option<String> {
    let out = std::process::Command::new("postconf")
        .arg("-c")
        .arg(config_dir)
        .args(["-h", "queue_directory"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let queue = String::from_utf8_lossy(&out.stdout).trim().to_string();
    match pftls_txn::master_status(Path::new(&queue)) {
        pftls_txn::MasterStatus::Running { .. } => None,
        pftls_txn::MasterStatus::NotRunning { reason } => Some(format!(
            "Postfix is not running for {} ({reason}); start it with: postfix -c {} start",
            config_dir.display(),
            config_dir.display()
        )),
    }
}

/// Maps transaction errors to the user's report.
pub fn txn_error(e: pftls_txn::TxnError) -> CliError {
    let mut c = CliError::new(e.kind(), e.to_string());
    if let Some(p) = e.path() {
        c.file = Some(p.display().to_string());
    }
    c.changed = e.changed();
    c
}

/// [`txn_error`], plus "Postfix is not running" when a reload failed because no master
/// process runs for the instance (no live pid in `$queue_directory/pid/master.pid`).
pub fn txn_error_in(ctx: &Ctx, e: pftls_txn::TxnError) -> CliError {
    let reload_failed = matches!(e, pftls_txn::TxnError::ReloadFailed { .. });
    let mut c = txn_error(e);
    if reload_failed {
        if let Some(note) = postfix_not_running(&ctx.config_dir) {
            c.message = format!("{}; {note}", c.message);
        }
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

/// One file of the plan/apply JSON report.
#[derive(serde::Serialize)]
pub struct FileJson {
    /// Path.
    pub path: String,
    /// Whether it changes.
    pub changed: bool,
    /// Unified diff.
    pub diff: String,
    /// SHA-256 of the bytes before.
    pub before_sha256: String,
    /// SHA-256 of the bytes after.
    pub after_sha256: String,
}

/// The plan/apply report as SPEC's JSON object (documented fields first; `listener_changes`,
/// `expectations` and `findings_remaining` are additions).
#[derive(serde::Serialize)]
pub struct PlanReport<'a> {
    pub(crate) changed: bool,
    dry_run: bool,
    postfix_version: &'a str,
    crypto_policy: &'a str,
    policies: &'a [String],
    files: Vec<FileJson>,
    parameters: &'a [pftls_policy::ParamChange],
    resolutions: &'a [pftls_policy::plan::Resolution],
    skipped_services: &'a [String],
    findings: &'a [pftls_doctor::Finding],
    findings_fixed: &'a [pftls_doctor::Finding],
    findings_introduced: &'a [pftls_doctor::Finding],
    /// Findings of the planned configuration that it neither fixes nor introduces.
    findings_remaining: Vec<&'a pftls_doctor::Finding>,
    warnings: Vec<String>,
    /// Listeners whose effective TLS level changes (before → after, and why).
    listener_changes: &'a [pftls_policy::ListenerChange],
    /// The policies' expectations checked on the planned documents.
    expectations: &'a [pftls_policy::ExpectationCheck],
    #[serde(skip_serializing_if = "Option::is_none")]
    backup: Option<&'a Option<pftls_txn::BackupRef>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reload: Option<&'a pftls_txn::ReloadReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    impact: Option<&'a [crate::cmd::simulate::ImpactRow]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan_file: Option<String>,
    /// With `--guard`: its verdict and evidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) guard: Option<&'a serde_json::Value>,
    /// With `--guard`: true when the guard rolled the change back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) rolled_back: Option<bool>,
    /// After apply: the exact rollback command (null when no snapshot was taken).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) undo: Option<Option<String>>,
    /// After apply: false when the running Postfix still uses the old settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) active: Option<bool>,
    /// After apply, when not active: the command that activates the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) activate: Option<String>,
    /// `--verify`'s checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) verify: Option<crate::cmd::verify::VerifyReport>,
    /// Plans and dry runs: the exact command that would apply them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) apply_command: Option<String>,
    /// When `--verify` failed: the error (the change was restored when `rolled_back`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<CliError>,
}

/// Findings of the planned configuration that were there before too.
pub fn remaining(planned: &Planned) -> Vec<&pftls_doctor::Finding> {
    planned
        .findings
        .iter()
        .filter(|f| !planned.introduced.contains(f))
        .collect()
}

/// The plan/apply report as SPEC's JSON object.
pub fn plan_report<'a>(
    planned: &'a Planned,
    dry_run: bool,
    commit: Option<&'a pftls_txn::CommitReport>,
    saved_to: Option<&Path>,
) -> PlanReport<'a> {
    let plan = &planned.plan;
    let (file_entries, changed, warnings) = report_parts(planned, commit);
    let files = file_entries
        .iter()
        .map(|(p, b, a)| FileJson {
            path: p.clone(),
            changed: b != a,
            diff: unified_diff(p, b, a),
            before_sha256: pftls_txn::sha256_hex(b),
            after_sha256: pftls_txn::sha256_hex(a),
        })
        .collect();
    PlanReport {
        changed,
        dry_run,
        postfix_version: &planned.version,
        crypto_policy: &planned.crypto_source,
        policies: &plan.policies,
        files,
        parameters: &plan.changes,
        resolutions: &plan.resolutions,
        skipped_services: &plan.skipped_services,
        findings: &planned.findings,
        findings_fixed: &planned.fixed,
        findings_introduced: &planned.introduced,
        findings_remaining: remaining(planned),
        warnings,
        listener_changes: &plan.listener_changes,
        expectations: &plan.expectations,
        backup: commit.map(|c| &c.backup),
        reload: commit.and_then(|c| c.reload.as_ref()),
        impact: planned.impact.as_ref().map(|i| i.rows.as_slice()),
        plan_file: saved_to.map(|p| p.display().to_string()),
        guard: None,
        rolled_back: None,
        undo: None,
        active: None,
        activate: None,
        verify: None,
        apply_command: None,
        error: None,
    }
}

/// Refuses a plan whose policies' expectations do not hold on the planned documents: names
/// every listener and the file:line that defeats it. Called before anything is written.
pub fn refuse_failed_expectations(plan: &Plan) -> CliResult<()> {
    let failed: Vec<&pftls_policy::ExpectationCheck> = plan.failed_expectations().collect();
    let Some(first) = failed.first() else {
        return Ok(());
    };
    let lines: Vec<String> = failed
        .iter()
        .map(|e| {
            format!(
                "{}: {} (policy {})",
                e.location.as_deref().unwrap_or("-"),
                e.message,
                e.policy
            )
        })
        .collect();
    let mut err = CliError::new(
        "expectation",
        format!(
            "the plan does not achieve what its policies state; nothing was written:\n  {}",
            lines.join("\n  ")
        ),
    );
    if let Some(loc) = &first.location {
        if let Some((file, line)) = loc.rsplit_once(':') {
            err.file = Some(file.to_string());
            err.line = line.parse().ok();
        }
    }
    Err(err)
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
            let mut r = plan_report(planned, dry_run, commit, saved_to);
            r.apply_command = next;
            print_report(&r);
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
            if !plan.listener_changes.is_empty() {
                println!("\n{}", bold("Listeners:", ctx.color));
                for c in &plan.listener_changes {
                    let why = match c.cause.as_str() {
                        "pinned" => "pinned with an explicit -o (the policy keeps it)",
                        "inheritance" => "inherited from main.cf",
                        _ => "own -o changed by the policy",
                    };
                    let first = format!("  {:<28} {:<11} ", c.listener, c.role);
                    let text = format!("{} -> {}   ({why})", c.before, c.after);
                    println!("{}", crate::text::wrap(&text, width, &first, 43));
                }
            }
            if !plan.expectations.is_empty() {
                println!("\n{}", bold("Expectations:", ctx.color));
                for e in &plan.expectations {
                    let verdict = if e.holds {
                        "holds ".to_string()
                    } else {
                        severity("FAILS ", ctx.color)
                    };
                    let at = e.location.as_deref().unwrap_or("-");
                    let first = format!("  {verdict} ");
                    println!(
                        "{}",
                        crate::text::wrap(&format!("{}   [{at}]", e.message), width, &first, 9)
                    );
                }
            }
            if !ctx.quiet {
                if let Some(i) = &planned.impact {
                    print!("{}", crate::render_impact::impact_text(i, ctx.color));
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
            let left = remaining(planned);
            if !left.is_empty() {
                println!("\n{}", bold("Remaining findings:", ctx.color));
                for f in left {
                    let first = format!(
                        "  {:<11} {} ",
                        severity(f.severity.as_str(), ctx.color),
                        f.id
                    );
                    let text = format!("{} {}", f.subject, first_sentence(&f.message));
                    println!("{}", crate::text::wrap(&text, width, &first, 14));
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
                        println!("\nSnapshot {} taken at {}.", b.id, b.path.display());
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
