//! The snapshot store: `BACKUP_DIR/ID/{files..., manifest.json}`.
//!
//! A snapshot directory is created 0700 with mkdir (race-free id allocation: on EEXIST the
//! next suffix is tried), the copies are written 0600 and fsynced, and `manifest.json` is
//! written last (temp + rename): a directory without a manifest is an incomplete snapshot.
//!
//! Trust: the backup directory, every snapshot directory and every file in it must be owned
//! by the invoking user or root and not writable by group or others (see `trust.rs`); a
//! store in an untrusted directory is refused whole, an untrusted or damaged snapshot is
//! reported (`problem`) and skipped, never blocking the others.
//!
//! Instances: a manifest records the canonical configuration directory it was taken from.
//! A store made with [`SnapshotStore::for_instance`] lists, picks and prunes only that
//! instance's snapshots; [`SnapshotStore::list_all`] sees every instance.

use std::cmp::Ordering;
use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::TxnError;
use crate::fsutil::{fsync_dir, is_plain_name, write_new_file, write_small_atomic, FileMeta};
use crate::hash::sha256_hex;
use crate::manifest::{Action, AppliedFile, Manifest, ManifestFile};
use crate::trust;

/// Name of the manifest inside a snapshot directory.
pub const MANIFEST_NAME: &str = "manifest.json";

/// Suffix of a snapshot directory being removed (`.ID.pftls-removing`).
const REMOVING_SUFFIX: &str = ".pftls-removing";

/// Directory inside a snapshot holding what the run wrote (for drift detection).
pub(crate) const APPLIED_DIR: &str = "applied";

/// The files pftls manages and will restore; a manifest naming anything else is refused.
pub const MANAGED_FILES: &[&str] = &["main.cf", "master.cf"];

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
    /// Why the snapshot is unusable (missing, unreadable or untrusted manifest, untrusted
    /// directory); such a snapshot is listed but never restored.
    pub problem: Option<String>,
}

impl SnapshotInfo {
    /// The configuration directory (instance) the snapshot belongs to, when known.
    pub fn config_dir(&self) -> Option<&Path> {
        self.manifest.as_ref().map(|m| m.config_dir.as_path())
    }
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
    /// Canonical configuration directory whose snapshots this store lists, picks and prunes.
    instance: Option<PathBuf>,
    /// postmulti instance name recorded in new manifests.
    instance_name: Option<String>,
}

