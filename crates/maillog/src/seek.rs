//! Windowed reads of plain log files: find the byte range of a time window by bisecting on
//! the timestamps, so that one hour out of a multi-gigabyte log costs what the hour costs.
//!
//! Logs are written in time order, up to small jitter (several writers, a relay's queue):
//! the range is widened by [`SLACK_SECS`] on both sides and the analyser's own time filter
//! keeps the result exact for lines that are at most that much out of order. A file whose
//! first line is later than its last (a concatenation of rotated files in the wrong order)
//! is not bisected: it is read whole.

use std::fs::File;
use std::os::unix::fs::FileExt;

use crate::line::{LineParser, Parsed};
use crate::time::YearHint;

/// Out-of-order tolerance of the bisection, seconds.
pub const SLACK_SECS: i64 = 300;
/// Bytes read per probe.
const PROBE: usize = 64 * 1024;
/// A probe gives up after this many bytes without a Postfix line (then the range is kept
/// wider, never narrower: correctness does not depend on it).
const PROBE_MAX: u64 = 1 << 20;
/// Bisection stops when the range is this small.
const GRAIN: u64 = 16 * 1024;

/// The time of a syslog line (of any program), parsed as the first line of a file.
fn line_time(hint: &YearHint, line: &[u8]) -> Option<i64> {
    // A fresh parser per line: its year comes from the reference alone, as for the first line
    // of a sequential read.
    match LineParser::new(hint).parse(line) {
        Parsed::Postfix(h) => Some(h.ts),
        Parsed::Other(ts) => Some(ts),
        Parsed::Unparsed => None,
    }
}

/// The first timestamped line starting at or after `offset` (after the next newline unless
/// `offset` is 0): (its timestamp, its start offset).
pub(crate) fn probe(file: &File, size: u64, offset: u64, hint: &YearHint) -> Option<(i64, u64)> {
    let mut buf = vec![0u8; PROBE];
    let mut pos = offset;
    let mut at_line_start = offset == 0;
    let mut carry: Vec<u8> = Vec::new();
    while pos < size && pos - offset < PROBE_MAX {
        let n = file.read_at(&mut buf, pos).ok()?;
        if n == 0 {
            return None;
        }
        let mut data = std::mem::take(&mut carry);
        let base = pos - data.len() as u64;
        data.extend_from_slice(&buf[..n]);
        pos += n as u64;
        let mut start = 0usize;
        if !at_line_start {
            match memchr::memchr(b'\n', &data) {
                Some(nl) => {
                    start = nl + 1;
                    at_line_start = true;
                }
                None => continue,
            }
        }
        while let Some(nl) = memchr::memchr(b'\n', &data[start..]) {
            let line = &data[start..start + nl];
            if let Some(ts) = line_time(hint, line) {
                return Some((ts, base + start as u64));
            }
            start += nl + 1;
        }
        if pos >= size && start < data.len() {
            let line = &data[start..];
            if let Some(ts) = line_time(hint, line) {
                return Some((ts, base + start as u64));
            }
        }
        carry = data[start..].to_vec();
        if carry.len() > PROBE_MAX as usize {
            return None;
        }
    }
    None
}

/// The latest timestamp of a line in the last [`PROBE_MAX`] bytes of the file.
pub(crate) fn tail_time(file: &File, size: u64, hint: &YearHint) -> Option<i64> {
    let from = size.saturating_sub(PROBE_MAX);
    let mut buf = vec![0u8; usize::try_from(size - from).ok()?];
    file.read_exact_at(&mut buf, from).ok()?;
    let start = if from == 0 {
        0
    } else {
        memchr::memchr(b'\n', &buf)? + 1
    };
    buf[start..]
        .split(|&c| c == b'\n')
        .filter_map(|l| line_time(hint, l))
        .max()
}

/// Smallest line start found such that the lines before it are (up to jitter) earlier than
/// `target`: bisection on probes.
fn lower_bound(file: &File, size: u64, target: i64, hint: &YearHint) -> (u64, u64) {
    let (mut lo, mut hi) = (0u64, size);
    let mut hi_line = size;
    let mut rounds = 0;
    // At most 64 rounds: the range halves each time.
    while hi - lo > GRAIN && rounds < 64 {
        rounds += 1;
        let mid = lo + (hi - lo) / 2;
        match probe(file, size, mid, hint) {
            Some((ts, line)) if ts < target && line < hi => lo = line,
            Some((ts, line)) => {
                hi = mid;
                // Only a line at or after the target may end the range (conservative).
                if ts >= target {
                    hi_line = hi_line.min(line);
                }
            }
            None => hi = mid,
        }
    }
    (lo, hi_line)
}

/// The byte range `[start, end)` of a plain file that holds every line of `[since, until)`
/// (widened by [`SLACK_SECS`]); `start` and `end` are line starts (or 0 / the size).
/// Returns `(0, size)` when the file is not in time order.
pub(crate) fn window_range(
    file: &File,
    size: u64,
    since: Option<i64>,
    until: Option<i64>,
    hint: &YearHint,
) -> (u64, u64) {
    let (Some(first), Some(last)) = (probe(file, size, 0, hint), tail_time(file, size, hint))
    else {
        return (0, size);
    };
    if first.0 > last {
        return (0, size);
    }
    let start = since.map_or(0, |s| lower_bound(file, size, s - SLACK_SECS, hint).0);
    let end = until.map_or(size, |u| {
        lower_bound(file, size, u.saturating_add(SLACK_SECS), hint).1
    });
    (start, end.max(start))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn bisection_finds_the_window() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let t0 = 1_700_000_000i64;
        let mut offsets = Vec::new();
        let mut off = 0u64;
        for i in 0..200_000i64 {
            let t = crate::time::to_datetime(t0 + i);
            let l = format!(
                "{} mx postfix/qmgr[1]: ABCDE{i}: removed\n",
                t.format("%Y-%m-%dT%H:%M:%S+00:00")
            );
            offsets.push(off);
            off += l.len() as u64;
            f.write_all(l.as_bytes()).unwrap();
        }
        let file = f.reopen().unwrap();
        let hint = YearHint::utc(crate::time::to_datetime(t0));
        let (s, e) = window_range(&file, off, Some(t0 + 100_000), Some(t0 + 103_600), &hint);
        assert!(s <= offsets[(100_000 - SLACK_SECS) as usize], "{s}");
        assert!(
            s + 2 * GRAIN >= offsets[(100_000 - SLACK_SECS) as usize],
            "{s}"
        );
        assert!(e >= offsets[(103_600 + SLACK_SECS) as usize], "{e}");
        assert!(e <= offsets[(103_600 + SLACK_SECS) as usize] + 2 * GRAIN + PROBE as u64);
        assert!(offsets.contains(&s) && (e == off || offsets.contains(&e)));
        assert_eq!(window_range(&file, off, None, None, &hint), (0, off));
    }
}
