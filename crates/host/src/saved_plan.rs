//! Saved plans (`plan --out FILE`, `apply --plan FILE`): the plan plus the checksums of the
//! inputs it was computed from and the exact bytes to write, and the checks that make applying
//! one safe (same configuration directory, inputs unchanged since, content intact).

use std::path::{Path, PathBuf};

use pftls_policy::Plan;
use serde::{Deserialize, Serialize};

use crate::ConfigFiles;

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

/// Why a saved plan cannot be read or applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SavedPlanError {
    /// The file cannot be read or written.
    #[error("{}: {message}", path.display())]
    Io {
        /// The plan file.
        path: PathBuf,
        /// The OS error.
        message: String,
    },
    /// Not a plan file (JSON error at `line`), or another format version.
    #[error("{}: {message}", path.display())]
    Format {
        /// The plan file.
        path: PathBuf,
        /// 1-based line of the JSON error, when there is one.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// Made for another configuration directory.
    #[error("the plan was made for {}, not {} (use -c {})", planned.display(), actual.display(), planned.display())]
    OtherDirectory {
        /// The directory in the plan.
        planned: PathBuf,
        /// The directory given now.
        actual: PathBuf,
    },
    /// An input changed since the plan was made.
    #[error("{} changed since the plan was made (sha256 {} then, {} now); make a new plan", path.display(), short(then), short(now))]
    Stale {
        /// The changed file.
        path: PathBuf,
        /// Its sha256 at plan time.
        then: String,
        /// Its sha256 now.
        now: String,
    },
    /// The stored content is damaged or names an unknown file.
    #[error("{0}")]
    Corrupt(String),
}

impl SavedPlanError {
    /// `stale-plan` for the checks against the current files, `plan` for the file itself, `io`.
    pub fn kind(&self) -> &'static str {
        match self {
            SavedPlanError::Io { .. } => "io",
            SavedPlanError::OtherDirectory { .. } | SavedPlanError::Stale { .. } => "stale-plan",
            _ => "plan",
        }
    }
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// Hex sha256 (the same digest the snapshot manifests use).
pub fn sha256_hex(bytes: &[u8]) -> String {
    openssl::sha::sha256(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl SavedPlan {
    /// Captures a plan made at `created` (RFC 3339) for `config_dir`.
    pub fn new(
        plan: &Plan,
        created: String,
        config_dir: &Path,
        postfix_version: String,
        crypto_policy: String,
    ) -> SavedPlan {
        let file = |name: &str, before: &[u8], after: &[u8]| SavedFile {
            name: name.to_string(),
            before_sha256: sha256_hex(before),
            after_base64: openssl::base64::encode_block(after),
        };
        SavedPlan {
            format: FORMAT.into(),
            created,
            // A directory that cannot be resolved is stored as given (and compared as given).
            config_dir: std::fs::canonicalize(config_dir)
                .unwrap_or_else(|_| config_dir.to_path_buf()),
            postfix_version,
            crypto_policy,
            plan: plan.clone(),
            files: vec![
                file("main.cf", &plan.main_before, &plan.main_after),
                file("master.cf", &plan.master_before, &plan.master_after),
            ],
        }
    }

    /// Writes the plan (mode 0600: it holds the configuration) and syncs it.
    pub fn save(&self, path: &Path) -> Result<(), SavedPlanError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let io = |e: std::io::Error| SavedPlanError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let text = serde_json::to_string_pretty(self).map_err(|e| SavedPlanError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        f.write_all(text.as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(io)
    }

    /// Reads a plan file.
    pub fn load(path: &Path) -> Result<SavedPlan, SavedPlanError> {
        let bytes = std::fs::read(path).map_err(|e| SavedPlanError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let p: SavedPlan = serde_json::from_slice(&bytes).map_err(|e| SavedPlanError::Format {
            path: path.to_path_buf(),
            line: Some(e.line()),
            message: format!("not a pftls plan file: {e}"),
        })?;
        if p.format != FORMAT {
            return Err(SavedPlanError::Format {
                path: path.to_path_buf(),
                line: None,
                message: format!("unsupported plan format {:?} (expected {FORMAT})", p.format),
            });
        }
        Ok(p)
    }

    /// The plan to apply to `files` of `config_dir`: refused when the directory differs, when a
    /// file changed since the plan was made, or when the stored content is damaged.
    pub fn check_against(
        &self,
        config_dir: &Path,
        files: &ConfigFiles,
    ) -> Result<Plan, SavedPlanError> {
        let dir = std::fs::canonicalize(config_dir).unwrap_or_else(|_| config_dir.to_path_buf());
        if dir != self.config_dir {
            return Err(SavedPlanError::OtherDirectory {
                planned: self.config_dir.clone(),
                actual: dir,
            });
        }
        let mut plan = self.plan.clone();
        for f in &self.files {
            let (current, path) = match f.name.as_str() {
                "main.cf" => (&files.main, &files.main_path),
                "master.cf" => (&files.master, &files.master_path),
                other => {
                    return Err(SavedPlanError::Corrupt(format!(
                        "plan names an unknown file {other:?}"
                    )))
                }
            };
            let now = sha256_hex(current);
            if now != f.before_sha256 {
                return Err(SavedPlanError::Stale {
                    path: path.clone(),
                    then: f.before_sha256.clone(),
                    now,
                });
            }
            let after = openssl::base64::decode_block(&f.after_base64).map_err(|e| {
                SavedPlanError::Corrupt(format!("plan file content for {} is corrupt: {e}", f.name))
            })?;
            if f.name == "main.cf" {
                plan.main_before = current.clone();
                plan.main_after = after;
            } else {
                plan.master_before = current.clone();
                plan.master_after = after;
            }
        }
        Ok(plan)
    }
}
