//! Shared test helpers.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// The repository's crypto-policies fixture trees.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/crypto-policies")
}

/// True when `tool` can be run. Missing with CI=true is a hard failure, otherwise the
/// caller skips (and says so).
pub fn have_tool(tool: &str, args: &[&str]) -> bool {
    let ok = Command::new(tool)
        .args(args)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("required tool `{tool}` is missing (CI=true)");
        }
        eprintln!("SKIP: `{tool}` not available");
    }
    ok
}
