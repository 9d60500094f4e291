//! Which parameters postconf considers "used": the names `postconf -n` lists and hides, and its
//! `unused parameter` / `undefined parameter` / read-only / deprecation warnings.
//!
//! A re-implementation of src/postconf (Postfix 3.5–3.11) over the documents:
//! `pcf_register_service_parameters` (per-service names of delivery services in master.cf),
//! `pcf_register_user_parameters` (master.cf `-o` name spaces first, then the defaults of every
//! known parameter, then main.cf; `$name` references and `smtpd_restriction_classes` entries make
//! a user-defined `name=value` valid, a local `-o name=` shadows main.cf's), the legacy aliases
//! (`virtual_maps`, ...: listed when set), the read-only names (`process_name`, ...: dropped with
//! a warning), `pcf_register_dbms_parameters` (`ldap:name` makes `name_<suffix>` valid) and
//! `pcf_flag_unused_parameters`. Pure: the caller supplies the target version's facts.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::error::LineNo;
use crate::expand::{expand, references};
use crate::main_cf::MainCf;
use crate::master_cf::{MasterCf, Service};

/// What the target Postfix version compiles in.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Built-in parameter names (`postconf -d` with an empty master.cf) and their defaults
    /// (None where unknown).
    pub builtin: BTreeMap<String, Option<String>>,
    /// Legacy aliases the version still accepts (`pcf_legacy_str_table`).
    pub legacy: BTreeSet<String>,
    /// `major.minor` of the version (database suffixes and deprecations depend on it).
    pub line: (u32, u32),
}

/// One per-service parameter that a master.cf service brings into existence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceParam {
    /// `<service><suffix>`, e.g. `dovecot_destination_recipient_limit`.
    pub name: String,
    /// The global parameter its default refers to, e.g. `default_destination_recipient_limit`.
    pub default_from: &'static str,
}

/// Per-service suffixes and the global parameter each defaults to
/// (src/postconf/postconf_service.c); the first applies to pipe(8) and spawn(8) only.
const SERVICE_PARAMS: &[(&str, &str)] = &[
    ("_time_limit", "command_time_limit"),
    ("_recipient_limit", "default_recipient_limit"),
    ("_extra_recipient_limit", "default_extra_recipient_limit"),
    ("_recipient_refill_limit", "default_recipient_refill_limit"),
    ("_recipient_refill_delay", "default_recipient_refill_delay"),
    ("_delivery_slot_cost", "default_delivery_slot_cost"),
    ("_delivery_slot_loan", "default_delivery_slot_loan"),
    ("_delivery_slot_discount", "default_delivery_slot_discount"),
    ("_minimum_delivery_slots", "default_minimum_delivery_slots"),
    (
        "_initial_destination_concurrency",
        "initial_destination_concurrency",
    ),
    (
        "_destination_concurrency_limit",
        "default_destination_concurrency_limit",
    ),
    (
        "_destination_recipient_limit",
        "default_destination_recipient_limit",
    ),
    (
        "_destination_concurrency_positive_feedback",
        "default_destination_concurrency_positive_feedback",
    ),
    (
        "_destination_concurrency_negative_feedback",
        "default_destination_concurrency_negative_feedback",
    ),
    (
        "_destination_concurrency_failed_cohort_limit",
        "default_destination_concurrency_failed_cohort_limit",
    ),
    ("_destination_rate_delay", "default_destination_rate_delay"),
    ("_transport_rate_delay", "default_transport_rate_delay"),
];

/// The per-service parameters of the delivery services `master` defines, in file order.
pub fn service_parameters(master: &MasterCf) -> Vec<ServiceParam> {
    let mut out = Vec::new();
    for s in master.services() {
        let params: &[(&str, &str)] = match s.command.as_str() {
            "local" | "error" | "virtual" | "smtp" | "lmtp" => &SERVICE_PARAMS[1..],
            "pipe" => SERVICE_PARAMS,
            "spawn" => &SERVICE_PARAMS[..1],
            _ => continue,
        };
        for (suffix, from) in params {
            out.push(ServiceParam {
                name: format!("{}{suffix}", s.name),
                default_from: from,
            });
        }
    }
    out
}

