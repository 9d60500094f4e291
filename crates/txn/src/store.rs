//! The snapshot store: `BACKUP_DIR/ID/{files..., manifest.json}`.
//!
//! A snapshot directory is created 0700 with mkdir (race-free id allocation: on EEXIST the
//! next suffix is tried), the copies are written 0600 and fsynced, and `manifest.json` is
//! written last (temp + rename): a directory without a manifest is an incomplete snapshot.

use std::cmp::Ordering;
use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::TxnError;
use crate::fsutil::{fsync_dir, is_plain_name, write_new_file, write_small_atomic, FileMeta};
use crate::hash::sha256_hex;
use crate::manifest::{Action, Manifest, ManifestFile};

/// Name of the manifest inside a snapshot directory.
pub const MANIFEST_NAME: &str = "manifest.json";

/// Suffix of a snapshot directory being removed (`.ID.pftls-removing`).
const REMOVING_SUFFIX: &str = ".pftls-removing";

/// Highest same-second suffix tried before giving up (only reachable under abuse).
const MAX_SUFFIX: u32 = 100_000;

/// What the caller records about the action taking a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotMeta {
    /// `Apply` or `Rollback`.
    pub action: Action,
    /// Policy names/paths being applied.
    pub policies: Vec<String>,
    /// The configuration directory.
    pub config_dir: PathBuf,
    /// pftls version string.
    pub pftls_version: String,
}

/// A snapshot as found on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotInfo {
    /// Directory name.
    pub id: String,
    /// Snapshot directory.
    pub path: PathBuf,
    /// Whether a readable manifest exists.
    pub complete: bool,
    /// The manifest, when readable.
    pub manifest: Option<Manifest>,
    /// Why the snapshot is incomplete (missing or unreadable manifest).
    pub problem: Option<String>,
}

/// One file to save in a new snapshot.
#[derive(Debug, Clone)]
pub(crate) struct SnapshotFile {
    pub name: String,
    pub bytes: Vec<u8>,
    pub meta: FileMeta,
}

/// Sort key of an id: `(base, suffix)` with suffix 1 for no suffix, `None` if not an id.
fn id_key(id: &str) -> Option<(&str, u32)> {
    let (base, suffix) = match id.split_once('-') {
        Some((b, s)) => {
            if s.is_empty() || s.starts_with('0') || !s.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            (b, s.parse::<u32>().ok().filter(|n| *n >= 2)?)
        }
        None => (id, 1),
    };
    let b = base.as_bytes();
    let ok = b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit);
    ok.then_some((base, suffix))
}

/// Whether `id` has the form `YYYYMMDDTHHMMSSZ` or `YYYYMMDDTHHMMSSZ-N`.
pub fn is_snapshot_id(id: &str) -> bool {
    id_key(id).is_some()
}

fn cmp_ids(a: &str, b: &str) -> Ordering {
    id_key(a).cmp(&id_key(b))
}

/// A directory of snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotStore {
    dir: PathBuf,
}

