//! `$name` expansion like Postfix's mac_parse.c / mac_expand.c (postconf -x).
//!
//! Supported: `$name`, `${name}`, `$(name)`, `$$`, `${name?value}`, `${name:value}`,
//! `${name?{v1}:{v2}}`, `${name:{v}}`, and relational `${{a} == {b} ? {c} : {d}}` with
//! `==`, `!=`, `<`, `<=`, `>=`, `>` and the `level` suffix for compatibility levels.

use std::cmp::Ordering;

/// Malformed `$` syntax or runaway recursion; the texts follow Postfix's warnings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    /// A `$` not followed by a name, `{`, `(` or `$`.
    #[error("empty macro name: \"{0}\"")]
    EmptyMacroName(String),
    /// `${` or `$(` without its closing bracket.
    #[error("truncated macro reference: \"{0}\"")]
    Truncated(String),
    /// More than 100 levels of recursive expansion (e.g. `a = $b`, `b = $a`).
    #[error("unreasonable macro call nesting: \"{0}\"")]
    Nesting(String),
    /// Bad character after the name inside `${...}`.
    #[error("attribute name syntax error at: \"...{0}\"")]
    NameSyntax(String),
    /// `${name?{v1}x}`: something other than `:` after the first branch.
    #[error("\":\" expected at: \"...{0}\"")]
    ColonExpected(String),
    /// Text after the last `{...}` group.
    #[error("unexpected input at: \"...{0}\"")]
    UnexpectedInput(String),
    /// A relational expression without a known operator.
    #[error("\"==\" or \"!=\" or \"<\" or \"<=\" or \">=\" or \">\" expected at: \"...{0}\"")]
    OperatorExpected(String),
    /// A relational expression without `?`.
    #[error("\"?\" expected at: \"...{0}\"")]
    QuestionExpected(String),
    /// A `{` group without its `}` inside a macro.
    #[error("missing '}}' in \"{0}\"")]
    MissingBrace(String),
    /// A relational operand or branch that is not a `{...}` group.
    #[error("\"{{\" expected at: \"...{0}\"")]
    BraceExpected(String),
}

/// Depth limit of recursive expansion (mac_expand.c: `if (mc->level++ > 100)`).
const MAX_LEVEL: usize = 100;

/// One piece of a parsed value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok<'a> {
    /// Literal text (`$$` already turned into `$`).
    Lit(String),
    /// The text of a macro reference: `name` of `$name`, or the inside of `${...}`.
    Var(&'a str),
}

/// mac_parse(): splits a value into literals and macro references.
fn mac_parse(value: &str) -> Result<Vec<Tok<'_>>, ExpandError> {
    let b = value.as_bytes();
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            // Copy a run of ordinary text; '$' is ASCII so slicing stays on char boundaries.
            let j = b[i..]
                .iter()
                .position(|&c| c == b'$')
                .map_or(b.len(), |p| i + p);
            lit.push_str(&value[i..j]);
            i = j;
            continue;
        }
        if b.get(i + 1) == Some(&b'$') {
            lit.push('$');
            i += 2;
            continue;
        }
        if !lit.is_empty() {
            out.push(Tok::Lit(std::mem::take(&mut lit)));
        }
        i += 1;
        let name = match b.get(i) {
            Some(&open @ (b'{' | b'(')) => {
                let close = if open == b'{' { b'}' } else { b')' };
                let mut level = 1;
                let mut j = i + 1;
                while level > 0 {
                    match b.get(j) {
                        None => return Err(ExpandError::Truncated(value.to_string())),
                        Some(&c) if c == open => level += 1,
                        Some(&c) if c == close => level -= 1,
                        _ => {}
                    }
                    j += 1;
                }
                let inner = &value[i + 1..j - 1];
                i = j;
                inner
            }
            _ => {
                let j = b[i..]
                    .iter()
                    .position(|&c| !(c.is_ascii_alphanumeric() || c == b'_'))
                    .map_or(b.len(), |p| i + p);
                let inner = &value[i..j];
                i = j;
                inner
            }
        };
        if name.is_empty() {
            return Err(ExpandError::EmptyMacroName(value.to_string()));
        }
        out.push(Tok::Var(name));
    }
    if !lit.is_empty() {
        out.push(Tok::Lit(lit));
    }
    Ok(out)
}

/// Shows at most 20 bytes of `s` (rounded to a char boundary), as Postfix's `%.20s`.
fn head(s: &str) -> String {
    let mut n = s.len().min(20);
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    s[..n].to_string()
}

