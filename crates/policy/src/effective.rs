//! The effective configuration: what Postfix uses for each parameter, globally and per master.cf
//! service, and where each value comes from (`main.cf:LINE`, `master.cf:LINE` or the default).

use postfix_conf::{MainCf, MasterCf, Scope};

use crate::catalogue::Catalogue;

/// Where an effective value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A main.cf definition starting at this line.
    Main(usize),
    /// A master.cf `-o` override on this line.
    Master(usize),
    /// The compiled-in default of the target Postfix version.
    Default,
    /// Neither set nor known to the catalogue.
    Unset,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Main(l) => write!(f, "main.cf:{l}"),
            Source::Master(l) => write!(f, "master.cf:{l}"),
            Source::Default => f.write_str("default"),
            Source::Unset => f.write_str("unset"),
        }
    }
}

/// One effective parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    /// `main` or `SERVICE/TYPE`.
    pub scope: String,
    /// Parameter name.
    pub name: String,
    /// Unexpanded value as `postconf -n` / `-P` print it (raw; not whitespace-collapsed).
    pub value: String,
    /// Provenance.
    pub source: Source,
}

/// The core TLS parameters `show` lists even when they are at their defaults.
pub const CORE_TLS_PARAMS: &[&str] = &[
    "smtpd_tls_security_level",
    "smtpd_use_tls",
    "smtpd_enforce_tls",
    "smtpd_tls_auth_only",
    "smtpd_tls_wrappermode",
    "smtpd_tls_protocols",
    "smtpd_tls_mandatory_protocols",
    "smtpd_tls_ciphers",
    "smtpd_tls_mandatory_ciphers",
    "smtpd_tls_exclude_ciphers",
    "smtpd_tls_mandatory_exclude_ciphers",
    "smtpd_tls_cert_file",
    "smtpd_tls_key_file",
    "smtpd_tls_chain_files",
    "smtpd_tls_loglevel",
    "smtp_tls_security_level",
    "smtp_use_tls",
    "smtp_enforce_tls",
    "smtp_tls_protocols",
    "smtp_tls_mandatory_protocols",
    "smtp_tls_ciphers",
    "smtp_tls_mandatory_ciphers",
    "smtp_tls_loglevel",
    "smtp_dns_support_level",
    "tls_high_cipherlist",
    "tls_medium_cipherlist",
    "tls_preempt_cipherlist",
];

/// True for parameters that concern TLS (shown by `show` without `--all`).
pub fn is_tls_related(name: &str) -> bool {
    name.contains("tls") || matches!(name, "smtp_dns_support_level" | "smtpd_sasl_auth_enable")
}

/// A read-only view of main.cf + master.cf + the catalogue of the target version.
pub struct ConfigView<'a> {
    /// main.cf.
    pub main: &'a MainCf,
    /// master.cf (an empty document when the file is absent).
    pub master: &'a MasterCf,
    /// Known parameters and defaults.
    pub catalogue: &'a Catalogue,
}

impl<'a> ConfigView<'a> {
    /// Builds the view.
    pub fn new(main: &'a MainCf, master: &'a MasterCf, catalogue: &'a Catalogue) -> Self {
        ConfigView {
            main,
            master,
            catalogue,
        }
    }

    /// The effective main.cf value of `name`.
    pub fn main_value(&self, name: &str) -> Effective {
        let (value, source) = match self.main.get(name) {
            Some(e) => (e.value, Source::Main(e.line)),
            None => match self.catalogue.default_value(name) {
                Some(d) => (d.to_string(), Source::Default),
                None => (String::new(), Source::Unset),
            },
        };
        Effective {
            scope: "main".into(),
            name: name.to_string(),
            value,
            source,
        }
    }

    /// The effective value of `name` in `scope`: the service's `-o` override, else main.cf's,
    /// else the default.
    pub fn value_in(&self, scope: &Scope, name: &str) -> Effective {
        if let Scope::Service(key) = scope {
            if let Some(o) = self
                .master
                .service(&key.to_string())
                .and_then(|s| s.get_override(name))
            {
                return Effective {
                    scope: scope.to_string(),
                    name: name.to_string(),
                    value: o.value,
                    source: Source::Master(o.line),
                };
            }
        }
        let mut e = self.main_value(name);
        e.scope = scope.to_string();
        e
    }

    /// [`ConfigView::value_in`] for the string form of a scope (`main` or `SERVICE/TYPE`, as
    /// in the JSON reports); a string that is neither reads main.cf.
    pub fn value(&self, scope: &str, name: &str) -> Effective {
        match Scope::parse_legacy(scope) {
            Ok(s) => self.value_in(&s, name),
            Err(_) => {
                let mut e = self.main_value(name);
                e.scope = scope.to_string();
                e
            }
        }
    }

    /// The value after `$name` expansion, as a daemon of `scope` would see it (`$service_name`
    /// is the service's name). Expansion errors are returned as text (the caller reports them).
    pub fn expanded_in(&self, scope: &Scope, name: &str) -> Result<String, String> {
        let raw = self.value_in(scope, name).value;
        let lookup = |n: &str| -> Option<String> {
            match (n, scope) {
                ("service_name", Scope::Service(k)) => Some(k.name.clone()),
                _ => {
                    let e = self.value_in(scope, n);
                    (e.source != Source::Unset).then_some(e.value)
                }
            }
        };
        postfix_conf::expand::expand(&raw, &lookup).map_err(|e| e.to_string())
    }