/// Canonical form of a configuration directory (absolute even when it does not exist).
pub(crate) fn canonical_dir(dir: &Path) -> PathBuf {
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

impl SnapshotStore {
    /// A store in `dir` seeing every instance's snapshots; nothing is created until the first
    /// snapshot.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        SnapshotStore {
            dir: dir.into(),
            instance: None,
            instance_name: None,
        }
    }

    /// The same store restricted to the snapshots of configuration directory `config_dir`
    /// (compared canonically): `list`, `latest` and `prune` see only those.
    pub fn for_instance(mut self, config_dir: &Path) -> Self {
        self.instance = Some(canonical_dir(config_dir));
        self
    }

    /// Record the postmulti instance name (`multi_instance_name`) in new manifests.
    pub fn with_instance_name(mut self, name: Option<String>) -> Self {
        self.instance_name = name;
        self
    }

    /// The configuration directory this store is restricted to, if any.
    pub fn instance(&self) -> Option<&Path> {
        self.instance.as_deref()
    }

    /// The backup directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The snapshots of this store's instance (all snapshots when unrestricted), oldest
    /// first. Snapshots whose instance cannot be told (no usable manifest) are included,
    /// flagged with their `problem`. Fails only when the backup directory itself cannot be
    /// read or is not trustworthy.
    pub fn list(&self) -> Result<Vec<SnapshotInfo>, TxnError> {
        let all = self.list_all()?;
        Ok(match &self.instance {
            None => all,
            Some(dir) => all
                .into_iter()
                .filter(|i| match &i.manifest {
                    Some(m) => canonical_dir(&m.config_dir) == *dir,
                    None => true,
                })
                .collect(),
        })
    }

    /// Every snapshot of every instance, oldest first.
    pub fn list_all(&self) -> Result<Vec<SnapshotInfo>, TxnError> {
        let rd = match fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(TxnError::io(&self.dir, "read backup directory", e)),
        };
        trust::check_dir(&self.dir)?;
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
        Ok(ids.iter().map(|id| self.info(id)).collect())
    }

    /// One snapshot by id (of any instance: restoring checks the instance).
    pub fn get(&self, id: &str) -> Result<SnapshotInfo, TxnError> {
        let path = self.dir.join(id);
        if !is_snapshot_id(id) || !path.is_dir() {
            return Err(TxnError::NoSuchSnapshot {
                id: id.to_string(),
                dir: self.dir.clone(),
            });
        }
        trust::check_dir(&self.dir)?;
        Ok(self.info(id))
    }

    /// Read one snapshot's manifest; every problem becomes `problem` (never an error), so
    /// that one bad snapshot cannot block the others.
    fn info(&self, id: &str) -> SnapshotInfo {
        let path = self.dir.join(id);
        let (manifest, problem) = match self.read_manifest(id, &path) {
            Ok(m) => (Some(m), None),
            Err(p) => (None, Some(p)),
        };
        SnapshotInfo {
            id: id.to_string(),
            path,
            complete: manifest.is_some(),
            manifest,
            problem,
        }
    }

    fn read_manifest(&self, id: &str, path: &Path) -> Result<Manifest, String> {
        if let Some(p) = trust::entry_problem(path, true) {
            return Err(format!("untrusted snapshot: {p}"));
        }
        let mpath = path.join(MANIFEST_NAME);
        match fs::symlink_metadata(&mpath) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err("no manifest (incomplete snapshot)".to_string())
            }
            _ => {}
        }
        if let Some(p) = trust::entry_problem(&mpath, false) {
            return Err(format!("untrusted manifest: {p}"));
        }
        let bytes = pftls_safe_read::read(&mpath, pftls_safe_read::Kind::Manifest)
            .map_err(|e| e.to_string())?;
        let m: Manifest =
            serde_json::from_slice(&bytes).map_err(|e| format!("unreadable manifest: {e}"))?;
        if m.id != id {
            return Err(format!("manifest names id {:?}", m.id));
        }
        Ok(m)
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
            (None, Some(p)) if p.starts_with("untrusted") => Err(TxnError::UnsafeSnapshot {
                id: id.to_string(),
                reason: p,
            }),
            (None, problem) => Err(TxnError::Corrupt {
                id: id.to_string(),
                file: mpath,
                reason: problem.unwrap_or_else(|| "no manifest".to_string()),
            }),
        }
    }

    /// Check every file's name, mode, size and sha256 against the manifest, and that the
    /// manifest asks for nothing pftls refuses to restore (see [`check_manifest`]).
    pub fn verify(&self, id: &str) -> Result<(), TxnError> {
        let manifest = self.manifest(id)?;
        check_manifest(&manifest)?;
        for f in &manifest.files {
            self.checked_bytes(id, f)?;
        }
        for a in &manifest.applied {
            self.applied_bytes(id, a)?;
        }
        Ok(())
    }

    /// What the run that took snapshot `id` wrote to `a.name`, checked against the manifest.
    pub(crate) fn applied_bytes(&self, id: &str, a: &AppliedFile) -> Result<Vec<u8>, TxnError> {
        let f = ManifestFile {
            name: a.name.clone(),
            sha256: a.sha256.clone(),
            size: a.size,
            mode: 0o600,
            uid: 0,
            gid: 0,
        };
        self.checked_at(id, &Path::new(APPLIED_DIR).join(&a.name), &f)
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
        self.checked_at(id, Path::new(&f.name), f)
    }

    fn checked_at(&self, id: &str, rel: &Path, f: &ManifestFile) -> Result<Vec<u8>, TxnError> {
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
        let path = snap.join(rel);
        if fs::symlink_metadata(&path).is_err() {
            return Err(corrupt(path, "missing".to_string()));
        }
        if let Some(p) = trust::entry_problem(&path, false) {
            return Err(TxnError::UnsafeSnapshot {
                id: id.to_string(),
                reason: format!("untrusted snapshot file: {p}"),
            });
        }
        let bytes = pftls_safe_read::read(&path, pftls_safe_read::Kind::Config)?;
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

    /// Remove the oldest complete snapshots of this store's instance beyond `keep`, and
    /// incomplete snapshots older than every kept one (when none is kept: older than the
    /// newest complete one; a lone incomplete snapshot may be a run in progress and is left
    /// alone). Untrusted snapshots are never touched. Returns the removed ids.
    pub fn prune(&self, keep: usize) -> Result<Vec<String>, TxnError> {
        self.prune_protecting(keep, None)
    }

    /// [`prune`](Self::prune) that never removes `protect` (the snapshot a run just took).
    pub(crate) fn prune_protecting(
        &self,
        keep: usize,
        protect: Option<&str>,
    ) -> Result<Vec<String>, TxnError> {
        let all = self.list()?;
        let untrusted = |i: &SnapshotInfo| {
            i.problem
                .as_deref()
                .is_some_and(|p| p.starts_with("untrusted"))
        };
        let complete: Vec<&SnapshotInfo> = all.iter().filter(|i| i.complete).collect();
        let cut = complete.len().saturating_sub(keep);
        let boundary = match complete.get(cut) {
            Some(oldest_kept) => Some(oldest_kept.id.as_str()),
            None => complete.last().map(|i| i.id.as_str()),
        };
        let mut removed = Vec::new();
        for info in &all {
            if protect == Some(info.id.as_str()) || untrusted(info) {
                continue;
            }
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
        applied: &[(String, Vec<u8>)],
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
        trust::check_dir(&self.dir)?;
        let now = chrono::Utc::now();
        let (id, path) = self.allocate(&now.format("%Y%m%dT%H%M%SZ").to_string())?;
        let result = self.fill(&id, &path, now, meta, files, applied);
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
        applied: &[(String, Vec<u8>)],
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
        let mut applied_entries = Vec::with_capacity(applied.len());
        if !applied.is_empty() {
            let adir = path.join(APPLIED_DIR);
            DirBuilder::new()
                .mode(0o700)
                .create(&adir)
                .map_err(|e| TxnError::io(&adir, "create snapshot directory", e))?;
            for (name, bytes) in applied {
                write_new_file(&adir.join(name), bytes, None, None)?;
                applied_entries.push(AppliedFile {
                    name: name.clone(),
                    sha256: sha256_hex(bytes),
                    size: bytes.len() as u64,
                });
            }
            fsync_dir(&adir)?;
        }
        let manifest = Manifest {
            id: id.to_string(),
            created: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            host: hostname(),
            pftls_version: meta.pftls_version.clone(),
            action: meta.action,
            policies: meta.policies.clone(),
            config_dir: canonical_dir(&meta.config_dir),
            instance: self.instance_name.clone(),
            taken_by_uid: Some(trust::euid()),
            files: entries,
            applied: applied_entries,
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

/// Refuse a manifest that asks for something pftls will not restore: a file it does not
/// manage (e.g. `dynamicmaps.cf`, whose modules Postfix loads as root), a name listed twice,
/// a set-uid/set-gid/sticky or world-writable mode.
pub fn check_manifest(m: &Manifest) -> Result<(), TxnError> {
    let refuse = |reason: String| TxnError::UnsafeSnapshot {
        id: m.id.clone(),
        reason,
    };
    for (i, f) in m.files.iter().enumerate() {
        if !MANAGED_FILES.contains(&f.name.as_str()) {
            return Err(refuse(format!(
                "its manifest lists {:?}, which is not a file pftls manages ({})",
                f.name,
                MANAGED_FILES.join(", ")
            )));
        }
        if m.files[..i].iter().any(|g| g.name == f.name) {
            return Err(refuse(format!("its manifest lists {:?} twice", f.name)));
        }
        if f.mode & 0o7000 != 0 || f.mode & 0o002 != 0 {
            return Err(refuse(format!(
                "{} would be restored with mode {:04o} (set-id, sticky or world-writable)",
                f.name, f.mode
            )));
        }
    }
    for a in &m.applied {
        if !MANAGED_FILES.contains(&a.name.as_str()) {
            return Err(refuse(format!(
                "its manifest lists an applied file {:?}, which pftls does not manage",
                a.name
            )));
        }
    }
    Ok(())
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
