//! Physical lines: the byte ranges Postfix's `readllines()` works on, and their classes.

use memchr::memchr;

/// C `isspace()` in the C locale, which is what Postfix's `ISSPACE` means for ASCII.
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// How `readllines()` treats a physical line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// Empty or whitespace only: ignored, does not end a logical line.
    Blank,
    /// First non-whitespace byte is `#`: ignored, does not end a logical line.
    Comment,
    /// Starts with whitespace and has content: continues the open logical line.
    Continuation,
    /// Starts with a byte that is neither whitespace nor `#`: starts a logical line.
    Start,
}

/// Classifies a physical line given its content (without the `\n`).
pub(crate) fn classify(content: &[u8]) -> LineKind {
    match content.first() {
        None => LineKind::Blank,
        Some(b'#') => LineKind::Comment,
        Some(&b) if is_space(b) => match content.iter().find(|&&c| !is_space(c)) {
            None => LineKind::Blank,
            Some(b'#') => LineKind::Comment,
            Some(_) => LineKind::Continuation,
        },
        Some(_) => LineKind::Start,
    }
}

/// One physical line as byte offsets into the document buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PhysLine {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset just past the content (the `\n` is excluded, a `\r` before it is included).
    pub end: usize,
    /// Offset just past the terminator (equals `end` for an unterminated last line).
    pub next: usize,
}

impl PhysLine {
    /// End of the content with a CR of a CRLF terminator excluded: where text may be
    /// replaced or inserted while keeping the line's terminator.
    pub fn end_before_cr(&self, buf: &[u8]) -> usize {
        if self.next > self.end && self.end > self.start && buf[self.end - 1] == b'\r' {
            self.end - 1
        } else {
            self.end
        }
    }

    /// The line's terminator as written (`\r\n`, `\n`, or empty at EOF).
    pub fn terminator<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        &buf[self.end_before_cr(buf)..self.next]
    }
}

/// Iterator over the physical lines of `buf[from..to]` (offsets stay absolute).
pub(crate) struct Lines<'a> {
    buf: &'a [u8],
    pos: usize,
    to: usize,
}

impl<'a> Lines<'a> {
    /// Lines of the whole buffer.
    pub fn new(buf: &'a [u8]) -> Self {
        Lines {
            buf,
            pos: 0,
            to: buf.len(),
        }
    }

    /// Lines of a sub-range that starts at a line start.
    pub fn range(buf: &'a [u8], from: usize, to: usize) -> Self {
        Lines { buf, pos: from, to }
    }
}

impl Iterator for Lines<'_> {
    type Item = PhysLine;

    fn next(&mut self) -> Option<PhysLine> {
        if self.pos >= self.to {
            return None;
        }
        let start = self.pos;
        let (end, next) = match memchr(b'\n', &self.buf[start..self.to]) {
            Some(i) => (start + i, start + i + 1),
            None => (self.to, self.to),
        };
        self.pos = next;
        Some(PhysLine { start, end, next })
    }
}

/// The line terminator most lines of `buf` use: `\r\n` only if CRLF lines outnumber LF lines.
pub(crate) fn dominant_eol(buf: &[u8]) -> &'static [u8] {
    let mut crlf = 0usize;
    let mut lf = 0usize;
    for i in memchr::memchr_iter(b'\n', buf) {
        if i > 0 && buf[i - 1] == b'\r' {
            crlf += 1;
        } else {
            lf += 1;
        }
    }
    if crlf > lf {
        b"\r\n"
    } else {
        b"\n"
    }
}

/// Index of the first non-whitespace byte at or after `from`, or `s.len()`.
pub(crate) fn skip_space(s: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < s.len() && is_space(s[i]) {
        i += 1;
    }
    i
}

/// `s` without leading and trailing whitespace (Postfix's SKIP + TRIM).
pub(crate) fn trim(s: &[u8]) -> &[u8] {
    let a = skip_space(s, 0);
    let mut b = s.len();
    while b > a && is_space(s[b - 1]) {
        b -= 1;
    }
    &s[a..b]
}

