//! The listener processes of a running master: after a reload, the old ones keep serving
//! their current client with the old configuration, so verification waits for them.

use std::path::Path;
use std::time::{Duration, Instant};

/// The smtpd/postscreen/tlsproxy children of the instance's running master (by
/// `/proc/PID/stat` parent pid): processes that serve clients with the configuration the
/// master had when it started them.
pub fn listener_pids(queue_directory: &Path) -> Vec<i32> {
    let pftls_txn::MasterStatus::Running { pid: master } =
        pftls_txn::master_status(queue_directory)
    else {
        return Vec::new();
    };
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "PID (COMM) STATE PPID ...": COMM may contain spaces; split at the last ')'.
        let Some((head, tail)) = stat.rsplit_once(") ") else {
            continue;
        };
        let comm = head.split_once(" (").map(|(_, c)| c).unwrap_or("");
        let ppid = tail
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<i32>().ok());
        if ppid == Some(master) && matches!(comm, "smtpd" | "postscreen" | "tlsproxy") {
            out.push(pid);
        }
    }
    out
}

/// After a reload, wait (at most `timeout`) until the listener processes that existed
/// before it have exited: until then a probe may be answered with the old configuration
/// (Postfix lets them finish their current client).
pub fn wait_for_new_generation(before: &[i32], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        let alive = before.iter().any(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(") ").map(|(_, t)| !t.starts_with('Z')))
                .unwrap_or(false)
        });
        if !alive {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
