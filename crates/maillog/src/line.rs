//! Splits one log line into timestamp, tag and message, for every supported format:
//! traditional syslog (with or without a `<PRI>` prefix), Postfix's `maillog_file`, RFC 3339
//! (rsyslog), `journalctl -o short-iso[-precise]` and RFC 5424.
//!
//! This runs on every input line, so it allocates nothing and looks at as few bytes as it can.

use crate::scan::{find_byte, is, leading_digits, C_TAG};
use crate::time::{parse_rfc3339, parse_traditional, IsoCache, YearHint, YearTracker};

/// The Postfix programs whose lines the analyser reads; everything else is `OtherPostfix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prog {
    /// `smtpd` (any `syslog_name`, e.g. `postfix/submission/smtpd`).
    Smtpd,
    /// `tlsproxy` (TLS for postscreen); logs the same TLS lines as smtpd.
    Tlsproxy,
    /// `cleanup` (message accepted into the queue).
    Cleanup,
    /// `smtp` (outbound delivery).
    Smtp,
    /// `lmtp` (delivery to a mailbox server).
    Lmtp,
    /// Another delivery agent: `local`, `virtual`, `pipe`, `discard`, `error` or `retry`
    /// (index into [`crate::TRANSPORTS`]).
    Delivery(u8),
    /// Any other Postfix program (qmgr, pickup, postscreen, ...).
    OtherPostfix,
}

/// A line from a Postfix program.
#[derive(Debug, Clone, Copy)]
pub struct Header<'a> {
    /// Unix seconds.
    pub ts: i64,
    /// Which program logged it.
    pub prog: Prog,
    /// Process id (0 when the tag has none).
    pub pid: u32,
    /// The message text after `tag: `.
    pub msg: &'a [u8],
}

/// What a line turned out to be.
#[derive(Debug, Clone, Copy)]
pub enum Parsed<'a> {
    /// A line from a Postfix program.
    Postfix(Header<'a>),
    /// A well-formed line from another program (counted in `lines` only), with its time in
    /// Unix seconds (it still shows that the log is being written).
    Other(i64),
    /// No timestamp/tag we recognise.
    Unparsed,
}

/// Per-input parsing state: year inference and timestamp memos.
#[derive(Debug, Clone)]
pub struct LineParser {
    year: YearTracker,
    iso: IsoCache,
    trad_key: [u8; 16],
    trad_len: usize,
    trad_ts: i64,
}

/// Packs a name of at most 8 bytes into a `u64` (little-endian, zero-padded), so that the
/// program switch below compares integers instead of calling `memcmp` once per candidate.
#[inline]
const fn pack(b: &[u8]) -> u64 {
    let mut w = 0u64;
    let mut i = 0;
    while i < b.len() && i < 8 {
        w |= (b[i] as u64) << (8 * i);
        i += 1;
    }
    w
}

/// [`pack`] for 1..=8 bytes at run time: two overlapping 4-byte loads instead of a byte loop
/// (the overlapping bytes are the same bytes at the same positions, so OR-ing is exact).
#[inline]
fn pack_runtime(b: &[u8]) -> u64 {
    let n = b.len();
    if !(4..=8).contains(&n) {
        return pack(b);
    }
    let lo = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let hi = u32::from_le_bytes([b[n - 4], b[n - 3], b[n - 2], b[n - 1]]);
    u64::from(lo) | (u64::from(hi) << (8 * (n - 4)))
}

const K_SMTPD: u64 = pack(b"smtpd");
const K_SMTP: u64 = pack(b"smtp");
const K_LMTP: u64 = pack(b"lmtp");
const K_CLEANUP: u64 = pack(b"cleanup");
const K_TLSPROXY: u64 = pack(b"tlsproxy");
const K_LOCAL: u64 = pack(b"local");
const K_VIRTUAL: u64 = pack(b"virtual");
const K_PIPE: u64 = pack(b"pipe");
const K_DISCARD: u64 = pack(b"discard");
const K_ERROR: u64 = pack(b"error");
const K_RETRY: u64 = pack(b"retry");

