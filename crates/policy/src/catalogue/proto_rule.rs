//! The rule that turns the parameters a release's postconf(5) documents into the names that
//! release's `postconf -d` reports (with an empty master.cf).
//!
//! postconf(5) (proto/postconf.proto) documents more than postconf implements and a few names it
//! does not document. The differences, read from Postfix's source (src/postconf, src/global
//! mail_params.h and the release's mantools/check-postconf-unimplemented stoplist) and proved exact
//! against the real `postconf -d` of 3.5.25, 3.7.11 and 3.10.13 by this crate's tests:
//!
//! 1. `transport_<suffix>` entries are templates for per-service names, not parameters.
//! 2. `<service>_<suffix>` entries for the delivery services of the stock master.cf (smtp, relay,
//!    lmtp, virtual) exist only when master.cf defines that service
//!    (`pcf_register_service_parameters`); `local_destination_{concurrency,recipient}_limit` are
//!    compiled in and stay.
//! 3. Legacy names (`pcf_legacy_str_table`: accepted and printed by `postconf -n`, never by `-d`)
//!    and names whose implementation was removed are still documented.
//! 4. Before 3.7 the documentation already used the tlsproxy_client_security_level /
//!    tlsproxy_client_policy_maps names while the code still had tlsproxy_client_level /
//!    tlsproxy_client_policy.
//! 5. The LMTP client's parameters are generated from the SMTP client's (src/smtp lmtp_params.c
//!    is smtp_params.c with smtp_ → lmtp_), so every `smtp_X` has an `lmtp_X` twin except the
//!    EHLO-specific ones; the documentation misses a few of them.

use std::collections::BTreeSet;

/// A `major.minor` release line.
pub(crate) type Line = (u32, u32);

/// Per-service parameter suffixes of delivery agents (src/postconf/postconf_service.c); the
/// first, `_time_limit`, applies to pipe(8) and spawn(8) only.
pub const SERVICE_SUFFIXES: &[&str] = &[
    "_time_limit",
    "_recipient_limit",
    "_extra_recipient_limit",
    "_recipient_refill_limit",
    "_recipient_refill_delay",
    "_delivery_slot_cost",
    "_delivery_slot_loan",
    "_delivery_slot_discount",
    "_minimum_delivery_slots",
    "_initial_destination_concurrency",
    "_destination_concurrency_limit",
    "_destination_recipient_limit",
    "_destination_concurrency_positive_feedback",
    "_destination_concurrency_negative_feedback",
    "_destination_concurrency_failed_cohort_limit",
    "_destination_rate_delay",
    "_transport_rate_delay",
];

/// Delivery services of the stock master.cf whose per-service names postconf(5) documents.
const STOCK_DELIVERY_SERVICES: &[&str] = &["smtp", "relay", "lmtp", "virtual"];

/// Per-service names that mail_params.h compiles in (`VAR_LOCAL_CON_LIMIT`, `VAR_LOCAL_RCPT_LIMIT`).
const COMPILED_SERVICE_NAMES: &[&str] = &[
    "local_destination_concurrency_limit",
    "local_destination_recipient_limit",
];

/// `pcf_legacy_str_table` of src/postconf/postconf_builtin.c: (name, first line that has it).
pub const LEGACY: &[(&str, Line)] = &[
    ("virtual_maps", (3, 0)),
    ("fallback_relay", (3, 0)),
    ("authorized_verp_clients", (3, 0)),
    ("smtpd_client_connection_limit_exceptions", (3, 0)),
    ("postscreen_dnsbl_ttl", (3, 0)),
    ("postscreen_blacklist_action", (3, 6)),
    ("postscreen_dnsbl_whitelist_threshold", (3, 6)),
    ("postscreen_whitelist_interfaces", (3, 6)),
    ("lmtp_per_record_deadline", (3, 7)),
    ("smtp_per_record_deadline", (3, 7)),
    ("smtpd_per_record_deadline", (3, 7)),
    ("tlsproxy_client_level", (3, 7)),
    ("tlsproxy_client_policy", (3, 7)),
];

