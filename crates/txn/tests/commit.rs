//! commit / restore / preview / snapshots / lock, against a real filesystem.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::Duration;

use common::*;
use pftls_txn::*;

#[test]
fn commit_writes_both_files_and_keeps_mode_owner_xattrs() {
    let env = Env::new();
    let main = env.config.join("main.cf");
    let master = env.config.join("master.cf");
    chmod(&main, 0o640);
    chmod(&master, 0o644);
    let root = is_root();
    if root {
        std::os::unix::fs::chown(&main, Some(1234), Some(5678)).unwrap();
        std::os::unix::fs::chown(&master, Some(0), Some(4321)).unwrap();
    } else {
        eprintln!("NOTICE: not root: owner preservation only checked for our own uid");
    }
    // user.* works on ext4 and tmpfs; security.selinux is settable by root on this kernel's
    // ext4/tmpfs even without an SELinux policy loaded.
    set_xattr(&main, "user.pftls_test", b"keep-me").expect("set user xattr");
    let label = b"system_u:object_r:postfix_etc_t:s0\0";
    let selinux = set_xattr(&main, "security.selinux", label).is_ok();
    if !selinux {
        eprintln!("NOTICE: filesystem refuses security.selinux: only user.* copy is proven");
    }
    let before_main = meta_of(&main);
    let before_master = meta_of(&master);
    let inode_before = fs::metadata(&main).unwrap().ino();

    let lock = lock_config_dir(&env.config, LOCK_TIMEOUT).unwrap();
    let report = commit(
        &lock,
        &env.store(),
        &env.changes(
            "smtpd_tls_security_level = may\n",
            "smtp inet n - n - - smtpd\n",
        ),
        &env.meta(),
        None,
        None,
    )
    .unwrap();
    drop(lock);

    assert!(report.changed);
    assert_eq!(env.read("main.cf"), "smtpd_tls_security_level = may\n");
    assert_eq!(env.read("master.cf"), "smtp inet n - n - - smtpd\n");
    assert_ne!(
        fs::metadata(&main).unwrap().ino(),
        inode_before,
        "replaced by rename"
    );
    assert_eq!(meta_of(&main), before_main);
    assert_eq!(meta_of(&master), before_master);
    assert_eq!(
        get_xattr(&main, "user.pftls_test").as_deref(),
        Some(&b"keep-me"[..])
    );
    if selinux {
        assert_eq!(
            get_xattr(&main, "security.selinux").as_deref(),
            Some(&label[..])
        );
    }
    // Nothing left behind in the config dir: no temp, no old link, no journal, no lock file.
    assert_eq!(names(&env.config), ["main.cf", "master.cf"]);

    // Report.
    assert_eq!(report.files.len(), 2);
    assert!(report.files.iter().all(|f| f.changed));
    assert_eq!(
        report.files[0].before_sha256.as_deref(),
        Some(sha256_hex(MAIN_OLD.as_bytes()).as_str())
    );
    assert_eq!(
        report.files[0].after_sha256.as_deref(),
        Some(sha256_hex(b"smtpd_tls_security_level = may\n").as_str())
    );
    let backup = report.backup.clone().expect("snapshot taken");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["backup"]["id"], backup.id.as_str());
    assert_eq!(json["changed"], true);

    // Snapshot layout and manifest.
    assert_eq!(fs::metadata(&env.backups).unwrap().mode() & 0o777, 0o700);
    assert_eq!(fs::metadata(&backup.path).unwrap().mode() & 0o777, 0o700);
    assert_eq!(
        names(&backup.path),
        ["applied", "main.cf", "manifest.json", "master.cf"]
    );
    assert_eq!(
        fs::metadata(backup.path.join("main.cf")).unwrap().mode() & 0o777,
        0o600
    );
    assert_eq!(
        fs::read_to_string(backup.path.join("main.cf")).unwrap(),
        MAIN_OLD
    );
    let m: serde_json::Value =
        serde_json::from_slice(&fs::read(backup.path.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["id"], backup.id.as_str());
    assert_eq!(m["action"], "apply");
    assert_eq!(m["policies"][0], "baseline");
    assert_eq!(m["pftls_version"], "0.1.0-test");
    assert!(m["host"].as_str().is_some_and(|h| !h.is_empty()));
    assert!(chrono::DateTime::parse_from_rfc3339(m["created"].as_str().unwrap()).is_ok());
    assert_eq!(m["config_dir"], env.config.to_str().unwrap());
    let f0 = &m["files"][0];
    assert_eq!(f0["name"], "main.cf");
    assert_eq!(f0["mode"], "0640");
    assert_eq!(f0["uid"], before_main.1);
    assert_eq!(f0["gid"], before_main.2);
    assert_eq!(f0["size"], MAIN_OLD.len());
    assert_eq!(f0["sha256"], sha256_hex(MAIN_OLD.as_bytes()).as_str());
    env.store().verify(&backup.id).unwrap();
    assert!(is_snapshot_id(&backup.id));
}

