//! The queue check's input: `postqueue -c DIR -j` of the instance, deferred recipients whose
//! reason is a TLS failure.

use std::path::Path;

/// Queue ids of deferred recipients whose reason names TLS, with the reason.
pub fn tls_deferrals(config_dir: &Path) -> Result<Vec<(String, String)>, String> {
    let out = std::process::Command::new("timeout")
        .arg("30")
        .arg("postqueue")
        .arg("-c")
        .arg(config_dir)
        .arg("-j")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run postqueue: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "postqueue -c {} -j failed: {}",
            config_dir.display(),
            pftls_tls::sanitize::printable(String::from_utf8_lossy(&out.stderr).trim())
        ));
    }
    let mut found = Vec::new();
    // One JSON object per line, bounded by what postqueue printed.
    for line in out.stdout.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        let id = v["queue_id"].as_str().unwrap_or("?").to_string();
        for r in v["recipients"].as_array().into_iter().flatten() {
            let reason = r["delay_reason"].as_str().unwrap_or("");
            if is_tls_reason(reason) {
                found.push((id.clone(), pftls_tls::sanitize::printable(reason)));
            }
        }
    }
    Ok(found)
}

/// Whether a delay reason is a TLS failure (handshake, STARTTLS required or missing,
/// certificate verification).
fn is_tls_reason(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    ["tls", "ssl", "handshake", "certificate"]
        .iter()
        .any(|k| r.contains(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_reasons() {
        assert!(is_tls_reason(
            "TLS is required, but was not offered by host mx.example[192.0.2.1]"
        ));
        assert!(is_tls_reason("Cannot start TLS: handshake failure"));
        assert!(!is_tls_reason(
            "connect to mx.example[192.0.2.1]:25: Connection refused"
        ));
    }
}