/// The programs the analyser reads, switched on as one integer; `None` for any other.
#[inline]
fn interesting(prog: &[u8]) -> Option<Prog> {
    if prog.is_empty() || prog.len() > 8 {
        return None;
    }
    match pack_runtime(prog) {
        K_SMTPD => Some(Prog::Smtpd),
        K_SMTP => Some(Prog::Smtp),
        K_LMTP => Some(Prog::Lmtp),
        K_LOCAL => Some(Prog::Delivery(2)),
        K_VIRTUAL => Some(Prog::Delivery(3)),
        K_PIPE => Some(Prog::Delivery(4)),
        K_DISCARD => Some(Prog::Delivery(5)),
        K_ERROR => Some(Prog::Delivery(6)),
        K_RETRY => Some(Prog::Delivery(7)),
        K_CLEANUP => Some(Prog::Cleanup),
        K_TLSPROXY => Some(Prog::Tlsproxy),
        _ => None,
    }
}

/// The other Postfix programs (only asked when the syslog name does not start with
/// `postfix`, so the common case never scans this list).
fn other_known(prog: &[u8]) -> bool {
    if prog.len() > 8 {
        return matches!(
            prog,
            b"postscreen"
                | b"trivial-rewrite"
                | b"proxywrite"
                | b"postqueue"
                | b"postsuper"
                | b"postfix-script"
                | b"postalias"
                | b"postmulti"
        );
    }
    !prog.is_empty() && OTHER_KEYS.contains(&pack_runtime(prog))
}

/// The other known Postfix programs of at most 8 bytes.
const OTHER_KEYS: [u64; 28] = [
    pack(b"qmgr"),
    pack(b"oqmgr"),
    pack(b"pickup"),
    pack(b"local"),
    pack(b"virtual"),
    pack(b"pipe"),
    pack(b"bounce"),
    pack(b"defer"),
    pack(b"trace"),
    pack(b"anvil"),
    pack(b"master"),
    pack(b"dnsblog"),
    pack(b"scache"),
    pack(b"error"),
    pack(b"discard"),
    pack(b"showq"),
    pack(b"postdrop"),
    pack(b"sendmail"),
    pack(b"verify"),
    pack(b"tlsmgr"),
    pack(b"proxymap"),
    pack(b"flush"),
    pack(b"postlogd"),
    pack(b"spawn"),
    pack(b"qmqpd"),
    pack(b"postmap"),
    pack(b"postlog"),
    pack(b"retry"),
];

#[inline]
fn parse_pid(b: &[u8]) -> u32 {
    let mut v: u32 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return 0;
        }
        v = v.wrapping_mul(10).wrapping_add(u32::from(c - b'0'));
    }
    v
}

/// Splits `NAME/.../PROG` into (is Postfix, program). Lines whose tag has no `/` are not
/// Postfix's: `mail_task()` always logs `syslog_name/program`.
#[inline]
fn program_of(name: &[u8]) -> Option<Prog> {
    // Program names are short, so a backwards scan finds the last `/` in a few steps.
    let slash = name.iter().rposition(|&c| c == b'/')?;
    let prog = &name[slash + 1..];
    if let Some(p) = interesting(prog) {
        return Some(p);
    }
    // An unknown program under a `postfix...` syslog_name is still a Postfix line.
    (name.starts_with(b"postfix") || other_known(prog)).then_some(Prog::OtherPostfix)
}

/// `postfix/` as a little-endian word.
const W_POSTFIX: u64 = pack(b"postfix/");

/// The programs the analyser reads, each with the `[` that follows it, as (word, mask,
/// length): matched on one 8-byte load of the bytes after `postfix/`, so the common tags need
/// no byte loop. Any program name followed by `[` is a complete name (`[` is no name byte).
const FAST_PROGS: [(u64, u64, usize, Prog); 4] = [
    (pack(b"smtpd["), (1 << 48) - 1, 5, Prog::Smtpd),
    (pack(b"cleanup["), u64::MAX, 7, Prog::Cleanup),
    (pack(b"smtp["), (1 << 40) - 1, 4, Prog::Smtp),
    (pack(b"qmgr["), (1 << 40) - 1, 4, Prog::OtherPostfix),
];