#[test]
fn symlinked_main_cf_keeps_the_link_and_changes_the_target() {
    let env = Env::new();
    let real_dir = env.tmp.path().join("real");
    fs::create_dir(&real_dir).unwrap();
    let real = real_dir.join("main.cf");
    fs::write(&real, MAIN_OLD).unwrap();
    chmod(&real, 0o640);
    let link = env.config.join("main.cf");
    fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink("../real/main.cf", &link).unwrap();

    let lock = lock_config_dir(&env.config, LOCK_TIMEOUT).unwrap();
    let report = commit(
        &lock,
        &env.store(),
        &env.changes("new main\n", MASTER_OLD),
        &env.meta(),
        None,
        None,
    )
    .unwrap();
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        fs::read_link(&link).unwrap().to_str(),
        Some("../real/main.cf")
    );
    assert_eq!(fs::read_to_string(&real).unwrap(), "new main\n");
    assert_eq!(meta_of(&real).0, 0o640);
    assert_eq!(report.files[0].path, link);
    assert!(!report.files[1].changed, "master.cf unchanged");
    // Only the changed file is in the snapshot; no temp files next to the real target.
    let snap = report.backup.unwrap();
    assert_eq!(names(&snap.path), ["applied", "main.cf", "manifest.json"]);
    assert_eq!(names(&real_dir), ["main.cf"]);

    // Restoring through the link also keeps it.
    restore(&lock, &env.store(), &snap.id, &env.config, None, None).unwrap();
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read_to_string(&real).unwrap(), MAIN_OLD);
}

#[test]
fn nothing_to_change_writes_nothing() {
    let env = Env::new();
    let t_main = mtime(&env.config.join("main.cf"));
    let t_master = mtime(&env.config.join("master.cf"));
    let t_dir = mtime(&env.config);
    std::thread::sleep(Duration::from_millis(20));
    let lock = lock_config_dir(&env.config, LOCK_TIMEOUT).unwrap();
    let report = commit(
        &lock,
        &env.store(),
        &env.changes(MAIN_OLD, MASTER_OLD),
        &env.meta(),
        Some(&["false".to_string()]),
        Some(1),
    )
    .unwrap();
    assert!(!report.changed);
    assert!(report.backup.is_none());
    assert!(report.reload.is_none(), "no reload when nothing changed");
    assert!(!env.backups.exists(), "backup dir not even created");
    assert_eq!(mtime(&env.config.join("main.cf")), t_main);
    assert_eq!(mtime(&env.config.join("master.cf")), t_master);
    assert_eq!(mtime(&env.config), t_dir);
    assert_eq!(names(&env.config), ["main.cf", "master.cf"]);
}

