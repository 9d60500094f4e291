//! Lossless Postfix `main.cf` / `master.cf` documents with Postfix's exact semantics.
//!
//! Pure: bytes in, bytes out. Parsing keeps the input as one buffer and indexes logical
//! entries by byte range; rendering an unedited document returns the input byte for byte.
//!
//! Reading follows Postfix 3.7's `readllines()` + `split_nameval()`: a logical line is a line
//! that starts with non-whitespace plus all following lines that start with whitespace;
//! blank and comment lines in between are ignored and do not end it; continuation lines are
//! joined without a separator and the value is trimmed; `#` after text is part of the value;
//! the last definition wins.
//!
//! Edits (`MainCf::set/remove/comment_out`, `MasterCf::set_override/remove_override`) splice
//! only the affected lines or tokens; every other byte stays identical. Values Postfix would
//! read differently are refused with [`EditError`]. A main.cf edit splices the buffer in
//! place and re-reads only the logical lines it rewrote (falling back to a full re-read where
//! a rewritten part could join its neighbours), so its cost is the edit plus one move of the
//! bytes after it; debug builds assert that the result equals a full re-read.
//!
//! master.cf options follow postconf: only `o` takes a value; the option section ends at the
//! first argument that does not start with `-`. A compact `-oname=value` is read like the
//! daemon's getopt (split at the first `o`), unlike postconf 3.7 which also splits at a later
//! `o` inside the token.

mod error;
pub mod expand;
mod incremental;
mod lines;
pub mod listener;
mod main_cf;
mod master_cf;
mod nameval;
pub mod scope;
mod splice;
pub mod used_params;
mod validate;
mod version;

pub use error::{EditError, LineNo, ParseError, Warning};
pub use lines::LineKind;
pub use listener::{ListenAddress, ListenHost};
pub use main_cf::{Entry, MainCf};
pub use master_cf::{MasterCf, Override, Service};
pub use scope::{Scope, ServiceKey, ServiceKeyError};
pub use version::{PostfixVersion, VersionError};

/// Collapse whitespace runs like postconf's display (for comparisons with postconf output):
/// split on space, tab, CR and LF and join with one space.
pub fn display_value(value: &str) -> String {
    value
        .split([' ', '\t', '\r', '\n'])
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn display_collapses_whitespace() {
        assert_eq!(super::display_value(" a  \tb\r c "), "a b c");
        assert_eq!(super::display_value(""), "");
    }
}
