//! Which Postfix instance a run changes: its canonical configuration directory, its
//! postmulti name, its queue directory (where the master's pid file says whether it runs),
//! the reload command that reaches it, and the instance list of a postmulti setup
//! (`multi_instance_directories` of the default instance).
//!
//! Values are read from main.cf as Postfix would (effective value, `$name` expanded, the
//! catalogue's default when unset) without running postconf on the instance, so that a
//! rollback still works when main.cf is broken (then the defaults are used).

pub mod multi;

use std::path::{Path, PathBuf};

use pftls_txn::MasterStatus;
use postfix_conf::Scope;

use crate::cli::WriteArgs;
use crate::context::Ctx;
use crate::error::CliResult;

/// One Postfix instance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Instance {
    /// Canonical configuration directory.
    pub config_dir: PathBuf,
    /// `multi_instance_name`, when set.
    pub name: Option<String>,
    /// `queue_directory` (holds `pid/master.pid`).
    pub queue_directory: PathBuf,
    /// Whether this is the machine's default instance (the compiled-in `config_directory`).
    pub is_default: bool,
}

impl Instance {
    /// `postfix-out (/etc/postfix-out)` or just the directory.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("{n} ({})", self.config_dir.display()),
            None => self.config_dir.display().to_string(),
        }
    }

    /// `postfix reload` for the default instance, `postfix -c DIR reload` otherwise.
    pub fn reload_command(&self, default_dir: &Path) -> Vec<String> {
        pftls_txn::reload_command_for(&self.config_dir, default_dir)
    }

    /// The command that starts this instance.
    pub fn start_command(&self) -> String {
        if self.is_default {
            "postfix start".to_string()
        } else {
            format!("postfix -c {} start", shell_word(&self.config_dir))
        }
    }

    /// Whether a master process runs for this instance.
    pub fn master_status(&self) -> MasterStatus {
        pftls_txn::master_status(&self.queue_directory)
    }
}

/// Canonical form of a directory (as given when it cannot be resolved).
pub fn canonical(dir: &Path) -> PathBuf {
    dir.canonicalize().unwrap_or_else(|_| {
        if dir.is_absolute() {
            dir.to_path_buf()
        } else {
            std::env::current_dir()
                .map(|c| c.join(dir))
                .unwrap_or_else(|_| dir.to_path_buf())
        }
    })
}

/// The default instance's configuration directory: the installed Postfix's compiled-in
/// `config_directory` (from `postconf -d`), `/etc/postfix` without it.
pub fn default_config_dir(ctx: &Ctx) -> PathBuf {
    ctx.target()
        .ok()
        .and_then(|t| {
            t.catalogue
                .default_value("config_directory")
                .map(|s| s.trim().to_string())
        })
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/etc/postfix"))
}

/// Effective main.cf values of `dir` (expanded); `None` for a value that cannot be told.
fn main_values(ctx: &Ctx, dir: &Path, names: &[&str]) -> Vec<Option<String>> {
    let catalogue = ctx.target().ok().map(|t| t.catalogue);
    let bytes = pftls_safe_read::read(&dir.join("main.cf"), pftls_safe_read::Kind::Config).ok();
    let main = bytes
        .as_deref()
        .and_then(|b| pftls_policy::plan::parse_main(b).ok());
    let master = pftls_policy::plan::parse_master(b"").ok();
    names
        .iter()
        .map(|n| {
            let cat = catalogue.as_ref()?;
            match (&main, &master) {
                (Some(m), Some(ms)) => pftls_policy::ConfigView::new(m, ms, cat)
                    .expanded_in(&Scope::Main, n)
                    .ok(),
                _ => cat.default_value(n).map(str::to_string),
            }
        })
        .collect()
}

/// The instance whose configuration directory is `dir`.
pub fn describe(ctx: &Ctx, dir: &Path) -> Instance {
    let v = main_values(ctx, dir, &["queue_directory", "multi_instance_name"]);
    let config_dir = canonical(dir);
    let name = v[1]
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let queue_directory = v[0]
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/spool/postfix"));
    let is_default = config_dir == canonical(&default_config_dir(ctx));
    Instance {
        config_dir,
        name,
        queue_directory,
        is_default,
    }
}

