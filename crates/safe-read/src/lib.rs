#![warn(missing_docs)]
//! pftls-safe-read: the one way pftls reads a file it did not create itself.
//!
//! Every read opens the path with `O_NONBLOCK` (so a FIFO planted as `main.cf` cannot hang the
//! process while it holds the configuration lock), checks with `fstat` on the opened
//! descriptor (no check-then-open race) that it is a regular file, refuses files larger than
//! the limit of their [`Kind`], and never reads more than that limit even if the file grows.
//!
//! Errors name the file and say what is wrong with it; they never contain any of its bytes,
//! so that a `main.cf` symlinked to `/etc/shadow` cannot leak a line into a terminal or a log.

use std::fmt;
use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use thiserror::Error;

pub mod excerpt;

const MIB: u64 = 1024 * 1024;

/// What a file is for; decides its size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `main.cf` / `master.cf` (and their copies in a snapshot).
    Config,
    /// A policy YAML file.
    Policy,
    /// A snapshot's `manifest.json`.
    Manifest,
    /// The transaction journal.
    Journal,
    /// A saved plan (`plan --out`): two configuration files in base64 plus metadata.
    Plan,
    /// A small status file such as Postfix's `pid/master.pid`.
    Small,
    /// A mail log (read as a stream; the limit only guards against devices).
    Log,
    /// A certificate, chain or private key (PEM or DER).
    Certificate,
    /// A small text input: crypto-policy back-end files, MTA-STS policies, client-profile
    /// lists, resolv.conf.
    Text,
}

impl Kind {
    /// The largest file of this kind pftls reads, in bytes.
    pub fn limit(self) -> u64 {
        match self {
            // Far above any real main.cf (the largest seen in the field are a few MB) while
            // keeping a runaway file from exhausting memory.
            Kind::Config => 64 * MIB,
            Kind::Policy => MIB,
            Kind::Manifest => MIB,
            Kind::Journal => MIB,
            // base64 of two Config files plus the plan's JSON.
            Kind::Plan => 192 * MIB,
            Kind::Small => 4096,
            Kind::Log => u64::MAX,
            // A long chain of large certificates is still far below this.
            Kind::Certificate => 4 * MIB,
            Kind::Text => 4 * MIB,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Config => "configuration file",
            Kind::Policy => "policy file",
            Kind::Manifest => "snapshot manifest",
            Kind::Journal => "transaction journal",
            Kind::Plan => "plan file",
            Kind::Small => "status file",
            Kind::Log => "log file",
            Kind::Certificate => "certificate or key file",
            Kind::Text => "text file",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.noun())
    }
}

/// Why a file could not be read. The message names the file, never its contents.
#[derive(Debug, Error)]
pub enum ReadError {
    /// The path does not exist.
    #[error("{}: no such file", path.display())]
    NotFound {
        /// The path asked for.
        path: PathBuf,
    },
    /// The path is a FIFO, device, socket or directory.
    #[error("{}: not a regular file ({what}); refusing to read it as a {kind}", path.display())]
    NotRegular {
        /// The path asked for.
        path: PathBuf,
        /// What it is instead ("FIFO", "character device", ...).
        what: &'static str,
        /// What it was to be read as.
        kind: Kind,
    },
    /// The file is larger than a file of its kind can sensibly be.
    #[error("{}: {size} bytes is too large for a {kind} (limit {limit} bytes)", path.display())]
    TooLarge {
        /// The path asked for.
        path: PathBuf,
        /// Its size (or the bytes read before giving up, if it grew).
        size: u64,
        /// The limit of its kind.
        limit: u64,
        /// What it was to be read as.
        kind: Kind,
    },
    /// The file is not valid UTF-8 (only from the `*_string` functions).
    #[error("{}: not valid UTF-8 text (byte offset {offset})", path.display())]
    NotUtf8 {
        /// The path asked for.
        path: PathBuf,
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// Any other I/O error (permission denied, EIO, ...).
    #[error("{}: {source}", path.display())]
    Io {
        /// The path asked for.
        path: PathBuf,
        /// The OS error (its text is the OS's, not the file's).
        #[source]
        source: io::Error,
    },
}

impl ReadError {
    /// The path the error is about.
    pub fn path(&self) -> &Path {
        match self {
            ReadError::NotFound { path }
            | ReadError::NotRegular { path, .. }
            | ReadError::TooLarge { path, .. }
            | ReadError::NotUtf8 { path, .. }
            | ReadError::Io { path, .. } => path,
        }
    }

