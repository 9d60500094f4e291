//! The host model and its planner as a library: topology classification and TLS levels,
//! role expansion (merge → edit requests), pins, per-listener changes, and expectation checks on
//! the applied edits. Built-in Postfix 3.7.11 data (no postconf process); the real-postconf
//! oracle tests live in crates/pftls/tests/cli_topology.rs.

use std::path::Path;

use host::{Host, HostOptions, PostfixVersion, ServiceKey};
use pftls_policy::policy::{parse_policy, Origin};
use pftls_policy::{Policy, Role};

struct Fixture {
    _tmp: tempfile::TempDir,
    host: Host,
}

fn host(main: &str, master: &str) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("main.cf"), main).unwrap();
    std::fs::write(tmp.path().join("master.cf"), master).unwrap();
    let host = Host::discover(&HostOptions {
        config_dir: tmp.path().to_path_buf(),
        crypto_dir: tmp.path().join("no-crypto-policies"),
        version: Some(PostfixVersion::new(3, 7, 11)),
    })
    .unwrap();
    Fixture { _tmp: tmp, host }
}

fn policy(yaml: &str) -> Policy {
    parse_policy(yaml, Origin::BuiltIn, None).unwrap()
}

fn key(s: &str) -> ServiceKey {
    s.parse().unwrap()
}

const LINE: &str = "n       -       n       -       -";

#[test]
fn roles_for_every_spelling_and_postscreen_handoff() {
    let master = format!(
        "smtp inet n - n - 1 postscreen\n  -o smtpd_service_name=front\n\
         front pass {LINE} smtpd\n\
         smtpd pass {LINE} smtpd\n\
         [2001:db8::5]:25 inet {LINE} smtpd\n\
         mx.example.org:smtp inet {LINE} smtpd\n\
         587 inet {LINE} smtpd\n\
         10465 inet {LINE} smtpd\n  -o smtpd_tls_wrappermode=yes\n\
         127.0.0.1:10025 inet {LINE} smtpd\n\
         0.0.0.0:2525 inet {LINE} smtpd\n\
         pickup unix n - n 60 1 pickup\n"
    );
    let f = host("myhostname = mx.example.org\n", &master);
    let t = &f.host.topology;
    let role = |k: &str| t.get(&key(k)).unwrap().role;
    assert_eq!(role("smtp/inet"), Role::Mx);
    // postscreen hands clients to the service named by smtpd_service_name in its scope.
    assert_eq!(role("front/pass"), Role::Mx);
    assert_eq!(
        t.get(&key("front/pass")).unwrap().behind,
        Some(key("smtp/inet"))
    );
    assert_eq!(role("smtpd/pass"), Role::Other);
    assert_eq!(role("[2001:db8::5]:25/inet"), Role::Mx);
    assert_eq!(role("mx.example.org:smtp/inet"), Role::Mx);
    assert_eq!(role("587/inet"), Role::Submission);
    assert_eq!(role("10465/inet"), Role::Submissions);
    assert_eq!(role("127.0.0.1:10025/inet"), Role::Internal);
    assert_eq!(role("0.0.0.0:2525/inet"), Role::Other);
    assert_eq!(role("pickup/unix"), Role::Other);
    // tlsa/mta-sts: the smtpd answering port 25 behind postscreen is the pass service.
    assert_eq!(t.smtpd_for_port(25).unwrap().service, key("front/pass"));
    assert!(t.listeners.iter().all(|l| !l.reason.is_empty()));
}

#[test]
fn levels_follow_references_in_the_service_scope_and_legacy_parameters() {
    let master = format!(
        "smtp inet {LINE} smtpd\n  -o smtpd_tls_security_level=$lvl\n  -o lvl=encrypt\n\
         587 inet {LINE} smtpd\n\
         465 inet {LINE} smtpd\n  -o smtpd_tls_wrappermode=yes\n"
    );
    let f = host("lvl = may\nsmtpd_enforce_tls = yes\n", &master);
    let t = &f.host.topology;
    let smtp = t.get(&key("smtp/inet")).unwrap().tls.clone().unwrap();
    assert_eq!(
        smtp.level, "encrypt",
        "the -o lvl of the service wins: {smtp:?}"
    );
    assert_eq!(smtp.decided_by, "lvl");
    assert_eq!(smtp.source.to_string(), "master.cf:3");
    let sub = t.get(&key("587/inet")).unwrap().tls.clone().unwrap();
    assert_eq!(
        (sub.level.as_str(), sub.decided_by.as_str()),
        ("encrypt", "smtpd_enforce_tls")
    );
    assert!(sub.mandatory);
    let wrap = t.get(&key("465/inet")).unwrap().tls.clone().unwrap();
    assert_eq!(wrap.level, "wrappermode");
}

#[test]
fn roles_expand_to_the_listeners_master_cf_defines() {
    let master = format!(
        "25 inet {LINE} smtpd\n  -o smtpd_tls_security_level=encrypt\n\
         192.0.2.1:smtp inet {LINE} smtpd\n"
    );
    let f = host("smtpd_tls_security_level = may\n", &master);
    let p = policy("name: t\ndescription: d\nroles:\n  mx:\n    smtpd_tls_security_level: null\n  submission:\n    smtpd_tls_auth_only: \"yes\"\n");
    let e = host::plan::expand_roles(&p, &f.host.topology);
    let keys: Vec<&str> = e.services.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, ["25/inet", "192.0.2.1:smtp/inet"]);
    assert!(e.services.iter().all(|s| s.optional));
    let plan = host::plan::plan(&f.host, &[p]).unwrap();
    let after = String::from_utf8(plan.master_after).unwrap();
    assert!(!after.contains("smtpd_tls_security_level"), "{after}");
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(plan.changes[0].scope, "25/inet");
}

