//! Small filesystem helpers: metadata, symlink resolution, durable file creation, dir fsync.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::TxnError;
use crate::xattr;

/// Permission bits and ownership of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMeta {
    /// Permission bits (`0o7777` mask).
    pub mode: u32,
    /// Owner uid.
    pub uid: u32,
    /// Group gid.
    pub gid: u32,
}

impl FileMeta {
    /// Metadata of an existing file.
    pub fn of(meta: &fs::Metadata) -> Self {
        FileMeta {
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
        }
    }

    /// What a file created by pftls gets when there was no original: 0644, owned by us.
    pub fn default_new() -> Self {
        // SAFETY: geteuid/getegid cannot fail.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        FileMeta {
            mode: 0o644,
            uid,
            gid,
        }
    }
}

/// Which inode a path names (device and inode number): tells an edit in place from a
/// replacement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileId {
    /// Device number.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
}

impl FileId {
    /// Identity of an existing file.
    pub fn of(meta: &fs::Metadata) -> Self {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// A file as read now: bytes, mode/owner, identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Current {
    pub bytes: Vec<u8>,
    pub meta: FileMeta,
    pub id: FileId,
}

/// Current bytes, metadata and identity of `path`, `None` when it does not exist. Read with
/// `pftls-safe-read`: a FIFO, device or oversized file is an error, never a hang.
pub(crate) fn read_current(path: &Path) -> Result<Option<Current>, TxnError> {
    match pftls_safe_read::read_with_meta(path, pftls_safe_read::Kind::Config) {
        Ok((bytes, meta)) => Ok(Some(Current {
            bytes,
            meta: FileMeta::of(&meta),
            id: FileId::of(&meta),
        })),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(TxnError::Read(e)),
    }
}

/// The file that is really written for `path`, as an absolute canonical path: a symlink is
/// followed to its final target so that the link itself stays in place, and a relative path
/// is anchored so that the journal can be recovered from any working directory.
pub(crate) fn resolve_target(path: &Path) -> Result<PathBuf, TxnError> {
    match fs::symlink_metadata(path) {
        Ok(_) => path
            .canonicalize()
            .map_err(|e| TxnError::io(path, "resolve path", e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let name = path.file_name().ok_or_else(|| {
                TxnError::io(
                    path,
                    "resolve path",
                    io::Error::new(io::ErrorKind::InvalidInput, "no file name"),
                )
            })?;
            let parent = parent_dir(path)
                .canonicalize()
                .map_err(|e| TxnError::io(path, "resolve directory", e))?;
            Ok(parent.join(name))
        }
        Err(e) => Err(TxnError::io(path, "stat", e)),
    }
}

/// Parent directory of a file path ("." for a bare name).
pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `DIR/.NAME.pftls-KIND-PID` next to `target`.
pub(crate) fn sibling(target: &Path, kind: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Hidden already (the journal): do not add a second dot.
    let dot = if name.starts_with('.') { "" } else { "." };
    parent_dir(target).join(format!("{dot}{name}.pftls-{kind}-{}", std::process::id()))
}

/// fsync a directory so that renames/creations inside it are durable.
pub(crate) fn fsync_dir(dir: &Path) -> Result<(), TxnError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| TxnError::io(dir, "fsync directory", e))
}

/// Remove a file, treating "already gone" as success.
pub(crate) fn remove_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Create `path` exclusively (replacing a stale file of the same name, which can only be left
/// over from a crashed run since callers hold the lock), write `bytes`, set owner and mode,
/// copy extended attributes from `xattrs_from`, and fsync. Removes the file again on failure.
pub(crate) fn write_new_file(
    path: &Path,
    bytes: &[u8],
    meta: Option<FileMeta>,
    xattrs_from: Option<&Path>,
) -> Result<(), TxnError> {
    let result = write_new_file_inner(path, bytes, meta, xattrs_from);
    if result.is_err() {
        // Best effort: the original error is what matters to the caller.
        let _ = remove_if_exists(path);
    }
    result
}

fn write_new_file_inner(
    path: &Path,
    bytes: &[u8],
    meta: Option<FileMeta>,
    xattrs_from: Option<&Path>,
) -> Result<(), TxnError> {
    let open = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
    };
    let mut f = match open() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            remove_if_exists(path).map_err(|e| TxnError::io(path, "remove stale file", e))?;
            open()
        }
        r => r,
    }
    .map_err(|e| TxnError::io(path, "create", e))?;
    f.write_all(bytes)
        .map_err(|e| TxnError::io(path, "write", e))?;
    if let Some(m) = meta {
        // chown before chmod: chown clears set-id bits.
        std::os::unix::fs::fchown(&f, Some(m.uid), Some(m.gid))
            .map_err(|e| TxnError::io(path, "set owner", e))?;
        f.set_permissions(fs::Permissions::from_mode(m.mode))
            .map_err(|e| TxnError::io(path, "set mode", e))?;
    }
    if let Some(src) = xattrs_from {
        xattr::copy_xattrs(src, &f)
            .map_err(|e| TxnError::io(path, "copy extended attributes", e))?;
    }
    crate::failpoint::hit("fsync-file")
        .and_then(|()| f.sync_all())
        .map_err(|e| TxnError::io(path, "fsync", e))?;
    Ok(())
}

/// Write a small file atomically (temp + fsync + rename + fsync dir), mode 0600.
pub(crate) fn write_small_atomic(path: &Path, bytes: &[u8]) -> Result<(), TxnError> {
    let tmp = sibling(path, "tmp");
    write_new_file(&tmp, bytes, None, None)?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = remove_if_exists(&tmp);
        return Err(TxnError::io(path, "rename into place", e));
    }
    fsync_dir(&parent_dir(path))
}

/// A plain file name: one normal path component, no separators, not `.`/`..`, not hidden
/// pftls temp names.
pub(crate) fn is_plain_name(name: &str) -> bool {
    let mut comps = Path::new(name).components();
    matches!(comps.next(), Some(Component::Normal(_)))
        && comps.next().is_none()
        && !name.contains('/')
        && !name.contains('\0')
        && name != "manifest.json"
}