/// Parameters whose values postconf does not scan for `$name` (CONFIG_RAW_TABLE entries).
const RAW: &[&str] = &[
    "default_rbl_reply",
    "command_execution_directory",
    "forward_path",
    "luser_relay",
    "mailbox_command",
    "postscreen_expansion_filter",
    "postscreen_reject_footer",
    "smtpd_expansion_filter",
    "smtpd_reject_footer",
];

/// Parameters postconf computes and drops when assigned (`pcf_adhoc_*`).
const READ_ONLY: &[&str] = &["process_name", "service_name", "process_id"];

/// Deprecated names, what to use instead, and the first line that warns (postconf_unused.c).
const DEPRECATED: &[(&str, &str, (u32, u32))] = &[
    (
        "disable_dns_lookups",
        "specify \"smtp_dns_support_level\"",
        (3, 9),
    ),
    (
        "lmtp_use_tls",
        "specify \"lmtp_tls_security_level\"",
        (3, 9),
    ),
    (
        "postscreen_use_tls",
        "specify \"postscreen_tls_security_level\"",
        (3, 9),
    ),
    (
        "smtp_use_tls",
        "specify \"smtp_tls_security_level\"",
        (3, 9),
    ),
    (
        "smtpd_use_tls",
        "specify \"smtpd_tls_security_level\"",
        (3, 9),
    ),
    (
        "tlsproxy_client_use_tls",
        "specify \"tlsproxy_client_security_level\"",
        (3, 9),
    ),
    (
        "tlsproxy_use_tls",
        "specify \"tlsproxy_tls_security_level\"",
        (3, 9),
    ),
    ("lmtp_enforce_tls", "lmtp_tls_security_level", (3, 9)),
    (
        "postscreen_enforce_tls",
        "specify \"postscreen_tls_security_level\"",
        (3, 9),
    ),
    (
        "smtp_enforce_tls",
        "specify \"smtp_tls_security_level\"",
        (3, 9),
    ),
    (
        "smtpd_enforce_tls",
        "specify \"smtpd_tls_security_level\"",
        (3, 9),
    ),
    (
        "tlsproxy_client_enforce_tls",
        "specify \"tlsproxy_client_security_level\"",
        (3, 9),
    ),
    (
        "tlsproxy_enforce_tls",
        "specify \"tlsproxy_tls_security_level\"",
        (3, 9),
    ),
    (
        "lmtp_tls_per_site",
        "specify \"lmtp_tls_policy_maps\"",
        (3, 9),
    ),
    (
        "smtp_tls_per_site",
        "specify \"smtp_tls_policy_maps\"",
        (3, 9),
    ),
    (
        "tlsproxy_client_per_site",
        "specify \"tlsproxy_client_policy_maps\"",
        (3, 9),
    ),
    (
        "smtpd_tls_dh1024_param_file",
        "do not specify (leave at default)",
        (3, 9),
    ),
    (
        "smtpd_tls_eecdh_grade",
        "do not specify (leave at default)",
        (3, 9),
    ),
    (
        "authorized_verp_clients",
        "specify \"smtpd_authorized_verp_clients\"",
        (3, 11),
    ),
    ("fallback_relay", "specify \"smtp_fallback_relay\"", (3, 11)),
    (
        "lmtp_per_record_deadline",
        "specify \"lmtp_per_request_deadline\"",
        (3, 11),
    ),
    (
        "lmtp_tls_enforce_peername",
        "specify \"lmtp_tls_security_level\"",
        (3, 11),
    ),
    (
        "postscreen_blacklist_action",
        "specify \"postscreen_denylist_action\"",
        (3, 11),
    ),
    (
        "postscreen_dnsbl_ttl",
        "specify \"postscreen_dnsbl_max_ttl\"",
        (3, 11),
    ),
    (
        "postscreen_dnsbl_whitelist_threshold",
        "specify \"postscreen_dnsbl_allowlist_threshold\"",
        (3, 11),
    ),
    (
        "postscreen_whitelist_interfaces",
        "specify \"postscreen_allowlist_interfaces\"",
        (3, 11),
    ),
    (
        "smtpd_client_connection_limit_exceptions",
        "specify \"smtpd_client_event_limit_exceptions\"",
        (3, 11),
    ),
    (
        "smtpd_per_record_deadline",
        "specify \"smtpd_per_request_deadline\"",
        (3, 11),
    ),
    (
        "smtp_per_record_deadline",
        "specify \"smtp_per_request_deadline\"",
        (3, 11),
    ),
    (
        "smtp_tls_enforce_peername",
        "specify \"smtp_tls_security_level\"",
        (3, 11),
    ),
    (
        "tlsproxy_client_level",
        "specify \"tlsproxy_client_security_level\"",
        (3, 11),
    ),
    (
        "tlsproxy_client_policy",
        "specify \"tlsproxy_client_policy_maps\"",
        (3, 11),
    ),
    ("virtual_maps", "specify \"virtual_alias_maps\"", (3, 11)),
    ("lmtp_cname_overrides_servername", "do not specify", (3, 11)),
    ("smtp_cname_overrides_servername", "do not specify", (3, 11)),
];

