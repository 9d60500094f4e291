//! Protocol lists: TLS 1.2 must stay enabled (most MTAs still send with it), and the list
//! must be in a syntax the target Postfix understands (otherwise it disables TLS entirely).

use pftls_policy::Source;
use pftls_tls::{floor_to_postfix, parse_protocols, Protocol};

use crate::cx::{location, override_text, Cx, Draft};
use crate::finding::ids;

/// The protocol parameters checked, with the side they configure.
const PROTOCOL_PARAMS: &[&str] = &[
    "smtpd_tls_protocols",
    "smtpd_tls_mandatory_protocols",
    "smtp_tls_protocols",
    "smtp_tls_mandatory_protocols",
];

/// One explicit definition: scope (`main` or a service key), value (expanded), source.
struct Definition {
    scope: String,
    name: &'static str,
    raw: String,
    value: String,
    source: Source,
}

fn definitions(cx: &Cx<'_>) -> Vec<Definition> {
    let mut out = Vec::new();
    for name in PROTOCOL_PARAMS {
        if let Some(e) = cx.view.main.get(name) {
            out.push(Definition {
                scope: "main".into(),
                name,
                raw: e.value.clone(),
                value: cx.value("main", name),
                source: Source::Main(e.line),
            });
        }
        for svc in cx.services() {
            if let Some(o) = svc.get_override(name) {
                let key = svc.key();
                out.push(Definition {
                    value: cx.value(&key, name),
                    scope: key,
                    name,
                    raw: o.value.clone(),
                    source: Source::Master(o.line),
                });
            }
        }
    }
    out
}

/// E002 (TLS 1.2 excluded), E003 (port 25 TLS 1.3 only), E004 (invalid list).
pub(crate) fn check(cx: &Cx<'_>, out: &mut Vec<Draft>) {
    let recommended = floor_to_postfix(Protocol::Tls1_2, cx.tls_version);
    let port25 = cx.port25_scopes();
    for d in definitions(cx) {
        let loc = location(&d.source);
        let at = loc.clone().unwrap_or_default();
        let subject = format!("{} {}", d.scope, d.name);
        let (fix, policy) = fix_for(&d, &recommended);
        let range = match parse_protocols(&d.value, cx.tls_version) {
            Ok(r) => r,
            Err(e) => {
                let mut draft = Draft::new(
                    ids::PROTOCOLS_INVALID,
                    subject,
                    loc,
                    format!(
                        "{} = {} ({at}): {e}. Postfix {} logs \"Invalid TLS protocol list\" and disables TLS support: \
                         no STARTTLS on the services that use it, and mandatory TLS refuses every message.",
                        d.name,
                        d.raw.trim(),
                        cx.tls_version
                    ),
                    fix,
                );
                draft.policy = policy;
                out.push(draft);
                continue;
            }
        };
        let enabled = range.enabled();
        if enabled.contains(&Protocol::Tls1_2) {
            continue;
        }
        // Is this the definition a port-25 smtpd uses?
        let on_port25: Vec<String> = if d.name.starts_with("smtpd_") {
            port25
                .iter()
                .filter(|p| cx.source(&p.scope, d.name) == d.source)
                .map(|p| p.describe())
                .collect()
        } else {
            Vec::new()
        };
        let names: Vec<&str> = enabled.iter().map(|p| p.name()).collect();
        let draft = if enabled == [Protocol::Tls1_3] && !on_port25.is_empty() {
            Draft::new(
                ids::PORT25_TLS13_ONLY,
                subject,
                loc,
                format!(
                    "{} = {} ({at}) leaves only TLS 1.3 on port 25 ({}). Most sending MTAs still use TLS 1.2 \
                     (Exchange/SChannel, Java, OpenSSL 1.0.x stacks); their handshakes fail and, depending on the \
                     level, they send in plaintext or their mail is refused.",
                    d.name,
                    d.raw.trim(),
                    on_port25.join(", ")
                ),
                fix,
            )
        } else if enabled.is_empty() {
            Draft::new(
                ids::PROTOCOLS_NO_TLS12,
                subject,
                loc,
                format!(
                    "{} = {} ({at}) enables no protocol at all: every TLS handshake of {} fails.",
                    d.name,
                    d.raw.trim(),
                    side(d.name)
                ),
                fix,
            )
        } else {
            Draft::new(
                ids::PROTOCOLS_NO_TLS12,
                subject,
                loc,
                format!(
                    "{} = {} ({at}) excludes TLS 1.2 (enabled: {}). TLS 1.2 is what most MTAs speak; handshakes of {} \
                     with them fail.",
                    d.name,
                    d.raw.trim(),
                    names.join(", "),
                    side(d.name)
                ),
                fix,
            )
        };
        let mut draft = draft;
        draft.policy = policy;
        out.push(draft);
    }
}

fn side(name: &str) -> &'static str {
    if name.starts_with("smtpd_") {
        "inbound mail (smtpd)"
    } else {
        "outbound mail (smtp)"
    }
}

/// The exact edit, and the policy that makes it, for one definition.
fn fix_for(d: &Definition, recommended: &str) -> (String, Option<&'static str>) {
    let inbound = d.name.starts_with("smtpd_");
    match (&d.source, d.scope.as_str()) {
        (Source::Master(line), scope) => {
            let policy = (inbound && scope == "smtp/inet").then_some("inbound-opportunistic");
            let text = format!(
                "remove `{}` from master.cf:{line} (or set it to {recommended}: postconf -P '{scope}/{}={recommended}')",
                override_text(d.name, d.raw.trim()),
                d.name
            );
            match policy {
                Some(p) => (format!("pftls apply -p {p}, or {text}"), Some(p)),
                None => (text, None),
            }
        }
        _ => {
            let policy = if inbound {
                "inbound-opportunistic"
            } else {
                "crypto-policy-aligned"
            };
            (
                format!(
                    "pftls apply -p {policy} (or postconf -e '{} = {recommended}')",
                    d.name
                ),
                Some(policy),
            )
        }
    }
}
