//! High-level operations the CLI calls: `commit` (apply), `restore` (rollback),
//! `preview_restore` (rollback --dry-run).

use std::path::{Path, PathBuf};

use crate::atomic::{write_group, Expect, Planned};
use crate::drift::DriftFile;
use crate::error::TxnError;
use crate::fsutil::{
    is_plain_name, read_current, remove_if_exists, resolve_target, Current, FileMeta,
};
use crate::hash::sha256_hex;
use crate::journal::recover;
use crate::lock::ConfigLock;
use crate::manifest::Action;
use crate::reload::{run_reload, DEFAULT_RELOAD_TIMEOUT};
use crate::report::{BackupRef, CommitReport, FilePreview, FileReport};
use crate::store::{canonical_dir, check_manifest, SnapshotFile, SnapshotMeta, SnapshotStore};
use crate::trust::euid;

/// What a file must hold for a change to go ahead: the input the plan was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// No check (the caller did not plan on the file's contents).
    Unchecked,
    /// The file must not exist.
    Absent,
    /// The file must hold bytes with this sha256.
    Sha256(String),
}

impl Expected {
    /// The expectation for a file that was planned on: `Absent` when it did not exist,
    /// otherwise the sha256 of `before`.
    pub fn planned_on(existed: bool, before: &[u8]) -> Self {
        if existed {
            Expected::Sha256(sha256_hex(before))
        } else {
            Expected::Absent
        }
    }
}

/// New contents for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Name in the snapshot, a plain file name (`main.cf`).
    pub name: String,
    /// Path to write (a symlink is followed; the link stays).
    pub path: PathBuf,
    /// The bytes the file should hold.
    pub new_contents: Vec<u8>,
    /// What the file must hold now (compare-and-swap); checked when the commit starts and
    /// again right before the renames.
    pub expected: Expected,
}

/// Options of [`restore_with`].
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions<'a> {
    /// Reload command to run after writing.
    pub reload: Option<&'a [String]>,
    /// Retention after success (`--keep N`, N >= 1).
    pub keep: Option<usize>,
    /// Restore even when the files were edited after the snapshot's run wrote them.
    pub force: bool,
}

