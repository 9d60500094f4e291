//! The binary's top-level error report: a kind, a message, and the file and line where known.

use std::fmt;

/// Exit code for errors (nothing was changed).
pub const EXIT_ERROR: i32 = 1;
/// Exit code for usage errors.
pub const EXIT_USAGE: i32 = 64;

/// An error as the user sees it (text on stderr, or the `error` object in JSON: `kind`,
/// `message`, `file`, `line`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct CliError {
    /// Stable machine-readable kind: `config`, `policy`, `plan`, `stale-plan`, `lock`, `io`,
    /// `snapshot`, `reload`, `validation`, `usage`, `environment`.
    pub kind: &'static str,
    /// What went wrong, and what to do about it.
    pub message: String,
    /// The file concerned, where there is one.
    pub file: Option<String>,
    /// The 1-based line, where there is one.
    pub line: Option<usize>,
    /// Process exit code.
    #[serde(skip)]
    pub exit: i32,
    /// Whether the files on disk changed although the run failed (e.g. a step after the
    /// renames failed, or the guard could not judge an applied change): JSON `changed`.
    pub changed: bool,
    /// Did-you-mean candidates (policy names, subcommands), best first; omitted from JSON when
    /// empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<String>,
}

impl CliError {
    /// An error of `kind` with exit code 1.
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        CliError {
            kind,
            message: message.into(),
            file: None,
            line: None,
            exit: EXIT_ERROR,
            changed: false,
            suggestions: Vec::new(),
        }
    }

    /// Attaches a file (and line).
    pub fn at(mut self, file: impl Into<String>, line: Option<usize>) -> Self {
        self.file = Some(file.into());
        self.line = line;
        self
    }

    /// A usage error (exit 64).
    pub fn usage(message: impl Into<String>) -> Self {
        let mut e = CliError::new("usage", message);
        e.exit = EXIT_USAGE;
        e
    }

    /// JSON form: `{kind, message, file, line}` and `suggestions` when there are any.
    pub fn to_json(&self) -> serde_json::Value {
        // Only strings, numbers and nulls: serialisation cannot fail; keep the message if it
        // ever did.
        serde_json::to_value(self)
            .unwrap_or_else(|e| serde_json::Value::String(format!("{}: {e}", self.message)))
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            // Messages that already start with the location are not prefixed twice.
            (Some(file), Some(line)) if !self.message.starts_with(file.as_str()) => {
                write!(f, "{file}:{line}: {}", self.message)
            }
            (Some(file), None) if !self.message.contains(file.as_str()) => {
                write!(f, "{file}: {}", self.message)
            }
            _ => f.write_str(&self.message),
        }
    }
}

/// Result type of the commands.
pub type CliResult<T> = Result<T, CliError>;
