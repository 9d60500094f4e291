//! Run the reload command (default `postfix reload`, `postfix -c DIR reload` for another
//! instance): argv only, no shell, in its own process group, with a timeout that covers the
//! whole group, bounded output capture, and no waiting on pipes inherited by children that
//! outlive the command.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::report::ReloadReport;

/// The default reload command (the default instance).
pub const DEFAULT_RELOAD_COMMAND: &[&str] = &["postfix", "reload"];

/// How long `commit`/`restore` let the reload command run before killing its process group.
pub const DEFAULT_RELOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// Bytes of output kept per stream (the tail: the last lines say why a command failed).
pub const OUTPUT_TAIL: usize = 16 * 1024;

/// How long to keep reading output after the command exited (children holding the pipes
/// open are not waited for beyond this).
const DRAIN_GRACE: Duration = Duration::from_millis(100);

/// Split a `--reload-command` string on whitespace (no shell, no quoting).
pub fn split_reload_command(command: &str) -> Vec<String> {
    command.split_whitespace().map(str::to_string).collect()
}

/// The reload command for the Postfix instance whose configuration is `config_dir`:
/// `postfix reload` when it is the default instance's `default_config_dir` (compared
/// canonically), otherwise `postfix -c DIR reload`, so that the instance that was changed is
/// the one reloaded.
pub fn reload_command_for(config_dir: &Path, default_config_dir: &Path) -> Vec<String> {
    let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let dir = canon(config_dir);
    if dir == canon(default_config_dir) {
        DEFAULT_RELOAD_COMMAND
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        vec![
            "postfix".to_string(),
            "-c".to_string(),
            dir.display().to_string(),
            "reload".to_string(),
        ]
    }
}

/// Whether a Postfix master process runs for an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterStatus {
    /// `pid/master.pid` names a live process.
    Running {
        /// The master's pid.
        pid: i32,
    },
    /// No live master: reloading cannot work; the text says why ("no pid file ...").
    NotRunning {
        /// Why Postfix is considered not running.
        reason: String,
    },
}

/// Check `$queue_directory/pid/master.pid` (Postfix writes the master's pid there, padded
/// with spaces): a missing or unreadable file, a pid that is not alive, or a live process
/// that is not a Postfix `master` (pid reuse) all mean "not running".
pub fn master_status(queue_directory: &Path) -> MasterStatus {
    let file = queue_directory.join("pid").join("master.pid");
    let not = |reason: String| MasterStatus::NotRunning { reason };
    let bytes = match pftls_safe_read::read(&file, pftls_safe_read::Kind::Small) {
        Ok(b) => b,
        Err(e) if e.is_not_found() => return not(format!("{} does not exist", file.display())),
        Err(e) => return not(e.to_string()),
    };
    let Some(pid) = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .filter(|p| *p > 0)
    else {
        return not(format!("{} does not hold a pid", file.display()));
    };
    // SAFETY: signal 0 only checks for existence/permission.
    let alive = unsafe { libc::kill(pid, 0) } == 0
        || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    if !alive {
        return not(format!(
            "{} names pid {pid}, which is not running",
            file.display()
        ));
    }
    let comm = PathBuf::from(format!("/proc/{pid}/comm"));
    if let Ok(name) = pftls_safe_read::read(&comm, pftls_safe_read::Kind::Small) {
        let name = String::from_utf8_lossy(&name);
        if name.trim() != "master" {
            return not(format!(
                "{} names pid {pid}, which is not a Postfix master ({})",
                file.display(),
                crate::reload::printable(name.trim())
            ));
        }
    }
    MasterStatus::Running { pid }
}

/// Control characters shown escaped, so that output cannot drive the terminal.
pub(crate) fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\n' || c == '\t' || !c.is_control() {
            out.push(c);
        } else {
            out.push_str(&format!("\\x{:02x}", c as u32));
        }
    }
    out
}

/// The last `OUTPUT_TAIL` bytes of a stream.
#[derive(Default)]
struct Tail {
    buf: VecDeque<u8>,
    dropped: u64,
}

impl Tail {
    fn push(&mut self, data: &[u8]) {
        self.buf.extend(data);
        let excess = self.buf.len().saturating_sub(OUTPUT_TAIL);
        if excess > 0 {
            self.buf.drain(..excess);
            self.dropped += excess as u64;
        }
    }

    fn text(&self) -> String {
        let bytes: Vec<u8> = self.buf.iter().copied().collect();
        let s = printable(String::from_utf8_lossy(&bytes).trim());
        if self.dropped > 0 && !s.is_empty() {
            format!("[... {} earlier bytes not shown]\n{s}", self.dropped)
        } else {
            s
        }
    }
}

