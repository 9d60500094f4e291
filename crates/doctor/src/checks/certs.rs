//! Server certificates: configured at all where TLS is on, and (with file checks) present,
//! readable, matching their key, valid now and for the next days, and with a key the
//! system security level accepts.

use std::path::Path;

use openssl::asn1::Asn1Time;
use openssl::x509::X509;
use pftls_tls::cert::{check_cert_files, key_requirement, CertCheck, CertProblem, CertReport};
use pftls_tls::ServerLevel;

use crate::cx::{Cx, Draft};
use crate::finding::ids;

/// One certificate/key pair and where it is configured.
struct Pair {
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
    cert_param: String,
    key_param: String,
    scope: String,
}

/// E020/W021 and, with file checks, E022-E027/W025.
pub(crate) fn check(cx: &Cx<'_>, out: &mut Vec<Draft>) {
    let mut pairs: Vec<Pair> = Vec::new();
    for scope in cx.smtpd_scopes() {
        let Ok(model) = cx.model(&scope) else {
            continue;
        };
        if model.level == ServerLevel::None {
            continue;
        }
        if model.certs.is_empty() {
            out.push(no_cert(cx, &scope, model.mandatory, &model.level_source));
            continue;
        }
        for c in &model.certs {
            let (cert_param, key_param) = c
                .source
                .split_once('/')
                .unwrap_or((c.source.as_str(), c.source.as_str()));
            if !pairs.iter().any(|p| p.cert == c.cert && p.key == c.key) {
                pairs.push(Pair {
                    cert: c.cert.clone(),
                    key: c.key.clone(),
                    cert_param: cert_param.to_string(),
                    key_param: key_param.to_string(),
                    scope: scope.clone(),
                });
            }
        }
    }
    if !cx.input.options.check_files {
        return;
    }
    for p in &pairs {
        let check = CertCheck {
            warn_days: i64::from(cx.input.options.expiry_days),
            seclevel: cx.input.baseline.seclevel,
        };
        let key = (p.key != p.cert).then_some(p.key.as_path());
        let mut report = check_cert_files(&p.cert, key, &check);
        if let Some(now) = cx.input.options.now {
            revalidate(&mut report, now, check.warn_days);
        }
        for problem in &report.problems {
            out.push(problem_draft(cx, p, &report, problem));
        }
    }
}

/// E020 / W021: TLS on with no certificate configured.
fn no_cert(cx: &Cx<'_>, scope: &str, mandatory: bool, level_source: &str) -> Draft {
    let loc = cx
        .loc(scope, "smtpd_tls_cert_file")
        .or_else(|| cx.loc(scope, level_source));
    let (id, effect) = if mandatory {
        (ids::NO_CERT_MANDATORY, "every client gets \"454 4.7.0 TLS not available due to local problem\" and, since TLS is mandatory, no mail is accepted")
    } else {
        (
            ids::NO_CERT_OPPORTUNISTIC,
            "STARTTLS is not offered and mail arrives in plaintext",
        )
    };
    Draft::new(
        id,
        format!("nocert {}", loc.clone().unwrap_or_default()),
        loc,
        format!(
            "TLS is enabled ({level_source}) on {{scopes}} but no server certificate is configured (smtpd_tls_cert_file / \
             smtpd_tls_chain_files): Postfix logs \"No server certs available. TLS won't be enabled\"; {effect}."
        ),
        "configure a certificate: postconf -e 'smtpd_tls_chain_files = /etc/postfix/key.pem, /etc/postfix/fullchain.pem' \
         (or smtpd_tls_cert_file/smtpd_tls_key_file)",
    )
    .scope(scope)
}

/// Recomputes the validity problems at `now` (seconds since the epoch) instead of the clock.
fn revalidate(report: &mut CertReport, now: i64, warn_days: i64) {
    let Ok(pem) = pftls_safe_read::read(&report.cert_path, pftls_safe_read::Kind::Certificate)
    else {
        return;
    };
    let Ok(cert) = X509::from_pem(&pem) else {
        return;
    };
    let Ok(at) = Asn1Time::from_unix(now) else {
        return;
    };
    report.problems.retain(|p| {
        !matches!(
            p,
            CertProblem::Expired { .. }
                | CertProblem::Expiring { .. }
                | CertProblem::NotYetValid { .. }
        )
    });
    if let Ok(d) = at.diff(cert.not_after()) {
        let days = i64::from(d.days);
        report.days_left = Some(days);
        if d.days < 0 || (d.days == 0 && d.secs < 0) {
            report.problems.push(CertProblem::Expired {
                not_after: cert.not_after().to_string(),
            });
        } else if days < warn_days {
            report
                .problems
                .push(CertProblem::Expiring { days_left: days });
        }
    }
    if let Ok(d) = at.diff(cert.not_before()) {
        if d.days > 0 || (d.days == 0 && d.secs > 0) {
            report.problems.push(CertProblem::NotYetValid {
                not_before: cert.not_before().to_string(),
            });
        }
    }
}

