//! Validation of an MTA-STS policy file against RFC 8461 section 3.2: `key: value` lines ending
//! in LF or CRLF, case-sensitive keys, the required `version`, `mode` and `max_age` (and `mx`
//! unless the mode is `none`), no duplicate keys except `mx`, `version: STSv1`, `max_age` of
//! 1-10 digits and at most 31557600, and `mx` patterns that are host names with an optional
//! leftmost `*.` label. Every issue carries its 1-based line where it has one.

use std::path::Path;

use serde::Serialize;

use super::{
    policy_id, validate_mx_pattern, Mode, MtaStsError, Policy, MAX_AGE_LIMIT, POLICY_SIZE_LIMIT,
};

/// How bad an issue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The policy is invalid: senders would discard it (or misread it).
    Error,
    /// Valid, but risky or unusual.
    Warning,
}

/// One problem found in a policy file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyIssue {
    /// Error or warning.
    pub severity: Severity,
    /// 1-based line, where the issue has one.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl PolicyIssue {
    /// `FILE:LINE: message` (or `FILE: message` without a line).
    pub fn located(&self, file: &Path) -> String {
        match self.line {
            Some(l) => format!("{}:{l}: {}", file.display(), self.message),
            None => format!("{}: {}", file.display(), self.message),
        }
    }
}

/// The result of checking a policy file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyCheck {
    /// The policy, when the file has no errors.
    pub policy: Option<Policy>,
    /// Errors and warnings in line order (file-level issues last).
    pub issues: Vec<PolicyIssue>,
    /// The `_mta-sts` TXT id for the file's exact bytes (see [`policy_id`]).
    pub id: String,
    /// The line of each `mx` pattern of `policy`, in the same order.
    pub mx_lines: Vec<usize>,
}

impl PolicyCheck {
    /// True when there is no error.
    pub fn is_valid(&self) -> bool {
        !self.issues.iter().any(|i| i.severity == Severity::Error)
    }
}

/// Reads and checks a policy file; only an unreadable file is an `Err`.
pub fn read_policy(path: &Path) -> Result<PolicyCheck, MtaStsError> {
    let bytes =
        pftls_safe_read::read(path, pftls_safe_read::Kind::Text).map_err(|e| MtaStsError::Io {
            path: path.to_path_buf(),
            source: e.into_reason_io(),
        })?;
    Ok(check_policy(&bytes))
}

/// Collects the fields while the lines are read.
#[derive(Default)]
struct Fields {
    version: Option<usize>,
    mode: Option<(usize, Option<Mode>)>,
    max_age: Option<(usize, Option<u64>)>,
    mx: Vec<(usize, String)>,
    /// Every key that appears, even on a line with an error, so that a bad line is not
    /// reported a second time as a missing key.
    seen: Vec<String>,
    issues: Vec<PolicyIssue>,
}

impl Fields {
    fn error(&mut self, line: Option<usize>, message: impl Into<String>) {
        self.issues.push(PolicyIssue {
            severity: Severity::Error,
            line,
            message: message.into(),
        });
    }

    fn warning(&mut self, line: Option<usize>, message: impl Into<String>) {
        self.issues.push(PolicyIssue {
            severity: Severity::Warning,
            line,
            message: message.into(),
        });
    }

    /// Records the first line of a single-valued key; a repeat is an error.
    fn first(&mut self, key: &str, seen: Option<usize>, line: usize) -> bool {
        match seen {
            Some(first) => {
                self.error(
                    Some(line),
                    format!(
                        "duplicate key `{key}` (first on line {first}); only `mx` may repeat, \
                         and senders would use the first value"
                    ),
                );
                false
            }
            None => true,
        }
    }

    fn field(&mut self, line: usize, key: &str, value: &str) {
        match key {
            "version" => {
                if self.first(key, self.version, line) {
                    self.version = Some(line);
                    if value != "STSv1" {
                        self.error(
                            Some(line),
                            format!("version must be `STSv1`, not `{value}`"),
                        );
                    }
                }
            }
            "mode" => {
                if self.first(key, self.mode.map(|m| m.0), line) {
                    let mode = match value.parse::<Mode>() {
                        Ok(m) => Some(m),
                        Err(e) => {
                            self.error(Some(line), e);
                            None
                        }
                    };
                    self.mode = Some((line, mode));
                }
            }
            "max_age" => {
                if self.first(key, self.max_age.map(|m| m.0), line) {
                    let age = self.max_age_value(line, value);
                    self.max_age = Some((line, age));
                }
            }
            "mx" => match validate_mx_pattern(value) {
                Ok(p) => {
                    if let Some((first, _)) = self.mx.iter().find(|(_, m)| *m == p) {
                        let first = *first;
                        self.warning(Some(line), format!("mx `{value}` repeats line {first}"));
                    } else {
                        self.mx.push((line, p));
                    }
                }
                Err(reason) => self.error(Some(line), format!("invalid mx `{value}`: {reason}")),
            },
            other => {
                if let Some(known) = ["version", "mode", "max_age", "mx"]
                    .into_iter()
                    .find(|k| k.eq_ignore_ascii_case(other))
                {
                    self.error(
                        Some(line),
                        format!("keys are case-sensitive: `{other}` must be written `{known}`"),
                    );
                } else {
                    self.warning(
                        Some(line),
                        format!("unknown key `{other}` (an extension senders ignore)"),
                    );
                }
            }
        }
    }

