//! master.cf as a lossless document: services keyed `name/type`, fields and `-o` overrides
//! located as byte ranges so one override can be changed without touching anything else.

use std::collections::HashMap;

use crate::error::{EditError, LineNo, ParseError, Warning};
use crate::lines::{content_lines, dominant_eol, for_each_logical, is_space, until_nul, Span};
use crate::nameval::split_nameval;
use crate::splice::{apply, Splice};
use crate::validate::{check_master_value, check_name};

/// One `-o name=value` of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// Parameter name.
    pub name: String,
    /// Value as the daemon sees it (braces stripped, trimmed around `=`).
    pub value: String,
    /// Line of the `name=value` text.
    pub line: LineNo,
}

/// One master.cf entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Service name, e.g. `smtp`, `127.0.0.1:submission`, `[::1]:10025`.
    pub name: String,
    /// Transport type: `inet`, `unix`, `unix-dgram`, `fifo` or `pass`.
    pub kind: String,
    /// First line of the entry.
    pub line: LineNo,
    /// Last content line of the entry.
    pub last_line: LineNo,
    /// `y`, `n` or `-`.
    pub private: String,
    /// `y`, `n` or `-`.
    pub unprivileged: String,
    /// `y`, `n` or `-`.
    pub chroot: String,
    /// Digits with optional `?`, or `-`.
    pub wakeup: String,
    /// Digits or `-`.
    pub process_limit: String,
    /// The command name (field 8).
    pub command: String,
    /// Command arguments after the command name, `{ }` groups stripped.
    pub args: Vec<String>,
    /// Every `-o` in order, duplicates included.
    pub overrides: Vec<Override>,
}

impl Service {
    /// `name/kind`, the key postconf uses.
    pub fn key(&self) -> String {
        format!("{}/{}", self.name, self.kind)
    }

    /// The typed `name/kind` key.
    pub fn service_key(&self) -> crate::ServiceKey {
        crate::ServiceKey::new(self.name.clone(), self.kind.clone())
    }

    /// Last wins per name, sorted by name (as postconf -P shows them).
    pub fn effective_overrides(&self) -> Vec<Override> {
        let mut last: HashMap<&str, &Override> = HashMap::new();
        for o in &self.overrides {
            last.insert(&o.name, o);
        }
        let mut v: Vec<Override> = last.into_values().cloned().collect();
        v.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        v
    }

    /// The effective (last) `-o name=...`.
    pub fn get_override(&self, name: &str) -> Option<Override> {
        self.overrides
            .iter()
            .rev()
            .find(|o| o.name == name)
            .cloned()
    }
}

/// A token of the logical line as a byte range of the buffer.
#[derive(Debug, Clone, Copy)]
struct Tok {
    start: usize,
    end: usize,
    line: usize,
}

/// Where one override lives in the buffer.
#[derive(Debug, Clone)]
struct OptLoc {
    name: String,
    /// Index of the option token (`-o`, `-vo`, or compact `-oname=value`).
    opt: usize,
    /// Index of the separate value token; None for the compact form.
    val: Option<usize>,
    /// Offset of the `o` inside the option token.
    o_at: usize,
}

/// Parsed entry with its locations.
#[derive(Debug, Clone)]
struct SvcRec {
    span: Span,
    toks: Vec<Tok>,
    /// Index of the first token after the option section.
    opt_end: usize,
    /// Index of the token that starts the last option group (None without options).
    last_group: Option<usize>,
    opts: Vec<OptLoc>,
    service: Service,
}

