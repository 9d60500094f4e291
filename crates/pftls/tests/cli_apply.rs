//! plan / apply / rollback / backups against copies of the examples, with the real postconf as
//! the oracle of what Postfix sees.

mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use common::{mtime, postconf, postconf_warnings, repo, Sandbox};

const OVER: &str = "centos-stream-10/over-hardened";

fn changed_names(v: &serde_json::Value) -> BTreeSet<(String, String)> {
    v["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["scope"].as_str().unwrap().to_string(),
                p["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn dry_run_and_plan_write_nothing() {
    let s = Sandbox::new(OVER);
    let before = (
        s.main_cf(),
        s.master_cf(),
        mtime(&s.conf.join("main.cf")),
        mtime(&s.conf.join("master.cf")),
    );
    let listing = |p: &std::path::Path| {
        let mut v: Vec<String> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let files_before = listing(&s.conf);
    let dir_mtime = mtime(&s.conf);
    for args in [
        vec!["apply", "--dry-run", "-p", "inbound-opportunistic"],
        vec!["plan", "-p", "inbound-opportunistic"],
    ] {
        let (code, v) = s.json(&args);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["changed"], true);
        assert_eq!(v["dry_run"], true);
        assert!(v.get("backup").is_none() || v["backup"].is_null());
    }
    let after = (
        s.main_cf(),
        s.master_cf(),
        mtime(&s.conf.join("main.cf")),
        mtime(&s.conf.join("master.cf")),
    );
    assert_eq!(before, after, "dry run changed a file or an mtime");
    assert_eq!(
        files_before,
        listing(&s.conf),
        "dry run left a file behind (lock, temp)"
    );
    assert_eq!(dir_mtime, mtime(&s.conf));
    assert!(!s.backups.exists(), "dry run created the backup dir");
    // --detailed-exitcode: 2 when something would change.
    let out = s.run(&[
        "--detailed-exitcode",
        "apply",
        "--dry-run",
        "-p",
        "inbound-opportunistic",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn apply_changes_exactly_the_intended_parameters_then_is_idempotent() {
    let s = Sandbox::new(OVER);
    let n_before = postconf(&s.conf, "-n");
    let p_before = postconf(&s.conf, "-P");
    let main_before = s.main_cf();

    let (code, v) = s.json(&["apply", "-p", "inbound-opportunistic"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["changed"], true);
    let backup = v["backup"]["id"].as_str().expect("snapshot id").to_string();
    assert!(s.backups.join(&backup).join("manifest.json").is_file());

    // postconf agrees: every parameter the plan names has the new value, nothing else moved.
    let n_after = postconf(&s.conf, "-n");
    let p_after = postconf(&s.conf, "-P");
    let changed = changed_names(&v);
    let name_of = |l: &String| l.split(" = ").next().unwrap().to_string();
    let untouched = |lines: &[String], scope_main: bool| -> BTreeSet<String> {
        lines
            .iter()
            .filter(|l| {
                let n = name_of(l);
                if scope_main {
                    !changed.contains(&("main".to_string(), n))
                } else {
                    let mut parts = n.rsplitn(2, '/');
                    let param = parts.next().unwrap().to_string();
                    let scope = parts.next().unwrap_or("").to_string();
                    !changed.contains(&(scope, param))
                }
            })
            .cloned()
            .collect()
    };
    assert_eq!(
        untouched(&n_before, true),
        untouched(&n_after, true),
        "an unplanned main.cf parameter changed"
    );
    assert_eq!(
        untouched(&p_before, false),
        untouched(&p_after, false),
        "an unplanned override changed"
    );
    for p in v["parameters"].as_array().unwrap() {
        let (scope, name) = (p["scope"].as_str().unwrap(), p["name"].as_str().unwrap());
        let line = if scope == "main" {
            n_after.iter().find(|l| name_of(l) == name).cloned()
        } else {
            p_after
                .iter()
                .find(|l| name_of(l) == format!("{scope}/{name}"))
                .cloned()
        };
        match p["after"].as_str() {
            Some(val) => assert_eq!(
                line.as_deref()
                    .map(|l| l.split_once(" = ").map(|x| x.1).unwrap_or("")),
                Some(val),
                "{scope} {name}"
            ),
            None => assert!(line.is_none(), "{scope} {name} should be removed: {line:?}"),
        }
    }
    assert!(n_after.contains(&"smtpd_tls_security_level = may".to_string()));
    // The candidate gives postconf no new warnings.
    assert!(
        postconf_warnings(&s.conf).is_empty(),
        "{:?}",
        postconf_warnings(&s.conf)
    );

    // Untouched lines stay byte-identical: every line of the old file that does not belong to a
    // changed parameter is still there, in order.
    let old = String::from_utf8(main_before).unwrap();
    let new = String::from_utf8(s.main_cf()).unwrap();
    let diff = similar::TextDiff::from_lines(&old, &new);
    for change in diff
        .iter_all_changes()
        .filter(|c| c.tag() == similar::ChangeTag::Delete)
    {
        let line = change.value();
        let belongs = changed.iter().any(|(_, n)| line.starts_with(n.as_str()))
            || line.starts_with(' ')
            || line.starts_with('\t');
        assert!(belongs, "an unrelated line was removed: {line:?}");
    }

    // Second apply: nothing to change, no snapshot, bytes identical.
    let snaps = s.snapshots();
    let bytes = (s.main_cf(), s.master_cf());
    let (code, v2) = s.json(&["apply", "-p", "inbound-opportunistic"]);
    assert_eq!(code, 0);
    assert_eq!(v2["changed"], false);
    assert_eq!(snaps, s.snapshots());
    assert_eq!(bytes, (s.main_cf(), s.master_cf()));
}

#[test]
fn rollback_restores_bytes_mode_and_owner_and_is_idempotent() {
    let s = Sandbox::new(OVER);
    let main = s.conf.join("main.cf");
    std::fs::set_permissions(&main, std::fs::Permissions::from_mode(0o640)).unwrap();
    let am_root = unsafe_geteuid() == 0;
    if am_root {
        std::os::unix::fs::chown(&main, Some(0), Some(12)).unwrap();
    }
    let orig = (s.main_cf(), s.master_cf());
    let (code, v) = s.json(&["apply", "-p", "inbound-opportunistic", "-p", "tls-logging"]);
    assert_eq!(code, 0, "{v}");
    // Mode and owner are kept by apply.
    let m = std::fs::metadata(&main).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o640);
    if am_root {
        assert_eq!((m.uid(), m.gid()), (0, 12));
    }
    let (code, r) = s.json(&["rollback"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["changed"], true);
    assert_eq!(orig, (s.main_cf(), s.master_cf()));
    let m = std::fs::metadata(&main).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o640);
    if am_root {
        assert_eq!((m.uid(), m.gid()), (0, 12));
    }
    // Rollback twice: no-op, no new snapshot.
    let snaps = s.snapshots();
    let (code, r2) = s.json(&["rollback"]);
    assert_eq!(code, 0);
    assert_eq!(r2["changed"], false);
    assert_eq!(snaps, s.snapshots());
    // The rollback itself can be undone with --to (it snapshotted the applied state).
    let rb = r["backup"]["id"].as_str().unwrap().to_string();
    let (code, r3) = s.json(&["rollback", "--to", &rb]);
    assert_eq!(code, 0, "{r3}");
    assert!(postconf(&s.conf, "-n").contains(&"smtpd_tls_security_level = may".to_string()));
    // backups list shows them all.
    let (code, l) = s.json(&["backups", "list"]);
    assert_eq!(code, 0);
    assert!(l["backups"].as_array().unwrap().len() >= 3);
}

fn unsafe_geteuid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc_geteuid() }
}

extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

#[test]
fn corrupt_snapshot_is_refused() {
    let s = Sandbox::new(OVER);
    let (code, v) = s.json(&["apply", "-p", "inbound-opportunistic"]);
    assert_eq!(code, 0, "{v}");
    let id = v["backup"]["id"].as_str().unwrap();
    let copy = s.backups.join(id).join("main.cf");
    let mut b = std::fs::read(&copy).unwrap();
    b[10] ^= 0x20;
    std::fs::write(&copy, b).unwrap();
    let applied = (s.main_cf(), s.master_cf());
    let (code, r) = s.json(&["rollback"]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["changed"], false);
    assert!(
        r["error"]["message"].as_str().unwrap().contains("main.cf"),
        "{r}"
    );
    assert_eq!(
        applied,
        (s.main_cf(), s.master_cf()),
        "a refused rollback wrote something"
    );
    assert_eq!(s.run(&["backups", "show", id]).status.code(), Some(1));
}

#[test]
fn saved_plan_applies_exactly_and_stale_plan_is_refused() {
    let s = Sandbox::new(OVER);
    let plan = s.tmp.path().join("plan.json");
    let (code, v) = s.json(&[
        "plan",
        "-p",
        "inbound-opportunistic",
        "--out",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{v}");
    let expected_main = v["files"][0]["after_sha256"].as_str().unwrap().to_string();
    // Happy path on a second copy made from the same input.
    let s2 = Sandbox::new(OVER);
    std::fs::remove_dir_all(&s2.conf).unwrap();
    std::fs::rename(&s.conf, &s2.conf).ok();
    // The plan names its config dir: a different dir is refused.
    let (code, e) = s2.json(&["apply", "--plan", plan.to_str().unwrap()]);
    assert_eq!(code, 1, "{e}");
    std::fs::rename(&s2.conf, &s.conf).unwrap();
    let (code, a) = s.json(&["apply", "--plan", plan.to_str().unwrap()]);
    assert_eq!(code, 0, "{a}");
    assert_eq!(common::sha256(&s.main_cf()), expected_main);

    // Stale: the plan was made before a change of main.cf.
    let s3 = Sandbox::new(OVER);
    let plan3 = s3.tmp.path().join("plan.json");
    assert_eq!(
        s3.json(&[
            "plan",
            "-p",
            "inbound-opportunistic",
            "--out",
            plan3.to_str().unwrap()
        ])
        .0,
        0
    );
    let mut m = s3.main_cf();
    m.extend_from_slice(b"# edited by hand after the plan\n");
    std::fs::write(s3.conf.join("main.cf"), &m).unwrap();
    let (code, e) = s3.json(&["apply", "--plan", plan3.to_str().unwrap()]);
    assert_eq!(code, 1, "{e}");
    assert_eq!(e["error"]["kind"], "stale-plan");
    assert_eq!(s3.main_cf(), m);
    assert!(s3.snapshots().is_empty());
}

#[test]
fn failing_reload_restores_the_snapshot() {
    let s = Sandbox::new(OVER);
    let orig = (s.main_cf(), s.master_cf());
    let (code, v) = s.json(&[
        "apply",
        "-p",
        "inbound-opportunistic",
        "--reload",
        "--reload-command",
        "false",
    ]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(orig, (s.main_cf(), s.master_cf()));
    let ok = s.json(&[
        "apply",
        "-p",
        "inbound-opportunistic",
        "--reload",
        "--reload-command",
        "true",
    ]);
    assert_eq!(ok.0, 0, "{}", ok.1);
    assert_eq!(ok.1["reload"]["ok"], true);
}

#[test]
fn concurrent_applies_are_serialised() {
    let s = Sandbox::new(OVER);
    let dir = s.tmp.path().join("policies");
    std::fs::create_dir(&dir).unwrap();
    for lvl in [1, 2] {
        std::fs::write(
            dir.join(format!("log{lvl}.yaml")),
            format!("name: log{lvl}\ndescription: test\nmain:\n  smtpd_tls_loglevel: {lvl}\n"),
        )
        .unwrap();
    }
    let children: Vec<_> = (0..16)
        .map(|i| {
            std::process::Command::new(env!("CARGO_BIN_EXE_pftls"))
                .arg("-c")
                .arg(&s.conf)
                .arg("--backup-dir")
                .arg(&s.backups)
                .arg("--crypto-policies-dir")
                .arg(&s.crypto)
                .arg("--policy-dir")
                .arg(&dir)
                .args([
                    "--format",
                    "json",
                    "apply",
                    "-p",
                    if i % 2 == 0 { "log1" } else { "log2" },
                    "--lock-timeout",
                    "120",
                ])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut changed = 0;
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if v["changed"] == true {
            changed += 1;
        }
    }
    let snaps = s.snapshots();
    assert_eq!(snaps.len(), changed, "one snapshot per changing run");
    let unique: BTreeSet<_> = snaps.iter().collect();
    assert_eq!(unique.len(), snaps.len());
    for id in &snaps {
        assert_eq!(
            s.run(&["backups", "show", id]).status.code(),
            Some(0),
            "snapshot {id} inconsistent"
        );
    }
    let n = postconf(&s.conf, "-n");
    assert!(
        n.iter()
            .filter(|l| l.starts_with("smtpd_tls_loglevel = "))
            .count()
            == 1
    );
}

#[test]
fn bad_policies_are_refused_with_file_line_and_nothing_is_written() {
    let s = Sandbox::new(OVER);
    let orig = (s.main_cf(), s.master_cf());
    let dir = repo().join("tests/fixtures/bad-policies");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let (code, v) = s.json(&["apply", "-p", p.to_str().unwrap()]);
        assert_eq!(code, 1, "{name}: {v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains(&name),
            "{name}: message does not name the file: {msg}"
        );
        assert!(
            v["error"]["line"].as_u64().unwrap_or(0) >= 1,
            "{name}: no line: {v}"
        );
        let re_line = msg.split(&name).nth(1).unwrap_or("");
        assert!(
            re_line.starts_with(':'),
            "{name}: no :line:col after the file name: {msg}"
        );
        n += 1;
    }
    assert!(n >= 10);
    assert_eq!(orig, (s.main_cf(), s.master_cf()));
    assert!(!s.backups.exists());
    // "did you mean"
    let out = s.run(&["plan", "-p", dir.join("typo-param.yaml").to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("did you mean \"smtpd_tls_security_level\""),
        "{err}"
    );
    assert!(err.contains("typo-param.yaml:5:3"), "{err}");
}

#[test]
fn broken_configs_are_refused_with_file_and_line() {
    for (case, file, line) in [
        ("no-equals", "main.cf", 2),
        ("no-name", "main.cf", 3),
        ("master-fields", "master.cf", 2),
        ("master-type", "master.cf", 2),
    ] {
        let s = Sandbox::new("debian-12/stock");
        let src = repo().join("tests/fixtures/bad-configs").join(case);
        for f in ["main.cf", "master.cf"] {
            if src.join(f).exists() {
                std::fs::copy(src.join(f), s.conf.join(f)).unwrap();
            }
        }
        let orig = (s.main_cf(), s.master_cf());
        let (code, v) = s.json(&["apply", "-p", "inbound-opportunistic"]);
        assert_eq!(code, 1, "{case}: {v}");
        assert!(
            v["error"]["file"].as_str().unwrap().ends_with(file),
            "{case}: {v}"
        );
        assert_eq!(v["error"]["line"], line, "{case}: {v}");
        assert_eq!(orig, (s.main_cf(), s.master_cf()));
        assert!(!s.backups.exists());
    }
}

#[test]
fn conflicting_policies_and_usage_errors() {
    let s = Sandbox::new(OVER);
    let dir = s.tmp.path().join("p");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("quiet.yaml"),
        "name: quiet\ndescription: x\nmain:\n  smtpd_tls_loglevel: 0\n",
    )
    .unwrap();
    let out = s.run(&[
        "--policy-dir",
        dir.to_str().unwrap(),
        "plan",
        "-p",
        "tls-logging",
        "-p",
        "quiet",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("conflict"));
    assert_eq!(s.run(&["apply", "--bogus-flag"]).status.code(), Some(64));
    assert_eq!(s.run(&["apply"]).status.code(), Some(64));
    assert_eq!(
        s.run(&["plan", "-p", "no-such-policy"]).status.code(),
        Some(1)
    );
    assert_eq!(s.run(&["--help"]).status.code(), Some(0));
}

#[test]
fn unwritable_backup_dir_fails_cleanly() {
    let s = Sandbox::new(OVER);
    // A file where the backup directory should be.
    std::fs::write(&s.backups, b"not a directory").unwrap();
    let orig = (s.main_cf(), s.master_cf());
    let (code, v) = s.json(&["apply", "-p", "inbound-opportunistic"]);
    assert_eq!(code, 1, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("backups"),
        "{v}"
    );
    assert_eq!(orig, (s.main_cf(), s.master_cf()));
}

#[test]
fn plan_reports_handshake_impact_and_findings() {
    let s = Sandbox::new(OVER);
    let (code, v) = s.json(&["plan", "-p", "inbound-opportunistic"]);
    assert_eq!(code, 0, "{v}");
    let rows = v["impact"].as_array().expect("impact array");
    let row = |client: &str| {
        rows.iter()
            .find(|r| r["client"] == client && r["service"] == "smtp/inet")
            .unwrap_or_else(|| panic!("no impact row for {client}: {rows:?}"))
            .clone()
    };
    // A CentOS 6-era sender: refused by TLS 1.3-only today, TLS 1.2 after the fix.
    let r = row("openssl_101l");
    assert_eq!(r["before"]["ok"], false);
    assert_eq!(r["after"]["ok"], true);
    assert_eq!(r["after"]["protocol"], "TLSv1.2");
    // A modern sender keeps TLS 1.3.
    assert_eq!(row("openssl_350")["after"]["protocol"], "TLSv1.3");
    let fixed: Vec<&str> = v["findings_fixed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(fixed.contains(&"PFTLS-E001"), "{fixed:?}");
    assert!(v["findings_introduced"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["severity"] != "error"));
    // --no-impact skips the simulation.
    let (_, q) = s.json(&["plan", "-p", "inbound-opportunistic", "--no-impact"]);
    assert!(q.get("impact").is_none(), "{q}");
}

#[test]
fn keep_and_prune_remove_the_oldest_snapshots() {
    let s = Sandbox::new(OVER);
    let dir = s.tmp.path().join("p");
    std::fs::create_dir(&dir).unwrap();
    for lvl in 1..=4 {
        std::fs::write(
            dir.join(format!("l{lvl}.yaml")),
            format!("name: l{lvl}\ndescription: t\nmain:\n  smtpd_tls_loglevel: {lvl}\n"),
        )
        .unwrap();
    }
    for lvl in 1..=3 {
        let (code, v) = s.json(&[
            "--policy-dir",
            dir.to_str().unwrap(),
            "apply",
            "-p",
            &format!("l{lvl}"),
        ]);
        assert_eq!(code, 0, "{v}");
    }
    let three = s.snapshots();
    assert_eq!(three.len(), 3);
    let (code, v) = s.json(&[
        "--policy-dir",
        dir.to_str().unwrap(),
        "apply",
        "-p",
        "l4",
        "--keep",
        "2",
    ]);
    assert_eq!(code, 0, "{v}");
    let kept = s.snapshots();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(
        !kept.contains(&three[0]) && !kept.contains(&three[1]),
        "the oldest must go: {kept:?}"
    );
    let (code, p) = s.json(&["backups", "prune", "--keep", "1"]);
    assert_eq!(code, 0);
    assert_eq!(p["removed"].as_array().unwrap().len(), 1);
    assert_eq!(s.snapshots().len(), 1);
    // The newest snapshot (taken by the l4 apply) is the one rollback uses.
    let (code, r) = s.json(&["rollback"]);
    assert_eq!(code, 0, "{r}");
    assert!(postconf(&s.conf, "-n").contains(&"smtpd_tls_loglevel = 3".to_string()));
}
