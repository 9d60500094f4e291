//! Text that comes from the network or from certificates (SMTP replies, certificate subject
//! and issuer names) is shown escaped: control characters (ESC, CR, BEL, C1 controls, DEL)
//! and bidirectional overrides could otherwise move the cursor, rewrite the terminal title or
//! reorder what the admin reads.

/// `s` with every control character (except tab) written as `\xNN` and every bidirectional
/// formatting character as `\u{NNNN}`; printable text is unchanged.
pub fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c == '\t' || (!c.is_control() && !bidi) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:04x}}}", c as u32));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_bidi_only() {
        assert_eq!(printable("mx.example.org ESMTP"), "mx.example.org ESMTP");
        assert_eq!(printable("a\x1b[2Jb\x07\r"), "a\\x1b[2Jb\\x07\\x0d");
        assert_eq!(printable("x\u{9b}y\u{202e}z"), "x\\x9by\\u{202e}z");
        assert_eq!(printable("tab\there é"), "tab\there é");
    }
}
