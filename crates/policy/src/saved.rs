//! Saved plans (`plan --out FILE`, `apply --plan FILE`) that cannot be altered unnoticed.
//!
//! A saved plan records its target (canonical config dir, Postfix version), the sha256 of
//! both input files, the exact bytes to write for both files, and the full text of every
//! policy it was made from. `apply --plan` refuses it before anything is written unless:
//! - the format is known and a sha256 digest over the whole plan matches (casual edits and
//!   truncation are caught at once);
//! - it names exactly `main.cf` and `master.cf`, once each (a plan lacking master.cf must not
//!   empty master.cf);
//! - it was made for this config dir and this Postfix version;
//! - both files still have the bytes it was made from (not stale);
//! - every policy it embeds is byte for byte the policy installed now (built-in or file);
//! - re-planning those policies over the current files gives exactly the saved bytes.
//!
//! The last two make the digest more than a checksum: whoever edits the `after` bytes (say,
//! adding `mynetworks = 0.0.0.0/0`) and recomputes the digest is still refused, because the
//! policies do not produce those bytes.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::plan::Plan;
use crate::policy::{load_file, parse_policy, Origin, Policy, BUILTIN_POLICIES};

/// Format marker of saved plans written by this version.
pub const FORMAT: &str = "pftls-plan/2";

/// The two files every plan covers.
pub const PLAN_FILES: [&str; 2] = ["main.cf", "master.cf"];