#[test]
fn restore_is_byte_identical_and_idempotent() {
    let env = Env::new();
    let main = env.config.join("main.cf");
    chmod(&main, 0o640);
    if is_root() {
        std::os::unix::fs::chown(&main, Some(1234), Some(5678)).unwrap();
    }
    let orig_meta = meta_of(&main);
    let store = env.store();
    let lock = lock_config_dir(&env.config, LOCK_TIMEOUT).unwrap();
    let r1 = commit(
        &lock,
        &store,
        &env.changes("a = 1\n", "b\n"),
        &env.meta(),
        None,
        None,
    )
    .unwrap();
    let id = r1.backup.unwrap().id;
    // Someone also changes the mode afterwards: restore must bring back the manifest's mode.
    chmod(&main, 0o600);

    let latest = store.latest(Some(Action::Apply)).unwrap().unwrap();
    assert_eq!(latest.id, id);
    let preview = preview_restore(&store, &id, &env.config).unwrap();
    assert!(preview.iter().all(|p| p.changed));
    assert_eq!(preview[0].current.as_deref(), Some(&b"a = 1\n"[..]));
    assert_eq!(preview[0].snapshot, MAIN_OLD.as_bytes());
    assert_eq!(env.read("main.cf"), "a = 1\n", "preview writes nothing");

    let r2 = restore(&lock, &store, &id, &env.config, None, None).unwrap();
    assert!(r2.changed);
    assert_eq!(env.read("main.cf"), MAIN_OLD);
    assert_eq!(env.read("master.cf"), MASTER_OLD);
    assert_eq!(meta_of(&main), orig_meta);
    let rb = r2.backup.unwrap();
    let rb_manifest = store.get(&rb.id).unwrap().manifest.unwrap();
    assert_eq!(rb_manifest.action, Action::Rollback);
    assert_eq!(store.read_file(&rb.id, "main.cf").unwrap(), b"a = 1\n");
    assert_eq!(rb_manifest.files[0].mode, 0o600);

    // Twice: no-op, no new snapshot.
    let n = store.list().unwrap().len();
    let r3 = restore(&lock, &store, &id, &env.config, None, None).unwrap();
    assert!(!r3.changed);
    assert!(r3.backup.is_none());
    assert_eq!(store.list().unwrap().len(), n);
    assert!(preview_restore(&store, &id, &env.config)
        .unwrap()
        .iter()
        .all(|p| !p.changed));

    // The rollback can itself be undone with --to.
    restore(&lock, &store, &rb.id, &env.config, None, None).unwrap();
    assert_eq!(env.read("main.cf"), "a = 1\n");
    assert_eq!(meta_of(&main).0, 0o600);
    assert_eq!(names(&env.config), ["main.cf", "master.cf"]);
}

/// Each corruption is refused with an error naming the file, and nothing is written.
#[test]
fn corrupt_snapshots_are_refused() {
    type Corrupt = fn(&std::path::Path);
    let cases: [(&str, Corrupt, &str); 4] = [
        (
            "flip a byte",
            |p| {
                let f = p.join("main.cf");
                let mut b = fs::read(&f).unwrap();
                b[3] ^= 0x01;
                fs::write(&f, b).unwrap();
            },
            "main.cf",
        ),
        (
            "delete a file",
            |p| fs::remove_file(p.join("master.cf")).unwrap(),
            "master.cf",
        ),
        (
            "truncate manifest",
            |p| {
                let f = p.join("manifest.json");
                let b = fs::read(&f).unwrap();
                fs::write(&f, &b[..b.len() / 2]).unwrap();
            },
            "manifest.json",
        ),
        (
            "append to a file",
            |p| {
                let f = p.join("main.cf");
                let mut b = fs::read(&f).unwrap();
                b.push(b'\n');
                fs::write(&f, b).unwrap();
            },
            "main.cf",
        ),
    ];
    for (what, corrupt, file) in cases {
        let env = Env::new();
        let store = env.store();
        let lock = lock_config_dir(&env.config, LOCK_TIMEOUT).unwrap();
        let id = commit(
            &lock,
            &store,
            &env.changes("x\n", "y\n"),
            &env.meta(),
            None,
            None,
        )
        .unwrap()
        .backup
        .unwrap()
        .id;
        corrupt(&store.get(&id).unwrap().path);
        let t = mtime(&env.config.join("main.cf"));
        let n = store.list().unwrap().len();

        let err = restore(&lock, &store, &id, &env.config, None, None).unwrap_err();
        assert!(matches!(err, TxnError::Corrupt { .. }), "{what}: {err}");
        assert_eq!(err.kind(), "corrupt_snapshot");
        let msg = err.to_string();
        assert!(msg.contains(&id) && msg.contains(file), "{what}: {msg}");
        assert!(store.verify(&id).is_err(), "{what}");
        assert!(preview_restore(&store, &id, &env.config).is_err(), "{what}");
        assert_eq!(env.read("main.cf"), "x\n", "{what}: nothing written");
        assert_eq!(env.read("master.cf"), "y\n");
        assert_eq!(mtime(&env.config.join("main.cf")), t);
        assert_eq!(
            store.list().unwrap().len(),
            n,
            "{what}: no rollback snapshot"
        );
    }
}

