//! Input sources: files (plain or gzip, detected by magic bytes), stdin, any reader; and the
//! chunked line splitter that feeds the analyser.

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::error::LogError;

/// Read size of the line splitter: large reads keep syscalls and per-chunk work off the
/// per-line cost.
pub const CHUNK: usize = 1 << 20;
/// Lines longer than this are counted but only their first `MAX_LINE` bytes are analysed,
/// so one enormous line cannot grow the buffer without bound.
pub const MAX_LINE: usize = 64 * 1024;

/// One input of [`crate::analyze`].
pub struct LogSource {
    /// Path for messages (`-` for stdin).
    pub path: PathBuf,
    /// Reference time for year-less timestamps (the file's mtime); `None` = the caller's hint.
    pub reference: Option<DateTime<Utc>>,
    /// Size in bytes when known (drives the progress bar).
    pub size: Option<u64>,
    reader: Box<dyn Read + Send>,
    /// The file itself, for positioned reads (plain regular files only): windowed reads
    /// bisect on it and parallel scans split it.
    pub(crate) file: Option<File>,
}

impl std::fmt::Debug for LogSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogSource")
            .field("path", &self.path)
            .field("reference", &self.reference)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl LogSource {
    /// Opens a file (or stdin for `-`); its mtime becomes the year reference.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, LogError> {
        let path = path.as_ref();
        if path == Path::new("-") {
            return Ok(Self::from_reader("-", io::stdin(), None));
        }
        // Non-blocking open, regular files only: a FIFO or device given as a log must not hang
        // pftls (stdin is `-`).
        let (file, meta) = pftls_safe_read::open(path, pftls_safe_read::Kind::Log)
            .map_err(|e| LogError::io(path, e.into_reason_io()))?;
        let reference = meta.modified().ok().map(DateTime::<Utc>::from);
        let positioned = if meta.is_file() {
            file.try_clone().ok()
        } else {
            None
        };
        Ok(LogSource {
            path: path.to_path_buf(),
            reference,
            size: Some(meta.len()),
            reader: Box::new(file),
            file: positioned,
        })
    }

    /// Wraps any reader (plain or gzip) under a display name.
    pub fn from_reader(
        name: impl Into<PathBuf>,
        reader: impl Read + Send + 'static,
        reference: Option<DateTime<Utc>>,
    ) -> Self {
        LogSource {
            path: name.into(),
            reference,
            size: None,
            reader: Box::new(reader),
            file: None,
        }
    }

    /// Replaces the raw reader (used to count bytes for the progress bar).
    pub(crate) fn map_reader(
        self,
        f: impl FnOnce(Box<dyn Read + Send>) -> Box<dyn Read + Send>,
    ) -> Self {
        LogSource {
            reader: f(self.reader),
            ..self
        }
    }

    /// Whether this is a plain (not gzip) regular file that can be read at positions.
    pub(crate) fn positioned_plain(&self) -> Option<(&File, u64)> {
        use std::os::unix::fs::FileExt;
        let file = self.file.as_ref()?;
        let size = self.size?;
        let mut magic = [0u8; 2];
        let n = file.read_at(&mut magic, 0).ok()?;
        (magic[..n] != [0x1f, 0x8b]).then_some((file, size))
    }

    /// Restricts a plain file to the byte range holding `[since, until)` (see
    /// [`crate::seek::window_range`]); other sources are returned unchanged (read whole).
    pub(crate) fn windowed(
        self,
        since: Option<i64>,
        until: Option<i64>,
        hint: &crate::YearHint,
    ) -> Self {
        use std::io::{Seek, SeekFrom};
        if since.is_none() && until.is_none() {
            return self;
        }
        let Some((file, size)) = self.positioned_plain() else {
            return self;
        };
        let hint = crate::YearHint {
            reference: self.reference.unwrap_or(hint.reference),
            utc_offset_secs: hint.utc_offset_secs,
        };
        let (start, end) = crate::seek::window_range(file, size, since, until, &hint);
        if (start, end) == (0, size) {
            return self;
        }
        let Ok(mut f) = file.try_clone() else {
            return self;
        };
        if f.seek(SeekFrom::Start(start)).is_err() {
            return self;
        }
        LogSource {
            size: Some(end - start),
            reader: Box::new(f.take(end - start)),
            file: None,
            ..self
        }
    }

    /// The decoded byte stream: gunzipped (all members) when it starts with the gzip magic.
    pub fn into_decoded(mut self) -> Result<(PathBuf, bool, Box<dyn Read + Send>), LogError> {
        let mut magic = [0u8; 2];
        let mut n = 0;
        while n < 2 {
            match self.reader.read(&mut magic[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(LogError::io(&self.path, e)),
            }
        }
        let head = Cursor::new(magic[..n].to_vec());
        let raw = head.chain(self.reader);
        if magic[..n] == [0x1f, 0x8b] {
            let dec = flate2::read::MultiGzDecoder::new(io::BufReader::with_capacity(CHUNK, raw));
            Ok((self.path, true, Box::new(dec)))
        } else {
            Ok((self.path, false, Box::new(raw)))
        }
    }
}

