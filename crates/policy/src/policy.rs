//! The policy model and its loading from YAML (built-in, policy directories, or a path).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use crate::locate::{Locator, Pos};
use crate::role::Role;
use crate::version::VersionReq;

include!(concat!(env!("OUT_DIR"), "/builtin_policies.rs"));

/// Where a policy was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Compiled into the binary from the repository's `policies/`.
    BuiltIn,
    /// A YAML file.
    File(PathBuf),
}

impl Origin {
    /// How errors name the policy's file.
    pub fn display_name(&self, name: &str) -> String {
        match self {
            Origin::BuiltIn => format!("<built-in>/{name}.yaml"),
            Origin::File(p) => p.display().to_string(),
        }
    }
}

/// A value a policy gives a parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyValue {
    /// Set to this Postfix value.
    Set(String),
    /// Remove the parameter or override (Postfix's default, or main.cf's value, applies).
    Remove,
    /// Resolved at plan time from the environment.
    Dynamic(Dynamic),
}

/// Values that depend on the host: the system crypto-policy and the target Postfix version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dynamic {
    /// `{ crypto_policy: protocols }`: the policy's minimum protocol, in the syntax of the target
    /// Postfix version (`>=TLSv1.2` from 3.6, `!SSLv2, !SSLv3, ...` before).
    Protocols,
    /// `{ crypto_policy: exclude_ciphers }`: exclusions for what the crypto-policy forbids
    /// (e.g. `kRSA` under FUTURE and FIPS); removes the parameter when nothing is forbidden.
    ExcludeCiphers,
}

impl Dynamic {
    /// The YAML spelling.
    pub fn keyword(&self) -> &'static str {
        match self {
            Dynamic::Protocols => "protocols",
            Dynamic::ExcludeCiphers => "exclude_ciphers",
        }
    }
}

impl fmt::Display for PolicyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyValue::Set(v) => f.write_str(v),
            PolicyValue::Remove => f.write_str("(removed)"),
            PolicyValue::Dynamic(d) => write!(f, "{{ crypto_policy: {} }}", d.keyword()),
        }
    }
}

/// One parameter setting of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// Postfix parameter name.
    pub name: String,
    /// What to do with it.
    pub value: PolicyValue,
    /// Where the key stands in the policy file.
    pub pos: Pos,
}

/// The `-o` overrides a policy sets on one master.cf service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSettings {
    /// `SERVICE/TYPE`, e.g. `submission/inet`.
    pub key: String,
    /// From `optional_services`: applied only when master.cf defines the service.
    pub optional: bool,
    /// The overrides.
    pub settings: Vec<Setting>,
    /// Where the service key stands in the policy file.
    pub pos: Pos,
}

/// The `-o` overrides a policy sets on every master.cf listener of one role (only where
/// master.cf defines such a listener; the host topology decides the role).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSettings {
    /// The role addressed.
    pub role: Role,
    /// The overrides.
    pub settings: Vec<Setting>,
    /// Where the role key stands in the policy file.
    pub pos: Pos,
}

/// What a policy requires of a role's TLS after the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsExpectation {
    /// No listener of the role requires TLS (RFC 3207 section 4 for a public MX).
    Optional,
    /// Every listener of the role requires TLS.
    Required,
    /// Every listener of the role that required TLS before still does; the planner pins the
    /// previous level with an explicit `-o` where a main.cf change would otherwise lower it.
    Keep,
}

impl TlsExpectation {
    /// The YAML spelling.
    pub fn keyword(&self) -> &'static str {
        match self {
            TlsExpectation::Optional => "optional",
            TlsExpectation::Required => "required",
            TlsExpectation::Keep => "keep",
        }
    }
}

/// One `expect:` entry: a role and what must hold for its listeners after the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    /// The role.
    pub role: Role,
    /// Its TLS requirement.
    pub tls: TlsExpectation,
    /// Where the entry stands in the policy file.
    pub pos: Pos,
}

/// A parsed (not yet validated) policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Unique name, equal to the file name without `.yaml`.
    pub name: String,
    /// What it changes and why.
    pub description: String,
    /// Postfix versions it supports.
    pub requires_postfix: Option<VersionReq>,
    /// main.cf settings, in file order.
    pub main: Vec<Setting>,
    /// master.cf overrides per service, in file order.
    pub services: Vec<ServiceSettings>,
    /// master.cf overrides per listener role, in file order.
    pub roles: Vec<RoleSettings>,
    /// What must hold after the change, per role.
    pub expect: Vec<Expectation>,
    /// Where it came from.
    pub origin: Origin,
    /// The YAML source.
    pub text: String,
}

