//! Validation of candidate files before they are written: pftls's own parse, then the real
//! `postconf -c TMP -n` and `-M` on a copy when Postfix is installed (its fatal errors refuse the
//! apply; its new warnings are shown).

use std::process::Command;

use crate::cmd::apply::Planned;
use crate::error::{CliError, CliResult};

/// Validates the plan's candidate files. Returns postconf's warnings that the current files do
/// not already produce.
pub fn validate_candidate(p: &Planned) -> CliResult<Vec<String>> {
    postfix_conf::MainCf::parse(&p.plan.main_after).map_err(|e| {
        CliError::new(
            "validation",
            format!(
                "candidate main.cf does not parse (line {}: {}); nothing written",
                e.line, e.message
            ),
        )
    })?;
    postfix_conf::MasterCf::parse(&p.plan.master_after).map_err(|e| {
        CliError::new(
            "validation",
            format!(
                "candidate master.cf does not parse (line {}: {}); nothing written",
                e.line, e.message
            ),
        )
    })?;
    if which("postconf").is_none() {
        return Ok(vec![
            "postconf not found: the candidate was checked by pftls only".into(),
        ]);
    }
    let before = postconf_check(&p.plan.main_before, &p.plan.master_before).unwrap_or_default();
    let after = postconf_check(&p.plan.main_after, &p.plan.master_after).map_err(|msg| {
        CliError::new(
            "validation",
            format!("postconf rejects the candidate configuration; nothing written:\n{msg}"),
        )
    })?;
    Ok(after
        .into_iter()
        .filter(|w| !before.contains(w))
        .map(|w| format!("postconf: {w}"))
        .collect())
}

/// Runs `postconf -n` and `postconf -M` on a temporary copy; Ok(warnings) or Err(postconf's output).
fn postconf_check(main: &[u8], master: &[u8]) -> Result<Vec<String>, String> {
    let dir = tempfile::Builder::new()
        .prefix("pftls-validate-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    for (name, bytes) in [("main.cf", main), ("master.cf", master)] {
        write_settled(&dir.path().join(name), bytes).map_err(|e| e.to_string())?;
    }
    let mut warnings = Vec::new();
    for flag in ["-n", "-M"] {
        let out = Command::new("postconf")
            .arg("-c")
            .arg(dir.path())
            .arg(flag)
            .output()
            .map_err(|e| format!("cannot run postconf: {e}"))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Paths of the temporary copy mean nothing to the user.
        let tmp = dir.path().display().to_string();
        let lines: Vec<String> = stderr
            .lines()
            .map(|l| l.replace(&tmp, "<candidate>").replace("postconf: ", ""))
            .filter(|l| !l.trim().is_empty())
            .collect();
        if !out.status.success() {
            return Err(lines.join("\n"));
        }
        for l in lines {
            if !warnings.contains(&l) {
                warnings.push(l);
            }
        }
    }
    Ok(warnings)
}

/// Writes a file whose modification time lies a minute in the past. Postfix waits until a
/// configuration file looks settled (its mtime at least a second old) before it reads it, so a
/// freshly written copy would cost every postconf call one to two seconds of sleep.
pub fn write_settled(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)?;
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    let f = std::fs::File::options().write(true).open(path)?;
    f.set_times(
        std::fs::FileTimes::new()
            .set_modified(past)
            .set_accessed(past),
    )
}

/// The path of an executable on PATH.
pub fn which(cmd: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(cmd))
        .find(|p| p.is_file())
}