/// A lossless master.cf document.
#[derive(Debug, Clone)]
pub struct MasterCf {
    buf: Vec<u8>,
    recs: Vec<SvcRec>,
    warnings: Vec<Warning>,
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Separators of master.cf fields (PCF_MASTER_BLANKS).
fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// `extpar(..., EXTPAR_FLAG_STRIP)`: the text inside a leading `{ }` group, trimmed, and
/// Postfix's complaint if the group is unclosed or followed by text.
fn extpar(tok: &[u8]) -> (&[u8], Option<String>) {
    let mut level = 0usize;
    let mut close = None;
    for (i, &c) in tok.iter().enumerate() {
        if c == b'{' {
            level += 1;
        } else if c == b'}' {
            level = level.saturating_sub(1);
            if level == 0 {
                close = Some(i);
                break;
            }
        }
    }
    let (inner, err) = match close {
        None => (
            &tok[1..],
            Some(format!("missing '}}' in \"{}\"", lossy(tok))),
        ),
        Some(i) if i + 1 != tok.len() => (
            &tok[1..i],
            Some(format!("syntax error after '}}' in \"{}\"", lossy(tok))),
        ),
        Some(i) => (&tok[1..i], None),
    };
    (crate::lines::trim(inner), err)
}

/// A field with braces stripped when it starts with `{`.
fn field_text(tok: &[u8]) -> &[u8] {
    if tok.first() == Some(&b'{') {
        extpar(tok).0
    } else {
        tok
    }
}

/// The logical line and a map from logical offsets to buffer offsets and line numbers.
struct Logical {
    text: Vec<u8>,
    /// (logical start, buffer start, line number) per content line.
    segs: Vec<(usize, usize, usize)>,
}

impl Logical {
    fn new(buf: &[u8], span: &Span) -> Logical {
        let mut text = Vec::new();
        let mut segs = Vec::new();
        let mut line_no = span.line;
        let mut last_start = span.start;
        for l in content_lines(buf, span.start, span.end) {
            line_no += buf[last_start..l.start]
                .iter()
                .filter(|&&c| c == b'\n')
                .count();
            last_start = l.start;
            segs.push((text.len(), l.start, line_no));
            text.extend_from_slice(&buf[l.start..l.end]);
        }
        Logical { text, segs }
    }

    /// Buffer offset and line of a logical offset.
    fn map(&self, pos: usize) -> (usize, usize) {
        let i = self.segs.partition_point(|s| s.0 <= pos).saturating_sub(1);
        let (ls, bs, line) = self.segs.get(i).copied().unwrap_or((0, 0, 0));
        (bs + (pos - ls), line)
    }

