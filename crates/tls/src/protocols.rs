//! TLS protocol versions and Postfix protocol lists (`smtpd_tls_protocols` and friends).
//!
//! Parsing follows Postfix's `tls_proto_mask_lims()` (src/tls/tls_misc.c) token by token:
//! separators are whitespace, `,` and `:`; `>=X` / `<=X` set a floor / ceiling (a version name
//! or a hex number, Postfix >= 3.6 only); `!X` excludes a protocol; a bare `X` includes it, and
//! once anything is included every known protocol that is not included is excluded.

use serde::{Deserialize, Serialize};

use crate::TlsError;

/// A TLS (or SSL) protocol version, ordered from oldest to newest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Protocol {
    /// SSL 2.0 (no OpenSSL 1.1+ build supports it; Postfix still knows the name).
    #[serde(rename = "SSLv2")]
    Ssl2,
    /// SSL 3.0.
    #[serde(rename = "SSLv3")]
    Ssl3,
    /// TLS 1.0.
    #[serde(rename = "TLSv1")]
    Tls1,
    /// TLS 1.1.
    #[serde(rename = "TLSv1.1")]
    Tls1_1,
    /// TLS 1.2.
    #[serde(rename = "TLSv1.2")]
    Tls1_2,
    /// TLS 1.3.
    #[serde(rename = "TLSv1.3")]
    Tls1_3,
}

impl Protocol {
    /// All versions, oldest first.
    pub const ALL: [Protocol; 6] = [
        Protocol::Ssl2,
        Protocol::Ssl3,
        Protocol::Tls1,
        Protocol::Tls1_1,
        Protocol::Tls1_2,
        Protocol::Tls1_3,
    ];

