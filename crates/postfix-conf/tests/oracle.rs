//! The real `postconf` as oracle: effective parameters (-n) and overrides (-P) of every
//! fixture and of Debian's stock files, before and after each kind of edit.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use postfix_conf::{display_value, MainCf, MasterCf};

fn stock_and_fixtures(suffix: &str, stock: &str) -> Vec<(String, Vec<u8>)> {
    let mut v = common::fixtures(suffix);
    if let Some(b) = common::stock(stock) {
        v.push((stock.to_string(), b));
    }
    v
}

#[test]
fn main_effective_equals_postconf_n() {
    for (name, bytes) in stock_and_fixtures(".main.cf", "main.cf.dist") {
        common::assert_main_matches(&bytes, &name);
    }
}

#[test]
fn master_overrides_equal_postconf_p() {
    for (name, bytes) in stock_and_fixtures(".master.cf", "master.cf.dist") {
        common::assert_master_matches(&bytes, &name);
    }
}

/// postconf -n of the unedited file, run once per fixture.
struct Before {
    bytes: Vec<u8>,
    params: BTreeMap<String, String>,
    warnings: BTreeSet<String>,
}

/// After an edit: postconf shows `expect` for `name` and every other parameter unchanged,
/// and reports no warning that the original did not have.
fn check_main_edit(before: &Before, after: &[u8], name: &str, expect: Option<&str>, what: &str) {
    let Some(run_after) = common::assert_main_matches(after, what) else {
        return;
    };
    let mut pc_after = common::parse_listing(&run_after.stdout);
    pc_after.remove("config_directory");
    // Names referenced only by the edited value may appear or disappear; compare known ones.
    let others = |m: &BTreeMap<String, String>| -> BTreeMap<String, String> {
        m.iter()
            .filter(|(k, _)| k.as_str() != name && common::known_names().contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    assert_eq!(
        others(&pc_after),
        others(&before.params),
        "{what}: other parameters changed"
    );
    match expect {
        Some(v) if common::known_names().contains(name) => {
            assert_eq!(
                pc_after.get(name).map(String::as_str),
                Some(display_value(v).as_str()),
                "{what}"
            )
        }
        Some(_) => {}
        None => assert!(!pc_after.contains_key(name), "{what}: {name} still set"),
    }
    // A name only the old value referenced becomes "unused"; removing a referenced
    // user-defined name makes it "undefined". Both are expected consequences.
    let old_refs = MainCf::parse(&before.bytes)
        .ok()
        .and_then(|d| d.get(name))
        .map(|e| postfix_conf::expand::references(&e.value))
        .unwrap_or_default();
    let expected = |w: &String| {
        old_refs
            .iter()
            .any(|r| w.contains(&format!("unused parameter: {r}=")))
            || (expect.is_none() && w.ends_with(&format!("undefined parameter: {name}")))
    };
    let new: Vec<_> = common::warning_set(&run_after.stderr)
        .difference(&before.warnings)
        .filter(|w| !expected(w))
        .cloned()
        .collect();
    assert!(new.is_empty(), "{what}: new warnings {new:?}");
}

#[test]
fn main_edits_agree_with_postconf() {
    let edits: [(&str, &str); 4] = [
        ("smtpd_tls_security_level", "may"),
        ("myorigin", "$mydomain"),
        (
            "smtpd_banner",
            "$myhostname  ESMTP ${mail_name?{$mail_name}:{x}}",
        ),
        ("relayhost", ""),
    ];
    for (fname, bytes) in stock_and_fixtures(".main.cf", "main.cf.dist") {
        let Some((params, run)) = common::postconf_n(&bytes) else {
            return;
        };
        let before = Before {
            bytes: bytes.clone(),
            params,
            warnings: common::warning_set(&run.stderr),
        };
        let doc = MainCf::parse(&bytes).expect("parse");
        for (n, v) in edits {
            let mut d = doc.clone();
            d.set(n, v).expect("set");
            assert_eq!(d.get(n).expect("set").value, v);
            check_main_edit(
                &before,
                &d.render(),
                n,
                Some(v),
                &format!("{fname}: set {n}"),
            );
        }
        // Remove / comment out the first and the last effective names.
        let eff = doc.effective();
        for (i, e) in [eff.first(), eff.last()].into_iter().flatten().enumerate() {
            let mut d = doc.clone();
            if i == 0 {
                assert!(d.remove(&e.name));
            } else {
                assert!(d.comment_out(&e.name));
            }
            check_main_edit(
                &before,
                &d.render(),
                &e.name,
                None,
                &format!("{fname}: remove/comment {}", e.name),
            );
        }
    }
}

#[test]
fn master_edits_agree_with_postconf() {
    for (fname, bytes) in stock_and_fixtures(".master.cf", "master.cf.dist") {
        let doc = MasterCf::parse(&bytes).expect("parse");
        let Some((_, run0)) = common::postconf_p(&bytes) else {
            return;
        };
        let w0 = common::warning_set(&run0.stderr);
        let services = doc.services();
        // The first service and the last one that has overrides (if any).
        let mut picks = vec![services[0].key()];
        if let Some(s) = services.iter().rev().find(|s| !s.overrides.is_empty()) {
            picks.push(s.key());
        }
        for key in picks {
            let svc = doc.service(&key).expect("service");
            let mut edits: Vec<(String, &str)> = vec![("smtpd_tls_security_level".into(), "may")];
            if let Some(o) = svc.overrides.first() {
                edits.push((o.name.clone(), "x  y"));
            }
            for (n, v) in &edits {
                let mut d = doc.clone();
                d.set_override(&key, n, v).expect("set_override");
                assert_eq!(
                    d.service(&key)
                        .expect("svc")
                        .get_override(n)
                        .expect("o")
                        .value,
                    *v
                );
                let what = format!("{fname}: {key} -o {n}={v}");
                let run = common::assert_master_matches(&d.render(), &what).expect("ran");
                let line = format!("{key}/{n} = {}", display_value(v));
                assert!(
                    String::from_utf8_lossy(&run.stdout)
                        .lines()
                        .any(|l| l == line),
                    "{what}: {line}"
                );
                let new: Vec<_> = common::warning_set(&run.stderr)
                    .difference(&w0)
                    .cloned()
                    .collect();
                assert!(new.is_empty(), "{what}: new warnings {new:?}");
                let others = |m: &MasterCf| -> Vec<String> {
                    common::crate_p(m)
                        .into_iter()
                        .filter(|l| !l.starts_with(&format!("{key}/")))
                        .collect()
                };
                assert_eq!(others(&d), others(&doc), "{what}: other services changed");
            }
            if let Some(o) = svc.overrides.first() {
                let mut d = doc.clone();
                assert_eq!(d.remove_override(&key, &o.name), Ok(true));
                let what = format!("{fname}: {key} remove -o {}", o.name);
                let run = common::assert_master_matches(&d.render(), &what).expect("ran");
                assert!(
                    !String::from_utf8_lossy(&run.stdout).contains(&format!("{key}/{} =", o.name)),
                    "{what}"
                );
            }
        }
    }
}
