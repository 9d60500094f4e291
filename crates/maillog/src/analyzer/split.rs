//! Full scans on two cores: a plain file is split at a line boundary near its middle; the
//! first half continues the running analyser, the second half gets a fresh one in *tail
//! mode*, and the two are merged so that the result equals a sequential scan.
//!
//! What crosses the seam is per-process state: an smtpd session (or a pending
//! `SSL_accept error` waiting for its `TLS library problem` line) that began before the seam.
//! The tail analyser therefore sets aside, unprocessed, every smtpd/tlsproxy line of a
//! process that has not yet started a new session in its half (`connect from` /
//! `CONNECT from`); after the first half is done, the first analyser processes those lines
//! in order, with its state. Queue-ID de-duplication also crosses the seam: the tail records
//! the first [`QID_WINDOW`] queue IDs it counted, and the merge uncounts those the first half
//! had seen. Set-aside lines are bounded ([`MAX_ORPHAN_BYTES`]); past that, the second half
//! is read again sequentially (still exact, just slower). The caps of the per-key maps
//! ([`crate::MAX_KEYS`], [`super::MAX_LABELS`], [`crate::MAX_BUCKETS`]) can make the
//! *overflow rows* differ from a sequential scan; below the caps the results are identical.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;

use super::{Analyzer, ClientCounts, DomainCounts, Labels};
use crate::hash::hash_bytes;
use crate::input::for_each_line;
use crate::line::{Header, Prog};
use crate::pidset::PidSet;
use crate::qids::{Inserted, QidKey};
use crate::report::{LogQuery, LogReport};
use crate::time::YearHint;

/// Plain files at least this large are scanned on two threads.
pub const PARALLEL_MIN_BYTES: u64 = 32 << 20;
/// Most bytes of lines the tail analyser sets aside before giving up (then the second half
/// is re-read sequentially).
pub const MAX_ORPHAN_BYTES: usize = 16 << 20;

/// Tail-mode state.
#[derive(Debug, Default)]
pub(crate) struct Tail {
    /// smtpd/tlsproxy pids that started a new session in this half.
    fresh: PidSet,
    /// Lines of other smtpd/tlsproxy pids, in order, for the first analyser.
    orphans: Vec<Box<[u8]>>,
    orphan_bytes: usize,
    /// Set aside more than [`MAX_ORPHAN_BYTES`].
    overflow: bool,
    /// The first queue IDs this half counted, with their time.
    pub(crate) first_qids: Vec<(QidKey, i64)>,
}

impl Tail {
    /// Whether `line` belongs to a process whose state began before the seam (then it is set
    /// aside and not processed here).
    pub(crate) fn orphan(&mut self, h: &Header<'_>, line: &[u8]) -> bool {
        if !matches!(h.prog, Prog::Smtpd | Prog::Tlsproxy) || self.overflow {
            return false;
        }
        if self.fresh.contains(h.pid) {
            return false;
        }
        if h.msg.starts_with(b"connect from ") || h.msg.starts_with(b"CONNECT from ") {
            self.fresh.insert(h.pid);
            return false;
        }
        self.orphan_bytes += line.len();
        if self.orphan_bytes > MAX_ORPHAN_BYTES {
            self.overflow = true;
            return false;
        }
        self.orphans.push(line.into());
        true
    }
}

/// Reads `[pos, end)` of a file with positioned reads (each thread has its own cursor).
struct Range<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
}

impl Read for Range<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = usize::try_from(self.end - self.pos).unwrap_or(usize::MAX);
        let n = buf.len().min(left);
        if n == 0 {
            return Ok(0);
        }
        let k = self.file.read_at(&mut buf[..n], self.pos)?;
        self.pos += k as u64;
        Ok(k)
    }
}

/// The start of the line after the first newline at or after `from` (or `size`).
fn line_boundary(file: &File, size: u64, from: u64) -> io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut pos = from;
    while pos < size {
        let n = file.read_at(&mut buf, pos)?;
        if n == 0 {
            break;
        }
        if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
            return Ok(pos + i as u64 + 1);
        }
        pos += n as u64;
    }
    Ok(size)
}