/// Database client types whose table names make `<name>_<suffix>` parameters valid: the
/// suffixes their dict_*.c reads (src/postconf extract_cfg.sh), plus `domain`, plus the legacy
/// SQL query parameters for mysql / pgsql / sqlite; by release line.
fn dbms_suffixes(db: &str, line: (u32, u32)) -> Option<Vec<&'static str>> {
    const LDAP: &[&str] = &[
        "bind",
        "bind_dn",
        "bind_pw",
        "cache",
        "cache_expiry",
        "cache_size",
        "chase_referrals",
        "debuglevel",
        "dereference",
        "expansion_limit",
        "leaf_result_attribute",
        "query_filter",
        "recursion_limit",
        "result_attribute",
        "result_filter",
        "result_format",
        "sasl_authz_id",
        "sasl_mechs",
        "sasl_minssf",
        "sasl_realm",
        "scope",
        "search_base",
        "server_host",
        "server_port",
        "size_limit",
        "special_result_attribute",
        "start_tls",
        "terminal_result_attribute",
        "timeout",
        "tls_ca_cert_dir",
        "tls_ca_cert_file",
        "tls_cert",
        "tls_cipher_suite",
        "tls_key",
        "tls_random_file",
        "tls_require_cert",
        "version",
    ];
    const MYSQL: &[&str] = &[
        "dbname",
        "expansion_limit",
        "hosts",
        "option_file",
        "option_group",
        "password",
        "query",
        "require_result_set",
        "result_format",
        "tls_CAfile",
        "tls_CApath",
        "tls_cert_file",
        "tls_ciphers",
        "tls_key_file",
        "tls_verify_cert",
        "user",
    ];
    const PGSQL: &[&str] = &[
        "dbname",
        "expansion_limit",
        "hosts",
        "password",
        "query",
        "result_format",
        "select_function",
        "user",
    ];
    const SQLITE: &[&str] = &["dbpath", "expansion_limit", "query", "result_format"];
    const MEMCACHE: &[&str] = &[
        "backup",
        "data_size_limit",
        "flags",
        "key_format",
        "line_size_limit",
        "max_try",
        "memcache",
        "retry_pause",
        "timeout",
        "ttl",
    ];
    const MONGODB: &[&str] = &[
        "collection",
        "dbname",
        "expansion_limit",
        "projection",
        "query_filter",
        "result_attribute",
        "result_format",
        "uri",
    ];
    const SQL_LEGACY: &[&str] = &[
        "table",
        "select_field",
        "where_field",
        "additional_conditions",
    ];
    let mut v: Vec<&'static str> = match db {
        "ldap" => LDAP.to_vec(),
        "mysql" => {
            let mut v = [MYSQL, SQL_LEGACY].concat();
            if line >= (3, 9) {
                v.extend(["charset", "idle_interval", "retry_interval"]);
            }
            v
        }
        "pgsql" => {
            let mut v = [PGSQL, SQL_LEGACY].concat();
            if line >= (3, 8) {
                v.push("encoding");
            }
            if line >= (3, 9) {
                v.extend(["idle_interval", "retry_interval"]);
            }
            v
        }
        "sqlite" => [SQLITE, SQL_LEGACY].concat(),
        "memcache" => {
            let mut v = MEMCACHE.to_vec();
            if line >= (3, 11) {
                v.push("key_digest");
            }
            v
        }
        "mongodb" if line >= (3, 9) => MONGODB.to_vec(),
        _ => return None,
    };
    v.push("domain");
    v.sort_unstable();
    v.dedup();
    Some(v)
}

