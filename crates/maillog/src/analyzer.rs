//! The streaming aggregator: feed it lines, get a [`LogReport`].
//!
//! Memory is bounded whatever the input size: per-key maps are capped at [`MAX_KEYS`] (the
//! rest is summed in an [`OTHER`] row), small label maps (protocols, ciphers, reasons) at
//! [`MAX_LABELS`], open sessions at [`MAX_SESSIONS`], remembered queue IDs at [`QID_WINDOW`],
//! and buckets at [`MAX_BUCKETS`] (by widening them).

use std::collections::BTreeMap;

use memchr::memmem;

use crate::hash::{hash_bytes, IdHashMap};
use crate::line::{Header, LineParser, Parsed, Prog};
use crate::qids::{QidKey, QidWindow, QID_WINDOW};
use crate::report::{
    Bucket, By, ClientRow, Counts, DomainRow, LogQuery, LogReport, MAX_BUCKETS, MAX_KEYS, OTHER,
};
use crate::scan::{bytes_eq, find_byte, is, Words, C_ALNUM};
use crate::sessions::{Session, Sessions};
use crate::time::{to_datetime, YearHint};

mod split;
pub use split::{analyze_split, PARALLEL_MIN_BYTES};

/// Cap on each label map (protocols, ciphers, failure reasons).
pub const MAX_LABELS: usize = 256;
/// Cap on concurrently open smtpd sessions tracked (keyed by pid).
pub const MAX_SESSIONS: usize = 65_536;
/// Reason recorded when an `SSL_accept error ...: -1` is not followed by a
/// `TLS library problem` line of the same process.
pub const UNSPECIFIED: &str = "unspecified";

#[derive(Debug, Clone, Copy, Default)]
struct ClientCounts {
    connections: u64,
    tls_established: u64,
    tls_handshake_failures: u64,
    starttls_required_rejects: u64,
}

#[derive(Debug, Clone, Copy, Default)]
struct DomainCounts {
    sent: u64,
    deferred: u64,
    bounced: u64,
    tls_deferrals: u64,
}

/// A small insertion-ordered label counter, linear search (few distinct labels).
#[derive(Debug, Default)]
struct Labels {
    items: Vec<(Box<[u8]>, u64)>,
    other: u64,
}

impl Labels {
    fn bump(&mut self, key: &[u8]) {
        if let Some(e) = self.items.iter_mut().find(|e| &*e.0 == key) {
            e.1 += 1;
        } else if self.items.len() < MAX_LABELS {
            self.items.push((key.into(), 1));
        } else {
            self.other += 1;
        }
    }

    fn into_map(self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for (k, v) in self.items {
            *m.entry(String::from_utf8_lossy(&k).into_owned())
                .or_insert(0) += v;
        }
        if self.other > 0 {
            *m.entry(OTHER.to_string()).or_insert(0) += self.other;
        }
        m
    }
}

/// A capped byte-string keyed map with an overflow value.
///
/// The index maps the key's 64-bit hash (computed once by the caller, who also uses it for
/// other purposes) to the first slot with that hash; slots with the same hash are chained
/// through `next`, and the bytes are always compared, so keys are exact. A hit costs one
/// identity-hashed lookup and one byte comparison, and no allocation.
#[derive(Debug)]
struct Capped<V> {
    index: IdHashMap<u32>,
    keys: Vec<Box<[u8]>>,
    next: Vec<u32>,
    values: Vec<V>,
    other: V,
}

/// End of a hash chain in [`Capped`].
const NIL: u32 = u32::MAX;

impl<V: Default> Capped<V> {
    fn new() -> Self {
        Capped {
            index: IdHashMap::default(),
            keys: Vec::new(),
            next: Vec::new(),
            values: Vec::new(),
            other: V::default(),
        }
    }

    /// The value of `key`, whose [`hash_bytes`] is `hash`.
    #[inline]
    fn entry(&mut self, hash: u64, key: &[u8]) -> &mut V {
        let slot = self.slot(hash, key);
        self.at(slot)
    }

