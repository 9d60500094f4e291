//! High-level operations the CLI calls: `commit` (apply), `restore` (rollback),
//! `preview_restore` (rollback --dry-run).

use std::path::{Path, PathBuf};

use crate::atomic::{write_group, Planned};
use crate::error::TxnError;
use crate::fsutil::{is_plain_name, read_current, remove_if_exists, resolve_target, FileMeta};
use crate::hash::sha256_hex;
use crate::journal::recover;
use crate::lock::ConfigLock;
use crate::manifest::Action;
use crate::reload::{run_reload, DEFAULT_RELOAD_TIMEOUT};
use crate::report::{BackupRef, CommitReport, FilePreview, FileReport};
use crate::store::{SnapshotFile, SnapshotMeta, SnapshotStore};

/// New contents for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Name in the snapshot, a plain file name (`main.cf`).
    pub name: String,
    /// Path to write (a symlink is followed; the link stays).
    pub path: PathBuf,
    /// The bytes the file should hold.
    pub new_contents: Vec<u8>,
}

/// One file of a transaction, resolved and read.
struct Item {
    name: String,
    /// Path as given (reported).
    display: PathBuf,
    /// Real file written.
    target: PathBuf,
    current: Option<(Vec<u8>, FileMeta)>,
    new: Vec<u8>,
    meta: FileMeta,
}

impl Item {
    fn load(
        name: &str,
        path: &Path,
        new: Vec<u8>,
        meta: Option<FileMeta>,
    ) -> Result<Item, TxnError> {
        if !is_plain_name(name) {
            return Err(TxnError::InvalidName {
                name: name.to_string(),
                context: path.to_path_buf(),
            });
        }
        let target = resolve_target(path)?;
        let current = read_current(&target)?;
        let meta = meta
            .or_else(|| current.as_ref().map(|(_, m)| *m))
            .unwrap_or_else(FileMeta::default_new);
        Ok(Item {
            name: name.to_string(),
            display: path.to_path_buf(),
            target,
            current,
            new,
            meta,
        })
    }

    fn changed(&self) -> bool {
        match &self.current {
            Some((bytes, meta)) => *bytes != self.new || *meta != self.meta,
            None => true,
        }
    }

    fn before_sha(&self) -> Option<String> {
        self.current.as_ref().map(|(b, _)| sha256_hex(b))
    }
}

/// Reject two entries naming the same snapshot name or the same real file.
fn check_unique(items: &[Item]) -> Result<(), TxnError> {
    for (i, a) in items.iter().enumerate() {
        for b in &items[..i] {
            if a.name == b.name || a.target == b.target {
                return Err(TxnError::Duplicate {
                    path: a.display.clone(),
                });
            }
        }
    }
    Ok(())
}

/// Under the lock: snapshot the current bytes of every changed file, write all atomically,
/// verify, optionally reload; if reload fails, restore the previous files (atomically) and
/// return `Err(TxnError::ReloadFailed{report, restored: true, ..})`. Nothing changes (no
/// snapshot) when every `new_contents` equals the current bytes. Applies `keep` retention
/// after success. A file that does not exist yet is created (0644, owned by the caller) and
/// is not part of the snapshot.
pub fn commit(
    lock: &ConfigLock,
    store: &SnapshotStore,
    changes: &[FileChange],
    meta: &SnapshotMeta,
    reload: Option<&[String]>,
    keep: Option<usize>,
) -> Result<CommitReport, TxnError> {
    let recovered = recover(lock)?;
    let items = changes
        .iter()
        .map(|c| Item::load(&c.name, &c.path, c.new_contents.clone(), None))
        .collect::<Result<Vec<_>, _>>()?;
    let mut report = run(lock, store, items, meta, reload, keep)?;
    if let Some(r) = recovered {
        report.warnings.push(recovery_note(&r));
    }
    Ok(report)
}

