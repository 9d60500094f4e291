//! Candidate validation with the real postconf: new warnings are reported (old ones are not),
//! and a candidate pftls cannot parse is refused with its line.

use host::validate::{validate_candidate, ValidationError};

const MAIN: &[u8] = b"myhostname = mx.example.org\ncompatibility_level = 3.6\nfoo_old = 1\n";
const MASTER: &[u8] = b"smtp inet n - n - - smtpd\n";

#[test]
fn only_new_postconf_warnings_are_reported() {
    assert!(
        host::validate::which("postconf").is_some(),
        "postconf is required (make test installs it)"
    );
    let mut after = MAIN.to_vec();
    after.extend_from_slice(b"frobnitz = 1\n");
    let w = validate_candidate(MAIN, MASTER, &after, MASTER).unwrap();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("unused parameter: frobnitz=1"), "{w:?}");
    // foo_old is unused before and after: not news.
    assert!(validate_candidate(MAIN, MASTER, MAIN, MASTER)
        .unwrap()
        .is_empty());
}

#[test]
fn unparsable_candidate_is_refused_with_its_line() {
    let e = validate_candidate(MAIN, MASTER, b"ok = 1\n= broken\n", MASTER).unwrap_err();
    match e {
        ValidationError::Parse { file, line, .. } => assert_eq!((file, line), ("main.cf", 2)),
        other => panic!("{other:?}"),
    }
}
