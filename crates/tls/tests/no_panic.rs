//! Arbitrary input never panics: protocol lists, exclusion lists, cipher strings, policy
//! files, profile JSON.

use pftls_tls::ciphers::{evaluate_postfix, EvalContext};
use pftls_tls::{load_profiles_json, parse_protocols, CryptoPolicy, Protocol};
use proptest::prelude::*;

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("TLSv1".to_string()),
        Just("TLSv1.2".to_string()),
        Just("!SSLv3".to_string()),
        Just(">=TLSv1.3".to_string()),
        Just("<=0x0303".to_string()),
        Just(">=".to_string()),
        "[!<>=0-9a-zA-Z.x]{0,8}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn protocol_lists(tokens in proptest::collection::vec(token(), 0..6), sep in "[ ,:\t]{1,2}", minor in 0u32..12) {
        let list = tokens.join(&sep);
        if let Ok(r) = parse_protocols(&list, (3, minor)) {
            if let Some((lo, hi)) = r.bounds() {
                prop_assert!(lo <= hi);
            }
        }
    }

    #[test]
    fn cipher_settings(grade in "[A-Za-z0-9:!+@=-]{0,30}", excl in "[A-Za-z0-9, :!+@-]{0,20}", level in 0u32..6) {
        let ctx = EvalContext { seclevel: level, min_protocol: None, max_protocol: Some(Protocol::Tls1_3) };
        let _ = evaluate_postfix(&grade, &excl, ctx);
    }

    #[test]
    fn policy_files(cnf in "[ -~\n]{0,200}", config in "[ -~\n]{0,30}") {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("back-ends")).unwrap();
        std::fs::write(dir.path().join("config"), config).unwrap();
        std::fs::write(dir.path().join("back-ends/opensslcnf.config"), cnf).unwrap();
        if let Ok(Some(p)) = CryptoPolicy::load(dir.path()) {
            let _ = p.baseline();
        }
    }

    #[test]
    fn profile_json(s in "[ -~]{0,120}") {
        let _ = load_profiles_json(&s);
    }
}
