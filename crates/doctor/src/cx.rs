//! What every check needs: the effective configuration, the TLS server model per service,
//! which services listen on which ports, and drafts of findings that are merged when the
//! same setting affects several services.

use pftls_policy::{ConfigView, Source};
use pftls_tls::{postfix_server_tls, ServerTlsModel, TlsError};
use postfix_conf::Service;

use crate::finding::{severity_of, Finding};
use crate::DoctorInput;

/// The state shared by the checks of one diagnosis.
pub(crate) struct Cx<'a> {
    /// The input.
    pub input: &'a DoctorInput<'a>,
    /// Effective values with provenance.
    pub view: ConfigView<'a>,
    /// The target version as the TLS crate spells it.
    pub tls_version: pftls_tls::PostfixVersion,
}

impl<'a> Cx<'a> {
    /// Builds the shared state.
    pub fn new(input: &'a DoctorInput<'a>) -> Self {
        Cx {
            input,
            view: ConfigView::new(input.main, input.master, input.catalogue),
            tls_version: pftls_tls::PostfixVersion::new(input.version.major, input.version.minor),
        }
    }

    /// The expanded effective value of `name` in `scope` (raw value when expansion fails).
    pub fn value(&self, scope: &str, name: &str) -> String {
        self.view
            .expanded(scope, name)
            .unwrap_or_else(|_| self.view.value(scope, name).value)
    }

    /// Where the effective value of `name` in `scope` comes from.
    pub fn source(&self, scope: &str, name: &str) -> Source {
        self.view.value(scope, name).source
    }

    /// `main.cf:LINE` / `master.cf:LINE` of the effective value; None for defaults.
    pub fn loc(&self, scope: &str, name: &str) -> Option<String> {
        location(&self.source(scope, name))
    }

    /// smtpd's TLS server settings for `scope`.
    pub fn model(&self, scope: &str) -> Result<ServerTlsModel, TlsError> {
        let resolver = self.view.resolver(scope);
        postfix_server_tls(&resolver, self.input.baseline, self.tls_version)
    }

    /// master.cf services, last definition of each key only, in file order.
    pub fn services(&self) -> Vec<Service> {
        self.view.effective_services()
    }

    /// The scopes whose smtpd talks TLS to senders on port 25 (see
    /// [`pftls_policy::inbound_tls_services`]); `main` when master.cf defines no service at all
    /// (Postfix's stock master.cf runs smtpd on port 25).
    pub fn port25_scopes(&self) -> Vec<Port25> {
        self.view
            .inbound_tls_services()
            .into_iter()
            .filter(|s| s.scope == "main" || s.listens_on(&["smtp", "25"]))
            .collect()
    }

    /// Every smtpd service that takes mail from the network (inet and pass), or `main` when
    /// master.cf is empty.
    pub fn smtpd_scopes(&self) -> Vec<String> {
        let services = self.services();
        if services.is_empty() {
            return vec!["main".into()];
        }
        services
            .iter()
            .filter(|s| s.command == "smtpd" && matches!(s.kind.as_str(), "inet" | "pass"))
            .map(Service::key)
            .collect()
    }
}

/// A port-25 smtpd scope and the listener in front of it.
pub(crate) type Port25 = pftls_policy::InboundService;

/// `main.cf:LINE` / `master.cf:LINE`; None for defaults and unset parameters.
pub(crate) fn location(source: &Source) -> Option<String> {
    match source {
        Source::Main(_) | Source::Master(_) => Some(source.to_string()),
        Source::Default | Source::Unset => None,
    }
}

pub(crate) use pftls_policy::effective::is_port;

/// A Postfix boolean, as `yes`/`true`/`1`.
pub(crate) fn is_yes(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "yes" | "true" | "1")
}

/// A finding under construction. `{scopes}` in the message is replaced by the services
/// the finding applies to once drafts with the same id and subject are merged.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub id: &'static str,
    pub message: String,
    pub location: Option<String>,
    pub fix: String,
    pub policy: Option<&'static str>,
    pub subject: String,
    pub scopes: Vec<String>,
}

impl Draft {
    /// A draft with no scopes.
    pub fn new(
        id: &'static str,
        subject: impl Into<String>,
        location: Option<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Draft {
            id,
            message: message.into(),
            location,
            fix: fix.into(),
            policy: None,
            subject: subject.into(),
            scopes: Vec::new(),
        }
    }

    /// Names the policy that fixes it.
    pub fn policy(mut self, policy: &'static str) -> Self {
        self.policy = Some(policy);
        self
    }

    /// Adds a scope the finding applies to.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.push(scope.into());
        self
    }
}

/// Merges drafts with the same id and subject (their scopes are joined) into findings.
pub(crate) fn finish(drafts: Vec<Draft>) -> Vec<Finding> {
    let mut merged: Vec<Draft> = Vec::new();
    for d in drafts {
        match merged
            .iter_mut()
            .find(|m| m.id == d.id && m.subject == d.subject)
        {
            Some(m) => {
                for s in d.scopes {
                    if !m.scopes.contains(&s) {
                        m.scopes.push(s);
                    }
                }
            }
            None => merged.push(d),
        }
    }
    merged
        .into_iter()
        .map(|d| Finding {
            id: d.id.to_string(),
            severity: severity_of(d.id),
            message: d.message.replace("{scopes}", &d.scopes.join(", ")),
            location: d.location,
            fix: d.fix.replace("{scopes}", &d.scopes.join(", ")),
            policy: d.policy.map(str::to_string),
            subject: d.subject,
        })
        .collect()
}

/// A master.cf override rendered as the text to remove: `-o name=value`.
pub(crate) fn override_text(name: &str, value: &str) -> String {
    format!("-o {name}={value}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports() {
        assert!(is_port("smtp", &["smtp", "25"]));
        assert!(is_port("127.0.0.1:25", &["smtp", "25"]));
        assert!(is_port("[::1]:smtp", &["smtp", "25"]));
        assert!(!is_port("submission", &["smtp", "25"]));
        assert_eq!(pftls_policy::effective::port_of("[::1]:465"), "465");
    }

    #[test]
    fn drafts_merge_scopes() {
        let a = Draft::new(
            crate::finding::ids::LOGLEVEL_ZERO,
            "s",
            None,
            "in {scopes}",
            "x",
        )
        .scope("a/inet");
        let b = Draft::new(
            crate::finding::ids::LOGLEVEL_ZERO,
            "s",
            None,
            "in {scopes}",
            "x",
        )
        .scope("b/inet");
        let f = finish(vec![a, b]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].message, "in a/inet, b/inet");
    }
}