    /// Whether the error is "the file does not exist".
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::NotFound { .. })
    }

    /// An [`io::Error`] with this error's reason but not the path, for error types that name
    /// the path themselves (`"{path}: {source}"`).
    pub fn into_reason_io(self) -> io::Error {
        match self {
            ReadError::Io { source, .. } => source,
            ReadError::NotFound { .. } => io::Error::from_raw_os_error(libc::ENOENT),
            ReadError::NotRegular { what, kind, .. } => io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not a regular file ({what}); refusing to read it as a {kind}"),
            ),
            ReadError::TooLarge {
                size, limit, kind, ..
            } => io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{size} bytes is too large for a {kind} (limit {limit} bytes)"),
            ),
            ReadError::NotUtf8 { offset, .. } => io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not valid UTF-8 text (byte offset {offset})"),
            ),
        }
    }

    /// An [`io::Error`] carrying this error's message (for APIs that want one).
    pub fn into_io(self) -> io::Error {
        let kind = match &self {
            ReadError::NotFound { .. } => io::ErrorKind::NotFound,
            ReadError::Io { source, .. } => source.kind(),
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, self.to_string())
    }
}

fn file_type_name(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        "directory"
    } else if t.is_fifo() {
        "FIFO"
    } else if t.is_char_device() {
        "character device"
    } else if t.is_block_device() {
        "block device"
    } else if t.is_socket() {
        "socket"
    } else {
        "special file"
    }
}

/// Open `path` for reading without blocking and check that it is a regular file within the
/// size limit of `kind`. Returns the open file (blocking mode restored) and its metadata from
/// the same descriptor. Use this to stream large files (logs); use [`read`] otherwise.
pub fn open(path: &Path, kind: Kind) -> Result<(File, Metadata), ReadError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| io_err(path, e))?;
    let meta = file.metadata().map_err(|e| io_err(path, e))?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular {
            path: path.to_path_buf(),
            what: file_type_name(&meta),
            kind,
        });
    }
    if meta.len() > kind.limit() {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
            limit: kind.limit(),
            kind,
        });
    }
    clear_nonblock(&file).map_err(|e| io_err(path, e))?;
    Ok((file, meta))
}

fn clear_nonblock(file: &File) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own; F_GETFL/F_SETFL take no pointers.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn io_err(path: &Path, e: io::Error) -> ReadError {
    if e.kind() == io::ErrorKind::NotFound {
        ReadError::NotFound {
            path: path.to_path_buf(),
        }
    } else {
        ReadError::Io {
            path: path.to_path_buf(),
            source: e,
        }
    }
}

/// Read the whole file at `path` (see [`open`] for the checks), with its metadata.
pub fn read_with_meta(path: &Path, kind: Kind) -> Result<(Vec<u8>, Metadata), ReadError> {
    let (file, meta) = open(path, kind)?;
    let limit = kind.limit();
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // Never read past the limit, even if the file grows while we read it.
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| io_err(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            limit,
            kind,
        });
    }
    Ok((bytes, meta))
}

/// Read the whole file at `path` (see [`open`] for the checks).
pub fn read(path: &Path, kind: Kind) -> Result<Vec<u8>, ReadError> {
    read_with_meta(path, kind).map(|(b, _)| b)
}

/// Like [`read`], but `Ok(None)` when the file does not exist.
pub fn read_optional(path: &Path, kind: Kind) -> Result<Option<Vec<u8>>, ReadError> {
    match read(path, kind) {
        Ok(b) => Ok(Some(b)),
        Err(ReadError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Read the file as UTF-8 text (see [`open`] for the checks).
pub fn read_to_string(path: &Path, kind: Kind) -> Result<String, ReadError> {
    let bytes = read(path, kind)?;
    String::from_utf8(bytes).map_err(|e| ReadError::NotUtf8 {
        path: path.to_path_buf(),
        offset: e.utf8_error().valid_up_to(),
    })
}