impl Policy {
    /// The file name errors should show.
    pub fn file_name(&self) -> String {
        self.origin.display_name(&self.name)
    }
}

/// An error in a policy, with its file, line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct PolicyError {
    /// The policy file (or `<built-in>/NAME.yaml`).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl PolicyError {
    pub(crate) fn at(file: &str, pos: Pos, message: impl Into<String>) -> Self {
        PolicyError {
            file: file.to_string(),
            line: pos.line,
            column: pos.column,
            message: message.into(),
        }
    }
}

/// Several policy errors, reported together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct PolicyErrors(pub Vec<PolicyError>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    name: String,
    description: String,
    #[serde(default)]
    requires_postfix: Option<String>,
    #[serde(default)]
    main: Option<Mapping>,
    #[serde(default)]
    services: Option<Mapping>,
    #[serde(default)]
    optional_services: Option<Mapping>,
    #[serde(default)]
    roles: Option<Mapping>,
    #[serde(default)]
    expect: Option<Mapping>,
}

/// Parses a policy from YAML text. Structural errors (YAML syntax, unknown top-level keys, wrong
/// shapes) are reported here with positions; parameter names and values are checked by
/// [`crate::validate::validate`].
pub fn parse_policy(
    text: &str,
    origin: Origin,
    expected_name: Option<&str>,
) -> Result<Policy, PolicyErrors> {
    let file = origin.display_name(expected_name.unwrap_or("policy"));
    crate::limits::check(text, &file)?;
    let raw: RawPolicy = serde_yaml::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((1, 1));
        PolicyErrors(vec![PolicyError {
            file: file.clone(),
            line,
            column,
            message: crate::limits::yaml_message(&e.to_string()),
        }])
    })?;
    let loc = Locator::new(text);
    let file = origin.display_name(&raw.name);
    let mut errors = Vec::new();
    if let Some(expected) = expected_name {
        if raw.name != expected {
            errors.push(PolicyError::at(
                &file,
                loc.locate_or_parent(&["name"]),
                format!(
                    "policy name {:?} must equal the file name without .yaml ({expected:?})",
                    raw.name
                ),
            ));
        }
    }
    if raw.name.is_empty()
        || !raw
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        errors.push(PolicyError::at(
            &file,
            loc.locate_or_parent(&["name"]),
            format!(
                "policy name {:?} must be non-empty and use only letters, digits, '-' and '_'",
                raw.name
            ),
        ));
    }
    let requires_postfix = match raw.requires_postfix.as_deref().map(VersionReq::parse) {
        None => None,
        Some(Ok(r)) => Some(r),
        Some(Err(e)) => {
            errors.push(PolicyError::at(
                &file,
                loc.locate_or_parent(&["requires_postfix"]),
                e.to_string(),
            ));
            None
        }
    };
    let main = match &raw.main {
        Some(m) => settings(&loc, &file, &["main"], m, &mut errors),
        None => Vec::new(),
    };
    let mut services = Vec::new();
    for (section, optional) in [("services", false), ("optional_services", true)] {
        let map = if optional {
            &raw.optional_services
        } else {
            &raw.services
        };
        let Some(map) = map else { continue };
        for (k, v) in map {
            let Some(key) = k.as_str() else {
                errors.push(PolicyError::at(
                    &file,
                    loc.locate_or_parent(&[section]),
                    "service keys must be strings like \"submission/inet\"",
                ));
                continue;
            };
            let pos = loc.locate_or_parent(&[section, key]);
            let Value::Mapping(m) = v else {
                errors.push(PolicyError::at(
                    &file,
                    pos,
                    format!("{section}.{key} must be a mapping of parameter: value"),
                ));
                continue;
            };
            let settings = settings(&loc, &file, &[section, key], m, &mut errors);
            services.push(ServiceSettings {
                key: key.to_string(),
                optional,
                settings,
                pos,
            });
        }
    }
    let roles = match &raw.roles {
        Some(m) => role_settings(&loc, &file, m, &mut errors),
        None => Vec::new(),
    };
    let expect = match &raw.expect {
        Some(m) => expectations(&loc, &file, m, &mut errors),
        None => Vec::new(),
    };
    if !errors.is_empty() {
        return Err(PolicyErrors(errors));
    }
    Ok(Policy {
        name: raw.name,
        description: raw.description,
        requires_postfix,
        main,
        services,
        roles,
        expect,
        origin,
        text: text.to_string(),
    })
}

