//! Saved plans (`plan --out FILE`, `apply --plan FILE`): the plan plus the checksums of the
//! inputs it was computed from and the exact bytes to write.

use std::path::{Path, PathBuf};

use pftls_policy::Plan;
use serde::{Deserialize, Serialize};

use crate::cmd::apply::Planned;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};

const FORMAT: &str = "pftls-plan/1";

/// The on-disk form of a plan.
#[derive(Debug, Serialize, Deserialize)]
pub struct SavedPlan {
    /// Format marker.
    pub format: String,
    /// When it was made (RFC 3339).
    pub created: String,
    /// The configuration directory it is for.
    pub config_dir: PathBuf,
    /// Target version it was planned for.
    pub postfix_version: String,
    /// crypto-policy description at plan time.
    pub crypto_policy: String,
    /// The plan (without file bytes).
    pub plan: Plan,
    /// Per file: checksum of the input and the bytes to write.
    pub files: Vec<SavedFile>,
    /// sha256 of everything else in the file (canonical JSON, keys sorted): a plan edited
    /// after it was made — one file's entry removed, bytes or version changed — is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity: Option<String>,
}

/// The files a plan must carry, each exactly once: a plan lacking master.cf would empty it.
const PLAN_FILES: &[&str] = &["main.cf", "master.cf"];

/// sha256 of the plan's JSON without `integrity`, keys sorted (serde_json's map is ordered).
fn integrity_of(v: &serde_json::Value) -> String {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("integrity");
    }
    pftls_txn::sha256_hex(v.to_string().as_bytes())
}

fn refused(path: &Path, why: String) -> CliError {
    CliError::new(
        "plan",
        format!(
            "{}: {why}; nothing was written (make a new plan with pftls plan --out)",
            path.display()
        ),
    )
    .at(path.display().to_string(), None)
}

/// One file of a saved plan.
#[derive(Debug, Serialize, Deserialize)]
pub struct SavedFile {
    /// `main.cf` or `master.cf`.
    pub name: String,
    /// sha256 of the file the plan was computed from.
    pub before_sha256: String,
    /// The new contents, base64.
    pub after_base64: String,
}

impl SavedPlan {
    /// Captures a plan.
    pub fn from_plan(p: &Planned, config_dir: &Path) -> SavedPlan {
        let file = |name: &str, before: &[u8], after: &[u8]| SavedFile {
            name: name.to_string(),
            before_sha256: pftls_txn::sha256_hex(before),
            after_base64: openssl::base64::encode_block(after),
        };
        SavedPlan {
            format: FORMAT.into(),
            created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            config_dir: std::fs::canonicalize(config_dir)
                .unwrap_or_else(|_| config_dir.to_path_buf()),
            postfix_version: p.version.clone(),
            crypto_policy: p.crypto_source.clone(),
            plan: p.plan.clone(),
            files: vec![
                file("main.cf", &p.plan.main_before, &p.plan.main_after),
                file("master.cf", &p.plan.master_before, &p.plan.master_after),
            ],
            integrity: None,
        }
    }

    /// Writes the plan file (0600: it may reveal configuration).
    pub fn save(&self, path: &Path) -> CliResult<()> {
        let mut v = serde_json::to_value(self).map_err(|e| CliError::new("io", e.to_string()))?;
        v["integrity"] = serde_json::json!(integrity_of(&v));
        let text =
            serde_json::to_string_pretty(&v).map_err(|e| CliError::new("io", e.to_string()))?;
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| crate::context::io_error(path, &e))?;
        f.write_all(text.as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| crate::context::io_error(path, &e))
    }

    /// Reads a plan file.
    pub fn load(path: &Path) -> CliResult<SavedPlan> {
        let bytes = crate::context::read_file(path)?;
        let not_plan = |e: serde_json::Error| {
            CliError::new(
                "plan",
                format!("{}: not a pftls plan file: {e}", path.display()),
            )
            .at(path.display().to_string(), Some(e.line()))
        };
        let raw: serde_json::Value = serde_json::from_slice(&bytes).map_err(not_plan)?;
        let p: SavedPlan = serde_json::from_value(raw.clone()).map_err(not_plan)?;
        match &p.integrity {
            None => {
                return Err(refused(
                    path,
                    "the plan carries no integrity checksum (made by an older pftls, or edited)"
                        .into(),
                ))
            }
            Some(sum) if *sum != integrity_of(&raw) => {
                return Err(refused(
                    path,
                    "the plan was altered after it was made (integrity checksum mismatch)".into(),
                ))
            }
            Some(_) => {}
        }
        for name in PLAN_FILES {
            let n = p.files.iter().filter(|f| f.name == *name).count();
            if n != 1 {
                return Err(refused(
                    path,
                    format!(
                        "the plan {} {name}",
                        if n == 0 {
                            "lacks"
                        } else {
                            "lists more than once"
                        }
                    ),
                ));
            }
        }
        if p.format != FORMAT {
            return Err(CliError::new(
                "plan",
                format!(
                    "{}: unsupported plan format {:?} (expected {FORMAT})",
                    path.display(),
                    p.format
                ),
            ));
        }
        Ok(p)
    }

    /// Checks the plan against the current files and turns it into a [`Planned`]. A plan whose
    /// inputs changed since it was made is refused (stale).
    pub fn into_planned(self, ctx: &Ctx, _dry_run: bool) -> CliResult<Planned> {
        let dir = std::fs::canonicalize(&ctx.config_dir).unwrap_or_else(|_| ctx.config_dir.clone());
        if dir != self.config_dir {
            return Err(CliError::new(
                "stale-plan",
                format!(
                    "the plan was made for {}, not {} (use -c {})",
                    self.config_dir.display(),
                    dir.display(),
                    self.config_dir.display()
                ),
            ));
        }
        let version = ctx.target()?.version.to_string();
        if version != self.postfix_version {
            return Err(CliError::new(
                "stale-plan",
                format!(
                    "the plan was made for Postfix {}, this is Postfix {version}: nothing was written; make a new plan",
                    self.postfix_version
                ),
            ));
        }
        let files = ctx.read_config()?;
        let mut plan = self.plan;
        for f in &self.files {
            let (current, path) = match f.name.as_str() {
                "main.cf" => (&files.main, &files.main_path),
                "master.cf" => (&files.master, &files.master_path),
                other => {
                    return Err(CliError::new(
                        "plan",
                        format!("plan names an unknown file {other:?}"),
                    ))
                }
            };
            let now = pftls_txn::sha256_hex(current);
            if now != f.before_sha256 {
                return Err(CliError::new(
                    "stale-plan",
                    format!(
                        "{} changed since the plan was made (sha256 {} then, {} now); make a new plan",
                        path.display(),
                        short(&f.before_sha256),
                        short(&now)
                    ),
                )
                .at(path.display().to_string(), None));
            }
            let after = openssl::base64::decode_block(&f.after_base64).map_err(|e| {
                CliError::new(
                    "plan",
                    format!("plan file content for {} is corrupt: {e}", f.name),
                )
            })?;
            match f.name.as_str() {
                "main.cf" => {
                    plan.main_before = current.clone();
                    plan.main_after = after;
                }
                _ => {
                    plan.master_before = current.clone();
                    plan.master_after = after;
                }
            }
        }
        Ok(Planned {
            plan,
            files,
            notes: vec![format!("applying the saved plan made {}", self.created)],
            crypto_source: self.crypto_policy,
            version: self.postfix_version,
            findings: Vec::new(),
            fixed: Vec::new(),
            introduced: Vec::new(),
            impact: None,
        })
    }
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}
