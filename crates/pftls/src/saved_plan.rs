//! Saved plans: a view over [`host::saved_plan`] that maps its errors and builds [`Planned`].

use std::path::Path;

pub use host::saved_plan::SavedPlan;
use host::saved_plan::SavedPlanError;

use crate::cmd::apply::Planned;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};

/// Maps a saved-plan error to the user's report (kind, file and line where known).
pub fn saved_plan_error(e: SavedPlanError) -> CliError {
    let err = CliError::new(e.kind(), e.to_string());
    match &e {
        SavedPlanError::Io { path, .. } => err.at(path.display().to_string(), None),
        SavedPlanError::Format { path, line, .. } => err.at(path.display().to_string(), *line),
        SavedPlanError::Stale { path, .. } => err.at(path.display().to_string(), None),
        _ => err,
    }
}

/// Captures a planning run for `plan --out`.
pub fn from_planned(p: &Planned, config_dir: &Path) -> SavedPlan {
    SavedPlan::new(
        &p.plan,
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        config_dir,
        p.version.clone(),
        p.crypto_source.clone(),
    )
}

/// Writes a saved plan.
pub fn save(plan: &SavedPlan, path: &Path) -> CliResult<()> {
    plan.save(path).map_err(saved_plan_error)
}

/// Reads a saved plan.
pub fn load(path: &Path) -> CliResult<SavedPlan> {
    SavedPlan::load(path).map_err(saved_plan_error)
}

/// The planning run a saved plan stands for, checked against the files on disk now.
pub fn into_planned(saved: SavedPlan, ctx: &Ctx) -> CliResult<Planned> {
    let files = ctx.read_config()?;
    let plan = saved
        .check_against(&ctx.config_dir, &files)
        .map_err(saved_plan_error)?;
    Ok(Planned {
        plan,
        files,
        notes: vec![format!("applying the saved plan made {}", saved.created)],
        crypto_source: saved.crypto_policy,
        version: saved.postfix_version,
        findings: Vec::new(),
        fixed: Vec::new(),
        introduced: Vec::new(),
        impact: None,
    })
}