impl Analyzer {
    /// A tail-mode analyser for the second half of a split scan.
    fn tail_of(&self) -> Analyzer {
        let mut a = Analyzer::new(&self.query, &self.hint);
        a.parser = self.parser.clone();
        // Buckets must line up: same origin, same width.
        a.width = self.width;
        a.tail = Some(Tail::default());
        a
    }

    /// Feeds every line of `file` (plain, `size` bytes) to `self`, on two threads when the
    /// file is large enough; errors carry the number of lines read.
    pub(crate) fn feed_file(&mut self, file: &File, size: u64) -> Result<(), (u64, io::Error)> {
        if size < PARALLEL_MIN_BYTES {
            let mut r = Range {
                file,
                pos: 0,
                end: size,
            };
            return for_each_line(&mut r, |l| self.feed_line(l)).map(drop);
        }
        let seam = line_boundary(file, size, size / 2).map_err(|e| (0, e))?;
        self.feed_split(file, size, seam)
    }

    fn feed_split(&mut self, file: &File, size: u64, seam: u64) -> Result<(), (u64, io::Error)> {
        let mut tail = self.tail_of();
        let (head_res, tail_res) = std::thread::scope(|s| {
            let t = s.spawn(|| {
                let mut r = Range {
                    file,
                    pos: seam,
                    end: size,
                };
                for_each_line(&mut r, |l| tail.feed_line(l))
            });
            let mut r = Range {
                file,
                pos: 0,
                end: seam,
            };
            let h = for_each_line(&mut r, |l| self.feed_line(l));
            // A panic in the tail thread is a bug; report it as an I/O error, not a panic.
            let t = t
                .join()
                .unwrap_or_else(|_| Err((0, io::Error::other("tail scan thread panicked"))));
            (h, t)
        });
        let head_lines = head_res?;
        tail_res.map_err(|(n, e)| (head_lines + n, e))?;
        if tail.tail.as_ref().is_some_and(|t| t.overflow) {
            // Too much state crossed the seam: read the second half again, sequentially.
            let mut r = Range {
                file,
                pos: seam,
                end: size,
            };
            return for_each_line(&mut r, |l| self.feed_line(l))
                .map(drop)
                .map_err(|(n, e)| (head_lines + n, e));
        }
        self.merge_tail(tail);
        Ok(())
    }

