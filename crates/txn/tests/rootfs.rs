//! Failure of the filesystem itself: disk full (small tmpfs) and read-only config directory.
//! Needs root to mount: fails under CI=true when not root, else skips with a notice.

mod common;

use std::fs;

use common::*;
use pftls_txn::*;

fn setup(fs_root: &std::path::Path, main: &str) -> std::path::PathBuf {
    let config = fs_root.join("postfix");
    fs::create_dir(&config).unwrap();
    fs::write(config.join("main.cf"), main).unwrap();
    fs::write(config.join("master.cf"), MASTER_OLD).unwrap();
    chmod(&config.join("main.cf"), 0o640);
    config
}

fn change(config: &std::path::Path, main: &[u8]) -> Vec<FileChange> {
    vec![
        FileChange {
            name: "main.cf".into(),
            path: config.join("main.cf"),
            new_contents: main.to_vec(),
            expected: Expected::Unchecked,
        },
        FileChange {
            name: "master.cf".into(),
            path: config.join("master.cf"),
            new_contents: b"new master\n".to_vec(),
            expected: Expected::Unchecked,
        },
    ]
}

#[test]
fn disk_full_leaves_originals_and_no_temp_files() {
    if !require_root("disk_full_leaves_originals_and_no_temp_files") {
        return;
    }
    let tfs = Tmpfs::mount("64k");
    let original = "x = 1\n".repeat(3000); // 18 KB
    let config = setup(tfs.path(), &original);
    let backups = tempfile::tempdir().unwrap();
    let store = SnapshotStore::new(backups.path().join("b"));
    let meta = SnapshotMeta {
        action: Action::Apply,
        policies: vec![],
        config_dir: config.clone(),
        pftls_version: "test".into(),
    };
    let lock = lock_config_dir(&config, LOCK_TIMEOUT).unwrap();
    let big = vec![b'y'; 200 * 1024];
    let err = commit(&lock, &store, &change(&config, &big), &meta, None, None).unwrap_err();
    let msg = err.to_string();
    println!("disk full error: {msg}");
    assert!(matches!(err, TxnError::Io { .. }), "{msg}");
    assert!(msg.contains("No space left on device"), "{msg}");
    assert!(msg.contains("main.cf"), "{msg}");
    assert_eq!(
        fs::read_to_string(config.join("main.cf")).unwrap(),
        original
    );
    assert_eq!(
        fs::read_to_string(config.join("master.cf")).unwrap(),
        MASTER_OLD
    );
    assert_eq!(meta_of(&config.join("main.cf")).0, 0o640);
    assert_eq!(
        names(&config),
        ["main.cf", "master.cf"],
        "no temp files, no journal"
    );
    assert!(
        store.list().unwrap().is_empty(),
        "no snapshot of a change that did not happen"
    );

    // The snapshot store itself on the full filesystem: also a clean error.
    let store2 = SnapshotStore::new(tfs.path().join("backups"));
    fs::write(tfs.path().join("filler"), vec![0u8; 40 * 1024]).unwrap_or(());
    let err = commit(
        &lock,
        &store2,
        &change(&config, b"small\n"),
        &meta,
        None,
        None,
    );
    if let Err(e) = &err {
        println!("store on full disk: {e}");
        assert_eq!(
            fs::read_to_string(config.join("main.cf")).unwrap(),
            original
        );
        assert_eq!(names(&config), ["main.cf", "master.cf"]);
        assert!(store2.list().unwrap().iter().all(|i| i.complete));
    } else {
        // Enough room after all: then it must have been a complete, correct commit.
        assert_eq!(
            fs::read_to_string(config.join("main.cf")).unwrap(),
            "small\n"
        );
    }
}

#[test]
fn read_only_config_dir_is_an_error_and_changes_nothing() {
    if !require_root("read_only_config_dir_is_an_error_and_changes_nothing") {
        return;
    }
    let tfs = Tmpfs::mount("1m");
    let config = setup(tfs.path(), MAIN_OLD);
    tfs.remount("ro");
    let backups = tempfile::tempdir().unwrap();
    let store = SnapshotStore::new(backups.path().join("b"));
    let meta = SnapshotMeta {
        action: Action::Apply,
        policies: vec![],
        config_dir: config.clone(),
        pftls_version: "test".into(),
    };
    let lock = lock_config_dir(&config, LOCK_TIMEOUT).unwrap();
    let err = commit(&lock, &store, &change(&config, b"new\n"), &meta, None, None).unwrap_err();
    let msg = err.to_string();
    println!("read-only error: {msg}");
    assert!(msg.contains("Read-only file system"), "{msg}");
    assert!(msg.contains(config.to_str().unwrap()), "{msg}");
    assert_eq!(
        fs::read_to_string(config.join("main.cf")).unwrap(),
        MAIN_OLD
    );
    assert_eq!(names(&config), ["main.cf", "master.cf"]);
    assert!(store.list().unwrap().is_empty());
    tfs.remount("rw");
}
