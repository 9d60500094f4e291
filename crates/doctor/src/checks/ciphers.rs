//! Ciphers on port 25: settings narrower than the system crypto-policy (evaluated with
//! OpenSSL), and client profiles that cannot complete a handshake (simulated in memory).

use pftls_tls::cert::{check_cert_files, CertCheck};
use pftls_tls::keys::{CertSpec, KeySpec};
use pftls_tls::{
    compare, postfix_cipher_string, simulate, supported_ciphers, EvalContext, Protocol,
    ServerLevel, ServerTlsModel,
};

use crate::cx::{Cx, Draft};
use crate::finding::ids;

/// At most this many cipher / client names are listed in a message.
const LIST_MAX: usize = 8;

/// W010, E011, W012 for each port-25 smtpd.
pub(crate) fn check(cx: &Cx<'_>, out: &mut Vec<Draft>) {
    for p25 in cx.port25_scopes() {
        let scope = p25.scope.as_str();
        let Ok(model) = cx.model(scope) else { continue };
        if model.level == ServerLevel::None {
            continue;
        }
        let narrowing = narrowing_settings(cx, scope, &model);
        narrower_than_policy(cx, scope, &p25.describe(), &model, &narrowing, out);
        handshakes(cx, scope, &p25.describe(), &model, &narrowing, out);
    }
}

/// Explicit settings that shape the port-25 cipher/protocol set: (parameter, location).
fn narrowing_settings(cx: &Cx<'_>, scope: &str, model: &ServerTlsModel) -> Vec<(String, String)> {
    let grade_param = if model.mandatory {
        "smtpd_tls_mandatory_ciphers"
    } else {
        "smtpd_tls_ciphers"
    };
    let mut names = vec![model.cipherlist_parameter.clone(), grade_param.to_string()];
    if model.mandatory {
        names.push("smtpd_tls_mandatory_exclude_ciphers".into());
    }
    names.push("smtpd_tls_exclude_ciphers".into());
    names.push(model.protocols_parameter.clone());
    names
        .into_iter()
        .filter_map(|n| cx.loc(scope, &n).map(|l| (n, l)))
        .collect()
}

fn listed(items: &[String]) -> String {
    let mut s = items
        .iter()
        .take(LIST_MAX)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > LIST_MAX {
        s.push_str(&format!(", ... ({} in all)", items.len()));
    }
    s
}

/// W010: ciphers the crypto-policy allows for Postfix's medium grade that the configured
/// string removes (TLS <= 1.2 only: Postfix's lists do not control TLS 1.3 suites).
fn narrower_than_policy(
    cx: &Cx<'_>,
    scope: &str,
    describe: &str,
    model: &ServerTlsModel,
    narrowing: &[(String, String)],
    out: &mut Vec<Draft>,
) {
    let baseline = cx.input.baseline;
    let ctx = EvalContext {
        seclevel: baseline.seclevel,
        min_protocol: Some(baseline.min_protocol.min(Protocol::Tls1_2)),
        max_protocol: Some(Protocol::Tls1_2),
    };
    let Some(reference_string) = reference_cipher_string(cx) else {
        return;
    };
    let Ok(reference) = supported_ciphers(&reference_string, ctx) else {
        return;
    };
    let (configured, note) = match supported_ciphers(&model.cipher_string, ctx) {
        Ok(c) => (c, String::new()),
        Err(e) => (
            Vec::new(),
            format!(" OpenSSL rejects the cipher string: {e}."),
        ),
    };
    let lost: Vec<String> = compare(&configured, &reference)
        .lost
        .into_iter()
        .filter(|n| !n.starts_with("TLS_"))
        .collect();
    if lost.is_empty() {
        return;
    }
    let settings = narrowing
        .iter()
        .filter(|(n, _)| !n.contains("protocols"))
        .map(|(n, l)| format!("{n} ({l})"))
        .collect::<Vec<_>>();
    let loc = narrowing
        .iter()
        .find(|(n, _)| !n.contains("protocols"))
        .map(|(_, l)| l.clone());
    let msg = format!(
        "The cipher settings of port 25 ({describe}) remove {} of the {} TLS 1.2 ciphers the system policy ({}) allows \
         for Postfix's medium grade: {}.{note} Settings involved: {}. Senders whose stacks offer only those ciphers \
         fail the handshake.",
        lost.len(),
        reference.iter().filter(|c| !c.is_tls13()).count(),
        baseline.source,
        listed(&lost),
        if settings.is_empty() { "(defaults)".to_string() } else { settings.join(", ") }
    );
    out.push(
        Draft::new(
            ids::CIPHERS_NARROWER,
            format!("{scope} ciphers"),
            loc,
            msg,
            "pftls apply -p crypto-policy-aligned (medium grade, exclusions from the crypto-policy, tls_*_cipherlist \
             overrides removed); inbound-opportunistic does the same for smtpd",
        )
        .policy("crypto-policy-aligned"),
    );
}

