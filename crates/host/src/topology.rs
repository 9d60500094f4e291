//! The listener topology: every master.cf service with its role and the reason for it.
//!
//! Classification (first match wins):
//! 1. an inet `smtpd` or `postscreen` on port 25 in any spelling (`smtp`, `25`, `ADDR:smtp`,
//!    `[v6]:25`, `host.name:25`) is **mx**; so is the smtpd `pass` service a port-25
//!    postscreen hands clients to (named by `smtpd_service_name` in postscreen's scope);
//! 2. an inet smtpd with `smtpd_tls_wrappermode = yes`, or on port 465, is **submissions**;
//! 3. an inet smtpd on port 587 is **submission**;
//! 4. an inet smtpd bound to a loopback address, or with `-o content_filter=` (the usual
//!    re-injection path of a content filter), is **internal**;
//! 5. anything else is **other**.

use pftls_policy::{ConfigView, Role};
use postfix_conf::{ListenAddress, Scope, ServiceKey};
use serde::Serialize;

use crate::tls_level::{self, TlsLevel};

/// One master.cf service and its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listener {
    /// `name/type`.
    pub service: ServiceKey,
    /// The scope its parameters are read from (`main` for Postfix's implicit stock
    /// `smtp/inet` when master.cf defines no service).
    pub scope: Scope,
    /// Whether master.cf defines it (false only for the implicit stock service).
    pub defined: bool,
    /// master.cf line of the service (0 when not defined).
    pub line: usize,
    /// The daemon (`smtpd`, `postscreen`, ...).
    pub command: String,
    /// The role.
    pub role: Role,
    /// Why it has that role.
    pub reason: String,
    /// Listen address of an inet service.
    pub address: Option<ListenAddress>,
    /// For a `pass` service: the postscreen listener in front of it.
    pub behind: Option<ServiceKey>,
    /// The TLS level it enforces (smtpd and postscreen only).
    pub tls: Option<TlsLevel>,
    /// postscreen only: whether deep protocol tests are on (then postscreen's own SMTP engine,
    /// with `postscreen_tls_security_level`, talks to clients before smtpd does).
    pub deep_protocol_tests: Option<bool>,
}

/// The TCP port Postfix binds for a listener: a number as written, else the name's port from
/// main.cf's `known_tcp_ports` (`name=name2=port`, Postfix 3.6+), else the IANA port of a mail
/// service name.
pub fn bound_port(view: &ConfigView<'_>, addr: &ListenAddress) -> Option<u16> {
    if let Ok(n) = addr.port_text.parse::<u16>() {
        return Some(n);
    }
    let known = view
        .expanded_in(&Scope::Main, "known_tcp_ports")
        .unwrap_or_default();
    for entry in known
        .split([',', ' ', '\t', '\n'])
        .filter(|e| !e.is_empty())
    {
        let parts: Vec<&str> = entry.split('=').map(str::trim).collect();
        if let Some((port, names)) = parts.split_last() {
            if names
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&addr.port_text))
            {
                if let Ok(p) = port.parse() {
                    return Some(p);
                }
            }
        }
    }
    addr.port
}

/// Every service of master.cf with its role, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Topology {
    /// The services.
    pub listeners: Vec<Listener>,
}

const DEEP_TESTS: &[&str] = &[
    "postscreen_pipelining_enable",
    "postscreen_non_smtp_command_enable",
    "postscreen_bare_newline_enable",
];

impl Topology {
    /// Classifies the services of `view`'s master.cf (the last entry of each `name/type`).
    pub fn of(view: &ConfigView<'_>) -> Topology {
        let services = view.effective_services();
        if services.is_empty() {
            let key = ServiceKey::new("smtp", "inet");
            return Topology {
                listeners: vec![Listener {
                    service: key,
                    scope: Scope::Main,
                    defined: false,
                    line: 0,
                    command: "smtpd".into(),
                    role: Role::Mx,
                    reason: "master.cf defines no service: Postfix's stock smtp/inet (port 25)"
                        .into(),
                    address: Some(ListenAddress::parse("smtp")),
                    behind: None,
                    tls: Some(tls_level::smtpd(view, &Scope::Main)),
                    deep_protocol_tests: None,
                }],
            };
        }
        // The pass services port-25 postscreens hand clients to: name -> postscreen key.
        let mut handoff: Vec<(String, ServiceKey)> = Vec::new();
        for s in services
            .iter()
            .filter(|s| s.kind == "inet" && s.command == "postscreen")
        {
            let addr = ListenAddress::parse(&s.name);
            if addr.port == Some(25) {
                let scope = Scope::Service(s.service_key());
                let name = view
                    .expanded_in(&scope, "smtpd_service_name")
                    .unwrap_or_else(|_| "smtpd".into());
                let name = if name.trim().is_empty() {
                    "smtpd".into()
                } else {
                    name.trim().to_string()
                };
                handoff.push((name, s.service_key()));
            }
        }
        let listeners = services
            .iter()
            .map(|s| {
                let key = s.service_key();
                let scope = Scope::Service(key.clone());
                let address = (s.kind == "inet").then(|| ListenAddress::parse(&s.name));
                let mut behind = None;
                let (role, reason) =
                    classify(view, s, &scope, address.as_ref(), &handoff, &mut behind);
                let tls = match s.command.as_str() {
                    "smtpd" => Some(tls_level::smtpd(view, &scope)),
                    "postscreen" => Some(tls_level::postscreen(view, &scope)),
                    _ => None,
                };
                let deep_protocol_tests = (s.command == "postscreen").then(|| {
                    DEEP_TESTS.iter().any(|p| {
                        view.expanded_in(&scope, p)
                            .is_ok_and(|v| v.trim().eq_ignore_ascii_case("yes"))
                    })
                });
                Listener {
                    service: key,
                    scope,
                    defined: true,
                    line: s.line,
                    command: s.command.clone(),
                    role,
                    reason,
                    address,
                    behind,
                    tls,
                    deep_protocol_tests,
                }
            })
            .collect();
        Topology { listeners }
    }

