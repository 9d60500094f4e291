//! The few roff constructs the generated sections need, with escaping in one place.

/// Escapes plain text for roff: backslashes, hyphens (so that options stay copy-pasteable as
/// ASCII hyphen-minus) and a leading dot or apostrophe (which would start a request).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if line.starts_with('.') || line.starts_with('\'') {
            out.push_str("\\&");
        }
        for c in line.chars() {
            match c {
                '\\' => out.push_str("\\e"),
                '-' => out.push_str("\\-"),
                _ => out.push(c),
            }
        }
    }
    out
}

/// `.SH TITLE` (quoted when it has a space).
pub fn section(title: &str) -> String {
    if title.contains(' ') {
        format!(".SH \"{title}\"\n")
    } else {
        format!(".SH {title}\n")
    }
}

/// A tagged paragraph: `tag` in bold, `body` indented below it.
pub fn tagged(tag: &str, body: &str) -> String {
    format!(".TP\n\\fB{}\\fR\n{}\n", escape(tag), escape(body))
}

/// A plain paragraph.
pub fn para(text: &str) -> String {
    format!(".PP\n{}\n", escape(text))
}

/// A literal block (no filling, no adjusting), indented.
pub fn literal(text: &str) -> String {
    format!(".PP\n.RS 4\n.nf\n{}\n.fi\n.RE\n", escape(text))
}

/// A reference list `name(N), name(N), ...` with the names in bold.
pub fn references<'a>(pages: impl IntoIterator<Item = &'a str>) -> String {
    let refs: Vec<String> = pages
        .into_iter()
        .map(|p| match p.split_once('(') {
            Some((name, rest)) => format!("\\fB{}\\fR({rest}", escape(name)),
            None => format!("\\fB{}\\fR", escape(p)),
        })
        .collect();
    format!("{}\n", refs.join(",\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_requests_hyphens_and_backslashes() {
        assert_eq!(escape(".x -p a\\b"), "\\&.x \\-p a\\eb");
        assert_eq!(escape("a\n'b"), "a\n\\&'b");
    }
}
