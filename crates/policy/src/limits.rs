//! Bounds checked before a policy's YAML is parsed, so that hostile input is answered at once:
//! a size limit and a nesting limit (64k levels of flow YAML took the parser 44 s), and YAML
//! error messages that never quote a file's contents (a policy path pointing at
//! `/etc/shadow` must not print its first line).

use crate::policy::{PolicyError, PolicyErrors};

/// Largest policy text accepted (built-ins are a few KB).
pub const MAX_POLICY_BYTES: usize = 1024 * 1024;

/// Deepest flow nesting (`[`/`{`) accepted; a policy needs 2 (`{ crypto_policy: protocols }`).
pub const MAX_FLOW_DEPTH: usize = 32;

/// Refuse texts that are too large or nested too deeply, naming file, line and column.
pub fn check(text: &str, file: &str) -> Result<(), PolicyErrors> {
    let err = |line, column, message: String| {
        Err(PolicyErrors(vec![PolicyError {
            file: file.to_string(),
            line,
            column,
            message,
        }]))
    };
    if text.len() > MAX_POLICY_BYTES {
        return err(
            1,
            1,
            format!(
                "policy is {} bytes, more than the limit of {MAX_POLICY_BYTES}",
                text.len()
            ),
        );
    }
    let (mut line, mut col) = (1usize, 0usize);
    let (mut depth, mut single, mut double, mut escape, mut comment) =
        (0usize, false, false, false, false);
    let mut prev_blank = true;
    for c in text.chars() {
        col += 1;
        if c == '\n' {
            line += 1;
            col = 0;
            comment = false;
            prev_blank = true;
            continue;
        }
        if comment {
            continue;
        }
        if double {
            match (escape, c) {
                (true, _) => escape = false,
                (false, '\\') => escape = true,
                (false, '"') => double = false,
                _ => {}
            }
        } else if single {
            if c == '\'' {
                single = false;
            }
        } else {
            match c {
                '#' if prev_blank => comment = true,
                '"' => double = true,
                '\'' => single = true,
                '[' | '{' => {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        return err(
                            line,
                            col,
                            format!("YAML nested more than {MAX_FLOW_DEPTH} levels deep"),
                        );
                    }
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        prev_blank = c == ' ' || c == '\t';
    }
    Ok(())
}

/// A YAML/serde error message without its position suffix and without any quoted piece of
/// the document: `invalid type: string "root:$6$...", expected ...` becomes `the file is
/// not a pftls policy (expected a mapping ...)`.
pub fn yaml_message(msg: &str) -> String {
    let msg = msg.split(" at line ").next().unwrap_or_default();
    if msg.starts_with("invalid type:") && msg.contains("expected struct RawPolicy") {
        return "the file is not a pftls policy (expected a YAML mapping with name, description, main and services)".to_string();
    }
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        // A policy's key is a short identifier; anything else is a line of some other file
        // and is not repeated.
        let name = rest.split('`').next().unwrap_or_default();
        let plain = name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !plain {
            return "the file is not a pftls policy (unknown top-level key, not shown; expected name, description, requires_postfix, main, services, optional_services)".to_string();
        }
    }
    for prefix in ["invalid type: string \"", "invalid value: string \""] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            if let Some(end) = rest.rfind("\", ") {
                return format!(
                    "{} string, {}",
                    &prefix[..prefix.len() - 9],
                    &rest[end + 3..]
                );
            }
        }
    }
    msg.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{parse_policy, Origin};
    use std::time::{Duration, Instant};

    #[test]
    fn deep_flow_yaml_is_refused_at_once() {
        let depth = 65_536;
        let text = format!(
            "name: x\ndescription: d\nmain:\n  a: {}{}\n",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let t = Instant::now();
        let err = parse_policy(&text, Origin::BuiltIn, None).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
        let e = &err.0[0];
        assert_eq!((e.line, e.column), (4, 5 + MAX_FLOW_DEPTH + 1), "{e}");
        assert!(e.message.contains("nested more than"), "{e}");
        // Quoted brackets and comments do not count.
        check("a: \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\" # {{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\n", "f").unwrap();
    }

    #[test]
    fn oversized_policy_is_refused() {
        let text = format!(
            "name: x\ndescription: d\n#{}\n",
            "x".repeat(MAX_POLICY_BYTES)
        );
        let err = parse_policy(&text, Origin::BuiltIn, None).unwrap_err();
        assert!(err.0[0].message.contains("more than the limit"));
    }

    #[test]
    fn ten_thousand_parameters_are_located_in_linear_time() {
        let mut text = String::from("name: big\ndescription: d\nmain:\n");
        for i in 0..10_000 {
            text.push_str(&format!("  unknown_parameter_{i}: yes\n"));
        }
        let t = Instant::now();
        let p = parse_policy(&text, Origin::BuiltIn, None).unwrap();
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
        assert_eq!(p.main.len(), 10_000);
        assert_eq!(p.main[9_999].pos.line, 4 + 9_999);
        assert_eq!(p.main[9_999].pos.column, 3);
    }

    #[test]
    fn errors_do_not_quote_non_policy_files() {
        let shadow = "root:$6$SECRETHASH:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n";
        let err = parse_policy(shadow, Origin::BuiltIn, None).unwrap_err();
        let msg = err.to_string();
        assert!(!msg.contains("SECRET") && !msg.contains("root:"), "{msg}");
        assert!(msg.contains("not a pftls policy"), "{msg}");
        assert_eq!(
            yaml_message("invalid type: string \"secret\", expected a map at line 3 column 1"),
            "invalid type: string, expected a map"
        );
    }
}
