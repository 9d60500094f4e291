//! Policy validation against the target Postfix: parameter names (with "did you mean"), values,
//! dynamic values, the version requirement and the services master.cf defines.

use postfix_conf::MasterCf;

use crate::plan::Environment;
use crate::policy::{Dynamic, Policy, PolicyError, PolicyValue, Setting};
use crate::values::check_value;

/// Unknown parameters that get a "did you mean" hint.
const MAX_SUGGESTIONS: usize = 20;

const SERVICE_TYPES: &[&str] = &["inet", "unix", "unix-dgram", "fifo", "pass"];

/// Every problem of `policy` for this environment. `master` is the target's master.cf; without
/// it, the existence of services is not checked (e.g. `policies check` with no config).
pub fn validate(policy: &Policy, env: &Environment, master: Option<&MasterCf>) -> Vec<PolicyError> {
    let file = policy.file_name();
    let mut errors = Vec::new();
    // Per-service names (<service>_destination_recipient_limit, ...) exist for the services of
    // the master.cf at hand; the built-in catalogue does not store them.
    let with_services;
    let env = match master {
        Some(m) => {
            with_services = Environment {
                catalogue: env.catalogue.with_master(m),
                ..env.clone()
            };
            &with_services
        }
        None => env,
    };
    if let Some(req) = &policy.requires_postfix {
        if !req.matches(env.version) {
            errors.push(PolicyError::at(
                &file,
                crate::locate::locate_or_parent(&policy.text, &["requires_postfix"]),
                format!(
                    "policy {} requires Postfix {req}; the target is {}",
                    policy.name, env.version
                ),
            ));
        }
    }
    for s in &policy.main {
        check_setting(&file, s, env, &mut errors);
    }
    let defined: Option<Vec<String>> =
        master.map(|m| m.services().iter().map(|s| s.key()).collect());
    for svc in &policy.services {
        let Some((name, kind)) = svc.key.rsplit_once('/') else {
            errors.push(PolicyError::at(
                &file,
                svc.pos,
                format!(
                    "service key {:?} must be SERVICE/TYPE, e.g. submission/inet",
                    svc.key
                ),
            ));
            continue;
        };
        if name.is_empty() || !SERVICE_TYPES.contains(&kind) {
            errors.push(PolicyError::at(
                &file,
                svc.pos,
                format!(
                    "service key {:?}: type must be one of {}",
                    svc.key,
                    SERVICE_TYPES.join(", ")
                ),
            ));
            continue;
        }
        if let Some(defined) = &defined {
            if !svc.optional && !defined.contains(&svc.key) {
                let inet: Vec<&str> = defined
                    .iter()
                    .filter(|k| k.ends_with("/inet"))
                    .map(String::as_str)
                    .collect();
                let known = if inet.is_empty() {
                    "no inet services".to_string()
                } else {
                    format!("inet services: {}", inet.join(", "))
                };
                errors.push(PolicyError::at(
                    &file,
                    svc.pos,
                    format!("master.cf does not define service {:?} ({known}); use optional_services to apply only where it exists", svc.key),
                ));
            }
        }
        for s in &svc.settings {
            check_setting(&file, s, env, &mut errors);
        }
    }
    for r in &policy.roles {
        for s in &r.settings {
            check_setting(&file, s, env, &mut errors);
        }
    }
    errors
}

fn check_setting(file: &str, s: &Setting, env: &Environment, errors: &mut Vec<PolicyError>) {
    if !env.catalogue.is_known(&s.name) {
        // A suggestion costs a scan of the catalogue: only the first few errors get one, so
        // that a policy with thousands of unknown names is answered at once.
        let hint = if errors.len() < MAX_SUGGESTIONS {
            env.catalogue
                .suggest(&s.name)
                .map(|n| format!(" (did you mean {n:?}?)"))
                .unwrap_or_default()
        } else {
            String::new()
        };
        errors.push(PolicyError::at(
            file,
            s.pos,
            format!(
                "unknown Postfix parameter {:?} for Postfix {}{hint}",
                s.name, env.version
            ),
        ));
        return;
    }
    match &s.value {
        PolicyValue::Set(v) => {
            if v.trim() != v {
                errors.push(PolicyError::at(file, s.pos, format!("{}: value {v:?} has leading or trailing whitespace, which Postfix would drop", s.name)));
            } else if v.starts_with('#') {
                errors.push(PolicyError::at(
                    file,
                    s.pos,
                    format!(
                        "{}: a value starting with '#' reads like a comment; refused",
                        s.name
                    ),
                ));
            } else if let Err(msg) = check_value(&s.name, v, &env.catalogue, env.version) {
                errors.push(PolicyError::at(file, s.pos, format!("{}: {msg}", s.name)));
            }
        }
        PolicyValue::Remove => {}
        PolicyValue::Dynamic(d) => {
            let ok = match d {
                Dynamic::Protocols => {
                    s.name.ends_with("_tls_protocols")
                        || s.name.ends_with("_tls_mandatory_protocols")
                }
                Dynamic::ExcludeCiphers => {
                    s.name.ends_with("_tls_exclude_ciphers")
                        || s.name.ends_with("_tls_mandatory_exclude_ciphers")
                }
            };
            if !ok {
                errors.push(PolicyError::at(
                    file,
                    s.pos,
                    format!(
                        "{}: {{ crypto_policy: {} }} does not apply to this parameter",
                        s.name,
                        d.keyword()
                    ),
                ));
            }
        }
    }
}
