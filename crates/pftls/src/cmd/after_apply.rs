//! What `apply` reports after writing: the undo command with the options the run used, the
//! notice that the change is not active yet (no `--reload`, or Postfix not running) with the
//! command that activates it, and `--verify`'s verdict — and what a failed verification
//! does (restore the snapshot, reload, exit 1 naming the failing check).

use pftls_txn::SnapshotStore;

use crate::cli::{ApplyArgs, Format};
use crate::cmd::apply::{plan_report, report, Planned};
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::output::print_report;

/// What apply says after the report: how to undo it (with the options it was run with),
/// whether the running Postfix uses the change, and the verification.
pub struct AfterApply {
    /// `pftls -c DIR --backup-dir DIR rollback --to ID [--reload]`.
    pub undo: Option<String>,
    /// Set when the change is not active yet: the notice, with the command that activates it.
    pub not_active: Option<String>,
    /// The exact command that activates the change (without --reload, or Postfix stopped).
    pub activate: Option<String>,
    /// `--verify`'s result.
    pub verify: Option<crate::cmd::verify::VerifyReport>,
}

impl AfterApply {
    pub fn new(
        ctx: &Ctx,
        args: &ApplyArgs,
        reload: &crate::instances::ReloadPlan,
        commit: &pftls_txn::CommitReport,
    ) -> AfterApply {
        use crate::instances::{reload_args, reload_hint, selection_args, ReloadPlan};
        let undo = commit.backup.as_ref().map(|b| {
            format!(
                "pftls {} rollback --to {}{}",
                selection_args(ctx),
                b.id,
                reload_args(&args.write)
            )
        });
        let (not_active, activate) = match (commit.changed, reload) {
            (false, _) | (true, ReloadPlan::Run(_)) => (None, None),
            (true, ReloadPlan::None) => {
                let cmd = reload_hint(ctx, &args.write);
                (
                    Some(format!(
                        "Not active yet: the running Postfix keeps the old settings until it reloads: {cmd}"
                    )),
                    Some(cmd),
                )
            }
            (true, ReloadPlan::NotRunning { reason, start }) => (
                Some(format!(
                    "Postfix is not running for {} ({reason}): nothing was reloaded; the change takes effect when it starts: {start}",
                    ctx.config_dir.display()
                )),
                Some(start.clone()),
            ),
        };
        AfterApply {
            undo,
            not_active,
            activate,
            verify: None,
        }
    }

    /// Adds the after-apply fields (undo, active, activate, verify) to the JSON report.
    pub fn fill(&self, r: &mut crate::cmd::apply::PlanReport<'_>) {
        r.undo = Some(self.undo.clone());
        r.active = Some(self.not_active.is_none());
        r.activate = self.activate.clone();
        r.verify = self.verify.clone();
    }

    pub fn text(&self, color: bool) {
        if let Some(r) = &self.verify {
            print!("{}", r.render_text(color));
        }
        if let Some(u) = &self.undo {
            println!("Undo with: {u}");
        }
        if let Some(n) = &self.not_active {
            println!("{n}");
        }
    }
}

/// `--verify` failed: restore the snapshot with reload, report, exit 1 naming the check.
pub fn verify_failed(
    ctx: &Ctx,
    planned: &Planned,
    commit: &pftls_txn::CommitReport,
    after: &AfterApply,
    verdict: &crate::cmd::verify::VerifyReport,
    (lock, store, id): (&pftls_txn::ConfigLock, &SnapshotStore, &str),
    reload: Option<&[String]>,
) -> CliResult<i32> {
    let failed: Vec<String> = verdict.failures().map(|c| c.describe()).collect();
    let restore = pftls_txn::restore_with(
        lock,
        store,
        id,
        &ctx.config_dir,
        &pftls_txn::RestoreOptions {
            reload,
            keep: None,
            force: true,
        },
    );
    let (restored, outcome) = match &restore {
        Ok(r) => (
            true,
            format!(
                "snapshot {id} was restored{}",
                match &r.reload {
                    Some(rl) if rl.ok => format!(" and `{}` ran", rl.command),
                    Some(rl) => format!(", but `{}` FAILED: {}", rl.command, rl.output),
                    None => String::new(),
                }
            ),
        ),
        Err(e) => (
            false,
            format!("restoring snapshot {id} FAILED: {e}; the new files are in place"),
        ),
    };
    let message = format!(
        "verify failed: {}; {outcome}",
        failed.first().cloned().unwrap_or_default()
    );
    match ctx.format {
        Format::Json => {
            let mut r = plan_report(planned, false, Some(commit), None);
            let mut a = AfterApply {
                undo: after.undo.clone(),
                not_active: None,
                activate: None,
                verify: Some(verdict.clone()),
            };
            if !restored {
                a.not_active = after.not_active.clone();
            }
            a.fill(&mut r);
            r.changed = !restored;
            r.rolled_back = Some(restored);
            r.error = Some(CliError::new("verify", message.clone()));
            print_report(&r);
        }
        Format::Text => {
            report(ctx, planned, false, Some(commit), None)?;
            print!("{}", verdict.render_text(ctx.color));
            eprintln!("pftls: error: {message}");
            for f in failed.iter().skip(1) {
                eprintln!("  also failed: {f}");
            }
        }
    }
    Ok(crate::error::EXIT_ERROR)
}
