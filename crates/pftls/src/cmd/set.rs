//! `pftls set`: `postconf -e` / `-P` / `-X` with apply's safety net.
//!
//! The assignments become one in-memory policy, which then goes through exactly the path of
//! `pftls apply -p`: the same validation (catalogue, value grammar, master.cf services), plan,
//! diff, dry run, snapshot, atomic compare-and-swap write, reload, rollback and JSON report.
//! There is no second write path.

use std::path::PathBuf;

use clap::Args;
use pftls_policy::policy::Origin;
use pftls_policy::{parse_policy, Policy};

use crate::cli::{ApplyArgs, PolicyArgs, WriteArgs};
use crate::context::Ctx;
use crate::error::{CliError, CliResult};

/// The name the in-memory policy carries (in reports and snapshot manifests).
pub const POLICY_NAME: &str = "set";

/// How errors name the assignments' "file".
const ORIGIN: &str = "command line";

/// `set` options.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// Parameters to set, as postconf -e takes them (NAME=VALUE; spaces around = are dropped).
    #[arg(value_name = "NAME=VALUE")]
    pub assignments: Vec<String>,
    /// Edit the -o overrides of this master.cf service (SERVICE/TYPE, e.g. submission/inet)
    /// instead of main.cf, as postconf -P does.
    #[arg(short = 's', long = "service", value_name = "SERVICE/TYPE")]
    pub service: Option<String>,
    /// Remove a parameter from main.cf (or the -o override with -s), as postconf -X does; the
    /// default (or main.cf's value, for a service) applies again. Repeatable.
    #[arg(long = "unset", value_name = "NAME")]
    pub unset: Vec<String>,
    /// Print exactly what would be done and write nothing anywhere.
    #[arg(long)]
    pub dry_run: bool,
    /// Skip the analysis (handshake impact matrix and doctor findings fixed/introduced).
    #[arg(long)]
    pub no_impact: bool,
    /// Reload, retention and locking.
    #[command(flatten)]
    pub write: WriteArgs,
}

/// One requested edit.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Edit {
    name: String,
    /// None removes.
    value: Option<String>,
}

/// `pftls set`.
pub fn run(ctx: &Ctx, args: &SetArgs) -> CliResult<i32> {
    let edits = parse_edits(args)?;
    if let Some(svc) = &args.service {
        check_service_key(svc)?;
    }
    let policy = build_policy(&edits, args.service.as_deref())?;
    let apply = ApplyArgs {
        policy: PolicyArgs {
            policies: Vec::new(),
            no_impact: args.no_impact,
        },
        dry_run: args.dry_run,
        write: args.write.clone(),
        ..Default::default()
    };
    crate::cmd::apply::run_apply_with(ctx, &apply, Some(std::slice::from_ref(&policy)))
        .map_err(without_generated_positions)
}

/// Errors about the in-memory policy carry positions in its generated text, which mean nothing
/// to the user: they are dropped (each message names the parameter or service itself).
fn without_generated_positions(mut e: CliError) -> CliError {
    if e.file.as_deref() != Some(ORIGIN) {
        return e;
    }
    let prefix = format!("{ORIGIN}:");
    e.message = e
        .message
        .lines()
        .map(|l| match l.strip_prefix(&prefix) {
            // "LINE:COLUMN: message"
            Some(rest) => rest.splitn(3, ':').nth(2).unwrap_or(rest).trim_start(),
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    e.file = None;
    e.line = None;
    e
}

/// Parses the assignments and removals; malformed ones are usage errors.
fn parse_edits(args: &SetArgs) -> CliResult<Vec<Edit>> {
    if args.assignments.is_empty() && args.unset.is_empty() {
        return Err(CliError::usage(
            "set needs NAME=VALUE or --unset NAME (e.g. pftls set smtpd_tls_security_level=may)",
        ));
    }
    let mut edits: Vec<Edit> = Vec::new();
    for a in &args.assignments {
        let Some((name, value)) = a.split_once('=') else {
            return Err(CliError::usage(format!(
                "{a:?} is not NAME=VALUE (to remove a parameter use --unset {a})"
            )));
        };
        push(
            &mut edits,
            Edit {
                name: check_name(name.trim())?,
                value: Some(value.trim().to_string()),
            },
        )?;
    }
    for n in &args.unset {
        push(
            &mut edits,
            Edit {
                name: check_name(n.trim())?,
                value: None,
            },
        )?;
    }
    Ok(edits)
}

/// Adds an edit; the same parameter twice is fine with the same value, a usage error otherwise.
fn push(edits: &mut Vec<Edit>, e: Edit) -> CliResult<()> {
    match edits.iter().find(|x| x.name == e.name) {
        Some(prev) if *prev == e => Ok(()),
        Some(prev) => Err(CliError::usage(format!(
            "{} is given twice with different values ({} and {})",
            e.name,
            describe(&prev.value),
            describe(&e.value)
        ))),
        None => {
            edits.push(e);
            Ok(())
        }
    }
}

fn describe(v: &Option<String>) -> String {
    match v {
        Some(v) => format!("{v:?}"),
        None => "--unset".into(),
    }
}

/// Parameter names are letters, digits and `_` (postconf(5)); anything else is a usage error.
fn check_name(name: &str) -> CliResult<String> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(CliError::usage(format!(
            "{name:?} is not a Postfix parameter name (letters, digits and '_')"
        )));
    }
    Ok(name.to_string())
}