    /// The slot of `key` (whose [`hash_bytes`] is `hash`), added if new; [`NIL`] when the map
    /// is full and `key` is not in it (its value is then the overflow row).
    #[inline]
    fn slot(&mut self, hash: u64, key: &[u8]) -> u32 {
        let head = self.index.get(&hash).copied().unwrap_or(NIL);
        let mut i = head;
        while i != NIL {
            // Chain indices always point into `keys`/`next`/`values` (pushed together).
            let k = i as usize;
            if bytes_eq(&self.keys[k], key) {
                return i;
            }
            i = self.next[k];
        }
        if self.values.len() >= MAX_KEYS {
            return NIL;
        }
        // MAX_KEYS is far below u32::MAX, so the new index fits.
        let k = self.values.len() as u32;
        self.keys.push(key.into());
        self.next.push(head);
        self.values.push(V::default());
        self.index.insert(hash, k);
        k
    }

    /// The value in `slot` (from [`Capped::slot`]); the overflow row for [`NIL`].
    #[inline]
    fn at(&mut self, slot: u32) -> &mut V {
        match self.values.get_mut(slot as usize) {
            Some(v) => v,
            None => &mut self.other,
        }
    }

    /// Whether `slot` holds `key` (so a remembered slot can be used without a lookup).
    #[inline]
    fn holds(&self, slot: u32, key: &[u8]) -> bool {
        self.keys
            .get(slot as usize)
            .is_some_and(|k| bytes_eq(k, key))
    }

    fn len(&self) -> usize {
        self.values.len()
    }

    /// (key, value) pairs, in insertion order.
    fn into_pairs(self) -> Vec<(Box<[u8]>, V)> {
        self.keys.into_iter().zip(self.values).collect()
    }
}

/// Needles compiled once.
struct Finders {
    status: memmem::Finder<'static>,
    starttls: memmem::Finder<'static>,
    mail: memmem::Finder<'static>,
    tls: memmem::Finder<'static>,
    error: memmem::Finder<'static>,
    cert_failed: memmem::Finder<'static>,
    cert_unverified: memmem::Finder<'static>,
}

/// Streaming analyser. Call [`Analyzer::begin_source`] before each input, then
/// [`Analyzer::feed_line`] for each line, then [`Analyzer::finish`].
pub struct Analyzer {
    query: LogQuery,
    hint: YearHint,
    parser: LineParser,
    since: i64,
    until: i64,
    origin: i64,
    width: i64,
    lines: u64,
    postfix_lines: u64,
    unparsed_lines: u64,
    first: Option<i64>,
    last: Option<i64>,
    /// Latest timestamped line fed (any program), whatever the time filter (the guard's
    /// coverage check).
    latest: Option<i64>,
    totals: Counts,
    /// The bucket being filled (logs are in time order, so this is nearly always the one);
    /// merged into `buckets` when another bucket is needed.
    current: Option<(i64, Counts)>,
    buckets: BTreeMap<i64, Counts>,
    protocols: Labels,
    ciphers: Labels,
    reasons: crate::reasons::Reasons,
    transports: [crate::report::TransportCounts; 8],
    clients: Capped<ClientCounts>,
    domains: Capped<DomainCounts>,
    sessions: Sessions,
    pending: Vec<u32>,
    /// Queue IDs recently counted (de-duplication of `message-id=` lines).
    qids: QidWindow,
    scratch: Vec<u8>,
    finders: Finders,
    /// Set on the analyser of the second half of a split scan (see [`split`]).
    tail: Option<split::Tail>,
}

#[inline]
fn after<'a>(b: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    b.strip_prefix(prefix)
}

/// `host[addr]` at the start of `b`: (client, rest after it). A `:port` that follows (with
/// `smtpd_client_port_logging = yes`) is skipped and not part of the key, so that a client
/// is one row, not one row per session.
#[inline]
fn namaddr(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let close = find_byte(b, b']')?;
    let key_end = close + 1;
    let mut end = key_end;
    if b.get(end) == Some(&b':') && b.get(end + 1).is_some_and(u8::is_ascii_digit) {
        end += 1;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
    }
    Some((&b[..key_end], &b[end..]))
}