/// Which configuration file a warning is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConfFile {
    /// main.cf
    Main,
    /// master.cf
    Master,
}

impl ConfFile {
    /// `main.cf` or `master.cf`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfFile::Main => "main.cf",
            ConfFile::Master => "master.cf",
        }
    }
}

/// What a warning says.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UsageKind {
    /// `name=value` that nothing uses (usually a typo).
    Unused {
        /// Parameter name.
        name: String,
        /// Its value.
        value: String,
    },
    /// `$name` with no value anywhere.
    Undefined {
        /// Parameter name.
        name: String,
    },
    /// Assignment to a name postconf computes itself.
    ReadOnly {
        /// Parameter name.
        name: String,
        /// The assigned value.
        value: String,
    },
    /// A removed name that is still set.
    Removed {
        /// Parameter name.
        name: String,
        /// What to do instead.
        instead: String,
    },
    /// A deprecated name that is still set (and used).
    Deprecated {
        /// Parameter name.
        name: String,
        /// What to do instead.
        instead: String,
    },
}

/// One postconf warning about parameter use.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UsageWarning {
    /// The file the warning is about.
    pub file: ConfFile,
    /// Line of the assignment, when there is one.
    pub line: Option<LineNo>,
    /// What it says.
    pub kind: UsageKind,
}

impl UsageWarning {
    /// postconf's text without the leading `config_dir/file: `, e.g. `unused parameter: x=y`.
    pub fn message(&self) -> String {
        match &self.kind {
            UsageKind::Unused { name, value } => format!("unused parameter: {name}={value}"),
            UsageKind::Undefined { name } => format!("undefined parameter: {name}"),
            UsageKind::ReadOnly { name, value } => {
                format!("read-only parameter assignment: {name}={value}")
            }
            UsageKind::Removed { name, instead } => {
                format!("support for parameter {name} has been removed; instead, {instead}")
            }
            UsageKind::Deprecated { name, instead } => {
                format!("support for parameter \"{name}\" will be removed; instead, {instead}")
            }
        }
    }
}

/// The outcome of the scan.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    /// main.cf names `postconf -n` lists.
    pub listed: BTreeSet<String>,
    /// Warnings, deduplicated, sorted by file and line.
    pub warnings: Vec<UsageWarning>,
}

/// Class of an entry of the global parameter table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    Builtin,
    Service,
    Legacy,
    User,
}

/// One master.cf `-o` name space.
struct Local {
    /// Last value per name, with its line.
    params: HashMap<String, (String, LineNo)>,
    /// Names made valid in this name space.
    valid: BTreeSet<String>,
    /// Names in file order (for stable warnings).
    order: Vec<String>,
}

struct Scan<'a> {
    facts: &'a Facts,
    main: HashMap<String, (String, LineNo)>,
    main_order: Vec<String>,
    table: HashMap<String, Class>,
    locals: Vec<Local>,
    rest_classes: BTreeSet<String>,
    warnings: BTreeSet<UsageWarning>,
}

