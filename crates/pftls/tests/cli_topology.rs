//! Listener topology and the role-aware planner against the real postconf: every spelling of
//! port 25, postscreen (with and without deep protocol tests, with its own TLS level), several
//! port-25 listeners, submission on loopback inheriting `encrypt` or `smtpd_enforce_tls`, and
//! `-o smtpd_tls_security_level=$var`. postconf decides the effective values; the tests check
//! that pftls classifies and levels each listener the same way, that inbound-opportunistic
//! leaves every mx listener opportunistic and every submission listener mandatory (as postconf
//! reads the result), that a second apply is a no-op and rollback is byte-exact, and that an
//! apply whose expectation fails refuses, names the listener and file:line, and writes nothing.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::{require, Sandbox};
use serde_json::Value;

/// A sandbox with the given main.cf and master.cf.
fn sandbox(main: &str, master: &str) -> Sandbox {
    let s = Sandbox::new("does-not-exist");
    std::fs::write(s.conf.join("main.cf"), main).unwrap();
    std::fs::write(s.conf.join("master.cf"), master).unwrap();
    s
}

/// postconf's view of a configuration: expanded main.cf values (defaults included) and
/// expanded `-o` overrides, read from a settled copy (Postfix waits for fresh files).
struct Oracle {
    main: BTreeMap<String, String>,
    overrides: BTreeMap<String, String>,
}

fn postconf_map(dir: &Path, args: &[&str]) -> BTreeMap<String, String> {
    require("postconf");
    let copy = tempfile::tempdir().unwrap();
    for f in ["main.cf", "master.cf"] {
        let bytes = std::fs::read(dir.join(f)).unwrap();
        pftls::validate::write_settled(&copy.path().join(f), &bytes).unwrap();
    }
    let out = Command::new("postconf")
        .arg("-c")
        .arg(copy.path())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "postconf {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            l.split_once(" = ")
                .or_else(|| l.strip_suffix(" =").map(|k| (k, "")))
        })
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl Oracle {
    fn of(dir: &Path) -> Oracle {
        Oracle {
            main: postconf_map(dir, &["-x"]),
            overrides: postconf_map(dir, &["-P", "-x"]),
        }
    }

    fn get(&self, service: &str, name: &str) -> String {
        self.overrides
            .get(&format!("{service}/{name}"))
            .or_else(|| self.main.get(name))
            .cloned()
            .unwrap_or_default()
    }

    /// The level smtpd (or postscreen) enforces, by postconf(5)'s rules.
    fn level(&self, service: &str, command: &str) -> String {
        let yes = |n: &str| self.get(service, n).eq_ignore_ascii_case("yes");
        let (level, enforce, use_tls) = if command == "postscreen" {
            (
                "postscreen_tls_security_level",
                "postscreen_enforce_tls",
                "postscreen_use_tls",
            )
        } else {
            if yes("smtpd_tls_wrappermode") {
                return "wrappermode".into();
            }
            (
                "smtpd_tls_security_level",
                "smtpd_enforce_tls",
                "smtpd_use_tls",
            )
        };
        let l = self.get(service, level);
        if !l.is_empty() {
            l
        } else if yes(enforce) {
            "encrypt".into()
        } else if yes(use_tls) {
            "may".into()
        } else {
            "none".into()
        }
    }
}

/// The port of a master.cf inet service name, by the system's services(5) database.
fn port_by_getent(name: &str) -> u16 {
    let port = match name.strip_prefix('[') {
        Some(r) => r.split_once("]:").map_or(r, |(_, p)| p),
        None => name.rsplit_once(':').map_or(name, |(_, p)| p),
    };
    if let Ok(n) = port.parse() {
        return n;
    }
    require("getent");
    let out = Command::new("getent")
        .args(["services", &format!("{port}/tcp")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .nth(1)
        .and_then(|p| p.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("getent services {port}: {text:?}"))
}

fn topology(s: &Sandbox) -> Vec<Value> {
    let (code, v) = s.json(&["show"]);
    assert_eq!(code, 0, "{v}");
    v["topology"]["listeners"].as_array().unwrap().clone()
}

fn listener<'a>(t: &'a [Value], key: &str) -> &'a Value {
    t.iter()
        .find(|l| l["service"] == key)
        .unwrap_or_else(|| panic!("{key} not in topology: {t:?}"))
}

