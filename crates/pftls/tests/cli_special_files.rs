//! Every input pftls reads besides the configuration (mail logs, certificates, client-profile
//! lists, MTA-STS policies, crypto-policy files) is opened without blocking and must be a
//! regular file: a FIFO or a device in its place is refused at once, naming the file.

mod common;

use common::{repo, Sandbox};
use std::path::Path;
use std::time::{Duration, Instant};

const OVER: &str = "centos-stream-10/over-hardened";

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    // SAFETY: valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// Runs `args` and asserts a quick failure (exit 1) whose error names `what` and says FIFO.
fn refused_fast(s: &Sandbox, args: &[&str], what: &Path) {
    let t = Instant::now();
    let (code, v) = s.json(args);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "{args:?} took {:?}",
        t.elapsed()
    );
    assert_eq!(code, 1, "{args:?}: {v}");
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("FIFO"), "{args:?}: {v}");
    assert!(msg.contains(what.to_str().unwrap()), "{args:?}: {v}");
}

#[test]
fn fifo_inputs_are_refused_at_once() {
    let s = Sandbox::new(OVER);
    let fifo = s.tmp.path().join("input.fifo");
    mkfifo(&fifo);
    let f = fifo.to_str().unwrap();
    refused_fast(&s, &["logs", f], &fifo);
    refused_fast(&s, &["tlsa", "--cert", f], &fifo);
    refused_fast(&s, &["simulate", "--client-profiles", f], &fifo);
    refused_fast(&s, &["mta-sts", "--check", f], &fifo);
    assert!(s.snapshots().is_empty());
}

#[test]
fn a_device_as_a_mail_log_is_refused() {
    let s = Sandbox::new(OVER);
    let t = Instant::now();
    let (code, v) = s.json(&["logs", "/dev/zero"]);
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(code, 1, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("character device"),
        "{v}"
    );
}

#[test]
fn a_fifo_in_the_crypto_policies_tree_does_not_hang() {
    let s = Sandbox::new(OVER);
    let tree = s.tmp.path().join("crypto-policies");
    let src = repo().join("examples/centos-stream-10/crypto-policies");
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(&src)
        .arg(&tree)
        .status()
        .unwrap();
    assert!(status.success());
    let config = tree.join("config");
    std::fs::remove_file(&config).unwrap();
    mkfifo(&config);
    let t = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pftls"))
        .arg("-c")
        .arg(&s.conf)
        .arg("--crypto-policies-dir")
        .arg(&tree)
        .args(["--format", "json", "show"])
        .output()
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("FIFO"), "{text}");
}