/// Runs postconf's "used parameter" scan over the documents.
pub fn scan(main: &MainCf, master: &MasterCf, facts: &Facts) -> Usage {
    let mut main_vals = HashMap::new();
    let mut main_order = Vec::new();
    for e in main.effective() {
        main_order.push(e.name.clone());
        main_vals.insert(e.name, (e.value, e.line));
    }
    let mut table: HashMap<String, Class> = facts
        .builtin
        .keys()
        .map(|k| (k.clone(), Class::Builtin))
        .collect();
    for n in &facts.legacy {
        table.entry(n.clone()).or_insert(Class::Legacy);
    }
    for p in service_parameters(master) {
        // Compiled-in names keep their default but become per-service ones.
        table.insert(p.name, Class::Service);
    }
    let services: Vec<Service> = master.services();
    let locals = services.iter().map(local_of).collect();
    let mut s = Scan {
        facts,
        main: main_vals,
        main_order,
        table,
        locals,
        rest_classes: BTreeSet::new(),
        warnings: BTreeSet::new(),
    };
    s.register_user_parameters();
    s.flag_unused();
    let listed: BTreeSet<String> = s
        .main_order
        .iter()
        .filter(|n| s.table.contains_key(*n) && !READ_ONLY.contains(&n.as_str()))
        .cloned()
        .collect();
    Usage {
        listed,
        warnings: s.warnings.into_iter().collect(),
    }
}

fn local_of(s: &Service) -> Local {
    let mut params = HashMap::new();
    let mut order = Vec::new();
    for o in &s.overrides {
        if !params.contains_key(&o.name) {
            order.push(o.name.clone());
        }
        params.insert(o.name.clone(), (o.value.clone(), o.line));
    }
    Local {
        params,
        valid: BTreeSet::new(),
        order,
    }
}

