//! Logging, deprecated parameters, AUTH on submission services and wrapper-mode placement.

use pftls_policy::Source;
use pftls_tls::ServerLevel;

use crate::cx::{is_port, is_yes, location, override_text, Cx, Draft};
use crate::finding::ids;

/// Deprecated booleans and what replaces them.
const DEPRECATED: &[(&str, &str)] = &[
    ("smtpd_use_tls", "smtpd_tls_security_level"),
    ("smtpd_enforce_tls", "smtpd_tls_security_level"),
    ("smtp_use_tls", "smtp_tls_security_level"),
    ("smtp_enforce_tls", "smtp_tls_security_level"),
];

/// W030, W031, E040, W041.
pub(crate) fn check(cx: &Cx<'_>, out: &mut Vec<Draft>) {
    loglevel(cx, out);
    deprecated(cx, out);
    submission_auth(cx, out);
    wrappermode(cx, out);
}

/// W030: `smtpd_tls_loglevel = 0` where port 25 offers TLS.
fn loglevel(cx: &Cx<'_>, out: &mut Vec<Draft>) {
    for p25 in cx.port25_scopes() {
        let scope = p25.scope.as_str();
        if matches!(cx.model(scope).map(|m| m.level), Ok(ServerLevel::None)) {
            continue;
        }
        let v = cx
            .value(scope, "smtpd_tls_loglevel")
            .trim()
            .to_ascii_lowercase();
        if !matches!(v.as_str(), "" | "0" | "none") {
            continue;
        }
        let e = cx.view.value(scope, "smtpd_tls_loglevel");
        let loc = location(&e.source);
        let shown = loc
            .as_deref()
            .map(|l| format!("set at {l}"))
            .unwrap_or_else(|| "the default".into());
        let (fix, policy) = match &e.source {
            Source::Master(line) => (
                format!(
                    "remove `{}` from master.cf:{line} and pftls apply -p tls-logging",
                    override_text("smtpd_tls_loglevel", e.value.trim())
                ),
                None,
            ),
            _ => (
                "pftls apply -p tls-logging (or postconf -e 'smtpd_tls_loglevel = 1')".to_string(),
                Some("tls-logging"),
            ),
        };
        let mut d = Draft::new(
            ids::LOGLEVEL_ZERO,
            format!("{scope} smtpd_tls_loglevel"),
            loc,
            format!(
                "smtpd_tls_loglevel = {} ({shown}) on port 25 ({}): Postfix does not log the `TLS connection \
                 established` lines, so which senders use TLS and with which protocols and ciphers is not \
                 logged (handshake failures, `SSL_accept error` and `TLS library problem`, are logged at every \
                 level); the TLS mix cannot be measured before a change or compared after it.",
                if v.is_empty() { "0".to_string() } else { e.value.trim().to_string() },
                p25.describe()
            ),
            fix,
        );
        d.policy = policy;
        out.push(d);
    }
}

/// W031: deprecated `*_use_tls` / `*_enforce_tls` set anywhere.
fn deprecated(cx: &Cx<'_>, out: &mut Vec<Draft>) {
    for (name, replacement) in DEPRECATED {
        let inbound = name.starts_with("smtpd_");
        let mut defs: Vec<(String, String, Source)> = Vec::new();
        if let Some(e) = cx.view.main.get(name) {
            defs.push(("main".into(), e.value.clone(), Source::Main(e.line)));
        }
        for svc in cx.services() {
            if let Some(o) = svc.get_override(name) {
                defs.push((svc.key(), o.value.clone(), Source::Master(o.line)));
            }
        }
        for (scope, value, source) in defs {
            let loc = location(&source);
            let ignored = !cx.value(&scope, replacement).trim().is_empty();
            let note = if ignored {
                format!(" It is ignored here because {replacement} is set, which makes the file misleading.")
            } else {
                format!(" It is what decides the TLS level here because {replacement} is empty.")
            };
            let (fix, policy) = match (&source, inbound) {
                (Source::Master(line), _) if !(inbound && scope == "smtp/inet") => (
                    format!("remove `{}` from master.cf:{line} and set -o {replacement}=... instead", override_text(name, value.trim())),
                    None,
                ),
                (_, true) => (
                    format!("pftls apply -p inbound-opportunistic (removes {name}; {replacement} replaces it), or postconf -X {name}"),
                    Some("inbound-opportunistic"),
                ),
                (_, false) => (
                    format!("postconf -X {name} and set {replacement} (may, or encrypt for mandatory TLS)"),
                    None,
                ),
            };
            let mut d = Draft::new(
                ids::DEPRECATED_BOOLEAN,
                format!("{scope} {name}"),
                loc.clone(),
                format!(
                    "{name} = {} ({}) is deprecated: Postfix 3.9 and later warn about it and it is due to be removed; \
                     {replacement} replaces it.{note}",
                    value.trim(),
                    loc.unwrap_or_default()
                ),
                fix,
            );
            d.policy = policy;
            out.push(d);
        }
    }
}