fn problem_draft(cx: &Cx<'_>, p: &Pair, report: &CertReport, problem: &CertProblem) -> Draft {
    let cert_loc = cx.loc(&p.scope, &p.cert_param);
    let key_loc = cx.loc(&p.scope, &p.key_param).or_else(|| cert_loc.clone());
    let cert = p.cert.display().to_string();
    let key = p.key.display().to_string();
    let on_key = |path: &Path| path == p.key && p.key != p.cert;
    let subject = format!("{cert} {key}");
    let reload = "then postfix reload";
    match problem {
        CertProblem::Missing { path } | CertProblem::Unreadable { path, .. } | CertProblem::Unparsable { path, .. } => {
            let (loc, param) = if on_key(path) { (key_loc, &p.key_param) } else { (cert_loc, &p.cert_param) };
            Draft::new(
                ids::CERT_UNUSABLE,
                format!("{subject} {}", path.display()),
                loc,
                format!(
                    "{problem} ({param}). smtpd cannot load its certificate/key and runs without TLS: STARTTLS is answered \
                     with \"454 4.7.0 TLS not available due to local problem\" (mandatory TLS then refuses all mail)."
                ),
                format!("install a readable PEM file at {} or point {param} at one, {reload}", path.display()),
            )
        }
        CertProblem::KeyMismatch => Draft::new(
            ids::KEY_MISMATCH,
            format!("{subject} mismatch"),
            key_loc,
            format!("{key} does not hold the private key of {cert} ({}): smtpd fails to load the pair and runs without TLS.", p.key_param),
            format!("point {} at the key of {cert} (or install the certificate that belongs to {key}), {reload}", p.key_param),
        ),
        CertProblem::Expired { .. } | CertProblem::NotYetValid { .. } => Draft::new(
            ids::CERT_EXPIRED,
            format!("{subject} validity"),
            cert_loc,
            format!(
                "{cert}: {problem}. Senders that verify certificates (DANE-TA, MTA-STS, mandatory verify policies) refuse \
                 to deliver; the rest still encrypt."
            ),
            format!("renew the certificate at {cert} (e.g. certbot renew, or your CA), {reload}"),
        ),
        CertProblem::Expiring { days_left } => Draft::new(
            ids::CERT_EXPIRING,
            format!("{subject} expiring"),
            cert_loc,
            format!(
                "{cert}: certificate expires in {days_left} days (on {}), less than {} days from now.",
                report.not_after.clone().unwrap_or_default(),
                cx.input.options.expiry_days
            ),
            format!("renew the certificate at {cert} before it expires, {reload}"),
        ),
        CertProblem::KeyTooSmall { seclevel, .. } => Draft::new(
            ids::KEY_TOO_SMALL,
            format!("{subject} keysize"),
            key_loc,
            format!(
                "{cert}: {problem}. The system policy ({}) sets SECLEVEL={seclevel}; OpenSSL refuses the key when smtpd loads \
                 it, so every TLS handshake fails.",
                cx.input.baseline.source
            ),
            format!(
                "replace the key and certificate with one the security level accepts ({}), e.g. openssl req -x509 -newkey \
                 ec -pkeyopt ec_paramgen_curve:P-256 ..., {reload}",
                key_requirement(*seclevel)
            ),
        ),
        CertProblem::WeakSignature { .. } => Draft::new(
            ids::WEAK_SIGNATURE,
            format!("{subject} signature"),
            cert_loc,
            format!("{cert}: {problem}: OpenSSL refuses the certificate at SECLEVEL={} and smtpd runs without TLS.", cx.input.baseline.seclevel),
            format!("reissue the certificate with a SHA-256 (or better) signature, {reload}"),
        ),
    }
    .scope(p.scope.clone())
}