impl Scan<'_> {
    fn file(local: Option<usize>) -> ConfFile {
        if local.is_some() {
            ConfFile::Master
        } else {
            ConfFile::Main
        }
    }

    fn register_user_parameters(&mut self) {
        for i in 0..self.locals.len() {
            if !self.locals[i].params.is_empty() {
                self.scan_namespace(Some(i));
            }
        }
        self.scan_defaults();
        self.scan_namespace(None);
    }

    /// A value as postconf evaluates it in a name space: local `-o`, then main.cf, then default.
    fn lookup(&self, name: &str, local: Option<usize>) -> Option<String> {
        if let Some(i) = local {
            if let Some((v, _)) = self.locals[i].params.get(name) {
                return Some(v.clone());
            }
        }
        if let Some((v, _)) = self.main.get(name) {
            return Some(v.clone());
        }
        self.facts.builtin.get(name).cloned().flatten()
    }

    fn eval(&self, value: &str, local: Option<usize>) -> String {
        let look = |n: &str| self.lookup(n, local);
        expand(value, &look).unwrap_or_else(|_| value.to_string())
    }

    fn scan_namespace(&mut self, local: Option<usize>) {
        if let Some(classes) = self.lookup("smtpd_restriction_classes", local) {
            let classes = self.eval(&classes, local);
            for c in classes
                .split([',', ' ', '\t', '\r', '\n'])
                .filter(|c| !c.is_empty())
            {
                if local.is_none() {
                    self.rest_classes.insert(c.to_string());
                }
                self.flag(c, false, local);
            }
        }
        let entries: Vec<(String, String, LineNo)> = match local {
            Some(i) => {
                let l = &self.locals[i];
                l.order
                    .iter()
                    .map(|n| (n.clone(), l.params[n].0.clone(), l.params[n].1))
                    .collect()
            }
            None => self
                .main_order
                .iter()
                .map(|n| (n.clone(), self.main[n].0.clone(), self.main[n].1))
                .collect(),
        };
        for (name, value, line) in entries {
            if let Some(i) = local {
                if !self.locals[i].valid.contains(&name) && self.rest_classes.contains(&name) {
                    self.locals[i].valid.insert(name.clone());
                }
            }
            let class = self.table.get(&name).copied();
            if class.is_some() {
                if READ_ONLY.contains(&name.as_str()) {
                    self.warnings.insert(UsageWarning {
                        file: Self::file(local),
                        line: Some(line),
                        kind: UsageKind::ReadOnly {
                            name: name.clone(),
                            value: value.clone(),
                        },
                    });
                    match local {
                        Some(i) => {
                            self.locals[i].params.remove(&name);
                            self.locals[i].order.retain(|n| *n != name);
                        }
                        None => {
                            self.main.remove(&name);
                            self.main_order.retain(|n| *n != name);
                        }
                    }
                    continue;
                }
                if class == Some(Class::Legacy) {
                    self.table.insert(name.clone(), Class::User);
                }
                if RAW.contains(&name.as_str()) {
                    continue;
                }
            }
            for r in references(&value) {
                self.flag(&r, false, local);
            }
            if matches!(class, Some(Class::Builtin | Class::Service)) {
                let expanded = self.eval(&value, local);
                self.register_dbms(&expanded, local, true);
            }
        }
    }

    fn scan_defaults(&mut self) {
        let mut names: Vec<(String, Class)> =
            self.table.iter().map(|(k, c)| (k.clone(), *c)).collect();
        names.sort();
        for (name, class) in names {
            if RAW.contains(&name.as_str()) || self.main.contains_key(&name) {
                continue;
            }
            let default = match class {
                Class::Builtin => self.facts.builtin.get(&name).cloned().flatten(),
                Class::Service => SERVICE_PARAMS
                    .iter()
                    .find(|(suffix, _)| name.ends_with(suffix))
                    .map(|(_, from)| format!("${from}")),
                Class::Legacy | Class::User => None,
            };
            if let Some(d) = default {
                for r in references(&d) {
                    self.flag(&r, false, None);
                }
            }
        }
    }

    /// pcf_flag_user_parameter: `$name` (or a class / dbms name) makes a `name=value` valid.
    fn flag(&mut self, name: &str, dbms: bool, local: Option<usize>) {
        let mut supplied = false;
        if let Some(i) = local.filter(|i| self.locals[*i].params.contains_key(name)) {
            supplied = true;
            self.locals[i].valid.insert(name.to_string());
        } else if self.main.contains_key(name) {
            supplied = true;
            self.table.entry(name.to_string()).or_insert(Class::User);
        }
        if local.is_none() {
            for l in &mut self.locals {
                if l.params.contains_key(name) {
                    supplied = true;
                    l.valid.insert(name.to_string());
                }
            }
        }
        if !supplied && !dbms && !self.table.contains_key(name) {
            self.warnings.insert(UsageWarning {
                file: Self::file(local),
                line: None,
                kind: UsageKind::Undefined {
                    name: name.to_string(),
                },
            });
        }
    }

    /// pcf_register_dbms_helper over an expanded value.
    fn register_dbms(&mut self, value: &str, local: Option<usize>, recurse: bool) {
        for tok in tokens(value) {
            if let Some(inner) = tok.strip_prefix('{') {
                if recurse {
                    let inner = inner.strip_suffix('}').unwrap_or(inner);
                    self.register_dbms(inner.trim(), local, recurse);
                }
                continue;
            }
            let mut db = tok.as_str();
            let mut prefix = None;
            while let Some((t, rest)) = db.split_once(':') {
                prefix = Some(rest);
                if t != "proxy" {
                    db = t;
                    break;
                }
                db = rest;
                prefix = None;
            }
            let Some(prefix) = prefix else { continue };
            if prefix.starts_with('/') || prefix.starts_with('.') {
                continue;
            }
            if let Some(inner) = prefix.strip_prefix('{') {
                let inner = inner.strip_suffix('}').unwrap_or(inner);
                let next = recurse && !matches!(db, "regexp" | "pcre");
                self.register_dbms(inner.trim(), local, next);
                continue;
            }
            if let Some(suffixes) = dbms_suffixes(db, self.facts.line) {
                for s in suffixes {
                    self.flag(&format!("{prefix}_{s}"), true, local);
                }
            }
        }
    }

    fn flag_unused(&mut self) {
        let line = self.facts.line;
        let depr = |n: &str| {
            DEPRECATED
                .iter()
                .find(|(d, _, since)| line >= *since && *d == n)
                .map(|(_, i, _)| i.to_string())
        };
        let mut out = Vec::new();
        for n in &self.main_order {
            let (value, line) = &self.main[n];
            let used = self.table.contains_key(n);
            out.push((ConfFile::Main, n.clone(), value.clone(), *line, used));
        }
        for l in &self.locals {
            for n in &l.order {
                let (value, line) = &l.params[n];
                let used = self.table.contains_key(n) || l.valid.contains(n);
                out.push((ConfFile::Master, n.clone(), value.clone(), *line, used));
            }
        }
        for (file, name, value, line, used) in out {
            let kind = match (used, depr(&name)) {
                (false, Some(instead)) => UsageKind::Removed { name, instead },
                (false, None) => UsageKind::Unused { name, value },
                (true, Some(instead)) => UsageKind::Deprecated { name, instead },
                (true, None) => continue,
            };
            self.warnings.insert(UsageWarning {
                file,
                line: Some(line),
                kind,
            });
        }
    }
}