/// Fast path for the common tag `postfix/PROG[PID]: ` (or `postfix/PROG: `), in one forward
/// pass with no SIMD call setup: (program, pid, bytes up to the message). `None` for anything
/// else (another syslog name, `postfix/submission/smtpd`, odd characters), which the general
/// path then handles; on the lines it accepts, both paths give the same result.
#[inline]
fn postfix_tag(rest: &[u8]) -> Option<(Prog, u32, usize)> {
    let w0 = u64::from_le_bytes(rest.get(..8)?.try_into().ok()?);
    if w0 != W_POSTFIX {
        return None;
    }
    // `postfix/[SERVICE/...]PROG`: each `/` starts a new segment; the program is the last.
    let mut seg = 8;
    let (prog, mut j) = loop {
        let known = rest
            .get(seg..seg + 8)
            .and_then(|w| w.try_into().ok())
            .map(u64::from_le_bytes)
            .and_then(|w| FAST_PROGS.iter().find(|p| w & p.1 == p.0));
        if let Some(&(_, _, len, prog)) = known {
            break (prog, seg + len);
        }
        let mut j = seg;
        while rest.get(j).is_some_and(|&c| is(c, C_TAG)) {
            j += 1;
        }
        if rest.get(j) == Some(&b'/') {
            // Terminates: `seg` moves forward by at least one byte per round.
            seg = j + 1;
            continue;
        }
        let prog = &rest[seg..j];
        if prog.is_empty() {
            return None;
        }
        // Under a `postfix...` syslog name every program is Postfix's (see `program_of`).
        break (interesting(prog).unwrap_or(Prog::OtherPostfix), j);
    };
    let mut pid: u32 = 0;
    match rest.get(j)? {
        b'[' => {
            j += 1;
            let start = j;
            if let Some((v, n)) = rest.get(j..).and_then(leading_digits) {
                pid = v;
                j += n;
            } else {
                while let Some(d) = rest
                    .get(j)
                    .map(|c| c.wrapping_sub(b'0'))
                    .filter(|&d| d < 10)
                {
                    pid = pid.wrapping_mul(10).wrapping_add(u32::from(d));
                    j += 1;
                }
            }
            if j == start || rest.get(j) != Some(&b']') {
                return None;
            }
            j += 1;
        }
        b':' => {}
        _ => return None,
    }
    if rest.get(j..j + 2)? != b": " {
        return None;
    }
    Some((prog, pid, j + 2))
}

/// The next space-delimited field of `b` starting at `i`: (field, index after the space).
#[inline]
fn field(b: &[u8], i: usize) -> Option<(&[u8], usize)> {
    let rest = b.get(i..)?;
    // Fields are short (host, tag): a word-at-a-time scan beats a SIMD search's setup here.
    let sp = find_byte(rest, b' ')?;
    Some((&rest[..sp], i + sp + 1))
}

impl LineParser {
    /// A parser for one input whose end is at or before `hint.reference`.
    pub fn new(hint: &YearHint) -> Self {
        LineParser {
            year: YearTracker::new(hint),
            iso: IsoCache::default(),
            trad_key: [0; 16],
            trad_len: 0,
            trad_ts: 0,
        }
    }

    /// Traditional timestamp with a memo keyed on the 16-byte prefix (same second, same value).
    #[inline]
    fn traditional(&mut self, b: &[u8]) -> Option<(i64, usize)> {
        if let Some(k) = b.get(..16) {
            if self.trad_len != 0 && *k == self.trad_key {
                return Some((self.trad_ts, self.trad_len));
            }
        }
        let (mon, day, secs, len) = parse_traditional(b)?;
        let ts = self.year.resolve(mon, day, secs);
        if let Some(k) = b.get(..16) {
            if len <= 16 {
                self.trad_key.copy_from_slice(k);
                self.trad_len = len;
                self.trad_ts = ts;
            }
        }
        Some((ts, len))
    }