/// `s` cut at the first NUL byte: Postfix handles logical lines as C strings.
pub(crate) fn until_nul(s: &[u8]) -> &[u8] {
    match memchr(0, s) {
        Some(i) => &s[..i],
        None => s,
    }
}

/// One logical line: a Start (or orphan Continuation) line plus its continuation lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    /// Offset of the first line.
    pub start: usize,
    /// Offset just past the last content line's terminator (blank/comment lines after the
    /// last continuation line are not part of the span).
    pub end: usize,
    /// Line number of the first line (1-based).
    pub line: usize,
    /// Line number of the last content line.
    pub last_line: usize,
    /// True for a logical line that starts with whitespace (Postfix ignores it with a warning).
    pub orphan: bool,
}

/// Groups physical lines into logical lines exactly like `readllines()`: blank and comment
/// lines never end a logical line; a continuation with no open logical line opens an orphan.
pub(crate) fn for_each_logical<E>(
    buf: &[u8],
    f: impl FnMut(Span) -> Result<(), E>,
) -> Result<(), E> {
    for_each_logical_after(buf, 0, f)
}

/// [`for_each_logical`] for text that follows `lines_before` lines (line numbers continue
/// from there); used to re-read the part of a document an edit rewrote.
pub(crate) fn for_each_logical_after<E>(
    buf: &[u8],
    lines_before: usize,
    mut f: impl FnMut(Span) -> Result<(), E>,
) -> Result<(), E> {
    let mut open: Option<Span> = None;
    let mut line_no = lines_before;
    for l in Lines::new(buf) {
        line_no += 1;
        match classify(&buf[l.start..l.end]) {
            LineKind::Blank | LineKind::Comment => {}
            LineKind::Continuation => match open.as_mut() {
                Some(s) => {
                    s.end = l.next;
                    s.last_line = line_no;
                }
                None => {
                    open = Some(Span {
                        start: l.start,
                        end: l.next,
                        line: line_no,
                        last_line: line_no,
                        orphan: true,
                    });
                }
            },
            LineKind::Start => {
                if let Some(s) = open.take() {
                    f(s)?;
                }
                open = Some(Span {
                    start: l.start,
                    end: l.next,
                    line: line_no,
                    last_line: line_no,
                    orphan: false,
                });
            }
        }
    }
    if let Some(s) = open.take() {
        f(s)?;
    }
    Ok(())
}

/// Content (Start/Continuation) lines inside `buf[from..to]`.
pub(crate) fn content_lines(
    buf: &[u8],
    from: usize,
    to: usize,
) -> impl Iterator<Item = PhysLine> + '_ {
    Lines::range(buf, from, to).filter(move |l| {
        matches!(
            classify(&buf[l.start..l.end]),
            LineKind::Start | LineKind::Continuation
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_like_readllines() {
        assert_eq!(classify(b""), LineKind::Blank);
        assert_eq!(classify(b" \t\r"), LineKind::Blank);
        assert_eq!(classify(b"# x"), LineKind::Comment);
        assert_eq!(classify(b"   # x"), LineKind::Comment);
        assert_eq!(classify(b"  x"), LineKind::Continuation);
        assert_eq!(classify(b"a = b"), LineKind::Start);
        assert_eq!(classify(b"\0a"), LineKind::Start);
        assert_eq!(classify(b"\xc3\xa9 = 1"), LineKind::Start);
    }

    #[test]
    fn lines_keep_terminators() {
        let buf = b"a\r\nb\n\nc";
        let v: Vec<_> = Lines::new(buf).collect();
        assert_eq!(v.len(), 4);
        assert_eq!(v[0].terminator(buf), b"\r\n");
        assert_eq!(v[1].terminator(buf), b"\n");
        assert_eq!(v[3].terminator(buf), b"");
        assert_eq!(&buf[v[3].start..v[3].end], b"c");
        assert_eq!(dominant_eol(buf), b"\n");
        assert_eq!(dominant_eol(b"a\r\nb\r\nc\n"), b"\r\n");
    }
}