    /// Merges a tail-mode analyser that read the input right after everything `self` read.
    fn merge_tail(&mut self, mut t: Analyzer) {
        // Both halves' held-back queue IDs are counted first (the tail's is then among its
        // first IDs, if it is one of them).
        self.flush_qids();
        t.flush_qids();
        let Some(tail) = t.tail.take() else {
            return;
        };
        // 1. The lines that continue the first half's sessions, with the first half's state.
        for l in &tail.orphans {
            self.feed_line(l);
        }
        // (They are smtpd lines, so no queue ID is held back now; flushing keeps that true
        // whatever they are.)
        self.flush_qids();
        // 2. Queue IDs the second half counted that the first half had already seen.
        t.flush_bucket();
        // (Through the prefetching queue: these are many inserts in a row, and the merge is
        // not parallel.)
        let mut uncount = |i: Inserted| {
            if !i.new {
                t.totals.messages_accepted -= 1;
                let k = t.origin + (i.ts - t.origin).div_euclid(t.width) * t.width;
                if let Some(b) = t.buckets.get_mut(&k) {
                    b.messages_accepted -= 1;
                }
            }
        };
        for (key, ts) in tail.first_qids {
            if let Some(i) = self.qids.push(key, ts) {
                uncount(i);
            }
        }
        while let Some(i) = self.qids.pop() {
            uncount(i);
        }
        // The second half's own recent queue IDs are the newest.
        for key in t.qids.iter() {
            self.qids.push(key, 0);
        }
        while self.qids.pop().is_some() {}
        // 3. Everything additive.
        self.lines += t.lines;
        self.postfix_lines += t.postfix_lines;
        self.unparsed_lines += t.unparsed_lines;
        self.first = min_opt(self.first, t.first);
        self.last = max_opt(self.last, t.last);
        self.latest = max_opt(self.latest, t.latest);
        self.totals.add(&t.totals);
        self.flush_bucket();
        if t.width != self.width {
            // The tail widened its buckets: widen ours to match (or re-key its buckets).
            while self.width < t.width {
                self.width = self.width.saturating_mul(2);
            }
            self.rekey();
        }
        for (k, c) in t.buckets {
            let key = self.origin + (k - self.origin).div_euclid(self.width) * self.width;
            self.buckets.entry(key).or_default().add(&c);
        }
        if self.buckets.len() > crate::MAX_BUCKETS {
            self.widen();
        }
        merge_labels(&mut self.protocols, t.protocols);
        merge_labels(&mut self.ciphers, t.ciphers);
        self.reasons.merge(t.reasons);
        for (a, b) in self.transports.iter_mut().zip(t.transports) {
            a.sent += b.sent;
            a.deferred += b.deferred;
            a.bounced += b.bounced;
        }
        let other = t.clients.other;
        for (k, v) in t.clients.into_pairs() {
            add_client(self.clients.entry(hash_bytes(&k), &k), &v);
        }
        add_client(&mut self.clients.other, &other);
        let other = t.domains.other;
        for (k, v) in t.domains.into_pairs() {
            add_domain(self.domains.entry(hash_bytes(&k), &k), &v);
        }
        add_domain(&mut self.domains.other, &other);
        for (pid, s) in t.sessions.iter() {
            self.sessions.insert(pid, s);
        }
        self.pending.extend(t.pending);
        self.parser = t.parser;
    }

    /// Re-keys the bucket map to the current width.
    fn rekey(&mut self) {
        let old = std::mem::take(&mut self.buckets);
        for (k, c) in old {
            let key = self.origin + (k - self.origin).div_euclid(self.width) * self.width;
            self.buckets.entry(key).or_default().add(&c);
        }
    }
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) | (None, x) => x,
    }
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) | (None, x) => x,
    }
}

fn merge_labels(a: &mut Labels, b: Labels) {
    for (k, v) in b.items {
        if let Some(e) = a.items.iter_mut().find(|e| e.0 == k) {
            e.1 += v;
        } else if a.items.len() < super::MAX_LABELS {
            a.items.push((k, v));
        } else {
            a.other += v;
        }
    }
    a.other += b.other;
}

fn add_client(a: &mut ClientCounts, b: &ClientCounts) {
    a.connections += b.connections;
    a.tls_established += b.tls_established;
    a.tls_handshake_failures += b.tls_handshake_failures;
    a.starttls_required_rejects += b.starttls_required_rejects;
}

fn add_domain(a: &mut DomainCounts, b: &DomainCounts) {
    a.sent += b.sent;
    a.deferred += b.deferred;
    a.bounced += b.bounced;
    a.tls_deferrals += b.tls_deferrals;
}

/// Analyses the plain file `file` split at byte `seam` (which must be a line start) as the
/// two-core scan does: for tests that compare it with a sequential scan at every seam.
#[doc(hidden)]
pub fn analyze_split(
    file: &File,
    seam: u64,
    query: &LogQuery,
    hint: &YearHint,
) -> io::Result<LogReport> {
    let meta = file.metadata()?;
    let size = meta.len();
    let mut a = Analyzer::new(query, hint);
    // As `analyze` does for a file: its mtime places year-less dates.
    a.begin_source(
        meta.modified()
            .ok()
            .map(chrono::DateTime::<chrono::Utc>::from),
    );
    a.feed_split(file, size, seam).map_err(|(_, e)| e)?;
    Ok(a.finish())
}