    /// `mystrtokq()` with master.cf blanks and `{}` grouping, mapped to buffer ranges.
    fn tokens(&self) -> Vec<Tok> {
        let t = until_nul(&self.text);
        let mut out = Vec::new();
        let mut i = 0;
        loop {
            while i < t.len() && is_blank(t[i]) {
                i += 1;
            }
            if i >= t.len() {
                break;
            }
            let start = i;
            let mut level = 0usize;
            while i < t.len() {
                let c = t[i];
                if c == b'{' {
                    level += 1;
                } else if level > 0 && c == b'}' {
                    level -= 1;
                } else if level == 0 && is_blank(c) {
                    break;
                }
                i += 1;
            }
            let (bs, line) = self.map(start);
            let (be, _) = self.map(i - 1);
            out.push(Tok {
                start: bs,
                end: be + 1,
                line,
            });
        }
        out
    }
}

/// Field names used in postconf's messages.
const BOOL_FIELDS: [(usize, &str); 3] = [(2, "private"), (3, "unprivileged"), (4, "chroot")];
const TYPES: [&[u8]; 5] = [b"inet", b"unix", b"unix-dgram", b"fifo", b"pass"];

/// The indentation of the file's `-o` continuation lines (the most common one; the first seen
/// wins a tie), or two spaces like postconf -P writes when the file has none.
fn option_indent(buf: &[u8]) -> &[u8] {
    let mut counts: Vec<(&[u8], usize)> = Vec::new();
    for l in content_lines(buf, 0, buf.len()) {
        let line = &buf[l.start..l.end];
        let ws = line
            .iter()
            .take_while(|&&c| c == b' ' || c == b'\t')
            .count();
        if ws > 0 && line[ws..].starts_with(b"-o") {
            match counts.iter_mut().find(|(i, _)| *i == &line[..ws]) {
                Some((_, n)) => *n += 1,
                None => counts.push((&line[..ws], 1)),
            }
        }
    }
    let mut best: Option<(&[u8], usize)> = None;
    for (i, n) in counts {
        if best.is_none_or(|(_, b)| n > b) {
            best = Some((i, n));
        }
    }
    best.map_or(b"  ", |(i, _)| i)
}

/// postconf's `pcf_check_master_entry()` on the raw fields.
fn check_fields(f: &[&[u8]]) -> Result<(), String> {
    let q = |s: &[u8]| lossy(s);
    if !TYPES.contains(&f[1]) {
        return Err(format!("invalid type field \"{}\"", q(f[1])));
    }
    for (i, name) in BOOL_FIELDS {
        if f[i].len() != 1 || !b"yn-".contains(&f[i][0]) {
            return Err(format!("invalid {name} field \"{}\"", q(f[i])));
        }
    }
    // pcf_check_master_entry: drop one trailing `?`; then `-` alone or digits only (so `-?`,
    // `0?` and even a lone `?` pass, as postconf and master(8) accept them).
    let w = f[5].strip_suffix(b"?").unwrap_or(f[5]);
    let lone_dash = f[5].first() == Some(&b'-') && w.len() == 1;
    if !(lone_dash || w.iter().all(u8::is_ascii_digit)) {
        return Err(format!("invalid wakeup field \"{}\"", q(f[5])));
    }
    if f[6] != b"-" && !f[6].iter().all(u8::is_ascii_digit) {
        return Err(format!("invalid process_limit field \"{}\"", q(f[6])));
    }
    Ok(())
}

impl MasterCf {
    /// Parses master.cf bytes. Fails where postconf is fatal (field count, field syntax).
    pub fn parse(input: &[u8]) -> Result<MasterCf, ParseError> {
        Self::parse_vec(input.to_vec())
    }

    /// Like [`MasterCf::parse`] but takes ownership of the buffer.
    pub fn parse_vec(buf: Vec<u8>) -> Result<MasterCf, ParseError> {
        let mut recs = Vec::new();
        let mut warnings = Vec::new();
        for_each_logical(&buf, |sp| {
            let lg = Logical::new(&buf, &sp);
            if sp.orphan {
                let t = until_nul(&lg.text);
                let more = if t.len() > 30 { "..." } else { "" };
                warnings.push(Warning {
                    line: sp.line,
                    message: format!(
                        "logical line must not start with whitespace: \"{}{more}\"",
                        lossy(&t[..t.len().min(30)])
                    ),
                });
                return Ok(());
            }
            recs.push(Self::entry(&buf, sp, &lg, &mut warnings)?);
            Ok(())
        })?;
        let mut seen: HashMap<String, ()> = HashMap::new();
        for r in &recs {
            let key = r.service.key();
            if seen.insert(key.clone(), ()).is_some() {
                warnings.push(Warning {
                    line: r.span.line,
                    message: format!(
                        "duplicate entry for service \"{key}\" -- using the last entry"
                    ),
                });
            }
        }
        warnings.sort_by_key(|w| w.line);
        Ok(MasterCf {
            buf,
            recs,
            warnings,
        })
    }

