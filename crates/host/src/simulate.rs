//! The handshake simulation model behind `pftls simulate` and the `impact` section of
//! `plan`/`apply`: for the current and the planned configuration, which sending MTAs (client
//! profiles) each inbound TLS service would accept, over which protocol and cipher, and what a
//! failure means for mail.
//!
//! The server side is modelled exactly as smtpd configures OpenSSL (`pftls_tls`'s
//! `postfix_server_tls`), and the handshakes run in memory against the system libssl.

use std::path::Path;

use openssl::nid::Nid;
use openssl::pkey::Id;
use openssl::x509::X509;
use pftls_policy::{Catalogue, ConfigView, Environment, Plan};
use pftls_tls::keys::load_cert_spec;
use pftls_tls::server_model::{FAILURE_ENCRYPT, FAILURE_MAY, FAILURE_NONE};
use pftls_tls::{
    simulate, Baseline, CertSpec, ClientProfile, HandshakeOutcome, KeySpec, ServerLevel, ServerTls,
    ServerTlsModel,
};
use postfix_conf::{MainCf, MasterCf};
use serde::Serialize;

use crate::HostError;

/// Meaning of a successful handshake.
pub const MEANING_TLS: &str = "delivered over TLS";
/// Meaning when smtpd cannot run with the configuration (Postfix exits fatally).
pub const MEANING_CONFIG_ERROR: &str = "smtpd cannot start: mail refused (temporary error)";

pub use pftls_policy::{inbound_tls_services, InboundService};

/// The server side of one service in one configuration, ready to simulate.
#[derive(Debug, Clone)]
pub struct ServerSide {
    /// The model, or why Postfix would refuse the settings.
    pub model: Result<ServerTlsModel, String>,
    /// The server to simulate, with the certificate replaced by a generated key of the same
    /// type when the configured files cannot be read.
    pub server: Option<ServerTls>,
    /// What the user should know (substituted certificate, model warnings).
    pub notes: Vec<String>,
    /// The certificate as the output names it: its path, or `stand-in RSA-2048`.
    pub cert_label: Option<String>,
}

impl ServerSide {
    /// `none`, `may`, `encrypt`, or `error`.
    pub fn level(&self) -> String {
        match &self.model {
            Ok(m) => level_name(m.level).to_string(),
            Err(_) => "error".to_string(),
        }
    }

    /// Runs one client against this server: the outcome and what it means for mail.
    pub fn outcome(&self, client: &ClientProfile) -> (HandshakeOutcome, String) {
        let model = match &self.model {
            Ok(m) => m,
            Err(e) => {
                return (
                    HandshakeOutcome::failed(e.clone()),
                    MEANING_CONFIG_ERROR.to_string(),
                )
            }
        };
        let failure = failure_meaning(model.level);
        if model.level == ServerLevel::None {
            return (
                HandshakeOutcome::failed("TLS not offered (security level none)"),
                failure.to_string(),
            );
        }
        match &self.server {
            None => (
                HandshakeOutcome::failed(if model.wrappermode {
                    "TLS unavailable (no usable certificate or protocol)"
                } else {
                    "STARTTLS not offered (no usable certificate or protocol)"
                }),
                failure.to_string(),
            ),
            Some(server) => {
                let o = simulate(server, client);
                let meaning = if o.ok { MEANING_TLS } else { failure };
                (o, meaning.to_string())
            }
        }
    }

    /// A summary of what smtpd would hand to OpenSSL (the `server_before`/`server_after`
    /// objects of `simulate --format json`).
    pub fn summary(&self) -> ServerSummary<'_> {
        match &self.model {
            Err(e) => ServerSummary::Error {
                level: "error",
                error: e,
            },
            Ok(m) => ServerSummary::Model {
                level: level_name(m.level),
                level_source: &m.level_source,
                wrappermode: m.wrappermode,
                protocols_parameter: &m.protocols_parameter,
                protocols: &m.protocols,
                min_protocol: self
                    .server
                    .as_ref()
                    .and_then(|s| s.min_protocol)
                    .map(|p| p.name()),
                max_protocol: self
                    .server
                    .as_ref()
                    .and_then(|s| s.max_protocol)
                    .map(|p| p.name()),
                grade: &m.grade,
                cipher_string: &m.cipher_string,
                seclevel: self.server.as_ref().map(|s| s.seclevel),
                certificate: self.cert_label.as_deref(),
                notes: &self.notes,
            },
        }
    }
}