/// Every smtpd/postscreen listener's level equals postconf's, and inet roles follow the port
/// the system's services database gives.
fn assert_matches_postconf(s: &Sandbox) -> Vec<Value> {
    let t = topology(s);
    let o = Oracle::of(&s.conf);
    for l in &t {
        let key = l["service"].as_str().unwrap();
        let command = l["command"].as_str().unwrap();
        if let Some(tls) = l["tls"].as_object() {
            assert_eq!(
                tls["level"].as_str().unwrap(),
                o.level(key, command),
                "{key}: pftls {l} vs postconf"
            );
        }
        let (name, kind) = key.rsplit_once('/').unwrap();
        if kind == "inet" && matches!(command, "smtpd" | "postscreen") {
            let port = port_by_getent(name);
            let role = l["role"].as_str().unwrap();
            match port {
                25 => assert_eq!(role, "mx", "{key}"),
                587 => assert_eq!(role, "submission", "{key}"),
                465 => assert_eq!(role, "submissions", "{key}"),
                _ => assert_ne!(role, "mx", "{key}"),
            }
        }
    }
    t
}

const MAIN: &str = "myhostname = mx.example.org\ncompatibility_level = 3.6\nsmtpd_tls_security_level = encrypt\nsmtpd_tls_cert_file = /etc/ssl/certs/ssl-cert-snakeoil.pem\nsmtpd_tls_key_file = /etc/ssl/private/ssl-cert-snakeoil.key\n";

const POSTSCREEN: &str = "\
smtp      inet  n       -       y       -       1       postscreen
smtpd     pass  -       -       y       -       -       smtpd
  -o smtpd_tls_security_level=encrypt
dnsblog   unix  -       -       y       -       0       dnsblog
tlsproxy  unix  -       -       y       -       0       tlsproxy
127.0.0.1:submission inet n -   y       -       -       smtpd
  -o smtpd_sasl_auth_enable=yes
587       inet  n       -       y       -       -       smtpd
  -o smtpd_tls_security_level=$sub_level
127.0.0.1:10025 inet n  -       n       -       -       smtpd
  -o content_filter=
pickup    unix  n       -       y       60      1       pickup
";