/// One file of a transaction, resolved and read.
struct Item {
    name: String,
    /// Path as given (reported).
    display: PathBuf,
    /// Real file written (absolute, canonical).
    target: PathBuf,
    current: Option<Current>,
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
            .or_else(|| current.as_ref().map(|c| c.meta))
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
            Some(c) => c.bytes != self.new || c.meta != self.meta,
            None => true,
        }
    }

    fn before_sha(&self) -> Option<String> {
        self.current.as_ref().map(|c| sha256_hex(&c.bytes))
    }

    /// Fail unless the file holds what the caller planned on.
    fn check_expected(&self, expected: &Expected) -> Result<(), TxnError> {
        let now = self.before_sha();
        let ok = match expected {
            Expected::Unchecked => true,
            Expected::Absent => now.is_none(),
            Expected::Sha256(s) => now.as_deref() == Some(s.as_str()),
        };
        if ok {
            return Ok(());
        }
        Err(TxnError::ChangedDuringApply {
            path: self.display.clone(),
            then_sha256: match expected {
                Expected::Sha256(s) => Some(s.clone()),
                _ => None,
            },
            now_sha256: now,
            identity: false,
        })
    }

    /// The compare of the compare-and-swap right before the renames: what was read here.
    fn expect(&self) -> Expect {
        match &self.current {
            Some(c) => Expect::File {
                sha256: sha256_hex(&c.bytes),
                id: c.id,
            },
            None => Expect::Absent,
        }
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

/// Under the lock, as a compare-and-swap: recover an unfinished earlier run, check that every
/// file still holds what the caller planned on ([`FileChange::expected`]), snapshot the
/// current bytes of every changed file, write all atomically (checking once more right
/// before the renames), verify, optionally reload; if reload fails, restore the previous
/// files (atomically), remove this run's snapshot (so that rollback targets the state before)
/// and return `Err(TxnError::ReloadFailed{report, restored: true, ..})`. Nothing changes (no
/// snapshot) when every `new_contents` equals the current bytes. `keep` (>= 1; 0 is refused)
/// applies retention after success and never removes the snapshot just taken. A file that
/// does not exist yet is created (0644, owned by the caller) and is not part of the snapshot.
/// Any failure after the first rename is `Err(TxnError::Incomplete{..})` with `changed: true`.
pub fn commit(
    lock: &ConfigLock,
    store: &SnapshotStore,
    changes: &[FileChange],
    meta: &SnapshotMeta,
    reload: Option<&[String]>,
    keep: Option<usize>,
) -> Result<CommitReport, TxnError> {
    if keep == Some(0) {
        return Err(TxnError::InvalidKeep);
    }
    let recovered = recover(lock)?;
    let items = changes
        .iter()
        .map(|c| {
            let it = Item::load(&c.name, &c.path, c.new_contents.clone(), None)?;
            it.check_expected(&c.expected)?;
            Ok(it)
        })
        .collect::<Result<Vec<_>, TxnError>>()?;
    let mut report = run(lock, store, items, meta, reload, keep)?;
    if let Some(r) = recovered {
        report.warnings.push(recovery_note(&r));
    }
    Ok(report)
}

/// [`restore_with`] without reload options' `force`: refuses when the files were edited
/// after the snapshot's run wrote them.
pub fn restore(
    lock: &ConfigLock,
    store: &SnapshotStore,
    id: &str,
    config_dir: &Path,
    reload: Option<&[String]>,
    keep: Option<usize>,
) -> Result<CommitReport, TxnError> {
    restore_with(
        lock,
        store,
        id,
        config_dir,
        &RestoreOptions {
            reload,
            keep,
            force: false,
        },
    )
}

/// Restore snapshot `id` (verified first; a corrupt or unsafe snapshot, or one of another
/// instance, is refused): unless `force`, refuse with [`TxnError::Drift`] when the files were
/// edited after the snapshot's run wrote them; snapshot the current state (action
/// `rollback`), then write the snapshot's files back atomically with mode and owner from the
/// manifest, optionally reload (restoring on failure as in [`commit`]). No-op (no new
/// snapshot) when the files already equal the snapshot.
pub fn restore_with(
    lock: &ConfigLock,
    store: &SnapshotStore,
    id: &str,
    config_dir: &Path,
    opts: &RestoreOptions<'_>,
) -> Result<CommitReport, TxnError> {
    if opts.keep == Some(0) {
        return Err(TxnError::InvalidKeep);
    }
    let recovered = recover(lock)?;
    let items = restore_items(store, id, config_dir)?;
    if !opts.force {
        let files = store.drift(id, config_dir)?;
        if !files.is_empty() {
            return Err(TxnError::Drift {
                id: id.to_string(),
                files,
            });
        }
    }
    let meta = SnapshotMeta {
        action: Action::Rollback,
        policies: Vec::new(),
        config_dir: config_dir.to_path_buf(),
        pftls_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let mut report = run(lock, store, items, &meta, opts.reload, opts.keep)?;
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
            current: it.current.map(|c| c.bytes),
            snapshot: it.new,
        })
        .collect())
}

impl SnapshotStore {
    /// The files of `config_dir` that no longer hold what the run that took snapshot `id`
    /// wrote (hand edits a rollback would discard), with both versions for a diff. Empty
    /// when nothing drifted or the snapshot predates drift records.
    pub fn drift(&self, id: &str, config_dir: &Path) -> Result<Vec<DriftFile>, TxnError> {
        let manifest = self.manifest(id)?;
        check_manifest(&manifest)?;
        let mut out = Vec::new();
        for a in &manifest.applied {
            // Only files the rollback would rewrite can lose edits.
            let Some(saved) = manifest.files.iter().find(|f| f.name == a.name) else {
                continue;
            };
            let applied = self.applied_bytes(id, a)?;
            let path = config_dir.join(&a.name);
            let current = read_current(&resolve_target(&path)?)?.map(|c| c.bytes);
            let current_sha256 = current.as_deref().map(sha256_hex);
            let unchanged = current_sha256.as_deref() == Some(a.sha256.as_str());
            // Already back to the snapshot's bytes (an earlier rollback): nothing to lose.
            let restored = current_sha256.as_deref() == Some(saved.sha256.as_str());
            if !unchanged && !restored {
                out.push(DriftFile {
                    name: a.name.clone(),
                    path,
                    applied_sha256: a.sha256.clone(),
                    current_sha256,
                    applied,
                    current,
                });
            }
        }
        Ok(out)
    }
}

