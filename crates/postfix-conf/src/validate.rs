//! Checks that a name or value, once written, is read back by Postfix as exactly that.

use crate::error::EditError;
use crate::expand::check_syntax;
use crate::lines::is_space;

fn bad_name(name: &str, reason: &str) -> EditError {
    EditError::InvalidName {
        name: name.to_string(),
        reason: reason.to_string(),
    }
}

fn bad_value(name: &str, reason: impl Into<String>) -> EditError {
    EditError::InvalidValue {
        name: name.to_string(),
        reason: reason.into(),
    }
}

/// A parameter name: non-empty printable ASCII without whitespace, `=`, braces, and not
/// starting with `#` (it would become a comment) or `-` (master.cf would read an option).
pub(crate) fn check_name(name: &str) -> Result<(), EditError> {
    if name.is_empty() {
        return Err(bad_name(name, "empty name"));
    }
    if name.starts_with('#') {
        return Err(bad_name(name, "a leading '#' makes a comment"));
    }
    if name.starts_with('-') {
        return Err(bad_name(name, "a leading '-' is read as an option"));
    }
    for c in name.bytes() {
        if !c.is_ascii_graphic() || matches!(c, b'=' | b'{' | b'}') {
            return Err(bad_name(
                name,
                "only printable ASCII without whitespace, '=', '{' or '}'",
            ));
        }
    }
    Ok(())
}

/// Rules shared by main.cf and master.cf values.
fn check_common(name: &str, value: &str) -> Result<(), EditError> {
    let b = value.as_bytes();
    if b.contains(&b'\n') || b.contains(&b'\r') {
        return Err(bad_value(
            name,
            "a newline or carriage return would change the file structure",
        ));
    }
    if b.contains(&0) {
        return Err(bad_value(name, "a NUL byte ends the value for Postfix"));
    }
    if b.first().is_some_and(|&c| is_space(c)) || b.last().is_some_and(|&c| is_space(c)) {
        return Err(bad_value(
            name,
            "leading or trailing whitespace is trimmed by Postfix",
        ));
    }
    check_syntax(value).map_err(|e| bad_value(name, format!("malformed $ syntax: {e}")))
}

/// A main.cf value: single line, no edge whitespace, no leading `#`, valid `$` syntax.
pub(crate) fn check_main_value(name: &str, value: &str) -> Result<(), EditError> {
    if value.starts_with('#') {
        return Err(bad_value(
            name,
            "a leading '#' reads as a comment in match lists",
        ));
    }
    check_common(name, value)
}

/// A master.cf `-o` value: as for main.cf, and braces must balance (they group arguments).
pub(crate) fn check_master_value(name: &str, value: &str) -> Result<(), EditError> {
    check_common(name, value)?;
    let mut level = 0usize;
    for c in value.bytes() {
        match c {
            b'{' => level += 1,
            b'}' if level == 0 => return Err(bad_value(name, "unbalanced '}'")),
            b'}' => level -= 1,
            _ => {}
        }
    }
    if level != 0 {
        return Err(bad_value(name, "unbalanced '{'"));
    }
    Ok(())
}