/// Documented names with no implementation (check-postconf-unimplemented of 3.10/3.11, plus
/// nullmx_reject_code, documented until 3.6 and never a parameter): (name, first line).
const UNIMPLEMENTED: &[(&str, Line)] = &[
    ("enable_errors_to", (3, 0)),
    ("extract_recipient_limit", (3, 0)),
    ("lmtp_cache_connection", (3, 0)),
    ("sender_based_routing", (3, 0)),
    ("smtp_skip_4xx_greeting", (3, 0)),
    ("smtp_tls_cipherlist", (3, 0)),
    ("smtpd_sasl_application_name", (3, 0)),
    ("smtpd_tls_cipherlist", (3, 0)),
    ("tls_dane_digest_agility", (3, 0)),
    ("tls_dane_trust_anchor_digest_enable", (3, 0)),
    ("tlsproxy_tls_session_cache_timeout", (3, 0)),
    ("nullmx_reject_code", (3, 0)),
    // Config functions documented like parameters (3.11).
    ("domain_to_ascii", (3, 0)),
    ("domain_to_utf8", (3, 0)),
    // Removed from mail_params.h in 3.11.
    ("tls_legacy_public_key_fingerprints", (3, 11)),
];

/// Documented name → implemented name, for lines before the given one.
const DOC_AHEAD_OF_CODE: &[(&str, &str, Line)] = &[
    (
        "tlsproxy_client_security_level",
        "tlsproxy_client_level",
        (3, 7),
    ),
    (
        "tlsproxy_client_policy_maps",
        "tlsproxy_client_policy",
        (3, 7),
    ),
];

/// SMTP client parameters without an LMTP twin (EHLO-specific; LMTP has its own lhlo names).
const SMTP_ONLY: &[&str] = &[
    "always_send_ehlo",
    "discard_ehlo_keyword_address_maps",
    "discard_ehlo_keywords",
    "helo_name",
    "helo_timeout",
    "never_send_ehlo",
    "tls_dane_insecure_mx_policy",
];

/// True when `name` is a legacy alias in `line` (accepted and printed by -n, not by -d).
pub fn is_legacy(name: &str, line: Line) -> bool {
    LEGACY.iter().any(|(n, since)| *n == name && line >= *since)
}

/// The legacy names of `line`.
pub fn legacy_names(line: Line) -> impl Iterator<Item = &'static str> {
    LEGACY
        .iter()
        .filter(move |(_, since)| line >= *since)
        .map(|(n, _)| *n)
}

fn is_service_derived(name: &str) -> bool {
    if COMPILED_SERVICE_NAMES.contains(&name) {
        return false;
    }
    SERVICE_SUFFIXES.iter().any(|suffix| {
        name.strip_suffix(suffix)
            .is_some_and(|svc| svc == "transport" || STOCK_DELIVERY_SERVICES.contains(&svc))
    })
}

/// The names `postconf -d` of `line` reports, from the names its postconf(5) documents.
pub fn postconf_names<'a>(
    documented: impl IntoIterator<Item = &'a str>,
    line: Line,
) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    for name in documented {
        if is_service_derived(name)
            || is_legacy(name, line)
            || UNIMPLEMENTED
                .iter()
                .any(|(n, since)| *n == name && line >= *since)
        {
            continue;
        }
        let implemented = DOC_AHEAD_OF_CODE
            .iter()
            .find(|(doc, _, before)| *doc == name && line < *before)
            .map_or(name, |(_, code, _)| *code);
        out.insert(implemented.to_string());
    }
    let twins: Vec<String> = out
        .iter()
        .filter_map(|n| n.strip_prefix("smtp_"))
        .filter(|x| !SMTP_ONLY.contains(x))
        .map(|x| format!("lmtp_{x}"))
        .collect();
    out.extend(twins);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_services_and_obsolete_names_are_dropped() {
        let doc = [
            "transport_time_limit",
            "transport_maps",
            "smtp_destination_recipient_limit",
            "local_destination_recipient_limit",
            "virtual_maps",
            "postscreen_blacklist_action",
            "smtp_tls_wrappermode",
            "smtp_helo_name",
            "tlsproxy_client_security_level",
        ];
        let l35 = postconf_names(doc, (3, 5));
        let want35: BTreeSet<String> = [
            "transport_maps",
            "local_destination_recipient_limit",
            "postscreen_blacklist_action",
            "smtp_tls_wrappermode",
            "lmtp_tls_wrappermode",
            "smtp_helo_name",
            "tlsproxy_client_level",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(l35, want35);
        let l37 = postconf_names(doc, (3, 7));
        assert!(!l37.contains("postscreen_blacklist_action"));
        assert!(l37.contains("tlsproxy_client_security_level"));
        assert!(!l37.contains("tlsproxy_client_level"));
    }
}
