//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong in `pftls-tls`. Variants name the file (and line) where
/// there is one, so that a CLI can print `file:line: message`.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A configuration file has a line we cannot make sense of.
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A Postfix protocol list Postfix itself would reject ("Invalid TLS protocol list").
    #[error("invalid TLS protocol list \"{value}\": {message}")]
    ProtocolList {
        /// The whole list as given.
        value: String,
        /// What is wrong with it.
        message: String,
    },
    /// A Postfix cipher exclusion token Postfix itself would reject.
    #[error("invalid unary '!+-@' in cipher exclusion: \"{token}\"")]
    CipherExclusion {
        /// The offending token.
        token: String,
    },
    /// OpenSSL accepted none of the ciphers of a cipher string.
    #[error("invalid cipher list \"{cipher_string}\": {reason}")]
    CipherList {
        /// The cipher string given to OpenSSL.
        cipher_string: String,
        /// OpenSSL's reason (usually "no cipher match").
        reason: String,
    },
    /// A Postfix parameter has a value Postfix would refuse (fatal or TLS disabled).
    #[error("{parameter} = {value}: {message}")]
    Parameter {
        /// Parameter name.
        parameter: String,
        /// The offending value.
        value: String,
        /// What Postfix does / why it is wrong.
        message: String,
    },
    /// Client profiles JSON could not be parsed.
    #[error("client profiles: {0}")]
    Profiles(String),
    /// An OpenSSL call failed; `context` says which operation.
    #[error("{context}: {reason}")]
    OpenSsl {
        /// What we were doing.
        context: String,
        /// OpenSSL's reason string(s).
        reason: String,
    },
    /// Probe: nothing listens on the target port.
    #[error("{target}: connection refused")]
    ConnectionRefused {
        /// host:port
        target: String,
    },
    /// Probe: the server did not answer in time.
    #[error("{target}: timeout during {stage}")]
    Timeout {
        /// host:port
        target: String,
        /// Which step of the dialogue (connect, banner, EHLO, ...).
        stage: String,
    },
    /// Probe: a network error other than refused/timeout.
    #[error("{target}: {stage}: {source}")]
    Network {
        /// host:port
        target: String,
        /// Which step of the dialogue.
        stage: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Probe: the server answered something the dialogue does not allow.
    #[error("{target}: unexpected reply to {stage}: {reply}")]
    UnexpectedReply {
        /// host:port
        target: String,
        /// Which step of the dialogue.
        stage: String,
        /// The reply text as received (possibly truncated).
        reply: String,
    },
}

impl TlsError {
    /// Wraps an OpenSSL error stack with a description of the failed operation.
    pub(crate) fn openssl(context: impl Into<String>, err: &openssl::error::ErrorStack) -> Self {
        TlsError::OpenSsl {
            context: context.into(),
            reason: reason_of(err),
        }
    }

    /// Wraps an I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TlsError::Io {
            path: path.into(),
            source,
        }
    }
}

/// The human reason of the first error in an OpenSSL error stack, like the text after the
/// last `::` in Postfix's "TLS library problem" lines ("no shared cipher").
pub fn reason_of(err: &openssl::error::ErrorStack) -> String {
    let reasons: Vec<String> = err
        .errors()
        .iter()
        .map(|e| {
            e.reason()
                .map(str::to_string)
                .unwrap_or_else(|| e.to_string())
        })
        .collect();
    if reasons.is_empty() {
        "unknown OpenSSL error".to_string()
    } else {
        reasons.join("; ")
    }
}