/// E040: a submission service (587, or any non-25 smtpd with SASL on) that allows AUTH
/// before TLS.
fn submission_auth(cx: &Cx<'_>, out: &mut Vec<Draft>) {
    for svc in cx.services() {
        if svc.command != "smtpd" || svc.kind != "inet" || is_port(&svc.name, &["smtp", "25"]) {
            continue;
        }
        let key = svc.key();
        if !is_yes(&cx.value(&key, "smtpd_sasl_auth_enable")) {
            continue;
        }
        let Ok(model) = cx.model(&key) else { continue };
        if model.auth_only {
            continue;
        }
        let sasl_loc = cx
            .loc(&key, "smtpd_sasl_auth_enable")
            .unwrap_or_else(|| format!("master.cf:{}", svc.line));
        let by_policy = matches!(svc.name.as_str(), "submission" | "submissions" | "smtps");
        let wrapper_port = is_port(&svc.name, &["submissions", "smtps", "465"]);
        let edit = if wrapper_port {
            format!("postconf -P '{key}/smtpd_tls_wrappermode=yes' '{key}/smtpd_tls_auth_only=yes'")
        } else {
            format!("postconf -P '{key}/smtpd_tls_security_level=encrypt' '{key}/smtpd_tls_auth_only=yes'")
        };
        let mut d = Draft::new(
            ids::AUTH_WITHOUT_TLS,
            format!("{key} auth"),
            Some(format!("master.cf:{}", svc.line)),
            format!(
                "{key} enables SASL AUTH (smtpd_sasl_auth_enable = yes, {sasl_loc}) without requiring TLS first \
                 (smtpd_tls_security_level = {}, smtpd_tls_wrappermode = no, smtpd_tls_auth_only = no): user passwords \
                 can cross the network in plaintext (RFC 8314, RFC 4954 section 4).",
                empty_as(cx.value(&key, "smtpd_tls_security_level").trim(), "(empty)")
            ),
            if by_policy {
                format!("pftls apply -p submission-mandatory (or {edit})")
            } else {
                edit
            },
        );
        if by_policy {
            d.policy = Some("submission-mandatory");
        }
        out.push(d.scope(key));
    }
}

fn empty_as<'a>(v: &'a str, instead: &'a str) -> &'a str {
    if v.is_empty() {
        instead
    } else {
        v
    }
}

/// W041: wrapper mode on a service that is not 465/submissions/smtps.
fn wrappermode(cx: &Cx<'_>, out: &mut Vec<Draft>) {
    for svc in cx.services() {
        if svc.command != "smtpd" || svc.kind != "inet" {
            continue;
        }
        if is_port(&svc.name, &["submissions", "smtps", "465"]) {
            continue;
        }
        let key = svc.key();
        if !is_yes(&cx.value(&key, "smtpd_tls_wrappermode")) {
            continue;
        }
        let e = cx.view.value(&key, "smtpd_tls_wrappermode");
        let loc = location(&e.source);
        let fix = match &e.source {
            Source::Master(line) => format!(
                "remove `{}` from master.cf:{line} (wrapper mode belongs on the submissions/465 service)",
                override_text("smtpd_tls_wrappermode", e.value.trim())
            ),
            _ => "postconf -X smtpd_tls_wrappermode, and set -o smtpd_tls_wrappermode=yes on the submissions/465 service \
                  only"
                .to_string(),
        };
        out.push(
            Draft::new(
                ids::WRAPPERMODE_PORT,
                format!("wrappermode {}", loc.clone().unwrap_or_default()),
                loc,
                "smtpd_tls_wrappermode = yes on {scopes}, which is not the submissions port (465): clients there expect \
                 plaintext SMTP and STARTTLS, get a TLS handshake instead, and cannot talk to the server."
                    .to_string(),
                fix,
            )
            .scope(key),
        );
    }
}
