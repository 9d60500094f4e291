//! Which Postfix versions `--postfix-version` may name.
//!
//! pftls only has parameter data (defaults, syntax) for the release lines of its catalogues
//! ([`pftls_policy::catalogue::SUPPORTED_LINES`]); a version outside them would silently be
//! planned with another line's data, so it is refused as a usage error before any command runs.

use pftls_policy::catalogue::{UnsupportedVersion, SUPPORTED_LINES};
use pftls_policy::PostfixVersion;

/// The `major.minor` release lines pftls has parameter data for, oldest first.
pub fn known_lines() -> Vec<(u32, u32)> {
    SUPPORTED_LINES.to_vec()
}

/// Parses a `--postfix-version` value and refuses a release line pftls has no catalogue for;
/// the error lists the known lines.
pub fn parse_target(text: &str) -> Result<PostfixVersion, String> {
    let v: PostfixVersion = text
        .parse()
        .map_err(|e| format!("--postfix-version: {e}"))?;
    if SUPPORTED_LINES.contains(&(v.major, v.minor)) {
        return Ok(v);
    }
    let list: Vec<String> = SUPPORTED_LINES
        .iter()
        .map(|(a, b)| format!("{a}.{b}"))
        .collect();
    Err(format!(
        "--postfix-version {text}: {}; known versions: {}",
        UnsupportedVersion { version: v },
        list.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown() {
        assert_eq!(known_lines().first(), Some(&(3, 5)));
        assert_eq!(known_lines().last(), Some(&(3, 11)));
        assert_eq!(known_lines().len(), 7);
        assert!(parse_target("3.7.11").is_ok());
        assert!(parse_target("3.11").is_ok());
        let e = parse_target("9.9").unwrap_err();
        assert!(e.contains("3.5, 3.6, 3.7, 3.8, 3.9, 3.10, 3.11"), "{e}");
        assert!(parse_target("3.4").is_err());
        assert!(parse_target("x").is_err());
    }
}