/// Leading queue ID `QID: ` of a message: returns the ID and the rest after `: `.
#[inline]
fn queue_id(msg: &[u8]) -> Option<(&[u8], &[u8])> {
    // Same as "the first `:` within 32 bytes, all alphanumerics before it": scanning the
    // alphanumerics stops at that colon exactly when the ID is valid.
    // A plain index loop: `take(32).position(..)` compiles to a much longer loop body.
    let limit = msg.len().min(32);
    let mut colon = 0;
    while colon < limit && is(msg[colon], C_ALNUM) {
        colon += 1;
    }
    if colon == limit || msg[colon] != b':' {
        return None;
    }
    let qid = &msg[..colon];
    if qid.len() < 5 {
        return None;
    }
    Some((qid, msg.get(colon + 2..)?))
}

/// A queue ID as an exact 128-bit key (IDs are at most 16 characters, also the long form);
/// a longer one (never seen from Postfix) is hashed, tagged by its length.
#[inline]
fn qid_key(qid: &[u8]) -> QidKey {
    if qid.len() <= 16 {
        let mut k = [0u8; 16];
        k[..qid.len()].copy_from_slice(qid);
        u128::from_le_bytes(k)
    } else {
        (u128::from(hash_bytes(qid)) << 64) | qid.len() as u128
    }
}

/// `sent` → 0, `deferred` → 1, `bounced`/`expired` → 2 (the start of a `status=` value).
#[inline]
fn status_kind(status: &[u8]) -> Option<u8> {
    if status.starts_with(b"sent") {
        Some(0)
    } else if status.starts_with(b"deferred") {
        Some(1)
    } else if status.starts_with(b"bounced") || status.starts_with(b"expired") {
        Some(2)
    } else {
        None
    }
}

/// Parses `N` or `N/M` counters of a disconnect line: (successes, attempts).
#[inline]
fn counter(b: &[u8]) -> (u64, u64) {
    let mut ok: u64 = 0;
    let mut i = 0;
    while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
        ok = ok.saturating_mul(10).saturating_add(u64::from(c - b'0'));
        i += 1;
    }
    if b.get(i) != Some(&b'/') {
        return (ok, ok);
    }
    i += 1;
    let mut total: u64 = 0;
    while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
        total = total.saturating_mul(10).saturating_add(u64::from(c - b'0'));
        i += 1;
    }
    (ok, total)
}

impl Analyzer {
    /// A new analyser. `hint` is the default reference for year-less timestamps.
    pub fn new(query: &LogQuery, hint: &YearHint) -> Self {
        let since = query.since.map_or(i64::MIN, |t| t.timestamp());
        let until = query.until.map_or(i64::MAX, |t| t.timestamp());
        let width = i64::try_from(query.bucket.as_secs())
            .unwrap_or(i64::MAX)
            .max(1);
        Analyzer {
            query: query.clone(),
            hint: *hint,
            parser: LineParser::new(hint),
            since,
            until,
            origin: query.since.map_or(0, |t| t.timestamp()),
            width,
            lines: 0,
            postfix_lines: 0,
            unparsed_lines: 0,
            first: None,
            last: None,
            latest: None,
            totals: Counts::default(),
            current: None,
            buckets: BTreeMap::new(),
            protocols: Labels::default(),
            ciphers: Labels::default(),
            reasons: crate::reasons::Reasons::default(),
            transports: Default::default(),
            clients: Capped::new(),
            domains: Capped::new(),
            sessions: Sessions::default(),
            pending: Vec::new(),
            qids: QidWindow::default(),
            scratch: Vec::with_capacity(256),
            tail: None,
            finders: Finders {
                status: memmem::Finder::new(b", status="),
                starttls: memmem::Finder::new(b" starttls="),
                mail: memmem::Finder::new(b" mail="),
                tls: memmem::Finder::new(b"TLS"),
                error: memmem::Finder::new(b"error:"),
                cert_failed: memmem::Finder::new(b"certificate verification failed"),
                cert_unverified: memmem::Finder::new(b"Server certificate not verified"),
            },
        }
    }