/// [`ServerSide::summary`].
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ServerSummary<'a> {
    /// Postfix would refuse the settings.
    Error {
        /// Always `error`.
        level: &'static str,
        /// Why.
        error: &'a str,
    },
    /// The modelled server.
    Model {
        /// `none`, `may`, `encrypt`.
        level: &'static str,
        /// The parameter that decided the level.
        level_source: &'a str,
        /// Implicit TLS.
        wrappermode: bool,
        /// The protocols parameter in effect.
        protocols_parameter: &'a str,
        /// Its value.
        protocols: &'a str,
        /// Lowest protocol offered.
        min_protocol: Option<&'static str>,
        /// Highest protocol offered.
        max_protocol: Option<&'static str>,
        /// Cipher grade.
        grade: &'a str,
        /// OpenSSL cipher string.
        cipher_string: &'a str,
        /// OpenSSL security level.
        seclevel: Option<u32>,
        /// Certificate file or stand-in.
        certificate: Option<&'a str>,
        /// Notes.
        notes: &'a [String],
    },
}

/// One service of `simulate --format json`.
#[derive(Debug, Serialize)]
pub struct ServiceJson<'a> {
    /// Scope.
    pub service: &'a str,
    /// The listener accepting the connection.
    pub listener: &'a str,
    /// Level with the current files.
    pub level_before: Option<String>,
    /// Level with the planned files.
    pub level_after: Option<String>,
    /// Current server model.
    pub server_before: Option<ServerSummary<'a>>,
    /// Planned server model.
    pub server_after: Option<ServerSummary<'a>>,
    /// One row per client profile.
    pub clients: &'a [ClientRow],
}

impl ServerSide {}

/// `none`, `may` or `encrypt`.
pub fn level_name(level: ServerLevel) -> &'static str {
    match level {
        ServerLevel::None => "none",
        ServerLevel::May => "may",
        ServerLevel::Encrypt => "encrypt",
    }
}

fn failure_meaning(level: ServerLevel) -> &'static str {
    match level {
        ServerLevel::None => FAILURE_NONE,
        ServerLevel::May => FAILURE_MAY,
        ServerLevel::Encrypt => FAILURE_ENCRYPT,
    }
}

fn key_label(k: &KeySpec) -> String {
    match k {
        KeySpec::Rsa(bits) => format!("RSA-{bits}"),
        KeySpec::Ec(curve) => format!("EC {curve}"),
    }
}

/// Models `scope` of a configuration as smtpd would configure it.
pub fn server_side(
    view: &ConfigView<'_>,
    scope: &str,
    baseline: &Baseline,
    version: pftls_policy::PostfixVersion,
) -> ServerSide {
    let resolver = view.resolver(scope);
    let tls_version = pftls_tls::PostfixVersion::new(version.major, version.minor);
    match pftls_tls::postfix_server_tls(&resolver, baseline, tls_version) {
        Err(e) => ServerSide {
            model: Err(e.to_string()),
            server: None,
            notes: Vec::new(),
            cert_label: None,
        },
        Ok(model) => {
            let mut notes = model.warnings.clone();
            let mut cert_label = None;
            let server = model.server.clone().map(|mut s| {
                let choice = usable_cert(&s.cert);
                s.cert = choice.spec;
                cert_label = Some(choice.label);
                notes.extend(choice.note);
                s
            });
            ServerSide {
                model: Ok(model),
                server,
                notes,
                cert_label,
            }
        }
    }
}

/// The certificate a simulation uses.
#[derive(Debug)]
pub struct CertChoice {
    /// What to hand to the simulator.
    pub spec: CertSpec,
    /// How the output names it.
    pub label: String,
    /// Why a stand-in is used, when one is.
    pub note: Option<String>,
}

/// The configured certificate when its files load; otherwise a stand-in key of the same
/// type and size as the certificate (when it is readable), else RSA-2048, with a note.
/// Only the key's type and size matter to a handshake, never its value.
pub fn usable_cert(spec: &CertSpec) -> CertChoice {
    let CertSpec::Files { cert, key } = spec else {
        return stand_in(spec_key(spec), None);
    };
    let err = match load_cert_spec(spec) {
        Ok(_) => {
            return CertChoice {
                spec: spec.clone(),
                label: cert.display().to_string(),
                note: None,
            }
        }
        // The I/O error names the path already in the note; keep only the reason.
        Err(pftls_tls::TlsError::Io { path, source }) => format!("{}: {source}", path.display()),
        Err(e) => e.to_string(),
    };
    let (k, note) = match key_spec_of_cert(cert) {
        Some(k) => {
            let note = format!(
                "certificate/key {} / {} cannot be used ({err}): simulated with a stand-in {} key, the certificate's type and size",
                cert.display(),
                key.display(),
                key_label(&k)
            );
            (k, note)
        }
        None => (
            KeySpec::Rsa(2048),
            format!(
                "certificate {} cannot be used ({err}): simulated with a stand-in RSA-2048 key",
                cert.display()
            ),
        ),
    };
    stand_in(k, Some(note))
}

fn spec_key(spec: &CertSpec) -> KeySpec {
    match spec {
        CertSpec::Generated(k) => k.clone(),
        CertSpec::Files { .. } => KeySpec::Rsa(2048),
    }
}

