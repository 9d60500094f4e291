//! Quoting a line of a file in an error message only when the file has shown itself to be
//! Postfix configuration: a `main.cf` symlinked to `/etc/shadow` fails on its first line,
//! and that line must not end up in a terminal, a JSON report or an Ansible log.

/// Longest excerpt quoted.
const MAX_EXCERPT: usize = 120;

/// Whether `line` looks like Postfix configuration: a comment, a `name = value` assignment, a
/// continuation (leading whitespace) or a master.cf service entry.
fn looks_like_config(line: &str) -> bool {
    let t = line.trim_start();
    if t.is_empty() || t.starts_with('#') || line.starts_with([' ', '\t']) {
        return true;
    }
    let name_end = t
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(t.len());
    if name_end > 0 && t[name_end..].trim_start().starts_with('=') {
        return true;
    }
    let mut fields = t.split_whitespace();
    let _service = fields.next();
    matches!(
        fields.next(),
        Some("inet" | "unix" | "unix-dgram" | "fifo" | "pass")
    )
}

/// The suffix for an error at 1-based `line` whose text is `text`: `: "TEXT"` (escaped and
/// cut to 120 characters) when an earlier line of `bytes` is recognisably Postfix
/// configuration, otherwise a note that the line is not shown.
pub fn quoted_line(bytes: &[u8], line: usize, text: &str) -> String {
    let earlier = String::from_utf8_lossy(bytes);
    let proven = earlier
        .lines()
        .take(line.saturating_sub(1))
        .any(looks_like_config);
    if !proven {
        return " (line not shown: the file does not look like Postfix configuration)".to_string();
    }
    let mut shown: String = text
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(MAX_EXCERPT)
        .collect();
    if text.chars().count() > MAX_EXCERPT {
        shown.push_str("...");
    }
    format!(": \"{shown}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_config_lines_only() {
        let shadow = b"root:$6$SECRET:19000:0:99999:7:::\n";
        let q = quoted_line(shadow, 1, "root:$6$SECRET:19000:0:99999:7:::");
        assert!(!q.contains("SECRET"), "{q}");
        let main = b"# main.cf\nmyhostname = mx\nbroken line\n";
        assert_eq!(quoted_line(main, 3, "broken line"), ": \"broken line\"");
        let master = b"smtp inet n - y - - smtpd\nbroken\n";
        assert_eq!(quoted_line(master, 2, "broken"), ": \"broken\"");
        let long = "x".repeat(500);
        let q = quoted_line(main, 3, &long);
        assert!(q.len() < 140 && q.ends_with("...\""), "{q}");
    }
}