    /// Starts a new input: year inference restarts from `reference` (the file's mtime) or,
    /// when `None`, from the analyser's default hint. Pending per-process state is kept,
    /// because rotated files continue each other.
    pub fn begin_source(&mut self, reference: Option<chrono::DateTime<chrono::Utc>>) {
        let hint = match reference {
            Some(r) => YearHint {
                reference: r,
                utc_offset_secs: self.hint.utc_offset_secs,
            },
            None => self.hint,
        };
        self.parser = LineParser::new(&hint);
    }

    /// Feeds one line (a trailing `\n` / `\r\n` is ignored).
    #[inline]
    pub fn feed_line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let parsed = self.parser.parse(line);
        if let (Some(tail), Parsed::Postfix(h)) = (&mut self.tail, &parsed) {
            if tail.orphan(h, line) {
                return;
            }
        }
        self.lines += 1;
        match parsed {
            Parsed::Postfix(h) => {
                self.postfix_lines += 1;
                if self.latest.is_none_or(|l| h.ts > l) {
                    self.latest = Some(h.ts);
                }
                if h.ts >= self.since && h.ts < self.until {
                    // The time range, not the first and last lines read (inputs may be given
                    // newest first, and lines may be slightly out of order).
                    if self.first.is_none_or(|f| h.ts < f) {
                        self.first = Some(h.ts);
                    }
                    if self.last.is_none_or(|l| h.ts > l) {
                        self.last = Some(h.ts);
                    }
                    self.event(&h);
                }
            }
            Parsed::Other(ts) => {
                if self.latest.is_none_or(|l| ts > l) {
                    self.latest = Some(ts);
                }
            }
            Parsed::Unparsed => self.unparsed_lines += 1,
        }
    }

    /// Time of the latest timestamped line (of any program) fed so far, inside the time
    /// filter or not: shows how far the log is written.
    pub fn latest(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.latest.map(to_datetime)
    }

    /// Applies `f` to the totals and to the bucket of `ts`.
    #[inline]
    fn bump(&mut self, ts: i64, f: impl Fn(&mut Counts)) {
        f(&mut self.totals);
        // Nearly always the current bucket: a range check, no division.
        if let Some((k, c)) = &mut self.current {
            if ts >= *k && ts - *k < self.width {
                f(c);
                return;
            }
        }
        // Another bucket (the current one covers exactly [k, k + width), and the width only
        // changes after the current bucket is flushed).
        self.flush_bucket();
        let key = self.origin + (ts - self.origin).div_euclid(self.width) * self.width;
        let mut c = Counts::default();
        f(&mut c);
        self.current = Some((key, c));
    }

    /// Moves the current bucket into the map (widening buckets when over the cap).
    fn flush_bucket(&mut self) {
        if let Some((k, c)) = self.current.take() {
            self.buckets.entry(k).or_default().add(&c);
            if self.buckets.len() > MAX_BUCKETS {
                self.widen();
            }
        }
    }

    /// Doubles the bucket width and merges buckets, until under the cap.
    fn widen(&mut self) {
        while self.buckets.len() > MAX_BUCKETS / 2 {
            self.width = self.width.saturating_mul(2);
            let old = std::mem::take(&mut self.buckets);
            for (k, c) in old {
                let key = self.origin + (k - self.origin).div_euclid(self.width) * self.width;
                self.buckets.entry(key).or_default().add(&c);
            }
        }
    }

    fn event(&mut self, h: &Header<'_>) {
        if !self.pending.is_empty() && self.pending.contains(&h.pid) {
            self.resolve_pending(h);
            return;
        }
        match h.prog {
            Prog::Smtpd | Prog::Tlsproxy => self.smtpd(h),
            Prog::Cleanup => self.cleanup(h),
            Prog::Smtp => self.smtp(h, 0),
            Prog::Lmtp => self.smtp(h, 1),
            Prog::Delivery(t) => self.delivery(h, t),
            Prog::OtherPostfix => {}
        }
    }

    /// The line after an `SSL_accept error ...: -1` from the same process: take the reason
    /// from a `TLS library problem` line, otherwise record `unspecified` and handle the line.
    fn resolve_pending(&mut self, h: &Header<'_>) {
        self.pending.retain(|&p| p != h.pid);
        if let Some(problem) = after(h.msg, b"warning: TLS library problem: ") {
            if let Some(reason) = self.openssl_reason(problem) {
                self.reasons.bump(reason, h.ts, h.msg);
                return;
            }
        }
        self.reasons.bump_other(h.ts, h.msg);
        self.event(h);
    }

    /// `error:0A0000C1:SSL routines::no shared cipher:file:line:` -> `no shared cipher`.
    fn openssl_reason<'a>(&self, b: &'a [u8]) -> Option<&'a [u8]> {
        let at = self.finders.error.find(b)?;
        let mut parts = b[at + 6..].splitn(5, |&c| c == b':');
        let _code = parts.next()?;
        let _lib = parts.next()?;
        let _func = parts.next()?;
        let reason = parts.next()?;
        (!reason.is_empty()).then_some(reason)
    }

    fn smtpd(&mut self, h: &Header<'_>) {
        let m = h.msg;
        let ts = h.ts;
        if let Some(rest) = after(m, b"connect from ") {
            let client = namaddr(rest).map_or(rest, |c| c.0);
            if h.prog == Prog::Smtpd {
                let key = hash_bytes(client);
                self.bump(ts, |c| c.connections += 1);
                let slot = self.clients.slot(key, client);
                self.clients.at(slot).connections += 1;
                if self.sessions.len() < MAX_SESSIONS || self.sessions.contains_key(h.pid) {
                    self.sessions.insert(
                        h.pid,
                        Session {
                            tls: false,
                            client: key,
                            slot,
                        },
                    );
                }
            }
        } else if let Some(rest) = after(m, b"disconnect from ") {
            self.disconnect(h, rest);
        } else if let Some(rest) = after(m, b"SSL_accept error from ") {
            let (client, tail) = namaddr(rest).unwrap_or((rest, b""));
            self.bump(ts, |c| c.tls_handshake_failures += 1);
            self.clients
                .entry(hash_bytes(client), client)
                .tls_handshake_failures += 1;
            if let Some(s) = self.sessions.get_mut(h.pid) {
                s.tls = false;
            }
            let status = tail.strip_prefix(b": ").unwrap_or(tail);
            let numeric = !status.is_empty()
                && status
                    .iter()
                    .enumerate()
                    .all(|(i, c)| c.is_ascii_digit() || (i == 0 && *c == b'-'));
            if numeric {
                if self.pending.len() >= 1024 {
                    // Bounded: the oldest unresolved failure keeps no reason.
                    self.pending.remove(0);
                    self.reasons.bump_other(ts, m);
                }
                self.pending.push(h.pid);
            } else if status.is_empty() {
                self.reasons.bump_other(ts, m);
            } else {
                self.reasons.bump(status, ts, m);
            }
        } else if let Some(client_part) = self.established(m, b" from ") {
            let Some((client, rest)) = namaddr(client_part) else {
                return;
            };
            self.bump(ts, |c| c.tls_established += 1);
            let room = self.sessions.len() < MAX_SESSIONS;
            let clients = &mut self.clients;
            match self.sessions.get_mut(h.pid) {
                // The session's client, as remembered: no hashing, no lookup.
                Some(s) if clients.holds(s.slot, client) => {
                    clients.at(s.slot).tls_established += 1;
                    s.tls = true;
                }
                Some(s) => {
                    let key = hash_bytes(client);
                    let slot = clients.slot(key, client);
                    clients.at(slot).tls_established += 1;
                    *s = Session {
                        tls: true,
                        client: key,
                        slot,
                    };
                }
                None => {
                    let key = hash_bytes(client);
                    let slot = clients.slot(key, client);
                    clients.at(slot).tls_established += 1;
                    if h.prog == Prog::Smtpd && room {
                        self.sessions.insert(
                            h.pid,
                            Session {
                                tls: true,
                                client: key,
                                slot,
                            },
                        );
                    }
                }
            }
            // `[ to SNI]: PROTO with cipher CIPHER (`
            let Some(colon) = find_byte(rest, b':') else {
                return;
            };
            let mut it = Words::new(&rest[colon + 1..]);
            if let Some(proto) = it.next() {
                self.protocols.bump(proto);
            }
            if let (Some(b"with"), Some(b"cipher"), Some(cipher)) =
                (it.next(), it.next(), it.next())
            {
                self.ciphers.bump(cipher);
            }
        }
    }

    /// `Anonymous|Verified|Trusted|Untrusted TLS connection established|reused DIR ...`:
    /// returns what follows `DIR` (`" from "` or `" to "`).
    #[inline]
    fn established<'a>(&self, m: &'a [u8], dir: &[u8]) -> Option<&'a [u8]> {
        let sp = find_byte(m.get(..12).unwrap_or(m), b' ')?;
        let rest = after(&m[sp..], b" TLS connection ")?;
        let rest = after(rest, b"established").or_else(|| after(rest, b"reused"))?;
        after(rest, dir)
    }

    fn disconnect(&mut self, h: &Header<'_>, rest: &[u8]) {
        let ts = h.ts;
        let (client, counters) = namaddr(rest).unwrap_or((rest, b""));
        let starttls = self.finders.starttls.find(counters);
        let starttls_ok = starttls.is_some_and(|at| counter(&counters[at + 10..]).0 > 0);
        let session = if h.prog == Prog::Smtpd {
            self.sessions.remove(h.pid)
        } else {
            None
        };
        // Whether the session is this client's: its remembered slot holds these bytes, or
        // (overflow row, or a hint from the other half of a split scan) the hashes agree.
        // `Some(slot)` when it is, with the slot if known.
        let same = session.and_then(|s| {
            if self.clients.holds(s.slot, client) {
                Some(s.slot)
            } else {
                (s.client == hash_bytes(client)).then_some(NIL)
            }
        });
        let tls = (same.is_some() && session.is_some_and(|s| s.tls)) || starttls_ok;
        if tls {
            self.bump(ts, |c| c.tls_sessions += 1);
        } else {
            self.bump(ts, |c| c.plaintext_sessions += 1);
        }
        if starttls.is_none() {
            if let Some(at) = self.finders.mail.find(counters) {
                let (ok, total) = counter(&counters[at + 6..]);
                if ok == 0 && total > 0 {
                    self.bump(ts, |c| c.starttls_required_rejects += 1);
                    let slot = match same {
                        Some(slot) if slot != NIL => slot,
                        _ => self.clients.slot(hash_bytes(client), client),
                    };
                    self.clients.at(slot).starttls_required_rejects += 1;
                }
            }
        }
    }

    fn cleanup(&mut self, h: &Header<'_>) {
        let Some((qid, rest)) = queue_id(h.msg) else {
            return;
        };
        if !rest.starts_with(b"message-id=") {
            return;
        }
        if let Some(i) = self.qids.push(qid_key(qid), h.ts) {
            if i.new {
                self.count_message(i.key, i.ts);
            }
        }
    }

    /// Counts a message whose queue ID was not in the window.
    fn count_message(&mut self, key: QidKey, ts: i64) {
        if let Some(t) = &mut self.tail {
            if t.first_qids.len() < QID_WINDOW {
                t.first_qids.push((key, ts));
            }
        }
        self.bump(ts, |c| c.messages_accepted += 1);
    }

    /// Counts the messages whose queue IDs [`QidWindow::push`] still holds back.
    fn flush_qids(&mut self) {
        while let Some(i) = self.qids.pop() {
            if i.new {
                self.count_message(i.key, i.ts);
            }
        }
    }

    /// A `status=` line of a delivery agent other than smtp/lmtp: counted by transport.
    fn delivery(&mut self, h: &Header<'_>, transport: u8) {
        let Some((_qid, rest)) = queue_id(h.msg) else {
            return;
        };
        if !rest.starts_with(b"to=<") {
            return;
        }
        let Some(at) = self.finders.status.find(rest) else {
            return;
        };
        let Some(kind) = status_kind(&rest[at + 9..]) else {
            return;
        };
        self.count_delivery(h.ts, transport, kind);
    }

    /// Counts one delivery of `kind` (0 sent, 1 deferred, 2 bounced) by `transport`.
    fn count_delivery(&mut self, ts: i64, transport: u8, kind: u8) {
        match kind {
            0 => self.bump(ts, |c| c.deliveries_sent += 1),
            1 => self.bump(ts, |c| c.deliveries_deferred += 1),
            _ => self.bump(ts, |c| c.deliveries_bounced += 1),
        }
        if let Some(t) = self.transports.get_mut(usize::from(transport)) {
            match kind {
                0 => t.sent += 1,
                1 => t.deferred += 1,
                _ => t.bounced += 1,
            }
        }
    }

    fn smtp(&mut self, h: &Header<'_>, transport: u8) {
        let m = h.msg;
        let ts = h.ts;
        if let Some((_qid, rest)) = queue_id(m) {
            let Some(to) = after(rest, b"to=<") else {
                return;
            };
            let Some(at) = self.finders.status.find(to) else {
                return;
            };
            let status = &to[at + 9..];
            let addr = &to[..find_byte(to, b'>').unwrap_or(0).min(at)];
            let domain = memchr::memrchr(b'@', addr).map_or(&b""[..], |i| &addr[i + 1..]);
            self.scratch.clear();
            self.scratch
                .extend(domain.iter().map(u8::to_ascii_lowercase));
            let Some(kind) = status_kind(status) else {
                return;
            };
            let tls_reason = kind == 1 && {
                let reason = memchr::memchr(b'(', status).map_or(&b""[..], |i| &status[i..]);
                self.finders.tls.find(reason).is_some()
                    || self.finders.cert_failed.find(reason).is_some()
                    || self.finders.cert_unverified.find(reason).is_some()
            };
            let track = self.query.by != By::Client && !self.scratch.is_empty();
            self.count_delivery(ts, transport, kind);
            if tls_reason {
                self.bump(ts, |c| c.tls_deferrals += 1);
            }
            if track {
                let key = std::mem::take(&mut self.scratch);
                let d = self.domains.entry(hash_bytes(&key), &key);
                match kind {
                    0 => d.sent += 1,
                    1 => d.deferred += 1,
                    _ => d.bounced += 1,
                }
                if tls_reason {
                    d.tls_deferrals += 1;
                }
                self.scratch = key;
            }
        } else if self.established(m, b" to ").is_some() {
            self.bump(ts, |c| c.tls_established_outbound += 1);
        }
    }

    /// Ends the analysis and builds the report.
    pub fn finish(mut self) -> LogReport {
        self.flush_qids();
        self.flush_bucket();
        for _ in 0..self.pending.len() {
            self.reasons.bump_other(
                i64::MAX,
                b"SSL_accept error (no TLS library problem line followed)",
            );
        }
        let top = if self.query.top == 0 {
            usize::MAX
        } else {
            self.query.top
        };
        let distinct_clients = self.clients.len() as u64;
        let distinct_domains = self.domains.len() as u64;
        let mut by_client = Vec::new();
        if self.query.by != By::Domain {
            let other = self.clients.other;
            let mut rows: Vec<ClientRow> = self
                .clients
                .into_pairs()
                .into_iter()
                .map(|(k, v)| client_row(String::from_utf8_lossy(&k).into_owned(), v))
                .collect();
            if other.connections
                + other.tls_handshake_failures
                + other.tls_established
                + other.starttls_required_rejects
                > 0
            {
                rows.push(client_row(OTHER.to_string(), other));
            }
            rows.sort_by(|a, b| {
                (
                    b.tls_handshake_failures,
                    b.starttls_required_rejects,
                    b.connections,
                )
                    .cmp(&(
                        a.tls_handshake_failures,
                        a.starttls_required_rejects,
                        a.connections,
                    ))
                    .then_with(|| a.client.cmp(&b.client))
            });
            rows.truncate(top);
            by_client = rows;
        }
        let mut by_domain = Vec::new();
        if self.query.by != By::Client {
            let other = self.domains.other;
            let mut rows: Vec<DomainRow> = self
                .domains
                .into_pairs()
                .into_iter()
                .map(|(k, v)| domain_row(String::from_utf8_lossy(&k).into_owned(), v))
                .collect();
            if other.sent + other.deferred + other.bounced > 0 {
                rows.push(domain_row(OTHER.to_string(), other));
            }
            rows.sort_by(|a, b| {
                (b.tls_deferrals, b.deferred, b.sent + b.bounced)
                    .cmp(&(a.tls_deferrals, a.deferred, a.sent + a.bounced))
                    .then_with(|| a.domain.cmp(&b.domain))
            });
            rows.truncate(top);
            by_domain = rows;
        }
        let (failure_reasons, failure_samples) = self.reasons.into_maps();
        let notes = loglevel_notes(&self.totals);
        LogReport {
            lines: self.lines,
            postfix_lines: self.postfix_lines,
            unparsed_lines: self.unparsed_lines,
            first: self.first.map(to_datetime),
            last: self.last.map(to_datetime),
            since: self.query.since,
            until: self.query.until,
            bucket_seconds: u64::try_from(self.width).unwrap_or(1),
            totals: self.totals,
            tls_protocols: self.protocols.into_map(),
            tls_ciphers: self.ciphers.into_map(),
            failure_reasons,
            failure_samples,
            deliveries_by_transport: crate::report::TRANSPORTS
                .iter()
                .zip(self.transports)
                .filter(|(_, c)| c.sent + c.deferred + c.bounced > 0)
                .map(|(n, c)| (n.to_string(), c))
                .collect(),
            notes,
            by_client,
            by_domain,
            distinct_clients,
            distinct_domains,
            buckets: self
                .buckets
                .into_iter()
                .map(|(k, counts)| Bucket {
                    start: to_datetime(k),
                    counts,
                })
                .collect(),
        }
    }
}

