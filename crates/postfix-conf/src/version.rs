//! Postfix release numbers: the one version type of the workspace (parsed from `mail_version`,
//! `--postfix-version` or policy requirements).

use std::fmt;
use std::str::FromStr;

/// A Postfix release, `major.minor[.patch]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(into = "String")]
pub struct PostfixVersion {
    /// Major number (3).
    pub major: u32,
    /// Minor number (7 for 3.7.x).
    pub minor: u32,
    /// Patch level; 0 when not given.
    pub patch: u32,
}

impl PostfixVersion {
    /// The newest release line whose defaults and syntax pftls knows.
    pub const NEWEST_KNOWN: PostfixVersion = PostfixVersion::new(3, 11, 0);
    /// The oldest release line pftls supports (RHEL 8/9 ship 3.5).
    pub const OLDEST_SUPPORTED: PostfixVersion = PostfixVersion::new(3, 5, 0);

    /// Builds a version from its parts.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        PostfixVersion {
            major,
            minor,
            patch,
        }
    }

    /// True when this version is at least `major.minor`.
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }

    /// The `major.minor` release line, e.g. `3.7`.
    pub fn line(&self) -> String {
        format!("{}.{}", self.major, self.minor)
    }
}

impl fmt::Display for PostfixVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// A version string that is not `X.Y[.Z]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Postfix version {0:?} (expected X.Y or X.Y.Z, e.g. 3.7.11)")]
pub struct VersionError(pub String);

impl FromStr for PostfixVersion {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        // Release candidates and snapshots ("3.10-20250101", "3.9.0-RC1") keep their numeric prefix.
        let core = t.split(['-', '~', '+']).next().unwrap_or("");
        let parts: Vec<&str> = core.split('.').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(VersionError(s.to_string()));
        }
        let num = |p: &str| p.parse::<u32>().map_err(|_| VersionError(s.to_string()));
        let major = num(parts[0])?;
        let minor = num(parts[1])?;
        let patch = if parts.len() == 3 { num(parts[2])? } else { 0 };
        Ok(PostfixVersion::new(major, minor, patch))
    }
}

impl From<PostfixVersion> for String {
    fn from(v: PostfixVersion) -> String {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        assert_eq!(
            "3.7.11".parse::<PostfixVersion>().unwrap(),
            PostfixVersion::new(3, 7, 11)
        );
        assert_eq!(
            "3.10".parse::<PostfixVersion>().unwrap(),
            PostfixVersion::new(3, 10, 0)
        );
        assert_eq!(
            "3.12-20260821".parse::<PostfixVersion>().unwrap(),
            PostfixVersion::new(3, 12, 0)
        );
        assert!("3".parse::<PostfixVersion>().is_err());
        assert!("three.7".parse::<PostfixVersion>().is_err());
        assert!(PostfixVersion::new(3, 10, 0) > PostfixVersion::new(3, 9, 14));
    }
}