/// mystrtokq(): tokens separated by comma or whitespace, `{...}` groups kept whole.
fn tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '{' => {
                depth += 1;
                cur.push(c);
            }
            '}' => {
                depth = depth.saturating_sub(1);
                cur.push(c);
            }
            ',' | ' ' | '\t' | '\r' | '\n' if depth == 0 => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        let mut builtin = BTreeMap::new();
        for (n, d) in [
            ("header_checks", ""),
            ("smtpd_restriction_classes", ""),
            ("default_destination_recipient_limit", "50"),
            ("virtual_alias_maps", "$virtual_maps"),
            ("process_name", "postconf"),
            ("relayhost", ""),
        ] {
            builtin.insert(n.to_string(), Some(d.to_string()));
        }
        for (_, from) in SERVICE_PARAMS {
            builtin.insert(from.to_string(), Some("1".to_string()));
        }
        Facts {
            builtin,
            legacy: ["virtual_maps".to_string()].into_iter().collect(),
            line: (3, 7),
        }
    }

    #[test]
    fn the_rules_of_the_issue() {
        let main = MainCf::parse(
            b"header_checks = ldap:hh\nhh_domain = example.com\nsmtpd_restriction_classes = cls\ncls = permit\nvirtual_maps = hash:/x\nbar = 1\nprocess_name = x\ntypo_param = 1\nrelayhost = $nowhere\ndovecot_destination_recipient_limit = 1\n",
        )
        .unwrap();
        let master = MasterCf::parse(
            b"dovecot unix - n n - - pipe argv=/x\nsmtp inet n - n - - smtpd\n  -o foo=$bar\n  -o bar=2\n",
        )
        .unwrap();
        let u = scan(&main, &master, &facts());
        let listed: Vec<&str> = u.listed.iter().map(String::as_str).collect();
        assert_eq!(
            listed,
            [
                "cls",
                "dovecot_destination_recipient_limit",
                "header_checks",
                "hh_domain",
                "relayhost",
                "smtpd_restriction_classes",
                "virtual_maps"
            ]
        );
        let msgs: BTreeSet<String> = u
            .warnings
            .iter()
            .map(|w| format!("{}: {}", w.file.as_str(), w.message()))
            .collect();
        let want: BTreeSet<String> = [
            "main.cf: unused parameter: bar=1",
            "main.cf: unused parameter: typo_param=1",
            "main.cf: read-only parameter assignment: process_name=x",
            "main.cf: undefined parameter: nowhere",
            "master.cf: unused parameter: foo=$bar",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(msgs, want);
    }

    #[test]
    fn deprecation_warnings_follow_the_release_line() {
        let main = MainCf::parse(b"virtual_maps = hash:/x\nsmtpd_use_tls = yes\n").unwrap();
        let master = MasterCf::parse(b"").unwrap();
        let mut f = facts();
        f.builtin.insert("smtpd_use_tls".into(), Some("no".into()));
        let kinds = |line| {
            let f = Facts { line, ..f.clone() };
            scan(&main, &master, &f)
                .warnings
                .into_iter()
                .map(|w| w.message())
                .collect::<Vec<_>>()
        };
        assert!(kinds((3, 7)).is_empty());
        assert_eq!(kinds((3, 9)).len(), 1);
        let w311 = kinds((3, 11));
        assert_eq!(w311.len(), 2, "{w311:?}");
        assert!(w311
            .iter()
            .any(|m| m.contains("\"virtual_maps\" will be removed")));
    }

    #[test]
    fn tokens_keep_brace_groups() {
        assert_eq!(
            tokens("a, {b c}, proxy:ldap:x"),
            ["a", "{b c}", "proxy:ldap:x"]
        );
    }
}
