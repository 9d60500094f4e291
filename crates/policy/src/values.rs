//! Value checks for the parameters where Postfix itself accepts garbage silently (postconf and
//! `postfix check` both pass `smtpd_tls_security_level = bogus` or `>=TLSv9`; the daemons then
//! fail at run time). Keywords are case-insensitive, as Postfix looks them up with name_code.

use crate::catalogue::Catalogue;
use crate::version::PostfixVersion;

/// Checks `value` for parameter `name`. `Err` carries a message that names the valid values.
pub fn check_value(
    name: &str,
    value: &str,
    catalogue: &Catalogue,
    version: PostfixVersion,
) -> Result<(), String> {
    let v = value.trim();
    if value.contains(['\n', '\r', '\0']) {
        return Err("values cannot contain line breaks or NUL bytes".into());
    }
    if let Err(e) = postfix_conf::expand::check_syntax(value) {
        return Err(format!("malformed $-syntax: {e}"));
    }
    if v.contains('$') {
        // A macro reference: the real value is only known after expansion at run time.
        return Ok(());
    }
    let base = strip_prefix_family(name);
    match base {
        "smtpd_tls_security_level" => one_of(
            v,
            &["", "none", "may", "encrypt"],
            "a server TLS security level",
        ),
        "tls_security_level" => one_of(
            v,
            &[
                "",
                "none",
                "may",
                "encrypt",
                "dane",
                "dane-only",
                "fingerprint",
                "verify",
                "secure",
            ],
            "a client TLS security level",
        ),
        "tls_protocols" | "tls_mandatory_protocols" => protocols(v, version),
        "tls_ciphers" | "tls_mandatory_ciphers" => {
            one_of(
                v,
                &["high", "medium", "low", "export", "null"],
                "a cipher grade",
            )?;
            if version.at_least(3, 8) && matches!(v.to_ascii_lowercase().as_str(), "low" | "export")
            {
                return Err(format!(
                    "grade {v:?} is treated as \"medium\" since Postfix 3.8; write medium"
                ));
            }
            Ok(())
        }
        "tls_exclude_ciphers" | "tls_mandatory_exclude_ciphers" => exclusions(v),
        "tls_loglevel" => loglevel(v),
        "dns_support_level"
            if name == "smtp_dns_support_level" || name == "lmtp_dns_support_level" =>
        {
            one_of(
                v,
                &["", "disabled", "enabled", "dnssec"],
                "a DNS support level",
            )
        }
        _ => by_default_shape(name, v, catalogue),
    }
}

/// `smtpd_`, `smtp_`, `lmtp_` prefixed TLS parameters share their value grammar.
fn strip_prefix_family(name: &str) -> &str {
    if name == "smtpd_tls_security_level" {
        return name;
    }
    for p in ["smtpd_", "smtp_", "lmtp_", "tlsproxy_client_", "tlsproxy_"] {
        if let Some(rest) = name.strip_prefix(p) {
            return rest;
        }
    }
    name
}

fn protocols(v: &str, version: PostfixVersion) -> Result<(), String> {
    let range = pftls_tls::protocols::parse_protocols(v, (version.major, version.minor))
        .map_err(|e| e.to_string())?;
    if range.enabled().is_empty() {
        return Err(format!("{v:?} enables no TLS protocol at all"));
    }
    Ok(())
}

fn one_of(v: &str, allowed: &[&str], what: &str) -> Result<(), String> {
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(v)) {
        return Ok(());
    }
    let list: Vec<String> = allowed
        .iter()
        .map(|a| {
            if a.is_empty() {
                "(empty)".to_string()
            } else {
                (*a).to_string()
            }
        })
        .collect();
    Err(format!("{v:?} is not {what} (valid: {})", list.join(", ")))
}

fn exclusions(v: &str) -> Result<(), String> {
    for tok in v.split([',', ' ', '\t', ':']).filter(|t| !t.is_empty()) {
        if tok.starts_with(['!', '+', '-', '@']) {
            return Err(format!(
                "invalid unary '!+-@' in cipher exclusion {tok:?}: list names to exclude without a prefix (e.g. \"aNULL, kRSA\")"
            ));
        }
    }
    Ok(())
}