    /// [`ConfigView::expanded_in`] for the string form of a scope.
    pub fn expanded(&self, scope: &str, name: &str) -> Result<String, String> {
        match Scope::parse_legacy(scope) {
            Ok(s) => self.expanded_in(&s, name),
            Err(_) => self.expanded_in(&Scope::Main, name),
        }
    }

    /// A closure giving expanded effective values for `scope` (None when unknown and unset).
    pub fn resolver(&'a self, scope: &'a str) -> impl Fn(&str) -> Option<String> + 'a {
        move |name: &str| {
            let e = self.value(scope, name);
            if e.source == Source::Unset {
                return None;
            }
            Some(self.expanded(scope, name).unwrap_or(e.value))
        }
    }

    /// Explicit main.cf settings as `postconf -n` would list them: one per name (last wins),
    /// sorted, known or referenced names only.
    pub fn explicit_main(&self) -> Vec<Effective> {
        let effective = self.main.effective();
        let referenced: std::collections::BTreeSet<String> = effective
            .iter()
            .flat_map(|e| postfix_conf::expand::references(&e.value))
            .chain(self.master.services().iter().flat_map(|s| {
                s.overrides
                    .iter()
                    .flat_map(|o| postfix_conf::expand::references(&o.value))
                    .collect::<Vec<_>>()
            }))
            .collect();
        effective
            .into_iter()
            .filter(|e| self.catalogue.is_known(&e.name) || referenced.contains(&e.name))
            .map(|e| Effective {
                scope: "main".into(),
                name: e.name,
                value: e.value,
                source: Source::Main(e.line),
            })
            .collect()
    }

    /// Every master.cf override as `postconf -P` lists it: services in file order, parameters
    /// sorted within a service, last wins.
    pub fn explicit_overrides(&self) -> Vec<Effective> {
        self.master
            .services()
            .iter()
            .flat_map(|s| {
                let key = s.key();
                s.effective_overrides().into_iter().map(move |o| Effective {
                    scope: key.clone(),
                    name: o.name,
                    value: o.value,
                    source: Source::Master(o.line),
                })
            })
            .collect()
    }

    /// The master.cf services Postfix uses: the last entry of each `name/type`, in file order.
    pub fn effective_services(&self) -> Vec<postfix_conf::Service> {
        effective_services(self.master)
    }

    /// The services that talk TLS to senders (see [`inbound_tls_services`]).
    pub fn inbound_tls_services(&self) -> Vec<InboundService> {
        inbound_tls_services(self.master)
    }
}

/// An inbound smtpd that talks TLS to senders.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InboundService {
    /// The scope whose parameters smtpd uses (`smtp/inet`, `smtpd/pass`, or `main` when
    /// master.cf defines no service).
    pub scope: String,
    /// The master.cf service that accepts the connection (the postscreen listener for a
    /// `pass` service, else the scope itself).
    pub listener: String,
}

impl InboundService {
    /// `smtp/inet`, or `smtpd/pass (behind postscreen smtp/inet)`.
    pub fn describe(&self) -> String {
        if self.scope == self.listener || self.scope == "main" {
            self.listener.clone()
        } else {
            format!("{} (behind postscreen {})", self.scope, self.listener)
        }
    }

    /// True when the listener's port is one of `ports` (names or numbers, e.g. `smtp`, `25`).
    pub fn listens_on(&self, ports: &[&str]) -> bool {
        let name = self
            .listener
            .rsplit_once('/')
            .map_or(self.listener.as_str(), |(n, _)| n);
        is_port(name, ports)
    }
}

/// The port part of a master.cf service name (`smtp`, `127.0.0.1:submission`, `[::1]:25`).
pub fn port_of(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, p)| p)
}

/// True when the service name listens on one of `ports` (names or numbers).
pub fn is_port(name: &str, ports: &[&str]) -> bool {
    let p = port_of(name);
    ports.iter().any(|q| p.eq_ignore_ascii_case(q))
}

/// The master.cf services Postfix uses: the last entry of each `name/type`, in file order.
pub fn effective_services(master: &MasterCf) -> Vec<postfix_conf::Service> {
    let all = master.services();
    all.iter()
        .enumerate()
        .filter(|(i, s)| !all[i + 1..].iter().any(|t| t.key() == s.key()))
        .map(|(_, s)| s.clone())
        .collect()
}

/// The smtpd services that talk TLS to senders: every `inet` service running smtpd, and for a
/// postscreen listener the smtpd `pass` services behind it. With no master.cf service at all
/// (an in-memory document, a missing file) `main` stands for Postfix's stock `smtp/inet`.
pub fn inbound_tls_services(master: &MasterCf) -> Vec<InboundService> {
    let services = effective_services(master);
    if services.is_empty() {
        return vec![InboundService {
            scope: "main".into(),
            listener: "smtp/inet".into(),
        }];
    }
    let mut out: Vec<InboundService> = Vec::new();
    for s in services.iter().filter(|s| s.kind == "inet") {
        match s.command.as_str() {
            "smtpd" => out.push(InboundService {
                scope: s.key(),
                listener: s.key(),
            }),
            "postscreen" => {
                for p in services
                    .iter()
                    .filter(|p| p.kind == "pass" && p.command == "smtpd")
                {
                    if !out.iter().any(|o| o.scope == p.key()) {
                        out.push(InboundService {
                            scope: p.key(),
                            listener: s.key(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    out
}