#[test]
fn postscreen_topology_matches_postconf_and_apply_keeps_submission_mandatory() {
    let main = format!("{MAIN}sub_level = encrypt\npostscreen_pipelining_enable = yes\npostscreen_tls_security_level = encrypt\n");
    let s = sandbox(&main, POSTSCREEN);
    let t = assert_matches_postconf(&s);
    let ps = listener(&t, "smtp/inet");
    assert_eq!(ps["role"], "mx");
    assert_eq!(ps["deep_protocol_tests"], true);
    assert_eq!(ps["tls"]["level"], "encrypt");
    let pass = listener(&t, "smtpd/pass");
    assert_eq!(pass["role"], "mx");
    assert_eq!(pass["behind"], "smtp/inet");
    assert_eq!(
        listener(&t, "127.0.0.1:submission/inet")["role"],
        "submission"
    );
    assert_eq!(listener(&t, "587/inet")["role"], "submission");
    assert_eq!(
        listener(&t, "587/inet")["tls"]["via"][0],
        "smtpd_tls_security_level = $sub_level (master.cf:9)"
    );
    assert_eq!(listener(&t, "127.0.0.1:10025/inet")["role"], "internal");
    assert_eq!(listener(&t, "pickup/unix")["role"], "other");

    let (code, v) = s.json(&["apply", "-p", "inbound-opportunistic", "--no-impact"]);
    assert_eq!(code, 0, "{v}");
    assert!(
        v["expectations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["holds"] == true),
        "{v}"
    );
    // The loopback submission inherited encrypt: pinned, and listed as such.
    let pinned: Vec<&Value> = v["listener_changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["cause"] == "pinned")
        .collect();
    assert_eq!(pinned.len(), 1, "{v}");
    assert_eq!(pinned[0]["listener"], "127.0.0.1:submission/inet");
    // The internal re-injection listener changes by inheritance: listed, not hidden.
    assert!(v["listener_changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["listener"] == "127.0.0.1:10025/inet"
            && c["cause"] == "inheritance"
            && c["before"] == "encrypt"
            && c["after"] == "may"));

    // postconf's reading of the result.
    let o = Oracle::of(&s.conf);
    assert_eq!(o.level("smtp/inet", "postscreen"), "may");
    assert_eq!(o.level("smtpd/pass", "smtpd"), "may");
    assert_eq!(o.level("127.0.0.1:submission/inet", "smtpd"), "encrypt");
    assert_eq!(o.level("587/inet", "smtpd"), "encrypt");
    assert_matches_postconf(&s);

    // A second apply is a no-op; rollback restores the bytes exactly.
    let (main_after, master_after) = (s.main_cf(), s.master_cf());
    let (code, v) = s.json(&["apply", "-p", "inbound-opportunistic", "--no-impact"]);
    assert_eq!((code, &v["changed"]), (0, &Value::Bool(false)), "{v}");
    assert_eq!((s.main_cf(), s.master_cf()), (main_after, master_after));
    let out = s.run(&["rollback"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(s.main_cf()).unwrap(), main);
    assert_eq!(String::from_utf8(s.master_cf()).unwrap(), POSTSCREEN);
}

#[test]
fn every_spelling_of_port_25_is_mx_and_made_opportunistic() {
    let master = "\
203.0.113.5:smtp inet n -       y       -       -       smtpd
  -o smtpd_tls_security_level=encrypt
[2001:db8::5]:25 inet n -       y       -       -       smtpd
  -o smtpd_enforce_tls=yes
mx.example.org:25 inet n -      y       -       -       smtpd
25        inet  n       -       y       -       -       smtpd
  -o smtpd_tls_security_level=${mx_level}
587       inet  n       -       y       -       -       smtpd
  -o smtpd_sasl_auth_enable=yes
";
    // 587 inherits mandatory TLS only through the deprecated smtpd_enforce_tls.
    let main = "myhostname = mx.example.org\ncompatibility_level = 3.6\nsmtpd_enforce_tls = yes\nmx_level = encrypt\n";
    let s = sandbox(main, master);
    let t = assert_matches_postconf(&s);
    for key in [
        "203.0.113.5:smtp/inet",
        "[2001:db8::5]:25/inet",
        "mx.example.org:25/inet",
        "25/inet",
    ] {
        assert_eq!(listener(&t, key)["role"], "mx", "{key}");
        assert_eq!(listener(&t, key)["tls"]["mandatory"], true, "{key}");
    }
    assert_eq!(
        listener(&t, "587/inet")["tls"]["decided_by"],
        "smtpd_enforce_tls"
    );

    let (code, v) = s.json(&["apply", "-p", "inbound-opportunistic", "--no-impact"]);
    assert_eq!(code, 0, "{v}");
    let o = Oracle::of(&s.conf);
    for key in [
        "203.0.113.5:smtp/inet",
        "[2001:db8::5]:25/inet",
        "mx.example.org:25/inet",
        "25/inet",
    ] {
        assert_eq!(o.level(key, "smtpd"), "may", "{key}: {v}");
    }
    assert_eq!(o.level("587/inet", "smtpd"), "encrypt", "{v}");
    assert_matches_postconf(&s);
}

#[test]
fn apply_refuses_when_an_expectation_fails_and_writes_nothing() {
    // Port 25 in wrapper mode requires TLS before SMTP: inbound-opportunistic does not touch
    // wrapper mode, so its "no mx listener requires TLS" cannot hold.
    let master = "\
smtp      inet  n       -       y       -       -       smtpd
  -o smtpd_tls_wrappermode=yes
";
    let s = sandbox(MAIN, master);
    let (main_before, master_before) = (s.main_cf(), s.master_cf());
    let out = s.run(&["apply", "-p", "inbound-opportunistic", "--no-impact"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("smtp/inet"), "{err}");
    let at = format!("{}:2", s.conf.join("master.cf").display());
    assert!(err.contains(&at), "names {at}: {err}");
    assert_eq!((s.main_cf(), s.master_cf()), (main_before, master_before));
    assert!(s.snapshots().is_empty());
    // plan says the same and exits 1.
    let (code, v) = s.json(&["plan", "-p", "inbound-opportunistic", "--no-impact"]);
    assert_eq!(code, 1);
    let failed: Vec<&Value> = v["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["holds"] == false)
        .collect();
    assert_eq!(failed.len(), 1, "{v}");
    assert_eq!(failed[0]["listener"], "smtp/inet");
    assert_eq!(failed[0]["location"], Value::String(at));
}

#[test]
fn show_json_marks_inherited_rows_and_overrides_match_postconf_p() {
    let s = sandbox(&format!("{MAIN}sub_level = encrypt\n"), POSTSCREEN);
    let (code, v) = s.json(&["show", "--all"]);
    assert_eq!(code, 0);
    let p = postconf_map(&s.conf, &["-P"]);
    let rows = v["parameters"].as_array().unwrap();
    let overrides: BTreeMap<String, String> = rows
        .iter()
        .filter(|r| r["scope"] != "main" && r["inherited"] == false)
        .map(|r| {
            (
                format!(
                    "{}/{}",
                    r["scope"].as_str().unwrap(),
                    r["name"].as_str().unwrap()
                ),
                r["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        overrides, p,
        "non-inherited service rows are exactly postconf -P"
    );
    assert!(rows
        .iter()
        .any(|r| r["scope"] == "127.0.0.1:submission/inet" && r["inherited"] == true));
}

#[test]
fn probe_without_target_needs_an_mx_listener() {
    let s = sandbox(
        MAIN,
        "pickup    unix  n       -       y       60      1       pickup\n",
    );
    let out = s.run(&["probe"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    assert!(err.contains("defines no mx listener"), "{err}");
}

/// The text plan lists per-listener changes, the expectation checks, and the findings that
/// remain after the change (not only those it fixes or introduces).
#[test]
fn text_plan_lists_listeners_expectations_and_remaining_findings() {
    let s = sandbox(&format!("{MAIN}sub_level = encrypt\n"), POSTSCREEN);
    let out = s.run(&["plan", "-p", "inbound-opportunistic"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let pinned = text
        .lines()
        .find(|l| l.contains("127.0.0.1:submission/inet") && l.contains("encrypt -> encrypt"))
        .unwrap_or_else(|| panic!("pinned listener line: {text}"));
    assert!(pinned.contains("pinned"), "{pinned}");
    assert!(text.contains("Expectations:"), "{text}");
    assert!(
        text.contains("holds  mx listener smtpd/pass must not require TLS"),
        "{text}"
    );
    // tls-logging does not touch the security level: port 25's E001 remains and is listed.
    let out = s.run(&["plan", "-p", "tls-logging"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let remaining = text
        .split("Remaining findings:")
        .nth(1)
        .unwrap_or_else(|| panic!("no remaining findings section: {text}"));
    assert!(remaining.contains("PFTLS-E001"), "{text}");
}