/// Calls `f` for every line of `reader` (without the `\n`; a final line without `\n` counts).
/// Returns the number of lines. I/O errors carry the count of lines read so far.
pub fn for_each_line(
    reader: &mut dyn Read,
    mut f: impl FnMut(&[u8]),
) -> Result<u64, (u64, io::Error)> {
    let mut buf = vec![0u8; CHUNK + MAX_LINE];
    let mut start = 0; // first unconsumed byte
    let mut end = 0; // end of valid data
    let mut lines = 0u64;
    let mut skipping = false; // inside an over-long line whose head was already delivered
    loop {
        if start > 0 && (buf.len() - end) < CHUNK / 2 {
            buf.copy_within(start..end, 0);
            end -= start;
            start = 0;
        }
        let n = loop {
            match reader.read(&mut buf[end..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err((lines, e)),
            }
        };
        if n == 0 {
            if start < end && !skipping {
                f(&buf[start..end.min(start + MAX_LINE)]);
                lines += 1;
            }
            return Ok(lines);
        }
        let scan_from = end;
        end += n;
        let mut pos = start;
        crate::newlines::for_each_newline(&buf[scan_from..end], |nl| {
            let nl = scan_from + nl;
            if skipping {
                skipping = false;
            } else {
                f(&buf[pos..nl.min(pos + MAX_LINE)]);
                lines += 1;
            }
            pos = nl + 1;
        });
        start = pos;
        if end - start >= MAX_LINE {
            // An over-long line: analyse its head, drop the rest up to the next newline.
            if !skipping {
                f(&buf[start..start + MAX_LINE]);
                lines += 1;
                skipping = true;
            }
            start = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(data: &[u8]) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        let mut r = Cursor::new(data.to_vec());
        let n = for_each_line(&mut r, |l| v.push(l.to_vec())).unwrap();
        assert_eq!(n as usize, v.len());
        v
    }

    #[test]
    fn lines_and_tail() {
        assert_eq!(
            split(b"a\nbb\n\nc"),
            vec![b"a".to_vec(), b"bb".to_vec(), vec![], b"c".to_vec()]
        );
        assert_eq!(split(b""), Vec::<Vec<u8>>::new());
        assert_eq!(split(b"x\n"), vec![b"x".to_vec()]);
    }

    #[test]
    fn many_chunks_and_long_line() {
        let mut data = Vec::new();
        for i in 0..300_000 {
            data.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        data.extend(std::iter::repeat_n(b'x', MAX_LINE * 3));
        data.extend_from_slice(b"\nlast\n");
        let v = split(&data);
        assert_eq!(v.len(), 300_002);
        assert_eq!(v[299_999], b"line 299999");
        assert_eq!(v[300_000].len(), MAX_LINE);
        assert_eq!(v[300_001], b"last");
    }
}
