//! Saved plans (`plan --out FILE`, `apply --plan FILE`): the CLI side of
//! [`pftls_policy::saved`], which holds every check (digest, both files, config dir, Postfix
//! version, stale inputs, unchanged policies, re-derivation).

use std::path::Path;

use pftls_policy::saved::{SavedPlan as Inner, SavedPlanError};
use pftls_policy::Policy;

use crate::cmd::apply::{plan_error, Planned};
use crate::context::Ctx;
use crate::error::{CliError, CliResult};

/// A saved plan and the file it was read from.
#[derive(Debug)]
pub struct SavedPlan {
    inner: Inner,
    path: String,
}

fn saved_error(e: SavedPlanError) -> CliError {
    let kind = match &e {
        SavedPlanError::Stale { .. }
        | SavedPlanError::OtherConfigDir { .. }
        | SavedPlanError::OtherVersion { .. }
        | SavedPlanError::Policy { .. } => "stale-plan",
        _ => "plan",
    };
    let file = match &e {
        SavedPlanError::Stale { path, .. } => Some(path.display().to_string()),
        _ => None,
    };
    let mut c = CliError::new(kind, e.to_string());
    c.file = file;
    c
}

impl SavedPlan {
    /// Captures a plan made from `policies`.
    pub fn from_plan(p: &Planned, policies: &[Policy], config_dir: &Path) -> SavedPlan {
        SavedPlan {
            inner: Inner::new(
                &p.plan,
                policies,
                config_dir,
                &p.version,
                &p.crypto_source,
                p.files.master_exists,
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
            path: String::new(),
        }
    }

    /// Writes the plan file (0600: it may reveal configuration).
    pub fn save(&self, path: &Path) -> CliResult<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| crate::context::io_error(path, &e))?;
        f.write_all(&self.inner.to_json())
            .and_then(|_| f.sync_all())
            .map_err(|e| crate::context::io_error(path, &e))
    }

    /// Reads a plan file (non-blocking, size-limited) and checks format, digest and files.
    pub fn load(path: &Path) -> CliResult<SavedPlan> {
        let bytes = pftls_safe_read::read(path, pftls_safe_read::Kind::Plan)
            .map_err(|e| CliError::new("io", e.to_string()).at(path.display().to_string(), None))?;
        let shown = path.display().to_string();
        let inner = Inner::parse(&bytes, &shown).map_err(saved_error)?;
        Ok(SavedPlan { inner, path: shown })
    }

    /// Checks the plan against the target and the current files, re-derives it from its
    /// policies, and turns it into a [`Planned`]. Any mismatch is refused before anything is
    /// written.
    pub fn into_planned(self, ctx: &Ctx, _dry_run: bool) -> CliResult<Planned> {
        let (env, _baseline, mut notes) = ctx.environment()?;
        let version = env.version.to_string();
        self.inner
            .check_target(&ctx.config_dir, &version)
            .map_err(saved_error)?;
        let files = ctx.read_config()?;
        self.inner
            .check_inputs(
                &files.main,
                &files.master,
                files.master_exists,
                (&files.main_path, &files.master_path),
            )
            .map_err(saved_error)?;
        let policies = self.inner.current_policies().map_err(saved_error)?;
        // The same role-aware planner that made the plan (roles, pins, expectations).
        let plan = host::plan::plan_documents(
            &files.main,
            &files.master,
            &policies,
            &env,
            (&files.main_path, &files.master_path),
        )
        .map_err(|e| plan_error(e, &files))?;
        self.inner
            .check_rederived(&plan, &self.path)
            .map_err(saved_error)?;
        notes.push(format!(
            "applying the saved plan made {}",
            self.inner.created
        ));
        Ok(Planned {
            plan,
            files,
            notes,
            crypto_source: env.crypto.source.clone(),
            version,
            findings: Vec::new(),
            fixed: Vec::new(),
            introduced: Vec::new(),
            impact: None,
        })
    }
}
