//! main.cf as a lossless document: the exact input bytes plus an index of logical entries.
//!
//! The buffer always holds the current rendering; edits splice it in place and re-read only
//! the logical lines they rewrote (see `incremental`), so untouched bytes are never
//! re-serialized and an edit costs what it touches plus one move of the bytes after it (and
//! of the index records after it). The index costs 16 bytes per logical entry (offsets are
//! u32, so documents are limited to 4 GiB), which keeps parse + render under 3x the file size.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::error::{EditError, LineNo, ParseError, Warning};
use crate::incremental::{count_lines, needs_full_reparse, regions, replace_in_place};
use crate::lines::{classify, for_each_logical_after, is_space, until_nul, LineKind, Lines};
use crate::nameval::split_nameval;
use crate::splice::Splice;
use crate::validate::{check_main_value, check_name};

/// One logical `name = value` entry of main.cf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Parameter name (case-sensitive, not checked against known names, like Postfix).
    pub name: String,
    /// Value joined and trimmed exactly like Postfix (raw whitespace kept; lossy UTF-8).
    pub value: String,
    /// Line of the entry's first physical line.
    pub line: LineNo,
    /// Line of its last continuation line (`line` when it has none).
    pub last_line: LineNo,
}

/// Index record of one logical entry (or orphan logical line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rec {
    /// Offset of the start line.
    start: u32,
    /// Offset just past the last content line's terminator.
    span_end: u32,
    /// Line number of the start line.
    line: u32,
    /// Line number of the last content line.
    last_line: u32,
}

impl Rec {
    fn range(&self) -> (usize, usize) {
        (self.start as usize, self.span_end as usize)
    }

    /// Moves the record by `bytes` and `lines` (both may be negative). The results fit: they
    /// are positions in the edited document, whose length was checked against u32.
    fn shifted(self, bytes: i64, lines: i64) -> Rec {
        Rec {
            start: (i64::from(self.start) + bytes) as u32,
            span_end: (i64::from(self.span_end) + bytes) as u32,
            line: (i64::from(self.line) + lines) as u32,
            last_line: (i64::from(self.last_line) + lines) as u32,
        }
    }
}

/// Fast check on the raw bytes of a logical line's span (start line first): true only when
/// `split_nameval(until_nul(logical line))` succeeds. The name runs to whitespace, `=` or
/// NUL and must be followed by whitespace and then `=`. Line breaks and whitespace-only
/// lines between name and `=` are whitespace here and vanish or stay whitespace in the
/// joined logical line, so a `true` here is a `true` there; anything else (a comment line,
/// a NUL, no `=`) returns false and the caller takes the exact path. Hand-written because
/// it runs once per entry on the parse hot path.
fn starts_with_name_eq(span: &[u8]) -> bool {
    let n = span
        .iter()
        .position(|&c| is_space(c) || c == b'=' || c == 0)
        .unwrap_or(span.len());
    if n == 0 {
        return false;
    }
    span[n..].iter().find(|&&c| !is_space(c)) == Some(&b'=')
}

/// A lossless main.cf document.
#[derive(Debug, Clone)]
pub struct MainCf {
    buf: Vec<u8>,
    recs: Vec<Rec>,
    /// Logical lines that start with whitespace (ignored by Postfix with a warning).
    orphans: Vec<Rec>,
}

/// The logical line of a record: its content lines joined without separators.
fn logical<'a>(buf: &'a [u8], rec: &Rec) -> Cow<'a, [u8]> {
    let (start, end) = rec.range();
    if rec.line == rec.last_line {
        let s = &buf[start..end];
        let s = s.strip_suffix(b"\n").unwrap_or(s);
        return Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(end - start);
    for l in Lines::range(buf, start, end) {
        let content = &buf[l.start..l.end];
        if matches!(classify(content), LineKind::Start | LineKind::Continuation) {
            out.extend_from_slice(content);
        }
    }
    Cow::Owned(out)
}