    fn entry(
        buf: &[u8],
        span: Span,
        lg: &Logical,
        warnings: &mut Vec<Warning>,
    ) -> Result<SvcRec, ParseError> {
        let toks = lg.tokens();
        let text = |t: &Tok| &buf[t.start..t.end];
        let err = |message: String| ParseError {
            line: span.line,
            message,
            text: lossy(until_nul(&lg.text)),
        };
        if toks.len() < 8 {
            return Err(err("bad field count".into()));
        }
        let fields: Vec<&[u8]> = toks[..8].iter().map(text).collect();
        check_fields(&fields).map_err(err)?;
        if toks[1].line != span.line {
            warnings.push(Warning {
                line: span.line,
                message: "specify service name and type on the same line".into(),
            });
        }
        let mut warn = |line: usize, message: String| warnings.push(Warning { line, message });

        // Option section: like postconf, only `o` takes a value; an option token is split at
        // its first `o` like getopt does (postconf itself mis-splits at a later `o` too).
        let mut opts = Vec::new();
        let mut overrides = Vec::new();
        let mut last_group = None;
        let mut k = 8;
        while k < toks.len() {
            let t = text(&toks[k]);
            if t.first() != Some(&b'-') || t == b"--" || t == b"-" {
                break;
            }
            let Some(p) = t[1..].iter().position(|&c| c == b'o') else {
                last_group = Some(k);
                k += 1;
                continue;
            };
            let o_at = 1 + p;
            let (raw, val, line) = if o_at + 1 < t.len() {
                (&t[o_at + 1..], None, toks[k].line)
            } else if k + 1 < toks.len() {
                (text(&toks[k + 1]), Some(k + 1), toks[k + 1].line)
            } else {
                // A dangling `-o` at the end: not part of the option section, so that a new
                // option is inserted before it rather than becoming its value.
                warn(
                    toks[k].line,
                    format!("option requires a value: \"{}\"", lossy(t)),
                );
                break;
            };
            last_group = Some(k);
            let nv = if raw.first() == Some(&b'{') {
                let (inner, e) = extpar(raw);
                if let Some(e) = e {
                    warn(line, e);
                }
                inner
            } else {
                raw
            };
            match split_nameval(until_nul(nv)) {
                Ok((n, v)) => {
                    let name = lossy(n);
                    overrides.push(Override {
                        name: name.clone(),
                        value: lossy(v),
                        line,
                    });
                    opts.push(OptLoc {
                        name,
                        opt: k,
                        val,
                        o_at,
                    });
                }
                Err(m) => warn(line, format!("{m}: \"{}\"", lossy(nv))),
            }
            k += if val.is_some() { 2 } else { 1 };
        }
        let opt_end = k;
        let mut args = Vec::new();
        for t in &toks[8..] {
            let raw = text(t);
            if raw.first() == Some(&b'{') {
                let (inner, e) = extpar(raw);
                if let (Some(e), true) = (e, args.len() + 8 >= opt_end) {
                    warn(t.line, e);
                }
                args.push(lossy(inner));
            } else {
                args.push(lossy(raw));
            }
        }
        let f = |i: usize| lossy(field_text(fields[i]));
        let service = Service {
            name: f(0),
            kind: f(1),
            line: span.line,
            last_line: span.last_line,
            private: f(2),
            unprivileged: f(3),
            chroot: f(4),
            wakeup: f(5),
            process_limit: f(6),
            command: f(7),
            args,
            overrides,
        };
        Ok(SvcRec {
            span,
            toks,
            opt_end,
            last_group,
            opts,
            service,
        })
    }

    /// The document's bytes (identical to the input when unedited).
    pub fn render(&self) -> Vec<u8> {
        self.buf.clone()
    }

    /// The document's bytes without copying.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Services in file order, duplicates included.
    pub fn services(&self) -> Vec<Service> {
        self.recs.iter().map(|r| r.service.clone()).collect()
    }

    /// The last entry with this `name/type` key.
    pub fn service(&self, key: &str) -> Option<Service> {
        self.find(key).map(|i| self.recs[i].service.clone())
    }

    fn find(&self, key: &str) -> Option<usize> {
        self.recs.iter().rposition(|r| r.service.key() == key)
    }

    /// Postfix's warnings: ignored indented lines, duplicate services, bad `-o`, braces.
    pub fn warnings(&self) -> Vec<Warning> {
        self.warnings.clone()
    }

    fn commit(&mut self, splices: Vec<Splice>) -> Result<(), EditError> {
        let new = apply(&self.buf, splices);
        *self = MasterCf::parse_vec(new).map_err(EditError::Reparse)?;
        Ok(())
    }

