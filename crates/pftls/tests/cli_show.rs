//! `pftls show --all --format json` equals what the real postconf reports for the same files:
//! main.cf settings vs `postconf -n`, master.cf overrides vs `postconf -P`.

mod common;

use std::collections::BTreeSet;

use common::{postconf, repo, Sandbox};

fn collapse(v: &str) -> String {
    v.split([' ', '\t', '\r', '\n'])
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// (postconf -n, postconf -P) as pftls reports them.
fn pftls_view(s: &Sandbox) -> (BTreeSet<String>, BTreeSet<String>) {
    let (code, v) = s.json(&["show", "--all"]);
    assert_eq!(code, 0, "{v}");
    let mut n = BTreeSet::new();
    let mut p = BTreeSet::new();
    for e in v["parameters"].as_array().unwrap() {
        let (scope, name, value, source) = (
            e["scope"].as_str().unwrap(),
            e["name"].as_str().unwrap(),
            e["value"].as_str().unwrap(),
            e["source"].as_str().unwrap(),
        );
        let shown = format!("{name} = {}", collapse(value));
        if scope == "main" && source.starts_with("main.cf:") {
            n.insert(shown.trim_end().to_string());
        } else if scope != "main" && source.starts_with("master.cf:") {
            p.insert(format!("{scope}/{}", shown).trim_end().to_string());
        }
    }
    (n, p)
}

fn check(s: &Sandbox, what: &str) {
    let (n, p) = pftls_view(s);
    let want_n: BTreeSet<String> = postconf(&s.conf, "-n")
        .into_iter()
        .map(|l| l.trim_end().to_string())
        .collect();
    let want_p: BTreeSet<String> = postconf(&s.conf, "-P")
        .into_iter()
        .map(|l| l.trim_end().to_string())
        .collect();
    assert_eq!(n, want_n, "{what}: main.cf view differs from postconf -n");
    assert_eq!(p, want_p, "{what}: master.cf view differs from postconf -P");
}

#[test]
fn show_all_agrees_with_postconf_on_every_example() {
    for ex in [
        "centos-stream-10/stock",
        "centos-stream-10/over-hardened",
        "centos-stream-10/submission",
        "debian-12/stock",
    ] {
        check(&Sandbox::new(ex), ex);
    }
}

#[test]
fn show_all_agrees_with_postconf_on_odd_fixtures() {
    let dir = repo().join("tests/fixtures/postfix-conf");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let s = Sandbox::new("debian-12/stock");
        if name.ends_with(".main.cf") {
            std::fs::copy(&p, s.conf.join("main.cf")).unwrap();
        } else if name.ends_with(".master.cf") {
            std::fs::copy(&p, s.conf.join("master.cf")).unwrap();
        } else {
            continue;
        }
        // Fixtures postconf itself refuses are covered by the error tests.
        let ok = common::postconf_succeeds(&s.conf);
        if !ok {
            continue;
        }
        check(&s, &name);
        n += 1;
    }
    assert!(n >= 8, "only {n} fixtures compared");
}

#[test]
fn show_reports_provenance_of_tls_settings() {
    let s = Sandbox::new("centos-stream-10/over-hardened");
    let (code, v) = s.json(&["show"]);
    assert_eq!(code, 0);
    let find = |scope: &str, name: &str| {
        v["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["scope"] == scope && e["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{scope} {name} missing"))
    };
    let main_cf = std::fs::read_to_string(s.conf.join("main.cf")).unwrap();
    let line = main_cf
        .lines()
        .position(|l| l.starts_with("smtpd_tls_security_level = encrypt"))
        .unwrap()
        + 1;
    assert_eq!(
        find("main", "smtpd_tls_security_level")["source"],
        format!("main.cf:{line}")
    );
    assert_eq!(
        find("smtp/inet", "smtpd_tls_security_level")["source"],
        "master.cf:13"
    );
    assert_eq!(find("main", "smtpd_tls_ciphers")["value"], "high");
    let d = find("main", "smtpd_tls_mandatory_exclude_ciphers");
    assert_eq!(d["source"], "default");
    // Without --all, non-TLS parameters are not listed.
    assert!(!v["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["name"] == "alias_maps"));
}
