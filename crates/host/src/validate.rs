//! Validation of candidate files before they are written: pftls's own parse, then the real
//! `postconf -c TMP -n` and `-M` on a copy when Postfix is installed (its fatal errors refuse the
//! apply; its new warnings are reported).

use std::process::Command;

/// Why a candidate is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// pftls's own parser rejects a candidate file.
    #[error("candidate {file} does not parse (line {line}: {message}); nothing written")]
    Parse {
        /// `main.cf` or `master.cf`.
        file: &'static str,
        /// 1-based line.
        line: usize,
        /// Postfix's wording.
        message: String,
    },
    /// postconf rejects the candidate (or cannot be run on it).
    #[error("postconf rejects the candidate configuration; nothing written:\n{0}")]
    Postconf(String),
}

/// Validates candidate files against the current ones. Returns the warnings to show: postconf's
/// warnings that the current files do not already produce, or a note when postconf is absent.
pub fn validate_candidate(
    main_before: &[u8],
    master_before: &[u8],
    main_after: &[u8],
    master_after: &[u8],
) -> Result<Vec<String>, ValidationError> {
    postfix_conf::MainCf::parse(main_after).map_err(|e| ValidationError::Parse {
        file: "main.cf",
        line: e.line,
        message: e.message,
    })?;
    postfix_conf::MasterCf::parse(master_after).map_err(|e| ValidationError::Parse {
        file: "master.cf",
        line: e.line,
        message: e.message,
    })?;
    if which("postconf").is_none() {
        return Ok(vec![
            "postconf not found: the candidate was checked by pftls only".into(),
        ]);
    }
    // The current files' warnings only filter the candidate's; if postconf cannot read the
    // current files at all, every candidate warning is new.
    let before = postconf_check(main_before, master_before).unwrap_or_default();
    let after = postconf_check(main_after, master_after).map_err(ValidationError::Postconf)?;
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
