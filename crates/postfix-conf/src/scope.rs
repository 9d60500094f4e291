//! Typed addressing of parameters: main.cf ([`Scope::Main`]) or one master.cf service
//! ([`Scope::Service`] with a [`ServiceKey`], the `name/type` pair postconf uses).

use std::fmt;
use std::str::FromStr;

/// A master.cf service as postconf names it: `name/type` (`smtp/inet`, `127.0.0.1:10025/inet`,
/// `smtpd/pass`). The name may itself contain `:` and `[...]` but never `/` (master.cf splits
/// fields at whitespace and postconf splits the key at the last `/`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceKey {
    /// Service name (first master.cf field).
    pub name: String,
    /// Service type (second field): `inet`, `unix`, `fifo`, `pass`, `unix-dgram`.
    pub kind: String,
}

impl ServiceKey {
    /// Builds a key.
    pub fn new(name: impl Into<String>, kind: impl Into<String>) -> Self {
        ServiceKey {
            name: name.into(),
            kind: kind.into(),
        }
    }
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.name, self.kind)
    }
}

/// A `SERVICE/TYPE` string without a `/` or with an empty part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid service key {0:?} (expected SERVICE/TYPE, e.g. submission/inet)")]
pub struct ServiceKeyError(pub String);

impl FromStr for ServiceKey {
    type Err = ServiceKeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.rsplit_once('/') {
            Some((n, k)) if !n.is_empty() && !k.is_empty() && !k.contains(char::is_whitespace) => {
                Ok(ServiceKey::new(n, k))
            }
            _ => Err(ServiceKeyError(s.to_string())),
        }
    }
}

impl serde::Serialize for ServiceKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Where a parameter value applies: main.cf, or the `-o` overrides of one service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// main.cf (global).
    Main,
    /// One master.cf service.
    Service(ServiceKey),
}

impl Scope {
    /// The service key, when this is a service scope.
    pub fn service(&self) -> Option<&ServiceKey> {
        match self {
            Scope::Main => None,
            Scope::Service(k) => Some(k),
        }
    }

    /// Parses the legacy string form used in JSON and policy files: `main` or `SERVICE/TYPE`.
    pub fn parse_legacy(s: &str) -> Result<Scope, ServiceKeyError> {
        if s == "main" {
            Ok(Scope::Main)
        } else {
            s.parse().map(Scope::Service)
        }
    }
}

impl From<ServiceKey> for Scope {
    fn from(k: ServiceKey) -> Self {
        Scope::Service(k)
    }
}

/// `main` or `SERVICE/TYPE` (the spelling of the documented JSON `scope` fields).
impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Main => f.write_str("main"),
            Scope::Service(k) => k.fmt(f),
        }
    }
}

impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_split_at_last_slash() {
        let k: ServiceKey = "[2001:db8::5]:25/inet".parse().unwrap();
        assert_eq!(k.name, "[2001:db8::5]:25");
        assert_eq!(k.kind, "inet");
        assert_eq!(k.to_string(), "[2001:db8::5]:25/inet");
        assert!("smtp".parse::<ServiceKey>().is_err());
        assert!("/inet".parse::<ServiceKey>().is_err());
        assert_eq!(Scope::parse_legacy("main").unwrap(), Scope::Main);
        assert_eq!(
            Scope::parse_legacy("smtpd/pass").unwrap().to_string(),
            "smtpd/pass"
        );
    }
}
