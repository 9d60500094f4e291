//! Port 25 must offer STARTTLS and must not require it (RFC 3207 section 4), and every smtpd
//! must be able to build its TLS settings at all.

use pftls_tls::{ServerLevel, TlsError};

use crate::cx::{location, override_text, Cx, Draft};
use crate::finding::ids;

/// The parameters that can make smtpd require TLS, in Postfix's order of precedence.
const LEVEL_PARAMS: &[&str] = &[
    "smtpd_tls_wrappermode",
    "smtpd_tls_security_level",
    "smtpd_enforce_tls",
];

/// E001 (port 25 requires TLS), I070 (port 25 offers no TLS), E005 (settings smtpd rejects).
pub(crate) fn check(cx: &Cx<'_>, out: &mut Vec<Draft>) {
    for scope in cx.smtpd_scopes() {
        if let Err(e) = cx.model(&scope) {
            out.extend(invalid_setting(cx, &scope, &e));
        }
    }
    for p25 in cx.port25_scopes() {
        let scope = p25.scope.as_str();
        postscreen_level(cx, &p25.listener, out);
        let Ok(model) = cx.model(scope) else { continue };
        match model.level {
            ServerLevel::Encrypt => out.push(requires_tls(
                cx,
                scope,
                &p25.describe(),
                &model.level_source,
            )),
            ServerLevel::None => {
                let loc = cx.loc(scope, "smtpd_tls_security_level");
                out.push(
                    Draft::new(
                        ids::PORT25_NO_TLS,
                        format!("{scope} no-tls"),
                        loc,
                        format!(
                            "Port 25 ({}) does not offer STARTTLS: mail from other servers always arrives in plaintext.",
                            p25.describe()
                        ),
                        "pftls apply -p inbound-opportunistic (smtpd_tls_security_level = may, with a certificate)",
                    )
                    .policy("inbound-opportunistic"),
                );
            }
            ServerLevel::May => {}
        }
    }
}

/// E005 for a setting `postfix_server_tls` refused. Protocol-list errors are left to the
/// protocols check, which reports each definition once (E004).
fn invalid_setting(cx: &Cx<'_>, scope: &str, e: &TlsError) -> Option<Draft> {
    let param = match e {
        TlsError::ProtocolList { .. } => return None,
        TlsError::Parameter { parameter, .. } => Some(parameter.clone()),
        TlsError::CipherExclusion { .. } => Some(
            if cx
                .value(scope, "smtpd_tls_mandatory_exclude_ciphers")
                .contains(['!', '+', '-', '@'])
            {
                "smtpd_tls_mandatory_exclude_ciphers"
            } else {
                "smtpd_tls_exclude_ciphers"
            }
            .to_string(),
        ),
        _ => None,
    };
    let loc = param.as_deref().and_then(|p| cx.loc(scope, p));
    let subject = format!("invalid {}", param.clone().unwrap_or_else(|| e.to_string()));
    let fix = match &param {
        Some(p) => format!("correct {p} (see postconf(5)); pftls apply -p inbound-opportunistic rewrites the smtpd TLS settings"),
        None => "correct the setting (see postconf(5))".into(),
    };
    Some(
        Draft::new(
            ids::INVALID_TLS_SETTING,
            subject,
            loc,
            format!("{e}: smtpd refuses the setting and stops or runs without TLS ({{scopes}})."),
            fix,
        )
        .scope(scope),
    )
}

