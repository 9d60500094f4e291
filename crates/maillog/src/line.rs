//! Splits one log line into timestamp, tag and message, for every supported format:
//! traditional syslog (with or without a `<PRI>` prefix), Postfix's `maillog_file`, RFC 3339
//! (rsyslog), `journalctl -o short-iso[-precise]` and RFC 5424.
//!
//! This runs on every input line, so it allocates nothing and looks at as few bytes as it can.

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
    /// `smtp` or `lmtp` (outbound delivery).
    Smtp,
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
    /// A well-formed line from another program (counted in `lines` only).
    Other,
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

/// Postfix's programs. One `match` compiles to a switch on the length and a few compares,
/// far cheaper than scanning a list.
#[inline]
fn classify(prog: &[u8]) -> Option<Prog> {
    Some(match prog {
        b"smtpd" => Prog::Smtpd,
        b"smtp" | b"lmtp" => Prog::Smtp,
        b"cleanup" => Prog::Cleanup,
        b"tlsproxy" => Prog::Tlsproxy,
        b"qmgr" | b"oqmgr" | b"pickup" | b"local" | b"virtual" | b"pipe" | b"bounce" | b"defer"
        | b"trace" | b"anvil" | b"master" | b"postscreen" | b"dnsblog" | b"trivial-rewrite"
        | b"scache" | b"error" | b"discard" | b"showq" | b"postdrop" | b"sendmail" | b"verify"
        | b"tlsmgr" | b"proxymap" | b"proxywrite" | b"flush" | b"postlogd" | b"postqueue"
        | b"postsuper" | b"postfix-script" | b"postmap" | b"postalias" | b"spawn" | b"qmqpd"
        | b"postmulti" | b"postlog" | b"retry" => Prog::OtherPostfix,
        _ => return None,
    })
}

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
    match classify(prog) {
        Some(p) => Some(p),
        // An unknown program under a `postfix...` syslog_name is still a Postfix line.
        None if name.starts_with(b"postfix") => Some(Prog::OtherPostfix),
        None => None,
    }
}

/// The next space-delimited field of `b` starting at `i`: (field, index after the space).
#[inline]
fn field(b: &[u8], i: usize) -> Option<(&[u8], usize)> {
    let rest = b.get(i..)?;
    // Fields are short (host, tag): a plain loop beats a SIMD search's setup here.
    let sp = rest.iter().position(|&c| c == b' ')?;
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

    fn parse_inner<'a>(&mut self, line: &'a [u8]) -> Option<Parsed<'a>> {
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
        let end = memchr::memchr2(b':', b' ', rest)?;
        if rest[end] != b':' || rest.get(end + 1) != Some(&b' ') {
            return Some(Parsed::Other);
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
            None => Parsed::Other,
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
            None => Parsed::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::to_datetime;

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
            Parsed::Other
        ));
        assert!(matches!(
            p.parse(b"Nov 30 01:02:03 mx systemd[1]: Started x"),
            Parsed::Other
        ));
        assert!(matches!(
            p.parse(b"Nov 30 01:02:03 mx amavis/foo[1]: x"),
            Parsed::Other
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
