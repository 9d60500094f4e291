//! Fault injection for the crash-safety tests: `PFTLS_TXN_FAILPOINTS` makes a commit fail,
//! crash or pause at a named step, so that tests can kill it, edit files concurrently or start
//! a second run at exactly that moment.
//!
//! `PFTLS_TXN_FAILPOINTS="NAME=ACTION[;NAME=ACTION...]"`, ACTION one of:
//! - `error`: the step fails with EIO (an injected I/O error),
//! - `crash`: the process ends at once with `_exit(86)`, leaving the disk as a kill -9 would,
//! - `pause`: creates `$PFTLS_TXN_FAILPOINT_DIR/NAME.reached` and waits (at most 60 s) until
//!   `$PFTLS_TXN_FAILPOINT_DIR/NAME.go` exists.
//!
//! Steps (see `atomic.rs`): `prepare` (before the `prepared` journal), `staged` (temps
//! written), `verify` (before the compare-and-swap check), `committing` (before the
//! `committing` journal), `rename-N` / `renamed-N` (before/after the N-th rename),
//! `fsync-dirs`, `unlink-old`, `journal-remove`, `journal-removed`, `reload`.
//!
//! Testing hook only: unset in production, it costs one environment lookup per step, and all
//! it can do is make pftls stop, which whoever controls root's environment can do anyway.

use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Environment variable naming the failpoints.
pub const FAILPOINTS_ENV: &str = "PFTLS_TXN_FAILPOINTS";
/// Directory where `pause` failpoints signal and wait.
pub const FAILPOINT_DIR_ENV: &str = "PFTLS_TXN_FAILPOINT_DIR";

/// Exit status of the `crash` action.
pub const CRASH_STATUS: i32 = 86;

/// Run the failpoint `name`: `Ok(())` unless it is configured to fail (or crash, or pause).
pub(crate) fn hit(name: &str) -> io::Result<()> {
    let Ok(spec) = std::env::var(FAILPOINTS_ENV) else {
        return Ok(());
    };
    let Some(action) = spec.split(';').find_map(|item| {
        let (n, a) = item.split_once('=')?;
        (n.trim() == name).then(|| a.trim().to_string())
    }) else {
        return Ok(());
    };
    match action.as_str() {
        "error" => Err(io::Error::other(format!(
            "injected I/O error at failpoint {name}"
        ))),
        "crash" => {
            // SAFETY: _exit ends the process without running destructors, like a kill.
            unsafe { libc::_exit(CRASH_STATUS) }
        }
        "pause" => {
            pause(name);
            Ok(())
        }
        _ => Ok(()),
    }
}

fn pause(name: &str) {
    let dir = std::env::var_os(FAILPOINT_DIR_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let _ = std::fs::write(dir.join(format!("{name}.reached")), b"");
    let go = dir.join(format!("{name}.go"));
    let start = Instant::now();
    while !go.exists() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(10));
    }
}
