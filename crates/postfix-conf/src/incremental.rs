//! Incremental edits: which whole logical lines an edit rewrites, and splicing the new text
//! into the buffer in place, so an edit costs what it touches rather than a copy and a
//! re-read of the whole file.
//!
//! A [`Region`] is a byte range of the old buffer that starts at a line start, ends at a line
//! end, and never cuts through a logical line (a span of `readllines()`); re-reading its new
//! text on its own therefore gives the same logical lines a full re-read would, except in the
//! cases [`needs_full_reparse`] detects (the caller then falls back to a full re-read).

use memchr::{memchr, memrchr};

use crate::lines::{classify, LineKind, Lines};
use crate::splice::{apply, Splice};

/// Whole logical lines of the old buffer rewritten by some splices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Region {
    /// Old offset of the first byte (a line start).
    pub start: usize,
    /// Old offset just past the last line's terminator (or the end of the buffer).
    pub end: usize,
    /// The splices inside, with offsets relative to `start`.
    pub splices: Vec<Splice>,
}

impl Region {
    /// The region's text after its splices.
    pub fn new_text(&self, buf: &[u8]) -> Vec<u8> {
        apply(&buf[self.start..self.end], self.splices.clone())
    }
}

/// Offset of the start of the line holding `off`.
fn line_start(buf: &[u8], off: usize) -> usize {
    memrchr(b'\n', &buf[..off]).map_or(0, |i| i + 1)
}

/// Offset just past the terminator of the line holding `off` (`off < buf.len()`).
fn line_end(buf: &[u8], off: usize) -> usize {
    memchr(b'\n', &buf[off..]).map_or(buf.len(), |i| off + i + 1)
}

/// Groups splices into regions. `span_at(off)` returns the logical line (start, end) that
/// holds byte `off`, if any; each splice's lines are widened to whole logical lines, and
/// regions that overlap or touch are merged. Splice offsets must lie within the buffer.
pub(crate) fn regions(
    buf: &[u8],
    mut splices: Vec<Splice>,
    span_at: impl Fn(usize) -> Option<(usize, usize)>,
) -> Vec<Region> {
    splices.sort_by_key(|s| (s.start, s.end));
    let mut out: Vec<Region> = Vec::new();
    for s in splices {
        let a = s.start.min(buf.len());
        let b = s.end.clamp(a, buf.len());
        let mut start = line_start(buf, a);
        // A deletion ends inside (or at the end of) the line holding its last byte; an
        // insertion belongs to the line it is inserted into.
        let mut end = if b > a {
            line_end(buf, b - 1)
        } else if a < buf.len() {
            line_end(buf, a)
        } else {
            buf.len()
        };
        if let Some((ss, _)) = span_at(start) {
            start = start.min(ss);
        }
        if end > 0 {
            if let Some((_, se)) = span_at(end - 1) {
                end = end.max(se);
            }
        }
        match out.last_mut() {
            Some(r) if start <= r.end => {
                r.end = r.end.max(end);
                r.splices.push(s);
            }
            _ => out.push(Region {
                start,
                end,
                splices: vec![s],
            }),
        }
    }
    for r in &mut out {
        for s in &mut r.splices {
            s.start = s.start.clamp(r.start, r.end) - r.start;
            s.end = s.end.clamp(r.start, r.end) - r.start;
        }
    }
    out
}

/// True when the region's new text cannot be re-read on its own:
/// - it begins (after blank/comment lines) with a continuation line while a logical line is
///   open before it (`open_before`), which `readllines()` would join to that line;
/// - it no longer ends with a line terminator but bytes follow it;
/// - the line after it continues a logical line (`next_is_continuation`).
pub(crate) fn needs_full_reparse(
    text: &[u8],
    at_eof: bool,
    open_before: bool,
    next_is_continuation: bool,
) -> bool {
    if !at_eof && (next_is_continuation || (!text.is_empty() && !text.ends_with(b"\n"))) {
        return true;
    }
    let first = Lines::new(text)
        .map(|l| classify(&text[l.start..l.end]))
        .find(|k| !matches!(k, LineKind::Blank | LineKind::Comment));
    open_before && first == Some(LineKind::Continuation)
}