/// The role key of a `roles:` / `expect:` entry, or an error at its position.
fn role_key(
    loc: &Locator,
    file: &str,
    section: &str,
    k: &Value,
    errors: &mut Vec<PolicyError>,
) -> Option<(Role, Pos)> {
    let Some(key) = k.as_str() else {
        errors.push(PolicyError::at(
            file,
            loc.locate_or_parent(&[section]),
            "role keys must be strings: mx, submission, submissions, internal or other",
        ));
        return None;
    };
    let pos = loc.locate_or_parent(&[section, key]);
    match key.parse::<Role>() {
        Ok(r) => Some((r, pos)),
        Err(e) => {
            errors.push(PolicyError::at(file, pos, format!("{section}: {e}")));
            None
        }
    }
}

fn role_settings(
    loc: &Locator,
    file: &str,
    map: &Mapping,
    errors: &mut Vec<PolicyError>,
) -> Vec<RoleSettings> {
    let mut out = Vec::new();
    for (k, v) in map {
        let Some((role, pos)) = role_key(loc, file, "roles", k, errors) else {
            continue;
        };
        let Value::Mapping(m) = v else {
            errors.push(PolicyError::at(
                file,
                pos,
                format!("roles.{role} must be a mapping of parameter: value"),
            ));
            continue;
        };
        let settings = settings(loc, file, &["roles", role.keyword()], m, errors);
        out.push(RoleSettings {
            role,
            settings,
            pos,
        });
    }
    out
}

fn expectations(
    loc: &Locator,
    file: &str,
    map: &Mapping,
    errors: &mut Vec<PolicyError>,
) -> Vec<Expectation> {
    const SHAPE: &str = "must be { tls: optional | required | keep }";
    let mut out = Vec::new();
    for (k, v) in map {
        let Some((role, pos)) = role_key(loc, file, "expect", k, errors) else {
            continue;
        };
        let tls = match v {
            Value::Mapping(m) if m.len() == 1 => m.get("tls").and_then(Value::as_str),
            _ => None,
        };
        let tls = match tls {
            Some("optional") => TlsExpectation::Optional,
            Some("required") => TlsExpectation::Required,
            Some("keep") => TlsExpectation::Keep,
            _ => {
                errors.push(PolicyError::at(file, pos, format!("expect.{role} {SHAPE}")));
                continue;
            }
        };
        out.push(Expectation { role, tls, pos });
    }
    out
}

fn settings(
    loc: &Locator,
    file: &str,
    path: &[&str],
    map: &Mapping,
    errors: &mut Vec<PolicyError>,
) -> Vec<Setting> {
    let mut out = Vec::new();
    for (k, v) in map {
        let Some(name) = k.as_str() else {
            errors.push(PolicyError::at(
                file,
                loc.locate_or_parent(path),
                "parameter names must be strings",
            ));
            continue;
        };
        let mut p = path.to_vec();
        p.push(name);
        let pos = loc.locate_or_parent(&p);
        match scalar_value(v) {
            Ok(value) => out.push(Setting {
                name: name.to_string(),
                value,
                pos,
            }),
            Err(msg) => errors.push(PolicyError::at(file, pos, format!("{name}: {msg}"))),
        }
    }
    out
}

fn scalar_value(v: &Value) -> Result<PolicyValue, String> {
    match v {
        Value::Null => Ok(PolicyValue::Remove),
        Value::String(s) => Ok(PolicyValue::Set(s.clone())),
        Value::Bool(b) => Ok(PolicyValue::Set(if *b { "yes" } else { "no" }.to_string())),
        Value::Number(n) => Ok(PolicyValue::Set(n.to_string())),
        Value::Mapping(m) => {
            if m.len() != 1 {
                return Err("a dynamic value is a mapping with exactly one key: { crypto_policy: protocols | exclude_ciphers }".into());
            }
            match (
                m.get("crypto_policy").and_then(Value::as_str),
                m.keys().next().and_then(Value::as_str),
            ) {
                (Some("protocols"), _) => Ok(PolicyValue::Dynamic(Dynamic::Protocols)),
                (Some("exclude_ciphers"), _) => Ok(PolicyValue::Dynamic(Dynamic::ExcludeCiphers)),
                (Some(other), _) => Err(format!(
                    "unknown crypto_policy value {other:?} (expected protocols or exclude_ciphers)"
                )),
                (None, Some(k)) => Err(format!(
                    "unknown dynamic value key {k:?} (expected crypto_policy)"
                )),
                (None, None) => Err("invalid dynamic value".into()),
            }
        }
        Value::Sequence(_) => {
            Err("lists are not Postfix values: write the list as one string, e.g. \"a, b\"".into())
        }
        Value::Tagged(_) => Err("YAML tags are not supported".into()),
    }
}