    /// Splices that remove the given overrides of an entry, tidying whitespace and dropping
    /// lines that are left empty.
    fn removal(&self, rec: &SvcRec, which: &[&OptLoc]) -> Vec<Splice> {
        let buf = &self.buf;
        let mut out = Vec::new();
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        for o in which {
            let t = rec.toks[o.opt];
            if o.o_at > 1 {
                // `-vo x=y` or `-vox=y`: keep the flags, drop the `o` and what follows it.
                out.push(Splice::delete(t.start + o.o_at, t.end));
            } else {
                ranges.push((t.start, t.end));
            }
            if let Some(v) = o.val {
                ranges.push((rec.toks[v].start, rec.toks[v].end));
            }
        }
        ranges.sort_unstable();
        // Merge tokens separated only by blanks on the same line.
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for r in ranges {
            if let Some(m) = merged.last_mut() {
                if buf[m.1..r.0].iter().all(|&c| c == b' ' || c == b'\t') {
                    m.1 = r.1;
                    continue;
                }
            }
            merged.push(r);
        }
        for l in content_lines(buf, rec.span.start, rec.span.end) {
            let inside: Vec<(usize, usize)> = merged
                .iter()
                .copied()
                .filter(|r| r.0 >= l.start && r.1 <= l.end)
                .collect();
            if inside.is_empty() {
                continue;
            }
            let mut rest_blank = true;
            let mut pos = l.start;
            for r in &inside {
                rest_blank &= buf[pos..r.0].iter().all(|&c| is_space(c));
                pos = r.1;
            }
            rest_blank &= buf[pos..l.end].iter().all(|&c| is_space(c));
            if rest_blank && l.start != rec.span.start {
                out.push(Splice::delete(l.start, l.next));
                continue;
            }
            for (a, b) in inside {
                let mut a0 = a;
                while a0 > l.start && matches!(buf[a0 - 1], b' ' | b'\t') {
                    a0 -= 1;
                }
                if a0 == l.start {
                    let mut b1 = b;
                    while b1 < l.end && matches!(buf[b1], b' ' | b'\t') {
                        b1 += 1;
                    }
                    out.push(Splice::delete(a, b1));
                } else {
                    out.push(Splice::delete(a0, b));
                }
            }
        }
        // Tokens that span lines (a `{ }` group with a line break) are removed as they are.
        for r in merged {
            let on_one_line = !buf[r.0..r.1].contains(&b'\n');
            if !on_one_line {
                out.push(Splice::delete(r.0, r.1));
            }
        }
        out
    }

    /// Sets `-o name=value` on the (last) entry `key`; see the crate docs for placement.
    pub fn set_override(&mut self, key: &str, name: &str, value: &str) -> Result<bool, EditError> {
        check_name(name)?;
        check_master_value(name, value)?;
        let i = self
            .find(key)
            .ok_or_else(|| EditError::NoSuchService(key.to_string()))?;
        let rec = &self.recs[i];
        let matches: Vec<&OptLoc> = rec.opts.iter().filter(|o| o.name == name).collect();
        let nv = if value.bytes().any(is_space) {
            format!("{{ {name} = {value} }}")
        } else {
            format!("{name}={value}")
        };
        let mut splices;
        if let Some((last, earlier)) = matches.split_last() {
            let current = rec.service.overrides.iter().rfind(|o| o.name == name);
            if earlier.is_empty() && current.is_some_and(|o| o.value == value) {
                return Ok(false);
            }
            splices = self.removal(rec, earlier);
            match last.val {
                Some(v) => {
                    let t = rec.toks[v];
                    splices.push(Splice {
                        start: t.start,
                        end: t.end,
                        text: nv.into_bytes(),
                    });
                }
                None => {
                    let t = rec.toks[last.opt];
                    splices.push(Splice {
                        start: t.start + last.o_at + 1,
                        end: t.end,
                        text: format!(" {nv}").into_bytes(),
                    });
                }
            }
        } else {
            splices = vec![self.insertion(rec, &nv)];
        }
        let saved = self.clone();
        self.commit(splices)?;
        // Safety net: odd existing syntax (unclosed braces, NUL bytes) could swallow the text.
        let got = self
            .service(key)
            .and_then(|s| s.get_override(name))
            .map(|o| o.value);
        if got.as_deref() != Some(value) {
            *self = saved;
            return Err(EditError::NotApplied(format!("{key}: -o {name}")));
        }
        Ok(true)
    }

