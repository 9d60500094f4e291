//! The real `postconf` as oracle: effective parameters (-n) and overrides (-P) of every
//! fixture and of Debian's stock files, before and after each kind of edit.

mod common;

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

/// After an edit: postconf shows `expect` for `name` and every other parameter unchanged,
/// and reports no warning that the original did not have.
fn check_main_edit(before: &[u8], after: &[u8], name: &str, expect: Option<&str>, what: &str) {
    let Some((pc_before, run_before)) = common::postconf_n(before) else {
        return;
    };
    let run_after = common::assert_main_matches(after, what).expect("postconf ran before");
    let pc_after = common::parse_listing(&run_after.stdout);
    let strip = |mut m: std::collections::BTreeMap<String, String>| {
        m.remove("config_directory");
        m.remove(name);
        m
    };
    // Names referenced only by the edited value may appear or disappear; compare the rest.
    let mut b = strip(pc_before);
    let mut a = strip(pc_after.clone());
    b.retain(|k, _| common::known_names().contains(k));
    a.retain(|k, _| common::known_names().contains(k));
    assert_eq!(a, b, "{what}: other parameters changed");
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
    let wb = common::warning_set(&run_before.stderr);
    // A name only the old value referenced becomes "unused"; that warning is expected.
    let old_refs = MainCf::parse(before)
        .ok()
        .and_then(|d| d.get(name))
        .map(|e| postfix_conf::expand::references(&e.value))
        .unwrap_or_default();
    let new: Vec<_> = common::warning_set(&run_after.stderr)
        .difference(&wb)
        .filter(|w| {
            !old_refs
                .iter()
                .any(|r| w.contains(&format!("unused parameter: {r}=")))
        })
        .cloned()
        .collect();
    assert!(new.is_empty(), "{what}: new warnings {new:?}");
}

#[test]
fn main_edits_agree_with_postconf() {
    let edits: [(&str, &str); 5] = [
        ("smtpd_tls_security_level", "may"),
        ("myorigin", "$mydomain"),
        ("smtpd_tls_mandatory_protocols", ">=TLSv1.2"),
        (
            "smtpd_banner",
            "$myhostname  ESMTP ${mail_name?{$mail_name}:{x}}",
        ),
        ("relayhost", ""),
    ];
    for (fname, bytes) in stock_and_fixtures(".main.cf", "main.cf.dist") {
        let names: Vec<String> = MainCf::parse(&bytes)
            .expect("parse")
            .effective()
            .into_iter()
            .map(|e| e.name)
            .collect();
        for (n, v) in edits {
            let mut d = MainCf::parse(&bytes).expect("parse");
            d.set(n, v).expect("set");
            assert_eq!(d.get(n).expect("set").value, v);
            check_main_edit(
                &bytes,
                &d.render(),
                n,
                Some(v),
                &format!("{fname}: set {n}"),
            );
        }
        for n in names.iter().take(3) {
            let mut d = MainCf::parse(&bytes).expect("parse");
            assert!(d.remove(n));
            check_main_edit(
                &bytes,
                &d.render(),
                n,
                None,
                &format!("{fname}: remove {n}"),
            );
            let mut d = MainCf::parse(&bytes).expect("parse");
            assert!(d.comment_out(n));
            check_main_edit(
                &bytes,
                &d.render(),
                n,
                None,
                &format!("{fname}: comment out {n}"),
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
        for s in doc.services() {
            let key = s.key();
            let mut names: Vec<String> = s.overrides.iter().map(|o| o.name.clone()).collect();
            names.push("smtpd_tls_security_level".into());
            for n in names {
                for v in ["may", "x  y"] {
                    let mut d = doc.clone();
                    d.set_override(&key, &n, v).expect("set_override");
                    let mut expect = doc.clone();
                    let got = d
                        .service(&key)
                        .expect("service")
                        .get_override(&n)
                        .expect("override")
                        .value;
                    assert_eq!(got, v);
                    let run = common::assert_master_matches(
                        &d.render(),
                        &format!("{fname}: {key} -o {n}={v}"),
                    )
                    .expect("ran");
                    let line = format!("{key}/{n} = {}", display_value(v));
                    assert!(
                        String::from_utf8_lossy(&run.stdout)
                            .lines()
                            .any(|l| l == line),
                        "{fname}: {line}"
                    );
                    let new: Vec<_> = common::warning_set(&run.stderr)
                        .difference(&w0)
                        .cloned()
                        .collect();
                    assert!(new.is_empty(), "{fname}: {key} {n}: new warnings {new:?}");
                    // Other services are untouched.
                    let others = |m: &MasterCf| -> Vec<String> {
                        common::crate_p(m)
                            .into_iter()
                            .filter(|l| !l.starts_with(&format!("{key}/")))
                            .collect()
                    };
                    assert_eq!(others(&d), others(&expect));
                    assert_eq!(expect.remove_override(&key, "nonexistent_param"), Ok(false));
                }
                let mut d = doc.clone();
                // With duplicate services the key names the last one.
                let had = doc
                    .service(&key)
                    .expect("service")
                    .overrides
                    .iter()
                    .any(|o| o.name == n);
                assert_eq!(d.remove_override(&key, &n), Ok(had));
                let run =
                    common::assert_master_matches(&d.render(), &format!("{fname}: {key} -X {n}"))
                        .expect("ran");
                assert!(!String::from_utf8_lossy(&run.stdout).contains(&format!("{key}/{n} =")));
            }
        }
    }
}
