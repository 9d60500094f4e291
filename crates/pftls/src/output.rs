//! Output helpers: unified diffs (similar), colour, JSON printing.

use similar::TextDiff;

/// A unified diff of two versions of a file, with `a/PATH` and `b/PATH` headers; empty when equal.
pub fn unified_diff(path: &str, before: &[u8], after: &[u8]) -> String {
    labeled_diff(
        &format!("{path} (current)"),
        &format!("{path} (planned)"),
        before,
        after,
    )
}

/// A unified diff with the given header labels (empty when the bytes are equal).
pub fn labeled_diff(before_label: &str, after_label: &str, before: &[u8], after: &[u8]) -> String {
    if before == after {
        return String::new();
    }
    let b = String::from_utf8_lossy(before);
    let a = String::from_utf8_lossy(after);
    let diff = TextDiff::from_lines(b.as_ref(), a.as_ref());
    diff.unified_diff()
        .context_radius(3)
        .header(before_label, after_label)
        .missing_newline_hint(true)
        .to_string()
}

/// ANSI colouring of a unified diff for a terminal.
pub fn colorize_diff(diff: &str) -> String {
    diff.lines()
        .map(|l| {
            if l.starts_with("+++") || l.starts_with("---") {
                format!("\x1b[1m{l}\x1b[0m")
            } else if l.starts_with('+') {
                format!("\x1b[32m{l}\x1b[0m")
            } else if l.starts_with('-') {
                format!("\x1b[31m{l}\x1b[0m")
            } else if l.starts_with("@@") {
                format!("\x1b[36m{l}\x1b[0m")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Bold text when colour is on.
pub fn bold(s: &str, color: bool) -> String {
    if color {
        format!("\x1b[1m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// Severity colouring when colour is on.
pub fn severity(s: &str, color: bool) -> String {
    if !color {
        return s.to_string();
    }
    let code = match s {
        "error" => "31",
        "warning" => "33",
        _ => "36",
    };
    format!("\x1b[{code}m{s}\x1b[0m")
}

/// Prints one JSON value on stdout.
pub fn print_json(v: &serde_json::Value) {
    match serde_json::to_string_pretty(v) {
        Ok(s) => println!("{s}"),
        // serde_json::Value always serialises; keep a fallback rather than a panic.
        Err(e) => println!(
            "{{\"error\":{{\"kind\":\"internal\",\"message\":{:?}}}}}",
            e.to_string()
        ),
    }
}

/// Renders `None` as `(unset)` for text tables.
pub fn or_unset(v: &Option<String>) -> String {
    match v {
        Some(s) if s.is_empty() => "(empty)".to_string(),
        Some(s) => s.clone(),
        None => "(unset)".to_string(),
    }
}

/// The first sentence of a message (for one-line summaries).
pub fn first_sentence(s: &str) -> &str {
    match s.find(". ") {
        Some(i) => &s[..=i],
        None => s,
    }
}

/// Prints a typed report as pretty JSON. A serialisation failure (a map with non-string keys,
/// which no report has) is printed as a JSON error object, never as silent `null`s.
pub fn print_report<T: serde::Serialize>(v: &T) {
    match serde_json::to_string_pretty(v) {
        Ok(s) => println!("{s}"),
        Err(e) => println!(
            "{{\"error\":{{\"kind\":\"internal\",\"message\":{:?}}}}}",
            e.to_string()
        ),
    }
}

/// The topology as text lines: listener, role, effective TLS level and where it comes from,
/// and the reason for the role. `locate` turns a source into `FILE:LINE`.
pub fn topology_lines(host: &host::Host) -> Vec<String> {
    let mut out = Vec::new();
    for l in &host.topology.listeners {
        if l.role == pftls_policy::Role::Other && l.tls.is_none() {
            continue;
        }
        let tls = match &l.tls {
            Some(t) => {
                let at = host
                    .locate(&t.source)
                    .unwrap_or_else(|| t.source.to_string());
                let via = if t.via.is_empty() {
                    String::new()
                } else {
                    format!(" via {}", t.via.join(", "))
                };
                format!("tls {} ({} from {at}{via})", t.level, t.decided_by)
            }
            None => "-".into(),
        };
        let deep = match l.deep_protocol_tests {
            Some(true) => ", deep protocol tests on",
            Some(false) => ", deep protocol tests off",
            None => "",
        };
        out.push(format!(
            "  {:<28} {:<11} {tls}",
            l.service.to_string(),
            l.role.keyword()
        ));
        out.push(format!("  {:<28} {:<11} {}{deep}", "", "", l.reason));
    }
    out
}

/// Global options that take a value in the next argument (so that their value is not mistaken
/// for the subcommand).
const GLOBAL_WITH_VALUE: &[&str] = &[
    "-c",
    "--config-dir",
    "--backup-dir",
    "--policy-dir",
    "--crypto-policies-dir",
    "--postfix-version",
    "--format",
    "--color",
];

/// Quotes an argument for a POSIX shell when it needs it.
pub fn shell_quote(a: &str) -> String {
    let plain = !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
    if plain {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', r"'\''"))
    }
}

/// The exact command that would apply what this run planned: the command line as given, with
/// `--dry-run` removed; for `plan`, the subcommand becomes `apply` and `--out FILE` is dropped.
/// None when the command line cannot be read (no subcommand found).
pub fn apply_command(invocation: &[String], command: &str) -> Option<String> {
    let mut out: Vec<String> = Vec::new();
    let mut args = invocation.iter();
    out.push(args.next()?.clone());
    // Global options up to the subcommand.
    let mut found = false;
    while let Some(a) = args.next() {
        if a == command {
            out.push(if command == "plan" { "apply" } else { a }.to_string());
            found = true;
            break;
        }
        out.push(a.clone());
        if GLOBAL_WITH_VALUE.contains(&a.as_str()) {
            out.push(args.next()?.clone());
        }
    }
    if !found {
        return None;
    }
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dry-run" => {}
            "--out" if command == "plan" => {
                args.next();
            }
            s if command == "plan" && s.starts_with("--out=") => {}
            "--" => {
                out.push(a.clone());
                out.extend(args.by_ref().cloned());
            }
            _ => out.push(a.clone()),
        }
    }
    Some(
        out.iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn apply_command_lines() {
        assert_eq!(
            apply_command(
                &v(&["pftls", "-c", "plan", "plan", "-p", "a", "--out", "f"]),
                "plan"
            )
            .unwrap(),
            "pftls -c plan apply -p a"
        );
        assert_eq!(
            apply_command(
                &v(&["pftls", "apply", "--dry-run", "-p", "a b", "--reload"]),
                "apply"
            )
            .unwrap(),
            "pftls apply -p 'a b' --reload"
        );
        assert_eq!(
            apply_command(&v(&["pftls", "set", "x=it's", "--dry-run"]), "set").unwrap(),
            r"pftls set 'x=it'\''s'"
        );
        assert_eq!(apply_command(&v(&["pftls"]), "plan"), None);
    }
}
