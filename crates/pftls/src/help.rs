//! Per-command help: the examples each `--help` ends with, and which global options a command
//! does not use (hidden from its help, still accepted).

/// Global options (clap ids) and the commands that use them; every other command hides them.
const GLOBAL_USERS: &[(&str, &[&str])] = &[
    (
        "config_dir",
        &[
            "show", "doctor", "plan", "apply", "rollback", "verify", "simulate", "tlsa", "backups",
            "policies", "set",
        ],
    ),
    (
        "backup_dir",
        &["apply", "rollback", "backups", "logs", "set", "verify"],
    ),
    ("policy_dirs", &["plan", "apply", "simulate", "policies"]),
    (
        "crypto_policies_dir",
        &[
            "show", "doctor", "plan", "apply", "simulate", "tlsa", "policies", "set",
        ],
    ),
    (
        "postfix_version",
        &[
            "show", "doctor", "plan", "apply", "simulate", "tlsa", "policies", "set",
        ],
    ),
    ("detailed_exitcode", &["plan", "apply", "rollback", "set"]),
];

/// Examples per command: (command, lines of `COMMAND  # what it does`).
const EXAMPLES: &[(&str, &[&str])] = &[
    (
        "show",
        &[
            "pftls show                      # TLS settings with FILE:LINE provenance",
            "pftls show --all -c /etc/postfix-out",
            "pftls show --format json | jq '.parameters[] | select(.inherited | not)'",
        ],
    ),
    (
        "doctor",
        &[
            "pftls doctor                    # findings, worst first",
            "pftls doctor --fail-on warning  # exit 3 when a warning or error is found",
            "pftls doctor -q                 # only the findings, no topology",
        ],
    ),
    (
        "plan",
        &[
            "pftls plan -p inbound-opportunistic",
            "pftls plan -p crypto-policy-aligned -p tls-logging --detailed-exitcode",
            "pftls plan -p submission-mandatory --out /root/tls.plan",
        ],
    ),
    (
        "apply",
        &[
            "pftls apply -p inbound-opportunistic --dry-run",
            "pftls apply -p inbound-opportunistic --reload --keep 10",
            "pftls apply --plan /root/tls.plan --reload",
            "pftls --all-instances apply -p inbound-opportunistic --reload",
        ],
    ),
    (
        "rollback",
        &[
            "pftls rollback --dry-run         # what would be restored",
            "pftls rollback --reload",
            "pftls rollback --to 20260101T120000Z --reload",
        ],
    ),
    (
        "verify",
        &[
            "pftls verify                    # probe every listener of /etc/postfix now",
            "pftls -c /etc/postfix-out verify --format json",
            "pftls apply -p inbound-opportunistic --reload --verify   # restore on failure",
        ],
    ),
    (
        "simulate",
        &[
            "pftls simulate                  # current configuration",
            "pftls simulate -p crypto-policy-aligned --client legacy-tls10",
        ],
    ),
    (
        "probe",
        &[
            "pftls probe mx.example.org",
            "pftls probe 127.0.0.1:587 --format json",
        ],
    ),
    (
        "logs",
        &[
            "pftls logs /var/log/mail.log",
            "journalctl -u postfix -o short-iso | pftls logs -",
        ],
    ),
    (
        "mta-sts",
        &[
            "pftls mta-sts --domain example.org --mx mx.example.org",
            "pftls mta-sts --check mta-sts.txt",
        ],
    ),
    (
        "tlsa",
        &[
            "pftls tlsa                      # records for the certificate smtpd uses",
            "pftls tlsa --cert /etc/ssl/certs/mx.pem",
        ],
    ),
    (
        "backups",
        &[
            "pftls backups list",
            "pftls backups show 20260101T120000Z",
            "pftls backups prune --keep 10",
        ],
    ),
    (
        "policies",
        &[
            "pftls policies list",
            "pftls policies show tls-logging",
            "pftls policies check ./my-policy.yaml",
        ],
    ),
    (
        "set",
        &[
            "pftls set smtpd_tls_security_level=may --dry-run",
            "pftls set smtpd_tls_loglevel=1 smtp_tls_loglevel=1 --reload",
            "pftls set -s submission/inet smtpd_tls_security_level=encrypt",
            "pftls set --unset smtpd_tls_mandatory_protocols",
            "pftls set -s smtp/inet --unset smtpd_tls_security_level",
        ],
    ),
    (
        "completions",
        &[
            "pftls completions bash > /etc/bash_completion.d/pftls",
            "pftls completions zsh > ~/.zfunc/_pftls",
        ],
    ),
];

/// The main help's trailer: exit codes and a first session.
const MAIN_AFTER_HELP: &str = "\
Exit codes: 0 success, 1 error (nothing changed), 2 changes with --detailed-exitcode, 3 doctor \
findings at --fail-on level, 64 usage error.

Examples:
  pftls doctor
  pftls plan -p inbound-opportunistic
  pftls apply -p inbound-opportunistic --reload
  pftls rollback --reload";

/// Applies the examples and the per-command visibility of global options to `cmd`.
pub fn customise(mut cmd: clap::Command) -> clap::Command {
    cmd = cmd.after_help(MAIN_AFTER_HELP);
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        let examples = EXAMPLES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, lines)| format!("Examples:\n  {}", lines.join("\n  ")));
        // A subcommand that defines an argument itself does not get the global one
        // propagated (clap skips ids it already has), so a hidden copy of the global option
        // hides it from this subcommand's help while still accepting it. (Mutating arguments
        // after `build()` is not possible: clap's key index would go stale.)
        let hidden: Vec<clap::Arg> = GLOBAL_USERS
            .iter()
            .filter(|(_, users)| !users.contains(&name.as_str()))
            .filter_map(|(id, _)| cmd.get_arguments().find(|a| a.get_id() == *id))
            .map(|a| a.clone().hide(true))
            .collect();
        cmd = cmd.mut_subcommand(&name, |mut sc| {
            if let Some(e) = &examples {
                sc = sc.after_help(e.clone());
            }
            sc.args(hidden)
        });
    }
    cmd
}

/// The examples of one command (for docs and tests).
pub fn examples(command: &str) -> &'static [&'static str] {
    EXAMPLES
        .iter()
        .find(|(n, _)| *n == command)
        .map_or(&[], |(_, l)| l)
}