/// Restore snapshot `id` (verified first; a corrupt snapshot is refused): snapshot the current
/// state (action `rollback`), then write the snapshot's files back atomically with mode and
/// owner from the manifest, optionally reload (restoring on failure as in [`commit`]).
/// No-op (no new snapshot) when the files already equal the snapshot.
pub fn restore(
    lock: &ConfigLock,
    store: &SnapshotStore,
    id: &str,
    config_dir: &Path,
    reload: Option<&[String]>,
    keep: Option<usize>,
) -> Result<CommitReport, TxnError> {
    let recovered = recover(lock)?;
    let items = restore_items(store, id, config_dir)?;
    let meta = SnapshotMeta {
        action: Action::Rollback,
        policies: Vec::new(),
        config_dir: config_dir.to_path_buf(),
        pftls_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let mut report = run(lock, store, items, &meta, reload, keep)?;
    if let Some(r) = recovered {
        report.warnings.push(recovery_note(&r));
    }
    Ok(report)
}

/// What [`restore`] would do, writing nothing: per file current vs snapshot bytes.
pub fn preview_restore(
    store: &SnapshotStore,
    id: &str,
    config_dir: &Path,
) -> Result<Vec<FilePreview>, TxnError> {
    Ok(restore_items(store, id, config_dir)?
        .into_iter()
        .map(|it| FilePreview {
            changed: it.changed(),
            current_sha256: it.before_sha(),
            snapshot_sha256: sha256_hex(&it.new),
            name: it.name,
            path: it.display,
            current: it.current.map(|(b, _)| b),
            snapshot: it.new,
        })
        .collect())
}

fn restore_items(
    store: &SnapshotStore,
    id: &str,
    config_dir: &Path,
) -> Result<Vec<Item>, TxnError> {
    let manifest = store.manifest(id)?;
    // Verify everything before reading anything into a plan: a corrupt snapshot is refused whole.
    store.verify(id)?;
    let items = manifest
        .files
        .iter()
        .map(|f| {
            let bytes = store.checked_bytes(id, f)?;
            let meta = FileMeta {
                mode: f.mode,
                uid: f.uid,
                gid: f.gid,
            };
            Item::load(&f.name, &config_dir.join(&f.name), bytes, Some(meta))
        })
        .collect::<Result<Vec<_>, _>>()?;
    check_unique(&items)?;
    Ok(items)
}

fn recovery_note(r: &crate::journal::Recovery) -> String {
    let files: Vec<String> = r.files.iter().map(|p| p.display().to_string()).collect();
    format!(
        "an interrupted earlier run was recovered ({:?}): {}",
        r.action,
        files.join(", ")
    )
}

/// The shared core of commit and restore.
fn run(
    lock: &ConfigLock,
    store: &SnapshotStore,
    items: Vec<Item>,
    meta: &SnapshotMeta,
    reload: Option<&[String]>,
    keep: Option<usize>,
) -> Result<CommitReport, TxnError> {
    check_unique(&items)?;
    let files: Vec<FileReport> = items
        .iter()
        .map(|it| {
            let changed = it.changed();
            FileReport {
                path: it.display.clone(),
                changed,
                before_sha256: it.before_sha(),
                after_sha256: if changed {
                    Some(sha256_hex(&it.new))
                } else {
                    it.before_sha()
                },
            }
        })
        .collect();
    let mut report = CommitReport {
        changed: files.iter().any(|f| f.changed),
        backup: None,
        reload: None,
        files,
        pruned: Vec::new(),
        warnings: Vec::new(),
    };
    if !report.changed {
        return Ok(report);
    }
    let changed: Vec<&Item> = items.iter().filter(|it| it.changed()).collect();

    let snap_files: Vec<SnapshotFile> = changed
        .iter()
        .filter_map(|it| {
            it.current.as_ref().map(|(bytes, m)| SnapshotFile {
                name: it.name.clone(),
                bytes: bytes.clone(),
                meta: *m,
            })
        })
        .collect();
    let snap = store.create(meta, &snap_files)?;
    report.backup = Some(BackupRef {
        id: snap.id.clone(),
        path: snap.path.clone(),
    });

    let plans: Vec<Planned> = changed
        .iter()
        .map(|it| Planned {
            target: it.target.clone(),
            new: it.new.clone(),
            meta: it.meta,
            exists: it.current.is_some(),
        })
        .collect();
    if let Err(failure) = write_group(lock.config_dir(), &plans) {
        if failure.intact {
            // Nothing changed: a snapshot of an apply that did not happen would only confuse
            // `rollback` and `backups list`.
            let _ = store.remove(&snap.id);
        } else if matches!(failure.error, TxnError::Verify { .. }) {
            // The new files are in place but one reads back wrong: put the old ones back.
            let _ = undo(lock, &changed);
        }
        return Err(failure.error);
    }

    if let Some(argv) = reload {
        let r = run_reload(argv, DEFAULT_RELOAD_TIMEOUT);
        let ok = r.ok;
        report.reload = Some(r);
        if !ok {
            return Err(match undo(lock, &changed) {
                Ok(()) => {
                    report.changed = false;
                    for f in &mut report.files {
                        f.changed = false;
                        f.after_sha256 = f.before_sha256.clone();
                    }
                    TxnError::ReloadFailed {
                        report: Box::new(report),
                        restored: true,
                        restore_error: None,
                    }
                }
                Err(e) => TxnError::ReloadFailed {
                    report: Box::new(report),
                    restored: false,
                    restore_error: Some(e.to_string()),
                },
            });
        }
    }

    if let Some(k) = keep {
        match store.prune(k) {
            Ok(ids) => report.pruned = ids,
            Err(e) => report
                .warnings
                .push(format!("retention (--keep {k}) failed: {e}")),
        }
    }
    Ok(report)
}

/// Put the pre-transaction bytes, mode and owner back atomically; remove files that did not
/// exist before.
fn undo(lock: &ConfigLock, changed: &[&Item]) -> Result<(), TxnError> {
    let plans: Vec<Planned> = changed
        .iter()
        .filter_map(|it| {
            it.current.as_ref().map(|(bytes, meta)| Planned {
                target: it.target.clone(),
                new: bytes.clone(),
                meta: *meta,
                exists: true,
            })
        })
        .collect();
    write_group(lock.config_dir(), &plans).map_err(|f| f.error)?;
    for it in changed.iter().filter(|it| it.current.is_none()) {
        remove_if_exists(&it.target).map_err(|e| TxnError::io(&it.target, "remove new file", e))?;
    }
    Ok(())
}