/// A stand-in for key `k`: a key of that type and size from the tls crate (RSA-2048 is a
/// built-in pair there, because generating an RSA key costs 0.1 to 1 s of CPU, more than the
/// whole matrix; EC keys are generated in microseconds).
fn stand_in(k: KeySpec, note: Option<String>) -> CertChoice {
    CertChoice {
        label: format!("stand-in {}", key_label(&k)),
        spec: CertSpec::Generated(k),
        note,
    }
}

/// The key type and size of the first certificate in a PEM file (None when unreadable or of
/// a type that cannot be generated, such as Ed25519).
fn key_spec_of_cert(path: &Path) -> Option<KeySpec> {
    let pem = pftls_safe_read::read(path, pftls_safe_read::Kind::Certificate).ok()?;
    let leaf = X509::stack_from_pem(&pem).ok()?.into_iter().next()?;
    let key = leaf.public_key().ok()?;
    match key.id() {
        Id::RSA => Some(KeySpec::Rsa(key.bits())),
        Id::EC => {
            let nid = key.ec_key().ok()?.group().curve_name()?;
            let name = match nid {
                Nid::X9_62_PRIME256V1 => "prime256v1",
                Nid::SECP384R1 => "secp384r1",
                Nid::SECP521R1 => "secp521r1",
                _ => return None,
            };
            Some(KeySpec::Ec(name.into()))
        }
        _ => None,
    }
}

/// One client against one service, before and (when planned) after.
#[derive(Debug, Clone, Serialize)]
pub struct ClientRow {
    /// Profile id.
    pub client: String,
    /// Profile display name.
    pub name: String,
    /// Outcome with the current configuration.
    pub before: HandshakeOutcome,
    /// Outcome with the planned configuration.
    pub after: Option<HandshakeOutcome>,
    /// What `before` means for mail.
    pub meaning_before: String,
    /// What `after` means for mail.
    pub meaning_after: Option<String>,
}

/// The matrix of one service.
#[derive(Debug, Clone)]
pub struct ServiceMatrix {
    /// The service.
    pub service: InboundService,
    /// Current server side (None when the service does not exist in the current files).
    pub before: Option<ServerSide>,
    /// Planned server side (None without a plan, or when the plan removes the service).
    pub after: Option<ServerSide>,
    /// One row per client profile.
    pub clients: Vec<ClientRow>,
}

/// The whole simulation.
#[derive(Debug, Clone)]
pub struct Matrix {
    /// Per inbound service.
    pub services: Vec<ServiceMatrix>,
    /// Whether an "after" configuration was simulated.
    pub planned: bool,
}

/// Parsed documents of one configuration.
pub struct Docs {
    /// main.cf.
    pub main: MainCf,
    /// master.cf.
    pub master: MasterCf,
}

impl Docs {
    /// Parses both files; errors name the file and line.
    pub fn parse(
        main: &[u8],
        master: &[u8],
        main_name: &str,
        master_name: &str,
    ) -> Result<Docs, HostError> {
        let m = MainCf::parse(main).map_err(|e| HostError::Parse {
            path: main_name.into(),
            line: e.line,
            message: format!("{}: \"{}\"", e.message, e.text),
        })?;
        let s = MasterCf::parse(master).map_err(|e| HostError::Parse {
            path: master_name.into(),
            line: e.line,
            message: format!("{}: \"{}\"", e.message, e.text),
        })?;
        Ok(Docs { main: m, master: s })
    }
}

/// Simulates every client against every inbound service of `before` and, when given, `after`.
pub fn simulate_configs(
    before: &Docs,
    after: Option<&Docs>,
    catalogue: &Catalogue,
    baseline: &Baseline,
    version: pftls_policy::PostfixVersion,
    clients: &[ClientProfile],
) -> Matrix {
    let view_before = ConfigView::new(&before.main, &before.master, catalogue);
    let view_after = after.map(|a| ConfigView::new(&a.main, &a.master, catalogue));
    let svc_before = inbound_tls_services(&before.master);
    let svc_after = after
        .map(|a| inbound_tls_services(&a.master))
        .unwrap_or_default();
    let mut services = svc_before.clone();
    for s in &svc_after {
        if !services.iter().any(|x| x.scope == s.scope) {
            services.push(s.clone());
        }
    }
    let mut out = Vec::new();
    for svc in services {
        let b = svc_before
            .iter()
            .any(|s| s.scope == svc.scope)
            .then(|| server_side(&view_before, &svc.scope, baseline, version));
        let a = match &view_after {
            Some(v) if svc_after.iter().any(|s| s.scope == svc.scope) => {
                Some(server_side(v, &svc.scope, baseline, version))
            }
            _ => None,
        };
        let rows = clients
            .iter()
            .map(|c| {
                let (before, meaning_before) = match &b {
                    Some(side) => side.outcome(c),
                    None => (
                        HandshakeOutcome::failed("service not defined"),
                        "no such service".to_string(),
                    ),
                };
                let (after, meaning_after) = match (&view_after, &a) {
                    (None, _) => (None, None),
                    (Some(_), Some(side)) => {
                        let (o, m) = side.outcome(c);
                        (Some(o), Some(m))
                    }
                    (Some(_), None) => (
                        Some(HandshakeOutcome::failed("service not defined")),
                        Some("no such service".to_string()),
                    ),
                };
                ClientRow {
                    client: c.id.clone(),
                    name: c.name.clone(),
                    before,
                    after,
                    meaning_before,
                    meaning_after,
                }
            })
            .collect();
        out.push(ServiceMatrix {
            service: svc,
            before: b,
            after: a,
            clients: rows,
        });
    }
    Matrix {
        services: out,
        planned: after.is_some(),
    }
}