/// `-s` takes SERVICE/TYPE; the catalogue-level checks (type, defined in master.cf) are the
/// policy validator's.
fn check_service_key(svc: &str) -> CliResult<()> {
    match svc.rsplit_once('/') {
        Some((name, kind)) if !name.is_empty() && !kind.is_empty() => Ok(()),
        _ => Err(CliError::usage(format!(
            "-s {svc:?}: expected SERVICE/TYPE as in master.cf, e.g. submission/inet"
        ))),
    }
}

/// The policy text: JSON, which is YAML, so that the policy parser reads it like any policy
/// file, with one line per edit in the order given (new parameters are appended in that order).
fn policy_text(edits: &[Edit], service: Option<&str>) -> String {
    let q = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let body: Vec<String> = edits
        .iter()
        .map(|e| {
            let v = e.value.as_deref().map_or_else(|| "null".to_string(), q);
            format!("    {}: {v}", q(&e.name))
        })
        .collect();
    let body = body.join(",\n");
    let section = match service {
        None => format!("  \"main\": {{\n{body}\n  }}"),
        Some(svc) => format!("  \"services\": {{\n   {}: {{\n{body}\n   }}\n  }}", q(svc)),
    };
    format!(
        "{{\n  \"name\": {},\n  \"description\": \"Edits given to pftls set on the command line.\",\n{section}\n}}\n",
        q(POLICY_NAME)
    )
}

/// Builds the in-memory policy; a structural error (none is expected from our own text) is
/// reported like a policy error.
fn build_policy(edits: &[Edit], service: Option<&str>) -> CliResult<Policy> {
    let text = policy_text(edits, service);
    parse_policy(&text, Origin::File(PathBuf::from(ORIGIN)), None).map_err(|errs| {
        let mut e = CliError::new("policy", errs.to_string());
        e.file = Some(ORIGIN.to_string());
        e
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edits(a: &[&str], unset: &[&str]) -> CliResult<Vec<Edit>> {
        parse_edits(&SetArgs {
            assignments: a.iter().map(|s| s.to_string()).collect(),
            service: None,
            unset: unset.iter().map(|s| s.to_string()).collect(),
            dry_run: false,
            no_impact: false,
            write: WriteArgs {
                reload: false,
                reload_command: None,
                keep: None,
                lock_timeout: 1,
            },
        })
    }

    #[test]
    fn parses_and_rejects() {
        let e = edits(&["a_b = x y", "c="], &["d"]).unwrap();
        assert_eq!(e[0].value.as_deref(), Some("x y"));
        assert_eq!(e[1].value.as_deref(), Some(""));
        assert_eq!(e[2].value, None);
        for bad in [&["novalue"][..], &["=x"], &["a-b=c"]] {
            assert_eq!(edits(bad, &[]).unwrap_err().exit, 64);
        }
        assert_eq!(edits(&["a=1", "a=2"], &[]).unwrap_err().exit, 64);
        assert_eq!(edits(&["a=1"], &["a"]).unwrap_err().exit, 64);
        assert!(edits(&["a=1", "a=1"], &[]).is_ok());
        assert_eq!(edits(&[], &[]).unwrap_err().exit, 64);
    }

    #[test]
    fn text_is_a_policy_with_values_verbatim() {
        let e = vec![
            Edit {
                name: "smtpd_tls_cert_file".into(),
                value: Some("/etc/a \"b\"\\c: #d".into()),
            },
            Edit {
                name: "smtpd_tls_key_file".into(),
                value: None,
            },
        ];
        let p = build_policy(&e, Some("submission/inet")).unwrap();
        assert_eq!(p.name, POLICY_NAME);
        assert_eq!(p.services.len(), 1);
        assert_eq!(p.services[0].key, "submission/inet");
        let s = &p.services[0].settings;
        assert_eq!(
            s[0].value,
            pftls_policy::policy::PolicyValue::Set("/etc/a \"b\"\\c: #d".into())
        );
        assert_eq!(s[1].value, pftls_policy::policy::PolicyValue::Remove);
        let m = build_policy(&e[..1], None).unwrap();
        assert_eq!(m.main.len(), 1);
    }
}
