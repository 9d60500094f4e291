//! main.cf as a lossless document: the exact input bytes plus an index of logical entries.
//!
//! The buffer always holds the current rendering; edits splice it and re-index, so untouched
//! bytes are never re-serialized. The index costs 16 bytes per logical entry (offsets are u32,
//! so documents are limited to 4 GiB), which keeps parse + render under 3x the file size.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::error::{EditError, LineNo, ParseError, Warning};
use crate::lines::{classify, for_each_logical, is_space, until_nul, LineKind, Lines};
use crate::nameval::split_nameval;
use crate::splice::{apply, Splice};
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
#[derive(Debug, Clone, Copy)]
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
        for_each_logical(&buf, |sp| {
            // Offsets and line numbers fit in u32: the length was checked above.
            let r = Rec {
                start: sp.start as u32,
                span_end: sp.end as u32,
                line: sp.line as u32,
                last_line: sp.last_line as u32,
            };
            Self::finish(&buf, r, sp.orphan, &mut recs, &mut orphans)
        })?;
        Ok(MainCf { buf, recs, orphans })
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
        // Fast path without building the logical line: when the start line alone holds
        // `name =`, the logical line (which begins with it) splits the same way.
        let (start, end) = r.range();
        let first = &buf[start..end];
        let first = match memchr::memchr(b'\n', first) {
            Some(i) => &first[..i],
            None => first,
        };
        if split_nameval(until_nul(first)).is_ok() {
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
        (0..self.recs.len())
            .filter(|&i| name_of(&self.buf, &self.recs[i]) == n)
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

    /// Replaces the buffer with the spliced one and re-indexes it; on failure nothing changes.
    fn commit(&mut self, splices: Vec<Splice>) -> Result<(), EditError> {
        let new = apply(&self.buf, splices);
        let doc = MainCf::parse_vec(new).map_err(EditError::Reparse)?;
        *self = doc;
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
