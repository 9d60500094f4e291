//! Snapshot tests of the main text outputs (plan, apply dry run, doctor, show, simulate,
//! rollback, set): each is compared with a reviewed file under `tests/snapshots/`, so that a
//! change in wording or layout is a reviewed change. Re-bless after a deliberate change with
//! `PFTLS_BLESS=1 cargo test -p pftls --test text_snapshots` and review the diff.
//!
//! Runs are pinned for reproducibility: COLUMNS=80, `--postfix-version 3.7.11` (built-in data,
//! no dependence on the installed Postfix), the example crypto-policies, `--color never`;
//! temporary paths and snapshot ids are replaced by placeholders.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::Sandbox;

fn snapshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots")
}

/// Runs pftls on the sandbox, pinned; returns (exit code, stdout).
fn run(s: &Sandbox, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pftls"))
        .arg("-c")
        .arg(&s.conf)
        .arg("--backup-dir")
        .arg(&s.backups)
        .arg("--crypto-policies-dir")
        .arg(&s.crypto)
        .args(["--postfix-version", "3.7.11", "--color", "never"])
        .args(args)
        .env("COLUMNS", "80")
        .env_remove("PFTLS_CONFIG_DIR")
        .env_remove("PFTLS_BACKUP_DIR")
        .env_remove("PFTLS_POLICY_PATH")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        normalise(s, &String::from_utf8_lossy(&out.stdout)),
    )
}

/// Replaces the sandbox and repository paths and snapshot ids (YYYYMMDDTHHMMSSZ[-N]).
fn normalise(s: &Sandbox, text: &str) -> String {
    let tmp = s.tmp.path().display().to_string();
    let repo = common::repo().display().to_string();
    let t = text.replace(&tmp, "<TMP>").replace(&repo, "<REPO>");
    let b = t.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        let is_id = b.len() >= i + 16
            && b[i..i + 8].iter().all(u8::is_ascii_digit)
            && b[i + 8] == b'T'
            && b[i + 9..i + 15].iter().all(u8::is_ascii_digit)
            && b[i + 15] == b'Z';
        if is_id {
            out.push_str("<ID>");
            i += 16;
            if i + 1 < b.len() && b[i] == b'-' && b[i + 1].is_ascii_digit() {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            continue;
        }
        let ch = t[i..].chars().next().unwrap();
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// Compares `actual` with the stored snapshot `name`, or writes it when PFTLS_BLESS=1.
fn check(name: &str, actual: &str) {
    let path = snapshot_dir().join(format!("{name}.txt"));
    if std::env::var_os("PFTLS_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(snapshot_dir()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; create it with PFTLS_BLESS=1 and review it",
            path.display()
        )
    });
    if expected != actual {
        let diff = similar::TextDiff::from_lines(&expected, actual)
            .unified_diff()
            .header("snapshot", "actual")
            .to_string();
        panic!(
            "{name}: output differs from {} (re-bless with PFTLS_BLESS=1 if intended):\n{diff}",
            path.display()
        );
    }
}

#[test]
fn plan_text() {
    let s = Sandbox::new("centos-stream-10/over-hardened");
    let (code, out) = run(&s, &["plan", "-p", "crypto-policy-aligned"]);
    assert_eq!(code, 0);
    check("plan", &out);
}

#[test]
fn apply_dry_run_text() {
    let s = Sandbox::new("debian-12/stock");
    let (code, out) = run(&s, &["apply", "-p", "tls-logging", "--dry-run"]);
    assert_eq!(code, 0);
    check("apply-dry-run", &out);
}

#[test]
fn doctor_text() {
    let s = Sandbox::new("centos-stream-10/over-hardened");
    let (code, out) = run(&s, &["doctor", "--no-file-checks"]);
    assert_eq!(code, 0);
    check("doctor", &out);
}

#[test]
fn show_text() {
    let s = Sandbox::new("centos-stream-10/submission");
    let (code, out) = run(&s, &["show"]);
    assert_eq!(code, 0);
    check("show", &out);
}

#[test]
fn simulate_text() {
    let s = Sandbox::new("debian-12/stock");
    let (code, out) = run(&s, &["simulate", "-p", "inbound-opportunistic"]);
    assert_eq!(code, 0);
    check("simulate", &out);
}

#[test]
fn rollback_text() {
    let s = Sandbox::new("debian-12/stock");
    let (code, _) = run(&s, &["set", "smtpd_tls_loglevel=1", "--no-impact"]);
    assert_eq!(code, 0);
    let (code, dry) = run(&s, &["rollback", "--dry-run"]);
    assert_eq!(code, 0);
    check("rollback-dry-run", &dry);
    let (code, out) = run(&s, &["rollback"]);
    assert_eq!(code, 0);
    check("rollback", &out);
}

#[test]
fn set_text() {
    let s = Sandbox::new("debian-12/stock");
    let (code, out) = run(
        &s,
        &[
            "set",
            "-s",
            "smtp/inet",
            "smtpd_tls_security_level=may",
            "--dry-run",
            "--no-impact",
        ],
    );
    assert_eq!(code, 0);
    check("set-dry-run", &out);
}