    fn max_age_value(&mut self, line: usize, value: &str) -> Option<u64> {
        if value.is_empty() || value.len() > 10 || !value.bytes().all(|b| b.is_ascii_digit()) {
            self.error(
                Some(line),
                format!("max_age must be 1 to 10 digits (seconds), not `{value}`"),
            );
            return None;
        }
        // At most 10 digits, so the parse cannot overflow a u64.
        let age: u64 = value.parse().ok()?;
        if age > MAX_AGE_LIMIT {
            self.error(
                Some(line),
                format!("max_age {age} is larger than the RFC 8461 limit of {MAX_AGE_LIMIT} seconds (one year)"),
            );
            return None;
        }
        if age < 86_400 {
            self.warning(
                Some(line),
                format!(
                    "max_age {age} is under one day; RFC 8461 section 3.2 recommends weeks or more"
                ),
            );
        }
        Some(age)
    }
}

/// A valid extension key (RFC 8461 `sts-policy-ext-name`): a letter or digit, then up to 31
/// letters, digits, `_`, `-` or `.`.
fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && key.len() <= 32
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Checks the bytes of a policy file (see the module documentation). Never panics.
pub fn check_policy(bytes: &[u8]) -> PolicyCheck {
    let id = policy_id(bytes);
    let mut f = Fields::default();
    if bytes.is_empty() {
        f.error(
            None,
            "empty policy file (needs version, mode, max_age and mx)",
        );
        return PolicyCheck {
            policy: None,
            issues: f.issues,
            id,
            mx_lines: Vec::new(),
        };
    }
    if bytes.len() > POLICY_SIZE_LIMIT {
        f.warning(
            None,
            format!(
                "policy file is {} bytes; some senders (Google) refuse policies over 64 KiB",
                bytes.len()
            ),
        );
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            f.error(Some(line), "not valid UTF-8");
            return PolicyCheck {
                policy: None,
                issues: f.issues,
                id,
                mx_lines: Vec::new(),
            };
        }
    };
    let body = text.strip_suffix('\n').unwrap_or(text);
    let (mut crlf, mut lf) = (0usize, 0usize);
    let count = body.split('\n').count();
    for (i, raw) in body.split('\n').enumerate() {
        let line = i + 1;
        // Every line but the last ends in '\n' (the final line only when the file does).
        let terminated = i + 1 < count || text.ends_with('\n');
        let content = match raw.strip_suffix('\r') {
            Some(c) if terminated => {
                crlf += 1;
                c
            }
            _ => {
                if terminated {
                    lf += 1;
                }
                raw
            }
        };
        check_line(&mut f, line, content);
    }
    if crlf > 0 && lf > 0 {
        f.warning(None, "mixes CRLF and LF line ends");
    }
    finish(f, id)
}

fn check_line(f: &mut Fields, line: usize, content: &str) {
    if let Some((key, _)) = content.split_once(':') {
        let key = key.trim_matches([' ', '\t', '\u{feff}']);
        if !f.seen.iter().any(|k| k == key) {
            f.seen.push(key.to_string());
        }
    }
    if content.contains('\r') {
        f.error(Some(line), "carriage return that does not end the line");
        return;
    }
    if content.trim().is_empty() {
        f.warning(
            Some(line),
            "empty line: RFC 8461 section 3.2 has none between fields; strict senders may refuse the policy",
        );
        return;
    }
    if content.starts_with('\u{feff}') {
        f.error(Some(line), "byte-order mark at the start of the file");
        return;
    }
    let Some((key, rest)) = content.split_once(':') else {
        f.error(
            Some(line),
            format!("expected `key: value`, found `{content}`"),
        );
        return;
    };
    if key.starts_with([' ', '\t']) {
        f.error(Some(line), "line starts with whitespace");
        return;
    }
    if key.ends_with([' ', '\t']) {
        f.error(
            Some(line),
            format!("whitespace before `:` after `{}`", key.trim_end()),
        );
        return;
    }
    if !valid_key(key) {
        f.error(Some(line), format!("invalid key `{key}`"));
        return;
    }
    let value = rest.trim_matches([' ', '\t']);
    if value.is_empty() {
        f.error(Some(line), format!("`{key}` has no value"));
        return;
    }
    if value.chars().any(char::is_control) {
        f.error(
            Some(line),
            format!("control character in the value of `{key}`"),
        );
        return;
    }
    f.field(line, key, value);
}

fn finish(mut f: Fields, id: String) -> PolicyCheck {
    for (key, present) in [
        ("version", f.version.is_some()),
        ("mode", f.mode.is_some()),
        ("max_age", f.max_age.is_some()),
    ] {
        if !present && !f.seen.iter().any(|k| k == key) {
            f.error(None, format!("missing required key `{key}`"));
        }
    }
    let mode = f.mode.and_then(|m| m.1);
    let mx_seen = f.seen.iter().any(|k| k == "mx");
    if let (Some((line, Some(m))), false) = (f.mode, mx_seen) {
        // RFC 8461 section 3.2: mx is required unless the mode is none.
        if m != Mode::None {
            f.error(
                Some(line),
                format!("mode {m} needs at least one `mx:` line"),
            );
        }
    }
    let errors = f.issues.iter().any(|i| i.severity == Severity::Error);
    let policy = match (errors, mode, f.max_age.and_then(|m| m.1)) {
        (false, Some(mode), Some(max_age)) => Some(Policy {
            mode,
            max_age,
            mx: f.mx.iter().map(|(_, p)| p.clone()).collect(),
        }),
        _ => None,
    };
    // Line order, file-level issues (no line) last.
    f.issues.sort_by_key(|i| i.line.unwrap_or(usize::MAX));
    let mx_lines = match policy {
        Some(_) => f.mx.iter().map(|(l, _)| *l).collect(),
        None => Vec::new(),
    };
    PolicyCheck {
        policy,
        issues: f.issues,
        id,
        mx_lines,
    }
}