/// Where `-p` values are looked up.
#[derive(Debug, Clone, Default)]
pub struct PolicySearch {
    /// `--policy-dir` directories, searched in order before the built-in policies.
    pub dirs: Vec<PathBuf>,
}

/// A policy that cannot be found or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// No file, policy-dir entry or built-in of that name.
    #[error("no policy named {name:?} (built-in: {available}; or give a path to a YAML file)")]
    NotFound {
        /// What was asked for.
        name: String,
        /// Comma-separated list of built-in names.
        available: String,
    },
    /// The file exists but cannot be read.
    #[error("{path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        message: String,
    },
    /// The policy is malformed.
    #[error("{0}")]
    Invalid(PolicyErrors),
}

impl PolicySearch {
    /// Finds and parses the policy `spec`: a path to a YAML file, a name in a policy dir, or a
    /// built-in name.
    pub fn load(&self, spec: &str) -> Result<Policy, LoadError> {
        let as_path = Path::new(spec);
        let looks_like_path =
            spec.contains('/') || spec.ends_with(".yaml") || spec.ends_with(".yml");
        if looks_like_path || as_path.is_file() {
            return load_file(as_path);
        }
        for dir in &self.dirs {
            for ext in ["yaml", "yml"] {
                let p = dir.join(format!("{spec}.{ext}"));
                if p.is_file() {
                    return load_file(&p);
                }
            }
        }
        if let Some((name, text)) = BUILTIN_POLICIES.iter().find(|(n, _)| *n == spec) {
            return parse_policy(text, Origin::BuiltIn, Some(name)).map_err(LoadError::Invalid);
        }
        Err(LoadError::NotFound {
            name: spec.to_string(),
            available: builtin_names().join(", "),
        })
    }

    /// The names `-p` can take (policy-dir files and built-ins), without reading the files.
    pub fn names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for dir in &self.dirs {
            let Ok(rd) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut stems: Vec<String> = rd
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_string))
                .collect();
            stems.sort();
            out.extend(stems);
        }
        out.extend(builtin_names().into_iter().map(str::to_string));
        let mut seen = std::collections::BTreeSet::new();
        out.retain(|n| seen.insert(n.clone()));
        out
    }

    /// Did-you-mean for a policy name that was not found: the closest names [`Self::names`]
    /// knows (at most three, closest first).
    pub fn suggest(&self, spec: &str) -> Vec<String> {
        let names = self.names();
        crate::suggest::closest(spec, names.iter().map(String::as_str))
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    /// Every policy visible: policy-dir files first (shadowing built-ins of the same name).
    pub fn list(&self) -> Vec<Result<Policy, LoadError>> {
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for dir in &self.dirs {
            let Ok(rd) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut paths: Vec<PathBuf> = rd
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            paths.sort();
            for p in paths {
                let stem = p
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default()
                    .to_string();
                if seen.insert(stem) {
                    out.push(load_file(&p));
                }
            }
        }
        for (name, text) in BUILTIN_POLICIES {
            if seen.insert((*name).to_string()) {
                out.push(
                    parse_policy(text, Origin::BuiltIn, Some(name)).map_err(LoadError::Invalid),
                );
            }
        }
        out
    }
}

/// Names of the built-in policies.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTIN_POLICIES.iter().map(|(n, _)| *n).collect()
}

/// Reads and parses one policy file; its name must equal the file stem.
pub fn load_file(path: &Path) -> Result<Policy, LoadError> {
    // Non-blocking, regular files only, size-limited; the error never quotes the file.
    let text =
        pftls_safe_read::read_to_string(path, pftls_safe_read::Kind::Policy).map_err(|e| {
            LoadError::Read {
                path: path.display().to_string(),
                message: e
                    .to_string()
                    .trim_start_matches(&format!("{}: ", path.display()))
                    .to_string(),
            }
        })?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .map(str::to_string);
    parse_policy(&text, Origin::File(path.to_path_buf()), stem.as_deref())
        .map_err(LoadError::Invalid)
}