    /// The listeners of `role`.
    pub fn with_role(&self, role: Role) -> impl Iterator<Item = &Listener> {
        self.listeners.iter().filter(move |l| l.role == role)
    }

    /// The smtpd that talks TLS to clients connecting to `port`: an inet smtpd on that port,
    /// or the smtpd `pass` service behind a postscreen on that port (the first in file order
    /// when several listen on it).
    pub fn smtpd_for_port(&self, port: u16) -> Option<&Listener> {
        let on_port = |l: &Listener| l.address.as_ref().and_then(|a| a.port) == Some(port);
        self.listeners.iter().find(|l| {
            l.command == "smtpd"
                && (on_port(l)
                    || l.behind
                        .as_ref()
                        .and_then(|b| self.get(b))
                        .is_some_and(on_port))
        })
    }

    /// The listener of a service.
    pub fn get(&self, key: &ServiceKey) -> Option<&Listener> {
        self.listeners.iter().find(|l| &l.service == key)
    }
}

fn classify(
    view: &ConfigView<'_>,
    s: &postfix_conf::Service,
    scope: &Scope,
    address: Option<&ListenAddress>,
    handoff: &[(String, ServiceKey)],
    behind: &mut Option<ServiceKey>,
) -> (Role, String) {
    let is_yes = |p: &str| {
        view.expanded_in(scope, p)
            .is_ok_and(|v| v.trim().eq_ignore_ascii_case("yes"))
    };
    if s.kind == "pass" && s.command == "smtpd" {
        if let Some((_, ps)) = handoff.iter().find(|(n, _)| *n == s.name) {
            *behind = Some(ps.clone());
            return (
                Role::Mx,
                format!("smtpd pass service behind postscreen {ps} (port 25)"),
            );
        }
        return (
            Role::Other,
            "pass service no port-25 postscreen hands clients to".into(),
        );
    }
    let Some(addr) = address else {
        return (
            Role::Other,
            format!("{} service, not a network listener", s.kind),
        );
    };
    let port = addr
        .port
        .map_or_else(|| addr.port_text.clone(), |p| p.to_string());
    let spelled = if port == s.name {
        format!("port {port}")
    } else {
        format!("{} (port {port})", s.name)
    };
    match (s.command.as_str(), addr.port) {
        ("smtpd" | "postscreen", Some(25)) => {
            return (Role::Mx, format!("inet {} on {spelled}", s.command));
        }
        ("smtpd", _) if is_yes("smtpd_tls_wrappermode") => {
            return (
                Role::Submissions,
                format!("inet smtpd on {spelled} with smtpd_tls_wrappermode = yes"),
            );
        }
        ("smtpd", Some(465)) => {
            return (Role::Submissions, format!("inet smtpd on {spelled}"));
        }
        ("smtpd", Some(587)) => {
            return (Role::Submission, format!("inet smtpd on {spelled}"));
        }
        _ => {}
    }
    if s.command == "smtpd" {
        if addr.host.is_loopback() {
            return (
                Role::Internal,
                format!("inet smtpd bound to loopback {}", s.name),
            );
        }
        if s.get_override("content_filter")
            .is_some_and(|o| o.value.trim().is_empty())
        {
            return (
                Role::Internal,
                "inet smtpd with -o content_filter= (content-filter re-injection)".into(),
            );
        }
        return (
            Role::Other,
            format!(
                "inet smtpd on {spelled}: no mail role (address it as {})",
                s.key()
            ),
        );
    }
    (
        Role::Other,
        format!("inet {} is not an SMTP server", s.command),
    )
}
