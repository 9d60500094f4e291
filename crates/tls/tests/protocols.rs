//! Postfix protocol lists, every syntax form, per version.

use pftls_tls::{
    floor_to_postfix, parse_protocols, PostfixVersion, Protocol, ProtocolRange, TlsError,
};
use Protocol::*;

const V37: (u32, u32) = (3, 7);
const V35: (u32, u32) = (3, 5);

fn range(list: &str) -> ProtocolRange {
    parse_protocols(list, V37).unwrap_or_else(|e| panic!("{list}: {e}"))
}

#[test]
fn bounds_and_forms() {
    let table: &[(&str, Option<(Protocol, Protocol)>)] = &[
        (">=TLSv1.2", Some((Tls1_2, Tls1_3))),
        ("<=TLSv1.2", Some((Ssl3, Tls1_2))),
        (">=TLSv1 <=TLSv1.2", Some((Tls1, Tls1_2))),
        (">=tlsv1.2", Some((Tls1_2, Tls1_3))),
        (">=0x0303", Some((Tls1_2, Tls1_3))),
        (">=303", Some((Tls1_2, Tls1_3))),
        (">=0x301", Some((Tls1, Tls1_3))),
        ("<=0x0304", Some((Ssl3, Tls1_3))),
        (">=None", Some((Ssl3, Tls1_3))),
        (">=", Some((Ssl3, Tls1_3))),
        ("!SSLv2, !SSLv3", Some((Tls1, Tls1_3))),
        ("!SSLv2,!SSLv3,!TLSv1,!TLSv1.1", Some((Tls1_2, Tls1_3))),
        ("!SSLv2:!SSLv3:!TLSv1:!TLSv1.1", Some((Tls1_2, Tls1_3))),
        ("!sslv2 !SSLV3\t!tlsv1", Some((Tls1_1, Tls1_3))),
        ("TLSv1.2 TLSv1.3", Some((Tls1_2, Tls1_3))),
        ("TLSv1.2", Some((Tls1_2, Tls1_2))),
        ("TLSv1.2, TLSv1.3, !TLSv1.3", Some((Tls1_2, Tls1_2))),
        ("", Some((Ssl3, Tls1_3))),
        (">=TLSv1.3 <=TLSv1.2", None),
    ];
    for (list, want) in table {
        assert_eq!(range(list).bounds(), *want, "{list:?}");
    }
    let r = range(">=TLSv1.2");
    assert_eq!((r.floor, r.ceiling), (Some(Tls1_2), None));
    assert!(r.excluded.is_empty());
    // Include list: complement excluded, like Postfix's TLS_KNOWN_PROTOCOLS & ~include.
    assert_eq!(
        range("TLSv1.2 TLSv1.3").excluded,
        vec![Ssl2, Ssl3, Tls1, Tls1_1]
    );
    // Holes are kept and reported.
    let holey = range("!TLSv1.2");
    assert!(holey.has_hole());
    assert_eq!(holey.enabled(), vec![Ssl3, Tls1, Tls1_1, Tls1_3]);
    assert!(!range(">=TLSv1.2").has_hole());
}

#[test]
fn errors() {
    for bad in [
        "TLSv1.4", "!TLSv9", ">=TLSv9", ">=0x0305", ">=zz", "SSLv4", ">=SSLv2", "TLSv1.0",
    ] {
        match parse_protocols(bad, V37) {
            Err(TlsError::ProtocolList { value, .. }) => assert_eq!(value, bad),
            other => panic!("{bad}: {other:?}"),
        }
    }
    // Bounds need 3.6+.
    for list in [">=TLSv1.2", "<=TLSv1.3", "!SSLv2 >=TLSv1"] {
        let e = parse_protocols(list, V35).unwrap_err();
        assert!(e.to_string().contains("3.6"), "{e}");
        assert!(parse_protocols(list, (3, 6)).is_ok());
    }
    assert_eq!(
        parse_protocols("!SSLv2, !SSLv3", V35).unwrap().bounds(),
        Some((Tls1, Tls1_3))
    );
}

#[test]
fn floor_inverse() {
    assert_eq!(floor_to_postfix(Tls1_2, V37), ">=TLSv1.2");
    assert_eq!(
        floor_to_postfix(Tls1_2, PostfixVersion::new(3, 6)),
        ">=TLSv1.2"
    );
    assert_eq!(
        floor_to_postfix(Tls1_2, V35),
        "!SSLv2, !SSLv3, !TLSv1, !TLSv1.1"
    );
    assert_eq!(floor_to_postfix(Tls1, V35), "!SSLv2, !SSLv3");
    // Round trip: what we write parses back to the same floor on that version.
    for v in [V35, V37, (3, 10)] {
        for min in [Tls1, Tls1_1, Tls1_2, Tls1_3] {
            let s = floor_to_postfix(min, v);
            assert_eq!(
                parse_protocols(&s, v).unwrap().bounds(),
                Some((min, Tls1_3)),
                "{s}"
            );
        }
    }
}
