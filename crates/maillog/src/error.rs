//! Typed errors of the mail-log crate.

use std::path::PathBuf;

/// Everything that can go wrong while reading, analysing or following mail logs.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// An input file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file (or `-` for stdin).
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A gzip stream was corrupt; `line` is the last complete line read before the damage.
    #[error("{path}:{line}: corrupt gzip data: {source}")]
    Gzip {
        /// The compressed file.
        path: PathBuf,
        /// Number of lines read from this file before the error.
        line: u64,
        /// The decoder's error.
        #[source]
        source: std::io::Error,
    },
    /// A query was malformed (for example `since` after `until`, or a zero window).
    #[error("invalid query: {0}")]
    Query(String),
}

impl LogError {
    /// Wraps an I/O error with the file it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        LogError::Io {
            path: path.into(),
            source,
        }
    }
}