fn restore_items(
    store: &SnapshotStore,
    id: &str,
    config_dir: &Path,
) -> Result<Vec<Item>, TxnError> {
    let manifest = store.manifest(id)?;
    // Verify everything before reading anything into a plan: a corrupt or unsafe snapshot is
    // refused whole.
    store.verify(id)?;
    let here = canonical_dir(config_dir);
    let theirs = canonical_dir(&manifest.config_dir);
    if here != theirs {
        return Err(TxnError::OtherInstance {
            id: id.to_string(),
            snapshot_dir: theirs,
            config_dir: here,
        });
    }
    let same_user = manifest.taken_by_uid == Some(euid());
    let items = manifest
        .files
        .iter()
        .map(|f| {
            let bytes = store.checked_bytes(id, f)?;
            let wanted = FileMeta {
                mode: f.mode,
                uid: f.uid,
                gid: f.gid,
            };
            let mut it = Item::load(&f.name, &config_dir.join(&f.name), bytes, Some(wanted))?;
            // The owner is restored only when it is the file's owner now, or when this user
            // took the snapshot of this very file (same instance, checked above).
            let owner_now = it
                .current
                .as_ref()
                .map(|c| (c.meta.uid, c.meta.gid))
                .unwrap_or_else(|| {
                    let d = FileMeta::default_new();
                    (d.uid, d.gid)
                });
            if (f.uid, f.gid) != owner_now && !same_user {
                return Err(TxnError::UnsafeSnapshot {
                    id: id.to_string(),
                    reason: format!(
                        "{} would get owner {}:{} instead of {}:{}, and the snapshot was not taken by you",
                        f.name, f.uid, f.gid, owner_now.0, owner_now.1
                    ),
                });
            }
            it.meta = wanted;
            Ok(it)
        })
        .collect::<Result<Vec<_>, TxnError>>()?;
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

/// The report once the new files are in place.
fn mark_written(report: &mut CommitReport) {
    report.changed = true;
}

/// The report once the old files are back.
fn mark_restored(report: &mut CommitReport) {
    report.changed = false;
    for f in &mut report.files {
        f.changed = false;
        f.after_sha256 = f.before_sha256.clone();
    }
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
            it.current.as_ref().map(|c| SnapshotFile {
                name: it.name.clone(),
                bytes: c.bytes.clone(),
                meta: c.meta,
            })
        })
        .collect();
    // What this run writes, for drift detection by a later rollback: every file of the
    // transaction as it will be afterwards.
    let applied: Vec<(String, Vec<u8>)> = items
        .iter()
        .map(|it| {
            let bytes = if it.changed() {
                it.new.clone()
            } else {
                it.current
                    .as_ref()
                    .map(|c| c.bytes.clone())
                    .unwrap_or_default()
            };
            (it.name.clone(), bytes)
        })
        .collect();
    let meta = SnapshotMeta {
        config_dir: lock.config_dir().to_path_buf(),
        ..meta.clone()
    };
    let snap = store.create(&meta, &snap_files, &applied)?;
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
            expect: it.expect(),
        })
        .collect();
    if let Err(failure) = write_group(lock.config_dir(), &plans) {
        if failure.intact {
            // Nothing changed: a snapshot of an apply that did not happen would only confuse
            // `rollback` and `backups list`.
            let _ = store.remove(&snap.id);
            return Err(failure.error);
        }
        if matches!(failure.error, TxnError::Verify { .. }) && undo(lock, &changed).is_ok() {
            // The new files were in place but one read back wrong: the old ones are back.
            let _ = store.remove(&snap.id);
            return Err(failure.error);
        }
        mark_written(&mut report);
        return Err(TxnError::Incomplete {
            report: Box::new(report),
            source: Box::new(failure.error),
        });
    }

    if let Some(argv) = reload {
        let r = run_reload(argv, DEFAULT_RELOAD_TIMEOUT);
        let ok = r.ok;
        report.reload = Some(r);
        if !ok {
            return Err(match undo(lock, &changed) {
                Ok(()) => {
                    mark_restored(&mut report);
                    // The files are as before this run: its snapshot must not become the
                    // default rollback target (rollback would then "change nothing").
                    if store.remove(&snap.id).is_ok() {
                        report.backup = None;
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
        match store.prune_protecting(k, Some(&snap.id)) {
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
            it.current.as_ref().map(|c| Planned {
                target: it.target.clone(),
                new: c.bytes.clone(),
                meta: c.meta,
                exists: true,
                expect: Expect::Nothing,
            })
        })
        .collect();
    write_group(lock.config_dir(), &plans).map_err(|f| f.error)?;
    for it in changed.iter().filter(|it| it.current.is_none()) {
        remove_if_exists(&it.target).map_err(|e| TxnError::io(&it.target, "remove new file", e))?;
    }
    Ok(())
}
