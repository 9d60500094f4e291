//! MTA-STS (RFC 8461): a policy in `enforce` mode makes senders refuse our MX when the
//! certificate does not cover its name, so an uncovered MX is an error; an invalid policy file
//! is a warning (senders ignore it).

use std::path::PathBuf;

use pftls_tls::mta_sts::{cert_names_from_files, read_policy, uncovered_mx, Mode};

use crate::cx::{Cx, Draft};
use crate::finding::ids;

/// E062, W063.
pub(crate) fn check(cx: &Cx<'_>, out: &mut Vec<Draft>) {
    let Some(path) = &cx.input.options.mta_sts_policy else {
        return;
    };
    let shown = path.display().to_string();
    let check = match read_policy(path) {
        Ok(c) => c,
        Err(e) => {
            out.push(Draft::new(
                ids::MTA_STS_POLICY_INVALID,
                format!("mta-sts {shown}"),
                Some(shown.clone()),
                format!("cannot read the MTA-STS policy: {e}"),
                "pass the published mta-sts.txt with --mta-sts-policy FILE",
            ));
            return;
        }
    };
    if !check.is_valid() {
        let issues: Vec<String> = check.issues.iter().map(|i| i.located(path)).collect();
        out.push(Draft::new(
            ids::MTA_STS_POLICY_INVALID,
            format!("mta-sts {shown}"),
            Some(shown.clone()),
            format!("the MTA-STS policy is not valid (RFC 8461 section 3.2); senders ignore it: {}", issues.join("; ")),
            format!("regenerate it with `pftls mta-sts` and check it with `pftls mta-sts --check {shown}`"),
        ));
        return;
    }
    let Some(policy) = check.policy else { return };
    if policy.mode != Mode::Enforce {
        return;
    }
    let files = cert_files(cx);
    if files.is_empty() {
        return;
    }
    let names = match cert_names_from_files(&files) {
        Ok(n) => n,
        // Unreadable certificates are reported by the certificate checks.
        Err(_) => return,
    };
    let uncovered = uncovered_mx(&policy, &names);
    if uncovered.is_empty() {
        return;
    }
    out.push(Draft::new(
        ids::MTA_STS_MX_UNCOVERED,
        format!("mta-sts {shown}"),
        Some(shown.clone()),
        format!(
            "the MTA-STS policy {shown} is in mode enforce, but the certificate ({}) does not cover mx {}: senders that \
             honour MTA-STS refuse to deliver to such an MX (RFC 8461 section 4.1). Certificate names: {}.",
            files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "),
            uncovered.join(", "),
            if names.is_empty() { "(none)".to_string() } else { names.join(", ") }
        ),
        "get a certificate whose subjectAltName covers every mx of the policy, or publish the policy in mode testing \
         until it does (pftls mta-sts --mode testing)",
    ));
}

/// The server certificate files of port 25 as the config names them.
fn cert_files(cx: &Cx<'_>) -> Vec<PathBuf> {
    let chain = cx.value("main", "smtpd_tls_chain_files");
    let list: Vec<PathBuf> = chain
        .split([',', ' ', '\t'])
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .collect();
    if !list.is_empty() {
        return list;
    }
    ["smtpd_tls_cert_file", "smtpd_tls_eccert_file"]
        .iter()
        .map(|n| cx.value("main", n))
        .filter(|v| !v.is_empty() && v != "none")
        .map(PathBuf::from)
        .collect()
}
