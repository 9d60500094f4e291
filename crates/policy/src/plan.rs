//! The planner: (main.cf, master.cf, policies, environment) -> [`Plan`], the one type behind
//! `plan`, `apply --dry-run`, saved plans, `apply` and the JSON output.

use std::collections::BTreeMap;

use postfix_conf::{MainCf, MasterCf};
use serde::{Deserialize, Serialize};

use crate::catalogue::Catalogue;
use crate::policy::{Dynamic, Policy, PolicyErrors, PolicyValue};
use crate::validate::validate;
use crate::version::PostfixVersion;

/// What the planner needs to know about the target host.
#[derive(Debug, Clone)]
pub struct Environment {
    /// Target Postfix version (decides syntax and defaults).
    pub version: PostfixVersion,
    /// Known parameters and defaults of that version.
    pub catalogue: Catalogue,
    /// Facts from the system crypto-policy (or OpenSSL's defaults).
    pub crypto: CryptoFacts,
}

/// The parts of the system crypto-policy that dynamic values resolve from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CryptoFacts {
    /// Human description, e.g. "crypto-policies DEFAULT (/etc/crypto-policies)".
    pub source: String,
    /// The policy's minimum protocol, `TLSv1`, `TLSv1.2`, ...
    pub min_protocol: String,
    /// Postfix cipher exclusions for what the policy forbids (may be empty).
    pub exclusions: Vec<String>,
    /// `protocols` value in the target Postfix's syntax, e.g. `>=TLSv1.2`.
    pub protocols_value: String,
}

/// One parameter the plan changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamChange {
    /// `main` or `SERVICE/TYPE`.
    pub scope: String,
    /// Parameter name.
    pub name: String,
    /// Explicit value before (null when unset).
    pub before: Option<String>,
    /// Value after (null when removed).
    pub after: Option<String>,
    /// The policy that asked for it.
    pub policy: String,
}

/// A dynamic value and how it was resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// `main` or `SERVICE/TYPE`.
    pub scope: String,
    /// Parameter name.
    pub name: String,
    /// The resolved value (null: removed, nothing to exclude).
    pub value: Option<String>,
    /// Where it came from.
    pub why: String,
}

/// How one listener's effective TLS level changes with the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerChange {
    /// `SERVICE/TYPE`.
    pub listener: String,
    /// Its role (`mx`, `submission`, ...).
    pub role: String,
    /// Effective level before (`none`, `may`, `encrypt`, `wrappermode`).
    pub before: String,
    /// Effective level after.
    pub after: String,
    /// `policy` (an edit of this listener's own `-o`), `inheritance` (a main.cf change it
    /// inherits) or `pinned` (the planner kept its level with an explicit `-o`).
    pub cause: String,
}

/// The check of one policy expectation against one listener of the planned documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectationCheck {
    /// The policy stating it.
    pub policy: String,
    /// The role.
    pub role: String,
    /// `optional`, `required` or `keep`.
    pub tls: String,
    /// `SERVICE/TYPE` of the listener checked.
    pub listener: String,
    /// Whether it holds.
    pub holds: bool,
    /// The listener's effective level after the plan.
    pub level: String,
    /// `FILE:LINE` (of the planned document) of the value that decides the level, when set in
    /// a file.
    pub location: Option<String>,
    /// What was checked, in words.
    pub message: String,
}

/// The result of planning: the candidate bytes of both files and what changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Policy names, in merge order.
    pub policies: Vec<String>,
    /// Changed parameters, main.cf first, then services in key order.
    pub changes: Vec<ParamChange>,
    /// Dynamic values resolved at plan time.
    pub resolutions: Vec<Resolution>,
    /// Optional services that master.cf does not define (their settings were skipped).
    pub skipped_services: Vec<String>,
    /// Warnings for the reader.
    pub warnings: Vec<String>,
    /// Listeners whose effective TLS level changes (filled by the host planner).
    #[serde(default)]
    pub listener_changes: Vec<ListenerChange>,
    /// Policy expectations checked on the planned documents (filled by the host planner).
    #[serde(default)]
    pub expectations: Vec<ExpectationCheck>,
    /// main.cf before and after.
    #[serde(skip)]
    pub main_before: Vec<u8>,
    /// main.cf after.
    #[serde(skip)]
    pub main_after: Vec<u8>,
    /// master.cf before.
    #[serde(skip)]
    pub master_before: Vec<u8>,
    /// master.cf after.
    #[serde(skip)]
    pub master_after: Vec<u8>,
}