#[test]
fn failing_reload_restores_the_originals() {
    let env = Env::new();
    let store = env.store();
    let lock = lock_config_dir(&env.config, LOCK_TIMEOUT).unwrap();
    let argv = vec![
        "sh".to_string(),
        "-c".into(),
        "echo fatal: bad config >&2; exit 1".into(),
    ];
    let err = commit(
        &lock,
        &store,
        &env.changes("bad\n", "bad\n"),
        &env.meta(),
        Some(&argv),
        None,
    )
    .unwrap_err();
    let TxnError::ReloadFailed {
        report,
        restored,
        restore_error,
    } = &err
    else {
        panic!("expected ReloadFailed, got {err}");
    };
    assert!(restored, "{restore_error:?}");
    let reload = report.reload.as_ref().unwrap();
    assert!(!reload.ok);
    assert!(
        reload.output.contains("fatal: bad config"),
        "{}",
        reload.output
    );
    assert!(!report.changed);
    assert!(err.to_string().contains("fatal: bad config"));
    assert!(err.to_string().contains("restored"));
    assert_eq!(env.read("main.cf"), MAIN_OLD);
    assert_eq!(env.read("master.cf"), MASTER_OLD);
    assert_eq!(names(&env.config), ["main.cf", "master.cf"]);

    // Plain `false` too, and a succeeding reload reports its output.
    let err = commit(
        &lock,
        &store,
        &env.changes("b\n", "b\n"),
        &env.meta(),
        Some(&["false".into()]),
        None,
    )
    .unwrap_err();
    assert!(matches!(err, TxnError::ReloadFailed { restored: true, .. }));
    assert_eq!(env.read("main.cf"), MAIN_OLD);
    let ok = vec!["echo".to_string(), "reloaded".into()];
    let r = commit(
        &lock,
        &store,
        &env.changes("c\n", "c\n"),
        &env.meta(),
        Some(&ok),
        None,
    )
    .unwrap();
    let rr = r.reload.unwrap();
    assert!(rr.ok);
    assert_eq!(rr.output, "reloaded");
    assert_eq!(rr.command, "echo reloaded");
    assert_eq!(env.read("main.cf"), "c\n");
}

#[test]
fn lock_timeout_is_clear_and_leaves_no_file() {
    let env = Env::new();
    let held = lock_config_dir(&env.config, LOCK_TIMEOUT).unwrap();
    let err = lock_config_dir(&env.config, Duration::from_millis(300)).unwrap_err();
    assert!(matches!(err, TxnError::LockTimeout { .. }));
    let msg = err.to_string();
    let dir = env.config.canonicalize().unwrap();
    assert_eq!(
        msg,
        format!(
            "another pftls run holds the lock on {} (waited 0.3s)",
            dir.display()
        )
    );
    // A waiter gets the lock once it is released.
    let cfg = env.config.clone();
    let waiter = std::thread::spawn(move || lock_config_dir(&cfg, Duration::from_secs(10)).is_ok());
    std::thread::sleep(Duration::from_millis(100));
    drop(held);
    assert!(waiter.join().unwrap());
    assert_eq!(names(&env.config), ["main.cf", "master.cf"]);
    assert_eq!(
        lock_config_dir(&env.tmp.path().join("missing"), LOCK_TIMEOUT)
            .unwrap_err()
            .kind(),
        "io"
    );
}

