//! The literal planner, the effective-value view and policy validation as a library:
//! merge (conflicts, equal values), edit requests applied to the documents, provenance of
//! effective values, and validation errors with their positions.

use pftls_policy::plan::Resolution;
use pftls_policy::policy::{parse_policy, Origin};
use pftls_policy::{
    make_plan, Catalogue, ConfigView, CryptoFacts, Environment, PlanError, Policy, PostfixVersion,
    Source,
};
use postfix_conf::{MainCf, MasterCf, Scope};

fn env() -> Environment {
    let v = PostfixVersion::new(3, 7, 11);
    Environment {
        version: v,
        catalogue: Catalogue::builtin(v),
        crypto: CryptoFacts {
            source: "test".into(),
            min_protocol: "TLSv1.2".into(),
            exclusions: vec!["kRSA".into()],
            protocols_value: ">=TLSv1.2".into(),
        },
    }
}

fn policy(yaml: &str) -> Policy {
    parse_policy(yaml, Origin::BuiltIn, None).unwrap()
}

const MASTER: &str = "smtp inet n - n - - smtpd\n  -o smtpd_tls_security_level=encrypt\nsubmission inet n - n - - smtpd\n";

#[test]
fn merge_applies_edits_and_reports_each_change() {
    let p = policy("name: a\ndescription: d\nmain:\n  smtpd_tls_security_level: may\n  smtpd_tls_exclude_ciphers: { crypto_policy: exclude_ciphers }\nservices:\n  smtp/inet:\n    smtpd_tls_security_level: null\n");
    let plan = make_plan(
        b"smtpd_tls_security_level = encrypt\n",
        MASTER.as_bytes(),
        &[p],
        &env(),
    )
    .unwrap();
    let main = MainCf::parse(&plan.main_after).unwrap();
    assert_eq!(main.get("smtpd_tls_security_level").unwrap().value, "may");
    assert_eq!(main.get("smtpd_tls_exclude_ciphers").unwrap().value, "kRSA");
    let master = MasterCf::parse(&plan.master_after).unwrap();
    assert!(master
        .service("smtp/inet")
        .unwrap()
        .get_override("smtpd_tls_security_level")
        .is_none());
    let changes: Vec<(&str, &str, Option<&str>, Option<&str>)> = plan
        .changes
        .iter()
        .map(|c| {
            (
                c.scope.as_str(),
                c.name.as_str(),
                c.before.as_deref(),
                c.after.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("main", "smtpd_tls_exclude_ciphers", None, Some("kRSA")),
            (
                "main",
                "smtpd_tls_security_level",
                Some("encrypt"),
                Some("may")
            ),
            (
                "smtp/inet",
                "smtpd_tls_security_level",
                Some("encrypt"),
                None
            ),
        ]
    );
    assert_eq!(
        plan.resolutions,
        [Resolution {
            scope: "main".into(),
            name: "smtpd_tls_exclude_ciphers".into(),
            value: Some("kRSA".into()),
            why: "ciphers that test forbids".into(),
        }]
    );
    // Planning the result again changes nothing.
    let p = policy("name: a\ndescription: d\nmain:\n  smtpd_tls_security_level: may\n");
    let again = make_plan(&plan.main_after, &plan.master_after, &[p], &env()).unwrap();
    assert!(!again.changed());
}

#[test]
fn conflicting_policies_are_refused_and_equal_values_merge() {
    let a = policy("name: a\ndescription: d\nmain:\n  smtpd_tls_loglevel: 1\n");
    let b = policy("name: b\ndescription: d\nmain:\n  smtpd_tls_loglevel: 2\n");
    let c = policy("name: c\ndescription: d\nmain:\n  smtpd_tls_loglevel: 1\n");
    match make_plan(b"", b"", &[a.clone(), b], &env()) {
        Err(PlanError::Conflict(c)) => {
            assert_eq!((c.first.as_str(), c.second.as_str()), ("a", "b"));
            assert_eq!(c.name, "smtpd_tls_loglevel");
        }
        other => panic!("{other:?}"),
    }
    let plan = make_plan(b"", b"", &[a, c], &env()).unwrap();
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(plan.changes[0].policy, "a");
}

#[test]
fn validation_errors_carry_positions_and_unknown_services() {
    let p = policy("name: a\ndescription: d\nmain:\n  smtpd_tls_secrity_level: may\nservices:\n  nosuch/inet:\n    smtpd_tls_loglevel: 1\n");
    let master = MasterCf::parse(MASTER.as_bytes()).unwrap();
    let errors = pftls_policy::validate::validate(&p, &env(), Some(&master));
    let at: Vec<(usize, usize)> = errors.iter().map(|e| (e.line, e.column)).collect();
    assert_eq!(at, [(4, 3), (6, 3)], "{errors:?}");
    assert!(
        errors[0].message.contains("smtpd_tls_security_level"),
        "suggests the name: {errors:?}"
    );
    assert!(errors[1].message.contains("nosuch/inet"));
    // A bad input document is an error naming its line, never a plan.
    match make_plan(
        b"= x\n",
        b"",
        &[policy("name: a\ndescription: d\n")],
        &env(),
    ) {
        Err(PlanError::Parse { file, line, .. }) => {
            assert_eq!((file.as_str(), line), ("main.cf", 1))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn effective_values_come_from_override_then_main_then_default() {
    let main = MainCf::parse(b"smtpd_tls_security_level = may\nlvl = encrypt\n").unwrap();
    let master = MasterCf::parse(
        b"smtp inet n - n - - smtpd\n  -o smtpd_tls_security_level=$lvl\nsubmission inet n - n - - smtpd\n",
    )
    .unwrap();
    let cat = Catalogue::builtin(PostfixVersion::new(3, 7, 11));
    let v = ConfigView::new(&main, &master, &cat);
    let smtp = Scope::parse_legacy("smtp/inet").unwrap();
    let sub = Scope::parse_legacy("submission/inet").unwrap();
    assert_eq!(
        v.value_in(&smtp, "smtpd_tls_security_level").source,
        Source::Master(2)
    );
    assert_eq!(
        v.expanded_in(&smtp, "smtpd_tls_security_level").unwrap(),
        "encrypt"
    );
    assert_eq!(
        v.value_in(&sub, "smtpd_tls_security_level").source,
        Source::Main(1)
    );
    assert_eq!(
        v.value_in(&sub, "smtpd_tls_loglevel").source,
        Source::Default
    );
    assert_eq!(
        v.value_in(&Scope::Main, "no_such_parameter").source,
        Source::Unset
    );
}
