//! `tail -F` for the guard: follow a log file from its current end, surviving rotation.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::LogError;
use crate::input::MAX_LINE;

/// Default poll interval.
pub const DEFAULT_POLL: Duration = Duration::from_millis(200);
/// Poll intervals are clamped to this range.
pub const POLL_RANGE: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(1));

/// Follows a file like `tail -F`: complete new lines, each exactly once.
///
/// Rotation by rename (the path now names a new file): the old file is drained to its end,
/// then the new file is read from its start. Truncation in place (`copytruncate`): reading
/// restarts at offset 0. As with `tail -F`, lines appended between this follower's last read
/// and a `copytruncate` are lost to it, and a truncated file that regrows past the old
/// offset between two polls is not seen as truncated; rename rotation loses nothing.
#[derive(Debug)]
pub struct LogFollower {
    path: PathBuf,
    file: Option<File>,
    id: Option<(u64, u64)>,
    pos: u64,
    partial: Vec<u8>,
    poll: Duration,
    buf: Vec<u8>,
}

fn lossy(b: &[u8]) -> String {
    let b = b.strip_suffix(b"\r").unwrap_or(b);
    String::from_utf8_lossy(b).into_owned()
}

impl LogFollower {
    /// Starts following `path` at its current end. A missing file is waited for and then
    /// read from its start.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, LogError> {
        let mut f = Self::new(path.as_ref());
        if let Some((file, meta)) = f.open_current()? {
            f.pos = meta.len();
            f.id = Some((meta.dev(), meta.ino()));
            f.file = Some(file);
        }
        Ok(f)
    }

    /// Like [`LogFollower::open`] but reads the existing content too.
    pub fn open_from_start(path: impl AsRef<Path>) -> Result<Self, LogError> {
        let mut f = Self::new(path.as_ref());
        if let Some((file, meta)) = f.open_current()? {
            f.id = Some((meta.dev(), meta.ino()));
            f.file = Some(file);
        }
        Ok(f)
    }

    fn new(path: &Path) -> Self {
        LogFollower {
            path: path.to_path_buf(),
            file: None,
            id: None,
            pos: 0,
            partial: Vec::new(),
            poll: DEFAULT_POLL,
            buf: vec![0; 64 * 1024],
        }
    }

    /// Sets the poll interval of [`LogFollower::wait_lines`] (clamped to [`POLL_RANGE`]).
    pub fn with_poll_interval(mut self, every: Duration) -> Self {
        self.poll = every.clamp(POLL_RANGE.0, POLL_RANGE.1);
        self
    }

    /// The followed path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open_current(&self) -> Result<Option<(File, std::fs::Metadata)>, LogError> {
        match pftls_safe_read::open(&self.path, pftls_safe_read::Kind::Log) {
            Ok((file, meta)) => Ok(Some((file, meta))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(LogError::io(&self.path, e.into_reason_io())),
        }
    }

    /// Reads the current file from `pos` to its end, splitting complete lines into `out`.
    fn drain(&mut self, out: &mut Vec<String>) -> Result<(), LogError> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        file.seek(SeekFrom::Start(self.pos))
            .map_err(|e| LogError::io(&self.path, e))?;
        loop {
            let n = match file.read(&mut self.buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(LogError::io(&self.path, e)),
            };
            if n == 0 {
                return Ok(());
            }
            self.pos += n as u64;
            let mut chunk = &self.buf[..n];
            while let Some(nl) = memchr::memchr(b'\n', chunk) {
                if self.partial.is_empty() {
                    out.push(lossy(&chunk[..nl]));
                } else {
                    let room = MAX_LINE.saturating_sub(self.partial.len());
                    self.partial.extend_from_slice(&chunk[..nl.min(room)]);
                    out.push(lossy(&self.partial));
                    self.partial.clear();
                }
                chunk = &chunk[nl + 1..];
            }
            let room = MAX_LINE.saturating_sub(self.partial.len());
            self.partial
                .extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
    }

    /// Emits an unterminated last line of a file that is being left behind.
    fn flush_partial(&mut self, out: &mut Vec<String>) {
        if !self.partial.is_empty() {
            out.push(lossy(&self.partial));
            self.partial.clear();
        }
    }

    /// One non-blocking check: the complete lines appended since the last call.
    pub fn poll(&mut self) -> Result<Vec<String>, LogError> {
        let mut out = Vec::new();
        self.drain(&mut out)?;
        let Some((file, meta)) = self.open_current()? else {
            // Rotated away and not re-created yet: keep the old file, retry later.
            return Ok(out);
        };
        let id = (meta.dev(), meta.ino());
        if self.id != Some(id) {
            // Renamed away: whatever the writer still put in the old file comes first.
            self.drain(&mut out)?;
            self.flush_partial(&mut out);
            self.file = Some(file);
            self.id = Some(id);
            self.pos = 0;
            self.drain(&mut out)?;
        } else if meta.len() < self.pos {
            // Truncated in place (copytruncate).
            self.flush_partial(&mut out);
            self.pos = 0;
            self.drain(&mut out)?;
        }
        Ok(out)
    }

    /// Polls every poll interval until there are new lines or `max_wait` has passed
    /// (then returns an empty list). Never blocks longer than `max_wait` + one interval.
    pub fn wait_lines(&mut self, max_wait: Duration) -> Result<Vec<String>, LogError> {
        let start = Instant::now();
        loop {
            let lines = self.poll()?;
            let elapsed = start.elapsed();
            if !lines.is_empty() || elapsed >= max_wait {
                return Ok(lines);
            }
            std::thread::sleep(self.poll.min(max_wait - elapsed));
        }
    }
}