const KEEP: &str = "name: t\ndescription: d\nmain:\n  smtpd_tls_security_level: may\nexpect:\n  mx: { tls: optional }\n  submission: { tls: keep }\n";

#[test]
fn keep_pins_a_level_lost_by_inheritance_and_lists_every_change() {
    let master = format!(
        "smtp inet {LINE} smtpd\n\
         127.0.0.1:submission inet {LINE} smtpd\n\
         127.0.0.1:10025 inet {LINE} smtpd\n"
    );
    let f = host("smtpd_tls_security_level = encrypt\n", &master);
    let plan = host::plan::plan(&f.host, &[policy(KEEP)]).unwrap();
    let after = postfix_conf::MasterCf::parse(&plan.master_after).unwrap();
    let pin = after
        .service("127.0.0.1:submission/inet")
        .and_then(|s| s.get_override("smtpd_tls_security_level"));
    assert_eq!(pin.map(|o| o.value).as_deref(), Some("encrypt"));
    assert!(after
        .service("smtp/inet")
        .and_then(|s| s.get_override("smtpd_tls_security_level"))
        .is_none());
    let c: Vec<(&str, &str, &str, &str)> = plan
        .listener_changes
        .iter()
        .map(|c| {
            (
                c.listener.as_str(),
                c.before.as_str(),
                c.after.as_str(),
                c.cause.as_str(),
            )
        })
        .collect();
    assert_eq!(
        c,
        [
            ("smtp/inet", "encrypt", "may", "inheritance"),
            ("127.0.0.1:submission/inet", "encrypt", "encrypt", "pinned"),
            ("127.0.0.1:10025/inet", "encrypt", "may", "inheritance"),
        ]
    );
    assert!(
        plan.expectations.iter().all(|e| e.holds),
        "{:?}",
        plan.expectations
    );
    assert_eq!(plan.expectations.len(), 2);
}

#[test]
fn an_explicit_edit_is_not_pinned_and_the_expectation_fails_with_its_line() {
    let master = format!("submission inet {LINE} smtpd\n  -o smtpd_tls_security_level=encrypt\n");
    let f = host("smtpd_tls_security_level = may\n", &master);
    // The policy itself lowers the submission listener: its intent contradicts its expectation.
    let p = policy("name: t\ndescription: d\nroles:\n  submission:\n    smtpd_tls_security_level: may\nexpect:\n  submission: { tls: keep }\n");
    let plan = host::plan::plan(&f.host, &[p]).unwrap();
    let failed: Vec<_> = plan.failed_expectations().collect();
    assert_eq!(failed.len(), 1, "{:?}", plan.expectations);
    let want = format!("{}:2", f.host.files.master_path.display());
    assert_eq!(failed[0].location.as_deref(), Some(want.as_str()));
    assert_eq!(failed[0].listener, "submission/inet");
    assert!(plan.listener_changes.iter().all(|c| c.cause != "pinned"));
}

#[test]
fn postscreen_own_level_counts_for_mx() {
    let master = format!("smtp inet n - n - 1 postscreen\nsmtpd pass {LINE} smtpd\n");
    let f = host(
        "smtpd_tls_security_level = may\npostscreen_tls_security_level = encrypt\npostscreen_pipelining_enable = yes\n",
        &master,
    );
    let ps = f.host.topology.get(&key("smtp/inet")).unwrap();
    assert_eq!(ps.deep_protocol_tests, Some(true));
    assert!(ps.tls.as_ref().unwrap().mandatory);
    let only_expect = policy("name: t\ndescription: d\nexpect:\n  mx: { tls: optional }\n");
    let plan = host::plan::plan(&f.host, &[only_expect]).unwrap();
    let failed: Vec<_> = plan.failed_expectations().collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].listener, "smtp/inet");
    let want = format!("{}:2", f.host.files.main_path.display());
    assert_eq!(failed[0].location.as_deref(), Some(want.as_str()));
    // Removing it in main.cf makes it hold.
    let fix = policy("name: t\ndescription: d\nmain:\n  postscreen_tls_security_level: null\nexpect:\n  mx: { tls: optional }\n");
    let plan = host::plan::plan(&f.host, &[fix]).unwrap();
    assert!(
        plan.expectations.iter().all(|e| e.holds),
        "{:?}",
        plan.expectations
    );
}

#[test]
fn bad_roles_and_expectations_are_located() {
    let e = parse_policy(
        "name: t\ndescription: d\nroles:\n  mxx:\n    smtpd_tls_loglevel: 1\nexpect:\n  mx: { tls: maybe }\n",
        Origin::BuiltIn,
        None,
    )
    .unwrap_err();
    let msgs: Vec<String> =
        e.0.iter()
            .map(|x| format!("{}:{} {}", x.line, x.column, x.message))
            .collect();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(
        msgs[0].starts_with("4:3 roles: unknown role \"mxx\""),
        "{msgs:?}"
    );
    assert!(msgs[1].starts_with("7:3 expect.mx must be"), "{msgs:?}");
}

#[test]
fn parse_errors_name_file_and_line_and_nothing_is_discovered() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("main.cf"),
        "ok = 1\n  leading continuation is fine\n= bad\n",
    )
    .unwrap();
    let err = Host::discover(&HostOptions {
        config_dir: tmp.path().to_path_buf(),
        crypto_dir: Path::new("/nonexistent").to_path_buf(),
        version: Some(PostfixVersion::new(3, 7, 11)),
    })
    .err()
    .expect("a parse error");
    let text = err.to_string();
    assert!(text.contains("main.cf:3"), "{text}");
}
