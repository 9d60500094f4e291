//! The transaction layer through the CLI on copies of the examples: instance-bound snapshots,
//! drift refused unless --force, truthful `changed` after a late failure, reload that does
//! not hang, special and foreign files refused without quoting them.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::Sandbox;

const OVER: &str = "centos-stream-10/over-hardened";
const POLICY: &str = "inbound-opportunistic";

/// A second sandbox whose config dir is another instance sharing `a`'s backup dir.
fn sibling(a: &Sandbox) -> Sandbox {
    let mut b = Sandbox::new(OVER);
    b.backups = a.backups.clone();
    b
}

#[test]
fn rollback_of_another_instance_is_refused_and_listing_is_per_instance() {
    let a = Sandbox::new(OVER);
    let b = sibling(&a);
    let (code, v) = a.json(&["apply", "-p", POLICY]);
    assert_eq!(code, 0, "{v}");
    let id = v["backup"]["id"].as_str().unwrap().to_string();
    let b_main = b.main_cf();
    // B has no apply of its own: nothing to roll back (A's snapshot is not a candidate).
    let (code, e) = b.json(&["rollback"]);
    assert_eq!(code, 1, "{e}");
    assert_eq!(b.main_cf(), b_main);
    // Asking for A's snapshot by id is refused, naming both dirs.
    let (code, e) = b.json(&["rollback", "--to", &id]);
    assert_eq!(code, 1, "{e}");
    assert_eq!(e["error"]["kind"], "other_instance", "{e}");
    let msg = e["error"]["message"].as_str().unwrap();
    for dir in [&a.conf, &b.conf] {
        assert!(
            msg.contains(dir.canonicalize().unwrap().to_str().unwrap()),
            "{msg}"
        );
    }
    assert_eq!(b.main_cf(), b_main);
    let (code, e) = b.json(&["rollback", "--dry-run", "--to", &id]);
    assert_eq!(code, 1, "{e}");
    // backups list is per instance; --all shows the config dir of each.
    let (_, l) = b.json(&["backups", "list"]);
    assert_eq!(l["backups"].as_array().unwrap().len(), 0, "{l}");
    let (_, l) = b.json(&["backups", "list", "--all"]);
    let all = l["backups"].as_array().unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(
        all[0]["manifest"]["config_dir"],
        a.conf.canonicalize().unwrap().to_str().unwrap()
    );
    // B's prune keeps A's snapshot.
    let (code, p) = b.json(&["backups", "prune", "--keep", "1"]);
    assert_eq!(code, 0, "{p}");
    let (code, _) = b.json(&["apply", "-p", POLICY, "--keep", "1"]);
    assert_eq!(code, 0);
    assert_eq!(a.snapshots().len(), 2, "A's snapshot survived B's --keep 1");
    // A rolls back its own apply.
    let (code, r) = a.json(&["rollback"]);
    assert_eq!(code, 0, "{r}");
}

#[test]
fn manifest_records_the_postmulti_instance_name() {
    let s = Sandbox::new(OVER);
    let mut main = s.main_cf();
    main.extend_from_slice(b"multi_instance_name = postfix-out\n");
    std::fs::write(s.conf.join("main.cf"), &main).unwrap();
    let (code, v) = s.json(&["apply", "-p", POLICY]);
    assert_eq!(code, 0, "{v}");
    let (_, l) = s.json(&["backups", "list"]);
    assert_eq!(
        l["backups"][0]["manifest"]["instance"], "postfix-out",
        "{l}"
    );
}

