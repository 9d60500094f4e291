//! Errors and warnings, worded like Postfix's own diagnostics.

/// 1-based line number in the parsed input.
pub type LineNo = usize;

/// A problem Postfix treats as fatal when it reads the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}: \"{text}\"")]
pub struct ParseError {
    /// First line of the logical line (as Postfix reports it).
    pub line: LineNo,
    /// Postfix's wording, e.g. `missing '=' after attribute name`.
    pub message: String,
    /// The logical line (lossy UTF-8, cut at a NUL byte like Postfix's C strings).
    pub text: String,
}

/// Something Postfix accepts with a warning (or that a careful reader should know).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Line the warning is about.
    pub line: LineNo,
    /// Postfix's wording where Postfix has one.
    pub message: String,
}

/// Why an edit was refused. The document is unchanged when an edit returns an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The parameter name cannot be written so that Postfix reads it back as that name.
    #[error("invalid parameter name {name:?}: {reason}")]
    InvalidName {
        /// The rejected name.
        name: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The value would be read differently by Postfix, or has malformed `$` syntax.
    #[error("invalid value for {name}: {reason}")]
    InvalidValue {
        /// The parameter the value was meant for.
        name: String,
        /// Why it was rejected.
        reason: String,
    },
    /// master.cf has no entry `name/type` with this key.
    #[error("no such service: {0}")]
    NoSuchService(String),
    /// The entry's existing syntax (e.g. an unclosed `{` that swallows the rest of the line)
    /// would make the written text mean something else; nothing changed.
    #[error("edit would not take effect as intended: {0}")]
    NotApplied(String),
    /// The edited document did not parse back (an internal invariant broke; nothing changed).
    #[error("edit produced an unreadable document: {0}")]
    Reparse(ParseError),
}
