//! pftls-policy(5): the YAML policy format. docs/policy-format.md is the same contract in
//! Markdown; crates/policy/src/policy.rs is what enforces it.

use crate::roff::{escape, literal, para, references, section, tagged};

/// The whole page, roff source.
pub fn page(version: &str) -> String {
    let mut s = format!(
        ".TH PFTLS-POLICY 5 \"\" \"pftls {}\" \"File Formats\"\n",
        escape(version)
    );
    s.push_str(&section("NAME"));
    s.push_str("pftls\\-policy \\- YAML format of pftls TLS policies\n");
    s.push_str(&section("SYNOPSIS"));
    s.push_str(&escape(
        "POLICY.yaml, given to pftls plan/apply/simulate with -p NAME (a built-in policy or one \
         found in --policy-dir / PFTLS_POLICY_PATH) or -p PATH.",
    ));
    s.push('\n');
    s.push_str(&section("DESCRIPTION"));
    s.push_str(&para(
        "A policy says which Postfix parameters should have which value, in main.cf and as -o \
         overrides of master.cf services. pftls validates it completely before anything is \
         written, then edits only the parameters the policy names; every other byte of main.cf \
         and master.cf stays as it was.",
    ));
    s.push_str(&para("A policy is one YAML mapping with these keys:"));
    for (key, text) in KEYS {
        s.push_str(&tagged(key, text));
    }
    s.push_str(&section("VALUES"));
    for (kind, text) in VALUES {
        s.push_str(&tagged(kind, text));
    }
    s.push_str(&section("VALIDATION"));
    s.push_str(&para(
        "Every error names the policy file, line and column; all errors are reported together \
         and nothing is written (exit status 1). pftls refuses: unknown keys; a name that \
         differs from the file name; unknown Postfix parameters (with a \"did you mean\" \
         suggestion) for the target Postfix version; invalid values of TLS parameters (security \
         levels, protocol lists in the syntax of the target version, cipher grades, log levels, \
         booleans, numbers, durations, $name references); a requires_postfix range the target \
         version is outside of; services: entries for a service master.cf does not define.",
    ));
    s.push_str(&para(
        "Several -p are merged in order. Two policies that give one parameter different values \
         are an error, not a silent override. Applying a policy a second time changes nothing, \
         byte for byte.",
    ));
    s.push_str(&section("EXAMPLES"));
    s.push_str(&para(
        "A policy for a relay that must log TLS and offer, never require, STARTTLS:",
    ));
    s.push_str(&literal(EXAMPLE));
    s.push_str(&para("Check it, then see what it would change:"));
    s.push_str(&literal(
        "pftls policies check /etc/pftls/policies/relay-tls.yaml\n\
         pftls --policy-dir /etc/pftls/policies plan -p relay-tls",
    ));
    s.push_str(&section("FILES"));
    s.push_str(&tagged(
        "/usr/share/doc/pftls/policies/*.yaml",
        "The built-in policies (also compiled into the binary): inbound-opportunistic, \
         submission-mandatory, crypto-policy-aligned, tls-logging, outbound-dane.",
    ));
    s.push_str(&section("SEE ALSO"));
    s.push_str(&references([
        "pftls(1)",
        "pftls-plan(1)",
        "pftls-apply(1)",
        "pftls-policies-check(1)",
        "postconf(5)",
        "master(5)",
    ]));
    s
}

/// Top-level keys and their meaning.
const KEYS: &[(&str, &str)] = &[
    (
        "name",
        "Required. The policy's name; equals the file name without .yaml.",
    ),
    (
        "description",
        "Required. What the policy changes and why; shown by pftls policies show and in plans.",
    ),
    (
        "requires_postfix",
        "Optional. A version range such as \">=3.5\" (comparators >=, >, <=, <, =, comma \
         separated); plan and apply refuse a target Postfix version outside it.",
    ),
    (
        "main",
        "Optional. A mapping of main.cf parameter names to values.",
    ),
    (
        "services",
        "Optional. A mapping of master.cf services, keyed SERVICE/TYPE (for example \
         submission/inet), each a mapping of -o override names to values. The service must \
         exist in master.cf, otherwise the policy is refused.",
    ),
    (
        "optional_services",
        "Optional. Like services, but applied only where master.cf defines the service; a host \
         without it is skipped (and the plan says so). pftls never creates a service.",
    ),
];

/// Value forms.
const VALUES: &[(&str, &str)] = &[
    (
        "scalar",
        "A string, number or boolean becomes the Postfix value as written (true/false become \
         yes/no). It is rewritten in place where the parameter is defined, or appended to \
         main.cf; an override becomes -o name=value, or -o { name = value } when the value has \
         whitespace.",
    ),
    (
        "null",
        "Removes the parameter from main.cf (Postfix's default applies) or the -o override from \
         the service (main.cf's value applies).",
    ),
    (
        "{ crypto_policy: protocols }",
        "Resolved at plan time: the minimum TLS protocol of the system crypto-policy, in the \
         syntax of the target Postfix version (>=TLSv1.2 from Postfix 3.6, !SSLv2, !SSLv3, ... \
         before).",
    ),
    (
        "{ crypto_policy: exclude_ciphers }",
        "Resolved at plan time: cipher exclusions for what the crypto-policy forbids (for \
         example kRSA under FUTURE and FIPS); removes the parameter when nothing is forbidden.",
    ),
];

/// The example policy of the EXAMPLES section.
const EXAMPLE: &str = "\
name: relay-tls
description: Offer STARTTLS on port 25, never require it; log TLS.
requires_postfix: \">=3.6\"
main:
  smtpd_tls_security_level: may
  smtpd_tls_mandatory_protocols: { crypto_policy: protocols }
  smtpd_tls_loglevel: 1
  smtpd_enforce_tls: null
optional_services:
  submission/inet:
    smtpd_tls_security_level: encrypt";