#[test]
fn drift_is_shown_and_refused_unless_forced() {
    let s = Sandbox::new(OVER);
    let original = s.main_cf();
    assert_eq!(s.json(&["apply", "-p", POLICY]).0, 0);
    let mut edited = s.main_cf();
    edited.extend_from_slice(b"relayhost = [smarthost.example]:587\n");
    std::fs::write(s.conf.join("main.cf"), &edited).unwrap();
    // The dry run shows the same refusal the real run gives (exit 1), with the diff.
    let (code, d) = s.json(&["rollback", "--dry-run"]);
    assert_eq!(code, 1, "{d}");
    assert!(
        d["drift"][0]["diff"]
            .as_str()
            .unwrap()
            .contains("+relayhost = [smarthost.example]:587"),
        "{d}"
    );
    let out = s.run(&["rollback"]);
    assert_eq!(out.status.code(), Some(1));
    // The refusal on stderr, the diff of what would be discarded on stdout.
    let err = String::from_utf8_lossy(&out.stderr);
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(err.contains("--force"), "{err}");
    assert!(diff.contains("+relayhost"), "{diff}");
    assert_eq!(s.main_cf(), edited, "nothing written");
    let (code, r) = s.json(&["rollback", "--force"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(s.main_cf(), original);
}

#[test]
fn late_failure_reports_changed_true_and_keeps_the_undo() {
    let s = Sandbox::new(OVER);
    let before = s.main_cf();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pftls"));
    cmd.arg("-c")
        .arg(&s.conf)
        .arg("--backup-dir")
        .arg(&s.backups)
        .arg("--crypto-policies-dir")
        .arg(&s.crypto)
        .args(["--format", "json", "apply", "-p", POLICY])
        .env(pftls_txn::FAILPOINTS_ENV, "fsync-dirs=error");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["changed"], true, "{v}");
    assert_eq!(v["error"]["kind"], "incomplete", "{v}");
    assert_ne!(s.main_cf(), before, "the new file is in place");
    // The next run finishes the journal; rollback brings the original back.
    let (code, r) = s.json(&["rollback"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(s.main_cf(), before);
}

#[test]
fn reload_with_lingering_child_returns_and_failed_reload_drops_its_snapshot() {
    let s = Sandbox::new(OVER);
    let script = s.tmp.path().join("reload.sh");
    std::fs::write(&script, "#!/bin/sh\nsleep 30 &\necho reloaded\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let t = Instant::now();
    let (code, v) = s.json(&[
        "apply",
        "-p",
        POLICY,
        "--reload",
        "--reload-command",
        script.to_str().unwrap(),
    ]);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["reload"]["output"], "reloaded");
    let first = v["backup"]["id"].as_str().unwrap().to_string();
    // A failing reload restores and removes its own snapshot: rollback still targets `first`.
    let s2_main = s.main_cf();
    assert_eq!(s.json(&["rollback"]).0, 0);
    let (code, v) = s.json(&[
        "apply",
        "-p",
        POLICY,
        "--reload",
        "--reload-command",
        "false",
    ]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["changed"], false);
    let (_, l) = s.json(&["backups", "list"]);
    let ids: Vec<&str> = l["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{l}");
    assert_eq!(ids[0], first);
    assert_ne!(s.main_cf(), s2_main);
    // --keep 0 is refused before anything runs.
    let out = s.run(&["apply", "-p", POLICY, "--keep", "0"]);
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(s.snapshots().len(), 2);
}

fn mkfifo(p: &std::path::Path) {
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    // SAFETY: valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

#[test]
fn fifo_and_foreign_files_are_refused_without_quoting_them() {
    let s = Sandbox::new(OVER);
    let main = s.conf.join("main.cf");
    // A FIFO as master.cf or main.cf: refused within a second, nothing written.
    for name in ["master.cf", "main.cf"] {
        let p = s.conf.join(name);
        let saved = std::fs::read(&p).unwrap();
        std::fs::remove_file(&p).unwrap();
        mkfifo(&p);
        let t = Instant::now();
        let (code, v) = s.json(&["apply", "-p", POLICY]);
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{name}: {:?}",
            t.elapsed()
        );
        assert_eq!(code, 1, "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains("FIFO"),
            "{v}"
        );
        std::fs::remove_file(&p).unwrap();
        std::fs::write(&p, saved).unwrap();
    }
    assert!(s.snapshots().is_empty());
    std::fs::remove_file(&main).unwrap();
    std::fs::write(
        s.tmp.path().join("secret"),
        "root:$6$SECRETHASH:19000:0:99999:7:::\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(s.tmp.path().join("secret"), &main).unwrap();
    for args in [&["apply", "-p", POLICY][..], &["show"], &["doctor"]] {
        let (code, v) = s.json(args);
        assert_ne!(code, 0, "{args:?}: {v}");
        let text = v.to_string();
        assert!(!text.contains("SECRETHASH"), "{args:?}: {text}");
        let out = s.run(args);
        assert!(!String::from_utf8_lossy(&out.stderr).contains("SECRETHASH"));
    }
    // A policy file that is a FIFO is refused at once.
    let fifo = s.tmp.path().join("p.yaml");
    mkfifo(&fifo);
    std::fs::remove_file(&main).unwrap();
    std::fs::copy(
        common::repo().join("examples").join(OVER).join("main.cf"),
        &main,
    )
    .unwrap();
    let t = Instant::now();
    let (code, v) = s.json(&["plan", "-p", fifo.to_str().unwrap()]);
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(code, 1, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("FIFO"),
        "{v}"
    );
}

#[test]
fn hostile_policies_are_answered_quickly() {
    let s = Sandbox::new(OVER);
    let many = s.tmp.path().join("many.yaml");
    let mut text = String::from("name: many\ndescription: d\nmain:\n");
    for i in 0..10_000 {
        text.push_str(&format!("  unknown_parameter_{i}: yes\n"));
    }
    std::fs::write(&many, text).unwrap();
    let deep = s.tmp.path().join("deep.yaml");
    std::fs::write(
        &deep,
        format!(
            "name: deep\ndescription: d\nmain:\n  a: {}{}\n",
            "[".repeat(65_536),
            "]".repeat(65_536)
        ),
    )
    .unwrap();
    for (file, why) in [
        (&many, "unknown_parameter_9999"),
        (&deep, "nested more than"),
    ] {
        let t = Instant::now();
        let out = s.run(&["policies", "check", file.to_str().unwrap()]);
        // Measured 0.7 s (10k names, debug build, loaded 2-core host); the bound leaves room.
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "{file:?}: {:?}",
            t.elapsed()
        );
        assert_ne!(out.status.code(), Some(0));
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(all.contains(why), "{all}");
    }
}
