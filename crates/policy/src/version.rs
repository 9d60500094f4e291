//! The version requirements policies may state. The version type itself lives in postfix-conf
//! (one `PostfixVersion` for the whole workspace) and is re-exported here.

use std::fmt;

pub use postfix_conf::{PostfixVersion, VersionError};

/// A requirement such as `>=3.4` or `>=3.6, <3.12`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionReq {
    clauses: Vec<(Cmp, PostfixVersion)>,
    text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
}

impl VersionReq {
    /// Parses a comma-separated list of `OPversion` clauses (OP one of `>= > <= < =`).
    pub fn parse(s: &str) -> Result<Self, VersionError> {
        let mut clauses = Vec::new();
        for clause in s.split(',') {
            let c = clause.trim();
            let (op, rest) = if let Some(r) = c.strip_prefix(">=") {
                (Cmp::Ge, r)
            } else if let Some(r) = c.strip_prefix("<=") {
                (Cmp::Le, r)
            } else if let Some(r) = c.strip_prefix('>') {
                (Cmp::Gt, r)
            } else if let Some(r) = c.strip_prefix('<') {
                (Cmp::Lt, r)
            } else if let Some(r) = c.strip_prefix('=') {
                (Cmp::Eq, r)
            } else {
                (Cmp::Eq, c)
            };
            clauses.push((op, rest.trim().parse()?));
        }
        Ok(VersionReq {
            clauses,
            text: s.trim().to_string(),
        })
    }

    /// True when `v` satisfies every clause.
    pub fn matches(&self, v: PostfixVersion) -> bool {
        self.clauses.iter().all(|(op, want)| match op {
            Cmp::Ge => v >= *want,
            Cmp::Gt => v > *want,
            Cmp::Le => v <= *want,
            Cmp::Lt => v < *want,
            Cmp::Eq => {
                (v.major, v.minor) == (want.major, want.minor)
                    && (want.patch == 0 || v.patch == want.patch)
            }
        })
    }
}

impl fmt::Display for VersionReq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements() {
        let r = VersionReq::parse(">=3.4, <3.12").unwrap();
        assert!(r.matches(PostfixVersion::new(3, 7, 11)));
        assert!(!r.matches(PostfixVersion::new(3, 3, 0)));
        assert!(!r.matches(PostfixVersion::new(3, 12, 0)));
        assert!(VersionReq::parse(">=x").is_err());
    }
}