/// Number of line terminators in `s`.
pub(crate) fn count_lines(s: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', s).count()
}

/// Replaces each region's old bytes with its new text, in place: one move of the bytes after
/// each region, back to front so earlier offsets stay valid.
pub(crate) fn replace_in_place(buf: &mut Vec<u8>, parts: Vec<(usize, usize, Vec<u8>)>) {
    // Grow by exactly what is needed: the default doubling would allocate and copy a second
    // whole-file buffer, where an exact `realloc` of a large block is a cheap `mremap`.
    let grow: usize = parts
        .iter()
        .map(|(start, end, text)| text.len().saturating_sub(end - start))
        .sum();
    buf.reserve_exact(grow);
    for (start, end, text) in parts.into_iter().rev() {
        if end - start == text.len() {
            buf[start..end].copy_from_slice(&text);
        } else {
            buf.splice(start..end, text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widens_to_whole_logical_lines_and_merges() {
        let buf = b"a = 1\n  2\n# c\nb = 3\nc = 4\n";
        // Spans: a = [0, 10), b = [14, 20), c = [20, 26).
        let spans = [(0usize, 10usize), (14, 20), (20, 26)];
        let span_at = |off: usize| spans.iter().copied().find(|s| s.0 <= off && off < s.1);
        let r = regions(
            buf,
            vec![Splice::delete(6, 10), Splice::delete(14, 20)],
            span_at,
        );
        assert_eq!(
            r.iter().map(|r| (r.start, r.end)).collect::<Vec<_>>(),
            vec![(0, 10), (14, 20)]
        );
        assert_eq!(r[0].new_text(buf), b"a = 1\n");
        let r = regions(
            buf,
            vec![
                Splice {
                    start: 14,
                    end: 14,
                    text: b"#".to_vec(),
                },
                Splice {
                    start: 20,
                    end: 20,
                    text: b"#".to_vec(),
                },
            ],
            span_at,
        );
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].start, r[0].end), (14, 26));
        assert_eq!(r[0].new_text(buf), b"#b = 3\n#c = 4\n");
        // Appending after an unterminated last line takes that line's logical line along.
        let buf = b"a = 1\nb = 2";
        let spans = [(0usize, 6usize), (6, 11)];
        let span_at = |off: usize| spans.iter().copied().find(|s| s.0 <= off && off < s.1);
        let r = regions(
            buf,
            vec![Splice {
                start: 11,
                end: 11,
                text: b"\nc = 3\n".to_vec(),
            }],
            span_at,
        );
        assert_eq!((r[0].start, r[0].end), (6, 11));
        assert_eq!(r[0].new_text(buf), b"b = 2\nc = 3\n");
    }

    #[test]
    fn detects_regions_that_cannot_stand_alone() {
        assert!(needs_full_reparse(b"# c\n  x\n", false, true, false));
        assert!(!needs_full_reparse(b"# c\n  x\n", false, false, false));
        assert!(needs_full_reparse(b"a = 1", false, false, false));
        assert!(!needs_full_reparse(b"a = 1", true, true, false));
        assert!(needs_full_reparse(b"a = 1\n", false, false, true));
        assert!(!needs_full_reparse(b"a = 1\n", false, true, false));
    }

    #[test]
    fn replaces_back_to_front() {
        let mut buf = b"0123456789".to_vec();
        replace_in_place(
            &mut buf,
            vec![
                (1, 3, b"ab".to_vec()),
                (5, 6, b"XYZ".to_vec()),
                (8, 10, vec![]),
            ],
        );
        assert_eq!(buf, b"0ab34XYZ67");
    }
}
