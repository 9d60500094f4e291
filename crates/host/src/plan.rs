//! The role-aware planner over a [`Host`]: policies → edit requests → applied edits, then the
//! proof of intent on the planned documents.
//!
//! 1. [`expand_roles`]: each `roles:` section becomes `-o` settings of every listener master.cf
//!    defines with that role (the topology decides; spelling of the port does not matter).
//! 2. [`pftls_policy::make_plan`] merges the literal settings and applies the edits.
//! 3. Pins: for `expect: ROLE: { tls: keep }`, a listener that required TLS and would lose it
//!    only by inheriting a main.cf change gets its previous level as an explicit `-o`.
//! 4. [`listener_changes`] lists every listener whose effective level changes (before → after,
//!    and why), and [`check_expectations`] checks every `expect:` entry on the planned
//!    documents, naming the file:line that defeats it.

use std::collections::BTreeSet;
use std::path::Path;

use pftls_policy::plan::{parse_main, parse_master};
use pftls_policy::policy::{PolicyValue, ServiceSettings, Setting};
use pftls_policy::{
    make_plan, Catalogue, ConfigView, Environment, ExpectationCheck, ListenerChange, Plan,
    PlanError, Policy, Role, Source, TlsExpectation,
};
use postfix_conf::ServiceKey;

use crate::topology::{Listener, Topology};
use crate::Host;

/// Plans `policies` over the host's current documents, with role expansion, pins, per-listener
/// changes and expectation checks.
pub fn plan(host: &Host, policies: &[Policy]) -> Result<Plan, PlanError> {
    plan_with_topology(
        &host.files.main,
        &host.files.master,
        &host.topology,
        policies,
        &host.environment(),
        (&host.files.main_path, &host.files.master_path),
    )
}

/// [`plan`] over documents given as bytes (`paths` name the files in locations).
pub fn plan_documents(
    main: &[u8],
    master: &[u8],
    policies: &[Policy],
    env: &Environment,
    paths: (&Path, &Path),
) -> Result<Plan, PlanError> {
    let m = parse_main(main)?;
    let s = parse_master(master)?;
    let topology = Topology::of(&ConfigView::new(&m, &s, &env.catalogue));
    plan_with_topology(main, master, &topology, policies, env, paths)
}

/// [`plan_documents`] with the topology of those bytes already known.
fn plan_with_topology(
    main: &[u8],
    master: &[u8],
    topology: &Topology,
    policies: &[Policy],
    env: &Environment,
    paths: (&Path, &Path),
) -> Result<Plan, PlanError> {
    let mut expanded: Vec<Policy> = policies.iter().map(|p| expand_roles(p, topology)).collect();
    let mut plan = make_plan(main, master, &expanded, env)?;
    let mut after = planned_topology(&plan, &env.catalogue)?;
    let pins = pins(&expanded, topology, &after, &plan);
    let pinned: BTreeSet<ServiceKey> = pins.iter().map(|(_, s)| s.clone()).collect();
    if !pins.is_empty() {
        for (idx, key) in &pins {
            pin_into(&mut expanded[*idx], topology, key);
        }
        plan = make_plan(main, master, &expanded, env)?;
        after = planned_topology(&plan, &env.catalogue)?;
    }
    plan.listener_changes = listener_changes(topology, &after, &plan, &pinned);
    plan.expectations = check_expectations(policies, topology, &after, paths);
    Ok(plan)
}

/// A copy of `policy` whose `roles:` sections are turned into optional service settings for
/// every listener of that role that master.cf defines.
pub fn expand_roles(policy: &Policy, topology: &Topology) -> Policy {
    let mut p = policy.clone();
    for r in &policy.roles {
        for l in topology.with_role(r.role).filter(|l| l.defined) {
            p.services.push(ServiceSettings {
                key: l.service.to_string(),
                optional: true,
                settings: r.settings.clone(),
                pos: r.pos,
            });
        }
    }
    p.roles.clear();
    p
}

/// The topology of the planned documents.
pub fn planned_topology(plan: &Plan, catalogue: &Catalogue) -> Result<Topology, PlanError> {
    let main = parse_main(&plan.main_after)?;
    let master = parse_master(&plan.master_after)?;
    Ok(Topology::of(&ConfigView::new(&main, &master, catalogue)))
}

/// The level parameter that pins a listener's previous TLS requirement.
fn pin_setting(l: &Listener) -> Option<(&'static str, String)> {
    let t = l.tls.as_ref()?;
    match (l.command.as_str(), t.level.as_str()) {
        (_, "wrappermode") => Some(("smtpd_tls_wrappermode", "yes".into())),
        ("postscreen", level) => Some(("postscreen_tls_security_level", level.to_string())),
        (_, level) => Some(("smtpd_tls_security_level", level.to_string())),
    }
}

