//! Property tests: random documents round-trip byte for byte; random edit sequences give
//! documents whose parameters postconf agrees with.

mod common;

use postfix_conf::{MainCf, MasterCf};
use proptest::prelude::*;

/// Physical lines that exercise every line class, odd spacing, CR, `#` and non-UTF-8 bytes.
fn main_line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[a-z_]{1,12}[ \t]{0,2}=[ \t]{0,2}[a-zA-Z0-9 ,:/.#$\\[\\]-]{0,20}"
            .prop_map(|s| s.into_bytes()),
        "[ \t]{1,4}[a-zA-Z0-9,#$.]{1,10}".prop_map(|s| s.into_bytes()),
        "[ \t]{0,3}#[ -~]{0,20}".prop_map(|s| s.into_bytes()),
        "[ \t]{0,3}".prop_map(|s| s.into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..12),
    ]
}

fn document(line: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec(
            (line, prop_oneof![Just(&b"\n"[..]), Just(&b"\r\n"[..])]),
            0..30,
        ),
        any::<bool>(),
    )
        .prop_map(|(lines, final_nl)| {
            let mut out = Vec::new();
            for (l, eol) in lines {
                out.extend(l.into_iter().filter(|&b| b != b'\n'));
                out.extend_from_slice(eol);
            }
            if !final_nl && out.ends_with(b"\n") {
                out.pop();
            }
            out
        })
}

fn master_line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[a-z0-9:.\\[\\]]{1,10} (inet|unix|fifo|pass) [yn-] [yn-] [yn-] (-|[0-9]{1,3}\\??) (-|[0-9]{1,3}) [a-z]{1,6}( -v)?( -o [a-z_]{1,8}=[a-z0-9/$]{0,6})*"
            .prop_map(|s| s.into_bytes()),
        "[ \t]{1,4}(-o [a-z_]{1,8}=[a-z0-9]{0,5}|-o \\{ [a-z_]{1,8} = [a-z ]{0,8} \\}|flags=[A-Z]{1,3})".prop_map(|s| s.into_bytes()),
        "[ \t]{0,3}#[ -~]{0,20}".prop_map(|s| s.into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..12),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn main_round_trips(doc in document(main_line())) {
        if let Ok(d) = MainCf::parse(&doc) {
            prop_assert_eq!(d.render(), doc);
        }
    }

    #[test]
    fn master_round_trips(doc in document(master_line())) {
        if let Ok(d) = MasterCf::parse(&doc) {
            prop_assert_eq!(d.render(), doc);
        }
    }
}

/// One edit of a random sequence.
#[derive(Debug, Clone)]
enum Op {
    Set(String, String),
    Remove(String),
    Comment(String),
}

fn op() -> impl Strategy<Value = Op> {
    let name = prop_oneof![
        Just("relayhost".to_string()),
        Just("myorigin".to_string()),
        Just("smtpd_tls_security_level".to_string()),
        Just("smtpd_banner".to_string()),
        Just("mynetworks".to_string()),
    ];
    prop_oneof![
        (
            name.clone(),
            "([a-z0-9.\\[\\]]{1,6}( {1,3}(\\$[a-z]{1,4}|[a-z]{1,5})){0,2})?"
        )
            .prop_map(|(n, v)| Op::Set(n, v)),
        name.clone().prop_map(Op::Remove),
        name.prop_map(Op::Comment),
    ]
}

/// A known-good starting file with duplicates, continuations and comments.
const START: &[u8] = b"# start\nrelayhost = a\nmynetworks = 127.0.0.0/8,\n  # c\n  [::1]/128\nrelayhost = b\r\nsmtpd_banner = $myhostname\n\n   ESMTP";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn edit_sequences_agree_with_postconf(ops in proptest::collection::vec(op(), 1..6)) {
        let mut d = MainCf::parse(START).expect("start parses");
        let mut model: std::collections::BTreeMap<String, String> =
            d.effective().into_iter().map(|e| (e.name, e.value)).collect();
        for o in &ops {
            match o {
                Op::Set(n, v) => {
                    d.set(n, v).expect("valid value");
                    model.insert(n.clone(), v.clone());
                }
                Op::Remove(n) => {
                    prop_assert_eq!(d.remove(n), model.remove(n).is_some());
                }
                Op::Comment(n) => {
                    prop_assert_eq!(d.comment_out(n), model.remove(n).is_some());
                }
            }
        }
        let mine: std::collections::BTreeMap<String, String> =
            d.effective().into_iter().map(|e| (e.name, e.value)).collect();
        prop_assert_eq!(&mine, &model);
        let out = d.render();
        prop_assert_eq!(MainCf::parse(&out).expect("reparse").render(), out.clone());
        common::assert_main_matches(&out, &format!("{ops:?}"));
    }
}
