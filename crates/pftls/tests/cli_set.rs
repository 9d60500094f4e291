//! `pftls set`: one-off edits with apply's safety net, checked against the real postconf
//! (3.7.11 on the test machines) as the oracle.

mod common;

use common::{postconf, require, Sandbox};

/// The value postconf reports for `name` in DIR's main.cf (`postconf -n`), if set.
fn main_value(s: &Sandbox, name: &str) -> Option<String> {
    let prefix = format!("{name} = ");
    postconf(&s.conf, "-n")
        .into_iter()
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
}

/// The value postconf reports for the override `SERVICE/TYPE/name` (`postconf -P`), if set.
fn service_value(s: &Sandbox, key: &str, name: &str) -> Option<String> {
    let prefix = format!("{key}/{name} = ");
    postconf(&s.conf, "-P")
        .into_iter()
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn sets_main_cf_values_as_postconf_sees_them_and_rolls_back_byte_exact() {
    require("postconf");
    let s = Sandbox::new("debian-12/stock");
    let (main0, master0) = (s.main_cf(), s.master_cf());
    assert_eq!(main_value(&s, "smtpd_tls_loglevel"), None);
    let out = s.run(&[
        "set",
        "smtpd_tls_loglevel=1",
        "smtpd_tls_security_level = may",
        "--no-impact",
    ]);
    let text = ok(&out);
    assert!(text.starts_with("pftls set "), "{text}");
    assert_eq!(main_value(&s, "smtpd_tls_loglevel").as_deref(), Some("1"));
    assert_eq!(
        main_value(&s, "smtpd_tls_security_level").as_deref(),
        Some("may")
    );
    assert_eq!(s.snapshots().len(), 1, "one snapshot");
    // Untouched bytes stay: the old text is a prefix (new parameters are appended in order).
    let main1 = s.main_cf();
    assert_ne!(main1, main0);
    // Undo with rollback: byte for byte.
    ok(&s.run(&["rollback"]));
    assert_eq!(s.main_cf(), main0);
    assert_eq!(s.master_cf(), master0);
}

#[test]
fn service_override_set_and_removed() {
    require("postconf");
    let s = Sandbox::new("debian-12/stock");
    ok(&s.run(&[
        "set",
        "-s",
        "smtp/inet",
        "smtpd_tls_security_level=may",
        "smtpd_tls_loglevel=1",
        "--no-impact",
    ]));
    assert_eq!(
        service_value(&s, "smtp/inet", "smtpd_tls_security_level").as_deref(),
        Some("may")
    );
    assert_eq!(
        service_value(&s, "smtp/inet", "smtpd_tls_loglevel").as_deref(),
        Some("1")
    );
    // main.cf untouched by a service edit.
    assert_eq!(main_value(&s, "smtpd_tls_loglevel"), None);
    ok(&s.run(&[
        "set",
        "-s",
        "smtp/inet",
        "--unset",
        "smtpd_tls_loglevel",
        "--no-impact",
    ]));
    assert_eq!(service_value(&s, "smtp/inet", "smtpd_tls_loglevel"), None);
    assert_eq!(
        service_value(&s, "smtp/inet", "smtpd_tls_security_level").as_deref(),
        Some("may")
    );
}

#[test]
fn unset_removes_a_main_cf_parameter() {
    require("postconf");
    let s = Sandbox::new("debian-12/stock");
    let before = main_value(&s, "smtpd_tls_security_level");
    assert!(before.is_some(), "the stock Debian main.cf sets it");
    let (code, v) = s.json(&["set", "--unset", "smtpd_tls_security_level", "--no-impact"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["changed"], true);
    assert_eq!(v["policies"], serde_json::json!(["set"]));
    assert!(v["backup"]["id"].is_string(), "{v}");
    let p = v["parameters"].as_array().unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0]["name"], "smtpd_tls_security_level");
    assert!(p[0]["after"].is_null());
    assert_eq!(main_value(&s, "smtpd_tls_security_level"), None);
}

#[test]
fn invalid_values_and_names_are_refused_with_nothing_written() {
    let s = Sandbox::new("debian-12/stock");
    let (main0, master0) = (s.main_cf(), s.master_cf());
    for (args, want_exit, want) in [
        (
            &["set", "smtpd_tls_security_level=bogus"][..],
            1,
            "smtpd_tls_security_level",
        ),
        (
            &["set", "smtpd_tls_securty_level=may"],
            1,
            "did you mean \"smtpd_tls_security_level\"",
        ),
        (
            &[
                "set",
                "-s",
                "submission/inet",
                "smtpd_tls_security_level=encrypt",
            ],
            1,
            "submission/inet",
        ),
        (&["set", "smtpd_tls_loglevel"], 64, "NAME=VALUE"),
        (&["set"], 64, "NAME=VALUE"),
        (
            &["set", "-s", "smtp", "smtpd_tls_loglevel=1"],
            64,
            "SERVICE/TYPE",
        ),
        (
            &[
                "set",
                "smtpd_tls_loglevel=1",
                "--unset",
                "smtpd_tls_loglevel",
            ],
            64,
            "twice",
        ),
    ] {
        let (code, v) = s.json(args);
        assert_eq!(code, want_exit, "{args:?}: {v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(want), "{args:?}: {msg}");
        assert!(
            !msg.contains("command line:"),
            "no positions in generated text: {msg}"
        );
        if want_exit == 64 {
            assert_eq!(v["error"]["kind"], "usage");
        }
    }
    assert_eq!(s.main_cf(), main0);
    assert_eq!(s.master_cf(), master0);
    assert!(s.snapshots().is_empty(), "no snapshot for a refused edit");
}

#[test]
fn dry_run_writes_nothing_and_ends_with_the_command_that_applies_it() {
    require("postconf");
    let s = Sandbox::new("debian-12/stock");
    let (main0, master0) = (s.main_cf(), s.master_cf());
    let out = s.run(&[
        "--detailed-exitcode",
        "set",
        "smtpd_tls_loglevel=1",
        "--dry-run",
        "--no-impact",
    ]);
    assert_eq!(out.status.code(), Some(2), "changes pending");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("pftls set dry run "), "{text}");
    assert!(text.contains("+smtpd_tls_loglevel = 1"), "{text}");
    assert_eq!(s.main_cf(), main0);
    assert_eq!(s.master_cf(), master0);
    assert!(!s.backups.exists() || s.snapshots().is_empty());
    let last = text.lines().last().unwrap();
    let cmd = last.strip_prefix("Apply it with: ").expect(last);
    assert!(!cmd.contains("--dry-run"), "{cmd}");
    assert!(
        cmd.ends_with("set smtpd_tls_loglevel=1 --no-impact"),
        "{cmd}"
    );
}

#[test]
fn failed_reload_restores_the_files_like_apply() {
    let s = Sandbox::new("debian-12/stock");
    let (main0, master0) = (s.main_cf(), s.master_cf());
    let (code, v) = s.json(&[
        "set",
        "smtpd_tls_loglevel=1",
        "--no-impact",
        "--reload",
        "--reload-command",
        "false",
    ]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["error"]["kind"], "reload_failed", "{v}");
    assert_eq!(s.main_cf(), main0, "restored byte for byte");
    assert_eq!(s.master_cf(), master0);
    // A working reload command is run after the write.
    let marker = s.tmp.path().join("reloaded");
    let cmd = format!("touch {}", marker.display());
    let (code, v) = s.json(&[
        "set",
        "smtpd_tls_loglevel=1",
        "--no-impact",
        "--reload",
        "--reload-command",
        &cmd,
    ]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["reload"]["ok"], true, "{v}");
    assert!(marker.exists());
}