impl Plan {
    /// The expectations that do not hold.
    pub fn failed_expectations(&self) -> impl Iterator<Item = &ExpectationCheck> {
        self.expectations.iter().filter(|e| !e.holds)
    }

    /// True when a file would change.
    pub fn changed(&self) -> bool {
        self.main_before != self.main_after || self.master_before != self.master_after
    }
}

/// Why planning failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// main.cf or master.cf cannot be parsed (Postfix would refuse it too).
    #[error("{file}:{line}: {message}")]
    Parse {
        /// `main.cf` or `master.cf` (the caller prefixes the directory).
        file: String,
        /// 1-based line.
        line: usize,
        /// Postfix's wording.
        message: String,
    },
    /// Invalid policies.
    #[error("{0}")]
    Policy(PolicyErrors),
    /// Two policies set one parameter to different values.
    #[error("{0}")]
    Conflict(Box<Conflict>),
    /// An edit was refused (a value Postfix would read differently).
    #[error("cannot set {scope} {name}: {message}")]
    Edit {
        /// Scope.
        scope: String,
        /// Parameter.
        name: String,
        /// Why.
        message: String,
    },
    /// No policy given.
    #[error("no policy given (use -p NAME; see `pftls policies list`)")]
    NoPolicy,
}

/// Two policies that set one parameter to different values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "policies {first} and {second} conflict on {scope} {name}: {first_value} vs {second_value}"
)]
pub struct Conflict {
    /// Scope of the parameter.
    pub scope: String,
    /// Parameter name.
    pub name: String,
    /// First policy.
    pub first: String,
    /// Its value.
    pub first_value: String,
    /// Second policy.
    pub second: String,
    /// Its value.
    pub second_value: String,
}

/// Parses main.cf, mapping errors to [`PlanError::Parse`].
pub fn parse_main(bytes: &[u8]) -> Result<MainCf, PlanError> {
    MainCf::parse(bytes).map_err(|e| PlanError::Parse {
        file: "main.cf".into(),
        line: e.line,
        message: format!(
            "{}{}",
            e.message,
            pftls_safe_read::excerpt::quoted_line(bytes, e.line, &e.text)
        ),
    })
}

/// Parses master.cf, mapping errors to [`PlanError::Parse`].
pub fn parse_master(bytes: &[u8]) -> Result<MasterCf, PlanError> {
    MasterCf::parse(bytes).map_err(|e| PlanError::Parse {
        file: "master.cf".into(),
        line: e.line,
        message: format!(
            "{}{}",
            e.message,
            pftls_safe_read::excerpt::quoted_line(bytes, e.line, &e.text)
        ),
    })
}