const LOG_BITS: &[&str] = &[
    "none",
    "routine",
    "debug",
    "ssl-expert",
    "ssl-developer",
    "summary",
    "untrusted",
    "peercert",
    "certmatch",
    "verbose",
    "cache",
    "dane",
    "ssl-debug",
    "ssl-handshake-packet-dump",
    "ssl-session-packet-dump",
    "all",
];

fn loglevel(v: &str) -> Result<(), String> {
    if v.chars().all(|c| c.is_ascii_digit()) && !v.is_empty() {
        return Ok(());
    }
    for tok in v.split([',', ' ', '\t', ':']).filter(|t| !t.is_empty()) {
        if !LOG_BITS.iter().any(|b| b.eq_ignore_ascii_case(tok)) {
            return Err(format!(
                "{tok:?} is not a TLS log level (0-4, or names such as routine, debug, summary)"
            ));
        }
    }
    if v.is_empty() {
        return Err("an empty TLS log level is invalid (use 0 to 4)".into());
    }
    Ok(())
}

/// For other parameters, infer the type from the compiled-in default: booleans, numbers and
/// durations are checked; everything else is free text.
fn by_default_shape(name: &str, v: &str, catalogue: &Catalogue) -> Result<(), String> {
    let Some(def) = catalogue.default_value(name) else {
        return Ok(());
    };
    if def == "yes" || def == "no" {
        return one_of(v, &["yes", "no"], "a boolean")
            .map_err(|_| format!("{v:?} is not a boolean (yes or no)"));
    }
    if !def.is_empty() && def.chars().all(|c| c.is_ascii_digit()) {
        if v.is_empty() || !v.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("{v:?} is not a number"));
        }
        return Ok(());
    }
    if is_duration(def) && !is_duration(v) {
        return Err(format!(
            "{v:?} is not a time value (a number with an optional unit s, m, h, d or w)"
        ));
    }
    Ok(())
}

fn is_duration(s: &str) -> bool {
    let digits = s.trim_end_matches(['s', 'm', 'h', 'd', 'w']);
    let unit_len = s.len() - digits.len();
    !digits.is_empty() && unit_len == 1 && digits.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, v: &str) -> Result<(), String> {
        let v37 = PostfixVersion::new(3, 7, 11);
        check_value(name, v, &Catalogue::builtin(v37), v37)
    }

    #[test]
    fn levels() {
        assert!(check("smtpd_tls_security_level", "may").is_ok());
        assert!(check("smtpd_tls_security_level", "ENCRYPT").is_ok());
        assert!(check("smtpd_tls_security_level", "dane").is_err());
        assert!(check("smtp_tls_security_level", "dane").is_ok());
        assert!(check("smtp_tls_security_level", "bogus").is_err());
    }

    #[test]
    fn grades_loglevels_booleans_numbers() {
        assert!(check("smtpd_tls_mandatory_ciphers", "medium").is_ok());
        assert!(check("smtpd_tls_ciphers", "superhigh").is_err());
        assert!(check("smtpd_tls_loglevel", "1").is_ok());
        assert!(check("smtpd_tls_loglevel", "loud").is_err());
        assert!(check("smtpd_tls_auth_only", "yes").is_ok());
        assert!(check("smtpd_tls_auth_only", "true").is_err());
        assert!(check("smtpd_tls_session_cache_timeout", "3600s").is_ok());
        assert!(check("smtpd_tls_session_cache_timeout", "soon").is_err());
        assert!(check("smtpd_tls_exclude_ciphers", "aNULL, kRSA").is_ok());
        assert!(check("smtpd_tls_exclude_ciphers", "!RC4").is_err());
        assert!(check("relayhost", "${broken").is_err());
    }

    #[test]
    fn grades_low_on_3_8() {
        let v = PostfixVersion::new(3, 8, 0);
        assert!(check_value("smtpd_tls_ciphers", "low", &Catalogue::builtin(v), v).is_err());
    }
}