impl SnapshotStore {
    /// A store in `dir`; nothing is created until the first snapshot.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        SnapshotStore { dir: dir.into() }
    }

    /// The backup directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// All snapshots, oldest first (incomplete ones included, flagged).
    pub fn list(&self) -> Result<Vec<SnapshotInfo>, TxnError> {
        let rd = match fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(TxnError::io(&self.dir, "read backup directory", e)),
        };
        let mut ids = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|e| TxnError::io(&self.dir, "read backup directory", e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            if is_dir && is_snapshot_id(&name) {
                ids.push(name);
            }
        }
        ids.sort_by(|a, b| cmp_ids(a, b));
        ids.iter().map(|id| self.info(id)).collect()
    }

    /// One snapshot by id.
    pub fn get(&self, id: &str) -> Result<SnapshotInfo, TxnError> {
        let path = self.dir.join(id);
        if !is_snapshot_id(id) || !path.is_dir() {
            return Err(TxnError::NoSuchSnapshot {
                id: id.to_string(),
                dir: self.dir.clone(),
            });
        }
        self.info(id)
    }

    fn info(&self, id: &str) -> Result<SnapshotInfo, TxnError> {
        let path = self.dir.join(id);
        let mpath = path.join(MANIFEST_NAME);
        let (manifest, problem) = match fs::read(&mpath) {
            Ok(bytes) => match serde_json::from_slice::<Manifest>(&bytes) {
                Ok(m) if m.id == id => (Some(m), None),
                Ok(m) => (None, Some(format!("manifest names id {:?}", m.id))),
                Err(e) => (None, Some(format!("unreadable manifest: {e}"))),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                (None, Some("no manifest (incomplete snapshot)".to_string()))
            }
            Err(e) => return Err(TxnError::io(&mpath, "read manifest", e)),
        };
        Ok(SnapshotInfo {
            id: id.to_string(),
            path,
            complete: manifest.is_some(),
            manifest,
            problem,
        })
    }

    /// The newest complete snapshot, optionally only of one action.
    pub fn latest(&self, action: Option<Action>) -> Result<Option<SnapshotInfo>, TxnError> {
        Ok(self.list()?.into_iter().rev().find(|i| {
            i.manifest.as_ref().is_some_and(|m| match action {
                Some(a) => m.action == a,
                None => true,
            })
        }))
    }

    /// The manifest of a snapshot, or a `Corrupt` error naming `manifest.json`.
    pub fn manifest(&self, id: &str) -> Result<Manifest, TxnError> {
        let info = self.get(id)?;
        let mpath = info.path.join(MANIFEST_NAME);
        match (info.manifest, info.problem) {
            (Some(m), _) => Ok(m),
            (None, problem) => Err(TxnError::Corrupt {
                id: id.to_string(),
                file: mpath,
                reason: problem.unwrap_or_else(|| "no manifest".to_string()),
            }),
        }
    }

    /// Check every file's size and sha256 against the manifest.
    pub fn verify(&self, id: &str) -> Result<(), TxnError> {
        let manifest = self.manifest(id)?;
        for f in &manifest.files {
            self.checked_bytes(id, f)?;
        }
        Ok(())
    }

    /// The bytes of `name` in snapshot `id`, checked against the manifest.
    pub fn read_file(&self, id: &str, name: &str) -> Result<Vec<u8>, TxnError> {
        let manifest = self.manifest(id)?;
        let f = manifest
            .files
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| TxnError::Corrupt {
                id: id.to_string(),
                file: self.dir.join(id).join(name),
                reason: "not listed in the manifest".to_string(),
            })?;
        self.checked_bytes(id, f)
    }

    pub(crate) fn checked_bytes(&self, id: &str, f: &ManifestFile) -> Result<Vec<u8>, TxnError> {
        let snap = self.dir.join(id);
        let corrupt = |file: PathBuf, reason: String| TxnError::Corrupt {
            id: id.to_string(),
            file,
            reason,
        };
        if !is_plain_name(&f.name) {
            return Err(corrupt(
                snap.join(MANIFEST_NAME),
                format!("invalid file name {:?}", f.name),
            ));
        }
        let path = snap.join(&f.name);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(corrupt(path, "missing".to_string()))
            }
            Err(e) => return Err(TxnError::io(&path, "read snapshot file", e)),
        };
        if bytes.len() as u64 != f.size {
            return Err(corrupt(
                path,
                format!("size {} bytes, manifest says {}", bytes.len(), f.size),
            ));
        }
        let sum = sha256_hex(&bytes);
        if sum != f.sha256 {
            return Err(corrupt(
                path,
                format!("sha256 {sum}, manifest says {}", f.sha256),
            ));
        }
        Ok(bytes)
    }

    /// Remove the oldest complete snapshots beyond `keep`, and incomplete snapshots older than
    /// every kept one (when none is kept: older than the newest complete one; a lone incomplete
    /// snapshot may be a run in progress and is left alone). Returns the removed ids.
    pub fn prune(&self, keep: usize) -> Result<Vec<String>, TxnError> {
        let all = self.list()?;
        let complete: Vec<&SnapshotInfo> = all.iter().filter(|i| i.complete).collect();
        let cut = complete.len().saturating_sub(keep);
        let boundary = match complete.get(cut) {
            Some(oldest_kept) => Some(oldest_kept.id.as_str()),
            None => complete.last().map(|i| i.id.as_str()),
        };
        let mut removed = Vec::new();
        for info in &all {
            let remove = if info.complete {
                complete[..cut].iter().any(|c| c.id == info.id)
            } else {
                boundary.is_some_and(|b| cmp_ids(&info.id, b) == Ordering::Less)
            };
            if remove {
                self.remove(&info.id)?;
                removed.push(info.id.clone());
            }
        }
        self.remove_leftovers()?;
        if !removed.is_empty() {
            fsync_dir(&self.dir)?;
        }
        Ok(removed)
    }

    /// Remove one snapshot. It is first renamed out of the id namespace (atomic), so a crash
    /// halfway through the removal can never leave a "complete" snapshot with missing files.
    pub(crate) fn remove(&self, id: &str) -> Result<(), TxnError> {
        let path = self.dir.join(id);
        let doomed = self.dir.join(format!(".{id}{REMOVING_SUFFIX}"));
        fs::rename(&path, &doomed).map_err(|e| TxnError::io(&path, "remove snapshot", e))?;
        fs::remove_dir_all(&doomed).map_err(|e| TxnError::io(&doomed, "remove snapshot", e))
    }

    /// Finish removals interrupted by a crash (`.ID.pftls-removing` directories).
    fn remove_leftovers(&self) -> Result<(), TxnError> {
        let rd = match fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(TxnError::io(&self.dir, "read backup directory", e)),
        };
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.ends_with(REMOVING_SUFFIX) {
                let p = entry.path();
                fs::remove_dir_all(&p).map_err(|e| TxnError::io(&p, "remove snapshot", e))?;
            }
        }
        Ok(())
    }

    /// Take a snapshot of `files`; the manifest is written last.
    pub(crate) fn create(
        &self,
        meta: &SnapshotMeta,
        files: &[SnapshotFile],
    ) -> Result<SnapshotInfo, TxnError> {
        for f in files {
            if !is_plain_name(&f.name) {
                return Err(TxnError::InvalidName {
                    name: f.name.clone(),
                    context: meta.config_dir.clone(),
                });
            }
        }
        self.ensure_dir()?;
        let now = chrono::Utc::now();
        let (id, path) = self.allocate(&now.format("%Y%m%dT%H%M%SZ").to_string())?;
        let result = self.fill(&id, &path, now, meta, files);
        if result.is_err() {
            // Do not leave an incomplete snapshot behind for an error we report anyway.
            let _ = self.remove(&id);
        }
        result
    }

    /// Write the copies and then the manifest into a freshly allocated snapshot directory.
    fn fill(
        &self,
        id: &str,
        path: &Path,
        now: chrono::DateTime<chrono::Utc>,
        meta: &SnapshotMeta,
        files: &[SnapshotFile],
    ) -> Result<SnapshotInfo, TxnError> {
        let mut entries = Vec::with_capacity(files.len());
        for f in files {
            write_new_file(&path.join(&f.name), &f.bytes, None, None)?;
            entries.push(ManifestFile {
                name: f.name.clone(),
                sha256: sha256_hex(&f.bytes),
                size: f.bytes.len() as u64,
                mode: f.meta.mode,
                uid: f.meta.uid,
                gid: f.meta.gid,
            });
        }
        let manifest = Manifest {
            id: id.to_string(),
            created: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            host: hostname(),
            pftls_version: meta.pftls_version.clone(),
            action: meta.action,
            policies: meta.policies.clone(),
            config_dir: meta.config_dir.clone(),
            files: entries,
        };
        let mpath = path.join(MANIFEST_NAME);
        let bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| TxnError::Io {
            path: mpath.clone(),
            action: "serialize manifest",
            source: io::Error::other(e),
        })?;
        write_small_atomic(&mpath, &bytes)?;
        fsync_dir(&self.dir)?;
        Ok(SnapshotInfo {
            id: id.to_string(),
            path: path.to_path_buf(),
            complete: true,
            manifest: Some(manifest),
            problem: None,
        })
    }

    /// Create the backup directory (0700) when missing.
    fn ensure_dir(&self) -> Result<(), TxnError> {
        if self.dir.is_dir() {
            return Ok(());
        }
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|e| TxnError::io(&self.dir, "create backup directory", e))
    }

    /// mkdir `BASE`, `BASE-2`, `BASE-3`, ... until one is new (mkdir is atomic, so two runs
    /// never get the same id). Starts after the highest existing suffix of `BASE`, so that a
    /// pruned id is never reused and ids keep sorting in creation order.
    fn allocate(&self, base: &str) -> Result<(String, PathBuf), TxnError> {
        let mut start = 1;
        let rd = fs::read_dir(&self.dir)
            .map_err(|e| TxnError::io(&self.dir, "read backup directory", e))?;
        for entry in rd.flatten() {
            let name = entry.file_name();
            if let Some((b, n)) = id_key(&name.to_string_lossy()) {
                if b == base {
                    start = start.max(n + 1);
                }
            }
        }
        for n in start..=MAX_SUFFIX {
            let id = if n == 1 {
                base.to_string()
            } else {
                format!("{base}-{n}")
            };
            let path = self.dir.join(&id);
            match DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok((id, path)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(TxnError::io(&path, "create snapshot directory", e)),
            }
        }
        Err(TxnError::io(
            &self.dir,
            "create snapshot directory",
            io::Error::other("too many snapshots in one second"),
        ))
    }
}

/// This machine's host name ("unknown" if it cannot be read).
fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: buf is valid for buf.len() bytes; gethostname NUL-terminates within it or fails.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown".to_string();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_and_order() {
        assert!(is_snapshot_id("20261130T023645Z"));
        assert!(is_snapshot_id("20261130T023645Z-2"));
        assert!(!is_snapshot_id("20261130T023645Z-1"));
        assert!(!is_snapshot_id("20261130T023645Z-02"));
        assert!(!is_snapshot_id("../etc"));
        assert!(!is_snapshot_id("20261130X023645Z"));
        let mut ids = vec![
            "20261130T023645Z-10",
            "20261130T023646Z",
            "20261130T023645Z-2",
            "20261130T023645Z",
        ];
        ids.sort_by(|a, b| cmp_ids(a, b));
        assert_eq!(
            ids,
            [
                "20261130T023645Z",
                "20261130T023645Z-2",
                "20261130T023645Z-10",
                "20261130T023646Z"
            ]
        );
    }
}
