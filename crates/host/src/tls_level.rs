//! The TLS requirement a listener enforces on its clients, with the file:line that decides it.
//!
//! smtpd: `smtpd_tls_security_level` when non-empty, else the deprecated `smtpd_enforce_tls`
//! (yes = encrypt) and `smtpd_use_tls` (yes = may); `smtpd_tls_wrappermode = yes` means TLS
//! before any SMTP (always required). postscreen: `postscreen_tls_security_level` (default
//! `$smtpd_tls_security_level`), else `postscreen_enforce_tls` / `postscreen_use_tls`.
//! `$name` chains are followed in the service's own scope, so an `-o` of the referenced
//! parameter counts (postconf(5): a service's `-o` overrides apply to every expansion).

use pftls_policy::{ConfigView, Source};
use postfix_conf::Scope;
use serde::Serialize;

/// The effective TLS level of one listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsLevel {
    /// `none`, `may`, `encrypt` (or `wrappermode` for implicit TLS).
    pub level: String,
    /// True when a client cannot send mail without TLS.
    pub mandatory: bool,
    /// The parameter whose value decided (after following `$name` references).
    pub decided_by: String,
    /// Where that parameter's value comes from.
    #[serde(serialize_with = "ser_source")]
    pub source: Source,
    /// The `$name` references followed, outermost first, e.g.
    /// `postscreen_tls_security_level = $smtpd_tls_security_level (default)`.
    pub via: Vec<String>,
}

fn ser_source<S: serde::Serializer>(s: &Source, ser: S) -> Result<S::Ok, S::Error> {
    ser.collect_str(s)
}

/// Levels whose clients must use TLS (Postfix smtpd/postscreen: only `encrypt`; `dane` and
/// `verify` are client-side levels but are treated as mandatory if someone writes them).
fn is_mandatory(level: &str) -> bool {
    matches!(
        level,
        "encrypt" | "dane" | "dane-only" | "verify" | "secure" | "fingerprint"
    )
}

/// A value with `$name` chains followed: the final (parameter, raw value, source) and the
/// steps taken. Bounded: Postfix itself gives up on recursion deeper than 100.
fn follow(
    view: &ConfigView<'_>,
    scope: &Scope,
    name: &str,
) -> (String, String, Source, Vec<String>) {
    let mut via = Vec::new();
    let mut current = name.to_string();
    for _ in 0..32 {
        let e = view.value_in(scope, &current);
        let raw = e.value.trim();
        let target = raw
            .strip_prefix("${")
            .and_then(|r| r.strip_suffix('}'))
            .or_else(|| raw.strip_prefix('$'))
            .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        match target {
            Some(t) => {
                via.push(format!("{current} = {raw} ({})", e.source));
                current = t.to_string();
            }
            None => {
                let expanded = view
                    .expanded_in(scope, &current)
                    .unwrap_or_else(|_| raw.to_string());
                return (current, expanded.trim().to_string(), e.source, via);
            }
        }
    }
    let e = view.value_in(scope, &current);
    (current, e.value.trim().to_string(), e.source, via)
}

fn yes(view: &ConfigView<'_>, scope: &Scope, name: &str) -> Option<(String, Source, Vec<String>)> {
    let (n, v, s, via) = follow(view, scope, name);
    v.eq_ignore_ascii_case("yes").then_some((n, s, via))
}

/// The level an smtpd with these parameters enforces.
pub fn smtpd(view: &ConfigView<'_>, scope: &Scope) -> TlsLevel {
    if let Some((n, source, via)) = yes(view, scope, "smtpd_tls_wrappermode") {
        return TlsLevel {
            level: "wrappermode".into(),
            mandatory: true,
            decided_by: n,
            source,
            via,
        };
    }
    level_with_legacy(
        view,
        scope,
        "smtpd_tls_security_level",
        "smtpd_enforce_tls",
        "smtpd_use_tls",
    )
}

/// The level postscreen's own SMTP engine enforces (used when deep protocol tests are on).
pub fn postscreen(view: &ConfigView<'_>, scope: &Scope) -> TlsLevel {
    level_with_legacy(
        view,
        scope,
        "postscreen_tls_security_level",
        "postscreen_enforce_tls",
        "postscreen_use_tls",
    )
}

fn level_with_legacy(
    view: &ConfigView<'_>,
    scope: &Scope,
    level_param: &str,
    enforce: &str,
    use_tls: &str,
) -> TlsLevel {
    let (n, v, source, via) = follow(view, scope, level_param);
    if !v.is_empty() {
        let level = v.to_ascii_lowercase();
        return TlsLevel {
            mandatory: is_mandatory(&level),
            level,
            decided_by: n,
            source,
            via,
        };
    }
    if let Some((n, source, via)) = yes(view, scope, enforce) {
        return TlsLevel {
            level: "encrypt".into(),
            mandatory: true,
            decided_by: n,
            source,
            via,
        };
    }
    if let Some((n, source, via)) = yes(view, scope, use_tls) {
        return TlsLevel {
            level: "may".into(),
            mandatory: false,
            decided_by: n,
            source,
            via,
        };
    }
    TlsLevel {
        level: "none".into(),
        mandatory: false,
        decided_by: n,
        source,
        via,
    }
}