    /// Where and how a new `-o` goes: on its own line after the last option when the options
    /// are one per line, otherwise right after the last option (or the command name).
    fn insertion(&self, rec: &SvcRec, nv: &str) -> Splice {
        let buf = &self.buf;
        let last_tok = rec.toks[rec.opt_end - 1];
        if let Some(g) = rec.last_group {
            let first = rec.toks[g];
            let line = content_lines(buf, rec.span.start, rec.span.end)
                .find(|l| l.start <= first.start && first.start < l.next.max(l.end + 1));
            if let Some(l) = line {
                let cr_end = l.end_before_cr(buf);
                let own_line = last_tok.end <= cr_end
                    && buf[l.start..first.start]
                        .iter()
                        .all(|&c| c == b' ' || c == b'\t')
                    && buf[last_tok.end..cr_end].iter().all(|&c| is_space(c))
                    && first.start > l.start;
                if own_line {
                    let term = l.terminator(buf);
                    let eol = if term.is_empty() {
                        dominant_eol(buf)
                    } else {
                        term
                    };
                    let mut text = eol.to_vec();
                    text.extend_from_slice(&buf[l.start..first.start]);
                    text.extend_from_slice(format!("-o {nv}").as_bytes());
                    return Splice {
                        start: cr_end,
                        end: cr_end,
                        text,
                    };
                }
            }
        }
        // No options yet: when the command name ends its line, the new option goes on a
        // continuation line of its own in the file's indentation, as postconf -P and admins
        // write them. Otherwise (arguments follow on that line) it goes right after the name.
        if rec.last_group.is_none() {
            let line = content_lines(buf, rec.span.start, rec.span.end)
                .find(|l| l.start <= last_tok.start && last_tok.end <= l.end);
            if let Some(l) = line {
                let cr_end = l.end_before_cr(buf);
                if buf[last_tok.end..cr_end].iter().all(|&c| is_space(c)) {
                    let term = l.terminator(buf);
                    let eol = if term.is_empty() {
                        dominant_eol(buf)
                    } else {
                        term
                    };
                    let mut text = eol.to_vec();
                    text.extend_from_slice(option_indent(buf));
                    text.extend_from_slice(format!("-o {nv}").as_bytes());
                    return Splice {
                        start: last_tok.end,
                        end: cr_end,
                        text,
                    };
                }
            }
        }
        Splice {
            start: last_tok.end,
            end: last_tok.end,
            text: format!(" -o {nv}").into_bytes(),
        }
    }

    /// Removes every `-o name=...` of the entry; a line left with only whitespace is removed.
    pub fn remove_override(&mut self, key: &str, name: &str) -> Result<bool, EditError> {
        let i = self
            .find(key)
            .ok_or_else(|| EditError::NoSuchService(key.to_string()))?;
        let rec = &self.recs[i];
        let matches: Vec<&OptLoc> = rec.opts.iter().filter(|o| o.name == name).collect();
        if matches.is_empty() {
            return Ok(false);
        }
        let splices = self.removal(rec, &matches);
        let saved = self.clone();
        self.commit(splices)?;
        if self
            .service(key)
            .and_then(|s| s.get_override(name))
            .is_some()
        {
            *self = saved;
            return Err(EditError::NotApplied(format!("{key}: remove -o {name}")));
        }
        Ok(true)
    }
}
