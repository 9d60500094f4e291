//! Listener roles: what a master.cf service is for, as policies address it.

use std::fmt;
use std::str::FromStr;

/// The role of a master.cf service (decided by the host topology, addressed by policies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Receives mail from the Internet on port 25: an inet smtpd or postscreen on port 25 in
    /// any spelling, and the smtpd `pass` service behind such a postscreen.
    Mx,
    /// Mail submission on port 587 (STARTTLS).
    Submission,
    /// Mail submission with implicit TLS: port 465 or `smtpd_tls_wrappermode = yes`.
    Submissions,
    /// Local re-injection (loopback-bound smtpd, content-filter return paths).
    Internal,
    /// Everything else (unix services, clients, non-mail daemons).
    Other,
}

impl Role {
    /// Every role, in display order.
    pub const ALL: [Role; 5] = [
        Role::Mx,
        Role::Submission,
        Role::Submissions,
        Role::Internal,
        Role::Other,
    ];

    /// The YAML / JSON spelling.
    pub fn keyword(&self) -> &'static str {
        match self {
            Role::Mx => "mx",
            Role::Submission => "submission",
            Role::Submissions => "submissions",
            Role::Internal => "internal",
            Role::Other => "other",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// A role name that is not one of [`Role::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?} (expected mx, submission, submissions, internal or other)")]
pub struct RoleError(pub String);

impl FromStr for Role {
    type Err = RoleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.keyword() == s)
            .ok_or_else(|| RoleError(s.to_string()))
    }
}
