//! Output helpers: unified diffs (similar), colour, JSON printing.

use similar::TextDiff;

/// A unified diff of two versions of a file, with `a/PATH` and `b/PATH` headers; empty when equal.
pub fn unified_diff(path: &str, before: &[u8], after: &[u8]) -> String {
    if before == after {
        return String::new();
    }
    let b = String::from_utf8_lossy(before);
    let a = String::from_utf8_lossy(after);
    let diff = TextDiff::from_lines(b.as_ref(), a.as_ref());
    diff.unified_diff()
        .context_radius(3)
        .header(&format!("{path} (current)"), &format!("{path} (planned)"))
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
