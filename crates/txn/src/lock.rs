//! Serialise pftls runs on one configuration directory.
//!
//! The lock is `flock(2)` on the directory itself (opened `O_RDONLY|O_DIRECTORY`), so no lock
//! file is ever created or left behind, and the kernel drops the lock when the process dies.
//! flock locks belong to the open file description, so two threads of one process that each
//! call [`lock_config_dir`] exclude each other too.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::TxnError;

/// How long to sleep between non-blocking lock attempts.
const POLL: Duration = Duration::from_millis(20);

/// An exclusive lock on a configuration directory; released when dropped.
#[derive(Debug)]
pub struct ConfigLock {
    /// Keeps the flock alive: closing the descriptor releases it.
    _file: File,
    dir: PathBuf,
}

impl ConfigLock {
    /// The locked directory (canonical path).
    pub fn config_dir(&self) -> &Path {
        &self.dir
    }
}

/// Take the exclusive lock on `config_dir`, polling until `timeout` has passed.
pub fn lock_config_dir(config_dir: &Path, timeout: Duration) -> Result<ConfigLock, TxnError> {
    let dir = config_dir
        .canonicalize()
        .map_err(|e| TxnError::io(config_dir, "open configuration directory", e))?;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(&dir)
        .map_err(|e| TxnError::io(&dir, "open configuration directory", e))?;
    let start = Instant::now();
    loop {
        // SAFETY: flock on a descriptor we own; no memory is passed.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            return Ok(ConfigLock { _file: file, dir });
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) => {
                let waited = start.elapsed();
                if waited >= timeout {
                    return Err(TxnError::LockTimeout {
                        dir,
                        waited: timeout,
                    });
                }
                std::thread::sleep(POLL.min(timeout - waited));
            }
            _ => return Err(TxnError::io(&dir, "lock configuration directory", err)),
        }
    }
}
