//! Shared helpers: run scripts/gen-maillog.py and compare its expected totals.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use pftls_maillog::LogReport;
use serde_json::Value;

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the generator; returns its expected-totals JSON. Fails loudly without python3.
pub fn generate(format: &str, lines: u64, seed: u64, extra: &[&str], out: &Path) -> Value {
    let script = repo_root().join("scripts/gen-maillog.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg(format)
        .args(["--lines", &lines.to_string(), "--seed", &seed.to_string()])
        .args(extra)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap_or_else(|e| panic!("python3 is required to run {}: {e}", script.display()));
    assert!(
        output.status.success(),
        "generator failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("generator prints JSON")
}

/// Asserts that the report matches the generator's expectations exactly.
pub fn assert_matches(report: &LogReport, exp: &Value, what: &str) {
    let r = serde_json::to_value(report).expect("report serializes");
    assert_eq!(r["lines"], exp["lines"], "{what}: lines");
    assert_eq!(
        r["postfix_lines"], exp["postfix_lines"],
        "{what}: postfix_lines"
    );
    assert_eq!(r["unparsed_lines"], 0, "{what}: unparsed_lines");
    assert_eq!(r["first"], exp["first"], "{what}: first");
    assert_eq!(r["last"], exp["last"], "{what}: last");
    let totals = exp["totals"].as_object().expect("totals");
    assert!(!totals.is_empty());
    for (k, v) in totals {
        assert_eq!(&r["totals"][k], v, "{what}: totals.{k}");
    }
    assert_eq!(
        r["failure_reasons"], exp["failure_reasons"],
        "{what}: failure_reasons"
    );
    assert_eq!(
        r["tls_protocols"], exp["tls_protocols"],
        "{what}: tls_protocols"
    );
    let buckets = exp["buckets"].as_object().expect("buckets");
    let got: Vec<(String, Value, Value)> = r["buckets"]
        .as_array()
        .expect("buckets array")
        .iter()
        .filter(|b| b["messages_accepted"] != 0 || b["tls_handshake_failures"] != 0)
        .map(|b| {
            (
                b["start"].as_str().unwrap_or_default().to_string(),
                b["messages_accepted"].clone(),
                b["tls_handshake_failures"].clone(),
            )
        })
        .collect();
    let want: Vec<(String, Value, Value)> = buckets
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v["messages_accepted"].clone(),
                v["tls_handshake_failures"].clone(),
            )
        })
        .collect();
    assert_eq!(got, want, "{what}: hourly buckets");
}