/// What the system policy allows Postfix: the target version's medium list with the
/// exclusions the crypto-policy needs (the configuration `crypto-policy-aligned` writes).
fn reference_cipher_string(cx: &Cx<'_>) -> Option<String> {
    let medium = cx
        .input
        .catalogue
        .default_value("tls_medium_cipherlist")
        .map(str::to_string)
        .or_else(|| {
            pftls_tls::postfix_defaults::default_value("tls_medium_cipherlist", cx.tls_version)
                .map(str::to_string)
        })
        .unwrap_or_else(|| pftls_tls::postfix_defaults::MEDIUM_37.to_string());
    postfix_cipher_string(&medium, &cx.input.baseline.forbidden.join(" ")).ok()
}

/// The certificate used for simulations: the configured one when it is usable (its key
/// type decides which cipher suites work), else a generated key the security level accepts
/// (certificate problems are reported by the certificate check, not as handshake failures).
fn simulation_cert(cx: &Cx<'_>, model: &ServerTlsModel) -> CertSpec {
    let seclevel = cx.input.baseline.seclevel;
    if cx.input.options.check_files {
        if let Some(first) = model.certs.first() {
            let key = (first.key != first.cert).then_some(first.key.as_path());
            let r = check_cert_files(
                &first.cert,
                key,
                &CertCheck {
                    warn_days: 0,
                    seclevel,
                },
            );
            if r.key_matches == Some(true) && r.seclevel_ok == Some(true) {
                return CertSpec::Files {
                    cert: first.cert.clone(),
                    key: first.key.clone(),
                };
            }
        }
    }
    CertSpec::Generated(match seclevel {
        0..=2 => KeySpec::Rsa(2048),
        3 => KeySpec::Rsa(3072),
        4 => KeySpec::Ec("secp384r1".into()),
        _ => KeySpec::Ec("secp521r1".into()),
    })
}

/// E011 / W012: simulated handshakes of every client profile against the port-25 server.
fn handshakes(
    cx: &Cx<'_>,
    scope: &str,
    describe: &str,
    model: &ServerTlsModel,
    narrowing: &[(String, String)],
    out: &mut Vec<Draft>,
) {
    let Some(server) = &model.server else { return };
    if cx.input.profiles.is_empty() {
        return;
    }
    let mut server = server.clone();
    server.cert = simulation_cert(cx, model);
    // The same server with the policy's reference settings: a profile that fails there too
    // is refused by the system policy (e.g. TLS 1.0-only stacks at SECLEVEL 2), not by this
    // configuration, and is not reported.
    let mut reference = server.clone();
    reference.min_protocol = None;
    reference.max_protocol = None;
    if let Some(r) = reference_cipher_string(cx) {
        reference.ciphers = r;
    }
    let mut modern = Vec::new();
    let mut legacy = Vec::new();
    for p in cx.input.profiles {
        let outcome = simulate(&server, p);
        if outcome.ok || !simulate(&reference, p).ok {
            continue;
        }
        let line = format!(
            "{} ({}: {})",
            p.id,
            p.name,
            outcome.error.unwrap_or_else(|| "handshake failed".into())
        );
        if p.max_protocol >= Protocol::Tls1_3 {
            modern.push(line);
        } else {
            legacy.push(line);
        }
    }
    let loc = narrowing.first().map(|(_, l)| l.clone());
    let settings = narrowing
        .iter()
        .map(|(n, l)| format!("{n} ({l})"))
        .collect::<Vec<_>>()
        .join(", ");
    let settings = if settings.is_empty() {
        "defaults".to_string()
    } else {
        settings
    };
    let meaning = &model.failure_meaning;
    if !modern.is_empty() {
        out.push(
            Draft::new(
                ids::MODERN_CLIENTS_FAIL,
                format!("{scope} modern"),
                loc.clone(),
                format!(
                    "Modern sending MTAs cannot complete a TLS handshake with port 25 ({describe}) that the system \
                     policy would allow: {}. At level {}: {meaning}. Settings involved: {settings}.",
                    listed(&modern),
                    level_name(model.level)
                ),
                "pftls apply -p inbound-opportunistic (protocols and ciphers from the system crypto-policy)",
            )
            .policy("inbound-opportunistic"),
        );
    }
    if !legacy.is_empty() {
        out.push(
            Draft::new(
                ids::LEGACY_CLIENTS_FAIL,
                format!("{scope} legacy"),
                loc,
                format!(
                    "{} of {} legacy sender profiles cannot complete a TLS handshake with port 25 ({describe}) that \
                     the system policy would allow: {}. At level {}: {meaning}. Settings involved: {settings}.",
                    legacy.len(),
                    cx.input.profiles.iter().filter(|p| p.max_protocol < Protocol::Tls1_3).count(),
                    listed(&legacy),
                    level_name(model.level)
                ),
                "pftls apply -p inbound-opportunistic (keeps such senders deliverable; failed handshakes fall back to \
                 plaintext at level may)",
            )
            .policy("inbound-opportunistic"),
        );
    }
}

fn level_name(level: ServerLevel) -> &'static str {
    match level {
        ServerLevel::None => "none",
        ServerLevel::May => "may",
        ServerLevel::Encrypt => "encrypt",
    }
}
