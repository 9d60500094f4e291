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

/// Names the random main.cf lines can define (short ones, so edits hit existing entries).
fn random_doc_name() -> impl Strategy<Value = String> {
    "[a-c]{1,2}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Edits re-index only what they touch: after every edit on a random document (odd
    /// spacing, CRLF, orphans, comments inside entries, no final newline), the document's
    /// entries, line numbers and warnings equal those of a full re-read of its bytes.
    #[test]
    fn incremental_index_equals_full_reparse(
        doc in document(prop_oneof![
            "[a-c]{1,2}[ \t]{0,2}=[ \t]{0,2}[a-z0-9 ]{0,6}".prop_map(|s| s.into_bytes()),
            main_line(),
        ]),
        ops in proptest::collection::vec(
            (0u8..3, random_doc_name(), "([a-z0-9]{1,4}( [a-z]{1,3})?)?"),
            1..8,
        ),
    ) {
        let Ok(mut d) = MainCf::parse(&doc) else { return Ok(()) };
        for (kind, name, value) in &ops {
            match kind {
                0 => {
                    d.set(name, value).expect("valid value");
                    prop_assert_eq!(d.get(name).map(|e| e.value), Some(value.clone()));
                }
                1 => {
                    d.remove(name);
                    prop_assert!(d.get(name).is_none());
                }
                _ => {
                    d.comment_out(name);
                    prop_assert!(d.get(name).is_none());
                }
            }
            let full = MainCf::parse(d.as_bytes()).expect("edited document parses");
            prop_assert_eq!(d.entries(), full.entries());
            prop_assert_eq!(d.warnings(), full.warnings());
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

/// Override names the master.cf generator and the edits share, so edits hit existing ones.
const MASTER_NAMES: [&str; 5] = [
    "syslog_name",
    "smtpd_tls_security_level",
    "smtpd_client_restrictions",
    "milter_macro_daemon_name",
    "content_filter",
];

/// A value without whitespace, or one with inner whitespace (written as `{ name = value }`).
fn master_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9/.,:]{0,8}",
        "[a-z0-9/.]{1,4}( {1,2}[a-z0-9,]{1,4}){1,2}",
    ]
}

/// One `-o` as written in the file: same line or continuation line, plain or braced.
fn master_option() -> impl Strategy<Value = (bool, String)> {
    (any::<bool>(), 0..MASTER_NAMES.len(), master_value()).prop_map(|(own_line, n, v)| {
        let name = MASTER_NAMES[n];
        let text = if v.contains(' ') {
            format!("-o {{ {name} = {v} }}")
        } else {
            format!("-o {name}={v}")
        };
        (own_line, text)
    })
}

/// One service entry: fields, options (some on continuation lines, some `-v` flags,
/// duplicates possible), optional arguments, comments inside.
fn master_entry(i: usize) -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("inet"), Just("unix"), Just("fifo")],
        "[yn-] [yn-] [yn-] (-|[0-9]{1,2}) (-|[0-9]{1,3})",
        proptest::collection::vec(master_option(), 0..5),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(move |(kind, fields, opts, verbose, args, comment)| {
            let mut s = format!("svc{i}   {kind}  {fields}  smtpd");
            if verbose {
                s.push_str(" -v");
            }
            for (k, (own_line, o)) in opts.iter().enumerate() {
                if comment && k == 1 {
                    s.push_str("\n  # a comment inside the entry");
                }
                s.push_str(if *own_line { "\n  " } else { " " });
                s.push_str(o);
            }
            if args {
                s.push_str("\n  flags=R argv=/bin/true");
            }
            s.push('\n');
            s
        })
}

/// A master.cf with 1 to 4 services (unique keys), comments and blank lines between them.
fn master_doc() -> impl Strategy<Value = Vec<u8>> {
    (1usize..5)
        .prop_flat_map(|n| {
            let entries: Vec<_> = (0..n).map(master_entry).collect();
            (entries, proptest::collection::vec(any::<bool>(), n))
        })
        .prop_map(|(entries, gaps)| {
            let mut out = String::from("# master.cf\n");
            for (e, gap) in entries.iter().zip(gaps) {
                if gap {
                    out.push_str("\n# next service\n");
                }
                out.push_str(e);
            }
            out.into_bytes()
        })
}

/// One edit of a random master.cf sequence: (service index, override name index, value).
#[derive(Debug, Clone)]
enum MasterOp {
    Set(usize, usize, String),
    Remove(usize, usize),
}

fn master_op() -> impl Strategy<Value = MasterOp> {
    prop_oneof![
        (0usize..4, 0..MASTER_NAMES.len(), master_value())
            .prop_map(|(s, n, v)| MasterOp::Set(s, n, v)),
        (0usize..4, 0..MASTER_NAMES.len()).prop_map(|(s, n)| MasterOp::Remove(s, n)),
    ]
}

/// `service/type/name = value` lines as postconf -P prints them, sorted.
fn p_lines(model: &std::collections::BTreeMap<(String, String), String>) -> Vec<String> {
    let mut v: Vec<String> = model
        .iter()
        .map(|((key, name), value)| {
            let shown = postfix_conf::display_value(value);
            if shown.is_empty() {
                format!("{key}/{name} =")
            } else {
                format!("{key}/{name} = {shown}")
            }
        })
        .collect();
    v.sort();
    v
}

proptest! {
    // Each case runs postconf twice; the machine is shared, so keep the count modest.
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn master_edit_sequences_agree_with_postconf(
        doc in master_doc(),
        ops in proptest::collection::vec(master_op(), 1..7),
    ) {
        let mut d = MasterCf::parse(&doc).expect("generated master.cf parses");
        let keys: Vec<String> = d.services().iter().map(|s| s.key()).collect();
        // Expected overrides, starting from the document as read, updated by each edit.
        let mut model = std::collections::BTreeMap::new();
        for s in d.services() {
            for o in s.effective_overrides() {
                model.insert((s.key(), o.name), o.value);
            }
        }
        for o in &ops {
            match o {
                MasterOp::Set(s, n, v) => {
                    let key = &keys[s % keys.len()];
                    let name = MASTER_NAMES[*n];
                    let r = d.set_override(key, name, v);
                    prop_assert!(r.is_ok(), "{key} -o {name}={v}: {r:?}");
                    model.insert((key.clone(), name.to_string()), v.clone());
                }
                MasterOp::Remove(s, n) => {
                    let key = &keys[s % keys.len()];
                    let name = MASTER_NAMES[*n];
                    let had = model.remove(&(key.clone(), name.to_string())).is_some();
                    prop_assert_eq!(d.remove_override(key, name), Ok(had));
                }
            }
        }
        let out = d.render();
        let text = String::from_utf8_lossy(&out).into_owned();
        // The crate reads its own output back as the model says.
        let mut mine = common::crate_p(&MasterCf::parse(&out).expect("reparse"));
        mine.sort();
        prop_assert_eq!(&mine, &p_lines(&model), "crate re-read of\n{}", text);
        // postconf agrees: every expected override set, removed ones gone, others unchanged.
        if let Some((mut pc, _)) = common::postconf_p(&out) {
            pc.sort();
            prop_assert_eq!(&pc, &p_lines(&model), "postconf -P of\n{}", text);
        }
        if let Some(run) = common::run(b"", Some(&out), &["-M"]) {
            prop_assert!(run.ok, "postconf -M failed on\n{}\n{}", text, run.stderr);
            let services = String::from_utf8_lossy(&run.stdout).lines().count();
            prop_assert_eq!(services, keys.len(), "postconf -M of\n{}", text);
        }
    }
}
