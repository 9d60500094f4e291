//! Helpers shared by the CLI integration tests: run the real binary on copies of the examples,
//! and ask the real postconf what it sees.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A copy of an example config dir (e.g. "centos-stream-10/over-hardened") in a new tempdir,
/// with a `backups` dir path (not created) beside it.
pub struct Sandbox {
    pub tmp: tempfile::TempDir,
    pub conf: PathBuf,
    pub backups: PathBuf,
    pub crypto: PathBuf,
}

impl Sandbox {
    pub fn new(example: &str) -> Sandbox {
        let tmp = tempfile::tempdir().unwrap();
        let conf = tmp.path().join("postfix");
        std::fs::create_dir(&conf).unwrap();
        for f in ["main.cf", "master.cf"] {
            let src = repo().join("examples").join(example).join(f);
            if src.exists() {
                std::fs::copy(&src, conf.join(f)).unwrap();
            }
        }
        Sandbox {
            backups: tmp.path().join("backups"),
            crypto: repo().join("examples/centos-stream-10/crypto-policies"),
            conf,
            tmp,
        }
    }

    /// Runs pftls with -c/--backup-dir/--crypto-policies-dir set to this sandbox.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pftls"));
        cmd.arg("-c")
            .arg(&self.conf)
            .arg("--backup-dir")
            .arg(&self.backups)
            .arg("--crypto-policies-dir")
            .arg(&self.crypto)
            .args(args)
            .env_remove("PFTLS_CONFIG_DIR")
            .env_remove("PFTLS_BACKUP_DIR")
            .env_remove("PFTLS_POLICY_PATH");
        cmd.output().unwrap()
    }

    /// Runs with --format json and parses stdout (exactly one JSON object).
    pub fn json(&self, args: &[&str]) -> (i32, serde_json::Value) {
        let mut a = vec!["--format", "json"];
        a.extend_from_slice(args);
        let out = self.run(&a);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON object ({e}): {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), v)
    }

    pub fn main_cf(&self) -> Vec<u8> {
        std::fs::read(self.conf.join("main.cf")).unwrap()
    }

    pub fn master_cf(&self) -> Vec<u8> {
        std::fs::read(self.conf.join("master.cf")).unwrap()
    }

    /// Snapshot ids present in the backup dir.
    pub fn snapshots(&self) -> Vec<String> {
        let mut v: Vec<String> = match std::fs::read_dir(&self.backups) {
            Ok(rd) => rd
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect(),
            Err(_) => Vec::new(),
        };
        v.sort();
        v
    }
}

/// Fails loudly when a required tool is missing (never skips silently).
pub fn require(tool: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{tool} is required for this test (make test installs it)"
    );
}

/// `postconf -c DIR FLAG` as sorted `name = value` lines (config_directory dropped).
pub fn postconf(dir: &Path, flag: &str) -> Vec<String> {
    require("postconf");
    let (mut cmd, _copy) = postconf_cmd(dir);
    let out = cmd.arg(flag).output().unwrap();
    assert!(
        out.status.success(),
        "postconf {flag} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with("config_directory = "))
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// `postconf -c COPY` on a settled copy of DIR's main.cf and master.cf (mtime a minute in the
/// past): Postfix waits until a configuration file is at least a second old before it reads
/// it, which would cost each oracle call one to two seconds on freshly written files. The temp
/// dir is returned so that it lives as long as the command (and its path can be hidden).
fn postconf_cmd(dir: &Path) -> (Command, tempfile::TempDir) {
    let copy = tempfile::tempdir().unwrap();
    for f in ["main.cf", "master.cf"] {
        if let Ok(bytes) = std::fs::read(dir.join(f)) {
            pftls::validate::write_settled(&copy.path().join(f), &bytes).unwrap();
        }
    }
    let mut cmd = Command::new("postconf");
    cmd.arg("-c").arg(copy.path());
    (cmd, copy)
}

/// Whether `postconf -n` accepts the files (no fatal error).
pub fn postconf_succeeds(dir: &Path) -> bool {
    let (mut cmd, _copy) = postconf_cmd(dir);
    cmd.arg("-n").output().unwrap().status.success()
}

/// postconf's warnings (stderr lines) for `-n`.
pub fn postconf_warnings(dir: &Path) -> Vec<String> {
    let (mut cmd, copy) = postconf_cmd(dir);
    let out = cmd.arg("-n").output().unwrap();
    let tmp = copy.path().display().to_string();
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(|l| l.replace(&tmp, "<dir>"))
        .collect()
}

/// mtime in nanoseconds.
pub fn mtime(p: &Path) -> i128 {
    let m = std::fs::metadata(p).unwrap();
    use std::os::unix::fs::MetadataExt;
    i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec())
}

/// sha256 hex of bytes.
pub fn sha256(b: &[u8]) -> String {
    pftls_txn::sha256_hex(b)
}