/// E001 for a port-25 scope whose effective level is mandatory.
fn requires_tls(cx: &Cx<'_>, scope: &str, describe: &str, level_source: &str) -> Draft {
    let source = cx.source(scope, level_source);
    let loc = location(&source);
    let value = cx.view.value(scope, level_source).value;
    let setting = match level_source {
        "smtpd_enforce_tls" => "smtpd_enforce_tls = yes (deprecated; it means encrypt)".to_string(),
        "smtpd_tls_wrappermode" => {
            "smtpd_tls_wrappermode = yes (TLS from the first byte, port 465 style)".to_string()
        }
        _ => format!("smtpd_tls_security_level = {}", value.trim()),
    };
    let at = loc
        .as_deref()
        .map(|l| format!(" ({l})"))
        .unwrap_or_default();

    // What else makes it mandatory once the effective line is gone, and the edits.
    let mut also = Vec::new();
    let mut edits = Vec::new();
    let mut policy_fixes = true;
    if scope != "main" {
        if let Some(svc) = cx.view.master.service(scope) {
            for o in svc
                .effective_overrides()
                .iter()
                .filter(|o| LEVEL_PARAMS.contains(&o.name.as_str()))
            {
                let mandatory = match o.name.as_str() {
                    "smtpd_tls_security_level" => !matches!(
                        o.value.trim().to_ascii_lowercase().as_str(),
                        "" | "none" | "may"
                    ),
                    _ => crate::cx::is_yes(&o.value),
                };
                if mandatory {
                    edits.push(format!(
                        "remove `{}` from master.cf:{}",
                        override_text(&o.name, &o.value),
                        o.line
                    ));
                    if o.name == "smtpd_tls_wrappermode" {
                        // inbound-opportunistic does not touch a wrapper-mode override.
                        policy_fixes = false;
                    }
                }
            }
        }
    }
    let main_level = cx.view.main_value("smtpd_tls_security_level");
    let main_mandatory = matches!(
        main_level.value.trim().to_ascii_lowercase().as_str(),
        "encrypt" | "fingerprint" | "verify" | "secure"
    );
    if main_mandatory {
        let l = main_level.source.to_string();
        if Some(&l) != loc.as_ref() {
            also.push(format!("{l} also sets smtpd_tls_security_level = {} and takes over when the override is removed", main_level.value.trim()));
        }
        edits.push(format!("set smtpd_tls_security_level = may in {l}"));
    }
    let main_enforce = cx.view.main_value("smtpd_enforce_tls");
    if crate::cx::is_yes(&main_enforce.value) && location(&main_enforce.source).is_some() {
        edits.push(format!(
            "remove smtpd_enforce_tls from {}",
            main_enforce.source
        ));
    }
    let main_wrapper = cx.view.main_value("smtpd_tls_wrappermode");
    if crate::cx::is_yes(&main_wrapper.value) && location(&main_wrapper.source).is_some() {
        edits.push(format!(
            "remove smtpd_tls_wrappermode from {} and set it per service on 465",
            main_wrapper.source
        ));
        policy_fixes = false;
    }
    let also = if also.is_empty() {
        String::new()
    } else {
        format!(" Note: {}.", also.join("; "))
    };
    let message = format!(
        "Port 25 ({describe}) requires TLS: {setting}{at}. RFC 3207 section 4: a publicly-referenced SMTP server MUST NOT \
         require STARTTLS; senders that do not (or cannot) negotiate TLS with us get \"530 5.7.0 Must issue a STARTTLS \
         command first\" and their mail is refused.{also}"
    );
    let edits = if edits.is_empty() {
        String::new()
    } else {
        format!(" ({})", edits.join("; "))
    };
    let d = if policy_fixes {
        Draft::new(
            ids::PORT25_REQUIRES_TLS,
            scope.to_string(),
            loc,
            message,
            format!("pftls apply -p inbound-opportunistic{edits}"),
        )
        .policy("inbound-opportunistic")
    } else {
        Draft::new(
            ids::PORT25_REQUIRES_TLS,
            scope.to_string(),
            loc,
            message,
            edits
                .trim()
                .trim_start_matches('(')
                .trim_end_matches(')')
                .to_string(),
        )
    };
    d.scope(scope)
}

/// E001 for postscreen itself: an explicit `postscreen_tls_security_level` (or
/// `postscreen_enforce_tls`) that requires TLS before a sender reaches smtpd.
fn postscreen_level(cx: &Cx<'_>, listener: &str, out: &mut Vec<Draft>) {
    let Some(svc) = cx.view.master.service(listener) else {
        return;
    };
    if svc.command != "postscreen" {
        return;
    }
    for name in ["postscreen_tls_security_level", "postscreen_enforce_tls"] {
        let e = cx.view.value(listener, name);
        let Some(loc) = location(&e.source) else {
            continue;
        };
        let v = e.value.trim().to_ascii_lowercase();
        let mandatory = if name == "postscreen_enforce_tls" {
            crate::cx::is_yes(&v)
        } else {
            v == "encrypt"
        };
        if mandatory {
            out.push(
                Draft::new(
                    ids::PORT25_REQUIRES_TLS,
                    format!("{listener} {name}"),
                    Some(loc.clone()),
                    format!(
                        "Port 25 (postscreen {listener}) requires TLS: {name} = {} ({loc}). RFC 3207 section 4: a \
                         publicly-referenced SMTP server MUST NOT require STARTTLS; senders without TLS get \"530 5.7.0 \
                         Must issue a STARTTLS command first\".",
                        e.value.trim()
                    ),
                    format!("remove {name} at {loc} (postscreen then follows smtpd_tls_security_level)"),
                )
                .scope(listener),
            );
        }
    }
}