/// Content (non-blank, non-comment) lines of a record.
fn content_lines(buf: &[u8], rec: &Rec) -> Vec<crate::lines::PhysLine> {
    crate::lines::content_lines(buf, rec.start as usize, rec.span_end as usize).collect()
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Name bytes of an entry: from the start up to whitespace, `=` or NUL (always on the start
/// line, because continuation lines begin with whitespace).
fn name_of<'a>(buf: &'a [u8], rec: &Rec) -> &'a [u8] {
    let s = &buf[rec.start as usize..rec.span_end as usize];
    let n = s
        .iter()
        .position(|&c| is_space(c) || c == b'=' || c == 0)
        .unwrap_or(s.len());
    &s[..n]
}

/// `name_of(buf, rec) == name` for a `name` without whitespace, `=` or NUL, without scanning
/// the whole name of every entry: a prefix compare (which fails at the first differing byte)
/// and a look at the byte after it.
fn name_is(buf: &[u8], rec: &Rec, name: &[u8]) -> bool {
    let s = &buf[rec.start as usize..rec.span_end as usize];
    // The first-byte test settles almost every entry without a memcmp call; a `match`
    // rather than Option::is_none_or, which is newer than the workspace MSRV.
    s.first() == name.first()
        && s.starts_with(name)
        && match s.get(name.len()) {
            None => true,
            Some(&c) => is_space(c) || c == b'=' || c == 0,
        }
}

impl MainCf {
    /// Parses main.cf bytes. Fails where Postfix would be fatal (no `=`, no name).
    pub fn parse(input: &[u8]) -> Result<MainCf, ParseError> {
        Self::parse_vec(input.to_vec())
    }

    /// Like [`MainCf::parse`] but takes ownership of the buffer (no copy of the input).
    pub fn parse_vec(buf: Vec<u8>) -> Result<MainCf, ParseError> {
        if u32::try_from(buf.len()).is_err() {
            return Err(ParseError {
                line: 0,
                message: "input larger than 4 GiB".into(),
                text: String::new(),
            });
        }
        let mut recs = Vec::new();
        let mut orphans = Vec::new();
        Self::index(&buf, 0, &mut recs, &mut orphans)?;
        Ok(MainCf { buf, recs, orphans })
    }

    /// Indexes the logical lines of `buf` (text that follows `lines_before` lines) into
    /// `recs` and `orphans`, with offsets relative to `buf`.
    fn index(
        buf: &[u8],
        lines_before: usize,
        recs: &mut Vec<Rec>,
        orphans: &mut Vec<Rec>,
    ) -> Result<(), ParseError> {
        for_each_logical_after(buf, lines_before, |sp| {
            // Offsets and line numbers fit in u32: callers check the document length.
            let r = Rec {
                start: sp.start as u32,
                span_end: sp.end as u32,
                line: sp.line as u32,
                last_line: sp.last_line as u32,
            };
            Self::finish(buf, r, sp.orphan, recs, orphans)
        })
    }

    /// Validates a completed logical line and files it.
    fn finish(
        buf: &[u8],
        r: Rec,
        orphan: bool,
        recs: &mut Vec<Rec>,
        orphans: &mut Vec<Rec>,
    ) -> Result<(), ParseError> {
        if orphan {
            orphans.push(r);
            return Ok(());
        }
        // Fast path without building the logical line (see starts_with_name_eq).
        let (start, end) = r.range();
        if starts_with_name_eq(&buf[start..end]) {
            recs.push(r);
            return Ok(());
        }
        let text = logical(buf, &r);
        let cut = until_nul(&text);
        if let Err(message) = split_nameval(cut) {
            return Err(ParseError {
                line: r.line as LineNo,
                message: message.into(),
                text: lossy(cut),
            });
        }
        recs.push(r);
        Ok(())
    }

    /// The document's bytes (identical to the input when unedited).
    pub fn render(&self) -> Vec<u8> {
        self.buf.clone()
    }