#[test]
fn list_latest_and_prune() {
    let env = Env::new();
    let store = env.store();
    assert!(store.list().unwrap().is_empty());
    assert!(store.latest(None).unwrap().is_none());
    assert!(matches!(
        store.get("20200101T000000Z"),
        Err(TxnError::NoSuchSnapshot { .. })
    ));
    assert!(matches!(
        store.get("../postfix"),
        Err(TxnError::NoSuchSnapshot { .. })
    ));
    let lock = lock_config_dir(&env.config, LOCK_TIMEOUT).unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        let r = commit(
            &lock,
            &store,
            &env.changes(&format!("m{i}\n"), MASTER_OLD),
            &env.meta(),
            None,
            None,
        )
        .unwrap();
        ids.push(r.backup.unwrap().id);
    }
    // An old incomplete snapshot (crashed run) and a brand-new one (run in progress).
    fs::create_dir(env.backups.join("20000101T000000Z")).unwrap();
    fs::create_dir(env.backups.join("29991231T235959Z")).unwrap();
    let list = store.list().unwrap();
    let listed: Vec<&str> = list.iter().map(|i| i.id.as_str()).collect();
    let mut expected = vec!["20000101T000000Z"];
    expected.extend(ids.iter().map(String::as_str));
    expected.push("29991231T235959Z");
    assert_eq!(listed, expected, "oldest first");
    assert!(!list[0].complete && list[0].problem.as_deref().unwrap().contains("incomplete"));
    assert_eq!(
        store.latest(Some(Action::Apply)).unwrap().unwrap().id,
        ids[4]
    );
    assert!(store.latest(Some(Action::Rollback)).unwrap().is_none());
    let mut uniq = ids.clone();
    uniq.dedup();
    assert_eq!(uniq.len(), 5);

    let removed = store.prune(2).unwrap();
    let mut want = vec!["20000101T000000Z".to_string()];
    want.extend(ids[..3].iter().cloned());
    assert_eq!(removed, want);
    let left: Vec<String> = store.list().unwrap().into_iter().map(|i| i.id).collect();
    assert_eq!(
        left,
        [
            ids[3].clone(),
            ids[4].clone(),
            "29991231T235959Z".to_string()
        ]
    );

    // --keep on commit applies retention after success.
    let r = commit(
        &lock,
        &store,
        &env.changes("last\n", MASTER_OLD),
        &env.meta(),
        None,
        Some(1),
    )
    .unwrap();
    assert_eq!(r.pruned, [ids[3].clone(), ids[4].clone()]);
    assert_eq!(
        store.list().unwrap().iter().filter(|i| i.complete).count(),
        1
    );
}

#[test]
fn invalid_and_duplicate_names_are_rejected() {
    let env = Env::new();
    let lock = lock_config_dir(&env.config, LOCK_TIMEOUT).unwrap();
    let mut ch = env.changes("x\n", "y\n");
    ch[0].name = "../main.cf".into();
    let err = commit(&lock, &env.store(), &ch, &env.meta(), None, None).unwrap_err();
    assert!(matches!(err, TxnError::InvalidName { .. }), "{err}");
    let mut ch = env.changes("x\n", "y\n");
    ch[1].path = ch[0].path.clone();
    ch[1].name = "other".into();
    let err = commit(&lock, &env.store(), &ch, &env.meta(), None, None).unwrap_err();
    assert!(matches!(err, TxnError::Duplicate { .. }), "{err}");
    assert_eq!(env.read("main.cf"), MAIN_OLD);
    assert!(!env.backups.exists());
}

