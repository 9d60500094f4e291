//! Fault injection at every step of a commit (`PFTLS_TXN_FAILPOINTS`): a child process (this
//! test binary re-invoked) runs one apply-like commit and crashes, fails or pauses at a
//! named step; the parent then kills it, edits files concurrently or runs a second apply, and
//! checks the end state: the files wholly old or wholly new, the journal gone, the right
//! snapshot as rollback target, and a truthful `changed`.

mod common;

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pftls_txn::*;
use serde_json::Value;

const CHILD_ENV: &str = "PFTLS_TXN_FP_CHILD";
const TEST_ENV: &str = "PFTLS_TXN_FP_TEST";

fn content(kind: &str, gen: u64) -> String {
    format!("gen = {gen}\n{kind}\n")
}

fn gen_of(kind: &str, text: &str) -> Option<u64> {
    let gen: u64 = text.lines().next()?.strip_prefix("gen = ")?.parse().ok()?;
    (content(kind, gen) == text).then_some(gen)
}

/// The state of the config dir: (main gen, master gen).
fn gens(config: &Path) -> (u64, u64) {
    let m = fs::read_to_string(config.join("main.cf")).unwrap();
    let s = fs::read_to_string(config.join("master.cf")).unwrap();
    (
        gen_of("main", &m).unwrap_or_else(|| panic!("main.cf torn: {m:?}")),
        gen_of("master", &s).unwrap_or_else(|| panic!("master.cf torn: {s:?}")),
    )
}

struct Fixture {
    tmp: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let config = tmp.path().join("postfix");
        fs::create_dir(&config).unwrap();
        fs::write(config.join("main.cf"), content("main", 0)).unwrap();
        fs::write(config.join("master.cf"), content("master", 0)).unwrap();
        fs::create_dir(tmp.path().join("fp")).unwrap();
        Fixture { tmp }
    }
    fn config(&self) -> PathBuf {
        self.tmp.path().join("postfix")
    }
    fn store(&self) -> SnapshotStore {
        SnapshotStore::new(self.tmp.path().join("backups")).for_instance(&self.config())
    }
    fn fp_dir(&self) -> PathBuf {
        self.tmp.path().join("fp")
    }
    /// No journal, no temp files or links left behind.
    fn assert_clean(&self) {
        let left: Vec<String> = common::names(&self.config())
            .into_iter()
            .filter(|n| n.contains(".pftls-") || n == JOURNAL_NAME)
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}

/// One apply-like run: lock, recover, read (plan), commit gen+1 with the compare-and-swap.
fn child(base: &Path) {
    let relative = std::env::var("PFTLS_TXN_FP_RELATIVE").is_ok();
    let config = if relative {
        std::env::set_current_dir(base).unwrap();
        PathBuf::from("postfix")
    } else {
        base.join("postfix")
    };
    let store = SnapshotStore::new(base.join("backups")).for_instance(&config);
    let lock = lock_config_dir(&config, Duration::from_secs(10)).unwrap();
    let out = |v: Value| println!("RESULT {v}");
    if let Err(e) = recover(&lock) {
        out(
            serde_json::json!({"ok": false, "kind": e.kind(), "changed": e.changed(), "msg": e.to_string()}),
        );
        return;
    }
    let main = fs::read(config.join("main.cf")).unwrap();
    let master = fs::read(config.join("master.cf")).unwrap();
    let gen = gen_of("main", &String::from_utf8_lossy(&main)).unwrap() + 1;
    let changes = vec![
        FileChange {
            name: "main.cf".into(),
            path: config.join("main.cf"),
            new_contents: content("main", gen).into_bytes(),
            expected: Expected::planned_on(true, &main),
        },
        FileChange {
            name: "master.cf".into(),
            path: config.join("master.cf"),
            new_contents: content("master", gen).into_bytes(),
            expected: Expected::planned_on(true, &master),
        },
    ];
    let meta = SnapshotMeta {
        action: Action::Apply,
        policies: vec![format!("gen{gen}")],
        config_dir: config.clone(),
        pftls_version: "test".into(),
    };
    let reload = std::env::var("PFTLS_TXN_FP_RELOAD")
        .ok()
        .map(|s| split_reload_command(&s));
    match commit(&lock, &store, &changes, &meta, reload.as_deref(), None) {
        Ok(r) => out(serde_json::json!({"ok": true, "changed": r.changed,
            "backup": r.backup.map(|b| b.id)})),
        Err(e) => out(
            serde_json::json!({"ok": false, "kind": e.kind(), "changed": e.changed(),
            "msg": e.to_string()}),
        ),
    }
}

