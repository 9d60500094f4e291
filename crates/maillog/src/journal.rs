//! Postfix's entries from the systemd journal, for hosts without a maillog file: `journalctl`
//! runs as a child process and its output is read like a log file.
//!
//! The units are [`UNITS`] (`postfix.service` on most distributions, `postfix@-.service` and
//! other instances on Debian/Ubuntu), the format `short-iso-precise` (RFC 3339 with the
//! offset: no year inference needed). `--since` / `--until` are passed on to journalctl so the
//! journal's own index does the windowing.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use chrono::{DateTime, Utc};

use crate::{LogError, LogSource};

/// The `-u` patterns given to journalctl.
pub const UNITS: [&str; 2] = ["postfix.service", "postfix@*.service"];

/// What to ask journalctl for.
#[derive(Debug, Clone, Default)]
pub struct JournalQuery {
    /// `--since`.
    pub since: Option<DateTime<Utc>>,
    /// `--until`.
    pub until: Option<DateTime<Utc>>,
    /// `--file`: read this journal file instead of the system journal.
    pub file: Option<PathBuf>,
    /// The program to run (default `journalctl`).
    pub program: Option<PathBuf>,
}

impl JournalQuery {
    /// The journalctl arguments.
    pub fn args(&self) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "--no-pager".into(),
            "-q".into(),
            "-o".into(),
            "short-iso-precise".into(),
        ];
        for u in UNITS {
            a.push("-u".into());
            a.push(u.into());
        }
        let t = |t: &DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
        if let Some(s) = &self.since {
            a.push(format!("--since={}", t(s)));
        }
        if let Some(u) = &self.until {
            a.push(format!("--until={}", t(u)));
        }
        if let Some(f) = &self.file {
            a.push(format!("--file={}", f.display()));
        }
        a
    }
}

/// journalctl's stdout; at EOF the child is reaped and a failure becomes an I/O error with
/// its stderr.
struct ChildReader {
    child: Child,
    out: ChildStdout,
    done: bool,
}

impl Read for ChildReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.out.read(buf)?;
        if n == 0 && !self.done {
            self.done = true;
            let mut err = String::new();
            if let Some(mut e) = self.child.stderr.take() {
                // Bounded: journalctl's error text is short; read at most 64 KiB.
                let _ = (&mut e).take(65_536).read_to_string(&mut err);
            }
            let status = self.child.wait()?;
            if !status.success() {
                return Err(io::Error::other(format!(
                    "journalctl exited with {status}: {}",
                    err.trim()
                )));
            }
        }
        Ok(n)
    }
}

impl Drop for ChildReader {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts journalctl and returns its output as a source named `journal`.
pub fn journal_source(q: &JournalQuery) -> Result<LogSource, LogError> {
    let program = q
        .program
        .clone()
        .unwrap_or_else(|| PathBuf::from("journalctl"));
    let mut child = Command::new(&program)
        .args(q.args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| LogError::io(Path::new(&program), e))?;
    let out = child
        .stdout
        .take()
        .ok_or_else(|| LogError::io(Path::new(&program), io::Error::other("no stdout pipe")))?;
    Ok(LogSource::from_reader(
        "journal",
        ChildReader {
            child,
            out,
            done: false,
        },
        None,
    ))
}