/// Takes a `{...}` group at the start of `s`: returns (inner text stripped, rest).
fn group(s: &str) -> Result<(&str, &str), ExpandError> {
    let b = s.as_bytes();
    if b.first() != Some(&b'{') {
        return Err(ExpandError::BraceExpected(head(s)));
    }
    let mut level = 0;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'{' => level += 1,
            b'}' => {
                level -= 1;
                if level == 0 {
                    return Ok((s[1..i].trim_matches(is_ws), &s[i + 1..]));
                }
            }
            _ => {}
        }
    }
    Err(ExpandError::MissingBrace(s.to_string()))
}

fn is_ws(c: char) -> bool {
    c.is_ascii() && crate::lines::is_space(c as u8)
}

fn ltrim(s: &str) -> &str {
    s.trim_start_matches(is_ws)
}

/// A parsed `${...}` body.
enum Macro<'a> {
    /// `${name}`.
    Use(&'a str),
    /// `${name?v1:v2}` (`test_nonempty`) or `${name:v1}`.
    Test {
        name: &'a str,
        nonempty: bool,
        then: &'a str,
        other: Option<&'a str>,
    },
    /// `${{a} op {b} ? {c} : {d}}`.
    Rel {
        left: &'a str,
        op: &'a str,
        level: bool,
        right: &'a str,
        then: &'a str,
        other: Option<&'a str>,
    },
}

/// Parses the optional `: v2` tail after a braced branch.
fn else_branch(after: &str, allow: bool) -> Result<Option<&str>, ExpandError> {
    let after = ltrim(after);
    if after.is_empty() {
        return Ok(None);
    }
    if !allow {
        return Err(ExpandError::UnexpectedInput(head(after)));
    }
    let Some(rest) = after.strip_prefix(':') else {
        return Err(ExpandError::ColonExpected(head(after)));
    };
    let rest = ltrim(rest);
    if rest.starts_with('{') {
        let (v2, tail) = group(rest)?;
        let tail = ltrim(tail);
        if !tail.is_empty() {
            return Err(ExpandError::UnexpectedInput(head(tail)));
        }
        Ok(Some(v2))
    } else {
        Ok(Some(rest))
    }
}

fn parse_macro(text: &str) -> Result<Macro<'_>, ExpandError> {
    let t = ltrim(text);
    if t.starts_with('{') {
        return parse_relational(t);
    }
    let n = t
        .bytes()
        .position(|c| !(c.is_ascii_alphanumeric() || c == b'_'))
        .unwrap_or(t.len());
    let (name, rest) = t.split_at(n);
    if name.is_empty() {
        return Err(ExpandError::EmptyMacroName(text.to_string()));
    }
    let Some(op) = rest.chars().next() else {
        return Ok(Macro::Use(name));
    };
    if op != '?' && op != ':' {
        return Err(ExpandError::NameSyntax(format!("{name}>>>{}", head(rest))));
    }
    let body = &rest[1..];
    let nonempty = op == '?';
    let lb = ltrim(body);
    if lb.starts_with('{') {
        let (then, after) = group(lb)?;
        let other = else_branch(after, nonempty)?;
        Ok(Macro::Test {
            name,
            nonempty,
            then,
            other,
        })
    } else {
        Ok(Macro::Test {
            name,
            nonempty,
            then: body,
            other: None,
        })
    }
}

fn parse_relational(t: &str) -> Result<Macro<'_>, ExpandError> {
    let (left, rest) = group(t)?;
    let rest = ltrim(rest);
    let op = ["==", "!=", "<=", ">=", "<", ">"]
        .into_iter()
        .find(|op| rest.starts_with(op))
        .ok_or_else(|| ExpandError::OperatorExpected(head(rest)))?;
    let mut rest = &rest[op.len()..];
    let level = rest.starts_with("level");
    if level {
        rest = &rest["level".len()..];
    } else if rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(ExpandError::OperatorExpected(head(rest)));
    }
    let (right, rest) = group(ltrim(rest))?;
    let rest = ltrim(rest);
    let Some(rest) = rest.strip_prefix('?') else {
        return Err(ExpandError::QuestionExpected(head(rest)));
    };
    let (then, after) = group(ltrim(rest))?;
    let other = else_branch(after, true)?;
    Ok(Macro::Rel {
        left,
        op,
        level,
        right,
        then,
        other,
    })
}