/// Says why "0 TLS established" may not mean "no TLS": at `smtpd_tls_loglevel = 0` Postfix
/// logs handshake failures but not the `TLS connection established` lines.
fn loglevel_notes(t: &Counts) -> Vec<String> {
    let mut notes = Vec::new();
    if t.tls_established == 0 && t.tls_sessions > 0 {
        notes.push(format!(
            "{} sessions used STARTTLS (their disconnect lines count starttls=1) but no \
             `TLS connection established` line was logged: smtpd_tls_loglevel is 0, which logs \
             handshake failures but not established sessions, so the protocol and cipher mix is \
             unknown; set smtpd_tls_loglevel = 1",
            t.tls_sessions
        ));
    } else if t.tls_established == 0 && t.connections > 0 {
        notes.push(
            "0 TLS established: either no client used TLS, or smtpd_tls_loglevel is 0 (which \
             logs handshake failures but not `TLS connection established` lines); with \
             smtpd_tls_loglevel = 1 the protocol and cipher mix is logged"
                .to_string(),
        );
    }
    notes
}

fn client_row(client: String, v: ClientCounts) -> ClientRow {
    ClientRow {
        client,
        connections: v.connections,
        tls_established: v.tls_established,
        tls_handshake_failures: v.tls_handshake_failures,
        starttls_required_rejects: v.starttls_required_rejects,
    }
}

fn domain_row(domain: String, v: DomainCounts) -> DomainRow {
    DomainRow {
        domain,
        sent: v.sent,
        deferred: v.deferred,
        bounced: v.bounced,
        tls_deferrals: v.tls_deferrals,
    }
}