/// A rename that fails after another file was already renamed: the first file is put back
/// (its original inode, so mode/owner/xattrs are exactly as before). Uses `chattr +i`.
#[test]
fn failed_rename_midway_puts_renamed_files_back() {
    if !require_root("failed_rename_midway_puts_renamed_files_back") {
        return;
    }
    let env = Env::new();
    let main = env.config.join("main.cf");
    let master = env.config.join("master.cf");
    let ino = fs::metadata(&main).unwrap().ino();
    let st = std::process::Command::new("chattr")
        .arg("+i")
        .arg(&master)
        .status()
        .unwrap();
    assert!(
        st.success(),
        "chattr +i (needs ext4/xfs/btrfs and CAP_LINUX_IMMUTABLE)"
    );
    let lock = lock_config_dir(&env.config, LOCK_TIMEOUT).unwrap();
    let res = commit(
        &lock,
        &env.store(),
        &env.changes("new\n", "new\n"),
        &env.meta(),
        None,
        None,
    );
    let _ = std::process::Command::new("chattr")
        .arg("-i")
        .arg(&master)
        .status();
    let err = res.unwrap_err();
    assert!(err.to_string().contains("master.cf"), "{err}");
    assert_eq!(env.read("main.cf"), MAIN_OLD);
    assert_eq!(
        fs::metadata(&main).unwrap().ino(),
        ino,
        "original inode back in place"
    );
    assert_eq!(env.read("master.cf"), MASTER_OLD);
    assert_eq!(names(&env.config), ["main.cf", "master.cf"]);
    assert_eq!(
        fs::metadata(&main).unwrap().permissions().mode() & 0o777,
        0o644
    );
}

#[test]
fn new_file_is_created_and_removed_again_when_reload_fails() {
    let env = Env::new();
    let lock = lock_config_dir(&env.config, LOCK_TIMEOUT).unwrap();
    let mut ch = env.changes(MAIN_OLD, MASTER_OLD);
    ch.push(FileChange {
        name: "tls_policy".into(),
        path: env.config.join("tls_policy"),
        new_contents: b"example.com encrypt\n".to_vec(),
        expected: Expected::Unchecked,
    });
    let err = commit(
        &lock,
        &env.store(),
        &ch,
        &env.meta(),
        Some(&["false".into()]),
        None,
    )
    .unwrap_err();
    assert!(
        matches!(err, TxnError::ReloadFailed { restored: true, .. }),
        "{err}"
    );
    assert_eq!(names(&env.config), ["main.cf", "master.cf"]);

    let r = commit(&lock, &env.store(), &ch, &env.meta(), None, None).unwrap();
    assert!(r.changed);
    assert_eq!(r.files[2].before_sha256, None);
    assert_eq!(
        fs::read_to_string(env.config.join("tls_policy")).unwrap(),
        "example.com encrypt\n"
    );
    assert_eq!(meta_of(&env.config.join("tls_policy")).0, 0o644);
    // Unchanged files and the new one: the snapshot holds nothing but the manifest and the
    // record of what was written.
    let snap = r.backup.unwrap();
    assert_eq!(names(&snap.path), ["applied", "manifest.json"]);
}

#[test]
fn manifest_with_path_traversal_is_corrupt() {
    let env = Env::new();
    let store = env.store();
    let lock = lock_config_dir(&env.config, LOCK_TIMEOUT).unwrap();
    let snap = commit(
        &lock,
        &store,
        &env.changes("x\n", "y\n"),
        &env.meta(),
        None,
        None,
    )
    .unwrap()
    .backup
    .unwrap();
    let mpath = snap.path.join("manifest.json");
    let text = fs::read_to_string(&mpath).unwrap();
    fs::write(
        &mpath,
        text.replace(
            "\"name\": \"main.cf\"",
            "\"name\": \"../../postfix/main.cf\"",
        ),
    )
    .unwrap();
    let err = restore(&lock, &store, &snap.id, &env.config, None, None).unwrap_err();
    assert!(matches!(err, TxnError::UnsafeSnapshot { .. }), "{err}");
    assert!(
        err.to_string().contains("not a file pftls manages"),
        "{err}"
    );
    assert_eq!(env.read("main.cf"), "x\n");
}