/// Compares two relational operands like Postfix: numbers if both are all digits,
/// dotted compatibility levels with the `level` suffix, bytes otherwise.
fn compare(a: &str, b: &str, level: bool) -> Ordering {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    let num = |x: &str, y: &str| {
        let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
        x.len().cmp(&y.len()).then_with(|| x.cmp(y))
    };
    if level {
        let mut xa = a.split('.');
        let mut xb = b.split('.');
        loop {
            match (xa.next(), xb.next()) {
                (None, None) => return Ordering::Equal,
                (x, y) => {
                    let o = num(x.unwrap_or("0"), y.unwrap_or("0"));
                    if o != Ordering::Equal {
                        return o;
                    }
                }
            }
        }
    }
    if digits(a) && digits(b) {
        num(a, b)
    } else {
        a.cmp(b)
    }
}

/// The expansion engine; `scan` checks every branch without looking anything up.
struct Ctx<'l> {
    lookup: &'l dyn Fn(&str) -> Option<String>,
    scan: bool,
}

impl Ctx<'_> {
    fn expand(&self, value: &str, level: usize, out: &mut String) -> Result<(), ExpandError> {
        for tok in mac_parse(value)? {
            match tok {
                Tok::Lit(s) => out.push_str(&s),
                Tok::Var(text) => self.expand_macro(text, level, out)?,
            }
        }
        Ok(())
    }

    fn sub(&self, value: &str, level: usize) -> Result<String, ExpandError> {
        let mut s = String::new();
        self.expand(value, level, &mut s)?;
        Ok(s)
    }

    fn expand_macro(&self, text: &str, level: usize, out: &mut String) -> Result<(), ExpandError> {
        match parse_macro(text)? {
            Macro::Use(name) => {
                if self.scan {
                    return Ok(());
                }
                if let Some(v) = (self.lookup)(name) {
                    if level >= MAX_LEVEL {
                        return Err(ExpandError::Nesting(name.to_string()));
                    }
                    self.expand(&v, level + 1, out)?;
                }
            }
            Macro::Test {
                name,
                nonempty,
                then,
                other,
            } => {
                if self.scan {
                    self.sub(then, level)?;
                    if let Some(o) = other {
                        self.sub(o, level)?;
                    }
                    return Ok(());
                }
                let has = (self.lookup)(name).is_some_and(|v| !v.is_empty());
                if has == nonempty {
                    self.expand(then, level, out)?;
                } else if let Some(o) = other {
                    self.expand(o, level, out)?;
                }
            }
            Macro::Rel {
                left,
                op,
                level: lv,
                right,
                then,
                other,
            } => {
                let l = self.sub(left, level)?;
                let r = self.sub(right, level)?;
                if self.scan {
                    self.sub(then, level)?;
                    if let Some(o) = other {
                        self.sub(o, level)?;
                    }
                    return Ok(());
                }
                let ord = compare(&l, &r, lv);
                let yes = match op {
                    "==" => ord == Ordering::Equal,
                    "!=" => ord != Ordering::Equal,
                    "<" => ord == Ordering::Less,
                    "<=" => ord != Ordering::Greater,
                    ">" => ord == Ordering::Greater,
                    _ => ord != Ordering::Less,
                };
                if yes {
                    self.expand(then, level, out)?;
                } else if let Some(o) = other {
                    self.expand(o, level, out)?;
                }
            }
        }
        Ok(())
    }
}

/// Checks $-syntax only (what makes postconf -n fatal), in every conditional branch.
pub fn check_syntax(value: &str) -> Result<(), ExpandError> {
    let none = |_: &str| None;
    Ctx {
        lookup: &none,
        scan: true,
    }
    .sub(value, 0)
    .map(|_| ())
}