    /// Parses one line (without its line terminator).
    #[inline]
    pub fn parse<'a>(&mut self, line: &'a [u8]) -> Parsed<'a> {
        self.parse_inner(line).unwrap_or(Parsed::Unparsed)
    }

    #[inline(always)]
    fn parse_inner<'a>(&mut self, line: &'a [u8]) -> Option<Parsed<'a>> {
        self.parse_with(line, true)
    }

    /// The general path only (tests compare it with the fast tag path).
    #[cfg(test)]
    fn parse_general<'a>(&mut self, line: &'a [u8]) -> Option<Parsed<'a>> {
        self.parse_with(line, false)
    }

    #[inline]
    fn parse_with<'a>(&mut self, line: &'a [u8], fast: bool) -> Option<Parsed<'a>> {
        let mut b = line;
        let mut rfc5424 = false;
        if b.first() == Some(&b'<') {
            let close = memchr::memchr(b'>', b.get(..6)?)?;
            b = &b[close + 1..];
            if b.starts_with(b"1 ") {
                rfc5424 = true;
                b = &b[2..];
            }
        }
        let (ts, i) = match b.first()? {
            c if c.is_ascii_digit() => parse_rfc3339(b, &mut self.iso)?,
            _ => self.traditional(b)?,
        };
        let (_host, i) = field(b, i)?;
        if rfc5424 {
            return Some(self.rest_5424(b, i, ts));
        }
        // The tag ends at the first `:` (tags contain none); a space before it means there
        // is no tag (e.g. a kernel line), and `: ` must follow.
        let rest = b.get(i..)?;
        if let Some((prog, pid, len)) = postfix_tag(rest).filter(|_| fast) {
            return Some(Parsed::Postfix(Header {
                ts,
                prog,
                pid,
                msg: &rest[len..],
            }));
        }
        let end = memchr::memchr2(b':', b' ', rest)?;
        if rest[end] != b':' || rest.get(end + 1) != Some(&b' ') {
            return Some(Parsed::Other(ts));
        }
        let tag = &rest[..end];
        let i = i + end + 2;
        let (name, pid) = match tag.strip_suffix(b"]") {
            Some(t) => {
                let open = t.iter().rposition(|&c| c == b'[')?;
                (&t[..open], parse_pid(&t[open + 1..]))
            }
            None => (tag, 0),
        };
        Some(match program_of(name) {
            Some(prog) => Parsed::Postfix(Header {
                ts,
                prog,
                pid,
                msg: &b[i..],
            }),
            None => Parsed::Other(ts),
        })
    }

    /// `APP PROCID MSGID SD MSG` of RFC 5424, after HOSTNAME.
    fn rest_5424<'a>(&mut self, b: &'a [u8], i: usize, ts: i64) -> Parsed<'a> {
        let Some((app, i)) = field(b, i) else {
            return Parsed::Unparsed;
        };
        let Some((procid, i)) = field(b, i) else {
            return Parsed::Unparsed;
        };
        let Some((_msgid, mut i)) = field(b, i) else {
            return Parsed::Unparsed;
        };
        // STRUCTURED-DATA: `-` or one or more `[...]` elements; `]` inside a quoted value
        // does not close (and `\"`, `\]` are escapes).
        if b.get(i) == Some(&b'-') {
            i += 1;
        } else {
            while b.get(i) == Some(&b'[') {
                i += 1;
                let mut quoted = false;
                while let Some(&c) = b.get(i) {
                    i += 1;
                    match c {
                        b'\\' => i += 1,
                        b'"' => quoted = !quoted,
                        b']' if !quoted => break,
                        _ => {}
                    }
                }
            }
        }
        let mut msg = b.get(i..).unwrap_or_default();
        msg = msg.strip_prefix(b" ").unwrap_or(msg);
        msg = msg.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(msg);
        match program_of(app) {
            Some(prog) => Parsed::Postfix(Header {
                ts,
                prog,
                pid: parse_pid(procid),
                msg,
            }),
            None => Parsed::Other(ts),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::to_datetime;

    #[test]
    fn runtime_pack_matches_const_pack() {
        for s in [
            "a", "ab", "abc", "smtp", "smtpd", "cleanup", "tlsproxy", "postdrop", "qmgr",
        ] {
            assert_eq!(pack_runtime(s.as_bytes()), pack(s.as_bytes()), "{s}");
        }
        assert_eq!(interesting(b"smtpd"), Some(Prog::Smtpd));
        assert_eq!(interesting(b"smtpdx"), None);
        assert_eq!(interesting(b"lmtp"), Some(Prog::Lmtp));
        assert_eq!(interesting(b"discard"), Some(Prog::Delivery(5)));
        assert!(other_known(b"postscreen") && other_known(b"qmgr") && !other_known(b"foo"));
    }

    /// The fast tag path and the general one agree on every line the fast one accepts.
    #[test]
    fn fast_tag_path_agrees() {
        for tag in [
            "postfix/smtpd[12]: ",
            "postfix/smtp: ",
            "postfix/trivial-rewrite[3]: ",
            "postfix/foo_bar[4]: ",
            "postfix/smtpd[]: ",
            "postfix/smtpd[1x]: ",
            "postfix/smtpd[1]:x",
            "postfix/: ",
            "postfix/a/b[1]: ",
            "postfix/submission/smtpd[77]: ",
            "postfix/relay/smtp[8]: ",
            "postfix/x/cleanup: ",
            "postfix//smtpd[1]: ",
            "postfix/x/[1]: ",
            "postfix/x//qmgr[1]: ",
            "postfix/x.y/smtpd[1]: ",
            "postfix/smtpd[1] : ",
        ] {
            let line = format!("Nov 30 01:02:05 mx {tag}hello");
            let fast = postfix_tag(&line.as_bytes()[19..]);
            let mut general = parser();
            // Force the general path by parsing the tag without the fast one.
            let general = general.parse_general(line.as_bytes());
            match (fast, general) {
                (Some((prog, pid, len)), Some(Parsed::Postfix(h))) => {
                    assert_eq!(
                        (prog, pid, &line.as_bytes()[19 + len..]),
                        (h.prog, h.pid, h.msg),
                        "{tag}"
                    );
                }
                (None, _) => {}
                (f, g) => panic!("{tag}: fast {f:?} general {g:?}"),
            }
        }
    }

    fn parser() -> LineParser {
        LineParser::new(&YearHint::utc(to_datetime(1_764_460_800))) // 2025-11-30
    }

    fn pf(line: &str) -> Header<'_> {
        let mut p = parser();
        match p.parse(line.as_bytes()) {
            Parsed::Postfix(h) => h,
            other => panic!("not a postfix line: {other:?}: {line}"),
        }
    }

    #[test]
    fn tags_and_formats() {
        let h = pf("Nov 30 01:02:05 mx postfix/submission/smtpd[2345]: connect from a[1.2.3.4]");
        assert_eq!(
            (h.prog, h.pid, h.msg),
            (Prog::Smtpd, 2345, &b"connect from a[1.2.3.4]"[..])
        );
        let h = pf("Nov 03 01:02:05 mx postfix/relay/smtp[9]: x");
        assert_eq!((h.prog, h.pid), (Prog::Smtp, 9));
        let h = pf("<22>1 2024-11-30T01:02:03.123456+00:00 mx postfix/smtpd 1234 - - SSL_accept error from unknown[198.51.100.23]: -1");
        assert_eq!((h.prog, h.pid), (Prog::Smtpd, 1234));
        assert_eq!(h.msg, b"SSL_accept error from unknown[198.51.100.23]: -1");
        let h = pf("<22>1 2024-11-30T01:02:03Z mx postfix/smtpd 1234 ID47 [ex@1 a=\"]\\]\"][b@2] \u{feff}hi");
        assert_eq!(h.msg, b"hi");
        let h = pf("2024-11-30T01:02:03+0000 mx postfix/postfix-script[77]: starting");
        assert_eq!(h.prog, Prog::OtherPostfix);
        let h = pf("<22>Nov 30 01:02:03 mx postfix/cleanup[5]: A: message-id=<x>");
        assert_eq!(h.prog, Prog::Cleanup);
    }

    #[test]
    fn non_postfix_and_garbage() {
        let mut p = parser();
        assert!(matches!(
            p.parse(b"Nov 30 01:02:03 mx dovecot[12]: imap-login: x"),
            Parsed::Other(_)
        ));
        assert!(matches!(
            p.parse(b"Nov 30 01:02:03 mx systemd[1]: Started x"),
            Parsed::Other(_)
        ));
        assert!(matches!(
            p.parse(b"Nov 30 01:02:03 mx amavis/foo[1]: x"),
            Parsed::Other(_)
        ));
        for g in [
            &b""[..],
            b"garbage",
            b"<",
            b"<22>",
            b"<22>1 ",
            b"Nov 30 01:02:03",
            b"Nov 30 01:02:03 mx",
            b"2024-11-30T01:02:03Z mx postfix/smtpd[1]",
            b"\xff\xfe",
        ] {
            assert!(matches!(p.parse(g), Parsed::Unparsed), "{g:?}");
        }
    }
}