/// The instances of a postmulti setup whose default instance is `default_dir`: that one,
/// then each directory of its `multi_instance_directories`, in order, without duplicates.
pub fn all_instances(ctx: &Ctx, default_dir: &Path) -> CliResult<Vec<Instance>> {
    if !default_dir.join("main.cf").exists() {
        return Err(crate::error::CliError::new(
            "config",
            format!(
                "{}: no main.cf: --all-instances needs the default instance's configuration directory (-c DIR)",
                default_dir.display()
            ),
        )
        .at(default_dir.join("main.cf").display().to_string(), None));
    }
    let v = main_values(ctx, default_dir, &["multi_instance_directories"]);
    let mut out = vec![describe(ctx, default_dir)];
    for d in v[0]
        .as_deref()
        .unwrap_or("")
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
    {
        let inst = describe(ctx, Path::new(d));
        if !out.iter().any(|o| o.config_dir == inst.config_dir) {
            out.push(inst);
        }
    }
    Ok(out)
}

/// What `--reload` will do for the instance of this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadPlan {
    /// No `--reload`.
    None,
    /// Run this command.
    Run(Vec<String>),
    /// `--reload` with the default command, but the instance's master is not running:
    /// nothing to reload; the change is active when it starts.
    NotRunning {
        /// Why Postfix is considered not running.
        reason: String,
        /// The command that starts it.
        start: String,
    },
}

impl ReloadPlan {
    /// The argv to run, when there is one.
    pub fn argv(&self) -> Option<&[String]> {
        match self {
            ReloadPlan::Run(a) => Some(a),
            _ => None,
        }
    }
}

/// The reload for this run: `--reload-command` as given, else the instance's own
/// `postfix [-c DIR] reload` — unless its master is not running.
pub fn reload_plan(ctx: &Ctx, write: &WriteArgs) -> ReloadPlan {
    if !write.reload {
        return ReloadPlan::None;
    }
    if let Some(cmd) = &write.reload_command {
        return ReloadPlan::Run(pftls_txn::split_reload_command(cmd));
    }
    let inst = describe(ctx, &ctx.config_dir);
    match inst.master_status() {
        MasterStatus::Running { .. } => {
            ReloadPlan::Run(inst.reload_command(&default_config_dir(ctx)))
        }
        MasterStatus::NotRunning { reason } => ReloadPlan::NotRunning {
            reason,
            start: inst.start_command(),
        },
    }
}

/// The command that makes the running Postfix of this instance use the new files.
pub fn reload_hint(ctx: &Ctx, write: &WriteArgs) -> String {
    match &write.reload_command {
        Some(c) => c.clone(),
        None => describe(ctx, &ctx.config_dir)
            .reload_command(&default_config_dir(ctx))
            .iter()
            .map(|w| shell_word(Path::new(w)))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// The `pftls` options that select this run's instance and snapshot store, repeated in
/// the hints pftls prints (`-c DIR --backup-dir DIR`), as absolute paths.
pub fn selection_args(ctx: &Ctx) -> String {
    format!(
        "-c {} --backup-dir {}",
        shell_word(&canonical(&ctx.config_dir)),
        shell_word(&canonical(&ctx.backup_dir))
    )
}

/// The reload options of a write command, as given (for hints).
pub fn reload_args(write: &WriteArgs) -> String {
    let mut s = String::new();
    if write.reload {
        s.push_str(" --reload");
        if let Some(c) = &write.reload_command {
            s.push_str(" --reload-command ");
            s.push_str(&shell_word(Path::new(c)));
        }
    }
    s
}

/// A word for a POSIX shell: as is when it holds only safe characters, else single-quoted.
pub fn shell_word(p: &Path) -> String {
    let s = p.display().to_string();
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c));
    if safe {
        s
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words() {
        assert_eq!(shell_word(Path::new("/etc/postfix")), "/etc/postfix");
        assert_eq!(shell_word(Path::new("/tmp/a b")), "'/tmp/a b'");
        assert_eq!(shell_word(Path::new("it's")), "'it'\\''s'");
        assert_eq!(shell_word(Path::new("")), "''");
    }
}