impl Matrix {
    /// Notes of every server side, prefixed with the service, without duplicates.
    /// A note that holds for both configurations is given once, without a qualifier.
    pub fn notes(&self) -> Vec<String> {
        let mut notes: Vec<String> = Vec::new();
        for s in &self.services {
            let empty = Vec::new();
            let before = s.before.as_ref().map_or(&empty, |x| &x.notes);
            let after = s.after.as_ref().map_or(&empty, |x| &x.notes);
            let svc = s.service.describe();
            let mut push = |line: String| {
                if !notes.contains(&line) {
                    notes.push(line);
                }
            };
            for n in before {
                if !self.planned || after.contains(n) {
                    push(format!("{svc}: {n}"));
                } else {
                    push(format!("{svc} (current): {n}"));
                }
            }
            for n in after.iter().filter(|n| !before.contains(n)) {
                push(format!("{svc} (planned): {n}"));
            }
        }
        notes
    }

    /// The `services` array of `simulate --format json`.
    pub fn to_json(&self) -> Vec<ServiceJson<'_>> {
        self.services
            .iter()
            .map(|s| ServiceJson {
                service: &s.service.scope,
                listener: &s.service.listener,
                level_before: s.before.as_ref().map(ServerSide::level),
                level_after: s.after.as_ref().map(ServerSide::level),
                server_before: s.before.as_ref().map(ServerSide::summary),
                server_after: s.after.as_ref().map(ServerSide::summary),
                clients: &s.clients,
            })
            .collect()
    }
}

/// One row of the plan's `impact`: one client against one service, before and after.
#[derive(Debug, Clone, Serialize)]
pub struct ImpactRow {
    /// The service scope (`smtp/inet`).
    pub service: String,
    /// Profile id.
    pub client: String,
    /// Profile display name.
    pub name: String,
    /// Current configuration.
    pub before: HandshakeOutcome,
    /// Planned configuration.
    pub after: HandshakeOutcome,
    /// What `before` means for mail.
    pub meaning_before: String,
    /// What `after` means for mail.
    pub meaning_after: String,
}

/// The handshake impact of a plan: rows for the JSON, the matrix for the text.
#[derive(Debug, Clone)]
pub struct Impact {
    /// One row per service and client.
    pub rows: Vec<ImpactRow>,
    /// Notes (substituted certificates, settings Postfix ignores).
    pub notes: Vec<String>,
    /// The matrix the rows come from.
    pub matrix: Matrix,
}

/// The handshake impact of `plan`: every client profile against every inbound TLS service,
/// with the current and the planned files. `clients` is usually [`builtin_profiles`].
pub fn impact(
    plan: &Plan,
    env: &Environment,
    baseline: &Baseline,
    clients: &[ClientProfile],
) -> Result<Impact, HostError> {
    let before = Docs::parse(
        &plan.main_before,
        &plan.master_before,
        "main.cf",
        "master.cf",
    )?;
    let after = Docs::parse(
        &plan.main_after,
        &plan.master_after,
        "main.cf (planned)",
        "master.cf (planned)",
    )?;
    let matrix = simulate_configs(
        &before,
        Some(&after),
        &env.catalogue,
        baseline,
        env.version,
        clients,
    );
    let rows = matrix
        .services
        .iter()
        .flat_map(|s| {
            s.clients.iter().filter_map(|c| {
                Some(ImpactRow {
                    service: s.service.scope.clone(),
                    client: c.client.clone(),
                    name: c.name.clone(),
                    before: c.before.clone(),
                    after: c.after.clone()?,
                    meaning_before: c.meaning_before.clone(),
                    meaning_after: c.meaning_after.clone()?,
                })
            })
        })
        .collect();
    Ok(Impact {
        rows,
        notes: matrix.notes(),
        matrix,
    })
}
