//! Parse, render and edit arbitrary bytes as main.cf and master.cf: never panics, parse-render
//! is the identity, and an accepted edit leaves a document that parses and shows the value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postfix_conf::{MainCf, MasterCf};

/// Picks a short name and value out of the fuzz input so edits hit existing entries too.
fn pick(data: &[u8], at: usize) -> String {
    let s = String::from_utf8_lossy(data.get(at..).unwrap_or_default());
    s.chars().take(12).collect()
}

fuzz_target!(|data: &[u8]| {
    if let Ok(mut doc) = MainCf::parse(data) {
        assert_eq!(doc.render(), data);
        let _ = doc.warnings();
        let _ = doc.effective();
        let names: Vec<String> = doc.entries().into_iter().map(|e| e.name).collect();
        let name = names.first().cloned().unwrap_or_else(|| "relayhost".into());
        let value = pick(data, data.len() / 2);
        if doc.set(&name, &value).is_ok() {
            assert_eq!(doc.get(&name).map(|e| e.value), Some(value.clone()));
            let again = MainCf::parse(&doc.render()).expect("edited main.cf parses");
            assert_eq!(again.get(&name).map(|e| e.value), Some(value));
        }
        if let Some(n) = names.last() {
            doc.comment_out(n);
            assert!(doc.get(n).is_none());
        }
        let _ = doc.set("smtpd_tls_security_level", "may");
        if let Some(n) = names.get(1) {
            doc.remove(n);
            assert!(doc.get(n).is_none());
        }
    }
    if let Ok(mut doc) = MasterCf::parse(data) {
        assert_eq!(doc.render(), data);
        let _ = doc.warnings();
        let services = doc.services();
        if let Some(s) = services.last() {
            let key = s.key();
            let value = pick(data, data.len() / 3);
            let name = s.overrides.first().map(|o| o.name.clone()).unwrap_or_else(|| "syslog_name".into());
            if doc.set_override(&key, &name, &value) == Ok(true) {
                let svc = doc.service(&key).expect("service still there");
                assert_eq!(svc.get_override(&name).map(|o| o.value), Some(value));
            }
            if doc.remove_override(&key, &name).is_ok() {
                let svc = doc.service(&key).expect("service still there");
                assert!(svc.get_override(&name).is_none());
            }
        }
    }
});