/// Plans the merge of `policies` (in order) over the given files.
pub fn make_plan(
    main_bytes: &[u8],
    master_bytes: &[u8],
    policies: &[Policy],
    env: &Environment,
) -> Result<Plan, PlanError> {
    if policies.is_empty() {
        return Err(PlanError::NoPolicy);
    }
    let mut main = parse_main(main_bytes)?;
    let mut master = parse_master(master_bytes)?;

    let errors: Vec<_> = policies
        .iter()
        .flat_map(|p| validate(p, env, Some(&master)))
        .collect();
    if !errors.is_empty() {
        return Err(PlanError::Policy(PolicyErrors(errors)));
    }

    // Merge: (scope, name) -> (resolved value, policy). Conflicts are errors, equal values fine.
    let mut merged: BTreeMap<(String, String), (Option<String>, String)> = BTreeMap::new();
    let mut resolutions = Vec::new();
    let mut skipped = Vec::new();
    let defined: Vec<String> = master.services().iter().map(|s| s.key()).collect();
    let mut items: Vec<(String, &crate::policy::Setting, &Policy)> = Vec::new();
    for p in policies {
        for s in &p.main {
            items.push(("main".into(), s, p));
        }
        for svc in &p.services {
            if svc.optional && !defined.contains(&svc.key) {
                if !skipped.contains(&svc.key) {
                    skipped.push(svc.key.clone());
                }
                continue;
            }
            for s in &svc.settings {
                items.push((svc.key.clone(), s, p));
            }
        }
    }
    for (scope, s, p) in items {
        let value = match &s.value {
            PolicyValue::Set(v) => Some(v.clone()),
            PolicyValue::Remove => None,
            PolicyValue::Dynamic(d) => {
                let (value, why) = resolve(*d, env);
                resolutions.push(Resolution {
                    scope: scope.clone(),
                    name: s.name.clone(),
                    value: value.clone(),
                    why,
                });
                value
            }
        };
        let key = (scope.clone(), s.name.clone());
        if let Some((prev, prev_policy)) = merged.get(&key) {
            if *prev != value {
                return Err(PlanError::Conflict(Box::new(Conflict {
                    scope,
                    name: s.name.clone(),
                    first: prev_policy.clone(),
                    first_value: prev.clone().unwrap_or_else(|| "(remove)".into()),
                    second: p.name.clone(),
                    second_value: value.unwrap_or_else(|| "(remove)".into()),
                })));
            }
            continue;
        }
        merged.insert(key, (value, p.name.clone()));
    }

    let mut changes = Vec::new();
    let mut warnings = Vec::new();
    // main.cf first, in name order (BTreeMap), so appended entries come out sorted.
    let ordered = merged
        .iter()
        .filter(|((s, _), _)| s == "main")
        .chain(merged.iter().filter(|((s, _), _)| s != "main"));
    for ((scope, name), (value, policy)) in ordered {
        let (before, result) = if scope == "main" {
            let before = main.get(name).map(|e| e.value);
            let result = match value {
                Some(v) => main.set(name, v),
                None => Ok(main.remove(name)),
            };
            (before, result)
        } else {
            let before = master
                .service(scope)
                .and_then(|s| s.get_override(name))
                .map(|o| o.value);
            let result = match value {
                Some(v) => master.set_override(scope, name, v),
                None => master.remove_override(scope, name),
            };
            (before, result)
        };
        let changed = result.map_err(|e| PlanError::Edit {
            scope: scope.clone(),
            name: name.clone(),
            message: e.to_string(),
        })?;
        if changed {
            changes.push(ParamChange {
                scope: scope.clone(),
                name: name.clone(),
                before,
                after: value.clone(),
                policy: policy.clone(),
            });
        }
    }

    for w in main.warnings() {
        warnings.push(format!("main.cf:{}: {}", w.line, w.message));
    }
    for w in master.warnings() {
        warnings.push(format!("master.cf:{}: {}", w.line, w.message));
    }

    Ok(Plan {
        policies: policies.iter().map(|p| p.name.clone()).collect(),
        changes,
        resolutions,
        skipped_services: skipped,
        warnings,
        listener_changes: Vec::new(),
        expectations: Vec::new(),
        main_before: main_bytes.to_vec(),
        main_after: main.render(),
        master_before: master_bytes.to_vec(),
        master_after: master.render(),
    })
}

fn resolve(d: Dynamic, env: &Environment) -> (Option<String>, String) {
    match d {
        Dynamic::Protocols => (
            Some(env.crypto.protocols_value.clone()),
            format!(
                "minimum protocol {} of {}, in Postfix {} syntax",
                env.crypto.min_protocol,
                env.crypto.source,
                env.version.line()
            ),
        ),
        Dynamic::ExcludeCiphers => {
            if env.crypto.exclusions.is_empty() {
                (
                    None,
                    format!(
                        "{} forbids nothing that Postfix's medium grade enables",
                        env.crypto.source
                    ),
                )
            } else {
                (
                    Some(env.crypto.exclusions.join(", ")),
                    format!("ciphers that {} forbids", env.crypto.source),
                )
            }
        }
    }
}
