//! What the real-Postfix tests share: bounded commands, the root-and-tools requirement (a
//! failure under CI=true, never a skip), free ports, and the scratch directory of a private
//! Postfix instance (config dir copied from an example, a self-signed certificate, a queue
//! directory the postfix user can reach).
//!
//! Included by each real-Postfix test file with `#[path = "support/postfix.rs"] mod postfix;`
//! (not every file uses every helper).
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Every external command runs under coreutils `timeout` with this many seconds.
pub const CMD_TIMEOUT: &str = "90";

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// Runs `argv` bounded by [`CMD_TIMEOUT`].
pub fn run(argv: &[&str]) -> Output {
    Command::new("timeout")
        .arg(CMD_TIMEOUT)
        .args(argv)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {argv:?}: {e}"))
}

/// Exit status, stdout and stderr of a finished command, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// [`run`], asserting success.
pub fn run_ok(argv: &[&str]) -> Output {
    let o = run(argv);
    assert!(o.status.success(), "{argv:?} failed: {}", text(&o));
    o
}

/// Whether `tool` is on PATH.
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool} >/dev/null 2>&1")])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Why a test that needs root and `tools` cannot run here, if it cannot.
pub fn missing_requirement(tools: &[&str]) -> Option<String> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not running as root".into());
    }
    tools
        .iter()
        .find(|t| !have(t))
        .map(|t| format!("{t} is not installed"))
}

/// True when the test can run; false (with a loud notice) when it cannot and CI is not set.
/// Under CI=true a missing requirement fails the test: never a silent skip.
pub fn can_run(test: &str, tools: &[&str]) -> bool {
    match missing_requirement(tools) {
        None => true,
        Some(why) => {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "{test}: {why} (CI=true: a missing requirement is a failure, not a skip)"
            );
            eprintln!("NOTICE: {test} skipped: {why}");
            false
        }
    }
}

/// A TCP port on 127.0.0.1 that is free now and not in `not`.
pub fn free_port(not: &[u16]) -> u16 {
    for _ in 0..100 {
        let p = TcpListener::bind("127.0.0.1:0")
            .expect("bind 127.0.0.1:0")
            .local_addr()
            .expect("local addr")
            .port();
        if !not.contains(&p) {
            return p;
        }
    }
    panic!("no free port on 127.0.0.1 after 100 tries");
}

/// chmod.
pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A self-signed RSA-2048 certificate for localhost, valid for two days; the key is 0600.
pub fn self_signed(cert: &Path, key: &Path) {
    run_ok(&[
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-days",
        "2",
        "-keyout",
        key.to_str().expect("utf-8 path"),
        "-out",
        cert.to_str().expect("utf-8 path"),
    ]);
    set_mode(key, 0o600);
}

/// The scratch directory of one private instance.
pub struct Scratch {
    /// Removed when dropped.
    pub tmp: tempfile::TempDir,
    /// `tmp`'s path (mode 0755: Postfix daemons run as the postfix user and must traverse it).
    pub root: PathBuf,
    /// The config dir, with `cert.pem`, `key.pem` (and the example's main.cf and master.cf).
    pub conf: PathBuf,
    /// An empty queue directory (postfix start creates its subdirectories).
    pub queue: PathBuf,
}

/// Lays out a private instance's directories under a new temp dir named `prefix*`, with the
/// config files of `examples/EXAMPLE` (none when `example` is None) and a fresh self-signed
/// certificate.
pub fn scratch(prefix: &str, example: Option<&str>) -> Scratch {
    let tmp = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("tempdir");
    let root = tmp.path().to_path_buf();
    set_mode(&root, 0o755);
    let conf = root.join("conf");
    std::fs::create_dir(&conf).expect("mkdir conf");
    if let Some(example) = example {
        let src = repo().join("examples").join(example);
        for f in ["main.cf", "master.cf"] {
            std::fs::copy(src.join(f), conf.join(f)).expect("copy example");
        }
    }
    self_signed(&conf.join("cert.pem"), &conf.join("key.pem"));
    let queue = root.join("queue");
    std::fs::create_dir(&queue).expect("mkdir queue");
    set_mode(&queue, 0o755);
    Scratch {
        tmp,
        root,
        conf,
        queue,
    }
}

/// The settings every private test instance starts from: its own queue and data directories,
/// the installed Postfix's program directories (the examples carry RHEL's paths), the
/// postfix user and group, and IPv4 loopback only.
pub fn base_settings(queue_directory: &str, data_directory: &str) -> Vec<String> {
    let mut v = vec![
        format!("queue_directory={queue_directory}"),
        format!("data_directory={data_directory}"),
    ];
    v.extend(program_directories());
    v.extend(
        [
            "mail_owner=postfix",
            "setgid_group=postdrop",
            "compatibility_level=3.6",
            "inet_interfaces=127.0.0.1",
            "inet_protocols=ipv4",
        ]
        .map(String::from),
    );
    v
}

/// `NAME=VALUE` settings pointing an instance at the installed Postfix's own program
/// directories, from `postconf -d`.
pub fn program_directories() -> Vec<String> {
    const NAMES: [&str; 4] = [
        "daemon_directory",
        "shlib_directory",
        "meta_directory",
        "command_directory",
    ];
    let mut argv = vec!["postconf", "-d", "-h"];
    argv.extend(NAMES);
    let out = run_ok(&argv);
    let values: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(values.len(), NAMES.len(), "postconf -d -h: {}", text(&out));
    NAMES
        .iter()
        .zip(values)
        .map(|(n, v)| format!("{n}={v}"))
        .collect()
}