/// Recursive expansion like postconf -x; undefined names expand to empty; depth limit 100.
pub fn expand(value: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, ExpandError> {
    Ctx {
        lookup,
        scan: false,
    }
    .sub(value, 0)
}

/// Names referenced by $name / ${name...} (used to decide which user-defined names are "used").
/// Malformed syntax yields the names found before the error.
pub fn references(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    collect_refs(value, &mut out, 0);
    out
}

fn collect_refs(value: &str, out: &mut Vec<String>, depth: usize) {
    if depth > MAX_LEVEL {
        return;
    }
    let Ok(toks) = mac_parse(value) else { return };
    let push = |n: &str, out: &mut Vec<String>| {
        if !out.iter().any(|x| x == n) {
            out.push(n.to_string());
        }
    };
    for tok in toks {
        let Tok::Var(text) = tok else { continue };
        match parse_macro(text) {
            Ok(Macro::Use(n)) => push(n, out),
            Ok(Macro::Test {
                name, then, other, ..
            }) => {
                push(name, out);
                collect_refs(then, out, depth + 1);
                if let Some(o) = other {
                    collect_refs(o, out, depth + 1);
                }
            }
            Ok(Macro::Rel {
                left,
                right,
                then,
                other,
                ..
            }) => {
                for part in [Some(left), Some(right), Some(then), other]
                    .into_iter()
                    .flatten()
                {
                    collect_refs(part, out, depth + 1);
                }
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lk(name: &str) -> Option<String> {
        match name {
            "myhostname" => Some("mx.example.com".into()),
            "mydomain" => Some("example.com".into()),
            "a1" => Some(String::new()),
            "compatibility_level" => Some("0".into()),
            "loop1" => Some("$loop2".into()),
            "loop2" => Some("x$loop1".into()),
            "dollar" => Some("$$x".into()),
            _ => None,
        }
    }

    fn x(v: &str) -> Result<String, ExpandError> {
        expand(v, &lk)
    }

    #[test]
    fn expands_like_postconf() {
        assert_eq!(
            x("${a1?yes}${a1:no}|${mydomain?{d=$mydomain}:{nod}}").unwrap(),
            "no|d=example.com"
        );
        assert_eq!(
            x("${myhostname:fallback}x$(mydomain)").unwrap(),
            "xexample.com"
        );
        assert_eq!(
            x("${myhostname?{yes}:{no}} ${{$compatibility_level} <level {3.6} ? {old} : {new}}")
                .unwrap(),
            "yes old"
        );
        assert_eq!(x("$$foo").unwrap(), "$foo");
        assert_eq!(x("$dollar").unwrap(), "$x");
        assert_eq!(
            x("$myhostname.$mydomain").unwrap(),
            "mx.example.com.example.com"
        );
        assert_eq!(x("${ myhostname}").unwrap(), "mx.example.com");
        assert_eq!(x("${undefined_xyz}-").unwrap(), "-");
        assert_eq!(x("${{a} == {b} ? {c} : {d}}").unwrap(), "d");
        assert_eq!(x("${{a} == {b} ? {c}}").unwrap(), "");
        assert_eq!(x("${{10} > {9} ? {num} : {lex}}").unwrap(), "num");
        assert_eq!(x("${{3.10} >=level {3.6} ? {new} : {old}}").unwrap(), "new");
        assert_eq!(x("${mydomain?{a}:b c}").unwrap(), "a");
    }

    #[test]
    fn reports_postfix_errors() {
        assert!(matches!(x("${foo"), Err(ExpandError::Truncated(_))));
        assert!(matches!(
            x("$$foo $ x"),
            Err(ExpandError::EmptyMacroName(_))
        ));
        assert!(matches!(x("a$"), Err(ExpandError::EmptyMacroName(_))));
        assert!(matches!(x("${foo bar}"), Err(ExpandError::NameSyntax(_))));
        assert!(matches!(
            x("${foo?{a}x}"),
            Err(ExpandError::ColonExpected(_))
        ));
        assert!(matches!(
            x("${foo?{a}:{b}c}"),
            Err(ExpandError::UnexpectedInput(_))
        ));
        assert!(matches!(
            x("${{a} = {b} ? {c} : {d}}"),
            Err(ExpandError::OperatorExpected(_))
        ));
        assert!(matches!(x("$loop1"), Err(ExpandError::Nesting(_))));
        assert_eq!(
            ExpandError::NameSyntax("foo>>> bar".into()).to_string(),
            "attribute name syntax error at: \"...foo>>> bar\""
        );
    }

    #[test]
    fn check_syntax_scans_all_branches() {
        assert!(check_syntax("${x?{ok}:{$ }}").is_err());
        assert!(check_syntax("${x?$}").is_err());
        assert!(check_syntax("$myhostname ESMTP $mail_name").is_ok());
        assert!(check_syntax("hash:/etc/aliases # c").is_ok());
    }

    #[test]
    fn lists_references() {
        assert_eq!(
            references("$a ${b?{$c}:{x}} $(d) $$e ${{$f} == {1} ? {$g}}"),
            vec!["a", "b", "c", "d", "f", "g"]
        );
    }
}
