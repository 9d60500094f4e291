//! Shared helpers for the pftls-txn integration tests.
#![allow(dead_code)]

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use pftls_txn::{Action, Expected, FileChange, SnapshotMeta, SnapshotStore};

/// A config dir with main.cf and master.cf, and a backup dir, inside a temp dir.
pub struct Env {
    pub tmp: tempfile::TempDir,
    pub config: PathBuf,
    pub backups: PathBuf,
}

pub const MAIN_OLD: &str = "smtpd_tls_security_level = encrypt\n";
pub const MASTER_OLD: &str = "smtp inet n - y - - smtpd\n";

impl Env {
    pub fn new() -> Env {
        let tmp = tempfile::tempdir().expect("tempdir");
        let config = tmp.path().join("postfix");
        fs::create_dir(&config).expect("mkdir config");
        fs::write(config.join("main.cf"), MAIN_OLD).expect("write main.cf");
        fs::write(config.join("master.cf"), MASTER_OLD).expect("write master.cf");
        let backups = tmp.path().join("backups");
        Env {
            tmp,
            config,
            backups,
        }
    }

    pub fn store(&self) -> SnapshotStore {
        SnapshotStore::new(&self.backups)
    }

    pub fn meta(&self) -> SnapshotMeta {
        SnapshotMeta {
            action: Action::Apply,
            policies: vec!["baseline".to_string()],
            config_dir: self.config.clone(),
            pftls_version: "0.1.0-test".to_string(),
        }
    }

    pub fn changes(&self, main: &str, master: &str) -> Vec<FileChange> {
        vec![
            FileChange {
                name: "main.cf".into(),
                path: self.config.join("main.cf"),
                new_contents: main.as_bytes().to_vec(),
                expected: Expected::Unchecked,
            },
            FileChange {
                name: "master.cf".into(),
                path: self.config.join("master.cf"),
                new_contents: master.as_bytes().to_vec(),
                expected: Expected::Unchecked,
            },
        ]
    }

    pub fn read(&self, name: &str) -> String {
        fs::read_to_string(self.config.join(name)).expect("read config file")
    }
}

/// mode, uid, gid of a path (following symlinks).
pub fn meta_of(path: &Path) -> (u32, u32, u32) {
    let m = fs::metadata(path).expect("stat");
    (m.mode() & 0o7777, m.uid(), m.gid())
}

pub fn mtime(path: &Path) -> SystemTime {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .expect("mtime")
}

pub fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Names in a directory, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// True when the test may run: root. Not root: panic under CI=true, else print a notice.
pub fn require_root(test: &str) -> bool {
    if is_root() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: needs root (CI=true, so this is a failure, not a skip)");
    }
    eprintln!("NOTICE: {test} skipped: needs root");
    false
}

pub fn set_xattr(path: &Path, name: &str, value: &[u8]) -> std::io::Result<()> {
    let p = CString::new(path.as_os_str().as_bytes()).expect("path");
    let n = CString::new(name).expect("name");
    // SAFETY: valid C strings and a buffer of value.len() bytes.
    let rc = unsafe {
        libc::setxattr(
            p.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

pub fn get_xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let p = CString::new(path.as_os_str().as_bytes()).expect("path");
    let n = CString::new(name).expect("name");
    let mut buf = vec![0u8; 4096];
    // SAFETY: buf valid for its length.
    let rc = unsafe { libc::getxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if rc < 0 {
        None
    } else {
        buf.truncate(rc as usize);
        Some(buf)
    }
}

/// A tmpfs mount removed on drop (root only).
pub struct Tmpfs {
    pub dir: tempfile::TempDir,
}

impl Tmpfs {
    pub fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().expect("tempdir");
        let st = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(st.success(), "mount tmpfs failed");
        Tmpfs { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn remount(&self, opts: &str) {
        let st = std::process::Command::new("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(self.dir.path())
            .status()
            .expect("run mount");
        assert!(st.success(), "remount {opts} failed");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

pub const LOCK_TIMEOUT: Duration = Duration::from_secs(30);
