//! `manifest.json` of a snapshot (SPEC "Snapshots, apply and rollback").

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Which action took a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Taken by `apply` before writing.
    Apply,
    /// Taken by `rollback` before restoring an older snapshot.
    Rollback,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Action::Apply => "apply",
            Action::Rollback => "rollback",
        })
    }
}

/// Contents of `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Snapshot id (equals the directory name).
    pub id: String,
    /// Creation time, RFC 3339 UTC.
    pub created: String,
    /// Host name of the machine.
    pub host: String,
    /// Version of pftls that took it.
    pub pftls_version: String,
    /// `apply` or `rollback`.
    pub action: Action,
    /// Policies being applied (empty for rollback).
    pub policies: Vec<String>,
    /// The configuration directory the files belong to (canonical path: the instance).
    pub config_dir: PathBuf,
    /// The postmulti instance name (`multi_instance_name`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// uid of the user who took the snapshot (absent in snapshots of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_by_uid: Option<u32>,
    /// The saved files.
    pub files: Vec<ManifestFile>,
    /// What the run that took the snapshot wrote (copies under `applied/`): the basis of
    /// drift detection before a rollback. Empty in snapshots of older versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<AppliedFile>,
}

/// A file as the run that took the snapshot wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedFile {
    /// Plain file name (`main.cf`); the copy is `applied/NAME` in the snapshot directory.
    pub name: String,
    /// sha256 of the bytes written.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// One saved file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Plain file name (`main.cf`), also the name of the copy in the snapshot directory.
    pub name: String,
    /// sha256 of the bytes.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Permission bits, as an octal string (`"0640"`) for humans.
    #[serde(with = "octal")]
    pub mode: u32,
    /// Owner uid.
    pub uid: u32,
    /// Group gid.
    pub gid: u32,
}

/// Serialize a mode as `"0640"`; accept that or a plain number when reading.
mod octal {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(mode: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{mode:04o}"))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Str(String),
        Num(u32),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        match Raw::deserialize(d)? {
            Raw::Num(n) => Ok(n),
            Raw::Str(s) => u32::from_str_radix(&s, 8)
                .ok()
                .filter(|m| *m <= 0o7777)
                .ok_or_else(|| D::Error::custom(format!("invalid mode {s:?}"))),
        }
    }
}