/// (policy index, listener) for every listener a `keep` expectation must pin: it required TLS
/// before, does not after, and the plan did not edit its own level parameter (the loss comes
/// from inheritance, not from the policy's intent).
fn pins(
    policies: &[Policy],
    before: &Topology,
    after: &Topology,
    plan: &Plan,
) -> Vec<(usize, ServiceKey)> {
    let mut out: Vec<(usize, ServiceKey)> = Vec::new();
    for (idx, p) in policies.iter().enumerate() {
        for e in p.expect.iter().filter(|e| e.tls == TlsExpectation::Keep) {
            for b in before.with_role(e.role).filter(|l| l.defined) {
                let was = b.tls.as_ref().is_some_and(|t| t.mandatory);
                let now = after
                    .get(&b.service)
                    .and_then(|a| a.tls.as_ref())
                    .is_some_and(|t| t.mandatory);
                let Some((param, _)) = pin_setting(b) else {
                    continue;
                };
                let edited = plan
                    .changes
                    .iter()
                    .any(|c| c.scope == b.service.to_string() && c.name == param);
                if was && !now && !edited && !out.iter().any(|(_, k)| *k == b.service) {
                    out.push((idx, b.service.clone()));
                }
            }
        }
    }
    out
}

fn pin_into(policy: &mut Policy, before: &Topology, key: &ServiceKey) {
    let Some(l) = before.get(key) else { return };
    let Some((name, value)) = pin_setting(l) else {
        return;
    };
    // Pins come from a `keep` expectation of this role in this policy: point at it.
    let Some(pos) = policy
        .expect
        .iter()
        .find(|e| e.role == l.role)
        .map(|e| e.pos)
    else {
        return;
    };
    policy.services.push(ServiceSettings {
        key: key.to_string(),
        optional: true,
        settings: vec![Setting {
            name: name.to_string(),
            value: PolicyValue::Set(value),
            pos,
        }],
        pos,
    });
}

/// Every listener whose effective TLS level changes, and every pinned listener.
pub fn listener_changes(
    before: &Topology,
    after: &Topology,
    plan: &Plan,
    pinned: &BTreeSet<ServiceKey>,
) -> Vec<ListenerChange> {
    let mut out = Vec::new();
    for a in &after.listeners {
        let (Some(at), Some(bt)) = (
            a.tls.as_ref(),
            before.get(&a.service).and_then(|b| b.tls.as_ref()),
        ) else {
            continue;
        };
        let is_pinned = pinned.contains(&a.service);
        if at.level == bt.level && !is_pinned {
            continue;
        }
        let key = a.service.to_string();
        let cause = if is_pinned {
            "pinned"
        } else if plan.changes.iter().any(|c| c.scope == key) {
            "policy"
        } else {
            "inheritance"
        };
        out.push(ListenerChange {
            listener: key,
            role: a.role.keyword().into(),
            before: bt.level.clone(),
            after: at.level.clone(),
            cause: cause.into(),
        });
    }
    out
}

fn locate(source: &Source, paths: (&Path, &Path)) -> Option<String> {
    match source {
        Source::Main(l) => Some(format!("{}:{l}", paths.0.display())),
        Source::Master(l) => Some(format!("{}:{l}", paths.1.display())),
        _ => None,
    }
}

/// Checks every `expect:` entry of `policies` on the planned documents. Locations are lines of
/// the planned files (what will be on disk after apply).
pub fn check_expectations(
    policies: &[Policy],
    before: &Topology,
    after: &Topology,
    paths: (&Path, &Path),
) -> Vec<ExpectationCheck> {
    let mut out = Vec::new();
    for p in policies {
        for e in &p.expect {
            for l in after.with_role(e.role) {
                let Some(t) = &l.tls else { continue };
                let was = before
                    .get(&l.service)
                    .and_then(|b| b.tls.as_ref())
                    .is_some_and(|t| t.mandatory);
                let (holds, wanted) = match e.tls {
                    TlsExpectation::Optional => (!t.mandatory, "must not require TLS"),
                    TlsExpectation::Required => (t.mandatory, "must require TLS"),
                    TlsExpectation::Keep if was => (t.mandatory, "required TLS and must keep it"),
                    TlsExpectation::Keep => continue,
                };
                let location = locate(&t.source, paths);
                let at = location.clone().unwrap_or_else(|| t.source.to_string());
                let via = if t.via.is_empty() {
                    String::new()
                } else {
                    format!(", via {}", t.via.join(", "))
                };
                let deep = match (l.command.as_str(), l.deep_protocol_tests) {
                    ("postscreen", Some(false)) => {
                        " (postscreen's own TLS level; used once deep protocol tests are on)"
                    }
                    _ => "",
                };
                out.push(ExpectationCheck {
                    policy: p.name.clone(),
                    role: role_name(e.role),
                    tls: e.tls.keyword().into(),
                    listener: l.service.to_string(),
                    holds,
                    level: t.level.clone(),
                    location,
                    message: format!(
                        "{} listener {} {wanted}: it is at {} ({} from {at}{via}){deep}",
                        e.role, l.service, t.level, t.decided_by
                    ),
                });
            }
        }
    }
    out
}

fn role_name(r: Role) -> String {
    r.keyword().to_string()
}
