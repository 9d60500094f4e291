//! A snapshot store that cannot be turned against root, snapshots bound to their instance,
//! drift detection, retention that keeps the undo, special files refused quickly.

mod common;

use std::fs;
use std::os::unix::fs::{chown, MetadataExt};
use std::path::Path;
use std::time::{Duration, Instant};

use common::{chmod, require_root, Env, MAIN_OLD, MASTER_OLD};
use pftls_txn::*;
use serde_json::Value;

const NOBODY: u32 = 65534;
const T: Duration = Duration::from_secs(5);

fn apply(env: &Env, store: &SnapshotStore, main: &str) -> CommitReport {
    let lock = lock_config_dir(&env.config, T).unwrap();
    commit(
        &lock,
        store,
        &env.changes(main, "b\n"),
        &env.meta(),
        None,
        None,
    )
    .unwrap()
}

fn edit_manifest(snap: &Path, f: impl FnOnce(&mut Value)) {
    let p = snap.join(MANIFEST_NAME);
    let mut v: Value = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
    f(&mut v);
    fs::write(&p, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

#[test]
fn world_writable_or_foreign_backup_dir_is_refused_with_nothing_written() {
    if !require_root("world_writable_or_foreign_backup_dir_is_refused") {
        return;
    }
    for how in ["1777", "0770", "owner"] {
        let env = Env::new();
        fs::create_dir(&env.backups).unwrap();
        match how {
            "owner" => {
                chmod(&env.backups, 0o700);
                chown(&env.backups, Some(NOBODY), Some(NOBODY)).unwrap();
            }
            m => chmod(&env.backups, u32::from_str_radix(m, 8).unwrap()),
        }
        let lock = lock_config_dir(&env.config, T).unwrap();
        let err = commit(
            &lock,
            &env.store(),
            &env.changes("x\n", "y\n"),
            &env.meta(),
            None,
            None,
        )
        .unwrap_err();
        assert_eq!(err.kind(), "untrusted_backup_dir", "{how}: {err}");
        assert!(!err.changed());
        assert_eq!(env.read("main.cf"), MAIN_OLD, "{how}");
        assert_eq!(env.read("master.cf"), MASTER_OLD, "{how}");
        assert!(
            fs::read_dir(&env.backups).unwrap().next().is_none(),
            "{how}"
        );
        assert!(env.store().list().is_err());
    }
}

#[test]
fn planted_snapshots_are_refused_and_skipped() {
    if !require_root("planted_snapshots_are_refused_and_skipped") {
        return;
    }
    let env = Env::new();
    let store = env.store();
    let good = apply(&env, &store, "a = 1\n").backup.unwrap();
    // Each planted variant is a copy of a real snapshot, altered.
    let plant = |name: &str, f: &dyn Fn(&Path)| -> String {
        let id = format!("2099010{name}T000000Z");
        let dst = env.backups.join(&id);
        fs::create_dir(&dst).unwrap();
        chmod(&dst, 0o700);
        for n in ["main.cf", "master.cf", MANIFEST_NAME] {
            fs::copy(good.path.join(n), dst.join(n)).unwrap();
        }
        fs::create_dir(dst.join("applied")).unwrap();
        for n in ["main.cf", "master.cf"] {
            fs::copy(
                good.path.join("applied").join(n),
                dst.join("applied").join(n),
            )
            .unwrap();
        }
        edit_manifest(&dst, |v| v["id"] = Value::from(id.clone()));
        f(&dst);
        id
    };
    let lock = lock_config_dir(&env.config, T).unwrap();
    let cases: Vec<(String, &str)> = vec![
        (
            plant("1", &|d| chown(d, Some(NOBODY), Some(NOBODY)).unwrap()),
            "untrusted snapshot",
        ),
        (plant("2", &|d| chmod(d, 0o777)), "writable by others"),
        (
            plant("3", &|d| {
                edit_manifest(d, |v| v["files"][0]["mode"] = "4777".into())
            }),
            "set-id, sticky or world-writable",
        ),
        (
            plant("4", &|d| {
                edit_manifest(d, |v| {
                    v["files"][0]["uid"] = 1234.into();
                    v.as_object_mut().unwrap().remove("taken_by_uid");
                })
            }),
            "would get owner 1234",
        ),
        (
            plant("5", &|d| {
                fs::copy(d.join("main.cf"), d.join("dynamicmaps.cf")).unwrap();
                edit_manifest(d, |v| v["files"][0]["name"] = "dynamicmaps.cf".into())
            }),
            "not a file pftls manages",
        ),
        (
            plant("6", &|d| {
                chown(d.join(MANIFEST_NAME), Some(NOBODY), None).unwrap()
            }),
            "untrusted manifest",
        ),
    ];
    let before = (
        env.read("main.cf"),
        common::meta_of(&env.config.join("main.cf")),
    );
    for (id, why) in &cases {
        let err = restore_with(
            &lock,
            &store,
            id,
            &env.config,
            &RestoreOptions {
                force: true,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains(why), "{id}: {err}");
        assert_eq!(
            (
                env.read("main.cf"),
                common::meta_of(&env.config.join("main.cf"))
            ),
            before,
            "{id}: nothing written"
        );
    }
    // Listing still works; the untrusted ones are flagged; the default target is never a
    // planted one whose directory or manifest is untrusted.
    let list = store.list().unwrap();
    assert_eq!(list.len(), 7);
    assert!(list.iter().filter(|s| s.problem.is_some()).count() >= 2);
    // The same user taking the snapshot of the same file may restore another owner.
    let own = plant("7", &|d| {
        edit_manifest(d, |v| {
            v["files"][0]["uid"] = 1234.into();
        })
    });
    restore_with(
        &lock,
        &store,
        &own,
        &env.config,
        &RestoreOptions {
            force: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        fs::metadata(env.config.join("main.cf")).unwrap().uid(),
        1234
    );
}

#[test]
fn one_bad_old_snapshot_does_not_block_the_others() {
    let env = Env::new();
    let store = env.store();
    let first = apply(&env, &store, "a = 1\n").backup.unwrap();
    let second = apply(&env, &store, "a = 2\n").backup.unwrap();
    // The old one's manifest becomes a FIFO, its main.cf a link to /dev/zero.
    let m = first.path.join(MANIFEST_NAME);
    fs::remove_file(&m).unwrap();
    let c = std::ffi::CString::new(m.to_str().unwrap()).unwrap();
    // SAFETY: valid path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    fs::remove_file(first.path.join("main.cf")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", first.path.join("main.cf")).unwrap();
    let t = Instant::now();
    let list = store.list().unwrap();
    assert!(t.elapsed() < Duration::from_secs(1));
    assert_eq!(list.len(), 2);
    assert!(list[0].problem.is_some());
    assert_eq!(
        store.latest(Some(Action::Apply)).unwrap().unwrap().id,
        second.id
    );
    assert!(store.verify(&first.id).is_err());
    store.verify(&second.id).unwrap();
    assert!(store.prune(1).is_ok());
}

#[test]
fn special_files_as_config_are_refused_within_a_second() {
    let env = Env::new();
    let main = env.config.join("main.cf");
    fs::remove_file(&main).unwrap();
    let c = std::ffi::CString::new(main.to_str().unwrap()).unwrap();
    // SAFETY: valid path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let lock = lock_config_dir(&env.config, T).unwrap();
    let t = Instant::now();
    let err = commit(
        &lock,
        &env.store(),
        &env.changes("x\n", "y\n"),
        &env.meta(),
        None,
        None,
    )
    .unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(1));
    assert_eq!(err.kind(), "unsafe_file", "{err}");
    assert!(err.to_string().contains("FIFO"), "{err}");
    assert_eq!(env.read("master.cf"), MASTER_OLD);
    fs::remove_file(&main).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &main).unwrap();
    let err = commit(
        &lock,
        &env.store(),
        &env.changes("x\n", "y\n"),
        &env.meta(),
        None,
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("character device"), "{err}");
}

#[test]
fn keep_zero_is_refused_and_keep_one_keeps_the_new_snapshot() {
    let env = Env::new();
    let lock = lock_config_dir(&env.config, T).unwrap();
    let err = commit(
        &lock,
        &env.store(),
        &env.changes("x\n", "y\n"),
        &env.meta(),
        None,
        Some(0),
    )
    .unwrap_err();
    assert!(matches!(err, TxnError::InvalidKeep));
    assert_eq!(env.read("main.cf"), MAIN_OLD);
    let a = commit(
        &lock,
        &env.store(),
        &env.changes("x\n", "y\n"),
        &env.meta(),
        None,
        Some(1),
    )
    .unwrap();
    let b = commit(
        &lock,
        &env.store(),
        &env.changes("z\n", "w\n"),
        &env.meta(),
        None,
        Some(1),
    )
    .unwrap();
    let ids: Vec<String> = env
        .store()
        .list()
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, [b.backup.unwrap().id]);
    assert_eq!(b.pruned, [a.backup.unwrap().id]);
}

/// Two instances (config dirs) sharing one backup dir.
fn two_instances() -> (Env, std::path::PathBuf) {
    let env = Env::new();
    let other = env.tmp.path().join("postfix-out");
    fs::create_dir(&other).unwrap();
    fs::write(other.join("main.cf"), "b_main = 1\n").unwrap();
    fs::write(other.join("master.cf"), "b_master\n").unwrap();
    (env, other)
}

#[test]
fn snapshots_belong_to_their_instance() {
    let (env, other) = two_instances();
    let all = SnapshotStore::new(&env.backups);
    let a_store = all.clone().for_instance(&env.config);
    let b_store = all.clone().for_instance(&other);
    let a = apply(&env, &a_store, "a = 1\n").backup.unwrap();
    let lock_b = lock_config_dir(&other, T).unwrap();
    let b_changes = vec![FileChange {
        name: "main.cf".into(),
        path: other.join("main.cf"),
        new_contents: b"b_main = 2\n".to_vec(),
        expected: Expected::Unchecked,
    }];
    let mut meta = env.meta();
    meta.config_dir = other.clone();
    let b = commit(&lock_b, &b_store, &b_changes, &meta, None, None)
        .unwrap()
        .backup
        .unwrap();
    // The manifest records the canonical dir.
    let m = all.manifest(&a.id).unwrap();
    assert_eq!(m.config_dir, env.config.canonicalize().unwrap());
    // A's snapshot restored into B is refused, naming both dirs; B untouched.
    let err = restore(&lock_b, &b_store, &a.id, &other, None, None).unwrap_err();
    assert_eq!(err.kind(), "other_instance");
    let msg = err.to_string();
    assert!(
        msg.contains(env.config.canonicalize().unwrap().to_str().unwrap()),
        "{msg}"
    );
    assert!(
        msg.contains(other.canonicalize().unwrap().to_str().unwrap()),
        "{msg}"
    );
    assert_eq!(
        fs::read_to_string(other.join("main.cf")).unwrap(),
        "b_main = 2\n"
    );
    let err = preview_restore(&b_store, &a.id, &other).unwrap_err();
    assert_eq!(err.kind(), "other_instance");
    // Listing and picking per instance; --all sees both.
    let ids = |s: &SnapshotStore| -> Vec<String> {
        s.list().unwrap().into_iter().map(|i| i.id).collect()
    };
    assert_eq!(ids(&a_store), [a.id.as_str()]);
    assert_eq!(ids(&b_store), [b.id.as_str()]);
    assert_eq!(all.list_all().unwrap().len(), 2);
    assert_eq!(
        b_store.latest(Some(Action::Apply)).unwrap().unwrap().id,
        b.id
    );
    // Pruning A keeps B's snapshots.
    let a2 = apply(&env, &a_store, "a = 2\n").backup.unwrap();
    assert_eq!(a_store.prune(1).unwrap(), [a.id.as_str()]);
    assert_eq!(ids(&a_store), [a2.id]);
    assert_eq!(ids(&b_store), [b.id]);
}

#[test]
fn drift_is_detected_refused_and_forced() {
    let env = Env::new();
    let store = env.store().for_instance(&env.config);
    let snap = apply(&env, &store, "a = 1\n").backup.unwrap();
    assert!(store.drift(&snap.id, &env.config).unwrap().is_empty());
    let edited = "a = 1\nrelayhost = [relay]:587\n";
    fs::write(env.config.join("main.cf"), edited).unwrap();
    let drift = store.drift(&snap.id, &env.config).unwrap();
    assert_eq!(drift.len(), 1);
    assert_eq!(drift[0].name, "main.cf");
    assert_eq!(drift[0].applied, b"a = 1\n");
    assert_eq!(drift[0].current.as_deref(), Some(edited.as_bytes()));
    let lock = lock_config_dir(&env.config, T).unwrap();
    let err = restore(&lock, &store, &snap.id, &env.config, None, None).unwrap_err();
    assert_eq!(err.kind(), "drift");
    assert!(err.to_string().contains("--force"), "{err}");
    assert_eq!(env.read("main.cf"), edited, "nothing written");
    let r = restore_with(
        &lock,
        &store,
        &snap.id,
        &env.config,
        &RestoreOptions {
            force: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(r.changed);
    assert_eq!(env.read("main.cf"), MAIN_OLD);
}