    /// The name Postfix and OpenSSL use (`TLSv1.2`).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Ssl2 => "SSLv2",
            Protocol::Ssl3 => "SSLv3",
            Protocol::Tls1 => "TLSv1",
            Protocol::Tls1_1 => "TLSv1.1",
            Protocol::Tls1_2 => "TLSv1.2",
            Protocol::Tls1_3 => "TLSv1.3",
        }
    }

    /// Parses a protocol name case-insensitively (`tlsv1.2`, `TLSv1`, `SSLv3`).
    /// `TLSv1.0` is accepted as an alias of `TLSv1` because OpenSSL prints it in places.
    pub fn from_name(name: &str) -> Option<Protocol> {
        let lower = name.to_ascii_lowercase();
        Some(match lower.as_str() {
            "sslv2" => Protocol::Ssl2,
            "sslv3" => Protocol::Ssl3,
            "tlsv1" | "tlsv1.0" => Protocol::Tls1,
            "tlsv1.1" => Protocol::Tls1_1,
            "tlsv1.2" => Protocol::Tls1_2,
            "tlsv1.3" => Protocol::Tls1_3,
            _ => return None,
        })
    }

    /// The wire version number (0x0303 for TLS 1.2).
    pub fn wire_version(self) -> u16 {
        match self {
            Protocol::Ssl2 => 0x0002,
            Protocol::Ssl3 => 0x0300,
            Protocol::Tls1 => 0x0301,
            Protocol::Tls1_1 => 0x0302,
            Protocol::Tls1_2 => 0x0303,
            Protocol::Tls1_3 => 0x0304,
        }
    }

    /// The protocol for a wire version number, if it is one we know.
    pub fn from_wire_version(v: u32) -> Option<Protocol> {
        Protocol::ALL
            .into_iter()
            .find(|p| u32::from(p.wire_version()) == v)
    }

    /// The openssl crate's version constant (None for SSLv2, which OpenSSL no longer has).
    pub fn to_ssl_version(self) -> Option<openssl::ssl::SslVersion> {
        use openssl::ssl::SslVersion;
        match self {
            Protocol::Ssl2 => None,
            Protocol::Ssl3 => Some(SslVersion::SSL3),
            Protocol::Tls1 => Some(SslVersion::TLS1),
            Protocol::Tls1_1 => Some(SslVersion::TLS1_1),
            Protocol::Tls1_2 => Some(SslVersion::TLS1_2),
            Protocol::Tls1_3 => Some(SslVersion::TLS1_3),
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A Postfix version, major and minor (`3.7`). Orders naturally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PostfixVersion {
    /// Major version (3).
    pub major: u32,
    /// Minor version (7).
    pub minor: u32,
}

impl PostfixVersion {
    /// A version from its parts.
    pub const fn new(major: u32, minor: u32) -> Self {
        PostfixVersion { major, minor }
    }

    /// Parses `3.7`, `3.7.11` or `3.10-20250101` (only major.minor is kept).
    pub fn parse(s: &str) -> Option<Self> {
        let mut parts = s.trim().split(['.', '-']);
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(PostfixVersion { major, minor })
    }

    /// True when Postfix understands `>=`/`<=` bounds in protocol lists (3.6 and later).
    pub fn has_protocol_bounds(self) -> bool {
        self >= PostfixVersion::new(3, 6)
    }
}

impl From<(u32, u32)> for PostfixVersion {
    fn from((major, minor): (u32, u32)) -> Self {
        PostfixVersion { major, minor }
    }
}

impl std::fmt::Display for PostfixVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// What a Postfix protocol list hands to OpenSSL: an optional floor and ceiling
/// (`SSL_CTX_set_min/max_proto_version`) and a set of excluded versions (`SSL_OP_NO_*`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ProtocolRange {
    /// `>=` bound (None: no floor).
    pub floor: Option<Protocol>,
    /// `<=` bound (None: no ceiling).
    pub ceiling: Option<Protocol>,
    /// Versions excluded by `!X` or by the complement of an include list.
    pub excluded: Vec<Protocol>,
}

impl ProtocolRange {
    /// Versions this range leaves enabled, oldest first. SSLv2 is never enabled (no OpenSSL
    /// since 1.1.0 has it) and `supported` limits the result to what the library can speak.
    pub fn enabled(&self) -> Vec<Protocol> {
        Protocol::ALL
            .into_iter()
            .filter(|p| *p != Protocol::Ssl2)
            .filter(|p| !matches!(self.floor, Some(f) if *p < f))
            .filter(|p| !matches!(self.ceiling, Some(c) if *p > c))
            .filter(|p| !self.excluded.contains(p))
            .collect()
    }

    /// Lowest and highest enabled version (None when nothing is enabled).
    pub fn bounds(&self) -> Option<(Protocol, Protocol)> {
        let enabled = self.enabled();
        Some((*enabled.first()?, *enabled.last()?))
    }

    /// True when the enabled versions are not contiguous (e.g. `!TLSv1.2` with 1.1 and 1.3 on).
    pub fn has_hole(&self) -> bool {
        match self.bounds() {
            Some((lo, hi)) => {
                let span = Protocol::ALL
                    .into_iter()
                    .filter(|p| *p >= lo && *p <= hi)
                    .count();
                span != self.enabled().len()
            }
            None => false,
        }
    }
}

/// Splits like Postfix's `mystrtok(&cp, CHARS_COMMA_SP ":")`.
fn tokens(list: &str) -> impl Iterator<Item = &str> {
    list.split(|c: char| c == ',' || c == ':' || c.is_ascii_whitespace())
        .filter(|t| !t.is_empty())
}

/// Parses the version after `>=` / `<=` like Postfix's `parse_tls_version()`: a name from
/// its version table (`None`, `SSLv3` .. `TLSv1.3`, no `SSLv2`) or a hex number (`0x0303`,
/// `303`). An empty string is hex 0, i.e. no bound, exactly as in Postfix.
fn parse_bound(tok: &str, whole: &str) -> Result<Option<Protocol>, TlsError> {
    if tok.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    if let Some(p) = Protocol::from_name(tok) {
        if p != Protocol::Ssl2 && !tok.eq_ignore_ascii_case("tlsv1.0") {
            return Ok(Some(p));
        }
    }
    let hex = tok
        .strip_prefix("0x")
        .or_else(|| tok.strip_prefix("0X"))
        .unwrap_or(tok);
    let value = if hex.is_empty() {
        // strtoul("") consumes nothing and *_end == 0: Postfix reads it as 0 (no bound).
        // "0x" alone is the same in C (strtoul parses the "0").
        0
    } else {
        u32::from_str_radix(hex, 16).map_err(|_| TlsError::ProtocolList {
            value: whole.to_string(),
            message: format!("unknown TLS version \"{tok}\""),
        })?
    };
    if value == 0 {
        return Ok(None);
    }
    // Postfix passes any number to OpenSSL; OpenSSL rejects unknown ones, so we do too.
    Protocol::from_wire_version(value)
        .filter(|p| *p != Protocol::Ssl2)
        .map(Some)
        .ok_or_else(|| TlsError::ProtocolList {
            value: whole.to_string(),
            message: format!("unknown TLS version number 0x{value:04x}"),
        })
}

/// Parses a Postfix protocol list for the given Postfix version into the range OpenSSL
/// receives. Errors are what Postfix logs as "Invalid TLS protocol list ... disabling TLS
/// support"; `>=`/`<=` on Postfix < 3.6 is such an error.
pub fn parse_protocols(
    list: &str,
    version: impl Into<PostfixVersion>,
) -> Result<ProtocolRange, TlsError> {
    let version = version.into();
    let mut range = ProtocolRange::default();
    let mut include: Vec<Protocol> = Vec::new();
    let mut exclude: Vec<Protocol> = Vec::new();
    let bad = |message: String| TlsError::ProtocolList {
        value: list.to_string(),
        message,
    };
    for tok in tokens(list) {
        if let Some(rest) = tok.strip_prefix(">=").or_else(|| tok.strip_prefix("<=")) {
            if !version.has_protocol_bounds() {
                return Err(bad(format!(
                    "\"{tok}\": protocol bounds (>=, <=) need Postfix 3.6 or later, target is {version}"
                )));
            }
            let bound = parse_bound(rest, list)?;
            if tok.starts_with(">=") {
                range.floor = bound;
            } else {
                range.ceiling = bound;
            }
        } else if let Some(name) = tok.strip_prefix('!') {
            exclude.push(
                protocol_table(name).ok_or_else(|| bad(format!("unknown protocol \"{name}\"")))?,
            );
        } else {
            include.push(
                protocol_table(tok).ok_or_else(|| bad(format!("unknown protocol \"{tok}\"")))?,
            );
        }
    }
    if !include.is_empty() {
        exclude.extend(Protocol::ALL.into_iter().filter(|p| !include.contains(p)));
    }
    exclude.sort();
    exclude.dedup();
    range.excluded = exclude;
    Ok(range)
}

/// Postfix's `protocol_table` (names only, case-insensitive; no `TLSv1.0` alias, no hex).
fn protocol_table(name: &str) -> Option<Protocol> {
    if name.eq_ignore_ascii_case("tlsv1.0") {
        return None;
    }
    Protocol::from_name(name)
}

/// The Postfix protocol-list value that sets `min` as the floor for this Postfix version:
/// `>=TLSv1.2` on 3.6+, otherwise the exclusion form `!SSLv2, !SSLv3, !TLSv1, !TLSv1.1`.
pub fn floor_to_postfix(min: Protocol, version: impl Into<PostfixVersion>) -> String {
    let version = version.into();
    if version.has_protocol_bounds() {
        return format!(">={}", min.name());
    }
    Protocol::ALL
        .into_iter()
        .filter(|p| *p < min)
        .map(|p| format!("!{}", p.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_round_trip() {
        for p in Protocol::ALL {
            assert_eq!(
                Protocol::from_wire_version(p.wire_version().into()),
                Some(p)
            );
            assert_eq!(Protocol::from_name(p.name()), Some(p));
        }
    }

    #[test]
    fn version_parse() {
        assert_eq!(
            PostfixVersion::parse("3.7.11"),
            Some(PostfixVersion::new(3, 7))
        );
        assert_eq!(
            PostfixVersion::parse("3.10-20250101"),
            Some(PostfixVersion::new(3, 10))
        );
        assert!(PostfixVersion::new(3, 10) > PostfixVersion::new(3, 9));
        assert_eq!(PostfixVersion::parse("x"), None);
    }
}