/// If this process is a child, run the child and return true.
fn as_child() -> bool {
    match std::env::var(CHILD_ENV) {
        Ok(dir) => {
            child(Path::new(&dir));
            true
        }
        Err(_) => false,
    }
}

fn spawn(
    test: &str,
    fx: &Fixture,
    failpoints: &str,
    extra: &[(&str, &str)],
) -> std::process::Child {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args(["--exact", test, "--test-threads=1", "--nocapture"])
        .env(CHILD_ENV, fx.tmp.path())
        .env(TEST_ENV, test)
        .env(FAILPOINTS_ENV, failpoints)
        .env(FAILPOINT_DIR_ENV, fx.fp_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// Wait for the child; its exit status and its RESULT line (None when it crashed).
fn finish(mut ch: std::process::Child) -> (Option<i32>, Option<Value>) {
    let out = BufReader::new(ch.stdout.take().unwrap());
    let mut result = None;
    for line in out.lines().map_while(Result::ok).take(200) {
        if let Some(j) = line.find("RESULT ") {
            result = Some(serde_json::from_str(&line[j + 7..]).unwrap());
        }
    }
    let status = ch.wait().unwrap();
    (status.code(), result)
}

fn run(test: &str, fx: &Fixture, failpoints: &str) -> (Option<i32>, Option<Value>) {
    finish(spawn(test, fx, failpoints, &[]))
}

/// Wait (bounded) until a paused child reached failpoint `name`.
fn wait_reached(fx: &Fixture, name: &str) {
    let f = fx.fp_dir().join(format!("{name}.reached"));
    let start = Instant::now();
    while !f.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{name} never reached"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn release(fx: &Fixture, name: &str) {
    fs::write(fx.fp_dir().join(format!("{name}.go")), b"").unwrap();
}

fn recover_now(fx: &Fixture) -> Result<Option<Recovery>, TxnError> {
    let lock = lock_config_dir(&fx.config(), Duration::from_secs(5)).unwrap();
    recover(&lock)
}

/// A crash before the `committing` journal leaves the old files; from then on (even before
/// the first rename) recovery completes the new ones.
const BEFORE: &[&str] = &["prepare", "staged", "verify", "committing"];
const AFTER: &[&str] = &[
    "rename-0",
    "renamed-0",
    "rename-1",
    "renamed-1",
    "fsync-dirs",
    "unlink-old",
    "journal-remove",
    "journal-removed",
];

#[test]
fn crash_at_every_step_recovers_wholly_old_or_new() {
    if as_child() {
        return;
    }
    let test = "crash_at_every_step_recovers_wholly_old_or_new";
    for (step, new) in BEFORE
        .iter()
        .map(|s| (*s, false))
        .chain(AFTER.iter().map(|s| (*s, true)))
    {
        let fx = Fixture::new();
        let (code, res) = run(test, &fx, &format!("{step}=crash"));
        assert_eq!(code, Some(CRASH_STATUS), "{step}: {res:?}");
        recover_now(&fx).unwrap_or_else(|e| panic!("{step}: {e}"));
        let want = if new { 1 } else { 0 };
        assert_eq!(gens(&fx.config()), (want, want), "after crash at {step}");
        fx.assert_clean();
        // A second apply after the crash plans on the recovered state and succeeds.
        let (code, res) = run(test, &fx, "");
        let res = res.unwrap();
        assert_eq!(code, Some(0));
        assert_eq!(res["ok"], true, "{step}: {res}");
        assert_eq!(gens(&fx.config()), (want + 1, want + 1), "{step}");
        fx.assert_clean();
        // The rollback target is the second apply's snapshot, holding the recovered state.
        let latest = fx.store().latest(Some(Action::Apply)).unwrap().unwrap();
        assert_eq!(res["backup"], latest.id.as_str());
        let saved = fx.store().read_file(&latest.id, "main.cf").unwrap();
        assert_eq!(String::from_utf8(saved).unwrap(), content("main", want));
    }
}

#[test]
fn crash_between_renames_then_apply_planned_before_recovery_is_refused() {
    if as_child() {
        return;
    }
    let test = "crash_between_renames_then_apply_planned_before_recovery_is_refused";
    let fx = Fixture::new();
    let (code, _) = run(test, &fx, "renamed-0=crash");
    assert_eq!(code, Some(CRASH_STATUS));
    // Half-written on disk: main.cf new, master.cf old, journal present.
    let main = fs::read(fx.config().join("main.cf")).unwrap();
    let master = fs::read(fx.config().join("master.cf")).unwrap();
    assert_eq!(gen_of("main", &String::from_utf8_lossy(&main)), Some(1));
    assert_eq!(gen_of("master", &String::from_utf8_lossy(&master)), Some(0));
    // An apply that planned on that state (as the old CLI did, before recovering) must not
    // write master.cf from the stale copy: commit recovers, sees master.cf changed, refuses.
    let lock = lock_config_dir(&fx.config(), Duration::from_secs(5)).unwrap();
    let changes = vec![
        FileChange {
            name: "main.cf".into(),
            path: fx.config().join("main.cf"),
            new_contents: content("main", 2).into_bytes(),
            expected: Expected::planned_on(true, &main),
        },
        FileChange {
            name: "master.cf".into(),
            path: fx.config().join("master.cf"),
            new_contents: b"stale master planned on gen 0\n".to_vec(),
            expected: Expected::planned_on(true, &master),
        },
    ];
    let meta = SnapshotMeta {
        action: Action::Apply,
        policies: vec![],
        config_dir: fx.config(),
        pftls_version: "test".into(),
    };
    let err = commit(&lock, &fx.store(), &changes, &meta, None, None).unwrap_err();
    assert!(matches!(err, TxnError::ChangedDuringApply { .. }), "{err}");
    assert!(err.to_string().contains("changed during apply"), "{err}");
    assert!(!err.changed());
    // The recovery completed the first commit; nothing of the second was written.
    assert_eq!(gens(&fx.config()), (1, 1));
    fx.assert_clean();
    assert_eq!(fx.store().list().unwrap().len(), 1);
}

#[test]
fn injected_errors_tell_the_truth_about_changed() {
    if as_child() {
        return;
    }
    let test = "injected_errors_tell_the_truth_about_changed";
    // A failed rename (rename-1) is undone in-process: old files, nothing changed.
    for step in BEFORE.iter().chain(&["rename-0", "rename-1", "fsync-file"]) {
        let fx = Fixture::new();
        let (code, res) = run(test, &fx, &format!("{step}=error"));
        let res = res.unwrap_or_else(|| panic!("{step}: no result, exit {code:?}"));
        assert_eq!(res["ok"], false, "{step}: {res}");
        assert_eq!(res["changed"], false, "{step}: {res}");
        assert!(res["msg"].as_str().unwrap().contains("injected"), "{res}");
        assert_eq!(gens(&fx.config()), (0, 0), "{step}");
        fx.assert_clean();
        // No snapshot of an apply that did not happen.
        assert!(
            fx.store().latest(Some(Action::Apply)).unwrap().is_none(),
            "{step}"
        );
    }
    // After the first rename the files are new: changed must be true, the snapshot stays the
    // rollback target, and the next run finishes the cleanup.
    for step in [
        "renamed-0",
        "renamed-1",
        "fsync-dirs",
        "unlink-old",
        "journal-remove",
    ] {
        let fx = Fixture::new();
        let (_, res) = run(test, &fx, &format!("{step}=error"));
        let res = res.unwrap();
        assert_eq!(res["ok"], false, "{step}: {res}");
        assert_eq!(res["kind"], "incomplete", "{step}: {res}");
        assert_eq!(res["changed"], true, "{step}: {res}");
        assert!(res["msg"]
            .as_str()
            .unwrap()
            .contains("undo with: pftls rollback --to"));
        recover_now(&fx).unwrap();
        assert_eq!(gens(&fx.config()), (1, 1), "{step}");
        fx.assert_clean();
        let latest = fx.store().latest(Some(Action::Apply)).unwrap().unwrap();
        let saved = fx.store().read_file(&latest.id, "main.cf").unwrap();
        assert_eq!(String::from_utf8(saved).unwrap(), content("main", 0));
    }
}

#[test]
fn concurrent_hand_edit_before_the_swap_is_kept_and_nothing_written() {
    if as_child() {
        return;
    }
    let test = "concurrent_hand_edit_before_the_swap_is_kept_and_nothing_written";
    // Edit in place.
    let fx = Fixture::new();
    let ch = spawn(test, &fx, "verify=pause", &[]);
    wait_reached(&fx, "verify");
    let main = fx.config().join("main.cf");
    let mut text = fs::read_to_string(&main).unwrap();
    text.push_str("relayhost = [smarthost]:587\n");
    fs::write(&main, &text).unwrap();
    release(&fx, "verify");
    let (_, res) = finish(ch);
    let res = res.unwrap();
    assert_eq!(res["kind"], "changed_during_apply", "{res}");
    assert_eq!(res["changed"], false);
    assert_eq!(
        fs::read_to_string(&main).unwrap(),
        text,
        "the admin's edit is kept"
    );
    assert_eq!(
        fs::read_to_string(fx.config().join("master.cf")).unwrap(),
        content("master", 0)
    );
    fx.assert_clean();
    assert!(fx.store().list().unwrap().is_empty(), "no snapshot left");

    // Replaced by an editor (new inode, same bytes): also refused.
    let fx = Fixture::new();
    let ch = spawn(test, &fx, "verify=pause", &[]);
    wait_reached(&fx, "verify");
    let main = fx.config().join("master.cf");
    let tmp = fx.config().join("master.cf.swp");
    fs::copy(&main, &tmp).unwrap();
    fs::rename(&tmp, &main).unwrap();
    release(&fx, "verify");
    let (_, res) = finish(ch);
    let res = res.unwrap();
    assert_eq!(res["kind"], "changed_during_apply", "{res}");
    assert!(
        res["msg"].as_str().unwrap().contains("different file"),
        "{res}"
    );
    assert_eq!(gens(&fx.config()), (0, 0));
}

#[test]
fn second_apply_while_the_first_is_paused_waits_for_the_lock() {
    if as_child() {
        return;
    }
    let test = "second_apply_while_the_first_is_paused_waits_for_the_lock";
    let fx = Fixture::new();
    let first = spawn(test, &fx, "staged=pause", &[]);
    wait_reached(&fx, "staged");
    let second = spawn(test, &fx, "", &[]);
    std::thread::sleep(Duration::from_millis(300));
    release(&fx, "staged");
    let (_, a) = finish(first);
    let (_, b) = finish(second);
    assert_eq!(a.unwrap()["ok"], true);
    assert_eq!(b.unwrap()["ok"], true);
    // Serialised: gen 1 then gen 2, two snapshots holding gen 0 and gen 1.
    assert_eq!(gens(&fx.config()), (2, 2));
    let list = fx.store().list().unwrap();
    assert_eq!(list.len(), 2);
    let saved: Vec<String> = list
        .iter()
        .map(|s| String::from_utf8(fx.store().read_file(&s.id, "main.cf").unwrap()).unwrap())
        .collect();
    assert_eq!(saved, [content("main", 0), content("main", 1)]);
}

#[test]
fn stale_journal_is_cleared_by_pftls_with_an_explanation() {
    if as_child() {
        return;
    }
    let test = "stale_journal_is_cleared_by_pftls_with_an_explanation";
    let fx = Fixture::new();
    let (code, _) = run(test, &fx, "journal-remove=crash");
    assert_eq!(code, Some(CRASH_STATUS));
    assert!(fx.config().join(JOURNAL_NAME).exists());
    // The admin edits main.cf before the next run.
    let main = fx.config().join("main.cf");
    let edited = format!("{}relayhost = x\n", content("main", 1));
    fs::write(&main, &edited).unwrap();
    let err = recover_now(&fx).unwrap_err();
    assert_eq!(err.kind(), "stale_journal");
    let msg = err.to_string();
    assert!(msg.contains("was changed after that"), "{msg}");
    assert!(msg.contains("removed its stale journal"), "{msg}");
    assert!(msg.contains("run pftls again"), "{msg}");
    // pftls cleared it itself: the edit is kept, the next run proceeds.
    assert_eq!(fs::read_to_string(&main).unwrap(), edited);
    fx.assert_clean();
    assert!(recover_now(&fx).unwrap().is_none());

    // An unreadable journal (or a FIFO planted in its place) is moved aside, explained.
    for plant in ["garbage", "fifo"] {
        let jp = fx.config().join(JOURNAL_NAME);
        if plant == "fifo" {
            let c = std::ffi::CString::new(jp.to_str().unwrap()).unwrap();
            // SAFETY: valid path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        } else {
            fs::write(&jp, b"{ not json").unwrap();
        }
        let t = Instant::now();
        let err = recover_now(&fx).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(1));
        assert_eq!(err.kind(), "stale_journal", "{err}");
        assert!(err.to_string().contains("moved it to"), "{err}");
        assert!(!jp.exists());
        assert!(recover_now(&fx).unwrap().is_none());
        for n in common::names(&fx.config()) {
            if n.starts_with(".pftls-journal.bad-") {
                let p = fx.config().join(n);
                let _ = fs::remove_file(p);
            }
        }
    }
}

#[test]
fn relative_config_dir_journal_recovers_from_another_directory() {
    if as_child() {
        return;
    }
    let test = "relative_config_dir_journal_recovers_from_another_directory";
    let fx = Fixture::new();
    let ch = spawn(
        test,
        &fx,
        "renamed-0=crash",
        &[("PFTLS_TXN_FP_RELATIVE", "1")],
    );
    let (code, _) = finish(ch);
    assert_eq!(code, Some(CRASH_STATUS));
    let journal = fs::read_to_string(fx.config().join(JOURNAL_NAME)).unwrap();
    let j: Value = serde_json::from_str(&journal).unwrap();
    for e in j["entries"].as_array().unwrap() {
        for k in ["target", "temp"] {
            assert!(Path::new(e[k].as_str().unwrap()).is_absolute(), "{journal}");
        }
    }
    // This process runs elsewhere (its cwd is not the fixture).
    assert_ne!(std::env::current_dir().unwrap(), fx.tmp.path());
    recover_now(&fx).unwrap().unwrap();
    assert_eq!(gens(&fx.config()), (1, 1));
    fx.assert_clean();
}

#[test]
fn damaged_staged_file_is_rolled_back_not_installed() {
    if as_child() {
        return;
    }
    let test = "damaged_staged_file_is_rolled_back_not_installed";
    let fx = Fixture::new();
    let (code, _) = run(test, &fx, "rename-1=crash");
    assert_eq!(code, Some(CRASH_STATUS));
    let temp = common::names(&fx.config())
        .into_iter()
        .find(|n| n.starts_with(".master.cf.pftls-tmp-"))
        .unwrap();
    fs::write(fx.config().join(temp), b"half a file").unwrap();
    let r = recover_now(&fx).unwrap().unwrap();
    assert_eq!(r.action, RecoveryAction::RolledBack);
    assert_eq!(gens(&fx.config()), (0, 0));
    fx.assert_clean();
}

#[test]
fn failed_reload_removes_its_snapshot_so_rollback_targets_the_earlier_apply() {
    if as_child() {
        return;
    }
    let test = "failed_reload_removes_its_snapshot_so_rollback_targets_the_earlier_apply";
    let fx = Fixture::new();
    let (_, first) = run(test, &fx, "");
    let first = first.unwrap();
    assert_eq!(first["ok"], true);
    let ch = spawn(test, &fx, "", &[("PFTLS_TXN_FP_RELOAD", "false")]);
    let (_, res) = finish(ch);
    let res = res.unwrap();
    assert_eq!(res["kind"], "reload_failed", "{res}");
    assert_eq!(res["changed"], false);
    assert_eq!(gens(&fx.config()), (1, 1));
    let latest = fx.store().latest(Some(Action::Apply)).unwrap().unwrap();
    assert_eq!(latest.id, first["backup"].as_str().unwrap());
    assert_eq!(fx.store().list().unwrap().len(), 1);
}

#[test]
fn kill9_while_paused_between_renames_then_second_apply() {
    if as_child() {
        return;
    }
    let test = "kill9_while_paused_between_renames_then_second_apply";
    let fx = Fixture::new();
    let mut ch = spawn(test, &fx, "renamed-0=pause", &[]);
    wait_reached(&fx, "renamed-0");
    ch.kill().unwrap(); // SIGKILL while main.cf is new and master.cf old
    let (code, res) = finish(ch);
    assert_eq!((code, res), (None, None));
    // The second apply (its own process: lock, recover, plan, commit) builds on gen 1.
    let (code, res) = run(test, &fx, "");
    assert_eq!(code, Some(0));
    assert_eq!(res.unwrap()["ok"], true);
    assert_eq!(gens(&fx.config()), (2, 2));
    fx.assert_clean();
    let latest = fx.store().latest(Some(Action::Apply)).unwrap().unwrap();
    let saved = fx.store().read_file(&latest.id, "master.cf").unwrap();
    assert_eq!(String::from_utf8(saved).unwrap(), content("master", 1));
}
