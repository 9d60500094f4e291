//! The address an `inet` service listens on, from its master.cf name: `smtp`, `25`,
//! `127.0.0.1:smtp`, `[2001:db8::5]:25`, `mx.example.com:25`, `[::1]:submission`.
//!
//! master(5): "the service name may be a port name or number, optionally prefixed by a host
//! name or address and a colon"; IPv6 addresses are written in brackets. Port names are the
//! services(5) names; pftls resolves the mail ones it must recognise itself so that a result
//! never depends on the local /etc/services.

/// The host part of an inet listener name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum ListenHost {
    /// No host part: every address in `inet_interfaces`.
    All,
    /// An IPv4 or IPv6 literal (brackets removed).
    Address(std::net::IpAddr),
    /// A host name (resolved by master at start-up).
    Name(String),
}

impl ListenHost {
    /// True for 127.0.0.0/8, ::1 and `localhost`: only this machine can connect.
    pub fn is_loopback(&self) -> bool {
        match self {
            ListenHost::All => false,
            ListenHost::Address(a) => a.is_loopback(),
            ListenHost::Name(n) => n.eq_ignore_ascii_case("localhost"),
        }
    }
}

/// A parsed inet listener name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ListenAddress {
    /// Host part.
    pub host: ListenHost,
    /// Port as written (`smtp`, `25`, `submission`).
    pub port_text: String,
    /// Numeric port when known (a number, or a mail port name pftls knows).
    pub port: Option<u16>,
}

/// Mail-relevant services(5) names and their ports (IANA), so that classification does not
/// depend on the local /etc/services.
const PORT_NAMES: &[(&str, u16)] = &[
    ("smtp", 25),
    ("submission", 587),
    ("submissions", 465),
    ("smtps", 465),
    ("urd", 465),
    ("lmtp", 24),
];

/// The numeric port of a port name or number (case-insensitive names).
pub fn port_number(text: &str) -> Option<u16> {
    if let Ok(n) = text.parse::<u16>() {
        return Some(n);
    }
    PORT_NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(text))
        .map(|(_, p)| *p)
}

impl ListenAddress {
    /// Parses an inet service name. Never fails: an unknown port name keeps `port: None`.
    pub fn parse(name: &str) -> ListenAddress {
        let (host, port_text) = if let Some(rest) = name.strip_prefix('[') {
            match rest.split_once("]:") {
                Some((h, p)) => (host_of(h), p),
                None => (ListenHost::Name(name.to_string()), ""),
            }
        } else {
            match name.rsplit_once(':') {
                Some((h, p)) => (host_of(h), p),
                None => (ListenHost::All, name),
            }
        };
        ListenAddress {
            host,
            port: port_number(port_text),
            port_text: port_text.to_string(),
        }
    }
}

fn host_of(h: &str) -> ListenHost {
    match h.parse::<std::net::IpAddr>() {
        Ok(a) => ListenHost::Address(a),
        Err(_) => ListenHost::Name(h.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_port_25() {
        for n in [
            "smtp",
            "25",
            "203.0.113.5:smtp",
            "[2001:db8::5]:25",
            "mx.example.com:25",
            "SMTP",
        ] {
            assert_eq!(ListenAddress::parse(n).port, Some(25), "{n}");
        }
        let a = ListenAddress::parse("[2001:db8::5]:25");
        assert_eq!(a.host, ListenHost::Address("2001:db8::5".parse().unwrap()));
        assert!(ListenAddress::parse("127.0.0.1:10025").host.is_loopback());
        assert!(ListenAddress::parse("[::1]:10025").host.is_loopback());
        assert!(!ListenAddress::parse("smtp").host.is_loopback());
        assert_eq!(ListenAddress::parse("127.0.0.1:submission").port, Some(587));
        assert_eq!(ListenAddress::parse("frobnitz").port, None);
    }
}