/// A pipe read without blocking.
struct Stream<R: Read + AsRawFd> {
    pipe: Option<R>,
    tail: Tail,
}

impl<R: Read + AsRawFd> Stream<R> {
    fn new(pipe: Option<R>) -> Self {
        if let Some(p) = &pipe {
            set_nonblocking(p.as_raw_fd());
        }
        Stream {
            pipe,
            tail: Tail::default(),
        }
    }

    fn fd(&self) -> Option<i32> {
        self.pipe.as_ref().map(AsRawFd::as_raw_fd)
    }

    /// Read what is available now; closes the pipe at EOF or error.
    fn read_available(&mut self) {
        let Some(p) = self.pipe.as_mut() else { return };
        let mut chunk = [0u8; 8192];
        // Bounded: a command writing faster than we read is cut off by the caller's loop.
        for _ in 0..64 {
            match p.read(&mut chunk) {
                Ok(0) => {
                    self.pipe = None;
                    return;
                }
                Ok(n) => self.tail.push(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.pipe = None;
                    return;
                }
            }
        }
    }
}

fn set_nonblocking(fd: i32) {
    // SAFETY: fcntl on a descriptor owned by the caller; no pointers.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
    }
}

/// Wait until one of `fds` is readable or `timeout` passes.
fn poll_fds(fds: &[i32], timeout: Duration) {
    if fds.is_empty() {
        std::thread::sleep(timeout);
        return;
    }
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|fd| libc::pollfd {
            fd: *fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: pfds is a valid array of pollfd of the given length.
    unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
}

/// Kill the command's whole process group and reap the command.
fn kill_group(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: the child leads its own process group (process_group(0)); SIGKILL to it.
        unsafe { libc::killpg(pid, libc::SIGKILL) };
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Run `argv` and wait at most `timeout`. `ok` is true only for exit status 0 in time.
/// stdout and stderr are captured (their last [`OUTPUT_TAIL`] bytes each, stdout first,
/// trimmed, control characters escaped). The command runs in its own process group; on
/// timeout the whole group is killed. Once the command itself has exited, output is read for
/// a short grace period only: a background child that keeps the pipes open does not hold up
/// pftls (or the configuration lock).
pub fn run_reload(argv: &[String], timeout: Duration) -> ReloadReport {
    let command = argv.join(" ");
    let fail = |output: String| ReloadReport {
        command: command.clone(),
        ok: false,
        output,
    };
    let Some((prog, args)) = argv.split_first() else {
        return fail("empty reload command".to_string());
    };
    if let Err(e) = crate::failpoint::hit("reload") {
        return fail(e.to_string());
    }
    let mut child = match Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return fail(format!("cannot run {prog}: {e}")),
    };
    let mut out = Stream::new(child.stdout.take());
    let mut err = Stream::new(child.stderr.take());

    let start = Instant::now();
    let status: Result<ExitStatus, String> = loop {
        let fds: Vec<i32> = [out.fd(), err.fd()].into_iter().flatten().collect();
        poll_fds(&fds, Duration::from_millis(20));
        out.read_available();
        err.read_available();
        match child.try_wait() {
            Ok(Some(st)) => break Ok(st),
            Ok(None) if start.elapsed() >= timeout => {
                kill_group(&mut child);
                break Err(format!(
                    "timed out after {}s (its process group was killed)",
                    timeout.as_secs_f64()
                ));
            }
            Ok(None) => {}
            Err(e) => {
                kill_group(&mut child);
                break Err(format!("wait failed: {e}"));
            }
        }
    };
    // What the command wrote before exiting is in the pipes: read it, but do not wait for
    // children that inherited them.
    let grace = Instant::now();
    while (out.pipe.is_some() || err.pipe.is_some()) && grace.elapsed() < DRAIN_GRACE {
        let fds: Vec<i32> = [out.fd(), err.fd()].into_iter().flatten().collect();
        poll_fds(&fds, Duration::from_millis(10));
        out.read_available();
        err.read_available();
    }
    let mut text = out.tail.text();
    let e = err.tail.text();
    if !e.is_empty() {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&e);
    }
    match status {
        Ok(st) if st.success() => ReloadReport {
            command,
            ok: true,
            output: text,
        },
        Ok(st) => {
            let why = match st.code() {
                Some(c) => format!("exit status {c}"),
                None => "killed by a signal".to_string(),
            };
            fail(if text.is_empty() {
                why
            } else {
                format!("{text}\n({why})")
            })
        }
        Err(why) => fail(if text.is_empty() {
            why
        } else {
            format!("{text}\n({why})")
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        split_reload_command(s)
    }

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    #[test]
    fn success_captures_output() {
        let r = run_reload(&argv("sh -c  echo"), Duration::from_secs(10));
        assert!(r.ok, "{r:?}");
        let r = run_reload(&sh("echo out; echo err >&2"), Duration::from_secs(10));
        assert!(r.ok);
        assert_eq!(r.output, "out\nerr");
    }

    #[test]
    fn failure_and_missing_and_timeout() {
        let r = run_reload(&argv("false"), Duration::from_secs(10));
        assert!(!r.ok);
        assert!(r.output.contains("exit status 1"), "{}", r.output);
        let r = run_reload(&argv("/nonexistent/pftls-reload"), Duration::from_secs(10));
        assert!(!r.ok);
        assert!(r.output.contains("cannot run"), "{}", r.output);
        let t = Instant::now();
        let r = run_reload(&argv("sleep 5"), Duration::from_millis(200));
        assert!(!r.ok);
        assert!(r.output.contains("timed out"), "{}", r.output);
        assert!(t.elapsed() < Duration::from_secs(4));
        assert!(run_reload(&[], Duration::from_secs(1))
            .output
            .contains("empty"));
    }

    #[test]
    fn lingering_child_does_not_hold_us() {
        // The command exits at once but leaves a child holding stdout/stderr for 30 s.
        let t = Instant::now();
        let r = run_reload(&sh("sleep 30 & echo started"), Duration::from_secs(20));
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        assert!(r.ok, "{r:?}");
        assert_eq!(r.output, "started");
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let r = run_reload(&sh("sleep 30 & echo $!; wait"), Duration::from_millis(300));
        assert!(!r.ok);
        let pid: i32 = r.output.lines().next().unwrap().trim().parse().unwrap();
        // The background sleep was in the group: gone (or a zombie awaiting its reaper).
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat.rsplit(") ").next().and_then(|s| s.chars().next());
            if stat.is_empty() || state == Some('Z') {
                break;
            }
            assert!(Instant::now() < deadline, "pid {pid} survived: {stat}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn endless_output_is_bounded() {
        let t = Instant::now();
        let r = run_reload(&argv("yes"), Duration::from_millis(500));
        assert!(t.elapsed() < Duration::from_secs(3));
        assert!(!r.ok);
        assert!(r.output.len() < 2 * OUTPUT_TAIL + 200, "{}", r.output.len());
        assert!(r.output.contains("earlier bytes not shown"));
        assert!(r.output.contains("timed out"));
    }

    #[test]
    fn escape_sequences_in_output_are_escaped() {
        let r = run_reload(
            &sh("printf 'a\\033[2Jb\\n'; exit 1"),
            Duration::from_secs(5),
        );
        assert!(r.output.starts_with("a\\x1b[2Jb"), "{}", r.output);
    }

    #[test]
    fn instance_command_and_master_status() {
        let tmp = tempfile::tempdir().unwrap();
        let other = tmp.path().join("postfix-out");
        std::fs::create_dir(&other).unwrap();
        assert_eq!(
            reload_command_for(tmp.path(), tmp.path()),
            argv("postfix reload")
        );
        let canon = other.canonicalize().unwrap();
        assert_eq!(
            reload_command_for(&other, tmp.path()),
            vec!["postfix", "-c", canon.to_str().unwrap(), "reload"]
        );
        let q = tmp.path().join("queue");
        std::fs::create_dir_all(q.join("pid")).unwrap();
        assert!(matches!(master_status(&q), MasterStatus::NotRunning { .. }));
        // A pid that is alive but not a master (this test process) is not Postfix.
        std::fs::write(
            q.join("pid/master.pid"),
            format!("{:>10}\n", std::process::id()),
        )
        .unwrap();
        match master_status(&q) {
            MasterStatus::NotRunning { reason } => {
                assert!(reason.contains("not a Postfix master"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        // A live process named `master` (a copy of sleep) counts as a running Postfix.
        let fake = tmp.path().join("master");
        std::fs::copy("/bin/sleep", &fake).unwrap();
        let mut child = std::process::Command::new(&fake).arg("30").spawn().unwrap();
        std::fs::write(q.join("pid/master.pid"), format!("{:>10}\n", child.id())).unwrap();
        // Right after fork the child still carries the test's name until exec completes:
        // poll (bounded) until /proc shows the exec'd `master`.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let mut status = master_status(&q);
        while !matches!(status, MasterStatus::Running { .. })
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(20));
            status = master_status(&q);
        }
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(
            status,
            MasterStatus::Running {
                pid: i32::try_from(child.id()).unwrap()
            }
        );
        std::fs::write(q.join("pid/master.pid"), "  999999999\n").unwrap();
        match master_status(&q) {
            MasterStatus::NotRunning { reason } => {
                assert!(reason.contains("not running"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }
}