    /// The document's bytes without copying.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    fn entry(&self, rec: &Rec) -> Entry {
        let text = logical(&self.buf, rec);
        // The record passed split_nameval when it was parsed, so this cannot fail.
        let (name, value) = split_nameval(until_nul(&text)).unwrap_or((b"", b""));
        Entry {
            name: lossy(name),
            value: lossy(value),
            line: rec.line as LineNo,
            last_line: rec.last_line as LineNo,
        }
    }

    fn raw_value(&self, rec: &Rec) -> Vec<u8> {
        let text = logical(&self.buf, rec);
        split_nameval(until_nul(&text))
            .map(|(_, v)| v.to_vec())
            .unwrap_or_default()
    }

    /// Every logical entry in file order, duplicates included.
    pub fn entries(&self) -> Vec<Entry> {
        self.recs.iter().map(|r| self.entry(r)).collect()
    }

    /// Number of logical entries (duplicates included).
    pub fn len(&self) -> usize {
        self.recs.len()
    }

    /// True when the document has no entries.
    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }

    fn indices_of(&self, name: &str) -> Vec<usize> {
        let n = name.as_bytes();
        // An entry's name is never empty and never holds whitespace, `=` or NUL.
        if n.is_empty() || n.iter().any(|&c| is_space(c) || c == b'=' || c == 0) {
            return Vec::new();
        }
        (0..self.recs.len())
            .filter(|&i| name_is(&self.buf, &self.recs[i], n))
            .collect()
    }

    /// The effective (last) definition of `name`.
    pub fn get(&self, name: &str) -> Option<Entry> {
        let n = name.as_bytes();
        self.recs
            .iter()
            .rev()
            .find(|r| name_of(&self.buf, r) == n)
            .map(|r| self.entry(r))
    }

    /// One entry per name (the last definition wins), sorted by name bytes like postconf.
    pub fn effective(&self) -> Vec<Entry> {
        let mut idx: Vec<usize> = (0..self.recs.len()).collect();
        // Stable sort keeps file order within a name, so the last of each run wins.
        idx.sort_by(|&a, &b| {
            name_of(&self.buf, &self.recs[a]).cmp(name_of(&self.buf, &self.recs[b]))
        });
        let mut out: Vec<Entry> = Vec::new();
        let mut i = 0;
        while i < idx.len() {
            let name = name_of(&self.buf, &self.recs[idx[i]]);
            let mut j = i;
            while j + 1 < idx.len() && name_of(&self.buf, &self.recs[idx[j + 1]]) == name {
                j += 1;
            }
            out.push(self.entry(&self.recs[idx[j]]));
            i = j + 1;
        }
        out
    }

    /// Postfix's warnings for this file: ignored indented logical lines and overridden entries.
    pub fn warnings(&self) -> Vec<Warning> {
        let mut out = Vec::new();
        for o in &self.orphans {
            let text = logical(&self.buf, o);
            let text = until_nul(&text);
            let shown = &text[..text.len().min(30)];
            let more = if text.len() > 30 { "..." } else { "" };
            out.push(Warning {
                line: o.line as LineNo,
                message: format!(
                    "logical line must not start with whitespace: \"{}{more}\"",
                    lossy(shown)
                ),
            });
        }
        let mut seen: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        for r in &self.recs {
            let name = name_of(&self.buf, r).to_vec();
            let value = self.raw_value(r);
            if let Some(old) = seen.get(&name) {
                if *old != value {
                    out.push(Warning {
                        line: r.line as LineNo,
                        message: format!(
                            "overriding earlier entry: {}={}",
                            lossy(&name),
                            lossy(old)
                        ),
                    });
                }
            }
            seen.insert(name, value);
        }
        out.sort_by_key(|w| w.line);
        out
    }

    /// The logical line (entry or orphan) that holds byte `off`.
    fn span_at(&self, off: usize) -> Option<(usize, usize)> {
        [&self.recs, &self.orphans].into_iter().find_map(|v| {
            let i = v
                .partition_point(|r| r.start as usize <= off)
                .checked_sub(1)?;
            let (start, end) = v[i].range();
            (off < end).then_some((start, end))
        })
    }

    /// Number of lines before `off`, a line start: counted from the last logical line that
    /// ends at or before it, so the cost is the distance to it.
    fn lines_before(&self, off: usize) -> usize {
        let last = [&self.recs, &self.orphans]
            .into_iter()
            .filter_map(|v| {
                let i = v.partition_point(|r| r.span_end as usize <= off);
                i.checked_sub(1).map(|i| v[i])
            })
            .max_by_key(|r| r.span_end);
        match last {
            Some(r) => r.last_line as usize + count_lines(&self.buf[r.span_end as usize..off]),
            None => count_lines(&self.buf[..off]),
        }
    }

    /// Applies the splices and re-indexes only the logical lines they touch; on failure
    /// nothing changes. Falls back to a full re-read where a rewritten part could join its
    /// neighbours (never the case for this crate's own edits, but cheap to check).
    fn commit(&mut self, splices: Vec<Splice>) -> Result<(), EditError> {
        let len = self.buf.len();
        let regs = regions(&self.buf, splices, |off| self.span_at(off));
        let first_start = [&self.recs, &self.orphans]
            .into_iter()
            .filter_map(|v| v.first().map(|r| r.start as usize))
            .min();
        let mut parts = Vec::with_capacity(regs.len());
        let mut full = false;
        let mut new_len = len as i64;
        for r in &regs {
            let text = r.new_text(&self.buf);
            let next_is_continuation = Lines::range(&self.buf, r.end, len)
                .next()
                .is_some_and(|l| classify(&self.buf[l.start..l.end]) == LineKind::Continuation);
            let open_before = first_start.is_some_and(|s| s < r.start);
            full |= needs_full_reparse(&text, r.end == len, open_before, next_is_continuation);
            new_len += text.len() as i64 - (r.end - r.start) as i64;
            parts.push((r.start, r.end, text));
        }
        if full || u32::try_from(new_len).is_err() {
            let mut buf = self.buf.clone();
            replace_in_place(&mut buf, parts);
            *self = MainCf::parse_vec(buf).map_err(EditError::Reparse)?;
            return Ok(());
        }
        // Re-read each rewritten part on its own, in new coordinates, before changing anything.
        let mut fresh = Vec::with_capacity(parts.len());
        let mut changes = Vec::with_capacity(parts.len());
        let (mut bytes, mut lines) = (0i64, 0i64);
        for (start, end, text) in &parts {
            let before = self.lines_before(*start) as i64 + lines;
            let (mut recs, mut orphans) = (Vec::new(), Vec::new());
            // `before` is a line count of the new document, hence not negative.
            Self::index(text, before as usize, &mut recs, &mut orphans)
                .map_err(EditError::Reparse)?;
            let at = *start as i64 + bytes;
            let moved =
                |v: Vec<Rec>| -> Vec<Rec> { v.into_iter().map(|r| r.shifted(at, 0)).collect() };
            fresh.push((moved(recs), moved(orphans)));
            let c = Change {
                start: *start,
                end: *end,
                bytes: text.len() as i64 - (*end - *start) as i64,
                lines: count_lines(text) as i64 - count_lines(&self.buf[*start..*end]) as i64,
            };
            bytes += c.bytes;
            lines += c.lines;
            changes.push(c);
        }
        let (recs, orphans): (Vec<Vec<Rec>>, Vec<Vec<Rec>>) = fresh.into_iter().unzip();
        splice_index(&mut self.recs, &changes, recs);
        splice_index(&mut self.orphans, &changes, orphans);
        replace_in_place(&mut self.buf, parts);
        #[cfg(debug_assertions)]
        {
            let full = MainCf::parse(&self.buf);
            debug_assert!(
                full.as_ref()
                    .is_ok_and(|d| d.recs == self.recs && d.orphans == self.orphans),
                "incremental index differs from a full re-read"
            );
        }
        Ok(())
    }

    /// Splices that delete the content lines of a record (blank/comment lines stay).
    fn delete_entry(&self, rec: &Rec, out: &mut Vec<Splice>) {
        for l in content_lines(&self.buf, rec) {
            out.push(Splice::delete(l.start, l.next));
        }
    }

    /// Sets `name = value`; see the crate docs for the exact layout rules.
    /// Returns Ok(false) when the value was already exactly that with no duplicates.
    /// (A validated `name = value` start line always reads back as exactly that value; the
    /// fuzz target and the property tests check it.)
    pub fn set(&mut self, name: &str, value: &str) -> Result<bool, EditError> {
        check_name(name)?;
        check_main_value(name, value)?;
        let idx = self.indices_of(name);
        let Some((&last, earlier)) = idx.split_last() else {
            self.append(name, value)?;
            return Ok(true);
        };
        if earlier.is_empty() && self.raw_value(&self.recs[last]) == value.as_bytes() {
            return Ok(false);
        }
        let mut splices = Vec::new();
        for &i in earlier {
            self.delete_entry(&self.recs[i], &mut splices);
        }
        let lines = content_lines(&self.buf, &self.recs[last]);
        if let Some((first, rest)) = lines.split_first() {
            let end = first.end_before_cr(&self.buf);
            splices.push(Splice {
                start: first.start,
                end,
                text: format!("{name} = {value}").into_bytes(),
            });
            for l in rest {
                splices.push(Splice::delete(l.start, l.next));
            }
        }
        self.commit(splices)?;
        Ok(true)
    }

    /// Appends `name = value` at the end, terminating an unterminated last line first.
    fn append(&mut self, name: &str, value: &str) -> Result<(), EditError> {
        let eol = crate::lines::dominant_eol(&self.buf);
        let mut text = Vec::new();
        if !self.buf.is_empty() && !self.buf.ends_with(b"\n") {
            text.extend_from_slice(eol);
        }
        text.extend_from_slice(format!("{name} = {value}").as_bytes());
        text.extend_from_slice(eol);
        let at = self.buf.len();
        self.commit(vec![Splice {
            start: at,
            end: at,
            text,
        }])
    }

    /// Removes every definition of `name` (start + continuation lines). false if none.
    pub fn remove(&mut self, name: &str) -> bool {
        let idx = self.indices_of(name);
        if idx.is_empty() {
            return false;
        }
        let mut splices = Vec::new();
        for &i in &idx {
            self.delete_entry(&self.recs[i], &mut splices);
        }
        // Removing whole logical entries leaves a valid document; commit cannot fail.
        self.commit(splices).is_ok()
    }

    /// Prefixes `#` to the start and continuation lines of every definition (like postconf -#).
    pub fn comment_out(&mut self, name: &str) -> bool {
        let idx = self.indices_of(name);
        if idx.is_empty() {
            return false;
        }
        let mut splices = Vec::new();
        for &i in &idx {
            for l in content_lines(&self.buf, &self.recs[i]) {
                splices.push(Splice {
                    start: l.start,
                    end: l.start,
                    text: b"#".to_vec(),
                });
            }
        }
        // Turning whole logical entries into comments leaves a valid document.
        self.commit(splices).is_ok()
    }
}

/// A rewritten part of the old document: old byte range, and how many bytes and lines the
/// rewrite added (negative when it removed some).
#[derive(Debug, Clone, Copy)]
struct Change {
    start: usize,
    end: usize,
    bytes: i64,
    lines: i64,
}

/// Replaces the records inside each change's old range with the re-read ones (already in new
/// coordinates) and moves every other record by the deltas of the changes before it.
/// Changes are sorted and disjoint.
fn splice_index(index: &mut Vec<Rec>, changes: &[Change], fresh: Vec<Vec<Rec>>) {
    let (mut bytes, mut lines) = (0i64, 0i64);
    let mut i = 0usize;
    for (c, new) in changes.iter().zip(fresh) {
        // index[i..] is still in old coordinates and sorted by start.
        let lo = i + index[i..].partition_point(|r| (r.start as usize) < c.start);
        let hi = lo + index[lo..].partition_point(|r| (r.start as usize) < c.end);
        for r in &mut index[i..lo] {
            *r = r.shifted(bytes, lines);
        }
        i = lo + new.len();
        index.splice(lo..hi, new);
        bytes += c.bytes;
        lines += c.lines;
    }
    for r in &mut index[i..] {
        *r = r.shifted(bytes, lines);
    }
}