/// Why a saved plan is refused. Nothing has been written when this is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SavedPlanError {
    /// Not a plan file of this format.
    #[error("{path}: not a pftls plan file: {reason}")]
    Format {
        /// The plan file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The digest does not match: the file was altered or truncated.
    #[error("{path}: the plan was altered after it was saved (digest mismatch); make a new plan")]
    Digest {
        /// The plan file.
        path: String,
    },
    /// A file is missing, unknown or listed twice.
    #[error("{path}: the plan must cover main.cf and master.cf exactly once each: {reason}")]
    Files {
        /// The plan file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Made for another configuration directory.
    #[error("the plan was made for {}, not {} (use -c {})", plan.display(), here.display(), plan.display())]
    OtherConfigDir {
        /// Recorded in the plan.
        plan: PathBuf,
        /// The target now.
        here: PathBuf,
    },
    /// Made for another Postfix version.
    #[error("the plan was made for Postfix {plan}, the target is Postfix {here}; make a new plan")]
    OtherVersion {
        /// Recorded in the plan.
        plan: String,
        /// The target now.
        here: String,
    },
    /// An input file changed since the plan was made.
    #[error("{} changed since the plan was made (sha256 {} then, {} now); make a new plan", path.display(), short(then), short(now))]
    Stale {
        /// The file.
        path: PathBuf,
        /// sha256 when planned.
        then: String,
        /// sha256 now.
        now: String,
    },
    /// A policy the plan was made from is gone or differs from the one installed now.
    #[error("policy {name}: {reason}; make a new plan")]
    Policy {
        /// Policy name.
        name: String,
        /// What differs.
        reason: String,
    },
    /// The saved bytes are not what the policies produce over the current files.
    #[error("{path}: the plan's new {name} is not what its policies produce (the plan was altered); make a new plan")]
    Altered {
        /// The plan file.
        path: String,
        /// `main.cf` or `master.cf`.
        name: String,
    },
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

fn sha256_hex(bytes: &[u8]) -> String {
    openssl::sha::sha256(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One file of a saved plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedFile {
    /// `main.cf` or `master.cf`.
    pub name: String,
    /// Whether the file existed when planned.
    pub existed: bool,
    /// sha256 of the file the plan was computed from.
    pub before_sha256: String,
    /// sha256 of the new contents.
    pub after_sha256: String,
    /// The new contents, base64.
    pub after_base64: String,
}

/// A policy as it was when planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedPolicy {
    /// Policy name.
    pub name: String,
    /// The policy file (absent: built-in).
    pub file: Option<PathBuf>,
    /// sha256 of its YAML text.
    pub sha256: String,
    /// Its YAML text.
    pub text: String,
}

/// The on-disk form of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedPlan {
    /// Format marker ([`FORMAT`]).
    pub format: String,
    /// When it was made (RFC 3339).
    pub created: String,
    /// The canonical configuration directory it is for.
    pub config_dir: PathBuf,
    /// Postfix version it was planned for.
    pub postfix_version: String,
    /// crypto-policy description at plan time.
    pub crypto_policy: String,
    /// The plan summary (without file bytes).
    pub plan: Plan,
    /// Both files.
    pub files: Vec<SavedFile>,
    /// The policies, in merge order.
    pub policies: Vec<SavedPolicy>,
    /// sha256 over the plan serialised with this field empty.
    pub digest: String,
}

/// The bytes a verified plan writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// New main.cf.
    pub main_after: Vec<u8>,
    /// New master.cf.
    pub master_after: Vec<u8>,
}

impl SavedPlan {
    /// Capture `plan` (made from `policies` for `config_dir` and Postfix `postfix_version`).
    pub fn new(
        plan: &Plan,
        policies: &[Policy],
        config_dir: &Path,
        postfix_version: &str,
        crypto_policy: &str,
        master_existed: bool,
        created: String,
    ) -> SavedPlan {
        let file = |name: &str, existed: bool, before: &[u8], after: &[u8]| SavedFile {
            name: name.to_string(),
            existed,
            before_sha256: sha256_hex(before),
            after_sha256: sha256_hex(after),
            after_base64: openssl::base64::encode_block(after),
        };
        let mut saved = SavedPlan {
            format: FORMAT.into(),
            created,
            config_dir: config_dir
                .canonicalize()
                .unwrap_or_else(|_| config_dir.to_path_buf()),
            postfix_version: postfix_version.to_string(),
            crypto_policy: crypto_policy.to_string(),
            plan: plan.clone(),
            files: vec![
                file("main.cf", true, &plan.main_before, &plan.main_after),
                file(
                    "master.cf",
                    master_existed,
                    &plan.master_before,
                    &plan.master_after,
                ),
            ],
            policies: policies
                .iter()
                .map(|p| SavedPolicy {
                    name: p.name.clone(),
                    file: match &p.origin {
                        Origin::File(f) => Some(f.canonicalize().unwrap_or_else(|_| f.clone())),
                        Origin::BuiltIn => None,
                    },
                    sha256: sha256_hex(p.text.as_bytes()),
                    text: p.text.clone(),
                })
                .collect(),
            digest: String::new(),
        };
        saved.digest = saved.compute_digest();
        saved
    }

    fn compute_digest(&self) -> String {
        let mut copy = self.clone();
        copy.digest.clear();
        // Serialising plain structs and vectors is deterministic (field order is fixed).
        sha256_hex(&serde_json::to_vec(&copy).unwrap_or_default())
    }

    /// The plan as pretty JSON.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Parse a plan file's bytes and check its format, digest and file list. `path` names the
    /// file in errors.
    pub fn parse(bytes: &[u8], path: &str) -> Result<SavedPlan, SavedPlanError> {
        let format = |reason: String| SavedPlanError::Format {
            path: path.to_string(),
            reason,
        };
        let probe: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| format(format!("invalid JSON ({e})")))?;
        match probe.get("format").and_then(|f| f.as_str()) {
            Some(FORMAT) => {}
            Some(other) => {
                return Err(format(format!(
                    "unsupported plan format {other:?} (expected {FORMAT}; make a new plan)"
                )))
            }
            None => return Err(format("no format marker".into())),
        }
        let p: SavedPlan = serde_json::from_value(probe).map_err(|e| format(e.to_string()))?;
        if p.digest != p.compute_digest() {
            return Err(SavedPlanError::Digest {
                path: path.to_string(),
            });
        }
        let files = |reason: String| SavedPlanError::Files {
            path: path.to_string(),
            reason,
        };
        for name in PLAN_FILES {
            match p.files.iter().filter(|f| f.name == name).count() {
                1 => {}
                0 => return Err(files(format!("{name} is missing"))),
                _ => return Err(files(format!("{name} is listed twice"))),
            }
        }
        if let Some(f) = p
            .files
            .iter()
            .find(|f| !PLAN_FILES.contains(&f.name.as_str()))
        {
            return Err(files(format!("unknown file {:?}", f.name)));
        }
        if p.policies.is_empty() {
            return Err(format("no policies recorded".into()));
        }
        for f in &p.files {
            let bytes = p.decode(f, path)?;
            if sha256_hex(&bytes) != f.after_sha256 {
                return Err(SavedPlanError::Altered {
                    path: path.to_string(),
                    name: f.name.clone(),
                });
            }
        }
        Ok(p)
    }

    fn decode(&self, f: &SavedFile, path: &str) -> Result<Vec<u8>, SavedPlanError> {
        openssl::base64::decode_block(&f.after_base64).map_err(|e| SavedPlanError::Format {
            path: path.to_string(),
            reason: format!("content of {} is not base64 ({e})", f.name),
        })
    }

    fn file(&self, name: &str) -> Result<&SavedFile, SavedPlanError> {
        self.files
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| SavedPlanError::Files {
                path: String::new(),
                reason: format!("{name} is missing"),
            })
    }

    /// Refuse a plan made for another config dir or Postfix version.
    pub fn check_target(
        &self,
        config_dir: &Path,
        postfix_version: &str,
    ) -> Result<(), SavedPlanError> {
        let here = config_dir
            .canonicalize()
            .unwrap_or_else(|_| config_dir.to_path_buf());
        if here != self.config_dir {
            return Err(SavedPlanError::OtherConfigDir {
                plan: self.config_dir.clone(),
                here,
            });
        }
        if postfix_version != self.postfix_version {
            return Err(SavedPlanError::OtherVersion {
                plan: self.postfix_version.clone(),
                here: postfix_version.to_string(),
            });
        }
        Ok(())
    }

    /// Refuse a plan whose input files changed (`paths` name them in the error).
    pub fn check_inputs(
        &self,
        main: &[u8],
        master: &[u8],
        master_exists: bool,
        paths: (&Path, &Path),
    ) -> Result<(), SavedPlanError> {
        for (name, bytes, exists, path) in [
            ("main.cf", main, true, paths.0),
            ("master.cf", master, master_exists, paths.1),
        ] {
            let f = self.file(name)?;
            let now = sha256_hex(bytes);
            if now != f.before_sha256 || exists != f.existed {
                return Err(SavedPlanError::Stale {
                    path: path.to_path_buf(),
                    then: f.before_sha256.clone(),
                    now,
                });
            }
        }
        Ok(())
    }

    /// The policies the plan was made from, as installed now; refused when one is gone or
    /// differs from the text the plan embeds.
    pub fn current_policies(&self) -> Result<Vec<Policy>, SavedPlanError> {
        self.policies
            .iter()
            .map(|sp| {
                let refuse = |reason: String| SavedPlanError::Policy {
                    name: sp.name.clone(),
                    reason,
                };
                if sha256_hex(sp.text.as_bytes()) != sp.sha256 {
                    return Err(refuse("the text saved in the plan was altered".into()));
                }
                let policy = match &sp.file {
                    None => {
                        let text = BUILTIN_POLICIES
                            .iter()
                            .find(|(n, _)| *n == sp.name)
                            .map(|(_, t)| *t)
                            .ok_or_else(|| refuse("no such built-in policy".into()))?;
                        parse_policy(text, Origin::BuiltIn, Some(&sp.name))
                            .map_err(|e| refuse(e.to_string()))?
                    }
                    Some(f) => load_file(f).map_err(|e| refuse(e.to_string()))?,
                };
                if sha256_hex(policy.text.as_bytes()) != sp.sha256 {
                    return Err(refuse("it changed since the plan was made".to_string()));
                }
                Ok(policy)
            })
            .collect()
    }

    /// Compare the plan's bytes with `replanned` (the current policies over the current
    /// files) and return the bytes to write.
    pub fn check_rederived(
        &self,
        replanned: &Plan,
        path: &str,
    ) -> Result<Verified, SavedPlanError> {
        let main = self.decode(self.file("main.cf")?, path)?;
        let master = self.decode(self.file("master.cf")?, path)?;
        for (name, saved, now) in [
            ("main.cf", &main, &replanned.main_after),
            ("master.cf", &master, &replanned.master_after),
        ] {
            if saved != now {
                return Err(SavedPlanError::Altered {
                    path: path.to_string(),
                    name: name.to_string(),
                });
            }
        }
        if replanned.changes != self.plan.changes || replanned.policies != self.plan.policies {
            return Err(SavedPlanError::Altered {
                path: path.to_string(),
                name: "change summary".to_string(),
            });
        }
        Ok(Verified {
            main_after: main,
            master_after: master,
        })
    }
}
