//! Finds where a key of a block-style YAML mapping sits in the source text, so that errors found
//! after deserialisation (unknown parameters, bad values, missing services) can still name the
//! policy file, line and column. Policies are plain block mappings; when a key cannot be found
//! (flow style, anchors), callers fall back to the enclosing key's position.

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// Every key position of a document, indexed in one pass, so that a policy with thousands of
/// settings (or errors) is located in linear time rather than one scan per key.
#[derive(Debug, Default)]
pub struct Locator {
    /// Path (keys joined with NUL) → first position.
    keys: std::collections::HashMap<String, Pos>,
}

impl Locator {
    /// Index the block-style keys of `text`.
    pub fn new(text: &str) -> Locator {
        let mut keys = std::collections::HashMap::new();
        // (indent, path so far) of the enclosing keys.
        let mut stack: Vec<(usize, String)> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let trimmed = raw.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
                continue;
            }
            let indent = raw.len() - trimmed.len();
            let Some(key) = key_of(trimmed) else {
                continue;
            };
            while stack.last().is_some_and(|(ind, _)| *ind >= indent) {
                stack.pop();
            }
            let path = match stack.last() {
                Some((_, parent)) => format!("{parent}\0{key}"),
                None => key,
            };
            keys.entry(path.clone()).or_insert(Pos {
                line: i + 1,
                column: indent + 1,
            });
            stack.push((indent, path));
        }
        Locator { keys }
    }

    /// Position of the key at `path`, if present in block style.
    pub fn locate(&self, path: &[&str]) -> Option<Pos> {
        self.keys.get(&path.join("\0")).copied()
    }

    /// Position of `path`, falling back to shorter prefixes, then to line 1.
    pub fn locate_or_parent(&self, path: &[&str]) -> Pos {
        (1..=path.len())
            .rev()
            .find_map(|n| self.locate(&path[..n]))
            .unwrap_or(Pos { line: 1, column: 1 })
    }
}

/// Position of the key at `path` (e.g. `["services", "smtp/inet", "smtpd_tls_security_level"]`),
/// or of the deepest prefix of it that was found.
pub fn locate(text: &str, path: &[&str]) -> Option<Pos> {
    let lines: Vec<&str> = text.lines().collect();
    let mut start = 0usize;
    let mut parent_indent: Option<usize> = None;
    let mut found: Option<Pos> = None;
    for key in path {
        let mut child_indent: Option<usize> = None;
        let mut hit = None;
        for (i, raw) in lines.iter().enumerate().skip(start) {
            let trimmed = raw.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
                continue;
            }
            let indent = raw.len() - trimmed.len();
            if let Some(p) = parent_indent {
                if indent <= p {
                    break;
                }
            }
            let ci = *child_indent.get_or_insert(indent);
            if indent != ci {
                continue;
            }
            if key_of(trimmed).as_deref() == Some(*key) {
                hit = Some((i, indent));
                break;
            }
        }
        let (i, indent) = hit?;
        found = Some(Pos {
            line: i + 1,
            column: indent + 1,
        });
        start = i + 1;
        parent_indent = Some(indent);
    }
    found
}

/// Position of `path`, falling back to shorter prefixes, then to line 1.
pub fn locate_or_parent(text: &str, path: &[&str]) -> Pos {
    (1..=path.len())
        .rev()
        .find_map(|n| locate(text, &path[..n]))
        .unwrap_or(Pos { line: 1, column: 1 })
}

fn key_of(line: &str) -> Option<String> {
    let line = line.strip_prefix("? ").unwrap_or(line);
    let (k, _) = split_key(line)?;
    Some(k)
}

fn split_key(line: &str) -> Option<(String, &str)> {
    if let Some(q) = line.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let rest = &line[1..];
        let close = rest.find(q)?;
        let after = rest[close + 1..].trim_start();
        let after = after.strip_prefix(':')?;
        return Some((rest[..close].to_string(), after));
    }
    // A plain key ends at the first ": " or a trailing ":".
    let bytes = line.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b':' && (i + 1 == bytes.len() || bytes[i + 1] == b' ' || bytes[i + 1] == b'\t') {
            return Some((line[..i].trim_end().to_string(), &line[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "name: x\n# comment\nmain:\n  smtpd_tls_loglevel: 1\n  \"quoted_key\": may\nservices:\n  smtp/inet:\n    smtpd_tls_security_level: null\n  submission/inet:\n    smtpd_tls_security_level: encrypt\n";

    #[test]
    fn finds_nested_keys() {
        assert_eq!(locate(DOC, &["main"]), Some(Pos { line: 3, column: 1 }));
        assert_eq!(
            locate(DOC, &["main", "smtpd_tls_loglevel"]),
            Some(Pos { line: 4, column: 3 })
        );
        assert_eq!(
            locate(DOC, &["main", "quoted_key"]),
            Some(Pos { line: 5, column: 3 })
        );
        assert_eq!(
            locate(
                DOC,
                &["services", "submission/inet", "smtpd_tls_security_level"]
            ),
            Some(Pos {
                line: 10,
                column: 5
            })
        );
        // A key of another block is not found in this one.
        assert_eq!(locate(DOC, &["main", "smtp/inet"]), None);
        assert_eq!(
            locate_or_parent(DOC, &["main", "nope"]),
            Pos { line: 3, column: 1 }
        );
    }

    #[test]
    fn locator_agrees_with_locate() {
        let loc = Locator::new(DOC);
        for path in [
            &["main"][..],
            &["main", "smtpd_tls_loglevel"],
            &["main", "quoted_key"],
            &["services", "smtp/inet", "smtpd_tls_security_level"],
            &["services", "submission/inet", "smtpd_tls_security_level"],
            &["main", "smtp/inet"],
            &["nope"],
        ] {
            assert_eq!(loc.locate(path), locate(DOC, path), "{path:?}");
            assert_eq!(loc.locate_or_parent(path), locate_or_parent(DOC, path));
        }
    }
}
